"""Reading an item page: feedline's call into trafilatura gives what `trafilatura.extract` gives."""

from __future__ import annotations

import pytest
import trafilatura

from feeds.follow.page import main_text_html
from tests.sources.follow_site import Notice, item_page, json_ld_published

URL = "https://example.org/news/1"
LONG = (
    "The ministry invites comments from citizens, businesses and public authorities on the "
    "review of the rules on harbour pilots, as announced in the work programme."
)
PAGES = {
    "a notice": item_page(Notice("a", "Call for evidence", [LONG, "Open until 15 April."])),
    "lists, links and a table": item_page(
        Notice(
            "b",
            "Consultation",
            [
                LONG,
                "See <a href='/docs/plan.pdf'>the plan</a> and <b>reply</b> by 3 May.",
                "</p><ul><li>First question</li><li>Second question</li></ul><p>",
                "</p><table><tr><th>Step</th><th>Date</th></tr><tr><td>Replies</td>"
                "<td>3 May 2026</td></tr></table><p>",
            ],
            meta=json_ld_published("2026-03-06"),
        )
    ),
    "a very short page": "<html><head><title>T</title></head><body><nav>Home</nav>"
    "<h1>T</h1><div>Views by 30 April.</div></body></html>",
}


@pytest.mark.parametrize("name", PAGES)
def test_the_main_text_is_what_trafilatura_extract_gives(name: str) -> None:
    html = PAGES[name]
    expected = trafilatura.extract(
        trafilatura.load_html(html),
        url=URL,
        output_format="html",
        include_comments=False,
        include_links=True,
        include_tables=True,
        include_formatting=True,
    )
    tree = trafilatura.load_html(html)
    assert tree is not None
    assert main_text_html(tree, URL) == expected
    assert expected  # a page with a text: the comparison is not of two Nones


def test_the_extraction_options_are_those_trafilatura_would_make() -> None:
    from trafilatura.settings import Extractor

    from feeds.follow.page import _options

    made = Extractor(
        output_format="html", comments=False, links=True, tables=True, formatting=True, url=URL
    )
    copied = _options(URL)
    assert {k: getattr(copied, k) for k in Extractor.__slots__} == {
        k: getattr(made, k) for k in Extractor.__slots__
    }
    assert copied.date_params is not _options(URL).date_params  # nothing shared between pages
