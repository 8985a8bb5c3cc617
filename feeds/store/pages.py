"""Followed item pages: one row per (source, page URL), and the items with an open deadline."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, and_, delete, select, tuple_

from feeds.follow.record import (
    PageRecord,
    PageState,
    entry_from_json,
    entry_to_json,
    published_from_json,
)
from feeds.sources.base import FetchState
from feeds.store.bulk import insert_rows
from feeds.store.tables import deadlines, item_pages

CHUNK = 400  # (source, url) pairs per statement: well under the databases' parameter limits

_COLUMNS = (
    "source_id", "url", "item_id", "listing", "first_seen", "etag", "last_modified",
    "content_hash", "extract_key", "content", "published", "updated", "fetched_at", "error",
    "error_at", "failures",
)  # fmt: skip


def load_pages(conn: Connection, source_id: str) -> dict[str, PageRecord]:
    """Every page record of a source, by URL."""
    rows = conn.execute(select(item_pages).where(item_pages.c.source_id == source_id))
    return {
        row.url: PageRecord(
            source_id=row.source_id,
            url=row.url,
            item_id=row.item_id,
            listing=entry_from_json(row.listing),
            first_seen=row.first_seen,
            fetch=FetchState(row.etag, row.last_modified, row.content_hash),
            extract_key=row.extract_key,
            content=row.content,
            published=row.published,
            updated=row.updated,
            fetched_at=row.fetched_at,
            error=row.error,
            error_at=row.error_at,
            failures=row.failures,
        )
        for row in rows
    }


def load_page_states(
    conn: Connection, source_ids: Sequence[str]
) -> dict[str, dict[str, PageState]]:
    """The page states of these sources (by source, then URL): their records without the
    stored text or the listing's entry, one query for every CHUNK sources."""
    found: dict[str, dict[str, PageState]] = {}
    columns = (
        item_pages.c.source_id, item_pages.c.url, item_pages.c.item_id, item_pages.c.listing,
        item_pages.c.first_seen, item_pages.c.etag, item_pages.c.last_modified,
        item_pages.c.content_hash, item_pages.c.extract_key,
        item_pages.c.content.is_not(None).label("has_page"), item_pages.c.published,
        item_pages.c.failures, item_pages.c.error,
    )  # fmt: skip
    ids = list(source_ids)
    for start in range(0, len(ids), CHUNK):
        query = select(*columns).where(item_pages.c.source_id.in_(ids[start : start + CHUNK]))
        for row in conn.execute(query):
            listed = published_from_json(row.listing)
            found.setdefault(row.source_id, {})[row.url] = PageState(
                url=row.url,
                item_id=row.item_id,
                dated=listed or row.published or row.first_seen,
                fetch=FetchState(row.etag, row.last_modified, row.content_hash),
                extract_key=row.extract_key,
                has_page=bool(row.has_page),
                failures=row.failures,
                error=row.error,
            )
    return found


def save_pages(conn: Connection, records: Sequence[PageRecord]) -> None:
    """Insert or replace these records."""
    if not records:
        return
    keys = [(r.source_id, r.url) for r in records]
    key = tuple_(item_pages.c.source_id, item_pages.c.url)
    for start in range(0, len(keys), CHUNK):
        conn.execute(delete(item_pages).where(key.in_(keys[start : start + CHUNK])))
    rows = [
        (
            r.source_id, r.url, r.item_id, entry_to_json(r.listing), r.first_seen, r.fetch.etag,
            r.fetch.last_modified, r.fetch.content_hash, r.extract_key, r.content, r.published,
            r.updated, r.fetched_at, r.error, r.error_at, r.failures,
        )
        for r in records
    ]  # fmt: skip
    insert_rows(conn, item_pages, _COLUMNS, rows, ignore_duplicates=True)


def open_deadline_items(conn: Connection, source_id: str, now: datetime) -> set[str]:
    """Ids of this source's items with an active deadline that has not closed yet."""
    return open_deadline_items_of(conn, [source_id], now).get(source_id, set())


def open_deadline_items_of(
    conn: Connection, source_ids: Sequence[str], now: datetime
) -> dict[str, set[str]]:
    """`open_deadline_items` of these sources, by source (one query for every CHUNK)."""
    found: dict[str, set[str]] = {}
    ids = list(source_ids)
    for start in range(0, len(ids), CHUNK):
        query = select(deadlines.c.source_id, deadlines.c.item_id).where(
            and_(
                deadlines.c.source_id.in_(ids[start : start + CHUNK]),
                deadlines.c.active.is_(True),
                deadlines.c.closes_at > now,
            )
        )
        for source_id, item_id in conn.execute(query):
            found.setdefault(source_id, set()).add(item_id)
    return found


@dataclass(frozen=True, slots=True)
class FailingPage:
    source_id: str
    url: str
    error: str
    since: datetime | None
    failures: int


def failing_pages(conn: Connection) -> list[FailingPage]:
    """Item pages whose last read failed, by source and URL."""
    query = (
        select(
            item_pages.c.source_id,
            item_pages.c.url,
            item_pages.c.error,
            item_pages.c.error_at,
            item_pages.c.failures,
        )
        .where(item_pages.c.failures > 0)
        .order_by(item_pages.c.source_id, item_pages.c.url)
    )
    return [
        FailingPage(row.source_id, row.url, row.error or "", row.error_at, row.failures)
        for row in conn.execute(query)
    ]
