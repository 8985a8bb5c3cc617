"""Deadlines of new items are written in one batch: the same rows, ids and changes as one by one.

`NewItemDeadlines` (one executemany per source) against `save_deadlines`' general path (look
up what is stored, then insert row by row), on SQLite and PostgreSQL; and a refresh that mixes
new and already stored items keeps the changes and the ids in page order.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, select

from config.schema import Settings, SourceSettings
from feeds.clock import FixedClock
from feeds.model import Deadline, Entry
from feeds.refresh import Refresher
from feeds.sources.text_page import TextPageReader
from feeds.store.deadlines import DeadlineChange, NewItemDeadlines, save_deadlines
from feeds.store.items import upsert_entries
from feeds.store.tables import deadlines

NOW = datetime(2023, 2, 7, 9, 0, tzinfo=UTC)
DOMAIN = "river.example.org"
SOURCE = SourceSettings.model_validate(
    {
        "id": "river",
        "kind": "text",
        "path": "p.txt",
        "title": "River",
        "link": "https://river.example.org/news",
    }
)


def _deadline(day: int, label: str, *, at: time | None = None, certain: bool = True) -> Deadline:
    local = date(2023, 3, day)
    return Deadline(
        closes_at=datetime.combine(local, at or time(23, 59, 59), tzinfo=UTC),
        local_date=local,
        local_time=at,
        timezone="UTC",
        label=label,
        evidence=f"{label} closes on {day} March 2023.",
        certain=certain,
        all_day=at is None,
    )


# Items (title, found deadlines with origin): none, one, several, shared labels, overrides.
ITEMS: list[tuple[str, list[tuple[Deadline, str]]]] = [
    ("Consultation on river water quality", [(_deadline(30, "consultation"), "extracted")]),
    ("Minister visits flood defences", []),
    (
        "Two calls for evidence",
        [
            (_deadline(3, "call for evidence on noise maps", at=time(17, 0)), "extracted"),
            (_deadline(9, "Call for Evidence on air quality", certain=False), "extracted"),
            (_deadline(12, "consultation"), "override"),
        ],
    ),
    ("Survey on bus fares", [(_deadline(1, "survey on bus fares"), "extracted")]),
    ("Feedback period on rail freight", [(_deadline(28, "consultation"), "override")]),
]

Row = tuple[Any, ...]


def _store_items(conn: Connection) -> list[str]:
    entries = [Entry(title, f"About {title.lower()}.") for title, _ in ITEMS]
    return [s.item_id for s in upsert_entries(conn, SOURCE, entries, NOW).stored]


def _written(conn: Connection, changes: Sequence[DeadlineChange]) -> tuple[list[Row], list[Row]]:
    """The rows (by id order, without the id) and the changes (ids as uids): comparable
    across two runs even where PostgreSQL's sequence does not roll back."""
    rows = conn.execute(select(deadlines).order_by(deadlines.c.id)).all()
    uid_of = {row.id: row.uid for row in rows}
    columns = [c.name for c in deadlines.columns if c.name != "id"]
    stored = [tuple(getattr(row, name) for name in columns) for row in rows]
    listed = [(c.kind, uid_of[c.deadline_id], c.closes_at, c.previous_closes_at) for c in changes]
    assert [c.deadline_id for c in changes] == sorted(c.deadline_id for c in changes)
    return stored, listed


def _run(engine: Engine, write: Callable[[Connection, list[str]], list[DeadlineChange]]) -> Any:
    with engine.connect() as conn:
        transaction = conn.begin()
        item_ids = _store_items(conn)
        written = _written(conn, write(conn, item_ids))
        transaction.rollback()
    return written


def test_batch_writes_what_the_general_path_writes(engine: Engine) -> None:
    def one_by_one(conn: Connection, item_ids: list[str]) -> list[DeadlineChange]:
        changes: list[DeadlineChange] = []
        for item_id, (_, found) in zip(item_ids, ITEMS, strict=True):
            changes += save_deadlines(conn, item_id, SOURCE.id, found, NOW, DOMAIN)
        return changes

    def batched(conn: Connection, item_ids: list[str]) -> list[DeadlineChange]:
        batch = NewItemDeadlines(SOURCE.id, NOW, DOMAIN)
        for item_id, (_, found) in zip(item_ids, ITEMS, strict=True):
            batch.add(item_id, found)
        return batch.flush(conn)

    def new_item_flag(conn: Connection, item_ids: list[str]) -> list[DeadlineChange]:
        changes: list[DeadlineChange] = []
        for item_id, (_, found) in zip(item_ids, ITEMS, strict=True):
            changes += save_deadlines(conn, item_id, SOURCE.id, found, NOW, DOMAIN, new_item=True)
        return changes

    expected = _run(engine, one_by_one)
    assert len(expected[1]) == 6 and {kind for kind, *_ in expected[1]} == {"added"}
    assert _run(engine, batched) == expected
    assert _run(engine, new_item_flag) == expected


def test_flush_empties_the_batch(engine: Engine) -> None:
    with engine.connect() as conn, conn.begin():
        item_ids = _store_items(conn)
        batch = NewItemDeadlines(SOURCE.id, NOW, DOMAIN)
        assert batch.flush(conn) == []
        batch.add(item_ids[0], ITEMS[0][1])
        first = batch.flush(conn)
        assert batch.flush(conn) == []
        batch.add(item_ids[3], ITEMS[3][1])
        second = batch.flush(conn)
    assert [c.kind for c in first + second] == ["added", "added"]
    assert first[0].deadline_id < second[0].deadline_id


HEADER = "skip to main content\nRiver Logo\nen English\nNewsroom\n\nNews\n\n"


def _page(items: Sequence[tuple[str, str]]) -> str:
    return HEADER + "".join(f"{title}\n\n{paragraph}\n\n" for title, paragraph in items)


def _refresh(
    engine: Engine, tmp_path: Path, items: Sequence[tuple[str, str]], now: datetime
) -> tuple[list[DeadlineChange], list[Sequence[DeadlineChange]]]:
    page = tmp_path / "river.txt"
    page.write_text(_page(items), encoding="utf-8")
    settings = Settings.model_validate(
        {
            "site": {
                "base_url": "https://feeds.example.org/",
                "data_dir": str(tmp_path / "data"),
                "output_dir": str(tmp_path / "public"),
            },
            "sources": [{**SOURCE.model_dump(), "path": str(page)}],
        }
    )
    hooked: list[Sequence[DeadlineChange]] = []
    refresher = Refresher(
        settings,
        engine,
        {"text": TextPageReader()},
        FixedClock(now),
        on_deadlines=lambda _conn, changes: hooked.append(list(changes)),
    )
    report = asyncio.run(refresher.refresh())
    assert not report.failed
    return report.outcomes[0].deadline_changes, hooked


def test_refresh_mixing_new_and_stored_items_keeps_page_order(
    engine: Engine, tmp_path: Path
) -> None:
    old_a = ("Consultation on river water quality", "The consultation on river water quality "
             "is open until 30 April 2023.")  # fmt: skip
    old_b = ("Minister visits flood defences", "On 2 March 2023 the minister visited the valley.")
    first, hooked = _refresh(engine, tmp_path, [old_a, old_b], NOW)
    assert [c.kind for c in first] == ["added"] and hooked == [first]

    new_1 = ("Survey on bus fares", "The survey on bus fares closes on 20 March 2023.")
    moved_a = (old_a[0], old_a[1].replace("30 April", "15 May"))
    new_2 = ("Two calls", "The call for evidence on noise maps is open until 10 April 2023. "
             "The consultation on rail freight closes on 12 April 2023.")  # fmt: skip
    dated_b = (old_b[0], old_b[1] + " The public consultation on dams closes on 9 May 2023.")
    new_3 = ("Minister opens a bridge", "The bridge opened on 3 February 2023.")
    later = NOW + timedelta(days=1)
    second, hooked = _refresh(engine, tmp_path, [new_1, moved_a, new_2, dated_b, new_3], later)

    assert hooked == [second]
    assert [(c.kind, c.closes_at.date()) for c in second] == [
        ("added", date(2023, 3, 20)),
        ("moved", date(2023, 5, 15)),
        ("added", date(2023, 4, 10)),
        ("added", date(2023, 4, 12)),
        ("added", date(2023, 5, 9)),
    ]
    added = [c.deadline_id for c in second if c.kind == "added"]
    assert added == sorted(added) and added[0] > first[0].deadline_id
    assert second[1].deadline_id == first[0].deadline_id
    with engine.connect() as conn:
        rows = conn.execute(select(deadlines).order_by(deadlines.c.id)).all()
    assert [(r.id, r.label, r.sequence, r.active) for r in rows] == [
        (first[0].deadline_id, "consultation on river water quality", 1, True),
        (added[0], "survey on bus fares", 0, True),
        (added[1], "call for evidence on noise maps", 0, True),
        (added[2], "consultation on rail freight", 0, True),
        (added[3], "public consultation on dams", 0, True),
    ]


def test_two_deadlines_of_the_same_label_each_keep_their_row(
    engine: Engine, tmp_path: Path
) -> None:
    title = "Two rounds of consultation"
    text = ("The public consultation closes on 5 March 2023. A second round of the public "
            "consultation closes on 10 April 2023.")  # fmt: skip
    first, _ = _refresh(engine, tmp_path, [(title, text)], NOW)
    assert [(c.kind, c.closes_at.date()) for c in first] == [
        ("added", date(2023, 3, 5)),
        ("added", date(2023, 4, 10)),
    ]
    with engine.connect() as conn:
        uids = conn.execute(select(deadlines.c.uid).order_by(deadlines.c.id)).scalars().all()
    assert len(set(uids)) == 2

    # An edit that keeps both dates changes neither; moving the second moves only it.
    edited, _ = _refresh(engine, tmp_path, [(title, text + " Replies are published.")], NOW)
    assert edited == []
    moved_text = text.replace("10 April", "20 April") + " Replies are published."
    moved, _ = _refresh(engine, tmp_path, [(title, moved_text)], NOW + timedelta(days=1))
    assert [(c.kind, c.deadline_id, c.closes_at.date()) for c in moved] == [
        ("moved", first[1].deadline_id, date(2023, 4, 20))
    ]
