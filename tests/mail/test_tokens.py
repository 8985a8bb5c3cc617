"""Signed link tokens and the signing key."""

from __future__ import annotations

import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from config.schema import SecretSettings
from feeds.errors import FeedlineError
from scheduler.tokens import BadToken, SigningKeyError, load_signing_key, sign, verify

KEY = b"k" * 32
NOW = datetime(2023, 2, 8, 9, 0, tzinfo=UTC)


def test_round_trip() -> None:
    token = sign(KEY, "unsubscribe", "ann@example.org")
    assert verify(KEY, token, "unsubscribe") == "ann@example.org"
    assert all(char.isalnum() or char in "-_." for char in token)


def test_round_trip_with_expiry() -> None:
    token = sign(KEY, "confirm", "ann@example.org", expires_at=NOW + timedelta(days=1))
    assert verify(KEY, token, "confirm", now=NOW) == "ann@example.org"
    with pytest.raises(BadToken, match="expired"):
        verify(KEY, token, "confirm", now=NOW + timedelta(days=2))
    with pytest.raises(BadToken, match="no current time"):
        verify(KEY, token, "confirm")


def test_wrong_action_is_refused() -> None:
    token = sign(KEY, "confirm", "ann@example.org")
    with pytest.raises(BadToken, match="'confirm', not 'unsubscribe'"):
        verify(KEY, token, "unsubscribe")


def test_forged_payload_is_refused() -> None:
    token = sign(KEY, "unsubscribe", "ann@example.org")
    other = sign(KEY, "unsubscribe", "bob@example.org")
    forged = other.split(".")[0] + "." + token.split(".")[1]
    with pytest.raises(BadToken, match="signature does not match"):
        verify(KEY, forged, "unsubscribe")


def test_other_key_is_refused() -> None:
    token = sign(b"o" * 32, "unsubscribe", "ann@example.org")
    with pytest.raises(BadToken, match="signature"):
        verify(KEY, token, "unsubscribe")


@pytest.mark.parametrize("cut", [1, 5, 20])
def test_truncated_token_is_refused(cut: int) -> None:
    token = sign(KEY, "unsubscribe", "ann@example.org")
    with pytest.raises(BadToken):
        verify(KEY, token[:-cut], "unsubscribe")


@pytest.mark.parametrize("garbage", ["", ".", "abc", "abc.", ".abc", "é.é", "a.b.c"])
def test_garbage_is_refused(garbage: str) -> None:
    with pytest.raises(BadToken) as caught:
        verify(KEY, garbage, "unsubscribe")
    assert isinstance(caught.value, FeedlineError)


def test_short_key_is_refused() -> None:
    with pytest.raises(SigningKeyError, match="at least 16 bytes"):
        sign(b"short", "unsubscribe", "ann@example.org")


def test_key_is_generated_once_with_mode_0600(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    first = load_signing_key(SecretSettings(), data_dir, {})
    path = data_dir / "secret.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(first) >= 32
    assert load_signing_key(SecretSettings(), data_dir, {}) == first
    assert [p.name for p in data_dir.iterdir()] == ["secret.key"]


def test_environment_wins(tmp_path: Path) -> None:
    env = {"FEEDLINE_SECRET_KEY": "from-the-environment-0123456789"}
    assert load_signing_key(SecretSettings(), tmp_path, env) == b"from-the-environment-0123456789"
    assert not (tmp_path / "secret.key").exists()


def test_configured_file_is_read(tmp_path: Path) -> None:
    path = tmp_path / "key.txt"
    path.write_text("a-configured-key-of-enough-length\n")
    settings = SecretSettings(signing_key_file=path)
    assert load_signing_key(settings, tmp_path / "data", {}) == b"a-configured-key-of-enough-length"


def test_missing_configured_file_is_an_error(tmp_path: Path) -> None:
    settings = SecretSettings(signing_key_file=tmp_path / "missing.key")
    with pytest.raises(SigningKeyError, match="cannot read"):
        load_signing_key(settings, tmp_path, {})


def test_short_key_in_environment_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SigningKeyError, match="FEEDLINE_SECRET_KEY"):
        load_signing_key(SecretSettings(), tmp_path, {"FEEDLINE_SECRET_KEY": "abc"})
