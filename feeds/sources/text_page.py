"""`text` sources: a newsroom page saved from a browser as plain text.

Each news item is a short title line followed by its paragraph(s); blocks are separated by
blank lines. Page chrome is ignored: skip links, logos, language pickers, section headings
("News"), and everything from the breadcrumb ("Navigation path") on.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field

from config.schema import SourceSettings
from feeds.errors import ItemError, SourceError
from feeds.model import Entry
from feeds.sources.base import MAX_SOURCE_BYTES, FetchState, SourceRead
from feeds.sources.local import read_local_text
from feeds.text import clean_line, has_control

# Where the list ends: a line that is (or, after a sentence, ends with) a page-tools phrase.
_END_OF_LIST_AT = re.compile(
    r"[ \t]*(?i:Navigation path|Share this page|Related links|Back to top|Page contents"
    r"|Additional tools)[ \t]*$",
    re.MULTILINE,
)
# The same, found by the character before it (a line break or a sentence end): a search that
# starts with a character class lets the regex engine skip ahead instead of trying every position.
_END_OF_LIST_AFTER = re.compile(rf"[\n.!?…\"”)]{_END_OF_LIST_AT.pattern}", re.MULTILINE)
_CHROME_LINE = re.compile(
    r"^(?:skip to (?:main )?content|menu|search|close|home|newsroom|news|latest news|"
    r"press releases?|print|share|.{0,60}\blogo)$",
    re.IGNORECASE,
)
_CHROME_MAX_CHARS = 65  # the longest _CHROME_LINE match: 60 characters, "logo", a newline
_LANGUAGES = "English|Français|Deutsch|Español|Italiano|Nederlands|Polski|Português|Svenska"
_LANGUAGE_PICKER = re.compile(rf"^[a-z]{{2}}(?:-[a-z]{{2}})?\s+(?:{_LANGUAGES})$")
_BLOCK_BREAK = re.compile(r"\n[ \t\u00a0]*\n")  # a blank line (spaces allowed) ends a block
_SENTENCE_END = re.compile(r"[.!?…:;,]['\"”’)]?$")
MAX_TITLE_CHARS = 200
MAX_TITLE_WORDS = 30


@dataclass
class _Block:
    title: str
    paragraphs: list[str] = field(default_factory=list)
    had_control: bool = False


def _is_chrome(line: str) -> bool:
    """Skip links, logos, menus and language pickers ("en English")."""
    third = line[2:3]  # a picker has "-" or a space right after its two-letter code
    if (third == "-" or third.isspace()) and _LANGUAGE_PICKER.match(line):
        return True
    return (
        len(line) <= _CHROME_MAX_CHARS and len(line.split()) <= 6 and bool(_CHROME_LINE.match(line))
    )


def _is_title(line: str) -> bool:
    return (
        len(line) <= MAX_TITLE_CHARS
        and len(line.split()) <= MAX_TITLE_WORDS
        # A sentence end is at most 2 characters (3 with a final newline) before the end.
        and not _SENTENCE_END.search(line, len(line) - 3)
    )


def _end_of_list(text: str) -> int | None:
    """Where the breadcrumb or page tools start (the items are all above it), if anywhere."""
    if _END_OF_LIST_AT.match(text):
        return 0
    found = _END_OF_LIST_AFTER.search(text)
    return found.start() + 1 if found else None


def parse_text_page(source_id: str, text: str) -> tuple[list[Entry], list[ItemError]]:
    """Split a saved page into entries (page order kept) and the blocks it had to skip."""
    cut = _end_of_list(text)
    if cut is not None:
        text = text[:cut]
    problems: list[ItemError] = []
    blocks: list[_Block] = []
    heading: str | None = None  # a title line still waiting for its first paragraph
    heading_control = False
    page_has_control = has_control(text)  # one scan of the page instead of one per block
    # On an ASCII page without control characters a block without "\n" or "\r" is one line
    # (the only line breaks str.splitlines knows there): most blocks, taken the short way.
    plain = not page_has_control and text.isascii()
    for raw_block in _BLOCK_BREAK.split(text):
        control = page_has_control and has_control(raw_block)
        if plain and "\n" not in raw_block and "\r" not in raw_block:
            line = clean_line(raw_block)
            if not line or _is_chrome(line):
                continue
            lines = [line]
        else:
            lines = [clean_line(line) for line in raw_block.splitlines()]
            lines = [line for line in lines if line and not _is_chrome(line)]
            if not lines:
                continue
        if len(lines) == 1 and _is_title(lines[0]):
            heading = lines[0]  # a heading followed by another heading was a section title
            heading_control = control
            continue
        if _is_title(lines[0]) and len(lines) > 1 and not _is_title(lines[1]):
            heading, lines, heading_control = lines[0], lines[1:], False
        paragraph = " ".join(lines)
        if heading is not None:
            blocks.append(_Block(heading, [paragraph], control or heading_control))
            heading = None
        elif blocks:
            blocks[-1].paragraphs.append(paragraph)
            blocks[-1].had_control |= control
        else:
            problems.append(
                ItemError(source_id, _preview(paragraph), "paragraph with no title line")
            )
    entries = []
    for block in blocks:
        if block.had_control:
            problems.append(ItemError(source_id, block.title, "control characters removed"))
        entries.append(Entry(title=block.title, content="\n\n".join(block.paragraphs)))
    return entries, problems


def _preview(text: str, width: int = 60) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


class TextPageReader:
    """Reads a `text` source from its local file."""

    def __init__(self, max_bytes: int = MAX_SOURCE_BYTES) -> None:
        self._max_bytes = max_bytes

    async def read(self, source: SourceSettings, previous: FetchState) -> SourceRead:
        assert source.path is not None
        local = read_local_text(
            source.id, source.path, previous, encoding=source.encoding, max_bytes=self._max_bytes
        )
        if local.unchanged:
            return SourceRead((), local.state, unchanged=True)
        # In a thread, so the event loop stays free while a large page is parsed.
        entries, problems = await asyncio.to_thread(parse_text_page, source.id, local.text)
        if not entries:
            raise SourceError(
                source.id,
                "no news items found (expected a title line followed by a paragraph)",
                where=str(source.path),
            )
        return SourceRead(tuple(entries), local.state, problems=tuple(problems))
