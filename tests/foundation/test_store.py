"""The item store on SQLite and PostgreSQL: identity, updates, history, migrations."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine

from config.schema import Settings, SourceSettings
from feeds.clock import FixedClock
from feeds.model import Entry
from feeds.refresh import Refresher
from feeds.sources.base import FetchState, SourceRead
from feeds.sources.markdown_page import MarkdownPageReader
from feeds.sources.text_page import TextPageReader
from feeds.store.items import newest_items, upsert_entries
from feeds.store.sources import health, stored_states
from feeds.store.tables import metadata

NOW = datetime(2024, 3, 5, 10, 0, tzinfo=UTC)
SOURCE = SourceSettings.model_validate(
    {
        "id": "river",
        "kind": "text",
        "path": "p.txt",
        "title": "River",
        "link": "https://river.example.org/news",
    }
)


def test_migrations_give_exactly_the_declared_schema(engine: Engine) -> None:
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []


def test_items_without_url_get_tag_ids_that_survive_edits(engine: Engine) -> None:
    entries = [Entry("First title", "Body one."), Entry("Second title", "Body two.")]
    with engine.begin() as conn:
        result = upsert_entries(conn, SOURCE, entries, NOW)
    assert result.new == 2
    ids = [s.item_id for s in result.stored]
    assert ids[0] == "tag:river.example.org,2024-03-05:river/first-title"
    later = NOW + timedelta(days=3)
    edited = [Entry("First title", "Body one, edited."), Entry("Second title", "Body two.")]
    with engine.begin() as conn:
        again = upsert_entries(conn, SOURCE, edited, later)
    assert [s.item_id for s in again.stored] == ids
    assert [s.status for s in again.stored] == ["updated", "same"]
    with engine.connect() as conn:
        stored = {i.title: i for i in newest_items(conn, ["river"], 10)}
    assert stored["First title"].updated == later
    assert stored["First title"].published == NOW  # page order kept: the first is newest
    assert stored["Second title"].published == NOW - timedelta(seconds=1)


def test_items_with_urls_use_them_and_keep_history(engine: Engine) -> None:
    first = [
        Entry(
            "A",
            "a",
            link="https://river.example.org/a#top",
            published=datetime(2024, 3, 1, 9, tzinfo=UTC),
        )
    ]
    with engine.begin() as conn:
        upsert_entries(conn, SOURCE, first, NOW)
    second = [
        Entry(
            "B",
            "b",
            link="https://River.example.org/b",
            published=datetime(2024, 3, 4, 9, tzinfo=UTC),
        )
    ]
    with engine.begin() as conn:
        upsert_entries(conn, SOURCE, second, NOW + timedelta(days=1))
    with engine.connect() as conn:
        items = newest_items(conn, ["river"], 10)
    assert [i.id for i in items] == ["https://river.example.org/b", "https://river.example.org/a"]
    assert all(i.published.tzinfo is not None for i in items)


def test_a_page_listing_an_item_twice_keeps_one(engine: Engine, tmp_path: Path) -> None:
    entries = [Entry("Same title", "one"), Entry("Same title", "two")]
    with engine.begin() as conn:
        result = upsert_entries(conn, SOURCE, entries, NOW)
    assert result.new == 1


def test_a_quiet_refresh_records_every_source_as_read(engine: Engine, tmp_path: Path) -> None:
    pages = {"river": "River news\n\nThe river rose.\n", "lake": "Lake news\n\nThe lake froze.\n"}
    for name, text in pages.items():
        (tmp_path / f"{name}.txt").write_text(text, encoding="utf-8")
    settings = Settings.model_validate(
        {
            "site": {
                "base_url": "https://feeds.example.org/",
                "data_dir": str(tmp_path / "data"),
                "output_dir": str(tmp_path / "public"),
            },
            "sources": [
                {**SOURCE.model_dump(), "id": name, "path": str(tmp_path / f"{name}.txt")}
                for name in pages
            ],
        }
    )

    def refresh(now: datetime) -> list[str]:
        refresher = Refresher(settings, engine, {"text": TextPageReader()}, FixedClock(now))
        return [o.status for o in asyncio.run(refresher.refresh()).outcomes]

    assert refresh(NOW) == ["ok", "ok"]
    later = NOW + timedelta(hours=1)
    assert refresh(later) == ["unchanged", "unchanged"]
    with engine.connect() as conn:
        states = {h.source_id: h for h in health(conn)}
        stored = stored_states(conn, list(pages))
    assert {s: (h.last_attempt, h.last_success) for s, h in states.items()} == {
        "river": (later, later),
        "lake": (later, later),
    }
    assert all(state.fetch.content_hash for state in stored.values())


class _LastToFinishReader:
    """A markdown reader that lets every other read finish before it answers for `late_id`."""

    def __init__(self, late_id: str) -> None:
        self.late_id = late_id
        self.inner = MarkdownPageReader()

    async def read(self, source: SourceSettings, previous: FetchState) -> SourceRead:
        if source.id == self.late_id:
            for _ in range(50):  # hand the loop to the other reads (no clock involved)
                await asyncio.sleep(0)
        return await self.inner.read(source, previous)


def test_stores_follow_the_configuration_order_whatever_reads_first(
    engine: Engine, tmp_path: Path
) -> None:
    page = "# News\n\n## [Shared item](https://ex.org/shared)\n*1 March 2024*\n\nSame text.\n"
    sources = []
    for name in ("first", "second"):
        (tmp_path / f"{name}.md").write_text(page, encoding="utf-8")
        sources.append(
            {
                **SOURCE.model_dump(),
                "id": name,
                "kind": "markdown",
                "path": str(tmp_path / f"{name}.md"),
            }
        )
    settings = Settings.model_validate(
        {
            "site": {"base_url": "https://feeds.example.org/", "output_dir": str(tmp_path / "out")},
            "sources": sources,
        }
    )
    reader = _LastToFinishReader("first")
    refresher = Refresher(settings, engine, {"markdown": reader}, FixedClock(NOW))
    report = asyncio.run(refresher.refresh())
    first, second = report.outcomes
    assert (first.source_id, first.new, second.new) == ("first", 1, 0)
    assert [str(p) for p in second.problems] == [
        "source 'second', item 'Shared item': skipped: source 'first' already has this item "
        "(https://ex.org/shared)"
    ]


def test_recording_many_successes_at_once_writes_what_one_at_a_time_does(engine: Engine) -> None:
    from sqlalchemy import select

    from feeds.store.sources import record_failure, record_success, record_successes
    from feeds.store.tables import sources

    later = NOW + timedelta(hours=1)
    states = {
        "a": FetchState(etag='"1"', last_modified="Tue, 05 Mar 2024 10:00:00 GMT"),
        "b": FetchState(content_hash="abc"),
        "new": FetchState(),
    }
    with engine.begin() as conn:
        for source_id in ("a", "b"):  # known sources, one of them failing until now
            record_failure(conn, source_id, "boom", NOW)
        record_failure(conn, "b", "boom", NOW)
        record_successes(conn, [(sid, state, f"key-{sid}") for sid, state in states.items()], later)
        batched = conn.execute(select(sources).order_by(sources.c.id)).all()
        conn.execute(sources.delete())
        for source_id in ("a", "b"):
            record_failure(conn, source_id, "boom", NOW)
        record_failure(conn, "b", "boom", NOW)
        for sid, state in states.items():
            record_success(conn, sid, state, later, f"key-{sid}")
        one_by_one = conn.execute(select(sources).order_by(sources.c.id)).all()
        record_successes(conn, [], later)  # nothing to do
    assert batched == one_by_one
    assert [(r.id, r.consecutive_failures, r.last_success) for r in batched] == [
        ("a", 0, later), ("b", 0, later), ("new", 0, later)
    ]  # fmt: skip
