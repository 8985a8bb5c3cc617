"""Items: upsert what a source read, keep history, and read the newest for rendering."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, bindparam, select, update

from config.schema import SourceSettings
from feeds.errors import ItemError
from feeds.identity import natural_id, normalise_url, tag_day, tag_uri_prefix
from feeds.model import Deadline, Entry, Item
from feeds.store.bulk import insert_rows
from feeds.store.tables import items
from feeds.text import normalise_title


@dataclass(frozen=True, slots=True)
class StoredEntry:
    """An entry as stored: its id and whether it was new or changed in this read."""

    item_id: str
    entry: Entry
    published: datetime
    first_seen: datetime
    status: str  # "new", "updated" or "same"


@dataclass(slots=True)
class UpsertResult:
    stored: list[StoredEntry] = field(default_factory=list)
    problems: list[ItemError] = field(default_factory=list)

    @property
    def new(self) -> int:
        return sum(1 for s in self.stored if s.status == "new")

    @property
    def updated(self) -> int:
        return sum(1 for s in self.stored if s.status == "updated")

    @property
    def changed(self) -> list[StoredEntry]:
        return [s for s in self.stored if s.status != "same"]


def fingerprint(entry: Entry, link: str, summary: str | None = None) -> str:
    """A digest of what a reader sees: each part NUL-terminated, hashed in one call."""
    # The empty last part gives the last NUL; stored fingerprints depend on this exact layout
    # (a stored summary is one more part, so items without one keep their fingerprints).
    parts: tuple[str, ...] = (
        entry.title, entry.content, link, str(entry.published), str(entry.updated), ""
    )  # fmt: skip
    if summary is not None:
        parts += (summary, "")
    data = "\x00".join(parts).encode("utf-8", "surrogatepass")
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def upsert_entries(
    conn: Connection, source: SourceSettings, entries: Sequence[Entry], now: datetime
) -> UpsertResult:
    """Insert new entries, update changed ones (`updated` moves, the id never does).

    The summary is stored for a source with `follow = true` only: there the content is the
    item page's main text and the summary the listing's teaser; elsewhere the summary only
    repeats the content, and the feeds show the content's first paragraph instead.
    """
    keep_summary = source.follow
    existing = conn.execute(
        select(
            items.c.id,
            items.c.title_key,
            items.c.fingerprint,
            items.c.published,
            items.c.first_seen,
            items.c.dated,
        ).where(items.c.source_id == source.id)
    ).all()
    by_id = {row.id: row for row in existing}
    by_title = {row.title_key: row for row in existing if row.id.startswith("tag:")}
    result = UpsertResult()
    inserts: list[tuple[Any, ...]] = []  # values in _INSERT_COLUMNS order
    updates: list[dict[str, Any]] = []
    seen_ids: set[str] = set()
    page_link = source.page_link  # a property that formats the URL: read it once
    zone = ZoneInfo(source.timezone)
    prefixes: dict[date, str] = {}  # tag: URI prefix by day (feeds.identity.tag_day)
    # The day of each instant met (undated items all share `now`): converting to the source's
    # zone took a third of this loop's time when done for every item.
    days: dict[datetime, date] = {}
    minted: set[str] = set()  # tag: ids made here: no other source can hold them
    for position, entry in enumerate(entries):
        key = normalise_title(entry.title)
        # Without its own URL an item links to its page, with a fragment so links stay unique.
        link = normalise_url(entry.link) if entry.link else f"{page_link}#{key}"
        row = None
        item_id = natural_id(entry)
        if item_id is not None:
            row = by_id.get(item_id)
        else:
            row = by_title.get(key)
            if row is not None:
                item_id = row.id
            else:
                moment = entry.published or now
                day = days.get(moment)
                if day is None:
                    day = days[moment] = tag_day(entry, now, zone)
                prefix = prefixes.get(day)
                if prefix is None:
                    prefix = prefixes[day] = tag_uri_prefix(page_link, day, source.id)
                item_id = prefix + key
                minted.add(item_id)
        if item_id in seen_ids:
            continue  # the page lists the same item twice: the first (newest) wins
        seen_ids.add(item_id)
        summary = entry.summary if keep_summary else None
        item_print = fingerprint(entry, link, summary)
        if row is None:
            # Undated items keep the page order: each is a second older than the one above it.
            published = entry.published or now - timedelta(seconds=position)
            inserts.append(
                (
                    item_id, source.id, entry.title, key, link, entry.content,
                    entry.content_is_html, item_print, published, entry.updated or published,
                    now, now, entry.published is not None, summary,
                )
            )  # fmt: skip
            result.stored.append(StoredEntry(item_id, entry, published, now, "new"))
        elif row.fingerprint != item_print:
            published = entry.published or row.published
            updates.append(
                {
                    "title": entry.title,
                    "title_key": key,
                    "link": link,
                    "content": entry.content,
                    "content_is_html": entry.content_is_html,
                    "fingerprint": item_print,
                    "last_seen": now,
                    "b_id": item_id,
                    "published": published,
                    "updated": entry.updated or now,
                    "dated": entry.published is not None or row.dated,
                    "summary": summary,
                }
            )
            result.stored.append(StoredEntry(item_id, entry, published, row.first_seen, "updated"))
        else:
            result.stored.append(StoredEntry(item_id, entry, row.published, row.first_seen, "same"))
    taken = _ids_of_other_sources(
        conn, source.id, [row[0] for row in inserts if row[0] not in minted]
    )
    if taken:  # an item id is global: the source that stored it first keeps it
        inserts = [row for row in inserts if row[0] not in taken]
        skipped = [s for s in result.stored if s.status == "new" and s.item_id in taken]
        result.stored = [s for s in result.stored if s.status != "new" or s.item_id not in taken]
        result.problems += [
            ItemError(
                source.id,
                s.entry.title,
                f"skipped: source {taken[s.item_id]!r} already has this item ({s.item_id})",
            )
            for s in skipped
        ]
    if insert_rows(conn, items, _INSERT_COLUMNS, inserts, ignore_duplicates=True) < len(inserts):
        _stored_by_others(conn, source.id, now, inserts, result)
    if updates:
        conn.execute(
            update(items).where(items.c.id == bindparam("b_id")),
            updates,
        )
    return result


def _stored_by_others(
    conn: Connection,
    source_id: str,
    now: datetime,
    inserts: Sequence[tuple[Any, ...]],
    result: UpsertResult,
) -> None:
    """Some new items were stored by another transaction at the same instant (another daemon
    read the page too): theirs stays; here those items are no longer new."""
    ids = [row[0] for row in inserts]
    owners: dict[str, tuple[str, datetime]] = {}
    for start in range(0, len(ids), ID_CHUNK):
        query = select(items.c.id, items.c.source_id, items.c.first_seen).where(
            items.c.id.in_(ids[start : start + ID_CHUNK])
        )
        owners.update((row.id, (row.source_id, row.first_seen)) for row in conn.execute(query))
    kept: list[StoredEntry] = []
    for stored in result.stored:
        owner = owners.get(stored.item_id)
        if stored.status != "new" or owner is None or owner == (source_id, now):
            kept.append(stored)  # not new, or inserted here
        elif owner[0] == source_id:
            kept.append(
                StoredEntry(stored.item_id, stored.entry, stored.published, owner[1], "same")
            )
        else:
            result.problems.append(
                ItemError(
                    source_id,
                    stored.entry.title,
                    f"skipped: source {owner[0]!r} already has this item ({stored.item_id})",
                )
            )
    result.stored = kept


_INSERT_COLUMNS = (
    "id", "source_id", "title", "title_key", "link", "content", "content_is_html",
    "fingerprint", "published", "updated", "first_seen", "last_seen", "dated", "summary",
)  # fmt: skip


ID_CHUNK = 500  # ids per IN (...) query: well under SQLite's and PostgreSQL's parameter limits


def _ids_of_other_sources(conn: Connection, source_id: str, ids: Sequence[str]) -> dict[str, str]:
    """Which of these new ids another source already stored (id -> that source)."""
    owners: dict[str, str] = {}
    for start in range(0, len(ids), ID_CHUNK):
        chunk = list(ids[start : start + ID_CHUNK])
        query = select(items.c.id, items.c.source_id).where(
            items.c.id.in_(chunk), items.c.source_id != source_id
        )
        for item_id, owner in conn.execute(query):
            owners[item_id] = owner
    return owners


# What rendering needs; the bookkeeping columns (title_key, fingerprint, last_seen) stay behind.
_ITEM_COLUMNS = (
    items.c.id,
    items.c.source_id,
    items.c.title,
    items.c.link,
    items.c.content,
    items.c.content_is_html,
    items.c.published,
    items.c.updated,
    items.c.first_seen,
    items.c.dated,
    items.c.summary,
)

DeadlinesOf = Callable[[Sequence[str]], Mapping[str, Sequence[Deadline]]]


def newest_items(
    conn: Connection,
    source_ids: Sequence[str] | None,
    limit: int,
    *,
    deadlines_of: DeadlinesOf | None = None,
) -> list[Item]:
    """The newest items (of some sources, or all), newest first, stable for equal dates.

    `deadlines_of(item_ids)` gives each item its deadlines as it is built (no second copy).
    """
    query = select(*_ITEM_COLUMNS).order_by(items.c.published.desc(), items.c.id).limit(limit)
    if source_ids is not None:
        query = query.where(items.c.source_id.in_(list(source_ids)))
    rows = conn.execute(query).all()
    found = deadlines_of([row.id for row in rows]) if deadlines_of and rows else {}
    return [
        Item(
            id=item_id,
            source_id=source_id,
            title=title,
            link=link,
            content=content,
            content_is_html=content_is_html,
            published=published,
            updated=updated,
            first_seen=first_seen,
            dated=dated,
            deadlines=tuple(found.get(item_id, ())),
            summary=summary,
        )
        for (item_id, source_id, title, link, content, content_is_html, published, updated,
             first_seen, dated, summary) in rows
    ]  # fmt: skip
