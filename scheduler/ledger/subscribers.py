"""Subscribers: validated addresses, the sources they follow and their reminder offsets."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import Connection, delete, insert, select, update

from config.durations import format_duration, parse_duration
from feeds.errors import FeedlineError
from feeds.store.tables import reminders, subscribers
from scheduler.ledger.claims import ReminderStatus


class SubscriberStatus(StrEnum):
    ACTIVE = "active"
    PENDING = "pending"
    UNSUBSCRIBED = "unsubscribed"
    BOUNCED = "bounced"


class SubscriberError(FeedlineError):
    """A bad address, offset or import row."""


@dataclass(frozen=True, slots=True)
class Subscriber:
    id: int
    email: str
    status: SubscriberStatus
    sources: tuple[str, ...]  # empty = every source
    offsets: tuple[timedelta, ...]  # empty = the configured default

    def follows(self, source_id: str) -> bool:
        return not self.sources or source_id in self.sources

    def offsets_or(self, default: Sequence[timedelta]) -> tuple[timedelta, ...]:
        return self.offsets or tuple(default)


def normalise_email(address: str) -> str:
    """Validated and lower-cased: one subscriber per mailbox however it is typed."""
    try:
        return validate_email(address.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as error:
        raise SubscriberError(f"{address!r} is not a valid email address: {error}") from None


def parse_offsets(text: str | Sequence[str]) -> tuple[timedelta, ...]:
    parts = text.split(",") if isinstance(text, str) else list(text)
    try:
        return tuple(sorted({parse_duration(p) for p in parts if p.strip()}, reverse=True))
    except ValueError as error:
        raise SubscriberError(f"offsets: {error}") from None


def _row(row: Any) -> Subscriber:
    sources = tuple(s for s in row.sources.split(",") if s)
    offsets = parse_offsets(row.offsets) if row.offsets else ()
    return Subscriber(
        row.id,
        row.email,
        SubscriberStatus(row.status),
        sources,
        offsets,
    )


def add_subscriber(
    conn: Connection,
    email: str,
    now: datetime,
    *,
    sources: Sequence[str] = (),
    offsets: Sequence[timedelta] = (),
    status: SubscriberStatus = SubscriberStatus.ACTIVE,
) -> tuple[Subscriber, bool]:
    """Add or update (a duplicate is an update); return the subscriber and whether it is new."""
    address = normalise_email(email)
    values = {
        "sources": ",".join(sorted(set(sources))),
        "offsets": ",".join(format_duration(o) for o in sorted(set(offsets), reverse=True)),
        "status": status.value,
        "updated_at": now,
    }
    existing = conn.execute(select(subscribers.c.id).where(subscribers.c.email == address)).first()
    if existing is None:
        conn.execute(insert(subscribers).values(email=address, created_at=now, **values))
        created = True
    else:
        conn.execute(update(subscribers).where(subscribers.c.id == existing.id).values(**values))
        created = False
    row = conn.execute(select(subscribers).where(subscribers.c.email == address)).one()
    return _row(row), created


def remove_subscriber(conn: Connection, email: str) -> bool:
    """Delete the subscriber and their planned reminders. False if there was none."""
    address = normalise_email(email)
    found = conn.execute(select(subscribers.c.id).where(subscribers.c.email == address)).first()
    if found is None:
        return False
    conn.execute(delete(reminders).where(reminders.c.subscriber_id == found.id))
    conn.execute(delete(subscribers).where(subscribers.c.id == found.id))
    return True


def set_status(conn: Connection, email: str, status: SubscriberStatus, now: datetime) -> bool:
    """Change a subscriber's status; inactive ones get their pending reminders cancelled."""
    address = normalise_email(email)
    found = conn.execute(select(subscribers.c.id).where(subscribers.c.email == address)).first()
    if found is None:
        return False
    conn.execute(
        update(subscribers)
        .where(subscribers.c.id == found.id)
        .values(status=status.value, updated_at=now)
    )
    if status is not SubscriberStatus.ACTIVE:
        conn.execute(
            update(reminders)
            .where(reminders.c.subscriber_id == found.id, reminders.c.status == "pending")
            .values(
                status=ReminderStatus.CANCELLED,
                updated_at=now,
                last_error=f"subscriber {status.value}",
            )
        )
    return True


def list_subscribers(conn: Connection) -> list[Subscriber]:
    return [_row(r) for r in conn.execute(select(subscribers).order_by(subscribers.c.email))]


def active_subscribers(conn: Connection) -> list[Subscriber]:
    query = select(subscribers).where(subscribers.c.status == SubscriberStatus.ACTIVE.value)
    return [_row(r) for r in conn.execute(query)]


@dataclass(frozen=True, slots=True)
class ImportRow:
    line: int
    email: str
    sources: tuple[str, ...]
    offsets: tuple[timedelta, ...]


def read_import_file(path: Path, known_sources: Sequence[str]) -> tuple[list[ImportRow], list[str]]:
    """Read a CSV with a header: email[,sources][,offsets] (lists separated by spaces or ;).

    Returns the good rows and one error line per bad row (file and line named).
    """
    rows: list[ImportRow] = []
    errors: list[str] = []
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            if reader.fieldnames is None or "email" not in [f.strip() for f in reader.fieldnames]:
                raise SubscriberError(f"{path}: the first line must be a header with `email`")
            for record in reader:
                line = reader.line_num
                try:
                    email = normalise_email(record.get("email") or "")
                    sources = tuple(
                        s for s in (record.get("sources") or "").replace(";", " ").split() if s
                    )
                    unknown = [s for s in sources if s not in known_sources]
                    if unknown:
                        raise SubscriberError(f"unknown source(s) {', '.join(unknown)}")
                    offsets = parse_offsets(
                        (record.get("offsets") or "").replace(";", ",").replace(" ", ",")
                    )
                    rows.append(ImportRow(line, email, sources, offsets))
                except SubscriberError as error:
                    errors.append(f"{path}:{line}: {error}")
    except OSError as error:
        raise SubscriberError(f"{path}: cannot read: {error.strerror}") from None
    except UnicodeDecodeError:
        raise SubscriberError(f"{path}: not UTF-8 text") from None
    return rows, errors
