"""The reference date that year-less dates ("17 February") are resolved from."""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Sequence
from datetime import date
from functools import cache

from feeds.deadlines.cues import cues_for, has_cue_word
from feeds.deadlines.dates import DateMention, grammar_for
from feeds.names import LANGUAGES, fold

_LANGUAGES = ("en", "fr", "de")  # read when the language is not known
_CUE_REACH = 60  # a full date this close after a deadline cue is a closing date, not a dateline

# How a page is read quickly: every full date ends with its year, so the page (all its texts
# joined by a NUL, which no date can contain) is searched for year tokens only: 19xx/20xx after
# a space (dmy, mdy) and 2 or 4 digits after "/", "." or "-" (numeric, dashed). Each token is
# read backwards (an anchored match on the reversed page) to get its day and month. Only a
# date that would become the latest is then confirmed with the full grammar and cue rules on
# its own text, so the result is the one `grammar.find` + `cues.find` on every text would give.
_SEPARATOR = "\x00"
# Each search opens with literal characters the regex engine skips ahead to (the space before
# a year is checked looking back, after its digits); one search per mark for the same reason.
_YEAR_AFTER_SPACE = (
    re.compile(r"20\d\d(?<=\s\d{4})(?!\w)"),
    re.compile(r"19\d\d(?<=\s\d{4})(?!\w)"),
)
_YEAR_AFTER_MARK = tuple(re.compile(rf"{re.escape(mark)}\d\d(?:\d\d)?(?!\w)") for mark in "/.-")
_SUFFIX = r"(?:ts|dn|dr|ht|re|\.|°|º)?"  # "st", "nd", "rd", "th", "er", "." reversed


class _Backwards:
    """Reversed patterns for the dates of a set of languages (their month names plus English)."""

    def __init__(self, languages: tuple[str, ...]) -> None:
        months: dict[str, int] = {}
        words: set[str] = set()
        for language in languages:
            grammar = grammar_for(language)
            months.update(grammar.months)
            words.update(grammar.month_words)
        self.months = months
        names = "|".join(re.escape(name[::-1]) for name in sorted(words, key=len, reverse=True))
        # "17 March 2023", "17th of March, 2023", "18. März 2024" | "March 17, 2023"
        self.spaced = re.compile(
            rf"\d{{4}}\s+,?(?:(?:ed|led)\s+)?(?:\.?(?P<m1>{names})(?:\s+(?:fo|ed))?\s*{_SUFFIX}"
            rf"(?P<d1>\d[0-3]?)"
            rf"|{_SUFFIX}(?P<d2>\d[0-3]?)\s+\.?(?P<m2>{names}))",
            re.IGNORECASE,
        )
        # "17.03.2023", "17/3/23"
        self.numeric = re.compile(
            r"\d\d(?:\d\d)?(?P<sep>[/.])(?P<b>\d[01]?)(?P=sep)(?P<a>\d[0-3]?)"
        )
        # "17-Mar-2023"
        self.dashed = re.compile(rf"\d\d(?:\d\d)?-(?P<m>{names})-(?P<d>\d[0-3]?)", re.IGNORECASE)

    def read(self, reversed_page: str, at: int, mark: str, year: int) -> date | None:
        """The date whose year token ends at `at` in the reversed page (None: not a date)."""
        if mark == "-":
            m = self.dashed.match(reversed_page, at)
            if m is None:
                return None
            day, month = m.group("d"), self.months.get(fold(m.group("m")[::-1]))
        elif mark in "/.":
            m = self.numeric.match(reversed_page, at)
            if m is None:
                return None
            day, month = m.group("a"), int(m.group("b")[::-1])
        else:
            m = self.spaced.match(reversed_page, at)
            if m is None:
                return None
            name = m.group("m1") or m.group("m2")
            day = m.group("d1") or m.group("d2")
            month = self.months.get(fold(name[::-1]))
        if month is None:
            return None
        try:
            return date(year, month, int(day[::-1]))
        except ValueError:
            return None


@cache
def _backwards(languages: tuple[str, ...]) -> _Backwards:
    return _Backwards(languages)


def _languages(language: str | None) -> tuple[str, ...]:
    if language is None:
        return _LANGUAGES
    code = language.lower().split("-")[0].split("_")[0]
    return (code,) if code in LANGUAGES else ("en",)  # other languages: English names only


class _Text:
    """One text's mentions and cue ends per language, computed when first asked for."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._mentions: dict[str, dict[int, DateMention]] = {}
        self._cue_ends: dict[str, list[int]] = {}
        self._has_cue: bool | None = None

    def mention_ending_at(self, language: str, end: int) -> DateMention | None:
        if language not in self._mentions:
            self._mentions[language] = {
                m.end: m for m in grammar_for(language).find(self.text) if m.year is not None
            }
        return self._mentions[language].get(end)

    def governed(self, language: str, mention: DateMention) -> bool:
        """Whether a deadline cue stands just before the mention (a closing date)."""
        if self._has_cue is None:
            self._has_cue = has_cue_word(self.text)
        if not self._has_cue:
            return False
        if language not in self._cue_ends:
            self._cue_ends[language] = [cue.end for cue in cues_for(language).find(self.text)]
        return any(0 <= mention.start - end <= _CUE_REACH for end in self._cue_ends[language])


def _year_tokens(page: str) -> list[tuple[int, int, str]]:
    """The page's year tokens: (start, end, the character before: a space or the mark)."""
    tokens = [
        (m.start(), m.end(), " ") for pattern in _YEAR_AFTER_SPACE for m in pattern.finditer(page)
    ]
    for pattern in _YEAR_AFTER_MARK:
        for m in pattern.finditer(page):
            digits = m.group()[1:]
            if len(digits) == 2 or m.group()[0] == "-" or digits[:2] in ("19", "20"):
                tokens.append((m.start() + 1, m.end(), m.group()[0]))
    return tokens


def latest_full_date(
    texts: Sequence[str], *, not_after: date | None = None, language: str | None = None
) -> date | None:
    """The latest date written with its year in `texts` (a page is written on or after it).

    Closing dates ("open until 17 April 2023") are skipped: they say when something ends, not
    when the page was written; so are dates after `not_after` (the day the page was read).
    Dates are read with the month names of `language` plus English (None: en, fr and de; a
    date counts when one of them reads it outside a cue's reach).
    """
    languages = _languages(language)
    backwards = _backwards(languages)
    page = _SEPARATOR.join(texts)
    starts: list[int] = []
    offset = 0
    for each in texts:
        starts.append(offset)
        offset += len(each) + 1
    tokens = _year_tokens(page)
    if not tokens:
        return None
    reversed_page = page[::-1]
    size = len(page)
    latest: date | None = None
    texts_read: dict[int, _Text] = {}
    for start, end, mark in tokens:
        digits = page[start:end]
        year = int(digits) + (2000 if len(digits) == 2 else 0)
        if not_after is not None and year > not_after.year:
            continue
        if latest is not None and year < latest.year:
            continue
        written = backwards.read(reversed_page, size - end, mark, year)
        if written is None or (not_after is not None and written > not_after):
            continue
        if latest is not None and written <= latest:
            continue
        index = bisect_right(starts, start) - 1
        read = texts_read.get(index)
        if read is None:
            read = texts_read[index] = _Text(texts[index])
        confirmed = _confirm(read, end - starts[index], languages)
        if confirmed is None or (not_after is not None and confirmed > not_after):
            continue
        if latest is None or confirmed > latest:
            latest = confirmed
            if latest == not_after:
                break  # nothing later can count
    return latest


def _confirm(text: _Text, end: int, languages: tuple[str, ...]) -> date | None:
    """The full date the grammar reads ending at `end`, if one language counts it."""
    for language in languages:
        mention = text.mention_ending_at(language, end)
        if mention is None or mention.year is None or text.governed(language, mention):
            continue
        written = mention.with_year(mention.year)
        if written is not None:
            return written
    return None


def choose_reference(
    *,
    published: date | None,
    texts: Sequence[str],
    first_seen: date,
    language: str | None = None,
) -> tuple[date, bool]:
    """The best reference and whether it is strong.

    The item's publication date (strong); else the latest full date written in the item or on
    its page, not counting closing dates nor dates after first_seen (strong enough); else
    first_seen (weak: deadlines resolved from it are flagged uncertain). `language` (the
    source's) limits the month names read to its own plus English; None reads en, fr and de.
    """
    if published is not None:
        return published, True
    latest = latest_full_date(texts, not_after=first_seen, language=language)
    if latest is not None:
        return latest, True
    return first_seen, False
