"""Follow as a user meets it: `feedline build`, `feedline status`, /healthz, `sources try`,
a feed of teasers, and an html source without selectors."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy import Engine

from feeds.clock import FixedClock
from feeds.errors import SourceError
from feeds.fetch import Fetcher
from feeds.serve.app import build_app
from feeds.serve.server import FeedServer
from feeds.sources.base import FetchState
from feeds.sources.html_page import HtmlPageReader
from scheduler.web import DaemonRoutes
from tests.foundation.helpers import run_cli, write_config
from tests.sources.follow_site import (
    Notice,
    active_deadlines,
    item_page,
    listing,
    meta_published,
    refresh,
    settings_for,
    stored_items,
)
from tests.sources.support import LoopbackServer, html_source

NOW = "2026-03-10T09:00:00Z"
BODY = [
    "The authority asks for views on its draft rules for the use of drones near airports, "
    "as set out in the paper published with this notice.",
    "Comments can be sent until 17 April.",
]
RSS = """<?xml version="1.0"?><rss version="2.0"><channel><title>Authority</title>
<link>{base}/</link><description>News</description>
<item><title>Drones near airports</title><link>{base}/news/drones</link>
<guid>{base}/news/drones</guid><description>Draft rules on drones: have your say.</description>
</item></channel></rss>"""


def serve_drones(server: LoopbackServer) -> None:
    notice = Notice("drones", "Drones near airports", BODY, meta=meta_published("2026-03-04"))
    server.page("/news/drones", item_page(notice), etag=True)


def config_for(tmp_path: Path, url: str, *, kind: str = "html") -> Path:
    select = '[sources.select]\nitem = "li.news"\ntitle = "a"\n' if kind == "html" else ""
    return write_config(
        tmp_path,
        f"""
        [site]
        base_url = "https://feeds.example.org/"
        output_dir = "{tmp_path / "public"}"
        data_dir = "{tmp_path / "data"}"

        [[sources]]
        id = "authority"
        kind = "{kind}"
        title = "Authority"
        url = "{url}"
        follow = true
        """
        + select,
    )


async def test_build_status_and_healthz_report_a_failing_page_by_url(
    server: LoopbackServer, tmp_path: Path
) -> None:
    serve_drones(server)
    links = [("/news/drones", "Drones near airports"), ("/news/lost", "Lost notice")]
    url = server.page("/news", listing(links))
    config = config_for(tmp_path, url)
    built = await asyncio.to_thread(run_cli, "build", config=config, now=NOW)
    assert built.exit_code == 0, built.output
    lost = server.url("/news/lost")
    assert f"warning: source 'authority', item '{lost}': item page not read: HTTP 404" in (
        built.output
    )
    status = await asyncio.to_thread(run_cli, "status", config=config, now=NOW)
    assert f"  item page {lost}: HTTP 404 Not Found from {lost}" in status.output
    report = await asyncio.to_thread(run_cli, "status", "--json", config=config, now=NOW)
    pages = json.loads(report.output)["sources"][0]["failing_pages"]
    assert [(p["url"], p["failures"]) for p in pages] == [(lost, 1)]


async def test_healthz_lists_failing_pages_without_failing(
    server: LoopbackServer, fetcher: Fetcher, engine: Engine, tmp_path: Path
) -> None:
    url = server.page("/news", listing([("/news/lost", "Lost notice")]))
    source = {
        "id": "newsroom",
        "kind": "html",
        "title": "Newsroom",
        "url": url,
        "follow": True,
        "select": {"item": "li.news", "title": "a"},
    }
    settings = settings_for(tmp_path, source)
    now = datetime(2026, 3, 10, 9, tzinfo=UTC)
    await refresh(settings, engine, fetcher, now)
    routes = DaemonRoutes(settings, engine, FixedClock(now), b"k" * 32)
    web = FeedServer(build_app(tmp_path / "public", extra_routes=routes.add_to))
    await web.start("127.0.0.1", 0)
    try:
        async with httpx.AsyncClient(base_url=web.url) as client:
            response = await client.get("/healthz")
    finally:
        await web.stop()
    assert response.status_code == 200
    (page,) = response.json()["sources"][0]["failing_pages"]
    assert page["url"] == server.url("/news/lost") and "HTTP 404" in page["error"]


async def test_a_feed_of_teasers_gets_each_page_text_and_deadline(
    server: LoopbackServer, fetcher: Fetcher, engine: Engine, tmp_path: Path
) -> None:
    serve_drones(server)
    feed = server.page("/feed.xml", RSS.format(base=server.base), "application/rss+xml")
    source = {"id": "newsroom", "kind": "feed", "title": "A", "url": feed, "follow": True}
    await refresh(
        settings_for(tmp_path, source), engine, fetcher, datetime(2026, 3, 10, tzinfo=UTC)
    )
    (item,) = stored_items(engine)
    assert "drones near airports, as set out in the paper" in item.content
    assert item.published.date().isoformat() == "2026-03-04"  # the page's date
    assert active_deadlines(engine) == {server.url("/news/drones"): ["2026-04-17"]}


async def test_an_html_source_without_selectors_reads_the_advertised_feed(
    server: LoopbackServer, fetcher: Fetcher
) -> None:
    feed = server.page("/feed.xml", RSS.format(base=server.base), "application/rss+xml")
    url = server.page("/news", listing([("/a", "A")], feed=feed))
    source = html_source(url, select=None)
    read = await HtmlPageReader(fetcher).read(source, FetchState())
    assert [e.title for e in read.entries] == ["Drones near airports"]


async def test_without_selectors_or_a_feed_the_error_shows_candidate_blocks(
    server: LoopbackServer, fetcher: Fetcher
) -> None:
    links = [(f"/n/{n}", f"Notice number {n}") for n in range(4)]
    url = server.page("/news", listing(links))
    try:
        await HtmlPageReader(fetcher).read(html_source(url, select=None), FetchState())
    except SourceError as error:
        message = str(error)
    else:
        raise AssertionError("no error")
    assert "advertises no feed: give [sources.select] item and title" in message
    assert "candidate items: 'li.news' (4x, e.g. 'Notice number 0')" in message


async def test_sources_try_prints_items_dates_and_deadlines_and_stores_nothing(
    server: LoopbackServer, tmp_path: Path
) -> None:
    serve_drones(server)
    url = server.page("/news", listing([("/news/drones", "Drones near airports")]))
    result = await asyncio.to_thread(
        run_cli, "sources", "try", url, "--item", "li.news", "--title", "a", "--follow", now=NOW
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "1. Drones near airports"
    assert lines[1] == f"   link: {server.url('/news/drones')}"
    assert lines[2] == "   published: 2026-03-04T12:00:00+01:00"
    assert lines[3].startswith("   deadline: 17 April 2026, 23:59 Brussels time: ")
    assert lines[-1] == "1 item(s); nothing stored"
    assert not (tmp_path / "data").exists()


async def test_sources_try_shows_closing_times_as_every_display_does(
    server: LoopbackServer,
) -> None:
    # Local midnight is the end of the day before, as in feeds, mail, the index and `deadlines`.
    title = "Consultation on drones: comments by 18 April 2026 at 00:00"
    url = server.page("/news", listing([("/a", title)]))
    result = await asyncio.to_thread(
        run_cli, "sources", "try", url, "--item", "li.news", "--title", "a", now=NOW
    )
    assert result.exit_code == 0, result.output
    assert "   deadline: 17 April 2026, 23:59 Brussels time: " in result.output


async def test_sources_try_with_half_the_selectors_is_a_configuration_error(
    server: LoopbackServer,
) -> None:
    url = server.page("/news", listing([("/a", "A")]))
    result = await asyncio.to_thread(run_cli, "sources", "try", url, "--item", "li.news")
    assert result.exit_code == 2
    assert "give both `item` and `title`, or neither" in result.output
