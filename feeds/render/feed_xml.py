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

from feedgen.ext.base import BaseExtension
from feedgen.feed import FeedGenerator
from lxml import etree

from feeds.model import Item
from feeds.render.display import item_html_and_summary
from feeds.text import clean_line

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
GENERATOR = "feedline"
RSS_MIME = "application/rss+xml"
ATOM_MIME = "application/atom+xml"
ATOM_NS = "http://www.w3.org/2005/Atom"


@dataclass(frozen=True, slots=True)
class FeedInfo:
    """What a rendered feed says about itself."""

    title: str
    self_url_base: str  # base_url; file names are appended
    page_link: str
    description: str
    language: str
    author: str
    hub: str | None = None  # a WebSub hub: `<link rel="hub">` in each format


class _HubLink(BaseExtension):  # type: ignore[misc]
    """feedgen writes only the self `atom:link` into RSS; this adds the WebSub hub's."""

    def __init__(self) -> None:
        self.href: str | None = None

    def extend_ns(self) -> dict[str, str]:
        return {"atom": ATOM_NS}

    def extend_rss(self, feed: etree._Element) -> etree._Element:
        if self.href is not None:
            etree.SubElement(feed[0], f"{{{ATOM_NS}}}link", href=self.href, rel="hub")
        return feed


def feed_updated(items: Sequence[Item]) -> datetime:
    return max((item.updated for item in items), default=EPOCH)


def _generator(info: FeedInfo, items: Sequence[Item]) -> FeedGenerator:
    """The feed with its entries; `_point_at` sets the self URL each format needs."""
    feed = FeedGenerator()
    if info.hub is not None:
        feed.register_extension("websub", _HubLink, atom=False, rss=True)
        feed.websub.href = info.hub
    feed.title(clean_line(info.title))
    feed.description(clean_line(info.description) or clean_line(info.title))
    feed.language(info.language)
    feed.author({"name": clean_line(info.author)})
    feed.generator(GENERATOR, uri="https://feedline.invalid/")
    updated = feed_updated(items)
    feed.updated(updated)
    feed.lastBuildDate(updated)
    for item in items:
        content, summary = item_html_and_summary(item)
        entry = feed.add_entry(order="append")
        entry.id(item.id)
        entry.guid(item.id, permalink=item.id == item.link)
        entry.title(clean_line(item.title))
        entry.link(href=item.link, rel="alternate")
        entry.published(item.published)
        entry.updated(item.updated)
        entry.content(content, type="html")  # display strips control characters
        if summary != content:  # a one-paragraph item: a summary would repeat it all
            entry.summary(summary, type="html")
    return feed


def _point_at(feed: FeedGenerator, info: FeedInfo, self_url: str, mime: str) -> None:
    # The self link first: the RSS channel <link> is the last link() call.
    feed.id(self_url)
    feed.link(href=self_url, rel="self", type=mime, replace=True)
    if info.hub is not None:  # Atom shows it; RSS gets it from _HubLink
        feed.link(href=info.hub, rel="hub")
    feed.link(href=info.page_link, rel="alternate", type="text/html")


def render_rss_and_atom(
    info: FeedInfo, items: Sequence[Item], rss_name: str, atom_name: str
) -> tuple[bytes, bytes]:
    """Both formats from one generator: the entries are built once (same bytes as apart)."""
    feed = _generator(info, items)
    _point_at(feed, info, info.self_url_base + rss_name, RSS_MIME)
    rss: bytes = feed.rss_str(pretty=True)
    _point_at(feed, info, info.self_url_base + atom_name, ATOM_MIME)
    atom: bytes = feed.atom_str(pretty=True)
    return rss, atom
