"""What an item's own page says: its main text (sanitised HTML) and its publication dates.

A pure function on the page's text, so it runs in a worker process as well as here. The main
text is trafilatura's (navigation, sidebars, cookie banners, share boxes and footers removed),
or what the source's `select.page` selector picks. Dates come from the page's metadata through
htmldate (`article:published_time` and other meta tags, JSON-LD `datePublished`, `<time>`,
a dateline), never after `today`. A date-only value is noon in the source zone, as listing
dates are (see `feeds.sources.page_dates`).
"""

from __future__ import annotations

import copy
import hashlib
import importlib.metadata
import logging
from dataclasses import dataclass
from datetime import date, datetime, time
from functools import lru_cache
from zoneinfo import ZoneInfo

import htmldate
import lxml.html
import trafilatura
from lxml.html import HtmlElement
from selectolax.lexbor import LexborHTMLParser
from trafilatura.core import determine_returnstring
from trafilatura.settings import Extractor

from feeds.sanitise import sanitise_html
from feeds.text import collapse

log = logging.getLogger(__name__)

_DATE_TIME = "%Y-%m-%dT%H:%M:%S%z"
_EARLIEST = datetime(1995, 1, 1)  # noqa: DTZ001 - htmldate compares naive values


@lru_cache(maxsize=256)
def extractor_key(selector: str | None) -> str:
    """Changes when a stored page must be read again: another selector or extractor version.
    Cached: reading the versions from the installed metadata takes milliseconds."""
    versions = ",".join(importlib.metadata.version(name) for name in ("trafilatura", "htmldate"))
    text = f"{selector or ''}\x00{versions}\x00v2"
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


@dataclass(frozen=True, slots=True)
class PageText:
    """The parts of an item page that feedline uses."""

    content: str  # sanitised HTML of the main text; "" when none was found
    published: datetime | None
    updated: datetime | None


def _page_date(
    tree: HtmlElement, url: str, *, original: bool, zone: ZoneInfo, today: date
) -> datetime | None:
    latest = datetime.combine(today, time(23, 59))
    try:
        found = htmldate.find_date(
            tree,
            extensive_search=False,
            original_date=original,
            outputformat=_DATE_TIME,
            url=url,
            min_date=_EARLIEST,
            max_date=latest,
        )
    except Exception:  # a page htmldate cannot read has no date, not a failed item
        log.debug("htmldate failed on %s", url, exc_info=True)
        return None
    if not found:
        return None
    try:
        value = datetime.fromisoformat(found)
    except ValueError:
        return None
    if value.tzinfo is not None:
        return value
    if value.time() == time(0, 0):  # a date alone: noon in the source zone
        return datetime.combine(value.date(), time(12, 0), tzinfo=zone)
    return value.replace(tzinfo=zone)


def _selected(html: str, selector: str, url: str) -> str:
    root = LexborHTMLParser(html).root
    if root is None:
        return ""
    return sanitise_html("".join(node.html or "" for node in root.css(selector)), url)


def read_item_page(
    html: str, url: str, selector: str | None, zone_name: str, today: date
) -> PageText:
    """The main text and dates of one item page (`today` bounds the dates it may give)."""
    zone = ZoneInfo(zone_name)
    tree = trafilatura.load_html(html)
    if tree is None:
        return PageText("", None, None)
    published = _page_date(tree, url, original=True, zone=zone, today=today)
    updated = _page_date(tree, url, original=False, zone=zone, today=today)
    if updated is not None and (published is None or updated <= published):
        updated = None
    if selector:
        content = _selected(html, selector, url)
    else:
        titles = _page_titles(tree)  # before trafilatura: it may work on the tree itself
        main = main_text_html(tree, url)
        content = sanitise_html(_paragraphs(main, titles), url) if main else ""
    return PageText(content, published, updated)


def main_text_html(tree: HtmlElement, url: str) -> str | None:
    """trafilatura's main text of the page as HTML: what `trafilatura.extract(tree, url=url,
    output_format="html", include_comments=False, include_links=True, include_tables=True,
    include_formatting=True)` gives, the same string, without the step of `extract` that only
    its metadata header uses: a similarity fingerprint of the whole text, about a quarter of
    the call's time on a newsroom page (bench/follow_bench.py)."""
    options = _options(url)
    document = trafilatura.bare_extraction(tree, options=options)
    if document is None or isinstance(document, dict):
        return None
    return determine_returnstring(document, options)


@lru_cache(maxsize=1)
def _options_template() -> Extractor:
    return Extractor(output_format="html", comments=False, links=True, tables=True, formatting=True)


def _options(url: str) -> Extractor:
    """`Extractor(output_format="html", comments=False, links=True, tables=True,
    formatting=True, url=url)`, copied from one made once: making one reads a dozen values
    from trafilatura's ConfigParser (about 50 us, 2% of reading a small page)."""
    options = copy.copy(_options_template())
    options.url = url
    options.source = url.encode("utf-8", "replace").decode("utf-8")
    options.author_blacklist, options.url_blacklist = set(), set()
    options.date_params = dict(options.date_params)
    return options


_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
_TITLE_SEPARATORS = (" | ", " - ", " – ", " — ", " :: ")


def _page_titles(tree: HtmlElement) -> frozenset[str]:
    """The page's own title as it may reappear in its text, folded (`_folded`): the <title>
    (and its part before a site-name separator), `og:title`, the first <h1> (later ones may
    head sections of the notice)."""
    found = [tree.findtext(".//title") or ""]
    found += [str(v) for v in tree.xpath('.//meta[@property="og:title"]/@content')]
    h1 = next(tree.iter("h1"), None)
    if h1 is not None:
        found.append("".join(str(t) for t in h1.itertext()))
    titles = {_folded(t) for t in found}
    for title in list(titles):
        for separator in _TITLE_SEPARATORS:
            titles.add(title.split(separator)[0].strip())
    titles.discard("")
    return frozenset(titles)


def _folded(text: str) -> str:
    return collapse(text).casefold()


def _paragraph(text: str) -> HtmlElement:
    block = lxml.html.Element("p")
    block.text = text
    return block


def _blocks(body: HtmlElement) -> list[HtmlElement]:
    """The body's blocks, with loose text (the body's own, a block's tail) as paragraphs and a
    paragraph of bare lines (trafilatura's fallback on a very short page: every text of the
    page, one a line) as a paragraph a line: the page's menu or title is not the notice's."""
    blocks: list[HtmlElement] = []
    loose = [body.text]
    for child in body:
        if not isinstance(child.tag, str):  # a comment or processing instruction
            loose.append(child.tail)
            continue
        blocks += [_paragraph(t.strip()) for t in loose if t and t.strip()]
        loose = [child.tail]
        child.tail = None
        if child.tag == "p" and len(child) == 0 and child.text and "\n" in child.text.strip():
            blocks += [_paragraph(line.strip()) for line in child.text.splitlines() if line.strip()]
        else:
            blocks.append(child)
    blocks += [_paragraph(t.strip()) for t in loose if t and t.strip()]
    return blocks


def _paragraphs(main: str, titles: frozenset[str] = frozenset()) -> str:
    """trafilatura's document as a fragment of paragraphs: the page's title (which the item's
    title already is: the leading heading, and any block saying just the title) dropped, other
    headings kept as bold paragraphs, so every block is one the feeds' sanitiser keeps, the
    first paragraph is the lead, and no deadline takes the page's title into its label."""
    root = lxml.html.fromstring(main)
    body = root.find("body")
    blocks = _blocks(body if body is not None else root)
    if blocks and blocks[0].tag in _HEADINGS:
        blocks = blocks[1:]
    blocks = [b for b in blocks if _folded("".join(str(t) for t in b.itertext())) not in titles]
    for block in blocks:
        if block.tag in _HEADINGS:
            text = "".join(str(part) for part in block.itertext())
            block.clear()
            block.tag = "p"
            strong = lxml.html.Element("strong")
            strong.text = text
            block.append(strong)
    return "".join(lxml.html.tostring(b, encoding="unicode") for b in blocks)
