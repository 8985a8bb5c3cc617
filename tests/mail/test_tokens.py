"""Signed link tokens and the signing key."""

from __future__ import annotations

import base64
import stat
from pathlib import Path

import pytest

from config.schema import SecretSettings
from feeds.errors import FeedlineError
from scheduler.tokens import (
    BadToken,
    Purpose,
    SigningKeyError,
    TokenSubject,
    form_token,
    form_token_ok,
    load_signing_key,
    read_subscriber_token,
    subscriber_token,
)

KEY = b"k" * 32


def test_round_trip_carries_no_address() -> None:
    token = subscriber_token(KEY, Purpose.MANAGE, 42, 3)
    assert read_subscriber_token(KEY, Purpose.MANAGE, token) == TokenSubject(42, 3)
    assert all(char.isalnum() or char in "-_" for char in token)
    assert len(token) < 40
    assert b"42" not in base64.urlsafe_b64decode(token + "==")


def test_wrong_purpose_is_refused() -> None:
    token = subscriber_token(KEY, Purpose.MANAGE, 42, 1)
    with pytest.raises(BadToken, match="signature"):
        read_subscriber_token(KEY, Purpose.UNSUBSCRIBE, token)


def test_forged_subject_is_refused() -> None:
    token = subscriber_token(KEY, Purpose.MANAGE, 42, 1)
    raw = bytearray(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    raw[7] ^= 1  # subscriber 43 with 42's signature
    forged = base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
    with pytest.raises(BadToken, match="signature"):
        read_subscriber_token(KEY, Purpose.MANAGE, forged)


def test_other_key_is_refused() -> None:
    token = subscriber_token(b"o" * 32, Purpose.MANAGE, 42, 1)
    with pytest.raises(BadToken, match="signature"):
        read_subscriber_token(KEY, Purpose.MANAGE, token)


@pytest.mark.parametrize("cut", [1, 5, 20])
def test_truncated_token_is_refused(cut: int) -> None:
    token = subscriber_token(KEY, Purpose.MANAGE, 42, 1)
    with pytest.raises(BadToken):
        read_subscriber_token(KEY, Purpose.MANAGE, token[:-cut])


@pytest.mark.parametrize("garbage", ["", ".", "abc", "é" * 10, "a" * 500, "!!!!"])
def test_garbage_is_refused(garbage: str) -> None:
    with pytest.raises(BadToken) as caught:
        read_subscriber_token(KEY, Purpose.MANAGE, garbage)
    assert isinstance(caught.value, FeedlineError)


def test_form_tokens_are_bound_to_form_and_session() -> None:
    token = form_token(KEY, "subscribe", "session-a")
    assert form_token_ok(KEY, "subscribe", "session-a", token)
    assert not form_token_ok(KEY, "subscribe", "session-b", token)
    assert not form_token_ok(KEY, "manage", "session-a", token)
    assert not form_token_ok(KEY, "subscribe", "", token)
    assert not form_token_ok(KEY, "subscribe", "session-a", "")


def test_short_key_is_refused() -> None:
    with pytest.raises(SigningKeyError, match="at least 16 bytes"):
        subscriber_token(b"short", Purpose.MANAGE, 1, 1)


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
