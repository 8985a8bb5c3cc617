"""The layout pre-pass: a page's line structure turned into text the sentence logic can read.

Pages put a label on one line and its value on the next (`Deadline:` / `5pm, Friday 4
October`), a date above its label in a timeline (`30 April 2025` / `Survey closes`), wrap a
sentence in the middle (`bis zum` / `Freitag, 29.09.2017`), and lay dates out in tables whose
header names each column (`Posted Date | Deadline`). The joins replace line breaks with spaces,
so the text keeps its length and every offset (evidence is still quoted from the input); a
table row becomes a block of its own, one `Header: cell` line per cell under the heading the
table stands under, quoted by its row. A label between two dates joins one of them: the one
without a blank line between, else the one the page's order says (its first join).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from feeds import names
from feeds.deadlines.cues import has_context, has_cue_word
from feeds.deadlines.structure import has_period_label, is_period_label, one_day_step

_MAX_LABEL_WORDS = 6
_WRAPPED_LINE = 40  # a line this long that stops mid-phrase was wrapped
_CELL_SPLIT = re.compile(r"\s*\|\s*|\t+")
_TABLE_RULE = re.compile(r"^[\s|:+-]*$")  # a Markdown rule row: | --- | :--: |
# A value line: a date or time first, perhaps after a weekday ("Freitag, 29.09.2017").
_VALUE_START = re.compile(r"(?:[^\W\d_]{2,}\.?,?\s+)?\d")
_LIST_ITEM = re.compile(r"[-•*–\s]*\d")  # a line that starts with a number, perhaps a bullet
_SENTENCE_END = re.compile(r"[.!?;]['\")\]]*$")
_DATE_ONLY = re.compile(r"(?:[^\W\d_]+\.?,?\s+)?\d[\w\s.,/–—→>-]*\d\w*\.?")
_HEADING_WORDS = 10
_MAX_BLANK_LINES = 3  # between a label and its value
_BULLET = re.compile(r"^[-•*–·▪◦]\s+")
_HEADING_END = re.compile(r"[.!?;,]['\")\]]*$")


@dataclass(frozen=True, slots=True)
class Block:
    """Text to read for deadlines; `quote` is the input's own text that evidence cites."""

    text: str
    quote: str | None = None  # None: the block is the input itself (offsets kept)
    heading: bool = False  # a table row whose first line is the heading the table stands under


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
        heading = _heading_above(lines, header)
        for index in body:
            hidden.add(index)
            cells = _row(heads, _cells(lines[index]))
            if cells is not None and one_day_step(heads, cells):
                continue  # "Convocatoria | 28/06/2023 | 28/06/2023": a step, not a period
            paired = _paired(heads, cells)
            text = f"{heading}\n{paired}" if heading else paired
            rows.append(Block(text, quote=lines[index], heading=bool(heading)))
    joined = _joins(lines, hidden)
    return [Block(joined), *rows]


def _cells(line: str) -> list[str]:
    """A row's cells, empty ones kept in their place (`River Plan |  | 14 March 2025`)."""
    inner = line.strip()
    inner = inner[1:] if inner.startswith("|") else inner
    inner = inner[:-1] if inner.endswith("|") else inner
    return [cell.strip() for cell in _CELL_SPLIT.split(inner)]


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
                if not row.strip() and following + 1 < len(lines):
                    following += 1  # rows a page's text puts a blank line between
                    continue
                if _TABLE_RULE.match(row) and "-" in row:
                    following += 1
                    continue
                if len(heads) >= 2 and _row(heads, _cells(row)) is not None:
                    body.append(following)
                    following += 1
                    continue
                break
            if body:
                tables.append((index, body))
                index = body[-1] + 1
                continue
        index += 1
    return tables


def _row(heads: list[str], cells: list[str]) -> list[str] | None:
    """A body row's cells, one per header; a last header over two dated cells (`Comment
    Period` over `Mon, Oct 7, 2024 | Wed, Nov 6`) gets them as one range. None: not a row."""
    if len(cells) == len(heads):
        return cells
    if 2 <= len(cells) < len(heads):
        return [*cells, *[""] * (len(heads) - len(cells))]  # empty cells left off at its end
    if len(cells) == len(heads) + 1:
        span = cells[len(heads) - 1 :]
        if all(any(ch.isdigit() for ch in cell) for cell in span):
            return [*cells[: len(heads) - 1], " – ".join(span)]
    return None


def _heading_above(lines: list[str], header: int) -> str:
    """The heading a table stands under (`Open consultations`), to read its rows in; or ""."""
    for index in range(header - 1, max(-1, header - 2 - _MAX_BLANK_LINES), -1):
        line = lines[index].strip()
        if not line:
            continue
        short = len(line.split()) <= _HEADING_WORDS and not any(ch.isdigit() for ch in line)
        return line if short and _HEADING_END.search(line) is None else ""
    return ""


def _paired(heads: list[str], cells: list[str] | None) -> str:
    """A row read with its header: "Deadline: 1 October 2015", one line per cell."""
    return "\n".join(
        f"{head}: {cell}" if head and any(ch.isdigit() for ch in cell) else cell
        for head, cell in zip(heads, cells or [], strict=True)
        if cell
    )


def _joins(lines: list[str], hidden: set[int]) -> str:
    """The lines joined where a label or a wrapped phrase continues on the next one; hidden
    lines (tables, read as rows) become blank."""
    out = [" " * len(line) if i in hidden else line for i, line in enumerate(lines)]
    joins = _chosen(_candidate_joins(out, hidden))
    separators = ["\n"] * (len(lines) - 1)
    for index, following, _kind, _gap in joins:
        for gap in range(index, following):
            separators[gap] = " "
    pieces = [out[0]]
    for separator, line in zip(separators, out[1:], strict=True):
        pieces.append(separator)
        pieces.append(line)
    return "".join(pieces)


_Join = tuple[int, int, str, bool]  # line, the line it joins, "value" or "label", blank between


def _candidate_joins(out: list[str], hidden: set[int]) -> list[_Join]:
    found: list[_Join] = []
    for index in range(len(out) - 1):
        here = out[index].strip()
        if not here:
            continue
        following = index + 1
        while not out[following].strip() and following + 1 < len(out):
            following += 1  # blank lines may stand between a label and its value
        if following - index > _MAX_BLANK_LINES + 1:
            continue
        there = out[following].strip()
        if not there or following in hidden:
            continue
        if _label_then_value(here, there):
            found.append((index, following, "value", following > index + 1))
        elif _date_then_label(here, there):
            found.append((index, following, "label", following > index + 1))
    return found


def _chosen(joins: list[_Join]) -> list[_Join]:
    """Where a line would join both the line above and the line below in different ways (a
    label between two dates: `Start date` / `1 May 2025` / `End date` / `30 June 2025`), one
    join wins: the one without a blank line between, else the page's own order (the kind of
    its first join: labels above their values, or a timeline's dates above their labels)."""
    if len(joins) < 2:
        return joins
    first_kind = joins[0][2]
    kept: list[_Join] = []
    for join in joins:
        previous = kept[-1] if kept else None
        if previous is None or previous[1] != join[0] or previous[2] == join[2]:
            kept.append(join)
            continue
        # the join without a blank line wins; else the one of the page's order
        wins = not join[3] if previous[3] != join[3] else join[2] == first_kind
        if wins:
            kept[-1] = join
    return kept


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
        # a wrapped line of running text (or a cue cut off), not a heading; but a timeline's
        # entry (`28 mai 2024 à 11h dépôt du dossier`) under a line that ends without a cue
        # stands on its own
        tail = " ".join(here.split()[-2:])
        return has_cue_word(tail) or not has_period_label(there)
    return names.fold(last) in _any_month()


def _is_label(line: str) -> bool:
    """A short line naming a deadline ("Comment window", "Closing date"): no digit, a cue."""
    return not any(ch.isdigit() for ch in line) and (has_cue_word(line) or is_period_label(line))


def _date_then_label(here: str, there: str) -> bool:
    """A timeline: `30 April 2025` above `Survey closes`, `Cierre de la consulta` or `Second
    public consultation` (a range above what it is the period of); bulleted or not."""
    here = _BULLET.sub("", here, count=1)
    there = _BULLET.sub("", there, count=1)
    if _DATE_ONLY.fullmatch(here) is None or any(ch.isdigit() for ch in there):
        return False
    if len(there.split()) > _MAX_LABEL_WORDS:
        return False
    return has_cue_word(there) or has_period_label(there) or has_context(there)


_MONTHS: set[str] = set()


def _any_month() -> set[str]:
    if not _MONTHS:
        for language in names.LANGUAGES:
            _MONTHS.update(names.month_lookup(language))
    return _MONTHS
