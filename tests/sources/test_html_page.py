"""The html reader on ECL-style newsroom pages served over loopback (and from files)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiohttp import web

from config.schema import SelectSettings
from feeds.errors import SourceError
from feeds.fetch import Fetcher
from feeds.sources.base import FetchState
from feeds.sources.html_page import HtmlPageReader, Selector
from tests.foundation.helpers import run_cli, site_block, write_config
from tests.sources.support import DATA, LoopbackServer, html_source

ECL = (DATA / "ecl_newsroom.html").read_bytes()


async def test_reads_an_ecl_newsroom(server: LoopbackServer, fetcher: Fetcher) -> None:
    url = server.page("/en/news", ECL)
    read = await HtmlPageReader(fetcher).read(html_source(url), FetchState())
    titles = [e.title for e in read.entries]
    assert titles == [
        "Commission asks for views on smart water meters",
        "New guidance on bridge inspections published",
        "Lighthouse keepers forum & open day",
    ]
    first, second, third = read.entries
    assert first.link == server.url("/news/call-evidence-water-meters_en")
    assert second.link == "https://elsewhere.example/press/bridges"
    assert third.link == server.url("/en/events/lighthouse-forum_en")
    # a date-only value is noon in the source zone (Europe/Brussels, UTC+1 in February)
    assert first.published == datetime(2026, 2, 11, 11, 0, tzinfo=UTC)
    assert second.published == datetime(2026, 2, 6, 11, 0, tzinfo=UTC)
    assert read.state.content_hash is not None
    assert not read.unchanged


async def test_item_without_title_is_a_problem_and_skipped(
    server: LoopbackServer, fetcher: Fetcher
) -> None:
    url = server.page("/en/news", ECL)
    read = await HtmlPageReader(fetcher).read(html_source(url), FetchState())
    assert len(read.problems) == 1
    problem = read.problems[0]
    assert problem.source_id == "newsroom"
    assert "title='.ecl-content-block__title a' matched nothing" in str(problem)
    assert "lost its title" in problem.item


async def test_content_is_sanitised_with_absolute_links(
    server: LoopbackServer, fetcher: Fetcher
) -> None:
    url = server.page("/en/news", ECL)
    read = await HtmlPageReader(fetcher).read(html_source(url), FetchState())
    content = read.entries[0].content
    assert read.entries[0].content_is_html
    assert "<script" not in content
    assert "steal" not in content
    assert "onclick" not in content
    link = server.url("/consultations/water-meters_en")
    assert f'<a href="{link}" rel="noopener noreferrer">' in content
    assert "<strong>call for evidence</strong>" in content
    assert "<ul><li>Talks</li><li>Guided visits</li></ul>" in read.entries[2].content


async def test_consultation_wording_survives_in_the_content(
    server: LoopbackServer, fetcher: Fetcher
) -> None:
    url = server.page("/en/news", ECL)
    read = await HtmlPageReader(fetcher).read(html_source(url), FetchState())
    entry = read.entries[0]
    assert "open until 11 March 2026" in entry.content
    assert entry.summary is not None
    assert "call for evidence on smart water meters is open until 11 March 2026" in entry.summary


async def test_unchanged_page_is_not_downloaded_again(
    server: LoopbackServer, fetcher: Fetcher
) -> None:
    url = server.page("/en/news", ECL, etag=True)
    reader = HtmlPageReader(fetcher)
    first = await reader.read(html_source(url), FetchState())
    again = await reader.read(html_source(url), first.state)
    assert again.unchanged
    assert again.entries == ()
    assert [hit.status for hit in server.hits("/en/news")] == [200, 304]


async def test_links_resolve_against_the_url_after_redirects(
    server: LoopbackServer, fetcher: Fetcher
) -> None:
    async def moved(request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound(location="/fr/deep/news")

    url = server.route("/start", moved)
    server.page("/fr/deep/news", ECL)
    read = await HtmlPageReader(fetcher).read(html_source(url), FetchState())
    assert read.entries[2].link == server.url("/fr/deep/events/lighthouse-forum_en")


async def test_a_selector_that_matches_nothing_names_the_selector(
    server: LoopbackServer, fetcher: Fetcher
) -> None:
    url = server.page("/en/news", ECL)
    select = SelectSettings(item="article.ecl-card", title="h3")
    with pytest.raises(SourceError) as caught:
        await HtmlPageReader(fetcher).read(html_source(url, select=select), FetchState())
    assert f"selector item='article.ecl-card' matched nothing on {url}" in str(caught.value)


async def test_a_title_selector_that_never_matches_fails_the_source(
    server: LoopbackServer, fetcher: Fetcher
) -> None:
    url = server.page("/en/news", ECL)
    select = SelectSettings(item="article.ecl-content-item", title="h2.nothing")
    with pytest.raises(SourceError, match=r"title='h2\.nothing' matched nothing in any of the 4"):
        await HtmlPageReader(fetcher).read(html_source(url, select=select), FetchState())


async def test_broken_html_still_parses(server: LoopbackServer, fetcher: Fetcher) -> None:
    url = server.page("/broken", (DATA / "ecl_broken.html").read_bytes())
    read = await HtmlPageReader(fetcher).read(html_source(url), FetchState())
    assert [e.title for e in read.entries] == [
        "First item with unclosed bold",
        "Second item, unquoted href",
        "Third item at end of file",
    ]
    assert read.entries[1].link == server.url("/news/two")
    assert read.entries[1].published == datetime(2026, 3, 3, 11, 0, tzinfo=UTC)
    assert "Second paragraph" in read.entries[0].content


async def test_windows_1252_page_decoded_from_the_header(
    server: LoopbackServer, fetcher: Fetcher
) -> None:
    page = (
        '<article class="ecl-content-item"><div class="ecl-content-block__title">'
        '<a href="/a">R\u00e9union \u2013 co\u00fbt 5 \u20ac</a></div></article>'
    ).encode("cp1252")
    url = server.page("/cp1252", page, charset="windows-1252")
    read = await HtmlPageReader(fetcher).read(html_source(url), FetchState())
    assert read.entries[0].title == "R\u00e9union \u2013 co\u00fbt 5 \u20ac"


async def test_latin1_page_decoded_from_meta(server: LoopbackServer, fetcher: Fetcher) -> None:
    page = (
        '<html><head><meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1">'
        '</head><body><article class="ecl-content-item"><div class="ecl-content-block__title">'
        '<a href="/a">\u00c9t\u00e9 \u00e0 Li\u00e8ge</a></div></article></body></html>'
    ).encode("latin-1")
    url = server.page("/latin1", page, charset=None)
    read = await HtmlPageReader(fetcher).read(html_source(url), FetchState())
    assert read.entries[0].title == "\u00c9t\u00e9 \u00e0 Li\u00e8ge"


async def test_french_dates(server: LoopbackServer, fetcher: Fetcher) -> None:
    url = server.page("/fr/actualites", (DATA / "newsroom_fr.html").read_bytes())
    source = html_source(url, language="fr")
    read = await HtmlPageReader(fetcher).read(source, FetchState())
    assert [e.published for e in read.entries] == [
        datetime(2026, 2, 11, 11, 0, tzinfo=UTC),
        datetime(2026, 12, 1, 11, 0, tzinfo=UTC),
    ]
    assert "ouverte jusqu'au 11 mars 2026" in read.entries[0].content


async def test_attribute_selectors_for_title_link_and_datetime(
    server: LoopbackServer, fetcher: Fetcher
) -> None:
    url = server.page("/blog/", (DATA / "time_attr.html").read_bytes())
    select = SelectSettings(
        item="ul.posts li", title="a.post@title", link="a@href", date="time@datetime"
    )
    read = await HtmlPageReader(fetcher).read(html_source(url, select=select), FetchState())
    assert [(e.title, e.link) for e in read.entries] == [
        ("First post", server.url("/posts/1")),
        ("Second post", server.url("/blog/posts/2")),
    ]
    assert read.entries[0].published == datetime(2026, 2, 11, 8, 30, tzinfo=UTC)
    assert read.entries[1].published == datetime(2026, 2, 12, 11, 0, tzinfo=UTC)


async def test_a_saved_page_file_resolves_links_against_the_source_link(
    fetcher: Fetcher, tmp_path: Path
) -> None:
    page = tmp_path / "news.html"
    page.write_bytes(ECL)
    source = html_source(path=page, link="https://commission.example/en/news")
    reader = HtmlPageReader(fetcher)
    read = await reader.read(source, FetchState())
    assert read.entries[0].link == "https://commission.example/news/call-evidence-water-meters_en"
    assert read.entries[2].link == "https://commission.example/en/events/lighthouse-forum_en"
    assert (await reader.read(source, read.state)).unchanged


@pytest.mark.parametrize(
    ("text", "css", "attr"),
    [
        ("a@href", "a", "href"),
        ("@href", "", "href"),
        ("time @datetime", "time", "datetime"),
        ('a[href*="@"]', 'a[href*="@"]', None),
        (".title a", ".title a", None),
    ],
)
def test_selector_syntax(text: str, css: str, attr: str | None) -> None:
    selector = Selector.parse(text)
    assert (selector.css, selector.attr) == (css, attr)


async def test_a_selector_that_is_not_css_is_one_error_naming_its_key(
    server: LoopbackServer, fetcher: Fetcher
) -> None:
    url = server.page("/en/news", ECL)
    select = SelectSettings(item="article[[", title="h3 a@")
    with pytest.raises(SourceError) as caught:
        await HtmlPageReader(fetcher).read(html_source(url, select=select), FetchState())
    assert str(caught.value) == (
        "source 'newsroom': select.item: 'article[[' is not a CSS selector; "
        "select.title: 'h3 a@' is not a CSS selector"
    )


def test_config_check_and_sources_try_refuse_a_selector_that_is_not_css(tmp_path: Path) -> None:
    body = site_block() + (
        '[[sources]]\nid = "newsroom"\nkind = "html"\nurl = "https://example.org/news"\n'
        'title = "News"\n[sources.select]\nitem = "li.news["\ntitle = "a"\n'
    )
    checked = run_cli("config", "check", config=write_config(tmp_path, body))
    assert checked.exit_code == 2
    assert "source 'newsroom': select.item: 'li.news[' is not a CSS selector" in checked.stderr
    # refused before anything is fetched: nothing listens on port 9
    tried = run_cli("sources", "try", "http://127.0.0.1:9/", "--item", "li", "--title", ">>")
    assert tried.exit_code == 2
    assert tried.stderr.strip() == (
        "feedline: error: sources try: select.title: '>>' is not a CSS selector"
    )


async def test_an_items_link_is_its_http_page_never_a_mailto(
    server: LoopbackServer, fetcher: Fetcher
) -> None:
    page = (
        b'<ul><li class="news"><a href="mailto:press@example.org">Contact the press office</a>'
        b'</li><li class="news"><h3><a href="mailto:desk@example.org">Water plan</a>'
        b'<a href="/news/water">more</a></h3></li></ul>'
    )
    url = server.page("/en/news", page)
    select = SelectSettings(item="li.news", title="a")
    read = await HtmlPageReader(fetcher).read(html_source(url, select=select), FetchState())
    contact, water = read.entries
    assert contact.link is None  # the store links it to the source page with a fragment
    assert water.link == server.url("/news/water")
    with_link = SelectSettings(item="li.news", title="a", link="a@href")
    read = await HtmlPageReader(fetcher).read(html_source(url, select=with_link), FetchState())
    assert [e.link for e in read.entries] == [None, server.url("/news/water")]
