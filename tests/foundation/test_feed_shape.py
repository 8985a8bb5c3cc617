"""What a feed item carries: the full body, and a summary only when it says less."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from lxml import etree

from feeds.model import Item
from feeds.render.feed_xml import FeedInfo, render_rss_and_atom
from feeds.render.json_feed import render_json_feed
from tests.support.feedcheck import ATOM, check_atom, check_rss
from tests.support.jsonfeed import check_json_feed, json_feed_errors

BASE = "http://127.0.0.1:8080/"
INFO = FeedInfo("River news", BASE, "https://river.example.org/news", "River news", "en", "Ed")
WHEN = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
CONTENT = "{http://purl.org/rss/1.0/modules/content/}encoded"


def item(item_id: str, content: str, minutes: int) -> Item:
    at = WHEN.replace(minute=minutes)
    return Item(
        id=f"https://river.example.org/{item_id}",
        source_id="river",
        title=f"Item {item_id}",
        link=f"https://river.example.org/{item_id}",
        content=content,
        content_is_html=False,
        published=at,
        updated=at,
        first_seen=at,
    )


def test_one_paragraph_is_the_body_and_longer_items_get_a_summary() -> None:
    items = [item("two", "First part.\n\nSecond part.", 2), item("one", "Only part.", 1)]
    rss, atom = render_rss_and_atom(INFO, items, "river.rss", "river.atom")
    check_rss(rss, BASE + "river.rss")
    check_atom(atom, BASE + "river.atom")

    rss_items = etree.fromstring(rss).findall("channel/item")
    assert rss_items[0].findtext("description") == "<p>First part.</p>"
    assert rss_items[0].findtext(CONTENT) == "<p>First part.</p><p>Second part.</p>"
    # One paragraph: the description is the whole body; no second copy in content:encoded.
    assert rss_items[1].findtext("description") == "<p>Only part.</p>"
    assert rss_items[1].find(CONTENT) is None

    entries = etree.fromstring(atom).findall(f"{ATOM}entry")
    assert entries[0].findtext(f"{ATOM}summary") == "<p>First part.</p>"
    assert entries[0].findtext(f"{ATOM}content") == "<p>First part.</p><p>Second part.</p>"
    assert entries[1].find(f"{ATOM}summary") is None
    assert entries[1].findtext(f"{ATOM}content") == "<p>Only part.</p>"


def test_json_feed_is_valid_json_feed_1_1() -> None:
    items = [item("two", "First part.\n\nSecond part.", 2), item("one", "Only part.", 1)]
    data = render_json_feed(INFO, items, "river.json")
    document = check_json_feed(data, BASE + "river.json")
    assert [i["content_html"] for i in document["items"]] == [
        "<p>First part.</p><p>Second part.</p>",
        "<p>Only part.</p>",
    ]


def test_the_json_feed_check_catches_what_the_spec_forbids() -> None:
    document = json.loads(render_json_feed(INFO, [item("one", "Only part.", 1)], "river.json"))
    assert json_feed_errors(document) == []
    broken = json.loads(json.dumps(document))
    del broken["items"][0]["content_html"]  # an item needs content_html or content_text
    broken["items"][0]["date_published"] = "1 March 2024"  # not RFC 3339
    broken["autor"] = "typo"  # unknown members must start with "_"
    errors = json_feed_errors(broken)
    assert any(e.startswith("items/0: ") and "valid under any" in e for e in errors)
    assert any(e.startswith("items/0/date_published: ") for e in errors)
    assert any("'autor'" in e for e in errors)
    assert json_feed_errors({**document, "version": "https://jsonfeed.org/version/1"}) != []
