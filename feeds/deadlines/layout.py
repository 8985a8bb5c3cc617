"""The layout pre-pass: a page's line structure turned into text the sentence logic can read.

Pages put a label on one line and its value on the next (`Deadline:` / `5pm, Friday 4
October`), a date above its label in a timeline (`30 April 2025` / `Survey closes`), wrap a
sentence in the middle (`bis zum` / `Freitag, 29.09.2017`), and lay dates out in tables whose
header names each column (`Posted Date | Deadline`). The joins replace line breaks with spaces,
so the text keeps its length and every offset (evidence is still quoted from the input); a
table row becomes a block of its own, one `Header: cell` line per cell, quoted by its row.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from feeds import names
from feeds.deadlines.cues import has_cue_word

_MAX_LABEL_WORDS = 6
_WRAPPED_LINE = 40  # a line this long that stops mid-phrase was wrapped
_CELL_SPLIT = re.compile(r"\s*\|\s*|\t+")
_TABLE_RULE = re.compile(r"^[\s|:+-]*$")  # a Markdown rule row: | --- | :--: |
# A value line: a date or time first, perhaps after a weekday ("Freitag, 29.09.2017").
_VALUE_START = re.compile(r"(?:[^\W\d_]{2,}\.?,?\s+)?\d")
_LIST_ITEM = re.compile(r"[-•*–\s]*\d")  # a line that starts with a number, perhaps a bullet
_SENTENCE_END = re.compile(r"[.!?;]['\")\]]*$")
_DATE_ONLY = re.compile(r"(?:[^\W\d_]+\.?,?\s+)?\d[\w\s.,/–—-]*\d\w*\.?")


@dataclass(frozen=True, slots=True)
class Block:
    """Text to read for deadlines; `quote` is the input's own text that evidence cites."""

    text: str
    quote: str | None = None  # None: the block is the input itself (offsets kept)


def lay_out(text: str) -> list[Block]:
    """The input with its layout undone (same length), then one block per table row."""
    if "\n" not in text:
        return [Block(text)]
    lines = text.split("\n")
    tables = _tables(lines)
    rows: list[Block] = []
    hidden: set[int] = set()
    for header, body in tables:
        hidden.add(header)
        heads = _cells(lines[header])
        for index in body:
            hidden.add(index)
            rows.append(Block(_paired(heads, _cells(lines[index])), quote=lines[index]))
    joined = _joins(lines, hidden)
    return [Block(joined), *rows]


def _cells(line: str) -> list[str]:
    return [cell for cell in _CELL_SPLIT.split(line.strip().strip("|")) if cell != ""]


def _tables(lines: list[str]) -> list[tuple[int, list[int]]]:
    """(header line, body lines) of each table: a row of cells without digits, then rows of
    as many cells."""
    tables: list[tuple[int, list[int]]] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        if ("|" in line or "\t" in line) and not any(ch.isdigit() for ch in line):
            heads = _cells(line)
            body: list[int] = []
            following = index + 1
            while following < len(lines):
                row = lines[following]
                if _TABLE_RULE.match(row) and "-" in row:
                    following += 1
                    continue
                if len(heads) >= 2 and len(_cells(row)) == len(heads):
                    body.append(following)
                    following += 1
                    continue
                break
            if body:
                tables.append((index, body))
                index = following
                continue
        index += 1
    return tables


def _paired(heads: list[str], cells: list[str]) -> str:
    """A row read with its header: "Deadline: 1 October 2015", one line per cell."""
    return "\n".join(
        f"{head}: {cell}" if any(ch.isdigit() for ch in cell) else cell
        for head, cell in zip(heads, cells, strict=True)
    )


def _joins(lines: list[str], hidden: set[int]) -> str:
    """The lines joined where a label or a wrapped phrase continues on the next one; hidden
    lines (tables, read as rows) become blank."""
    out = [" " * len(line) if i in hidden else line for i, line in enumerate(lines)]
    separators = ["\n"] * (len(lines) - 1)
    for index in range(len(out) - 1):
        here = out[index].strip()
        if not here:
            continue
        following = index + 1
        if not out[following].strip() and following + 1 < len(out):
            following += 1  # one blank line may stand between a label and its value
        there = out[following].strip()
        if not there or following in hidden:
            continue
        if _label_then_value(here, there) or _date_then_label(here, there):
            for gap in range(index, following):
                separators[gap] = " "
    pieces = [out[0]]
    for separator, line in zip(separators, out[1:], strict=True):
        pieces.append(separator)
        pieces.append(line)
    return "".join(pieces)


def _label_then_value(here: str, there: str) -> bool:
    """`Deadline:` / `5pm, Friday 4 October 2019`; `bis zum` / `Freitag, 29.09.2017`;
    `Comments are due: April` / `7, 2025`."""
    if _VALUE_START.match(there) is None or _LIST_ITEM.match(here):
        return False  # not a value; or a list of dated lines ("3 May: opens" / "9 June: closes")
    if here.endswith(":") or (len(here.split()) <= _MAX_LABEL_WORDS and _is_label(here)):
        return True
    if _SENTENCE_END.search(here):
        return False
    last = here.rsplit(None, 1)[-1]
    wrapped = len(here) >= _WRAPPED_LINE or has_cue_word(here)
    if wrapped and (last[-1].islower() or last[-1] == ","):
        return True  # a wrapped line of running text (or a cue cut off), not a heading
    return names.fold(last) in _any_month()


def _is_label(line: str) -> bool:
    """A short line naming a deadline ("Comment window", "Closing date"): no digit, a cue."""
    return not any(ch.isdigit() for ch in line) and has_cue_word(line)


def _date_then_label(here: str, there: str) -> bool:
    """A timeline: `30 April 2025` above `Survey closes`."""
    if _DATE_ONLY.fullmatch(here) is None or any(ch.isdigit() for ch in there):
        return False
    return len(there.split()) <= _MAX_LABEL_WORDS and has_cue_word(there)


_MONTHS: set[str] = set()


def _any_month() -> set[str]:
    if not _MONTHS:
        for language in names.LANGUAGES:
            _MONTHS.update(names.month_lookup(language))
    return _MONTHS
