"""Signed tokens for link actions (unsubscribe, confirm): HMAC-SHA256, URL-safe.

A token is `<payload>.<mac>`, both base64url without padding. The payload is the compact JSON
list `[action, subject]` or `[action, subject, expires_unix]`; the MAC covers the encoded
payload, so the action and subject cannot be changed without the key. The key never appears
in a message or a log line.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import json
import os
import secrets
import tempfile
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

from config.schema import SecretSettings
from feeds.errors import ConfigError, FeedlineError

MIN_KEY_BYTES = 16
GENERATED_KEY_BYTES = 32
KEY_FILE_NAME = "secret.key"


class BadToken(FeedlineError):
    """A token that is malformed, forged, for another action, or expired."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"invalid token: {reason}")


class SigningKeyError(ConfigError):
    """The signing key could not be read or is too short: a configuration error (exit 2)."""


def sign(key: bytes, action: str, subject: str, *, expires_at: datetime | None = None) -> str:
    """A token that lets its holder perform `action` on `subject` (until `expires_at`)."""
    _check_key(key)
    fields: list[str | int] = [action, subject]
    if expires_at is not None:
        if expires_at.tzinfo is None:
            raise ValueError("expires_at must be timezone-aware")
        fields.append(int(expires_at.timestamp()))
    payload = _b64encode(json.dumps(fields, separators=(",", ":")).encode())
    return f"{payload}.{_b64encode(_mac(key, payload))}"


def verify(key: bytes, token: str, action: str, *, now: datetime | None = None) -> str:
    """The subject of a valid token for `action`; `BadToken` otherwise.

    A token with an expiry needs `now` (the caller's clock) to be accepted.
    """
    _check_key(key)
    payload, dot, mac_text = token.partition(".")
    if not token.isascii() or not dot or not payload or not mac_text:
        raise BadToken("malformed (expected <payload>.<signature>)")
    try:
        given_mac = _b64decode(mac_text)
    except ValueError:
        raise BadToken("malformed signature encoding") from None
    if not hmac.compare_digest(given_mac, _mac(key, payload)):
        raise BadToken("signature does not match (forged, truncated or another key)")
    try:
        fields = json.loads(_b64decode(payload))
    except ValueError:
        raise BadToken("malformed payload") from None
    if (
        not isinstance(fields, list)
        or len(fields) not in (2, 3)
        or not all(isinstance(field, str) for field in fields[:2])
    ):
        raise BadToken("malformed payload")
    token_action, subject = fields[0], fields[1]
    if token_action != action:
        raise BadToken(f"token is for {token_action!r}, not {action!r}")
    if len(fields) == 3:
        expires = fields[2]
        if not isinstance(expires, int):
            raise BadToken("malformed expiry")
        if now is None:
            raise BadToken("token has an expiry and no current time was given")
        if now.timestamp() >= expires:
            expired_at = datetime.fromtimestamp(expires, UTC).isoformat()
            raise BadToken(f"expired at {expired_at}")
    return str(subject)


def load_signing_key(settings: SecretSettings, data_dir: Path, env: Mapping[str, str]) -> bytes:
    """The signing key: the env var named in settings, else the key file.

    Without a configured file, `data_dir/secret.key` is created on first use with 32 random
    bytes (base64url text, mode 0600, created atomically so concurrent first starts agree).
    """
    from_env = env.get(settings.signing_key_env, "").strip()
    if from_env:
        key = from_env.encode()
        _check_key(key, where=f"environment variable {settings.signing_key_env}")
        return key
    if settings.signing_key_file is not None:
        return _read_key_file(settings.signing_key_file)
    path = data_dir / KEY_FILE_NAME
    if not path.exists():
        _create_key_file(path)
    return _read_key_file(path)


def _read_key_file(path: Path) -> bytes:
    try:
        key = path.read_bytes().strip()
    except OSError as exc:
        raise SigningKeyError(f"cannot read signing key file {path}: {exc.strerror}") from None
    _check_key(key, where=f"file {path}")
    return key


def _create_key_file(path: Path) -> None:
    """Write a new key beside `path`, then hard-link it into place unless one appeared."""
    path.parent.mkdir(parents=True, exist_ok=True)
    key_text = _b64encode(secrets.token_bytes(GENERATED_KEY_BYTES)) + "\n"
    descriptor, temp_name = tempfile.mkstemp(dir=path.parent, prefix=".secret-", suffix=".tmp")
    try:
        os.fchmod(descriptor, 0o600)
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(key_text)
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileExistsError):  # another process won: its key is the key
            os.link(temp_name, path)
    finally:
        os.unlink(temp_name)


def _check_key(key: bytes, *, where: str = "signing key") -> None:
    if len(key) < MIN_KEY_BYTES:
        raise SigningKeyError(
            f"{where}: the signing key must be at least {MIN_KEY_BYTES} bytes "
            f"(generate one with `python -c 'import secrets; print(secrets.token_urlsafe(32))'`)"
        )


def _mac(key: bytes, payload: str) -> bytes:
    return hmac.new(key, payload.encode("ascii"), hashlib.sha256).digest()


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ValueError(str(exc)) from None
