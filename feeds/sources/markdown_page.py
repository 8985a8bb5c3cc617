"""`markdown` sources: `## Title` headings with their paragraphs.

Per item, optional: a date line right under the heading (`*17 January 2023*`, `Date: 2023-01-17`,
or a line that is only a date) and a link (`## [Title](https://...)`, or a line
`Link: https://...` / `[Read more](https://...)`).
"""

from __future__ import annotations

import asyncio
import html
import re
from datetime import datetime, time
from zoneinfo import ZoneInfo

from dateutil import parser as dateutil_parser

from config.schema import SourceSettings
from feeds.errors import ItemError, SourceError
from feeds.model import Entry
from feeds.sources.base import FetchState, SourceRead
from feeds.sources.local import read_local_text
from feeds.text import clean_line, has_control

_HEADING = re.compile(r"^##[ \t]+(?P<title>.+?)[ \t]*#*[ \t]*$", re.MULTILINE)
_LINKED_TITLE = re.compile(r"^\[(?P<title>.+)\]\((?P<url>https?://[^)\s]+)\)$")
_LINK_LINE = re.compile(
    r"^(?:link:\s*<?(?P<plain>https?://\S+?)>?|\[[^\]]+\]\((?P<md>https?://[^)\s]+)\))$",
    re.IGNORECASE,
)
_DATE_LINE = re.compile(r"^(?:date:\s*)?[*_]?(?P<date>[^*_]{6,40}?)[*_]?$", re.IGNORECASE)
_INLINE_LINK = re.compile(r"\[([^\]]+)\]\((https?://[^)\s]+)\)")
_EMPHASIS = re.compile(r"(\*\*|__)(.+?)\1|(\*|_)(.+?)\3")


def _parse_date_line(line: str, zone: ZoneInfo) -> datetime | None:
    match = _DATE_LINE.match(line)
    if not match or not re.search(r"\d", match["date"]) or len(match["date"].split()) > 5:
        return None
    try:
        parsed = datetime.fromisoformat(match["date"].strip())
    except ValueError:
        try:
            parsed = dateutil_parser.parse(match["date"], dayfirst=True, fuzzy=False)
        except (ValueError, OverflowError):
            return None
    if parsed.tzinfo is None:
        if parsed.time() == time(0):
            parsed = parsed.replace(hour=12)  # a date-only line: midday, so no zone moves the day
        parsed = parsed.replace(tzinfo=zone)
    return parsed


def _paragraph_html(paragraph: str) -> str:
    escaped = html.escape(paragraph, quote=False)
    linked = _INLINE_LINK.sub(lambda m: f'<a href="{html.escape(m[2])}">{m[1]}</a>', escaped)
    emphasised = _EMPHASIS.sub(
        lambda m: f"<strong>{m[2]}</strong>" if m[1] else f"<em>{m[4]}</em>", linked
    )
    return f"<p>{emphasised}</p>"


def parse_markdown_page(
    source_id: str, text: str, timezone: str
) -> tuple[list[Entry], list[ItemError]]:
    zone = ZoneInfo(timezone)
    problems: list[ItemError] = []
    entries: list[Entry] = []
    headings = list(_HEADING.finditer(text))
    for index, heading in enumerate(headings):
        end = headings[index + 1].start() if index + 1 < len(headings) else len(text)
        raw_title = clean_line(heading["title"])
        link: str | None = None
        linked = _LINKED_TITLE.match(raw_title)
        if linked:
            raw_title, link = clean_line(linked["title"]), linked["url"]
        body = text[heading.end() : end]
        blocks = [clean_line(" ".join(b.splitlines())) for b in re.split(r"\n\s*\n", body)]
        blocks = [b for b in blocks if b]
        published = _parse_date_line(blocks[0], zone) if blocks else None
        if published is not None:
            blocks = blocks[1:]
        paragraphs = []
        for block in blocks:
            link_line = _LINK_LINE.match(block)
            if link_line and link is None:
                link = link_line["plain"] or link_line["md"]
            else:
                paragraphs.append(block)
        if not raw_title:
            problems.append(ItemError(source_id, f"heading {index + 1}", "empty title"))
            continue
        if not paragraphs:
            problems.append(ItemError(source_id, raw_title, "no paragraph under the heading"))
            continue
        if has_control(heading["title"]) or has_control(body):
            problems.append(ItemError(source_id, raw_title, "control characters removed"))
        entries.append(
            Entry(
                title=raw_title,
                content="\n".join(_paragraph_html(p) for p in paragraphs),
                content_is_html=True,
                link=link,
                published=published,
            )
        )
    return entries, problems


class MarkdownPageReader:
    """Reads a `markdown` source from its local file."""

    async def read(self, source: SourceSettings, previous: FetchState) -> SourceRead:
        assert source.path is not None
        local = read_local_text(source.id, source.path, previous, encoding=source.encoding)
        if local.unchanged:
            return SourceRead((), local.state, unchanged=True)
        entries, problems = await asyncio.to_thread(
            parse_markdown_page, source.id, local.text, source.timezone
        )
        if not entries:
            raise SourceError(
                source.id, "no `## Title` headings with paragraphs found", where=str(source.path)
            )
        return SourceRead(tuple(entries), local.state, problems=tuple(problems))
