"""A small date grammar for running text: named months (en/fr/de), numerics, ranges.

Only dates with a day and a month are recognised; a bare year ("2027") or a month alone
("in March") is never a date here, so "between 2021 and 2027" and "COM(2023) 234" stay silent.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from functools import cache

from feeds.deadlines.starts import matches_at_starts

_MONTHS: dict[str, dict[str, int]] = {
    "en": {
        "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4,
        "apr": 4, "may": 5, "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8,
        "september": 9, "sept": 9, "sep": 9, "october": 10, "oct": 10, "november": 11,
        "nov": 11, "december": 12, "dec": 12,
    },
    "fr": {
        "janvier": 1, "janv": 1, "février": 2, "fevrier": 2, "févr": 2, "fév": 2,
        "mars": 3, "avril": 4, "avr": 4, "mai": 5, "juin": 6, "juillet": 7, "juil": 7,
        "août": 8, "aout": 8, "septembre": 9, "octobre": 10, "novembre": 11, "décembre": 12,
        "decembre": 12, "déc": 12,
    },
    "de": {
        "januar": 1, "jänner": 1, "februar": 2, "märz": 3, "maerz": 3, "mär": 3, "april": 4,
        "mai": 5, "juni": 6, "juli": 7, "august": 8, "september": 9, "oktober": 10, "okt": 10,
        "november": 11, "dezember": 12, "dez": 12,
    },
}  # fmt: skip

_WEEKDAYS: dict[str, int] = {
    "monday": 0, "mon": 0, "tuesday": 1, "tue": 1, "tues": 1, "wednesday": 2, "wed": 2,
    "thursday": 3, "thu": 3, "thurs": 3, "friday": 4, "fri": 4, "saturday": 5, "sat": 5,
    "sunday": 6, "sun": 6,
    "lundi": 0, "mardi": 1, "mercredi": 2, "jeudi": 3, "vendredi": 4, "samedi": 5,
    "dimanche": 6,
    "montag": 0, "dienstag": 1, "mittwoch": 2, "donnerstag": 3, "freitag": 4, "samstag": 5,
    "sonnabend": 5, "sonntag": 6,
}  # fmt: skip

_RANGE_JOINERS = r"(?:-|–|—|to|until|till|through|au|jusqu['’]au|bis(?:\s+zum)?)"
_DAY_SPAN_JOINERS = r"(?:-|–|—|to|until|till|through|and|au|et|bis(?:\s+zum)?|und)"
_LOWERCASE_MONTHS = frozenset({"fr"})  # French writes month and day names in lower case


@dataclass(frozen=True, slots=True)
class DateMention:
    """A date written in the text; for a range, the end of the range (and `is_range`)."""

    start: int
    end: int
    day: int
    month: int
    year: int | None
    weekday: int | None
    is_range: bool = False

    def with_year(self, year: int) -> date | None:
        try:
            return date(year, self.month, self.day)
        except ValueError:
            return None


def _alternation(words: list[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True))


def _cased(words: list[str], *, lower: bool) -> list[str]:
    """Title and upper case forms ("May", "MAY"; never "may" in English), lower if allowed."""
    forms = [f(w) for w in words for f in (str.capitalize, str.upper)]
    return forms + (list(words) if lower else [])


class DateGrammar:
    """Compiled patterns for one language (its month names plus English)."""

    def __init__(self, language: str, *, month_first_numeric: bool) -> None:
        months: dict[str, int] = dict(_MONTHS["en"])
        if language in _MONTHS:
            months.update(_MONTHS[language])
        self.months = months
        self.month_first_numeric = month_first_numeric
        lower = language in _LOWERCASE_MONTHS
        month_names = _alternation(_cased(list(months), lower=lower))
        weekday_names = _alternation(_cased(list(_WEEKDAYS), lower=lower))

        def month(s: str) -> str:
            return rf"(?P<m{s}>{month_names})\.?"

        def weekday(s: str) -> str:
            return rf"(?:(?P<wd{s}>{weekday_names})\.?,?\s+(?:the\s+|le\s+|den\s+)?)?"

        def day(s: str) -> str:
            return rf"(?P<d{s}>[0-3]?\d)(?:st|nd|rd|th|er|\.)?"

        def year(s: str) -> str:
            return rf"(?:,?\s+(?P<y{s}>(?:19|20)\d\d))?"

        def dmy(s: str) -> str:  # 17 February 2023 / 17th Feb / 18. März 2024 / 1er mars
            return weekday(s) + day(s) + r"\s*(?:of\s+)?" + month(s) + year(s)

        def mdy(s: str) -> str:  # February 17, 2023 / Friday, March 5, 2024
            return weekday(s) + month(s) + r"\s+" + day(s) + year(s)

        numeric = (
            r"(?P<na>[0-3]?\d)(?P<sep>[/.])(?P<nb>[01]?\d)(?P=sep)"
            r"(?P<ny>(?:19|20)?\d\d)(?![\d/.]\d)"
        )
        dashed = rf"(?P<dd>[0-3]?\d)-(?P<dm>{month_names})-(?P<dy>\d\d(?:\d\d)?)"
        # Ranges: "9 and 10 February", "18-20 March 2024", "18 May 2017 - 15 June 2017",
        # "1 March to 30 April", "from March 1 to April 30, 2024".
        day_span = (
            r"(?P<d0>[0-3]?\d)(?:st|nd|rd|th|er|\.)?\s*" + _DAY_SPAN_JOINERS + r"\s*" + dmy("7")
        )
        single_dmy = dmy("1")
        single_mdy = mdy("2")
        pair_dmy = dmy("3") + r"\s*" + _RANGE_JOINERS + r"\s*" + dmy("4")
        pair_mdy = mdy("5") + r"\s*" + _RANGE_JOINERS + r"\s*" + mdy("6")
        pattern = (
            r"(?<![\w/.])(?:"
            + "|".join(
                f"(?P<{name}>{body})"
                for name, body in [
                    ("pairdmy", pair_dmy), ("pairmdy", pair_mdy), ("dayspan", day_span),
                    ("dashed", dashed), ("numeric", numeric), ("dmy", single_dmy),
                    ("mdy", single_mdy),
                ]
            )
            + r")(?![\w])"
        )  # fmt: skip
        self.pattern = re.compile(pattern)
        # Where a date can start: a digit or the first letter of a month or weekday name, not
        # right after a letter, a digit, "/" or "." (the pattern's own look-behind).
        names = _cased(list(months), lower=lower) + _cased(list(_WEEKDAYS), lower=lower)
        first_letters = re.escape("".join(sorted({name[0] for name in names})))
        self._start = re.compile(rf"[\d{first_letters}](?<![\w/.].)")

    def _month(self, text: str | None) -> int | None:
        return None if text is None else self.months.get(text.lower().rstrip("."))

    def _full(
        self, m: re.Match[str], s: str, *, start: int, is_range: bool, year: str | None = None
    ) -> DateMention | None:
        day_text, month_num = m.group("d" + s), self._month(m.group("m" + s))
        weekday_text = m.group("wd" + s)
        year_text = m.group("y" + s) or year
        return _make(
            start, m.end(), int(day_text), month_num, year_text, weekday_text, is_range=is_range
        )

    def _matches(self, text: str) -> Iterator[re.Match[str]]:
        """`self.pattern.finditer(text)`, tried only where a date can start."""
        return matches_at_starts(self.pattern, self._start, text)

    def find(self, text: str) -> list[DateMention]:
        found: list[DateMention] = []
        for m in self._matches(text):
            kind = m.lastgroup
            mention: DateMention | None = None
            if kind in ("pairdmy", "pairmdy"):
                a, b = ("3", "4") if kind == "pairdmy" else ("5", "6")
                mention = self._full(m, b, start=m.start(), is_range=True)
                opening = self._full(m, a, start=m.start(), is_range=False, year=m.group("y" + b))
                if opening is None:
                    mention = None
            elif kind == "dayspan":
                if int(m.group("d0")) < int(m.group("d7")):
                    mention = self._full(m, "7", start=m.start(), is_range=True)
            elif kind == "dmy":
                mention = self._full(m, "1", start=m.start(), is_range=False)
            elif kind == "mdy":
                mention = self._full(m, "2", start=m.start(), is_range=False)
            elif kind == "dashed":
                mention = _make(
                    m.start(), m.end(), int(m.group("dd")), self._month(m.group("dm")),
                    m.group("dy"), None,
                )  # fmt: skip
            elif kind == "numeric":
                first, second = int(m.group("na")), int(m.group("nb"))
                if self.month_first_numeric and m.group("sep") == "/" and first <= 12:
                    first, second = second, first
                mention = _make(m.start(), m.end(), first, second, m.group("ny"), None)
            if mention is not None:
                found.append(mention)
        return found


def _make(
    start: int,
    end: int,
    day: int,
    month: int | None,
    year_text: str | None,
    weekday_text: str | None,
    *,
    is_range: bool = False,
) -> DateMention | None:
    if month is None or not 1 <= month <= 12 or not 1 <= day <= 31:
        return None
    year = None
    if year_text is not None:
        year = int(year_text)
        if year < 100:
            year += 2000
    weekday = _WEEKDAYS.get(weekday_text.lower().rstrip(".")) if weekday_text else None
    mention = DateMention(start, end, day, month, year, weekday, is_range)
    if mention.with_year(year if year is not None else 2024) is None:  # 2024: Feb 29 exists
        return None
    return mention


def grammar_for(language: str, month_first_numeric: bool = False) -> DateGrammar:
    """The compiled grammar for a language (cached; built once per language and numeric order).

    One cache key whether the flag is passed or left out: `grammar_for("en")` and
    `grammar_for("en", False)` are the same grammar, compiled once (each compile is ~0.1 s).
    """
    return _grammar(language, month_first_numeric)


@cache
def _grammar(language: str, month_first_numeric: bool) -> DateGrammar:
    return DateGrammar(language, month_first_numeric=month_first_numeric)


def resolve(mention: DateMention, reference: date) -> date:
    """The date a mention names: its own year, or the first such date on/after `reference`."""
    if mention.year is not None:
        resolved = mention.with_year(mention.year)
        if resolved is not None:
            return resolved
    for year in range(reference.year, reference.year + 9):
        candidate = mention.with_year(year)
        if candidate is not None and candidate >= reference:
            return candidate
    raise ValueError(f"no valid year for day {mention.day} month {mention.month}")
