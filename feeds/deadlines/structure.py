"""Cues a page's structure gives where no sentence says which date closes.

Listings of consultations state their periods as bare ranges under a heading that names them
(`Online-Beteiligung zum Radverkehrskonzept` / `2.2. - 14.3.2025`, `Consultation publique
13/11 au 4/12/2015`, `- Wasserrecht (abgeschlossen, 23.01 - 28.02.2025)` under
`Konsultationen`), and tables and timelines name the end of a period with a bare label
(`Beginn | Ende`, `Data di fine: 30 giugno 2025`, `14 de abril de 2025` / `Cierre de la
consulta`). Three things are read here, sentence by sentence, after the layout pre-pass:

- the section a line stands in: a heading line that names a consultation gives its context to
  the list items and short dated lines under it (`section_context`);
- a bare range on a short line that is not running text, in such a context: its end
  (a period cue just before the range);
- an end label before its date, or after it in a timeline (a noun cue; the end labels of each
  language are in structure_words.toml, with what is handed in: `Dépôt des dossiers`).

Both cues are weak: they count only with consultation words in the line, its section or the
sentences next to it, as every weak cue does (feeds/deadlines/scoring.py). Here too: which
line is a label of a period (for the layout's joins), a schedule's one-day steps (no period),
and the name of a listed thing (`River Plan`, `Lärmschutz`) for a deadline's label.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path

from feeds.deadlines.caseless import Caseless
from feeds.deadlines.cues import EVENT_WORDS, Cue, CueKind, has_cue_word
from feeds.deadlines.dates import DateMention
from feeds.deadlines.sentences import LIST_MARK, Sentence
from feeds.names import supported

_WORDS = Path(__file__).with_name("structure_words.toml")
MAX_HEADING_WORDS = 10
MAX_ITEM_WORDS = 16  # a dated line longer than this is running text, not a list item
_YEAR = re.compile(r"\b(?:19|20)\d\d\b")  # "Consultations 2025" is still a heading
_SENTENCE_END = re.compile(r"[.!?;,]['\")\]]*$")
# A sentence's end; not the dot of a year-less numeric date ("28.10. - 30.11.").
_PROSE_END = re.compile(r"(?:(?<!\d\.\d)(?<!\d\.\d\d)\.|[!?])['\")\]]*$")
_LEAD = re.compile(r"[\s\-•*–—·▪◦(\[]*")
_LABEL_TO_DATE = re.compile(r"\s*[:–-]?\s*")  # "Ende: 30. Juni", "End date 30 June"
_COLON_TO_DATE = re.compile(r"\s*:\s*")
# A time right after a timeline's date: "28 mai 2024 à 11h dépôt du dossier".
_TIME_FIRST = re.compile(
    r"^[\s,]*(?:(?:at|à|a|um|alle|às|om|a\s+las|by)\s+)?\d{1,2}(?:[:.h]\d{2})?\s*"
    r"(?:h\b|uhr\b|[ap]\.?m\.?|heures\b|horas\b|ore\b)?",
    re.IGNORECASE,
)
_MAX_TIMELINE_WORDS = 4  # "14 April 2025  Consultation closes": words before the label


@cache
def _data() -> dict[str, dict[str, list[str]]]:
    return tomllib.loads(_WORDS.read_text(encoding="utf-8"))


def _any_language(*keys: str) -> list[str]:
    return [w for entry in _data().values() for key in keys for w in entry[key]]


def _whole_words(patterns: list[str]) -> Caseless:
    return Caseless(rf"(?<!\w)(?:{'|'.join(patterns)})(?!\w)")


@cache
def _end_labels(language: str) -> tuple[Caseless, Caseless]:
    """The end labels of `language` (and English): (nouns, words that need a colon)."""
    own = _data()[supported(language)]
    english = _data()["en"] if supported(language) != "en" else {}
    nouns = [*own["end"], *own["submit"], *english.get("end", []), *english.get("submit", [])]
    short = [*own["end_before_colon"], *english.get("end_before_colon", [])]
    return _whole_words(nouns), _whole_words(short)


_LABEL_KEYS = ("start", "start_before_colon", "end", "end_before_colon", "submit")


@cache
def _period_label() -> Caseless:
    """A whole line that is a start or an end label, in any language (`Start date`, `Ende:`)."""
    return Caseless(rf"\s*(?:{'|'.join(_any_language(*_LABEL_KEYS))})\s*:?\s*")


@cache
def _any_period_label() -> Caseless:
    return _whole_words(_any_language("start", "end", "submit"))


@cache
def _start_label() -> Caseless:
    return Caseless(rf"\s*(?:{'|'.join(_any_language('start', 'start_before_colon'))})\s*:?\s*")


@cache
def _end_label() -> Caseless:
    return Caseless(rf"\s*(?:{'|'.join(_any_language('end', 'end_before_colon'))})\s*:?\s*")


@cache
def _submit_label() -> Caseless:
    return _whole_words(_any_language("submit"))


def has_period_label(line: str) -> bool:
    """Whether a short line holds a start, end or submission label (`Cierre de la consulta`)."""
    return _any_period_label().search(line) is not None


def is_period_label(line: str) -> bool:
    """Whether `line` is only a period's start or end label (`Start date`, `Data di fine:`)."""
    return len(line) <= 40 and _period_label().fullmatch(line) is not None


def one_day_step(heads: Sequence[str], cells: Sequence[str]) -> bool:
    """A table row whose start and end cells hold the same date (`Convocatoria | 28/06/2023 |
    28/06/2023`) is a step done on one day, not a period to respond in, unless the row names
    something handed in (`Presentación de propuestas`)."""
    starts = [i for i, head in enumerate(heads) if _start_label().fullmatch(head)]
    ends = [i for i, head in enumerate(heads) if _end_label().fullmatch(head)]
    if len(starts) != 1 or len(ends) != 1 or len(cells) != len(heads):
        return False
    same = cells[starts[0]].strip() == cells[ends[0]].strip()
    return same and not any(_submit_label().search(cell) for cell in cells)


@cache
def _not_a_period() -> Caseless:
    """Words of a range that is not a period to respond in, in any language."""
    return _whole_words(_any_language("not_a_period"))


def _own_line(text: str, sentence: Sentence) -> bool:
    """Whether the sentence is a whole line of `text`."""
    before = text[: sentence.start].rstrip(" \t")
    after = text[sentence.end :].lstrip(" \t")
    return (not before or before.endswith("\n")) and (not after or after.startswith("\n"))


def _words(text: str) -> int:
    return len(text.split())


def is_heading(text: str, sentence: Sentence) -> bool:
    """A heading: a short line of its own, without a date or a sentence's end, not an item."""
    line = sentence.text
    return (
        _own_line(text, sentence)
        and _words(line) <= MAX_HEADING_WORDS
        and LIST_MARK.match(line) is None
        and not any(ch.isdigit() for ch in _YEAR.sub("", line))
        and _SENTENCE_END.search(line) is None
    )


def is_item(text: str, sentence: Sentence) -> bool:
    """A list item: a bulleted or lettered line, or a short dated line that is not prose."""
    line = sentence.text
    if not _own_line(text, sentence):
        return False
    if LIST_MARK.match(line):
        return True
    return (
        _words(line) <= MAX_ITEM_WORDS
        and _DIGIT.search(line) is not None
        and _PROSE_END.search(line) is None
    )


def section_context(
    text: str,
    sentences: Sequence[Sentence],
    in_sentence: Callable[[int], bool],
    *,
    row: bool = False,
    headed: bool = False,
) -> list[bool]:
    """For each sentence, whether it is a list item under a heading that names a consultation.

    A section runs from such a heading over the items under it, and over sub-headings that
    have items right under them (`Lärmschutz` / `Beginn: 03.03.2025`); any other line (running
    text, a heading with items of its own, an events heading) ends it. A table `row` (one
    line per cell, after the heading the table stands under if it is `headed`) is one
    section: its cells are read under that heading alone, never under one of its own cells.
    """
    inside = [False] * len(sentences)
    if row:
        if headed and in_sentence(0) and not EVENT_WORDS.search(sentences[0].text):
            for index in range(1, len(sentences)):
                inside[index] = is_item(text, sentences[index])
        return inside
    on = False
    for index, sentence in enumerate(sentences):
        if is_heading(text, sentence):
            if EVENT_WORDS.search(sentence.text):
                on = False
            elif in_sentence(index):
                on = True
            elif on:
                following = index + 1
                on = (
                    following < len(sentences)
                    and sentences[following].paragraph == sentence.paragraph
                    and is_item(text, sentences[following])
                )
        elif is_item(text, sentence):
            inside[index] = on
        else:
            on = False
    return inside


_DIGIT = re.compile(r"\d")
_MAX_ITEM_CHARS = 200
# A range on one line, the quick way: "2.2. - 14.3.2025", "3 March – 14 April 2025".
_RANGE_LIKE = re.compile(r"\d\.?\s*(?:[^\W\d_]+\.?,?\s*)?(?:[-–—→]|->)\s*(?:[^\W\d_]+\.?,?\s+)?\d")


# ... and one with a word between its ends, in a title: "Consultation 13/11 au 4/12/2015".
_MAX_TITLE_CHARS = 120
_WORDED_RANGE = re.compile(
    r"\d\.?\s*(?:[^\W\d_]+\.?\s+)?(?:au|al|a|bis|to|tot|t/m|até|hasta|until|till|through|"
    r"fino\s+al)\s+\d"
)


def may_hold(text: str) -> bool:
    """Whether a sentence is short enough, and dated, for a structural cue to be tried."""
    return (
        len(text) <= _MAX_ITEM_CHARS
        and _DIGIT.search(text) is not None
        and _words(text) <= MAX_ITEM_WORDS
    )


def may_list(text: str) -> bool:
    """Whether a text may hold a listing at all: lines, or a dashed range (a quick test)."""
    if "\n" in text:
        return True
    dashed = "-" in text or "–" in text or "—" in text or "→" in text
    if dashed and _RANGE_LIKE.search(text) is not None:
        return True
    return len(text) <= _MAX_TITLE_CHARS and _WORDED_RANGE.search(text) is not None


def structural_cues(
    text: str, dates: Sequence[DateMention], language: str, *, in_context: Callable[[], bool]
) -> list[Cue]:
    """The cues the sentence `text` gives by its shape (weak ones; see the module's doc);
    `in_context` (asked only for a range) says whether a consultation is named around it."""
    if not dates or not may_hold(text):
        return []
    cues = _end_label_cues(text, dates, language)
    if (
        any(d.is_range for d in dates)
        and _PROSE_END.search(text) is None
        and _not_a_period().search(text) is None
        and in_context()
    ):
        cues.extend(_bare_range_cues(text, dates))
    return cues


def _bare_range_cues(text: str, dates: Sequence[DateMention]) -> list[Cue]:
    """A range on a listing line: a period cue right before it (spanning the line's words)."""
    found = []
    start = _LEAD.match(text)
    line_start = start.end() if start else 0
    previous_end = line_start
    for mention in dates:
        if mention.is_range:
            begin = previous_end if previous_end < mention.start else mention.start
            found.append(Cue(begin, mention.start, CueKind.PERIOD, needs_context=True))
        previous_end = mention.end
    return found


def _end_label_cues(text: str, dates: Sequence[DateMention], language: str) -> list[Cue]:
    """An end label before its date, or a timeline's after its date: a noun cue on it."""
    nouns, short = _end_labels(language)
    found = []
    lead = _LEAD.match(text)
    line_start = lead.end() if lead else 0
    for pattern, needs_colon in ((nouns, False), (short, True)):
        for m in pattern.finditer(text):
            after = next((d for d in dates if d.start >= m.end()), None)
            before = after is not None and _label_before(
                text, m, after, dates, line_start, needs_colon
            )
            if before or (not needs_colon and _label_after_date(text, m, dates)):
                found.append(Cue(m.start(), m.end(), CueKind.NOUN, needs_context=True))
    return found


def _label_before(
    text: str,
    m: re.Match[str],
    after: DateMention,
    dates: Sequence[DateMention],
    line_start: int,
    needs_colon: bool,
) -> bool:
    """`Ende: 30. Juni 2025`, `End date 30 June 2025` at a line's start or after a date
    (`Start 1 May 2025 End 30 June 2025`); a short word only before a colon (`To: 30 June`)."""
    gap = text[m.end() : after.start]
    if _COLON_TO_DATE.fullmatch(gap):
        return needs_colon is False or m.start() == line_start
    if needs_colon or not _LABEL_TO_DATE.fullmatch(gap):
        return False
    if m.start() == line_start:
        return True
    return any(0 <= m.start() - d.end <= 3 for d in dates)  # right after the start date


def _label_after_date(text: str, m: re.Match[str], dates: Sequence[DateMention]) -> bool:
    """A timeline line: one date, then a few words ending in the label (`14 de abril de 2025
    Cierre de la consulta`), and no other figure after it."""
    before = [d for d in dates if d.end <= m.start()]
    if len(before) != 1 or text[: before[0].start].strip(" \t-•*–"):
        return False
    between = _TIME_FIRST.sub("", text[before[0].end : m.start()], count=1)
    if any(ch.isdigit() for ch in between) or _words(between) > _MAX_TIMELINE_WORDS:
        return False
    return not any(ch.isdigit() for ch in text[m.end() :])


_NAME_END = re.compile(r"\s*(?:[(\[:|–—]|\s-\s)")
_MAX_NAME_WORDS = 8


def item_name(
    text: str,
    sentences: Sequence[Sentence],
    index: int,
    at: int,
    *,
    row: bool = False,
    headed: bool = False,
) -> str | None:
    """The name of the listed thing whose date starts at `at` in sentence `index`: a table
    row's first undated cell (`River Plan`), a list item's words before its date
    (`- Lärmschutz (laufend, ...)`), a timeline's label after its range (`First public
    consultation`), or the sub-heading right above a bare range (`Verkeersplan Oost`)."""
    if row:
        cells = sentences[1:] if headed else sentences
        return next((_name(s.text) for s in cells if _DIGIT.search(s.text) is None), None)
    sentence = sentences[index]
    if not is_item(text, sentence):
        return None
    lead = _LEAD.match(sentence.text)
    before = sentence.text[lead.end() if lead else 0 : at]
    cut = _NAME_END.search(before)
    name = _name(before[: cut.start()] if cut else before)
    if name and not (cut and cut.group().strip() == ":" and has_cue_word(f"{name}:")):
        return name  # not a field's label ("Durée :", "Dates:")
    if not before.strip():  # a timeline's line: the date first, then what it is the date of
        after = sentence.text[at:]
        words = re.sub(r"^[\w\s.,/–—→>-]*\d\w*\.?", "", after, count=1)  # past the date
        name = _name(words)
        if name and not has_period_label(name):
            return name
    if index > 0:
        above = sentences[index - 1]
        if above.paragraph == sentence.paragraph and is_heading(text, above):
            return _name(above.text)
    return None


def _name(words: str) -> str | None:
    name = " ".join(words.strip(" \t-•*–—·:,;()").split())
    if not name or _DIGIT.search(name) or len(name.split()) > _MAX_NAME_WORDS:
        return None
    return None if is_period_label(name) or has_cue_word(name) else name  # a label, not a name
