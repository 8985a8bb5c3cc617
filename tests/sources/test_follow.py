"""Following item pages: main text, page dates and deadlines, revalidation, lost pages."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import feedparser
from sqlalchemy import Engine, select

from config.schema import Settings
from feeds.clock import FixedClock
from feeds.deadlines.ahead import work_out
from feeds.fetch import Fetcher
from feeds.refresh import DeadlineHook
from feeds.store.tables import deadlines, reminders
from feeds.work import LocalWork
from scheduler.ledger.subscribers import add_subscriber
from scheduler.reminders_app import ledger_hook
from tests.sources.follow_site import (
    Notice,
    active_deadlines,
    html_follow_source,
    item_page,
    json_ld_published,
    listing,
    meta_published,
    refresh,
    settings_for,
    stored_items,
    time_published,
)
from tests.sources.support import LoopbackServer, static

T = TypeVar("T")

NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
OPEN = "The consultation is open until 15 April. Contributions received later are not read."
INTRO = (
    "The ministry invites comments from citizens, businesses and public authorities on the "
    "review of the rules on {topic}, as announced in the work programme."
)


def notices() -> list[Notice]:
    return [
        Notice(
            "water",
            "Call for evidence on river water",
            [INTRO.format(topic="river water"), OPEN],
            meta=meta_published("2026-03-02T10:00:00+01:00"),
        ),
        Notice(
            "soil",
            "Call for evidence on soil health",
            [INTRO.format(topic="soil health"), OPEN.replace("15 April", "20 April")],
            meta=json_ld_published("2026-03-06"),
        ),
        Notice(
            "noise",
            "Call for evidence on road noise",
            [INTRO.format(topic="road noise"), OPEN.replace("15 April", "25 April")],
            time_element=time_published("2026-02-20", "20 February 2026"),
        ),
    ]


def planned_by_the_ledger(settings: Settings, now: datetime) -> DeadlineHook:
    return ledger_hook(settings, FixedClock(now))


def pending_reminders(engine: Engine) -> list[tuple[str, str]]:
    """(the closing day planned for, kind) of each pending reminder."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(reminders.c.planned_closes_at, reminders.c.kind).where(
                reminders.c.status == "pending"
            )
        )
        return [(r.planned_closes_at.date().isoformat(), r.kind) for r in rows]


def serve_site(server: LoopbackServer, pages: list[Notice], **kw: bool) -> str:
    for notice in pages:
        server.page(f"/news/{notice.slug}", item_page(notice), etag=True)
    links = [(f"/news/{n.slug}", n.title) for n in pages]
    return server.page("/news", listing(links), etag=kw.get("listing_etag", True))


async def test_pages_give_text_dates_and_deadlines_none_from_sidebars(
    server: LoopbackServer, fetcher: Fetcher, engine: Engine, tmp_path: Path
) -> None:
    url = serve_site(server, notices())
    settings = settings_for(tmp_path, html_follow_source(url))
    report = await refresh(settings, engine, fetcher, NOW)
    assert [o.status for o in report.outcomes] == ["ok"]
    assert report.outcomes[0].problems == []
    items = stored_items(engine)
    # ordered by the pages' dates: meta tag, JSON-LD and <time> each read
    assert [i.title for i in items] == [
        "Call for evidence on soil health",
        "Call for evidence on river water",
        "Call for evidence on road noise",
    ]
    assert [i.published.date().isoformat() for i in items] == [
        "2026-03-06",
        "2026-03-02",
        "2026-02-20",
    ]
    assert all(i.dated for i in items)
    water = items[1]
    assert water.published == datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    assert "review of the rules on river water" in water.content
    assert "open until 15 April" in water.content
    for item in items:
        assert "cookie" not in item.content.lower()
        assert "air quality" not in item.content
        assert "12 June" not in item.content
    # deadlines from the notices alone; year-less dates take the page's year
    assert active_deadlines(engine) == {
        server.url("/news/water"): ["2026-04-15"],
        server.url("/news/soil"): ["2026-04-20"],
        server.url("/news/noise"): ["2026-04-25"],
    }


async def test_an_unchanged_site_is_revalidated_with_304s_only(
    server: LoopbackServer, fetcher: Fetcher, engine: Engine, tmp_path: Path
) -> None:
    url = serve_site(server, notices())
    settings = settings_for(tmp_path, html_follow_source(url))
    await refresh(settings, engine, fetcher, NOW)
    first = len(server.seen)
    report = await refresh(settings, engine, fetcher, NOW + timedelta(hours=1))
    assert [o.status for o in report.outcomes] == ["unchanged"]
    again = server.seen[first:]
    pages = [s for s in again if s.path.startswith("/news/")]
    assert len(pages) == 3
    assert all(s.status == 304 and "If-None-Match" in s.headers for s in pages)
    assert [s.status for s in again if s.path == "/news"] == [304]


async def test_an_extension_on_the_page_moves_the_deadline(
    server: LoopbackServer, fetcher: Fetcher, engine: Engine, tmp_path: Path
) -> None:
    site = notices()
    url = serve_site(server, site)
    settings = settings_for(tmp_path, html_follow_source(url))
    await refresh(settings, engine, fetcher, NOW)
    water = site[0]
    extended = Notice(
        water.slug,
        water.title,
        [*water.body, "Update: the consultation has been extended until 29 April 2026."],
        meta=water.meta,
    )
    server.page("/news/water", item_page(extended), etag=True)
    report = await refresh(settings, engine, fetcher, NOW + timedelta(days=1))
    outcome = report.outcomes[0]
    assert outcome.status == "ok"  # the listing answered 304; the page changed
    assert [c.kind for c in outcome.deadline_changes] == ["moved"]
    assert active_deadlines(engine)[server.url("/news/water")] == ["2026-04-29"]
    assert len(server.hits("/news/water")) == 2  # revalidated once, not again to be read


class RecordingWork(LocalWork):
    """Steps in threads here, as LocalWork, but the refresh works deadlines out ahead as it
    does beside worker processes; the texts each `work_out` step got are kept."""

    parallel = True

    def __init__(self) -> None:
        self.worked_out: list[list[str]] = []

    async def run(self, func: Callable[..., T], /, *args: Any, help_out: bool = False) -> T:
        if func is work_out:
            self.worked_out.append([text.split("\n")[0] for text in args[0]])
        return await super().run(func, *args)


async def test_a_new_item_has_only_its_own_deadlines_worked_out(
    server: LoopbackServer, fetcher: Fetcher, engine: Engine, tmp_path: Path
) -> None:
    water, soil, noise = notices()
    url = serve_site(server, [water, soil])
    settings = settings_for(tmp_path, html_follow_source(url))
    work = RecordingWork()
    await refresh(settings, engine, fetcher, NOW, work=work)
    assert work.worked_out == [[water.title, soil.title]]
    serve_site(server, [noise, water, soil])  # a new item on the listing; its pages as they were
    report = await refresh(settings, engine, fetcher, NOW + timedelta(hours=1), work=work)
    assert report.outcomes[0].new == 1
    assert work.worked_out[1:] == [[noise.title]]  # the unchanged items are not extracted again
    assert active_deadlines(engine) == {
        server.url("/news/water"): ["2026-04-15"],
        server.url("/news/soil"): ["2026-04-20"],
        server.url("/news/noise"): ["2026-04-25"],
    }


async def test_a_page_that_disappears_keeps_its_item_and_is_reported(
    server: LoopbackServer, fetcher: Fetcher, engine: Engine, tmp_path: Path
) -> None:
    url = serve_site(server, notices())
    settings = settings_for(tmp_path, html_follow_source(url))
    await refresh(settings, engine, fetcher, NOW)
    server.route("/news/soil", static("gone", "text/plain", charset=None))
    server.routes.pop("/news/soil")
    report = await refresh(settings, engine, fetcher, NOW + timedelta(hours=1))
    outcome = report.outcomes[0]
    assert outcome.status == "unchanged"  # the source does not fail
    assert [p.item for p in outcome.problems] == [server.url("/news/soil")]
    assert "HTTP 404" in str(outcome.problems[0])
    soil = next(i for i in stored_items(engine) if "soil" in i.title)
    assert "review of the rules on soil health" in soil.content  # the last good text
    assert active_deadlines(engine)[server.url("/news/soil")] == ["2026-04-20"]
    # retried at the next refresh: back again, the failure is gone
    server.page("/news/soil", item_page(notices()[1]), etag=True)
    report = await refresh(settings, engine, fetcher, NOW + timedelta(hours=2))
    assert report.outcomes[0].problems == []
    assert len(server.hits("/news/soil")) == 3


async def test_feeds_carry_the_page_text_with_its_lead_as_summary(
    server: LoopbackServer, fetcher: Fetcher, engine: Engine, tmp_path: Path
) -> None:
    url = serve_site(server, notices())
    settings = settings_for(tmp_path, html_follow_source(url))
    await refresh(settings, engine, fetcher, NOW)
    feed = feedparser.parse((tmp_path / "public" / "newsroom.atom").read_bytes())
    water = next(e for e in feed.entries if e.title == "Call for evidence on river water")
    content = water.content[0].value
    assert "review of the rules on river water" in content
    assert "Contributions received later are not read" in content
    assert "<h1" not in content and content.count("Call for evidence on river water") == 0
    assert "review of the rules on river water" in water.summary
    assert "Contributions received later" not in water.summary  # the lead paragraph only


async def test_an_extension_on_the_page_replans_the_reminders(
    server: LoopbackServer, fetcher: Fetcher, engine: Engine, tmp_path: Path
) -> None:
    site = notices()[:1]
    url = serve_site(server, site)
    settings = settings_for(tmp_path, html_follow_source(url))
    hook = planned_by_the_ledger(settings, NOW)
    with engine.begin() as conn:
        add_subscriber(conn, "reader@example.org", NOW)
    await refresh(settings, engine, fetcher, NOW, on_deadlines=hook)
    assert pending_reminders(engine) == [("2026-04-15", "reminder")] * 2  # 7 days, 1 day
    water = site[0]
    extended = Notice(
        water.slug,
        water.title,
        [*water.body, "Update: the consultation has been extended until 29 April 2026."],
        meta=water.meta,
    )
    server.page("/news/water", item_page(extended), etag=True)
    later = NOW + timedelta(days=1)
    hook = planned_by_the_ledger(settings, later)
    await refresh(settings, engine, fetcher, later, on_deadlines=hook)
    # the ledger's rules: the planned reminders superseded, new ones for the new date (no
    # "changed" notice, as none was sent for the old date)
    assert pending_reminders(engine) == [("2026-04-29", "reminder")] * 2
    with engine.connect() as conn:
        old = conn.execute(
            select(reminders.c.status).where(reminders.c.status != "pending")
        ).scalars()
        assert sorted(old) == ["superseded", "superseded"]


async def test_a_very_short_page_gives_a_label_from_its_own_text(
    server: LoopbackServer, fetcher: Fetcher, engine: Engine, tmp_path: Path
) -> None:
    # Too little text for trafilatura's main extractor: its fallback takes every text of the
    # page, one a line (the menu, the page's title, the notice) into one paragraph.
    page = (
        "<!doctype html><html><head><title>Pilotage review | Harbour Office</title>"
        f"{meta_published('2026-03-02T10:00:00+01:00')}</head><body>"
        "<nav><a href='/'>Home</a> <a href='/news'>News</a></nav>"
        "<header><h1>Pilotage review</h1></header>"
        "<div>Send your views by 30 April.</div></body></html>"
    )
    server.page("/news/pilots", page, etag=True)
    url = server.page("/news", listing([("/news/pilots", "Harbour pilots")]), etag=True)
    settings = settings_for(tmp_path, html_follow_source(url))
    await refresh(settings, engine, fetcher, NOW)
    [item] = stored_items(engine)
    assert "Send your views by 30 April." in item.content
    assert "Pilotage review" not in item.content  # the page's title is the item's own
    with engine.connect() as conn:
        [(label, day)] = conn.execute(select(deadlines.c.label, deadlines.c.local_date)).all()
    assert day.isoformat() == "2026-04-30"
    assert "pilotage" not in label.casefold() and "news" not in label.casefold(), label
