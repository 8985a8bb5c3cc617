"""Deadlines of items: reconcile what extraction found with what is stored.

A deadline keeps its row (and calendar UID) while it is the same consultation: matched by its
label, else by position when the item still has as many deadlines. A changed closing time is a
move: SEQUENCE goes up and the old time is kept. A deadline the item no longer states is
withdrawn (inactive), not deleted, so the ledger can cancel what it planned.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any

from sqlalchemy import Connection, insert, select, update

from feeds.model import Deadline
from feeds.store.tables import deadlines, items
from feeds.text import normalise_title


@dataclass(frozen=True, slots=True)
class StoredDeadline:
    id: int
    uid: str
    source_id: str
    sequence: int
    active: bool
    origin: str
    deadline: Deadline
    previous_closes_at: datetime | None
    moved_at: datetime | None
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class DeadlineChange:
    """What happened to one deadline in this refresh: added, moved or withdrawn."""

    kind: str
    deadline_id: int
    closes_at: datetime
    previous_closes_at: datetime | None = None


def deadline_uid(item_id: str, label: str, domain: str) -> str:
    return _uid(item_id, normalise_title(label), domain)


def _uid(item_id: str, label_key: str, domain: str) -> str:
    digest = hashlib.sha256(f"{item_id}\x00{label_key}".encode()).hexdigest()
    return f"{digest[:24]}@{domain}"


def _free_uid(item_id: str, label_key: str, domain: str, taken: set[str]) -> str:
    """The deadline's UID; an item's second deadline of the same label gets its own.

    The first keeps the plain UID (so UIDs already published stay); the n-th adds its
    ordinal to what is hashed.
    """
    uid = _uid(item_id, label_key, domain)
    ordinal = 2
    while uid in taken:
        uid = _uid(item_id, f"{label_key}\x00{ordinal}", domain)
        ordinal += 1
    taken.add(uid)
    return uid


def stored_from_row(
    row: Any,
    *,
    id: int | None = None,
    updated_at: datetime | None = None,
    active: bool | None = None,
) -> StoredDeadline:
    """A `StoredDeadline` from a row with the deadlines columns; a query that joins other
    tables (and so has another `id` or `updated_at`) passes those three explicitly."""
    # Lookups in the row's mapping run in C; a Row's attribute access goes through Python.
    column = row._mapping
    local_time = column["local_time"]
    deadline = Deadline(
        closes_at=column["closes_at"],
        local_date=column["local_date"],
        local_time=time.fromisoformat(local_time) if local_time else None,
        timezone=column["timezone"],
        label=column["label"],
        evidence=column["evidence"],
        certain=column["certain"],
        all_day=column["all_day"],
        item_id=column["item_id"],
    )
    return StoredDeadline(
        id=column["id"] if id is None else id,
        uid=column["uid"],
        source_id=column["source_id"],
        sequence=column["sequence"],
        active=column["active"] if active is None else active,
        origin=column["origin"],
        deadline=deadline,
        previous_closes_at=column["previous_closes_at"],
        moved_at=column["moved_at"],
        updated_at=column["updated_at"] if updated_at is None else updated_at,
    )


def _values(found: Deadline) -> dict[str, Any]:
    return {
        "label": found.label,
        "label_key": normalise_title(found.label),
        "closes_at": found.closes_at,
        "local_date": found.local_date,
        "local_time": found.local_time.isoformat(timespec="minutes") if found.local_time else None,
        "timezone": found.timezone,
        "all_day": found.all_day,
        "evidence": found.evidence,
        "certain": found.certain,
    }


class NewItemDeadlines:
    """The deadlines of items inserted in this transaction, written by one executemany.

    Such an item has nothing stored to compare with, so each deadline found is an "added"
    row, exactly as `save_deadlines(..., new_item=True)` writes it. `flush` inserts what was
    added since the last flush, in that order; call it before anything else writes deadlines
    so the ids (and the changes) keep the order the items came in.
    """

    def __init__(self, source_id: str, now: datetime, uid_domain: str) -> None:
        self.source_id = source_id
        self.now = now
        self.uid_domain = uid_domain
        self._rows: list[dict[str, Any]] = []

    def add(self, item_id: str, found: Sequence[tuple[Deadline, str]]) -> None:
        taken: set[str] = set()
        for deadline, origin in found:
            values = _values(deadline)
            self._rows.append(
                {
                    **values,
                    "origin": origin,
                    "active": True,
                    "updated_at": self.now,
                    "uid": _free_uid(item_id, values["label_key"], self.uid_domain, taken),
                    "item_id": item_id,
                    "source_id": self.source_id,
                    "sequence": 0,
                    "created_at": self.now,
                }
            )

    def flush(self, conn: Connection) -> list[DeadlineChange]:
        rows, self._rows = self._rows, []
        if not rows:
            return []
        # One multi-row INSERT ... RETURNING; its rows may come back in any order, so each
        # new id is paired with its row by the (unique) uid.
        returned = conn.execute(insert(deadlines).returning(deadlines.c.uid, deadlines.c.id), rows)
        ids: dict[str, int] = dict(returned.all())
        return [DeadlineChange("added", ids[row["uid"]], row["closes_at"]) for row in rows]


def save_deadlines(
    conn: Connection,
    item_id: str,
    source_id: str,
    found: Sequence[tuple[Deadline, str]],
    now: datetime,
    uid_domain: str,
    *,
    new_item: bool = False,
) -> list[DeadlineChange]:
    """Store the item's deadlines (each with its origin: "extracted" or "override").

    `new_item=True` says the item was just inserted, so it has no stored deadlines to look up
    (`NewItemDeadlines` writes those of many such items at once).
    """
    if new_item:
        batch = NewItemDeadlines(source_id, now, uid_domain)
        batch.add(item_id, found)
        return batch.flush(conn)
    stored = [
        stored_from_row(row)
        for row in conn.execute(
            select(deadlines).where(deadlines.c.item_id == item_id).order_by(deadlines.c.id)
        )
    ]
    active = [s for s in stored if s.active]
    by_label: dict[str, list[StoredDeadline]] = {}  # in stored order: an item may state two
    for known in stored:  # deadlines of the same label, matched first to first
        by_label.setdefault(normalise_title(known.deadline.label), []).append(known)
    pairs: list[tuple[Deadline, str, StoredDeadline | None]] = []
    unmatched_new: list[tuple[Deadline, str]] = []
    used: set[int] = set()
    for deadline, origin in found:
        same_label = by_label.get(normalise_title(deadline.label), [])
        match = next((known for known in same_label if known.id not in used), None)
        if match is not None:
            used.add(match.id)
            pairs.append((deadline, origin, match))
        else:
            unmatched_new.append((deadline, origin))
    leftover = [s for s in active if s.id not in used]
    if len(leftover) == len(unmatched_new):
        for (deadline, origin), stale in zip(unmatched_new, leftover, strict=True):
            used.add(stale.id)
            pairs.append((deadline, origin, stale))
    else:
        pairs.extend((deadline, origin, None) for deadline, origin in unmatched_new)

    changes: list[DeadlineChange] = []
    taken_uids = {known.uid for known in stored}
    for deadline, origin, old in pairs:
        values = {**_values(deadline), "origin": origin, "active": True, "updated_at": now}
        if old is None:
            new_id = conn.execute(
                insert(deadlines)
                .values(
                    **values,
                    uid=_free_uid(item_id, values["label_key"], uid_domain, taken_uids),
                    item_id=item_id,
                    source_id=source_id,
                    sequence=0,
                    created_at=now,
                )
                .returning(deadlines.c.id)
            ).scalar_one()
            changes.append(DeadlineChange("added", new_id, deadline.closes_at))
            continue
        moved = old.deadline.closes_at != deadline.closes_at
        same = (
            not moved
            and old.active
            and old.origin == origin
            and _values(old.deadline) == _values(deadline)
        )
        if same:
            continue
        if moved:
            values.update(
                sequence=old.sequence + 1, previous_closes_at=old.deadline.closes_at, moved_at=now
            )
        elif old.active:
            values["sequence"] = old.sequence + 1  # the event text changed: calendars update
        conn.execute(update(deadlines).where(deadlines.c.id == old.id).values(**values))
        kind = "moved" if moved and old.active else "added" if not old.active else "edited"
        changes.append(
            DeadlineChange(
                kind, old.id, deadline.closes_at, old.deadline.closes_at if moved else None
            )
        )
    for old in active:
        if old.id not in used:
            conn.execute(
                update(deadlines)
                .where(deadlines.c.id == old.id)
                .values(active=False, updated_at=now, sequence=old.sequence + 1)
            )
            changes.append(DeadlineChange("withdrawn", old.id, old.deadline.closes_at))
    return changes


def active_deadlines(
    conn: Connection, *, item_ids: Sequence[str] | None = None, since: datetime | None = None
) -> list[StoredDeadline]:
    """Active deadlines, soonest first; of some items, and/or closing at or after `since`."""
    query = select(deadlines).where(deadlines.c.active.is_(True))
    if item_ids is not None:
        query = query.where(deadlines.c.item_id.in_(list(item_ids)))
    if since is not None:
        query = query.where(deadlines.c.closes_at >= since)
    query = query.order_by(deadlines.c.closes_at, deadlines.c.id)
    return [stored_from_row(row) for row in conn.execute(query)]


def deadline_rows_with_items(
    conn: Connection, *, since: datetime | None = None
) -> list[tuple[StoredDeadline, str, str]]:
    """Active deadlines with their item's title and link, soonest first."""
    query = (
        select(deadlines, items.c.title.label("item_title"), items.c.link.label("item_link"))
        .join(items, items.c.id == deadlines.c.item_id)
        .where(deadlines.c.active.is_(True))
        .order_by(deadlines.c.closes_at, deadlines.c.id)
    )
    if since is not None:
        query = query.where(deadlines.c.closes_at >= since)
    return [(stored_from_row(row), row.item_title, row.item_link) for row in conn.execute(query)]
