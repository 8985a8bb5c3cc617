"""Fault-injection helpers: settings with an operator, many subscribers, ledger counts."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select

from config.schema import Settings
from feeds.clock import Clock
from feeds.store.tables import reminders
from scheduler.ledger.dispatch import ReminderDispatcher
from scheduler.mail.smtp_transport import SmtpTransport
from scheduler.mail_health import MonitoredTransport
from tests.ledger.helpers import KEY, end_of_day, make_settings, store_deadline, subscribe
from tests.support.smtp import SmtpTestServer

CLOSES = end_of_day(date(2023, 2, 17))
#: The 7-day reminders of CLOSES are due from here on.
DUE = datetime(2023, 2, 11, 9, tzinfo=UTC)
OPERATOR = "ops@example.org"


def fault_settings(tmp_path: Path, **mail: Any) -> Settings:
    settings = make_settings(tmp_path, **mail)
    return settings.model_copy(
        update={"alerts": settings.alerts.model_copy(update={"operator": OPERATOR})}
    )


def many_subscribers(engine: Engine, settings: Settings, count: int) -> list[str]:
    store_deadline(engine, settings, CLOSES)
    people = [f"person{n:05d}@example.org" for n in range(count)]
    for address in people:
        subscribe(engine, address, datetime(2023, 1, 2, tzinfo=UTC))
    return people


def monitored_dispatcher(
    engine: Engine,
    settings: Settings,
    server: SmtpTestServer,
    clock: Clock,
    *,
    owner: str = "test-sender",
    password: str | None = None,
    **smtp: Any,
) -> ReminderDispatcher:
    smtp_settings = server.settings(**{"max_connections": 2, **smtp})
    mail = settings.mail.model_copy(update={"smtp": smtp_settings})
    settings = settings.model_copy(update={"mail": mail})  # one sender per connection
    inner = SmtpTransport(smtp_settings, password=password)
    transport = MonitoredTransport(inner, engine, clock, settings)
    return ReminderDispatcher(settings, engine, transport, clock, KEY, owner=owner)


def by_status(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(reminders.c.status, func.count())
            .where(reminders.c.kind == "reminder")
            .group_by(reminders.c.status)
        )
        return {str(status): int(n) for status, n in rows}


def delivered(server: SmtpTestServer, operator: bool = False) -> list[str]:
    """Recipients of every accepted message (the operator's alerts left out unless asked)."""
    return [r for m in server.handler.messages for r in m.recipients if operator or r != OPERATOR]


def tally(expected: list[str], server: SmtpTestServer) -> tuple[int, int]:
    """(lost, duplicated) of the reminders to `expected` as the server received them."""
    got = delivered(server)
    return len(set(expected) - set(got)), len(got) - len(set(got))


def db_name(engine: Engine) -> str:
    return "PostgreSQL" if engine.dialect.name == "postgresql" else "SQLite"
