"""Per-source state: HTTP validators, content hash, health, render key, lease."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, bindparam, select, update

from feeds.sources.base import FetchState
from feeds.store.bulk import insert_ignoring_duplicates
from feeds.store.tables import sources


@dataclass(frozen=True, slots=True)
class SourceHealth:
    source_id: str
    last_attempt: datetime | None
    last_success: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    consecutive_failures: int
    alert_open: bool


def ensure_row(conn: Connection, source_id: str) -> None:
    """The source's row exists (made here, or by another transaction at the same moment)."""
    conn.execute(
        insert_ignoring_duplicates(conn, sources).values(
            id=source_id, consecutive_failures=0, alert_open=False
        )
    )


@dataclass(frozen=True, slots=True)
class StoredState:
    """What the last successful read left: HTTP validators and hash, and the render key."""

    fetch: FetchState
    render_key: str | None


def stored_states(conn: Connection, source_ids: Sequence[str]) -> dict[str, StoredState]:
    """The stored state of these sources (one query); a source never read has no entry."""
    rows = conn.execute(
        select(
            sources.c.id,
            sources.c.etag,
            sources.c.last_modified,
            sources.c.content_hash,
            sources.c.render_key,
        ).where(sources.c.id.in_(list(source_ids)))
    )
    return {
        row.id: StoredState(
            FetchState(
                etag=row.etag, last_modified=row.last_modified, content_hash=row.content_hash
            ),
            row.render_key,
        )
        for row in rows
    }


def record_success(
    conn: Connection, source_id: str, state: FetchState, now: datetime, render: str | None
) -> None:
    record_successes(conn, [(source_id, state, render)], now)


def record_successes(
    conn: Connection, reads: Sequence[tuple[str, FetchState, str | None]], now: datetime
) -> None:
    """`record_success` for many sources (id, state, render key): three statements at most,
    so a refresh where nothing changed costs little however many sources there are."""
    if not reads:
        return
    ids = [source_id for source_id, _, _ in reads]
    known = set(conn.execute(select(sources.c.id).where(sources.c.id.in_(ids))).scalars())
    missing = [source_id for source_id in dict.fromkeys(ids) if source_id not in known]
    if missing:
        conn.execute(
            insert_ignoring_duplicates(conn, sources),
            [{"id": sid, "consecutive_failures": 0, "alert_open": False} for sid in missing],
        )
    conn.execute(
        update(sources).where(sources.c.id == bindparam("b_id")),
        [
            {
                "b_id": source_id,
                "etag": state.etag,
                "last_modified": state.last_modified,
                "content_hash": state.content_hash,
                "render_key": render,
                "last_attempt": now,
                "last_success": now,
                "consecutive_failures": 0,
            }
            for source_id, state, render in reads
        ],
    )


def record_failure(conn: Connection, source_id: str, error: str, now: datetime) -> int:
    """Store the failure; return the number of consecutive failures."""
    ensure_row(conn, source_id)
    conn.execute(
        update(sources)
        .where(sources.c.id == source_id)
        .values(
            last_attempt=now,
            last_error=error,
            last_error_at=now,
            consecutive_failures=sources.c.consecutive_failures + 1,
        )
    )
    return int(
        conn.execute(
            select(sources.c.consecutive_failures).where(sources.c.id == source_id)
        ).scalar_one()
    )


def forget_render_keys(conn: Connection, source_ids: Sequence[str]) -> None:
    """The next refresh of these sources reads and publishes in full (their feeds could not
    be written: the stored state must not say they are up to date)."""
    if source_ids:
        conn.execute(
            update(sources).where(sources.c.id.in_(list(source_ids))).values(render_key=None)
        )


def set_alert_open(conn: Connection, source_id: str, is_open: bool) -> None:
    conn.execute(update(sources).where(sources.c.id == source_id).values(alert_open=is_open))


def health(conn: Connection) -> list[SourceHealth]:
    rows = conn.execute(select(sources).order_by(sources.c.id)).all()
    return [
        SourceHealth(
            r.id,
            r.last_attempt,
            r.last_success,
            r.last_error,
            r.last_error_at,
            r.consecutive_failures,
            r.alert_open,
        )
        for r in rows
    ]
