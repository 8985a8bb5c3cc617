"""Claiming due reminders, and the rules for what is overdue.

A claim is one UPDATE ... RETURNING over the due rows: on PostgreSQL the rows are picked with
FOR UPDATE SKIP LOCKED, so several daemons share the work without waiting on each other; on
SQLite the transaction begins IMMEDIATE (one writer). A claim is a lease: rows a crashed sender
held come back when it runs out.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, and_, case, func, or_, select, update

from feeds.store.tables import reminders


class ReminderStatus(StrEnum):
    """A ledger row's status (the `reminders.status` column)."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    EXPIRED = "expired"
    #: The subscriber left or the deadline was withdrawn before it was sent.
    CANCELLED = "cancelled"
    #: The deadline moved (or a later offset was sent instead) before it was sent.
    SUPERSEDED = "superseded"


PENDING, SENDING, SENT = ReminderStatus.PENDING, ReminderStatus.SENDING, ReminderStatus.SENT
FAILED, EXPIRED = ReminderStatus.FAILED, ReminderStatus.EXPIRED
CANCELLED, SUPERSEDED = ReminderStatus.CANCELLED, ReminderStatus.SUPERSEDED


@dataclass(frozen=True, slots=True)
class DueRow:
    id: int
    deadline_id: int
    subscriber_id: int
    planned_closes_at: datetime
    offset_seconds: int
    kind: str
    status: str


def claimable(now: datetime) -> Any:
    return or_(
        and_(reminders.c.status == PENDING, reminders.c.next_attempt_at <= now),
        and_(reminders.c.status == SENDING, reminders.c.lease_until < now),
    )


def overdue_losers(rows: Iterable[DueRow]) -> set[int]:
    """Of several overdue offsets of one deadline for one person, only the latest is sent.

    `rows` are the due rows (pending, sending or sent) of some (deadline, subscriber, planned
    time) groups; returns the ids of pending rows to expire. "Latest" = the smallest offset,
    the reminder due last; if that one is already sent, every other overdue one is moot.
    """
    groups: dict[tuple[int, int, datetime], list[DueRow]] = {}
    for row in rows:
        if row.kind == "reminder":
            groups.setdefault(
                (row.deadline_id, row.subscriber_id, row.planned_closes_at), []
            ).append(row)
    losers: set[int] = set()
    for group in groups.values():
        winner = min(group, key=lambda r: r.offset_seconds)
        losers.update(r.id for r in group if r.id != winner.id and r.status == PENDING)
    return losers


def _due_rows(conn: Connection, now: datetime) -> list[DueRow]:
    pending = (
        select(reminders.c.deadline_id, reminders.c.subscriber_id, reminders.c.planned_closes_at)
        .where(claimable(now), reminders.c.kind == "reminder")
        .distinct()
        .subquery()
    )
    query = (
        select(
            reminders.c.id,
            reminders.c.deadline_id,
            reminders.c.subscriber_id,
            reminders.c.planned_closes_at,
            reminders.c.offset_seconds,
            reminders.c.kind,
            reminders.c.status,
        )
        .join(
            pending,
            and_(
                pending.c.deadline_id == reminders.c.deadline_id,
                pending.c.subscriber_id == reminders.c.subscriber_id,
                pending.c.planned_closes_at == reminders.c.planned_closes_at,
            ),
        )
        .where(
            reminders.c.due_at <= now,
            reminders.c.status.in_([PENDING, SENDING, SENT]),
            reminders.c.kind == "reminder",
        )
    )
    return [DueRow(*row) for row in conn.execute(query)]


def settle(conn: Connection, now: datetime) -> int:
    """Expire what must never be sent: deadline passed, or an overdue offset superseded."""
    expired = conn.execute(
        update(reminders)
        .where(claimable(now), reminders.c.planned_closes_at <= now)
        .values(
            status=EXPIRED,
            updated_at=now,
            lease_owner=None,
            lease_until=None,
            last_error="the deadline passed before it could be sent",
        )
    ).rowcount
    losers = overdue_losers(_due_rows(conn, now))
    if losers:
        expired += conn.execute(
            update(reminders)
            .where(reminders.c.id.in_(sorted(losers)), reminders.c.status == PENDING)
            .values(
                status=EXPIRED,
                updated_at=now,
                last_error="a later reminder for the same deadline was due",
            )
        ).rowcount
    return int(expired)


def claim(conn: Connection, now: datetime, owner: str, lease: timedelta, limit: int) -> list[int]:
    """Take up to `limit` due rows for `owner`; return their ids (soonest due first)."""
    picked = (
        select(reminders.c.id)
        .where(claimable(now))
        .order_by(reminders.c.next_attempt_at, reminders.c.id)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        picked = picked.with_for_update(skip_locked=True)
    result = conn.execute(
        update(reminders)
        .where(reminders.c.id.in_(picked.scalar_subquery()))
        .values(
            status=SENDING,
            lease_owner=owner,
            lease_until=now + lease,
            attempts=reminders.c.attempts + 1,
            updated_at=now,
        )
        .returning(reminders.c.id, reminders.c.next_attempt_at)
    )
    return [row.id for row in sorted(result, key=lambda r: (r.next_attempt_at, r.id))]


def _finish(conn: Connection, row_id: int, owner: str, **values: Any) -> bool:
    """Record an outcome if we still hold the lease; False if another sender took the row."""
    result = conn.execute(
        update(reminders)
        .where(
            reminders.c.id == row_id,
            reminders.c.status == SENDING,
            reminders.c.lease_owner == owner,
        )
        .values(lease_owner=None, lease_until=None, **values)
    )
    return result.rowcount == 1


def mark_sent_many(
    conn: Connection, sent: Sequence[tuple[int, str]], owner: str, now: datetime
) -> set[int]:
    """Record `sent` (row id, Message-ID) pairs in one UPDATE; return the ids still held.

    One statement and one commit for a batch of sends instead of one each: on PostgreSQL a
    commit per message cost as much as the send. Rows another sender took over are left alone.
    """
    if not sent:
        return set()
    result = conn.execute(
        update(reminders)
        .where(
            reminders.c.id.in_([row_id for row_id, _ in sent]),
            reminders.c.status == SENDING,
            reminders.c.lease_owner == owner,
        )
        .values(
            lease_owner=None,
            lease_until=None,
            status=SENT,
            sent_at=now,
            message_id=case(dict(sent), value=reminders.c.id),
            updated_at=now,
            last_error=None,
        )
        .returning(reminders.c.id)
    )
    return {row.id for row in result}


def mark_sent(conn: Connection, row_id: int, owner: str, message_id: str, now: datetime) -> bool:
    return row_id in mark_sent_many(conn, [(row_id, message_id)], owner, now)


def mark_retry(
    conn: Connection, row_id: int, owner: str, error: str, at: datetime, now: datetime
) -> bool:
    return _finish(
        conn, row_id, owner, status=PENDING, next_attempt_at=at, last_error=error, updated_at=now
    )


def mark_final(
    conn: Connection, row_id: int, owner: str, status: str, error: str, now: datetime
) -> bool:
    return _finish(conn, row_id, owner, status=status, last_error=error, updated_at=now)


def release(conn: Connection, owner: str, now: datetime) -> int:
    """Give back every row `owner` still holds (clean shutdown), as if never tried."""
    result = conn.execute(
        update(reminders)
        .where(reminders.c.status == SENDING, reminders.c.lease_owner == owner)
        .values(
            status=PENDING,
            lease_owner=None,
            lease_until=None,
            updated_at=now,
            attempts=func.max(reminders.c.attempts - 1, 0)
            if conn.dialect.name == "sqlite"
            else func.greatest(reminders.c.attempts - 1, 0),
        )
    )
    return int(result.rowcount)


def next_due(conn: Connection) -> datetime | None:
    """When the next pending row falls due (or a lease runs out)."""
    pending = conn.execute(
        select(func.min(reminders.c.next_attempt_at)).where(reminders.c.status == PENDING)
    ).scalar()
    leased = conn.execute(
        select(func.min(reminders.c.lease_until)).where(reminders.c.status == SENDING)
    ).scalar()
    found = [t for t in (pending, leased) if t is not None]
    if not found:
        return None
    earliest = min(found)
    # func.min bypasses the column type on some drivers: make sure it is aware UTC.
    from feeds.store.types import UTCDateTime

    return UTCDateTime().process_result_value(earliest, conn.dialect)


def counts(conn: Connection) -> dict[str, int]:
    rows = conn.execute(select(reminders.c.status, func.count()).group_by(reminders.c.status))
    return {status: int(total) for status, total in rows}


def preview(conn: Connection, now: datetime) -> tuple[list[int], list[int]]:
    """What a pass would send and expire now, without changing anything (--dry-run)."""
    due = conn.execute(
        select(reminders.c.id, reminders.c.planned_closes_at).where(claimable(now))
    ).all()
    passed = {row.id for row in due if row.planned_closes_at <= now}
    losers = overdue_losers(_due_rows(conn, now)) - passed
    send = sorted(row.id for row in due if row.id not in passed and row.id not in losers)
    return send, sorted(passed | losers)


__all__: Sequence[str] = [
    "claim",
    "counts",
    "mark_final",
    "mark_retry",
    "mark_sent",
    "mark_sent_many",
    "next_due",
    "overdue_losers",
    "preview",
    "release",
    "settle",
]
