"""Opaque link tokens (confirm, manage, unsubscribe, CSRF) and the signing key.

A subscriber's token is base64url of `subscriber id (8 bytes) + version (4 bytes) + MAC (16
bytes)`, the MAC an HMAC-SHA256 over the purpose, the id and the version. No address is in
it, so a link in a log or a forwarded mail tells nobody who it belongs to. The version is a
per-subscriber counter in the database: bumping it revokes every link the subscriber was sent
(`scheduler.ledger.subscribers.revoke_links`). The key never appears in a message or a log.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import os
import secrets
import struct
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from config.schema import SecretSettings
from feeds.errors import ConfigError, FeedlineError

MIN_KEY_BYTES = 16
GENERATED_KEY_BYTES = 32
KEY_FILE_NAME = "secret.key"
MAC_BYTES = 16
_PACKED = struct.Struct(">QI")
TOKEN_CHARS = (_PACKED.size + MAC_BYTES) * 4 // 3 + 1


class Purpose(StrEnum):
    CONFIRM = "confirm"
    MANAGE = "manage"
    UNSUBSCRIBE = "unsubscribe"


class BadToken(FeedlineError):
    """A token that is malformed, forged, or for another purpose. The reason is for logs and
    tests; pages never show it."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"invalid token: {reason}")


class SigningKeyError(ConfigError):
    """The signing key could not be read or is too short: a configuration error (exit 2)."""


@dataclass(frozen=True, slots=True)
class TokenSubject:
    """Whom a valid token names; the caller still checks `version` against the database."""

    subscriber_id: int
    version: int


def subscriber_token(key: bytes, purpose: Purpose, subscriber_id: int, version: int) -> str:
    """The token that lets its holder do `purpose` for this subscriber (while `version`)."""
    _check_key(key)
    packed = _PACKED.pack(subscriber_id, version)
    return _b64encode(packed + _mac(key, purpose, packed))


def read_subscriber_token(key: bytes, purpose: Purpose, token: str) -> TokenSubject:
    """The subject of a well-signed token for `purpose`; `BadToken` otherwise."""
    _check_key(key)
    if not token or len(token) > 2 * TOKEN_CHARS or not token.isascii():
        raise BadToken("malformed")
    try:
        raw = _b64decode(token)
    except ValueError:
        raise BadToken("malformed encoding") from None
    if len(raw) != _PACKED.size + MAC_BYTES:
        raise BadToken("wrong length (truncated?)")
    packed, given = raw[: _PACKED.size], raw[_PACKED.size :]
    if not hmac.compare_digest(given, _mac(key, purpose, packed)):
        raise BadToken("signature does not match (forged, for another purpose or another key)")
    subscriber_id, version = _PACKED.unpack(packed)
    return TokenSubject(subscriber_id, version)


def form_token(key: bytes, form: str, session: str) -> str:
    """A CSRF token for `form`, bound to the browser's random `session` cookie."""
    _check_key(key)
    digest = hmac.new(key, f"csrf|{form}|{session}".encode(), hashlib.sha256).digest()
    return _b64encode(digest[:MAC_BYTES])


def form_token_ok(key: bytes, form: str, session: str, given: str) -> bool:
    if not session or not given or not given.isascii():
        return False
    return hmac.compare_digest(form_token(key, form, session), given)


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


_MAC_PREFIX = {purpose: f"feedline-subscriber|{purpose}|".encode("ascii") for purpose in Purpose}


def _mac(key: bytes, purpose: Purpose, packed: bytes) -> bytes:
    # hmac.digest: the one-shot C path (a reminder signs two tokens; hmac.new cost 3x more).
    return hmac.digest(key, _MAC_PREFIX[purpose] + packed, "sha256")[:MAC_BYTES]


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ValueError(str(exc)) from None
