"""Planning: one reminder row per (deadline, subscriber, offset, planned closing time).

`due_at = closes_at - offset`, computed in UTC (wall-clock arithmetic in a local zone is off by
an hour across DST). Rows are inserted with ON CONFLICT DO NOTHING, so planning is idempotent
and safe for several daemons. When a deadline moves, pending rows for the old time are
superseded and a subscriber already reminded of the old time gets one "changed" notice.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, select, update

from feeds.store import bulk
from feeds.store.deadlines import DeadlineChange
from feeds.store.tables import deadlines, reminders
from scheduler.ledger.claims import ReminderStatus
from scheduler.ledger.subscribers import Subscriber, active_subscriber_chunks

REMINDER = "reminder"
INSERT_CHUNK = 1000
#: Subscribers planned together (with their existing rows): the bound on planning's memory.
PEOPLE_CHUNK = 500
CHANGED = "changed"


def insert_ignoring_duplicates(conn: Connection, rows: Sequence[dict[str, Any]]) -> int:
    """Insert the rows that are not there yet; return how many were inserted.

    Counted from RETURNING (SQLAlchemy sends the rows as multi-row INSERTs): an executemany's
    rowcount is -1 on PostgreSQL, and a skipped duplicate is not a row created.
    """
    if not rows:
        return 0
    statement = bulk.insert_ignoring_duplicates(conn, reminders).returning(reminders.c.id)
    return len(conn.execute(statement, list(rows)).all())


def _row(
    deadline_id: int,
    subscriber_id: int,
    offset: timedelta,
    kind: str,
    closes_at: datetime,
    due_at: datetime,
    now: datetime,
    status: str = "pending",
) -> dict[str, Any]:
    return {
        "deadline_id": deadline_id,
        "subscriber_id": subscriber_id,
        "offset_seconds": int(offset.total_seconds()),
        "kind": kind,
        "planned_closes_at": closes_at,
        "due_at": due_at,
        "status": status,
        "attempts": 0,
        "next_attempt_at": due_at,
        "updated_at": now,
        "last_error": "covered by the deadline-changed notice" if status == "expired" else None,
    }


def plan(
    conn: Connection,
    now: datetime,
    default_offsets: Sequence[timedelta],
    *,
    deadline_ids: Iterable[int] | None = None,
    subscriber_ids: Iterable[int] | None = None,
) -> int:
    """Make sure every open deadline has its rows for every matching subscriber.

    Returns the number of rows created. Subscribers are read `PEOPLE_CHUNK` at a time, each
    chunk with its existing rows: memory stays flat however large the ledger (reading every
    existing row at once cost 0.6 KB per reminder on each pass).
    """
    query = select(deadlines.c.id, deadlines.c.source_id, deadlines.c.closes_at).where(
        deadlines.c.active.is_(True), deadlines.c.closes_at > now
    )
    if deadline_ids is not None:
        query = query.where(deadlines.c.id.in_(list(deadline_ids)))
    open_deadlines = conn.execute(query).all()
    if not open_deadlines:
        return 0
    _supersede_moved(conn, now, open_deadlines)
    created = 0
    for people in active_subscriber_chunks(conn, PEOPLE_CHUNK, subscriber_ids):
        created += _plan_chunk(conn, now, default_offsets, open_deadlines, people)
    return created


def _plan_chunk(
    conn: Connection,
    now: datetime,
    default_offsets: Sequence[timedelta],
    open_deadlines: Sequence[Any],
    people: Sequence[Subscriber],
) -> int:
    existing = conn.execute(
        select(
            reminders.c.deadline_id,
            reminders.c.subscriber_id,
            reminders.c.offset_seconds,
            reminders.c.kind,
            reminders.c.planned_closes_at,
            reminders.c.status,
        ).where(
            reminders.c.deadline_id.in_([d.id for d in open_deadlines]),
            reminders.c.subscriber_id.in_([p.id for p in people]),
        )
    ).all()
    keys = {
        (r.deadline_id, r.subscriber_id, r.offset_seconds, r.kind, r.planned_closes_at)
        for r in existing
    }
    reminded_before: dict[tuple[int, int], set[datetime]] = {}
    for r in existing:
        if r.kind == REMINDER and r.status == "sent":
            reminded_before.setdefault((r.deadline_id, r.subscriber_id), set()).add(
                r.planned_closes_at
            )
    created = 0
    rows: list[dict[str, Any]] = []
    for deadline in open_deadlines:
        for person in people:
            if not person.follows(deadline.source_id):
                continue
            rows += _rows_for(deadline, person, default_offsets, now, keys, reminded_before)
            if len(rows) >= INSERT_CHUNK:
                created += insert_ignoring_duplicates(conn, rows)
                rows = []
    return created + insert_ignoring_duplicates(conn, rows)


def _rows_for(
    deadline: Any,
    person: Subscriber,
    default_offsets: Sequence[timedelta],
    now: datetime,
    keys: set[tuple[Any, ...]],
    reminded_before: dict[tuple[int, int], set[datetime]],
) -> list[dict[str, Any]]:
    closes_at = deadline.closes_at
    rows = []
    old_times = reminded_before.get((deadline.id, person.id), set()) - {closes_at}
    notice_due = bool(old_times) and (deadline.id, person.id, 0, CHANGED, closes_at) not in keys
    if notice_due:
        rows.append(_row(deadline.id, person.id, timedelta(0), CHANGED, closes_at, now, now))
    for offset in person.offsets_or(default_offsets):
        key = (deadline.id, person.id, int(offset.total_seconds()), REMINDER, closes_at)
        if key in keys:
            continue
        due_at = closes_at - offset
        # Told of the move just now: offsets already past for the new time are not sent too.
        status = "expired" if notice_due and due_at <= now else "pending"
        rows.append(_row(deadline.id, person.id, offset, REMINDER, closes_at, due_at, now, status))
    return rows


def _supersede_moved(conn: Connection, now: datetime, open_deadlines: Sequence[Any]) -> None:
    for deadline in open_deadlines:
        conn.execute(
            update(reminders)
            .where(
                reminders.c.deadline_id == deadline.id,
                reminders.c.status == "pending",
                reminders.c.planned_closes_at != deadline.closes_at,
            )
            .values(
                status=ReminderStatus.SUPERSEDED,
                updated_at=now,
                last_error="the deadline moved; re-planned for the new time",
            )
        )


def cancel_withdrawn(conn: Connection, deadline_ids: Sequence[int], now: datetime) -> None:
    if not deadline_ids:
        return
    conn.execute(
        update(reminders)
        .where(
            and_(reminders.c.deadline_id.in_(list(deadline_ids)), reminders.c.status == "pending")
        )
        .values(
            status=ReminderStatus.CANCELLED,
            updated_at=now,
            last_error="the deadline was withdrawn",
        )
    )


def on_deadline_changes(
    conn: Connection,
    changes: Sequence[DeadlineChange],
    now: datetime,
    default_offsets: Sequence[timedelta],
) -> None:
    """The refresh pipeline's hook: plan in the same transaction that stored the deadlines."""
    withdrawn = [c.deadline_id for c in changes if c.kind == "withdrawn"]
    cancel_withdrawn(conn, withdrawn, now)
    live = [c.deadline_id for c in changes if c.kind != "withdrawn"]
    if live:
        current = conn.execute(
            select(deadlines.c.id, deadlines.c.closes_at).where(deadlines.c.id.in_(live))
        ).all()
        _supersede_moved(conn, now, current)  # also when the new time has already passed
        plan(conn, now, default_offsets, deadline_ids=live)
