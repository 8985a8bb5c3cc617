"""Following item pages safely: size limit, content type, robots.txt, other hosts, internal
addresses, redirects, and at most `follow_max` new pages per refresh."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp import web
from sqlalchemy import Engine

from feeds.fetch import Fetcher
from tests.sources.conftest import MakeFetcher
from tests.sources.follow_site import (
    Notice,
    active_deadlines,
    html_follow_source,
    item_page,
    listing,
    meta_published,
    refresh,
    settings_for,
    stored_items,
)
from tests.sources.support import LoopbackServer
from tests.support.db import sqlite_engine

NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
BODY = [
    "The agency asks for views on the draft guidance for harbour pilots and their training "
    "schedules, published with this notice.",
    "The consultation closes on 30 April 2026.",
]


def notice(slug: str, day: int = 2) -> Notice:
    return Notice(slug, f"Guidance {slug}", BODY, meta=meta_published(f"2026-03-{day:02d}"))


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Engine]:
    """For the tests whose subject does not depend on the database: SQLite only."""
    db = sqlite_engine(tmp_path)
    yield db
    db.dispose()


async def test_a_page_over_the_size_limit_keeps_the_listing_data(
    server: LoopbackServer, make_fetcher: MakeFetcher, engine: Engine, tmp_path: Path
) -> None:
    server.page("/news/small", item_page(notice("small")))
    big = item_page(Notice("big", "Guidance big", [*BODY, "x" * 5000]))
    server.page("/news/big", big)
    url = server.page("/news", listing([("/news/small", "Small"), ("/news/big", "Big")]))
    settings = settings_for(tmp_path, html_follow_source(url))
    fetcher = make_fetcher(max_bytes=4096)
    report = await refresh(settings, engine, fetcher, NOW)
    outcome = report.outcomes[0]
    assert outcome.status == "ok"
    assert [p.item for p in outcome.problems] == [server.url("/news/big")]
    assert "body larger than 4.1 kB" in str(outcome.problems[0])
    titles = {i.title: i for i in stored_items(engine)}
    assert set(titles) == {"Small", "Big"}
    assert titles["Big"].content == ""  # the listing's data: a title and a link
    assert "harbour pilots" in titles["Small"].content


async def test_a_page_that_is_not_html_is_reported(
    server: LoopbackServer, fetcher: Fetcher, engine: Engine, tmp_path: Path
) -> None:
    server.page("/news/report.pdf", b"%PDF-1.7", "application/pdf", charset=None)
    url = server.page("/news", listing([("/news/report.pdf", "Annual report")]))
    settings = settings_for(tmp_path, html_follow_source(url))
    report = await refresh(settings, engine, fetcher, NOW)
    (problem,) = report.outcomes[0].problems
    assert "got application/pdf" in str(problem)
    assert [i.title for i in stored_items(engine)] == ["Annual report"]


async def test_robots_txt_disallow_is_honoured_with_a_clear_message(
    server: LoopbackServer, fetcher: Fetcher, sqlite_db: Engine, tmp_path: Path
) -> None:
    server.page("/robots.txt", "User-agent: *\nDisallow: /private/\n", "text/plain")
    server.page("/news/open", item_page(notice("open")))
    server.page("/private/draft", item_page(notice("draft")))
    links = [("/news/open", "Open"), ("/private/draft", "Draft")]
    url = server.page("/news", listing(links))
    settings = settings_for(tmp_path, html_follow_source(url))
    report = await refresh(settings, sqlite_db, fetcher, NOW)
    (problem,) = report.outcomes[0].problems
    assert f"robots.txt of {server.base[7:]} disallows {server.url('/private/draft')}" in str(
        problem
    )
    assert server.hits("/private/draft") == []
    assert len(server.hits("/news/open")) == 1
    # cached: one robots.txt fetch for the whole refresh, and for the next one
    await refresh(settings, sqlite_db, fetcher, NOW + timedelta(minutes=5))
    assert len(server.hits("/robots.txt")) <= 2  # one per Follower (one per process)


async def test_links_to_loopback_from_a_public_listing_are_never_followed(
    server: LoopbackServer, fetcher: Fetcher, sqlite_db: Engine, tmp_path: Path
) -> None:
    server.page("/admin/secret", item_page(notice("secret")))
    saved = tmp_path / "news.html"
    saved.write_text(listing([(server.url("/admin/secret"), "Secret")]), encoding="utf-8")
    public = {
        "id": "newsroom",
        "kind": "html",
        "title": "Newsroom",
        "path": str(saved),
        "link": "https://news.example.org/news",
        "follow": True,
        "select": {"item": "li.news", "title": "a"},
    }
    # another host: refused before any address is looked at
    report = await refresh(settings_for(tmp_path, public), sqlite_db, fetcher, NOW)
    (problem,) = report.outcomes[0].problems
    assert "not the listing's site news.example.org" in str(problem)
    # named in follow_hosts, it is still an internal address
    named = {**public, "follow_hosts": ["127.0.0.1"]}
    report = await refresh(settings_for(tmp_path, named), sqlite_db, fetcher, NOW)
    (problem,) = report.outcomes[0].problems
    assert "resolves to the internal address 127.0.0.1: not followed" in str(problem)
    assert server.seen == []  # nothing at all reached the internal service


async def test_a_public_host_name_resolving_to_loopback_is_not_followed(
    server: LoopbackServer, fetcher: Fetcher, sqlite_db: Engine, tmp_path: Path
) -> None:
    addresses = {"news.example.org": ["93.184.215.14"], "intranet.example.org": ["127.0.0.1"]}

    async def resolve(host: str) -> list[str]:
        return addresses[host]

    saved = tmp_path / "news.html"
    saved.write_text(listing([("http://intranet.example.org/x", "Inside")]), encoding="utf-8")
    source = {
        "id": "newsroom",
        "kind": "html",
        "title": "Newsroom",
        "path": str(saved),
        "link": "https://news.example.org/news",
        "follow": True,
        "follow_hosts": ["example.org"],
        "select": {"item": "li.news", "title": "a"},
    }
    report = await refresh(settings_for(tmp_path, source), sqlite_db, fetcher, NOW, resolve=resolve)
    (problem,) = report.outcomes[0].problems
    assert "http://intranet.example.org/x resolves to the internal address 127.0.0.1" in str(
        problem
    )


async def test_a_redirect_to_another_host_is_refused(
    server: LoopbackServer, fetcher: Fetcher, sqlite_db: Engine, tmp_path: Path
) -> None:
    elsewhere = server.url("/target").replace("127.0.0.1", "localhost")

    async def moved(request: web.Request) -> web.StreamResponse:
        return web.Response(status=302, headers={"Location": elsewhere})

    server.route("/news/moved", moved)
    server.page("/target", item_page(notice("target")))
    url = server.page("/news", listing([("/news/moved", "Moved")]))
    report = await refresh(settings_for(tmp_path, html_follow_source(url)), sqlite_db, fetcher, NOW)
    (problem,) = report.outcomes[0].problems
    assert f"{elsewhere} is on localhost, not the listing's site 127.0.0.1" in str(problem)
    assert server.hits("/target") == []
    assert [i.title for i in stored_items(sqlite_db)] == ["Moved"]


async def test_at_most_follow_max_new_pages_per_refresh_newest_first(
    server: LoopbackServer, fetcher: Fetcher, sqlite_db: Engine, tmp_path: Path
) -> None:
    for slug in ("a", "b", "c"):
        server.page(f"/news/{slug}", item_page(notice(slug)), etag=True)
    page = (
        "<ul>"
        '<li class="news"><a href="/news/a">A</a> <time>2 March 2026</time></li>'
        '<li class="news"><a href="/news/b">B</a> <time>6 March 2026</time></li>'
        '<li class="news"><a href="/news/c">C</a> <time>4 March 2026</time></li></ul>'
    )
    url = server.page("/news", page, etag=True)
    source = html_follow_source(
        url, follow_max=2, select={"item": "li.news", "title": "a", "date": "time"}
    )
    settings = settings_for(tmp_path, source)
    await refresh(settings, sqlite_db, fetcher, NOW)
    assert [len(server.hits(f"/news/{s}")) for s in "abc"] == [0, 1, 1]
    assert active_deadlines(sqlite_db).keys() == {server.url("/news/b"), server.url("/news/c")}
    report = await refresh(settings, sqlite_db, fetcher, NOW + timedelta(hours=1))
    assert report.outcomes[0].status == "ok"  # the listing answered 304; page a is new
    assert [len(server.hits(f"/news/{s}")) for s in "abc"] == [1, 2, 2]
    assert len(active_deadlines(sqlite_db)) == 3


async def test_old_pages_are_not_fetched_again(
    server: LoopbackServer, fetcher: Fetcher, sqlite_db: Engine, tmp_path: Path
) -> None:
    server.page("/news/a", item_page(notice("a")), etag=True)
    url = server.page("/news", listing([("/news/a", "A")]), etag=True)
    settings = settings_for(tmp_path, html_follow_source(url, follow_days=30))
    await refresh(settings, sqlite_db, fetcher, NOW)
    # past 30 days and past the deadline (30 April): the page is left alone
    await refresh(settings, sqlite_db, fetcher, datetime(2026, 5, 20, tzinfo=UTC))
    assert len(server.hits("/news/a")) == 1


async def test_an_old_page_with_an_open_deadline_is_revalidated(
    server: LoopbackServer, fetcher: Fetcher, sqlite_db: Engine, tmp_path: Path
) -> None:
    server.page("/news/a", item_page(notice("a")), etag=True)
    url = server.page("/news", listing([("/news/a", "A")]), etag=True)
    settings = settings_for(tmp_path, html_follow_source(url, follow_days=30))
    await refresh(settings, sqlite_db, fetcher, NOW)
    # past 30 days, but the consultation is open until 30 April: still revalidated, with a 304
    await refresh(settings, sqlite_db, fetcher, datetime(2026, 4, 20, tzinfo=UTC))
    hits = server.hits("/news/a")
    assert [h.status for h in hits] == [200, 304]
    assert "If-None-Match" in hits[1].headers


async def test_crawl_delay_spaces_the_requests_to_a_host(
    server: LoopbackServer, fetcher: Fetcher, sqlite_db: Engine, tmp_path: Path
) -> None:
    server.page("/robots.txt", "User-agent: *\nCrawl-delay: 4\n", "text/plain")
    for slug in ("a", "b", "c"):
        server.page(f"/news/{slug}", item_page(notice(slug)))
    url = server.page("/news", listing([(f"/news/{s}", s.upper()) for s in "abc"]))
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    settings = settings_for(tmp_path, html_follow_source(url))
    await refresh(settings, sqlite_db, fetcher, NOW, sleep=sleep)
    # three pages, at most two at once: the second starts 4 s after the first, the third 8 s
    assert sorted(round(w) for w in waits) == [4, 8]
    assert all(len(server.hits(f"/news/{s}")) == 1 for s in "abc")


async def test_a_page_that_times_out_keeps_the_item_and_the_other_pages(
    server: LoopbackServer, make_fetcher: MakeFetcher, sqlite_db: Engine, tmp_path: Path
) -> None:
    async def never(request: web.Request) -> web.StreamResponse:
        await server.release.wait()
        return web.Response(text="late")

    server.route("/news/slow", never)
    server.page("/news/fast", item_page(notice("fast")))
    url = server.page("/news", listing([("/news/slow", "Slow"), ("/news/fast", "Fast")]))
    fetcher = make_fetcher(timeout=0.2, retries=0)
    report = await refresh(settings_for(tmp_path, html_follow_source(url)), sqlite_db, fetcher, NOW)
    outcome = report.outcomes[0]
    assert outcome.status == "ok"
    (problem,) = outcome.problems
    assert f"timed out after 0.2s fetching {server.url('/news/slow')}" in str(problem)
    assert {i.title for i in stored_items(sqlite_db)} == {"Slow", "Fast"}
    assert active_deadlines(sqlite_db).keys() == {server.url("/news/fast")}


async def test_failing_pages_do_not_starve_new_ones(
    server: LoopbackServer, fetcher: Fetcher, sqlite_db: Engine, tmp_path: Path
) -> None:
    server.page("/news/a.pdf", b"%PDF", "application/pdf", charset=None)
    server.page("/news/b", item_page(notice("b")))
    first = listing([("/news/a.pdf", "A report")])
    url = server.page("/news", first)
    settings = settings_for(tmp_path, html_follow_source(url, follow_max=1))
    await refresh(settings, sqlite_db, fetcher, NOW)
    server.page("/news", listing([("/news/b", "B notice"), ("/news/a.pdf", "A report")]))
    await refresh(settings, sqlite_db, fetcher, NOW + timedelta(hours=1))
    assert len(server.hits("/news/b")) == 1  # the new page took the one slot
    assert len(server.hits("/news/a.pdf")) == 1  # the failing one waits for a free slot
    await refresh(settings, sqlite_db, fetcher, NOW + timedelta(hours=2))
    assert len(server.hits("/news/a.pdf")) == 2


async def test_a_host_that_rebinds_to_loopback_after_the_check_is_not_read(
    server: LoopbackServer, fetcher: Fetcher, sqlite_db: Engine, tmp_path: Path
) -> None:
    # The check's lookup says "localhost" is public (a first DNS answer); the connection then
    # goes where the system resolves it, loopback (a second answer): the page is not read.
    async def first_answer(host: str) -> list[str]:
        return ["93.184.215.14"]

    port = server.base.rsplit(":", 1)[1]
    server.page("/news/a", item_page(notice("a")))
    saved = tmp_path / "news.html"
    saved.write_text(listing([(f"http://localhost:{port}/news/a", "A")]), encoding="utf-8")
    source = {
        "id": "newsroom",
        "kind": "html",
        "title": "Newsroom",
        "path": str(saved),
        "link": f"http://localhost:{port}/news",
        "follow": True,
        "select": {"item": "li.news", "title": "a"},
    }
    settings = settings_for(tmp_path, source)
    report = await refresh(settings, sqlite_db, fetcher, NOW, resolve=first_answer)
    (problem,) = report.outcomes[0].problems
    assert "would connect to the internal address 127.0.0.1" in str(problem)
    assert server.hits("/news/a") == []  # nothing was sent to loopback
    (item,) = stored_items(sqlite_db)
    assert item.content == ""  # nothing of what loopback answered
    assert active_deadlines(sqlite_db) == {}
