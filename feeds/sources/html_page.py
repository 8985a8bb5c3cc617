"""Kind `html`: items cut out of a web page (or a saved page file) with CSS selectors.

Selectors come from `[sources.select]`: `item` (one news item), then, inside it, `title`,
`link`, `date` and `summary`. `sel@attr` reads an attribute instead of the text (`a@href`,
`time@datetime`); `@attr` alone reads it from the item element itself. The date selector may
match several elements (ECL pages list type, date and department as meta items): the first
that reads as a full date wins (a date-only value is noon in the source zone, see
`page_dates`). Broken HTML is parsed as browsers would (lexbor).

Failures: an `item` selector that matches nothing is a `SourceError` naming the selector (a
changed page, never an empty feed); an item whose `title` matches nothing is an `ItemError` and
is skipped, unless no item has a title at all, which is again a `SourceError`. No link selector:
the title's own link (or the first link inside it). Relative links resolve against `<base href>`,
else the final URL after redirects, else (for a `path` source) the source `link`; an item's link
is an http(s) URL (a `mailto:` is not the item's page: the next link, else the source `link`).
A selector that is not CSS lexbor reads is a `SourceError` naming its key (`selector_problems`,
also run by `feedline config check`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from selectolax.lexbor import LexborHTMLParser, LexborNode, SelectolaxError

from config.schema import SelectSettings, SourceSettings
from feeds.errors import ItemError, SourceError
from feeds.fetch import Fetcher, FetchResult, load_source
from feeds.follow.discover import read_advertised_feed
from feeds.model import Entry
from feeds.sanitise import absolute_url, html_to_text, http_url, sanitise_html, text_to_html
from feeds.sources.base import FetchState, SourceRead
from feeds.sources.decoding import decode_source_text
from feeds.sources.page_dates import parse_page_date
from feeds.text import collapse, strip_control

ACCEPT_HTML = "text/html, application/xhtml+xml;q=0.9, text/plain;q=0.1"

_ATTR = re.compile(r"^(?P<css>.*?)\s*@(?P<attr>[A-Za-z_:][-\w:.]*)$")


@dataclass(frozen=True, slots=True)
class Selector:
    """A CSS selector, optionally reading an attribute (`css@attr`); empty css = the item."""

    css: str
    attr: str | None
    text: str

    @classmethod
    def parse(cls, text: str) -> Selector:
        match = _ATTR.match(text.strip())
        if match and "]" not in match.group("attr"):
            return cls(match.group("css"), match.group("attr"), text)
        return cls(text.strip(), None, text)

    def nodes(self, scope: LexborNode) -> list[LexborNode]:
        return [scope] if not self.css else list(scope.css(self.css))

    def values(self, scope: LexborNode) -> list[str]:
        found = []
        for node in self.nodes(scope):
            if self.attr is not None:
                value = node.attributes.get(self.attr)
                if value:
                    found.append(value)
            else:
                found.append(node.text(separator=" "))
        return found


_SELECTOR_KEYS = ("item", "title", "link", "date", "summary")


def selector_problems(select: SelectSettings) -> list[str]:
    """Each selector of `select` that lexbor cannot parse, as `select.KEY: 'TEXT' is not ...`.

    `page` is used as CSS as it stands (followed pages); the others may end in `@attr`.
    """
    probe = LexborHTMLParser("<p></p>")
    problems = []
    for key in (*_SELECTOR_KEYS, "page"):
        text: str | None = getattr(select, key)
        if text is None:
            continue
        css = text.strip() if key == "page" else Selector.parse(text).css
        if not css and key != "page":
            continue  # `@attr` alone: the item element itself
        try:
            probe.css(css)
        except SelectolaxError:
            problems.append(f"select.{key}: {text!r} is not a CSS selector")
    return problems


def _item_link(raw: str | None, base: str) -> str | None:
    """`raw` as the item's own page: an absolute http(s) URL, else None."""
    return http_url(absolute_url(raw, base))


def check_selectors(source: SourceSettings) -> None:
    """SourceError naming each selector of `source` that is not CSS, before anything is fetched."""
    bad = selector_problems(source.select) if source.select is not None else []
    if bad:
        raise SourceError(source.id, "; ".join(bad))


def _link_of(node: LexborNode) -> str | None:
    if node.tag == "a" and node.attributes.get("href"):
        return node.attributes["href"]
    inner = node.css_first("a[href]")
    return inner.attributes.get("href") if inner is not None else None


def _base_url(tree: LexborHTMLParser, page_url: str) -> str:
    base = tree.css_first("base[href]")
    href = base.attributes.get("href") if base is not None else None
    return (absolute_url(href, page_url) or page_url) if href else page_url


def _html_of(nodes: list[LexborNode]) -> str:
    return "".join(node.html or "" for node in nodes)


def parse_html_page(
    source: SourceSettings, text: str, page_url: str
) -> tuple[list[Entry], list[ItemError]]:
    """Entries of one page; raises SourceError when the item selector matches nothing."""
    select = source.select
    if select is None or select.item is None:
        raise SourceError(source.id, "an html source needs [sources.select] item and title")
    check_selectors(source)
    tree = LexborHTMLParser(text)
    base = _base_url(tree, page_url)
    root = tree.root
    if root is None:
        raise SourceError(source.id, f"empty page at {page_url}")
    items = list(root.css(select.item))
    if not items:
        raise SourceError(source.id, f"selector item={select.item!r} matched nothing on {page_url}")
    zone = ZoneInfo(source.timezone)
    entries: list[Entry] = []
    problems: list[ItemError] = []
    for node in items:
        try:
            entries.append(_entry(source, select, node, base, zone))
        except ItemError as problem:
            problems.append(problem)
    if not entries and problems:
        raise SourceError(
            source.id,
            f"selector title={select.title!r} matched nothing in any of the {len(items)} items "
            f"on {page_url}",
        )
    return entries, problems


def _entry(
    source: SourceSettings, select: SelectSettings, node: LexborNode, base: str, zone: ZoneInfo
) -> Entry:
    title_sel = Selector.parse(select.title or "")
    title_nodes = title_sel.nodes(node)
    # Controls out before the emptiness test: a title of only control characters is no title
    # (it rendered as an empty one, which feedgen refuses: the whole feed failed).
    titles = [collapse(strip_control(v)) for v in title_sel.values(node)]
    title = next((t for t in titles if t), "")
    if not title:
        label = collapse(node.text(separator=" "))[:60] or "(empty item)"
        raise ItemError(source.id, label, f"selector title={select.title!r} matched nothing")

    link: str | None = None
    if select.link:
        link_sel = Selector.parse(select.link)
        for link_node in link_sel.nodes(node):
            raw = (
                link_node.attributes.get(link_sel.attr)
                if link_sel.attr
                else _link_of(link_node) or link_node.text()
            )
            link = _item_link(raw, base)
            if link:
                break
    else:
        for title_node in title_nodes:
            link = _item_link(_link_of(title_node), base)
            if link:
                break

    published = None
    if select.date:
        for raw in Selector.parse(select.date).values(node):
            published = parse_page_date(raw, source.language, zone)
            if published is not None:
                break

    content = ""
    summary: str | None = None
    if select.summary:
        summary_sel = Selector.parse(select.summary)
        if summary_sel.attr:
            summary = collapse(" ".join(summary_sel.values(node))) or None
            content = text_to_html(summary) if summary else ""
        else:
            fragment = _html_of(summary_sel.nodes(node))
            content = sanitise_html(fragment, base)
            summary = collapse(html_to_text(fragment)) or None
    return Entry(
        title=title,
        content=content,
        content_is_html=bool(content),
        link=link,
        published=published,
        summary=summary,
    )


def decode(source: SourceSettings, result: FetchResult) -> str:
    """The body as text by the one decode policy (the source's forced `encoding` first)."""
    return decode_source_text(
        source.id, result.body, result.url, forced=source.encoding, declared=result.encoding
    )


class HtmlPageReader:
    """Reads kind `html` sources through the shared `Fetcher` (or from `path`)."""

    def __init__(self, fetcher: Fetcher) -> None:
        self._fetcher = fetcher

    async def read(self, source: SourceSettings, previous: FetchState) -> SourceRead:
        check_selectors(source)
        if source.select is None or source.select.item is None:  # the feed the page advertises
            return await read_advertised_feed(self._fetcher, source, previous)
        result = await load_source(self._fetcher, source, previous, accept=ACCEPT_HTML)
        if result.unchanged:
            return SourceRead(entries=(), state=result.state, unchanged=True)
        page_url = result.url if source.url is not None else source.page_link
        entries, problems = parse_html_page(source, decode(source, result), page_url)
        return SourceRead(entries=tuple(entries), state=result.state, problems=tuple(problems))
