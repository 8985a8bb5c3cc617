"""Claiming due reminders, and the rules for what is overdue.

A claim is one UPDATE ... RETURNING over the due rows: on PostgreSQL the rows are picked with
FOR UPDATE SKIP LOCKED, so several daemons share the work without waiting on each other; on
SQLite the transaction begins IMMEDIATE (one writer). A claim is a lease: rows a crashed sender
held come back when it runs out.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    ARRAY,
    BindParameter,
    ColumnElement,
    Connection,
    Update,
    and_,
    any_,
    bindparam,
    case,
    exists,
    func,
    literal_column,
    or_,
    select,
    update,
)

from feeds.store.tables import reminders

log = logging.getLogger(__name__)


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


def claimable(now: datetime) -> Any:
    return or_(
        and_(reminders.c.status == PENDING, reminders.c.next_attempt_at <= now),
        and_(reminders.c.status == SENDING, reminders.c.lease_until < now),
    )


def _a_later_offset_is_due(now: datetime | BindParameter[Any]) -> Any:
    """A reminder row for which the same person's reminder of the same deadline and planned
    time with a smaller offset (due later) is due too, and pending, being sent or sent.

    Of several overdue offsets only the latest is sent; if that one is already sent, every
    other overdue one is moot. Checked in SQL (the ledger key's index), never in memory.
    """
    other = reminders.alias("later")
    return and_(
        reminders.c.kind == "reminder",
        exists().where(
            other.c.deadline_id == reminders.c.deadline_id,
            other.c.subscriber_id == reminders.c.subscriber_id,
            other.c.kind == "reminder",
            other.c.planned_closes_at == reminders.c.planned_closes_at,
            other.c.offset_seconds < reminders.c.offset_seconds,
            other.c.due_at <= now,
            other.c.status.in_([PENDING, SENDING, SENT]),
        ),
    )


def _moot(now: datetime | BindParameter[Any]) -> list[tuple[Any, str]]:
    """What must never be sent, with the reason recorded."""
    return [
        (reminders.c.planned_closes_at <= now, PASSED),
        (_a_later_offset_is_due(now), LATER_DUE),
    ]


PASSED = "the deadline passed before it could be sent"
LATER_DUE = "a later reminder for the same deadline was due"


def _at(name: str) -> BindParameter[Any]:
    """A bound time, converted as the ledger's time columns are."""
    return bindparam(name, type_=reminders.c.updated_at.type)


#: The pass's statements are built once (per dialect, or per number of rows) with bound
#: values, not per call: building and keying a statement cost more CPU than running it.
_NOW, _LEASE_UNTIL = _at("now"), _at("lease_until")
_OWNER: BindParameter[str] = bindparam("owner")


def among_ids(column: ColumnElement[int], dialect: str) -> ColumnElement[bool]:
    """`column` is one of the bound list :ids.

    On PostgreSQL one array parameter (`= ANY`): the statement's text is the same for any
    number of ids. An expanding IN of a batch's 200 ids was rendered by SQLAlchemy, split
    into parameters by psycopg and planned by the server at every run: the batch's reads
    and expiries took 4.2 ms of client CPU, now 1.9 ms (bench/send_path_bench.py, part 3).
    Elsewhere an expanding IN."""
    if dialect == "postgresql":
        return column == any_(bindparam("ids", type_=ARRAY(column.type)))
    return column.in_(bindparam("ids", expanding=True))


@lru_cache(maxsize=8)
def _take_statement(dialect: str, stale: bool) -> Update:
    """Claim up to :limit rows: those whose lease ran out (`stale`), else pending due rows."""
    if stale:
        picked = select(reminders.c.id).where(
            reminders.c.status == SENDING, reminders.c.lease_until < _NOW
        )
    else:
        picked = (
            select(reminders.c.id)
            .where(reminders.c.status == PENDING, reminders.c.next_attempt_at <= _NOW)
            .order_by(reminders.c.next_attempt_at)
        )
    picked = picked.limit(bindparam("limit"))
    if dialect == "postgresql":
        picked = picked.with_for_update(skip_locked=True)
    return (
        update(reminders)
        .where(reminders.c.id.in_(picked.scalar_subquery()))
        .values(
            status=SENDING,
            lease_owner=_OWNER,
            lease_until=_LEASE_UNTIL,
            attempts=reminders.c.attempts + 1,
            updated_at=_NOW,
        )
        .returning(reminders.c.id, reminders.c.next_attempt_at)
    )


def _take(
    conn: Connection, stale: bool, limit: int, now: datetime, owner: str, lease: timedelta
) -> list[Any]:
    statement = _take_statement(conn.dialect.name, stale)
    values = {"now": now, "owner": owner, "lease_until": now + lease, "limit": limit}
    return list(conn.execute(statement, values))


def claim(conn: Connection, now: datetime, owner: str, lease: timedelta, limit: int) -> list[int]:
    """Take up to `limit` due rows for `owner`; return their ids (soonest due first).

    Rows whose lease ran out first, then pending ones in the order of the index
    (status, next_attempt_at): two index range scans, so a claim costs the same with 100
    rows due or 100,000 (one OR over both made each claim sort every due row).
    """
    taken = _take(conn, True, limit, now, owner, lease)
    if len(taken) < limit:
        taken += _take(conn, False, limit - len(taken), now, owner, lease)
    return [row.id for row in sorted(taken, key=lambda r: (r.next_attempt_at, r.id))]


@lru_cache(maxsize=4)
def _expire_statements(dialect: str) -> list[Update]:
    """Per reason a claimed row must not be sent: expire those of :ids that `owner` holds."""
    return [
        update(reminders)
        .where(
            among_ids(reminders.c.id, dialect),
            reminders.c.status == SENDING,
            reminders.c.lease_owner == _OWNER,
            condition,
        )
        .values(
            status=EXPIRED,
            lease_owner=None,
            lease_until=None,
            updated_at=_NOW,
            last_error=reason,
        )
        .returning(reminders.c.id)
        for condition, reason in _moot(_NOW)
    ]


def expire_moot(conn: Connection, ids: Sequence[int], owner: str, now: datetime) -> set[int]:
    """Of rows `owner` just claimed, expire those that must not be sent (their deadline
    passed, or a later offset is due); return their ids. Per claimed batch: the work and the
    memory stay bounded however many rows are due."""
    expired: set[int] = set()
    if not ids:
        return expired
    values = {"ids": list(ids), "owner": owner, "now": now}
    for statement in _expire_statements(conn.dialect.name):
        expired.update(row.id for row in conn.execute(statement, values))
    return expired


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
    values: dict[str, Any] = {"owner": owner, "now": now}
    for number, (row_id, message_id) in enumerate(sent):
        values[f"id{number}"] = row_id
        values[f"message_id{number}"] = message_id
    statement = _mark_sent_statement(conn.dialect.name, len(sent))
    return {row.id for row in conn.execute(statement, values)}


@lru_cache(maxsize=64)
def _mark_sent_statement(dialect: str, count: int) -> Update:
    """Mark :id0..:id<count-1> sent (each with its :message_id<n>) if `owner` holds them.

    On SQLite the status test is written `+status`, which keeps the planner off the
    (status, next_attempt_at) index: without statistics it picked that index over the
    primary key and read every row being sent for each mark (656 us a mark against 5,174
    with 10,000 rows claimed; docs/benchmarks.md)."""
    ids = [bindparam(f"id{n}", type_=reminders.c.id.type) for n in range(count)]
    message_ids = case(
        *((reminders.c.id == ids[n], bindparam(f"message_id{n}")) for n in range(count)),
        else_=reminders.c.message_id,
    )
    return (
        update(reminders)
        .where(
            reminders.c.id.in_(ids),
            (literal_column("+reminders.status") if dialect == "sqlite" else reminders.c.status)
            == SENDING,
            reminders.c.lease_owner == _OWNER,
        )
        .values(
            lease_owner=None,
            lease_until=None,
            status=SENT,
            sent_at=_NOW,
            message_id=message_ids,
            updated_at=_NOW,
            last_error=None,
        )
        .returning(reminders.c.id)
    )


#: `mark_sent_many` for PostgreSQL as one fixed text for any number of rows (the pairs as two
#: arrays), prepared on the server once per pass and run on the event loop without a driver
#: round of its own (scheduler/ledger/postgres_marks.py). Same rows, same values, same test.
POSTGRES_MARK_SENT = (
    "UPDATE reminders SET lease_owner = NULL, lease_until = NULL, status = $5,"
    " sent_at = $3, message_id = marked.message_id, updated_at = $3, last_error = NULL"
    " FROM unnest($1::integer[], $2::varchar[]) AS marked(id, message_id)"
    " WHERE reminders.id = marked.id AND reminders.status = $6 AND reminders.lease_owner = $4"
    " RETURNING reminders.id"
)


def postgres_mark_sent_params(
    sent: Sequence[tuple[int, str]], owner: str, now: datetime
) -> list[bytes | None]:
    """The parameters of POSTGRES_MARK_SENT, in PostgreSQL's text format."""
    ids = ",".join(str(int(row_id)) for row_id, _ in sent)
    message_ids = ",".join(_array_element(message_id) for _, message_id in sent)
    return [
        f"{{{ids}}}".encode(),
        f"{{{message_ids}}}".encode(),
        now.astimezone(UTC).isoformat().encode(),
        owner.encode(),
        SENT.value.encode(),
        SENDING.value.encode(),
    ]


def _array_element(text: str) -> str:
    """`text` as an element of an array literal: quoted, with backslash and quote escaped."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def warn_unheld(sent: Sequence[tuple[int, str]], held: set[int]) -> None:
    """Log each sent row a mark left alone: its lease had passed to another sender."""
    for row_id, _ in sent:
        if row_id not in held:
            log.warning("reminder %s was sent but its lease had passed to another sender", row_id)


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
    due = claimable(now)
    moot = or_(*(condition for condition, _ in _moot(now)))
    send = conn.execute(select(reminders.c.id).where(due, ~moot).order_by(reminders.c.id))
    expire = conn.execute(select(reminders.c.id).where(due, moot).order_by(reminders.c.id))
    return list(send.scalars()), list(expire.scalars())


__all__: Sequence[str] = [
    "claim",
    "counts",
    "expire_moot",
    "mark_final",
    "mark_retry",
    "mark_sent",
    "mark_sent_many",
    "next_due",
    "preview",
    "release",
]
