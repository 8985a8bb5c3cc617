"""The .eml file transport: one file per message, atomic, idempotent per Message-ID."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from config.schema import MailSettings
from feeds.clock import FixedClock
from scheduler.mail.factory import build_transport
from scheduler.mail.file_transport import FileTransport
from scheduler.mail.message import build_message, message_id_for
from scheduler.mail.transport import PermanentMailError, TransientMailError
from tests.mail.conftest import DOMAIN, make_reminder


def _files(folder: Path) -> list[Path]:
    return sorted(folder.iterdir())


def _clock() -> FixedClock:
    return FixedClock(datetime(2023, 2, 10, 9, 0, tzinfo=UTC))


async def test_writes_one_parsable_file(tmp_path: Path) -> None:
    outbox = tmp_path / "outbox"
    transport = FileTransport(outbox)
    message = build_message(make_reminder(), clock=_clock())
    await transport.send(message)
    await transport.close()
    (path,) = _files(outbox)
    assert path.name.startswith("20230210T090000Z-")
    assert path.suffix == ".eml"
    parsed = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert parsed["Message-ID"] == message["Message-ID"]
    assert path.read_bytes() == message.as_bytes()


async def test_same_message_id_overwrites_even_when_resent_later(tmp_path: Path) -> None:
    transport = FileTransport(tmp_path)
    clock = _clock()
    await transport.send(build_message(make_reminder(), clock=clock))
    clock.advance(timedelta(hours=1))
    resent = build_message(make_reminder(), clock=clock)
    await transport.send(resent)
    (path,) = _files(tmp_path)
    assert path.read_bytes() == resent.as_bytes()


async def test_different_message_ids_give_different_files(tmp_path: Path) -> None:
    transport = FileTransport(tmp_path)
    for key in ("a", "b", "c"):
        reminder = make_reminder(message_id=message_id_for(key, DOMAIN))
        await transport.send(build_message(reminder, clock=_clock()))
    names = [path.name for path in _files(tmp_path)]
    assert len(names) == 3
    assert all(name.endswith(".eml") for name in names), "no temp file left behind"


async def test_message_without_message_id_is_refused(tmp_path: Path) -> None:
    message = build_message(make_reminder(), clock=_clock())
    del message["Message-ID"]
    with pytest.raises(PermanentMailError, match="Message-ID"):
        await FileTransport(tmp_path).send(message)


async def test_unwritable_folder_is_transient(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    message = build_message(make_reminder(), clock=_clock())
    with pytest.raises(TransientMailError, match="cannot write"):
        await FileTransport(blocker / "outbox").send(message)


def test_factory_builds_the_file_transport(tmp_path: Path) -> None:
    settings = MailSettings.model_validate({"transport": "file", "file": {"dir": tmp_path}})
    transport = build_transport(settings, {})
    assert isinstance(transport, FileTransport)
    assert transport.directory == tmp_path


async def test_send_bytes_writes_the_bytes_named_by_date_and_message_id(tmp_path: Path) -> None:
    from scheduler.mail.template import MessageTemplate

    raw = MessageTemplate(make_reminder()).render(
        "bob@example.org", message_id_for("b", DOMAIN), "https://x.example/u?t=1", clock=_clock()
    )
    transport = FileTransport(tmp_path)
    await transport.send_bytes(raw)
    full = build_message(make_reminder(message_id=message_id_for("b", DOMAIN)), clock=_clock())
    await transport.send(full)  # the same Message-ID: the same file
    (path,) = _files(tmp_path)
    assert path.name.startswith("20230210T090000Z-")
    assert path.read_bytes() == full.as_bytes()
