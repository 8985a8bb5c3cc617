"""An `html` source without item selectors: the feed its page advertises, else a clear error.

The page's `<link rel="alternate" type="application/rss+xml|atom+xml|feed+json">` (the first
one) is read as a `feed` source would be. A page that advertises none gets an error saying that
selectors are needed, with the page's candidate repeated blocks (elements of the same tag and
class repeated under one parent, each holding a link) as `select.item` suggestions.

The page is fetched in full each time (its validators would hide a changed feed behind an
unchanged page); the feed itself is fetched conditionally with the source's stored state.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from pydantic import HttpUrl
from selectolax.lexbor import LexborHTMLParser, LexborNode

from config.schema import SourceSettings
from feeds.errors import SourceError
from feeds.fetch import Fetcher, load_source
from feeds.follow.links import LinkPolicy
from feeds.sanitise import absolute_url
from feeds.sources.base import FetchState, SourceRead
from feeds.sources.feed import FeedReader
from feeds.text import collapse

FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/feed+json")
ACCEPT_PAGE = "text/html, application/xhtml+xml;q=0.9"
CANDIDATES = 5
MIN_REPEATS = 3


def advertised_feed(html: str, page_url: str) -> str | None:
    """The URL of the first feed the page advertises, absolute; None when there is none."""
    tree = LexborHTMLParser(html)
    base_node = tree.css_first("base[href]")
    base = absolute_url(base_node.attributes.get("href"), page_url) if base_node else None
    for node in tree.css("link[rel][href]"):
        rels = (node.attributes.get("rel") or "").lower().split()
        kind = (node.attributes.get("type") or "").lower().split(";")[0].strip()
        if "alternate" in rels and kind in FEED_TYPES:
            return absolute_url(node.attributes.get("href"), base or page_url)
    return None


def _signature(node: LexborNode) -> str:
    classes = (node.attributes.get("class") or "").split()
    return (node.tag or "") + "".join(f".{c}" for c in classes[:2])


def _walk(node: LexborNode) -> Iterator[LexborNode]:
    child = node.child
    while child is not None:
        if child.tag and not child.tag.startswith("-"):
            yield child
            yield from _walk(child)
        child = child.next


def candidate_blocks(html: str) -> list[tuple[str, int, str]]:
    """(selector, how many, sample text) of blocks repeated under one parent with a link each."""
    tree = LexborHTMLParser(html)
    if tree.body is None:
        return []
    counts: Counter[str] = Counter()
    samples: dict[str, str] = {}
    for parent in _walk(tree.body):
        children = [c for c in _walk_children(parent) if c.css_first("a[href]") is not None]
        for signature, count in Counter(_signature(c) for c in children).items():
            if count >= MIN_REPEATS and count > counts[signature]:
                counts[signature] = count
                first = next(c for c in children if _signature(c) == signature)
                samples[signature] = collapse(first.text(separator=" "))[:50]
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:CANDIDATES]
    return [(sig, n, samples[sig]) for sig, n in ranked]


def _walk_children(node: LexborNode) -> Iterator[LexborNode]:
    child = node.child
    while child is not None:
        if child.tag and not child.tag.startswith("-"):
            yield child
        child = child.next


def selectors_needed(source_id: str, html: str, page_url: str) -> SourceError:
    found = candidate_blocks(html)
    hint = (
        "; candidate items: "
        + ", ".join(f"{sig!r} ({n}x, e.g. {text!r})" for sig, n, text in found)
        if found
        else "; no repeated blocks with links found"
    )
    return SourceError(
        source_id,
        f"{page_url} advertises no feed: give [sources.select] item and title{hint}",
    )


async def read_advertised_feed(
    fetcher: Fetcher, source: SourceSettings, previous: FetchState
) -> SourceRead:
    """Read the feed the source's page advertises (conditionally, with `previous`)."""
    page = await load_source(fetcher, source, FetchState(), accept=ACCEPT_PAGE)
    page_url = page.url if source.url is not None else source.page_link
    html = page.text(source.encoding)
    feed_url = advertised_feed(html, page_url)
    if feed_url is None:
        raise selectors_needed(source.id, html, page_url)
    guard = LinkPolicy(source.id, source.page_link, any_host=True).check
    await guard(feed_url)
    as_feed = source.model_copy(
        update={
            "kind": "feed",
            "url": HttpUrl(feed_url),
            "path": None,
            "link": source.link or HttpUrl(page_url),
        }
    )
    return await FeedReader(fetcher).read(as_feed, previous)
