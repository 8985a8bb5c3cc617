"""Worker processes: a build stores the same rows and writes the same bytes with or without them.

The pages are made of the golden extraction cases (every language, zone and reference case they
cover) plus a markdown source with dated items, built once with `[refresh] workers = 0` and
once with `workers = 1`, then edited and built again.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from config.loading import load_settings
from feeds.clock import FixedClock
from feeds.work import LocalWork, ProcessWork
from scheduler.wiring import build_app
from tests.foundation.helpers import site_block, source_block, write_config

CASES = Path(__file__).resolve().parent.parent / "data" / "deadlines"
FIRST = datetime(2023, 2, 8, 9, 0, tzinfo=UTC)
LATER = datetime(2023, 3, 1, 9, 0, tzinfo=UTC)


def golden_pages() -> dict[tuple[str, str], list[tuple[str, str]]]:
    """(language, zone) -> [(title, paragraph)]: every golden case as an undated page item."""
    pages: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for case in sorted(CASES.iterdir()):
        meta_file = case / "meta.json"
        meta = json.loads(meta_file.read_text(encoding="utf-8")) if meta_file.is_file() else {}
        key = (meta.get("language", "en"), meta.get("timezone", "Europe/Brussels"))
        paragraph = " ".join((case / "input.txt").read_text(encoding="utf-8").split())
        if paragraph:
            pages.setdefault(key, []).append((f"Case {case.name.replace('_', ' ')}", paragraph))
    return pages


def text_page(items: list[tuple[str, str]]) -> str:
    return "News\n\n" + "".join(f"{title}\n\n{paragraph}\n\n" for title, paragraph in items)


MARKDOWN = """\
## Council opens a call for views on noise maps
*3 February 2023*

The call for views on noise maps is open until 28 February. Send your views online.

## Agency publishes a study on rail freight
Date: 2023-02-06

The study was presented in Vienna on 6 February 2023.
"""


def write_site(folder: Path, workers: int, *, edited: bool = False) -> Path:
    folder.mkdir()
    body = site_block() + f"\n[refresh]\nworkers = {workers}\n\n"
    for number, ((language, zone), items) in enumerate(sorted(golden_pages().items())):
        if edited:  # one item gone from the page, one new, one paragraph changed
            items = [(t, p) for t, p in items[1:]]
            items.insert(0, ("A new call for evidence", "The call is open until 20 March."))
            items[-1] = (items[-1][0], items[-1][1] + " The deadline is now 31 March 2023.")
        name = f"page-{number}.txt"
        (folder / name).write_text(text_page(items), encoding="utf-8")
        body += source_block(f"golden-{number}", name, language=f'"{language}"').replace(
            'timezone = "Europe/Brussels"', f'timezone = "{zone}"'
        )
    markdown = MARKDOWN + ("\n## Extra\n\nThe consultation closes on 9 March.\n" if edited else "")
    (folder / "news.md").write_text(markdown, encoding="utf-8")
    body += source_block("council", "news.md", kind="markdown")
    return write_config(folder, body)


def build(config: Path, now: datetime) -> tuple[int, int]:
    """One refresh through the composition root; (steps in workers, steps here)."""

    async def run() -> tuple[int, int]:
        async with build_app(load_settings(config, env={}), FixedClock(now)) as app:
            report = await app.refresher.refresh()
            assert not report.failed, [str(o.error) for o in report.failed]
            work = app.work
            if isinstance(work, ProcessWork):
                return work.steps_in_workers, work.steps_here
            return 0, 0

    return asyncio.run(run())


def outputs(folder: Path) -> tuple[dict[str, bytes], list[tuple[object, ...]]]:
    public = folder / "public"
    files = {p.name: p.read_bytes() for p in sorted(public.iterdir()) if p.is_file()}
    with sqlite3.connect(folder / "data" / "feedline.db") as db:
        rows = db.execute("SELECT * FROM deadlines ORDER BY id").fetchall()
        rows += db.execute("SELECT * FROM items ORDER BY id").fetchall()
    return files, rows


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="workers: Linux only")
def test_a_build_with_workers_stores_and_writes_what_one_without_them_does(
    tmp_path: Path,
) -> None:
    here, forked = tmp_path / "here", tmp_path / "forked"
    assert build(write_site(here, 0), FIRST) == (0, 0)
    in_workers, _ = build(write_site(forked, 1), FIRST)
    # Deadlines and feeds were worked out in the worker (none is forked in a threaded process).
    assert in_workers > 0, f"no worker used; {threading.active_count()} threads are running"
    files, rows = outputs(forked)
    assert (files, rows) == outputs(here)
    assert b"BEGIN:VEVENT" in files["deadlines.ics"] and len(rows) > 100

    # Edit every page (an item gone, one new, a paragraph changed) and build again, later.
    for folder, workers in ((here, 0), (forked, 1)):
        config = write_site(tmp_path / f"edited-{workers}", workers, edited=True)
        for page in config.parent.glob("page-*.txt"):
            (folder / page.name).write_bytes(page.read_bytes())
        (folder / "news.md").write_bytes((config.parent / "news.md").read_bytes())
    build(here / "feedline.toml", LATER)
    assert build(forked / "feedline.toml", LATER)[0] > 0
    assert outputs(forked) == outputs(here)
    assert outputs(forked) != (files, rows)  # the edits did change something


def test_no_workers_when_asked_for_none_or_when_other_threads_run() -> None:
    assert isinstance(ProcessWork.start(0), LocalWork)
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert isinstance(ProcessWork.start(1), LocalWork)  # forking now could deadlock
    finally:
        stop.set()
        other.join()
