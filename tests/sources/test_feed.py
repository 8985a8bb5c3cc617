"""The feed reader: RSS, Atom and JSON Feed over loopback; hostile XML refused."""

from __future__ import annotations

import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

import pytest

from feeds.errors import SourceError
from feeds.fetch import Fetcher
from feeds.sources.base import FetchState
from feeds.sources.feed import FeedReader
from tests.sources.support import DATA, LoopbackServer, feed_source


def data(name: str) -> bytes:
    return (DATA / name).read_bytes()


async def test_rss(server: LoopbackServer, fetcher: Fetcher) -> None:
    url = server.page("/rss", data("rss.xml"), "application/rss+xml")
    read = await FeedReader(fetcher).read(feed_source(url), FetchState())
    first, second, third = read.entries
    assert first.title == "Public consultation on harbour fees"
    # RSS has no xml:base: relative links resolve against the document's own URL
    assert first.link == server.url("/news/harbour-fees")
    assert first.guid == "agency-2026-014"
    assert first.published == datetime(2026, 2, 11, 9, 15, tzinfo=UTC)
    assert "<script" not in first.content
    assert f'<a href="{server.url("/consult/harbour")}" rel="noopener noreferrer">' in first.content
    assert "open until 11 March 2026" in first.content
    assert second.published == datetime(2026, 2, 2, 8, 0, tzinfo=UTC)
    assert third.title.startswith("An item with no title but a long enough description")
    assert third.title.endswith("…")
    assert read.problems == ()


async def test_atom(server: LoopbackServer, fetcher: Fetcher) -> None:
    url = server.page("/atom", data("atom.xml"), "application/atom+xml")
    read = await FeedReader(fetcher).read(feed_source(url), FetchState())
    first, second = read.entries
    assert first.title == "Call for evidence: quiet zones"
    assert first.guid == "tag:office.example,2026:quiet-zones"
    assert first.link == "https://office.example/updates/quiet-zones"
    assert first.published == datetime(2026, 2, 10, 8, 0, tzinfo=UTC)
    assert first.updated == datetime(2026, 2, 11, 12, 0, tzinfo=UTC)
    assert "Feedback period: 10 February 2026 - 10 March 2026" in first.content
    # relative links in content follow the feed's xml:base
    assert 'href="https://office.example/have-your-say" rel="noopener noreferrer"' in first.content
    # no <published>: the update time stands in
    assert second.published == datetime(2026, 2, 5, 8, 0, tzinfo=UTC)
    assert second.content == "<p>The office is closed for maintenance.</p>"


async def test_json_feed(server: LoopbackServer, fetcher: Fetcher) -> None:
    url = server.page("/feed.json", data("feed.json"), "application/feed+json")
    read = await FeedReader(fetcher).read(feed_source(url), FetchState())
    first, second = read.entries
    assert first.title == "Targeted consultation on bicycle parking"
    assert first.link == "https://council.example/notes/42"
    assert first.guid == "note-42"
    assert first.published == datetime(2026, 2, 11, 9, 0, tzinfo=UTC)
    assert first.updated == datetime(2026, 2, 12, 8, 0, tzinfo=UTC)
    assert first.content == "<p>Contributions must be received by 11 March 2026.</p>"
    assert second.title == "A short note without a title. Second paragraph."
    assert second.content == "<p>A short note without a title.</p><p>Second paragraph.</p>"
    assert len(read.problems) == 1
    assert read.problems[0].item == "note-40"


async def test_json_feed_with_an_unknown_version_is_refused(
    server: LoopbackServer, fetcher: Fetcher
) -> None:
    url = server.page(
        "/v9.json",
        b'{"version": "https://jsonfeed.org/version/9", "items": []}',
        "application/json",
    )
    with pytest.raises(SourceError, match="not a JSON Feed"):
        await FeedReader(fetcher).read(feed_source(url), FetchState())


async def test_entity_expansion_bomb_is_refused_fast(
    server: LoopbackServer, fetcher: Fetcher
) -> None:
    url = server.page("/bomb", data("bomb.xml"), "application/rss+xml")
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(SourceError, match="refused XML") as caught:
            await FeedReader(fetcher).read(feed_source(url), FetchState())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - started < 2
    assert peak < 20_000_000
    assert "entity declarations" in str(caught.value)


async def test_external_entity_is_refused(server: LoopbackServer, fetcher: Fetcher) -> None:
    url = server.page("/xxe", data("xxe.xml"), "application/rss+xml")
    with pytest.raises(SourceError, match="refused XML"):
        await FeedReader(fetcher).read(feed_source(url), FetchState())


async def test_a_doctype_naming_an_external_dtd_alone_is_allowed(
    server: LoopbackServer, fetcher: Fetcher
) -> None:
    rss = (
        b'<?xml version="1.0"?>\n'
        b'<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN"'
        b' "http://my.netscape.com/publish/formats/rss-0.91.dtd">\n<rss version="0.91"><channel>'
        b"<title>Old</title><link>https://old.example/</link><description>d</description>"
        b"<item><title>Still here</title><link>https://old.example/1</link></item>"
        b"</channel></rss>"
    )
    url = server.page("/old", rss, "text/xml")
    read = await FeedReader(fetcher).read(feed_source(url), FetchState())
    assert [e.title for e in read.entries] == ["Still here"]


async def test_a_page_that_is_not_a_feed_is_an_error(
    server: LoopbackServer, fetcher: Fetcher
) -> None:
    url = server.page("/html", data("ecl_newsroom.html"), "text/html")
    with pytest.raises(SourceError, match=r"not a well-formed feed|not an RSS, Atom or JSON feed"):
        await FeedReader(fetcher).read(feed_source(url), FetchState())


async def test_a_wrong_encoding_declaration_alone_is_fine(
    server: LoopbackServer, fetcher: Fetcher
) -> None:
    # the header says us-ascii, the document has UTF-8: feedparser flags an override, no error
    body = data("rss.xml").replace(b"harbour fees", "harbour fées".encode())
    url = server.page("/override", body, "application/rss+xml", charset="us-ascii")
    read = await FeedReader(fetcher).read(feed_source(url), FetchState())
    assert len(read.entries) == 3


async def test_unchanged_feed_is_not_downloaded_again(
    server: LoopbackServer, fetcher: Fetcher
) -> None:
    url = server.page("/rss", data("rss.xml"), "application/rss+xml", etag=True)
    reader = FeedReader(fetcher)
    first = await reader.read(feed_source(url), FetchState())
    again = await reader.read(feed_source(url), first.state)
    assert again.unchanged
    assert [hit.status for hit in server.hits("/rss")] == [200, 304]


async def test_a_feed_file(fetcher: Fetcher, tmp_path: Path) -> None:
    path = tmp_path / "atom.xml"
    path.write_bytes(data("atom.xml"))
    source = feed_source(path=path, link="https://office.example/updates/")
    read = await FeedReader(fetcher).read(source, FetchState())
    assert len(read.entries) == 2


async def test_a_pdf_is_not_a_feed(server: LoopbackServer, fetcher: Fetcher) -> None:
    url = server.page("/report.pdf", b"%PDF-1.7", "application/pdf", charset=None)
    with pytest.raises(
        SourceError, match=r"expected application/rss\+xml or .* got application/pdf"
    ):
        await FeedReader(fetcher).read(feed_source(url), FetchState())


@pytest.mark.parametrize("served_as", ["application/x-rss+xml", "application/x-atom+xml"])
async def test_a_feed_served_with_an_x_type_is_read(
    server: LoopbackServer, fetcher: Fetcher, served_as: str
) -> None:
    # `python -m http.server` serves .rss as application/x-rss+xml: it was refused
    name = "rss.xml" if "rss" in served_as else "atom.xml"
    url = server.page("/feed", data(name), served_as)
    read = await FeedReader(fetcher).read(feed_source(url), FetchState())
    assert read.entries and read.problems == ()


async def test_a_page_selector_that_is_not_css_fails_the_source_before_any_fetch(
    server: LoopbackServer, fetcher: Fetcher
) -> None:
    # it was "item page not read: could not read the page: SelectolaxError" for every item
    from config.schema import SelectSettings

    url = server.page("/rss", data("rss.xml"), "application/rss+xml")
    source = feed_source(url, follow=True, select=SelectSettings(page="article[["))
    with pytest.raises(SourceError) as caught:
        await FeedReader(fetcher).read(source, FetchState())
    assert str(caught.value) == "source 'agency': select.page: 'article[[' is not a CSS selector"
    assert server.seen == []
