"""Ledger test helpers: settings, a stored item with a deadline, a dispatcher."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select

from config.schema import Settings
from feeds.clock import Clock
from feeds.model import Deadline, Entry
from feeds.store.deadlines import DeadlineChange, save_deadlines
from feeds.store.items import upsert_entries
from feeds.store.tables import reminders
from scheduler.ledger.dispatch import ReminderDispatcher
from scheduler.ledger.planning import on_deadline_changes
from scheduler.ledger.subscribers import add_subscriber
from scheduler.mail.file_transport import FileTransport
from scheduler.mail.smtp_transport import SmtpTransport
from tests.support.smtp import SmtpTestServer

BRUSSELS = ZoneInfo("Europe/Brussels")
KEY = b"k" * 32


def make_settings(tmp_path: Path, **mail: Any) -> Settings:
    return Settings.model_validate(
        {
            "site": {
                "base_url": "https://feeds.example.org/",
                "data_dir": str(tmp_path / "data"),
                "output_dir": str(tmp_path / "public"),
            },
            "sources": [
                {
                    "id": "river",
                    "kind": "text",
                    "path": "p.txt",
                    "title": "River news",
                    "link": "https://river.example.org/news",
                }
            ],
            "mail": {"from": "Reminders <reminders@example.org>", **mail},
            "reminders": {"offsets": ["7d", "1d"]},
        }
    )


def end_of_day(day: date) -> datetime:
    return datetime.combine(day, time(23, 59, 59), tzinfo=BRUSSELS)


def store_deadline(
    engine: Engine,
    settings: Settings,
    closes: datetime,
    *,
    title: str = "Consultation on river water quality",
    label: str = "consultation on river water quality",
    now: datetime | None = None,
) -> list[DeadlineChange]:
    now = now or datetime(2023, 1, 1, tzinfo=UTC)
    source = settings.sources[0]
    deadline = Deadline(
        closes_at=closes,
        local_date=closes.astimezone(BRUSSELS).date(),
        local_time=None,
        timezone="Europe/Brussels",
        label=label,
        evidence=f"open until {closes:%d %B %Y}",
    )
    with engine.begin() as conn:
        stored = upsert_entries(conn, source, [Entry(title, "The consultation is open.")], now)
        item_id = stored.stored[0].item_id
        changes = save_deadlines(
            conn, item_id, source.id, [(deadline, "extracted")], now, "river.example.org"
        )
        on_deadline_changes(conn, changes, now, [])
    return changes


def subscribe(engine: Engine, email: str, now: datetime, **kwargs: Any) -> int:
    from scheduler.ledger.planning import plan

    with engine.begin() as conn:
        person, _ = add_subscriber(conn, email, now, **kwargs)
        plan(conn, now, [timedelta(days=7), timedelta(days=1)], subscriber_ids=[person.id])
    return person.id


def smtp_dispatcher(
    engine: Engine,
    settings: Settings,
    server: SmtpTestServer,
    clock: Clock,
    owner: str = "test-sender",
) -> ReminderDispatcher:
    smtp = server.settings(max_connections=2)
    mail = settings.mail.model_copy(update={"smtp": smtp})
    settings = settings.model_copy(update={"mail": mail})  # one sender per connection
    return ReminderDispatcher(settings, engine, SmtpTransport(smtp), clock, KEY, owner=owner)


def file_dispatcher(
    engine: Engine, settings: Settings, clock: Clock, owner: str = "test-sender"
) -> ReminderDispatcher:
    transport = FileTransport(settings.mail.file.dir)
    return ReminderDispatcher(settings, engine, transport, clock, KEY, owner=owner)


def statuses(engine: Engine) -> list[tuple[int, str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(reminders.c.offset_seconds, reminders.c.kind, reminders.c.status).order_by(
                reminders.c.id
            )
        )
        return [(r.offset_seconds, r.kind, r.status) for r in rows]
