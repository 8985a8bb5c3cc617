"""The cheaper checks of the text page reader decide exactly as the plain regexes do."""

from __future__ import annotations

import random
import re

import pytest

from feeds.sources.text_page import (
    _CHROME_LINE,
    _LANGUAGE_PICKER,
    MAX_TITLE_CHARS,
    MAX_TITLE_WORDS,
    _end_of_list,
    _is_chrome,
    _is_title,
    parse_text_page,
)

_END_OF_LIST = re.compile(
    r"(?:^|(?<=[.!?…\"”)]))[ \t]*(?:Navigation path|Share this page|Related links|Back to top"
    r"|Page contents|Additional tools)[ \t]*$",
    re.IGNORECASE | re.MULTILINE,
)
_SENTENCE_END = re.compile(r"[.!?…:;,]['\"”’)]?$")


def reference_end_of_list(text: str) -> int | None:
    found = _END_OF_LIST.search(text)
    return found.start() if found else None


def reference_is_chrome(line: str) -> bool:
    if _LANGUAGE_PICKER.match(line):
        return True
    return len(line.split()) <= 6 and bool(_CHROME_LINE.match(line))


def reference_is_title(line: str) -> bool:
    return (
        len(line) <= MAX_TITLE_CHARS
        and len(line.split()) <= MAX_TITLE_WORDS
        and not _SENTENCE_END.search(line)
    )


_PIECES = [
    "Navigation path", "navigation PATH", "Share this page", "ſhare this page", "Related links",
    "Back to top", "Page contents", "Additional tools", "Navigation", " path", "a", "News",
    " ", "  ", "\t", "\n", "\n\n", ".", "!", "?", "…", '"', "”", ")", ",", ":", "’", "'",
    "x" * 58, " logo", "Logo", "skip to content", "en English", "fr-be Français", "Menu",
    "The consultation is open until 4 May 2023.", "Title line", "é", "\x0b", "\x85",
]  # fmt: skip


def _random_texts(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choices(_PIECES, k=rng.randint(0, 12))) for _ in range(count)]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Navigation path",
        "Item\n\nText.\n\nNavigation path\nHome > News",
        "Text.  Share this page  \nmore",
        "Text, Back to top\nText. Back to top",
        "  Related links\t",
        "Related links and more\nPage contents",
        "Additional tools\n",
        "end of sentence.\tadditional TOOLS \t\nafter",
        'He said "Navigation path"\n',
        "no marker here at all.",
    ],
)
def test_end_of_list_matches_the_plain_regex(text: str) -> None:
    assert _end_of_list(text) == reference_end_of_list(text)


def test_checks_match_the_plain_regexes_on_random_text() -> None:
    for text in _random_texts(4_000, seed=5):
        assert _end_of_list(text) == reference_end_of_list(text), repr(text)
        for line in (text, *text.splitlines(), text.strip()):
            assert _is_chrome(line) == reference_is_chrome(line), repr(line)
            assert _is_title(line) == reference_is_title(line), repr(line)


@pytest.mark.parametrize(
    "line",
    ["", ".", "a.", "ab.’", "Title.)", "Title.’\n", "Title.\n", "Title ends;", "Title line",
     "x" * 59 + " logo", "x" * 60 + " logo", "y" * 59 + " logo\n", "Skip to main content",
     "en English"],
)  # fmt: skip
def test_line_checks_at_their_edges(line: str) -> None:
    assert _is_chrome(line) == reference_is_chrome(line)
    assert _is_title(line) == reference_is_title(line)


def test_control_characters_are_reported_per_item_only() -> None:
    page = "First\n\nClean paragraph.\n\nSecond\n\nBell\x07 here.\n\nThird\n\nAlso clean."
    entries, problems = parse_text_page("s", page)
    assert [e.title for e in entries] == ["First", "Second", "Third"]
    assert entries[1].content == "Bell here."
    assert [(p.item, p.detail) for p in problems] == [("Second", "control characters removed")]


def reference_parse(source_id: str, text: str) -> tuple[list[object], list[object]]:
    """parse_text_page with every block split by str.splitlines (no one-line short way)."""
    from feeds.errors import ItemError
    from feeds.model import Entry
    from feeds.text import clean_line, has_control

    cut = _end_of_list(text)
    if cut is not None:
        text = text[:cut]
    problems: list[object] = []
    blocks: list[tuple[str, list[str], bool]] = []
    heading: str | None = None
    heading_control = False
    for raw_block in re.split(r"\n[ \t\u00a0]*\n", text):
        control = has_control(raw_block)
        lines = [clean_line(line) for line in raw_block.splitlines()]
        lines = [line for line in lines if line and not reference_is_chrome(line)]
        if not lines:
            continue
        if len(lines) == 1 and reference_is_title(lines[0]):
            heading, heading_control = lines[0], control
            continue
        if reference_is_title(lines[0]) and len(lines) > 1 and not reference_is_title(lines[1]):
            heading, lines, heading_control = lines[0], lines[1:], False
        paragraph = " ".join(lines)
        if heading is not None:
            blocks.append((heading, [paragraph], control or heading_control))
            heading = None
        elif blocks:
            blocks[-1][1].append(paragraph)
            blocks[-1] = (blocks[-1][0], blocks[-1][1], blocks[-1][2] or control)
        else:
            preview = paragraph if len(paragraph) <= 60 else paragraph[:59] + "…"
            problems.append(ItemError(source_id, preview, "paragraph with no title line"))
    entries: list[object] = []
    for title, paragraphs, had_control in blocks:
        if had_control:
            problems.append(ItemError(source_id, title, "control characters removed"))
        entries.append(Entry(title=title, content="\n\n".join(paragraphs)))
    return entries, problems


_PAGE_PIECES = [
    "\n\n", "\n \n", "\n\u00a0\n", "\n", "\r\n", "\r", "\r\n\r\n", "\u2028", "\x0b", "\x1c",
    "\x85", "Ministry opens a consultation", "The call is open until 4 May 2023.", "News",
    "en English", "skip to main content", "Example Logo", "  ", "\t", "Café", "Navigation path",
    "A paragraph, with a comma, that goes on for a while before it ends.", "Title line",
]  # fmt: skip


def test_parse_matches_the_one_split_per_block_reference_on_random_pages() -> None:
    rng = random.Random(11)
    for _ in range(3_000):
        page = "".join(rng.choices(_PAGE_PIECES, k=rng.randint(0, 30)))
        got = parse_text_page("s", page)
        want = reference_parse("s", page)
        assert got[0] == want[0], repr(page)
        assert [str(p) for p in got[1]] == [str(p) for p in want[1]], repr(page)
