"""Two transactions storing the same new items at once (two daemons reading one page): the
second neither fails nor counts them as new, on real PostgreSQL; and ON CONFLICT on both."""

from __future__ import annotations

import queue
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Column, Engine, MetaData, String, Table, func, select, text

from config.schema import SourceSettings
from feeds.model import Entry
from feeds.store.bulk import insert_rows
from feeds.store.items import UpsertResult, upsert_entries
from feeds.store.tables import items

NOW = datetime(2024, 3, 5, 10, 0, tzinfo=UTC)
ENTRIES = [
    Entry(f"Item {n}", f"Body {n}.", link=f"https://river.example.org/news/{n}") for n in range(5)
]


def source(source_id: str) -> SourceSettings:
    return SourceSettings.model_validate(
        {
            "id": source_id,
            "kind": "text",
            "path": "p.txt",
            "title": "River",
            "link": "https://river.example.org/news",
        }
    )


def wait_for_a_lock_wait(engine: Engine, pid: int, timeout: float = 20.0) -> None:
    """Until the backend `pid` waits on a lock (the second INSERT, on the first's rows)."""
    deadline = time.monotonic() + timeout
    with engine.connect() as conn:
        while time.monotonic() < deadline:
            waiting = conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE pid = :pid AND wait_event_type = 'Lock'"
                ),
                {"pid": pid},
            ).scalar_one()
            if waiting:
                return
            conn.rollback()
            time.sleep(0.01)
    raise AssertionError("the second store never waited for the first")


@pytest.mark.parametrize("engine", ["postgres"], indirect=True)
@pytest.mark.parametrize("second_source", ["river", "harbour"])
def test_the_same_new_items_stored_at_once_by_two_transactions(
    engine: Engine, second_source: str
) -> None:
    first_stored = threading.Event()
    pids: queue.Queue[int] = queue.Queue()
    results: dict[str, UpsertResult] = {}
    errors: list[BaseException] = []

    def second() -> None:
        try:
            first_stored.wait(20)
            with engine.begin() as conn:
                pids.put(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())
                # Both transactions read "no such item" before either commits.
                results["second"] = upsert_entries(
                    conn, source(second_source), ENTRIES, NOW + timedelta(milliseconds=3)
                )
        except BaseException as error:  # reported by the assertion below
            errors.append(error)

    thread = threading.Thread(target=second)
    thread.start()
    with engine.begin() as conn:
        results["first"] = upsert_entries(conn, source("river"), ENTRIES, NOW)
        first_stored.set()
        wait_for_a_lock_wait(
            engine, pids.get(timeout=20)
        )  # the second is inside its INSERT, waiting for us
    thread.join(30)
    assert errors == []
    assert results["first"].new == len(ENTRIES)
    assert results["second"].new == 0  # stored by the first: not new here, nothing failed
    with engine.connect() as conn:
        rows = conn.execute(select(items.c.source_id, items.c.first_seen)).all()
        assert conn.execute(select(func.count()).select_from(items)).scalar_one() == len(ENTRIES)
    assert {(r.source_id, r.first_seen) for r in rows} == {("river", NOW)}
    if second_source == "river":
        assert [s.status for s in results["second"].stored] == ["same"] * len(ENTRIES)
        assert {s.first_seen for s in results["second"].stored} == {NOW}  # the stored one
        assert results["second"].problems == []
    else:  # another source: its first store keeps the items, as when they were stored before
        assert results["second"].stored == []
        assert len(results["second"].problems) == len(ENTRIES)
        assert "source 'river' already has this item" in str(results["second"].problems[0])


def test_insert_rows_ignoring_duplicates_keeps_the_stored_row(engine: Engine) -> None:
    metadata = MetaData()
    table = Table(
        "dup_test", metadata, Column("id", String(8), primary_key=True), Column("v", String(8))
    )
    metadata.create_all(engine)
    with engine.begin() as conn:
        assert insert_rows(conn, table, ("id", "v"), [("a", "1"), ("b", "2")]) == 2
        again = [("a", "changed"), ("c", "3")]
        assert insert_rows(conn, table, ("id", "v"), again, ignore_duplicates=True) == 1
        assert dict(conn.execute(select(table.c.id, table.c.v)).all()) == {
            "a": "1",
            "b": "2",
            "c": "3",
        }
