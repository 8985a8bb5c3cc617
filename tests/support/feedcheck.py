"""A feed client's view: feedparser (bozo == 0) and lxml checks of what the standards require."""

from __future__ import annotations

import re
from email.utils import parsedate_to_datetime
from typing import Any

import feedparser
from lxml import etree

ATOM = "{http://www.w3.org/2005/Atom}"
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
RFC822 = re.compile(
    r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} [+-]\d{4}$"
)
CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


def check_rss(data: bytes, self_url: str, *, max_items: int = 100) -> Any:
    """Assert the RSS is what readers and the W3C validator expect; return feedparser's view."""
    parsed = feedparser.parse(data)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    assert not CONTROL.search(data.decode("utf-8"))
    root = etree.fromstring(data)
    channel = root.find("channel")
    assert channel is not None
    links = channel.findall(f"{ATOM}link")
    self_links = [link.get("href") for link in links if link.get("rel") == "self"]
    assert self_links == [self_url]
    assert channel.findtext("link", "").startswith("http")
    items = channel.findall("item")
    assert len(items) <= max_items
    dates = []
    for item in items:
        pub = item.findtext("pubDate")
        assert pub and RFC822.match(pub), pub
        dates.append(parsedate_to_datetime(pub))
        assert item.findtext("link", "").startswith(("http://", "https://"))
    assert dates == sorted(dates, reverse=True), "items must be newest first"
    guids = [item.findtext("guid") for item in items]
    assert len(set(guids)) == len(guids)
    return parsed


def check_atom(data: bytes, self_url: str, *, max_items: int = 100) -> Any:
    parsed = feedparser.parse(data)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    root = etree.fromstring(data)
    links = root.findall(f"{ATOM}link")
    self_links = [link.get("href") for link in links if link.get("rel") == "self"]
    assert self_links == [self_url]
    assert RFC3339.match(root.findtext(f"{ATOM}updated", ""))
    assert root.find(f"{ATOM}author") is not None
    entries = root.findall(f"{ATOM}entry")
    assert len(entries) <= max_items
    for entry in entries:
        assert RFC3339.match(entry.findtext(f"{ATOM}updated", ""))
        link = entry.find(f"{ATOM}link")
        assert link is not None and link.get("href", "").startswith(("http://", "https://"))
    ids = [entry.findtext(f"{ATOM}id") for entry in entries]
    assert len(set(ids)) == len(ids)
    return parsed
