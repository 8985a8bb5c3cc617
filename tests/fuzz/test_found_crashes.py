"""Crashes the fuzz run found, kept as regular tests."""

from __future__ import annotations

from feeds.sources.html_page import parse_html_page
from tests.fuzz.targets import feed_problems, html_page, source


def test_html_title_of_only_control_characters_is_skipped_and_reported() -> None:
    # Found by bench/fuzz_bench.py (140 crashes): the title became empty once the controls
    # were stripped for XML, and feedgen refused the whole RSS ("Required fields not set").
    html = (
        '<div class="item"><h2><a href="/a">\x01\x02\x1f\x7f</a></h2><p>first</p></div>'
        '<div class="item"><h2><a href="/b">Call for evidence</a></h2><p>second</p></div>'
    )
    src = source("html")
    entries, problems = parse_html_page(src, html, "https://fuzz.example.org/news")
    assert [e.title for e in entries] == ["Call for evidence"]
    assert len(problems) == 1 and "matched nothing" in str(problems[0])
    files = html_page(html)
    assert files and feed_problems(files) == []
    assert b"Call for evidence" in files["fuzz.rss"]


def test_feed_guid_with_a_control_character_renders() -> None:
    from tests.fuzz.targets import xml_feed

    body = (
        b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>T</title>'
        b"<link>https://fuzz.example.org/</link><description>D</description><item>"
        b"<title>0</title><guid>0\x08</guid></item></channel></rss>"
    )
    files = xml_feed(body)
    assert files and feed_problems(files) == []


def test_feed_with_a_lone_surrogate_reference_is_refused_not_crashed() -> None:
    from tests.fuzz.targets import xml_feed

    body = (
        b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>T</title>'
        b"<item><title></title><guid>&#XD800;</guid></item></channel></rss>"
    )
    assert feed_problems(xml_feed(body)) == []  # feedparser crashed: now a SourceError


def test_json_feed_title_of_a_control_character_and_a_list_url() -> None:
    from tests.fuzz.targets import json_feed

    body = (
        b'{"version": "https://jsonfeed.org/version/1.1", "title": "T", "items": '
        b'[{"id": "1", "title": "\\b"}, {"url": [null], "title": "x"}, '
        b'{"title": "ok", "url": "/a\\u001bb"}]}'
    )
    files = json_feed(body)
    assert files and feed_problems(files) == []
    assert b"/a%1Bb" in files["fuzz.rss"], "a control in a link is percent-encoded"


def test_html_link_with_a_control_character_renders() -> None:
    files = html_page('<div class="item"><h2><a href="0\x1b">0</a></h2></div>')
    assert files and feed_problems(files) == []


def test_item_file_with_an_impossible_yaml_date_is_skipped_and_reported() -> None:
    # Found by bench/fuzz_bench.py (27 of 8,000 item-folder inputs): PyYAML turns
    # `date: 9999-99-99` into a date and raises ValueError, not YAMLError.
    from zoneinfo import ZoneInfo

    import pytest

    from feeds.errors import ItemError
    from feeds.sources.item_folder import parse_item_file

    with pytest.raises(ItemError, match="impossible value"):
        parse_item_file(
            source("items"), "x.md", "---\ntitle: T\ndate: 9999-99-99\n---\nBody\n", ZoneInfo("UTC")
        )
    from tests.fuzz.targets import item_file

    assert item_file("---\ndate: 9999-99-99\n---\nBody\n") == {}
