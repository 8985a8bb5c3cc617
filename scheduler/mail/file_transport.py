"""A transport that writes one RFC 5322 .eml file per message (the default; for previews,
tests and installs without SMTP).

The file name is `<Date as YYYYMMDDTHHMMSSZ>-<hash of Message-ID>.eml`. A resend of the same
Message-ID (at-least-once delivery after a crash) overwrites the file of the first send, even
though its Date differs: the hash part finds it.
"""

from __future__ import annotations

import asyncio
import email.policy
import hashlib
import os
import tempfile
from datetime import UTC
from email.message import EmailMessage, Message
from email.parser import BytesHeaderParser
from email.utils import parsedate_to_datetime
from pathlib import Path

from scheduler.mail.transport import (
    BeforeEnd,
    PermanentMailError,
    RawMessage,
    TransientMailError,
    raw_message,
)


class FileTransport:
    """Writes messages atomically (temp file in the same folder, fsync, `os.replace`)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    async def send(self, message: EmailMessage) -> None:
        await self.send_bytes(raw_message(message))

    async def send_bytes(self, message: RawMessage, *, before_end: BeforeEnd | None = None) -> None:
        waiting = None if before_end is None else before_end()
        if waiting is not None:
            await waiting
        head = message.data.partition(b"\r\n\r\n")[0]
        name = eml_file_name(BytesHeaderParser(policy=email.policy.default).parsebytes(head))
        try:
            await asyncio.to_thread(_write_atomically, self.directory, name, message.data)
        except OSError as exc:
            raise TransientMailError(
                f"cannot write {name} in {self.directory}: {exc.strerror or exc}"
            ) from exc

    async def close(self) -> None:
        return None


def eml_file_name(message: Message) -> str:
    """`<date>-<message id hash>.eml`; the Message-ID and Date headers are required."""
    message_id = message.get("Message-ID")
    date_header = message.get("Date")
    if not message_id or not date_header:
        raise PermanentMailError("message has no Message-ID or Date header")
    try:
        sent = parsedate_to_datetime(str(date_header))
    except (TypeError, ValueError):
        raise PermanentMailError(f"unreadable Date header {str(date_header)!r}") from None
    if sent.tzinfo is None:
        raise PermanentMailError(f"Date header {str(date_header)!r} has no zone")
    stamp = sent.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    digest = hashlib.sha256(str(message_id).strip().encode()).hexdigest()[:24]
    return f"{stamp}-{digest}.eml"


def _write_atomically(directory: Path, name: str, data: bytes) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    id_part = name.partition("-")[2]
    earlier = sorted(directory.glob(f"*-{id_part}"))
    path = earlier[0] if earlier else directory / name
    descriptor, temp_name = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".eml.tmp")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
