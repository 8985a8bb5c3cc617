"""Item ids: a source that dates its items mints the same tag: ids after a lost database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from config.schema import SourceSettings
from feeds.identity import tag_day
from feeds.model import Entry
from feeds.store.items import upsert_entries
from tests.support.db import sqlite_engine

BRUSSELS = ZoneInfo("Europe/Brussels")
SOURCE = SourceSettings.model_validate(
    {
        "id": "river",
        "kind": "markdown",
        "path": "news.md",
        "title": "River",
        "link": "https://river.example.org/news",
        "timezone": "Europe/Brussels",
    }
)
DATED = [
    Entry("Call for evidence on weirs", "Open until 17 March.", published=datetime(
        2026, 2, 11, 12, tzinfo=BRUSSELS)),
    # 00:30 in Brussels is still the day before in UTC: the source's own date counts.
    Entry("Night notice", "Body.", published=datetime(2026, 2, 12, 0, 30, tzinfo=BRUSSELS)),
]  # fmt: skip
UNDATED = [Entry("Undated notice", "Body.")]


def _ids(engine: Engine, entries: list[Entry], now: datetime) -> list[str]:
    with engine.begin() as conn:
        return [s.item_id for s in upsert_entries(conn, SOURCE, entries, now).stored]


def test_dated_items_carry_their_own_date(engine: Engine) -> None:
    now = datetime(2026, 3, 1, 9, tzinfo=UTC)
    assert _ids(engine, DATED, now) == [
        "tag:river.example.org,2026-02-11:river/call-for-evidence-on-weirs",
        "tag:river.example.org,2026-02-12:river/night-notice",
    ]


def test_undated_items_carry_the_day_first_seen(engine: Engine) -> None:
    now = datetime(2026, 3, 1, 9, tzinfo=UTC)
    assert _ids(engine, UNDATED, now) == ["tag:river.example.org,2026-03-01:river/undated-notice"]


def test_a_rebuilt_database_gives_dated_items_the_same_ids(tmp_path: Path) -> None:
    (tmp_path / "first").mkdir()
    (tmp_path / "rebuilt").mkdir()
    first = sqlite_engine(tmp_path / "first")
    before = _ids(first, DATED + UNDATED, datetime(2026, 2, 20, 9, tzinfo=UTC))
    first.dispose()
    rebuilt = sqlite_engine(tmp_path / "rebuilt")  # the database was lost
    after = _ids(rebuilt, DATED + UNDATED, datetime(2026, 3, 4, 9, tzinfo=UTC))
    rebuilt.dispose()
    assert after[:2] == before[:2]
    assert after[2] != before[2]  # an undated item has nothing else to be known by


def test_tag_day_reads_the_date_in_the_source_zone() -> None:
    seen = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)  # already 2 March in Brussels
    assert tag_day(UNDATED[0], seen, BRUSSELS).isoformat() == "2026-03-02"
    assert tag_day(DATED[1], seen + timedelta(days=9), BRUSSELS).isoformat() == "2026-02-12"
