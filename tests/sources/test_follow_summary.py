"""Followed items in the feeds: the listing's teaser is the summary, the page's main text the
content, in RSS (`description` / `content:encoded`), Atom (`summary` / `content`) and JSON Feed
(`summary` / `content_html`); read back by feedparser, lxml and json as a reader would."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import feedparser
from lxml import etree
from sqlalchemy import Engine

from feeds.fetch import Fetcher
from tests.sources.follow_site import (
    Notice,
    item_page,
    meta_published,
    refresh,
    settings_for,
    stored_items,
)
from tests.sources.support import LoopbackServer

NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
TEASER = "Have your say on the rules for river water."
BODY = [
    "The ministry invites comments from citizens, businesses and public authorities on the "
    "review of the rules on river water, as announced in the work programme.",
    "The consultation is open until 15 April. Contributions received later are not read.",
]
CONTENT_NS = "{http://purl.org/rss/1.0/modules/content/}encoded"
ATOM = "{http://www.w3.org/2005/Atom}"
RSS = """<?xml version="1.0"?><rss version="2.0"><channel><title>Ministry</title>
<link>{base}/</link><description>News</description>
<item><title>Call for evidence on river water</title><link>{base}/news/water</link>
<guid>{base}/news/water</guid><description>{teaser}</description></item></channel></rss>"""


def serve_page(server: LoopbackServer) -> None:
    notice = Notice(
        "water", "Call for evidence on river water", BODY, meta=meta_published("2026-03-02")
    )
    server.page("/news/water", item_page(notice), etag=True)


def serve_listing(server: LoopbackServer, teaser: str) -> str:
    return server.page(
        "/news",
        "<!doctype html><html><head><title>News</title></head><body><ul><li class='news'>"
        f"<a href='/news/water'>Call for evidence on river water</a><p class='teaser'>{teaser}"
        "</p></li></ul></body></html>",
        etag=True,
    )


def teaser_source(url: str) -> dict[str, Any]:
    return {
        "id": "newsroom",
        "kind": "html",
        "title": "Newsroom",
        "url": url,
        "follow": True,
        "select": {"item": "li.news", "title": "a", "summary": "p.teaser"},
    }


def read_feeds(public: Path) -> dict[str, Any]:
    """Each format's one entry as readers see it; every document parses cleanly."""
    rss_bytes = (public / "newsroom.rss").read_bytes()
    atom_bytes = (public / "newsroom.atom").read_bytes()
    for document in (rss_bytes, atom_bytes):
        assert feedparser.parse(document).bozo == 0
    rss_item = etree.fromstring(rss_bytes).find("channel/item")
    atom_entry = etree.fromstring(atom_bytes).find(f"{ATOM}entry")
    assert rss_item is not None and atom_entry is not None
    (json_item,) = json.loads((public / "newsroom.json").read_text("utf-8"))["items"]
    return {
        "rss_description": rss_item.findtext("description"),
        "rss_content": rss_item.findtext(CONTENT_NS),
        "atom_summary": atom_entry.findtext(f"{ATOM}summary"),
        "atom_content": atom_entry.findtext(f"{ATOM}content"),
        "json": json_item,
        "parsed_rss": feedparser.parse(rss_bytes).entries[0],
    }


def assert_teaser_and_page(found: dict[str, Any], teaser: str) -> None:
    for summary in (found["rss_description"], found["atom_summary"]):
        assert teaser in summary
        assert "Closes 15 April 2026" in summary  # the deadline line stays on top
        assert "review of the rules on river water" not in summary
    assert found["json"]["summary"] == teaser
    for content in (found["rss_content"], found["atom_content"], found["json"]["content_html"]):
        assert "review of the rules on river water" in content
        assert "Contributions received later are not read" in content
        assert teaser not in content
        assert "cookie" not in content.lower() and "Related" not in content
    assert found["parsed_rss"].summary.count(teaser) == 1


async def test_a_listing_teaser_is_the_summary_and_the_page_text_the_content(
    server: LoopbackServer, fetcher: Fetcher, engine: Engine, tmp_path: Path
) -> None:
    serve_page(server)
    url = serve_listing(server, TEASER)
    settings = settings_for(tmp_path, teaser_source(url))
    await refresh(settings, engine, fetcher, NOW)
    (item,) = stored_items(engine)
    assert item.summary == TEASER
    assert_teaser_and_page(read_feeds(tmp_path / "public"), TEASER)
    # a new teaser on the listing is a changed item: the feeds carry the new one
    serve_listing(server, "Last weeks to comment on river water.")
    report = await refresh(settings, engine, fetcher, NOW + timedelta(hours=1))
    assert report.outcomes[0].updated == 1
    assert_teaser_and_page(read_feeds(tmp_path / "public"), "Last weeks to comment on river water.")


async def test_a_feed_of_teasers_keeps_its_teaser_as_the_summary(
    server: LoopbackServer, fetcher: Fetcher, engine: Engine, tmp_path: Path
) -> None:
    serve_page(server)
    feed = server.page(
        "/feed.xml", RSS.format(base=server.base, teaser=TEASER), "application/rss+xml"
    )
    source = {"id": "newsroom", "kind": "feed", "title": "N", "url": feed, "follow": True}
    await refresh(settings_for(tmp_path, source), engine, fetcher, NOW)
    assert_teaser_and_page(read_feeds(tmp_path / "public"), TEASER)


async def test_an_item_whose_page_is_not_read_has_no_separate_summary(
    server: LoopbackServer, fetcher: Fetcher, engine: Engine, tmp_path: Path
) -> None:
    url = serve_listing(server, TEASER)  # no item page: 404
    await refresh(settings_for(tmp_path, teaser_source(url)), engine, fetcher, NOW)
    (item,) = stored_items(engine)
    assert item.summary is None and TEASER in item.content
    found = read_feeds(tmp_path / "public")
    assert "summary" not in found["json"]
    assert TEASER in found["rss_description"] and found["rss_content"] is None
