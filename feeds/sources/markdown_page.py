"""`markdown` sources: a CommonMark page whose `## Title` headings start the items.

Per item, optional: a date line right under the heading (`*17 January 2023*`, `Date: 2023-01-17`,
`*11 février 2026*` in a French source: any line that is only a date, read in the source's
language) and a link (`## [Title](https://...)`, or a paragraph `Link: https://...` /
`[Read more](https://...)`). The rest under the heading is the body, rendered as CommonMark
(feeds.sources.markdown) and sanitised.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from markdown_it.token import Token

from config.schema import SourceSettings
from feeds.errors import ItemError, SourceError
from feeds.model import Entry
from feeds.sanitise import absolute_url, sanitise_html
from feeds.sources.base import MAX_SOURCE_BYTES, FetchState, SourceRead
from feeds.sources.local import read_local_text
from feeds.sources.markdown import blocks_to_html, inline_text, only_link, parser, top_level_blocks
from feeds.sources.page_dates import parse_date_value
from feeds.text import clean_line, has_control, strip_control

_LINK_LINE = re.compile(r"^link:\s*<?(?P<url>https?://\S+?)>?$", re.IGNORECASE)
_DATE_PREFIX = re.compile(r"^date:\s*", re.IGNORECASE)


def _date_of(block: Sequence[Token], language: str, zone: ZoneInfo) -> datetime | None:
    """The date a paragraph is, when it is nothing but a date (`*17 January 2023*`)."""
    if block[0].type != "paragraph_open" or len(block) != 3:
        return None
    text = _DATE_PREFIX.sub("", inline_text(block[1].children or []))
    return parse_date_value(text, language, zone)


def _link_of(block: Sequence[Token], base: str | None) -> str | None:
    """The web link a paragraph is (`Link: https://...` or `[Read more](/relative)`)."""
    if block[0].type != "paragraph_open" or len(block) != 3:
        return None
    line = _LINK_LINE.match(block[1].content.strip())
    if line:
        return absolute_url(line["url"], None)
    linked = only_link(block)
    return absolute_url(linked[0], base) if linked else None


def _sections(tokens: list[Token]) -> list[tuple[list[Token], list[list[Token]]]]:
    """(heading block, the blocks under it) for every top-level `##` heading."""
    sections: list[tuple[list[Token], list[list[Token]]]] = []
    for block in top_level_blocks(tokens):
        if block[0].type == "heading_open" and block[0].tag == "h2":
            sections.append((block, []))
        elif sections:
            sections[-1][1].append(block)
    return sections


def parse_markdown_page(
    source_id: str, text: str, timezone: str, *, language: str = "en", base: str | None = None
) -> tuple[list[Entry], list[ItemError]]:
    zone = ZoneInfo(timezone)
    problems: list[ItemError] = []
    entries: list[Entry] = []
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    tokens = parser().parse(strip_control("\n".join(lines)))
    sections = _sections(tokens)
    for index, (heading, body) in enumerate(sections):
        link: str | None = None
        linked = only_link(heading)
        if linked and absolute_url(linked[0], base):
            raw_title, link = clean_line(inline_text(linked[1])), absolute_url(linked[0], base)
        else:
            raw_title = clean_line(inline_text(heading[1].children or []))
        published = _date_of(body[0], language, zone) if body else None
        if published is not None:
            body = body[1:]
        kept: list[Token] = []
        for block in body:
            found = _link_of(block, base) if link is None else None
            if found is not None:
                link = found
            else:
                kept.extend(block)
        if not raw_title:
            problems.append(ItemError(source_id, f"heading {index + 1}", "empty title"))
            continue
        if not kept:
            problems.append(ItemError(source_id, raw_title, "no paragraph under the heading"))
            continue
        first = heading[0].map[0] if heading[0].map else 0
        following = sections[index + 1][0][0].map if index + 1 < len(sections) else None
        last = following[0] if following else len(lines)
        if has_control("\n".join(lines[first:last])):
            problems.append(ItemError(source_id, raw_title, "control characters removed"))
        entries.append(
            Entry(
                title=raw_title,
                content=sanitise_html(blocks_to_html(kept), link or base),
                content_is_html=True,
                link=link,
                published=published,
            )
        )
    return entries, problems


class MarkdownPageReader:
    """Reads a `markdown` source from its local file."""

    def __init__(self, max_bytes: int = MAX_SOURCE_BYTES) -> None:
        self._max_bytes = max_bytes

    async def read(self, source: SourceSettings, previous: FetchState) -> SourceRead:
        assert source.path is not None
        local = read_local_text(
            source.id, source.path, previous, encoding=source.encoding, max_bytes=self._max_bytes
        )
        if local.unchanged:
            return SourceRead((), local.state, unchanged=True)
        entries, problems = await asyncio.to_thread(
            parse_markdown_page,
            source.id,
            local.text,
            source.timezone,
            language=source.language,
            base=source.page_link,
        )
        if not entries:
            raise SourceError(
                source.id, "no `## Title` headings with paragraphs found", where=str(source.path)
            )
        return SourceRead(tuple(entries), local.state, problems=tuple(problems))
