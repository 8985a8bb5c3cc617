"""RSS 2.0 and Atom 1.0 with feedgen. feedgen stays behind this module.

Pitfalls handled (ARCHITECTURE.md): entries appended in order (feedgen prepends by default);
XML-illegal characters stripped first; aware datetimes only; the self link added before the
alternate link (RSS channel <link> is the last link() call); feed dates = newest item change,
never "now", so an unchanged feed renders to the same bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from feedgen.feed import FeedGenerator

from feeds.model import Item
from feeds.render.display import item_html, item_summary_html
from feeds.text import clean_line, strip_control

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
GENERATOR = "feedline"


@dataclass(frozen=True, slots=True)
class FeedInfo:
    """What a rendered feed says about itself."""

    title: str
    self_url_base: str  # base_url; file names are appended
    page_link: str
    description: str
    language: str
    author: str


def feed_updated(items: Sequence[Item]) -> datetime:
    return max((item.updated for item in items), default=EPOCH)


def _generator(info: FeedInfo, items: Sequence[Item], self_url: str, mime: str) -> FeedGenerator:
    feed = FeedGenerator()
    feed.id(self_url)
    feed.title(clean_line(info.title))
    feed.link(href=self_url, rel="self", type=mime)
    feed.link(href=info.page_link, rel="alternate", type="text/html")
    feed.description(clean_line(info.description) or clean_line(info.title))
    feed.language(info.language)
    feed.author({"name": clean_line(info.author)})
    feed.generator(GENERATOR, uri="https://feedline.invalid/")
    updated = feed_updated(items)
    feed.updated(updated)
    feed.lastBuildDate(updated)
    for item in items:
        entry = feed.add_entry(order="append")
        entry.id(item.id)
        entry.guid(item.id, permalink=item.id == item.link)
        entry.title(clean_line(item.title))
        entry.link(href=item.link, rel="alternate")
        entry.published(item.published)
        entry.updated(item.updated)
        entry.content(strip_control(item_html(item)), type="html")
        entry.summary(strip_control(item_summary_html(item)), type="html")
    return feed


def render_rss(info: FeedInfo, items: Sequence[Item], file_name: str) -> bytes:
    feed = _generator(info, items, info.self_url_base + file_name, "application/rss+xml")
    data: bytes = feed.rss_str(pretty=True)
    return data


def render_atom(info: FeedInfo, items: Sequence[Item], file_name: str) -> bytes:
    feed = _generator(info, items, info.self_url_base + file_name, "application/atom+xml")
    data: bytes = feed.atom_str(pretty=True)
    return data
