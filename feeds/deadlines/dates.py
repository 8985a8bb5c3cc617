"""A small date grammar for running text: named months (CLDR's, in seven languages),
numerics, ISO dates, ranges.

Only dates with a day and a month are recognised; a bare year ("2027") or a month alone
("in March") is never a date here, so "between 2021 and 2027" and "COM(2023) 234" stay silent.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date, timedelta
from functools import cache

from feeds import names
from feeds.deadlines.cues import cue_words
from feeds.deadlines.starts import matches_at_starts

# Languages that write month and weekday names in lower case in running text.
_LOWERCASE_NAMES = frozenset({"fr", "it", "es", "nl", "pt"})
_SHORTEST_WEEKDAY = 3  # "ma", "di", "do" (nl, de) are too often other words

# What every phrase date but "Friday (3/3)" contains: "end", "fin", "fim", "eind", "próxim".
_PHRASE_HINT = re.compile(r"(?i:end|fi[mn]|eind|próxim)")

_RANGE_JOINERS = (
    r"(?:-|–|—|to|until|till|through|au|jusqu['’]au|bis(?:\s+(?:zum|einschließlich))?|al|a|"
    r"hasta(?:\s+el)?|"
    r"fino\s+al|tot(?:\s+en\s+met)?|t/m|até(?:\s+(?:o\s+dia|a))?|and|und|et|y|e|en|→|->)"
)
_NUMERIC_JOINERS = r"(?:-|–|—|→|->|bis(?:\s+zum)?|au|al|to|until|tot(?:\s+en\s+met)?|a|t/m|até)"
_DAY_SPAN_JOINERS = (
    r"(?:-|–|—|to|until|till|through|and|au|et|bis(?:\s+zum)?|und|al|a|y|e|en|tot(?:\s+en\s+met)?)"
)


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
    relative: int | None = None  # "today" (0), "tomorrow" (1): days after the reference
    next_weekday: int | None = None  # "on Friday": the first such day from the reference
    skip_today: bool = False  # "next Friday": not the reference day itself
    this_month_end: bool = False  # "until the end of the month": the reference's month
    month_end: bool = False  # "the end of June", "final do mês": the month's last day
    next_day: int | None = None  # "el próximo día 17": the first such day from the reference

    def with_year(self, year: int) -> date | None:
        try:
            return date(year, self.month, self.day)
        except ValueError:
            return None


def _alternation(words: list[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True))


def _names_as_written(words: tuple[str, ...], *, lower: bool) -> list[str]:
    """Title and upper case forms ("May", "MAY"; never "may" in English), lower if allowed."""
    forms = {f(w) for w in words for f in (str.capitalize, str.upper)}
    if lower:
        forms.update(w.lower() for w in words)
    return sorted(forms)


def _relative_words(language: str, key: str) -> tuple[str, ...]:
    """The words for today or tomorrow in the language and English (cue_words/*.toml); the
    patterns there are plain words or spaced phrases."""
    words = [*_words_of("en", key), *(_words_of(language, key) if language != "en" else [])]
    return tuple(words)


def _words_of(language: str, key: str) -> list[str]:
    return list(getattr(cue_words(language), key))


def _weekdays(language: str) -> tuple[str, ...]:
    return tuple(w for w in names.weekday_spellings(language) if len(w) >= _SHORTEST_WEEKDAY)


class DateGrammar:
    """Compiled patterns for one language (its month names plus English)."""

    def __init__(self, language: str, *, month_first_numeric: bool) -> None:
        lang = names.supported(language)
        self.months: dict[str, int] = {**names.month_lookup("en"), **names.month_lookup(lang)}
        self.weekdays: dict[str, int] = {
            **names.weekday_lookup("en"), **names.weekday_lookup(lang)
        }  # fmt: skip
        self.month_first_numeric = month_first_numeric
        own_lower = lang in _LOWERCASE_NAMES
        month_words = _names_as_written(names.month_spellings("en"), lower=False)
        weekday_words = _names_as_written(_weekdays("en"), lower=False)
        if lang != "en":
            month_words += _names_as_written(names.month_spellings(lang), lower=own_lower)
            weekday_words += _names_as_written(_weekdays(lang), lower=own_lower)
        self.month_words = tuple(sorted(set(month_words), key=len, reverse=True))
        month_names = _alternation(month_words)
        weekday_names = _alternation(weekday_words)
        wide = [w for w in weekday_words if len(w) > 4 or not w.isalpha()]  # no "Mon", "Fri"
        bare_weekday_names = _alternation(wide)

        def month(s: str) -> str:
            return rf"(?P<m{s}>{month_names})\.?"

        def weekday(s: str) -> str:
            article = r"(?:the|le|den|el|il|de)\s+"
            return rf"(?:(?P<wd{s}>{weekday_names})\.?,?\s+(?:{article})?)?"

        def day(s: str) -> str:
            return rf"(?P<d{s}>[0-3]?\d)(?:st|nd|rd|th|\s?er|\.º|\.|°|º|o(?=\s))?"

        def year(s: str) -> str:
            return rf"(?:,?\s+(?:de\s+|del\s+)?(?P<y{s}>(?:19|20)\d\d))?"

        def dmy(s: str) -> str:  # 17 February 2023 / 17th Feb / 18. März 2024 / 1er mars
            return weekday(s) + day(s) + r"\s*(?:of\s+|de\s+)?" + month(s) + year(s)

        def mdy(s: str) -> str:  # February 17, 2023 / Friday, March 5, 2024
            return weekday(s) + month(s) + r"\s+" + day(s) + year(s)

        numeric = (  # "28.02.2025", "3/2/25", "28-02-2025", "28. 02. 2025"
            r"(?P<na>[0-3]?\d)(?P<sep>[/.-])\s?(?P<nb>[01]?\d)(?P=sep)\s?"
            r"(?P<ny>(?:19|20)?\d\d)(?![\d/.]\d)"
        )
        dashed = rf"(?P<dd>[0-3]?\d)-(?P<dm>{month_names})-(?P<dy>\d\d(?:\d\d)?)"
        iso = (
            r"(?P<iy>(?:19|20)\d\d)(?P<isep>[-/.])(?P<im>[01]?\d)(?P=isep)(?P<id>[0-3]?\d)(?![\d])"
        )
        # "03.02.2025 - 28.04.2025", "2.2. - 28.4.2025", "06.09.2017-28.11.2017", "23.01 - 28.10."
        numeric_pair = (
            r"(?P<pa>[0-3]?\d)(?P<psep>[/.])(?P<pb>[01]?\d)(?:(?P=psep)(?P<py>(?:19|20)?\d\d)?)?"
            rf"\s*{_NUMERIC_JOINERS}\s*"
            r"(?P<qa>[0-3]?\d)(?P<qsep>[/.])(?P<qb>[01]?\d)"
            r"(?:(?P=qsep)(?P<qy>(?:19|20)?\d\d)(?![\d/.]\d)|\.(?!\d))"
        )
        today, tomorrow = (
            _alternation(_names_as_written(_relative_words(lang, key), lower=True))
            for key in ("today", "tomorrow")
        )
        relative = rf"(?P<rtoday>{today})|(?P<rtomorrow>{tomorrow})"
        short = (  # "bis 28.10.", "until 30/04"
            r"(?P<sa>[0-3]?\d)\.(?P<sb>[01]?\d)\.(?![\d.])"
            r"|(?P<sc>[0-3]\d)/(?P<sd>[01]\d)(?![\d/])"
        )
        # Ranges: "9 and 10 February", "18-20 March 2024", "18 May 2017 - 15 June 2017",
        # "1 March to 30 April", "from March 1 to April 30, 2024".
        day_span = (
            r"(?P<d0>[0-3]?\d)(?:st|nd|rd|th|er|\.|°|º)?\s*" + _DAY_SPAN_JOINERS + r"\s*" + dmy("7")
        )
        month_day_span = (
            weekday("8")
            + month("8")
            + r"\s+(?P<d9>[0-3]?\d)(?:st|nd|rd|th)?\s*"
            + r"(?:-|–|—|to|through|and|&)\s*"
            + day("8")
            + year("8")
        )
        bare_weekday = (  # "until next Friday"; not "Friday, 29.09.2017" (a date follows)
            rf"(?P<bwnext>(?:next|this|coming)\s+)?(?P<bw>{bare_weekday_names})"
            r"(?![.,]?\s*(?:the\s+|den\s+|le\s+|el\s+|il\s+)?\d)"
        )
        # "the end of June", "final deste mês de outubro", "fin du mois", "Ende März"
        end_of = (
            r"(?i:(?:the\s+)?end\s+of\s+(?:the\s+|this\s+)?|(?:o\s+|ao\s+)?(?:final|fim)\s+"
            r"(?:de|do|deste)\s+|(?:el\s+|los\s+|a\s+)?(?:finales|final|fin)\s+(?:de\s+|del\s+|"
            r"du\s+|d['’])?(?:este\s+|ce\s+)?|(?:la\s+)?fine\s+(?:di\s+|del\s+)?(?:questo\s+)?|"
            r"Ende\s+(?:des\s+|dieses\s+)?|eind(?:e)?\s+(?:van\s+)?(?:de(?:ze)?\s+)?)"
        )
        month_words_of_month = r"(?i:month|mois|mes|mês|mese|Monats|maand)"
        month_end = (
            rf"{end_of}(?:(?P<methis>{month_words_of_month})"
            rf"(?:\s+(?:de|d['’]|di|of)\s+(?P<men2>{month_names}))?|(?P<men>{month_names}))"
            r"(?:,?\s+(?:de\s+)?(?P<mey>(?:19|20)\d\d))?"
        )
        # "próxima segunda-feira (23/3)": the date in brackets after a weekday
        weekday_paren = (
            rf"(?:(?:next|this|coming|próxim[oa]|prochain|nächsten?|prossim[oa]|volgende)\s+)?"
            rf"(?P<wpw>{weekday_names})\s*\(\s*(?P<wpd>[0-3]?\d)[/.](?P<wpm>[01]?\d)"
            r"(?:[/.](?P<wpy>(?:19|20)?\d\d))?\s*\)"
        )
        # "el próximo día 17", "o próximo dia 5": a day of the month, the next one to come
        next_day = r"(?i:próximo\s+d[ií]a)\s+(?P<ndd>[0-3]?\d)(?!\s*(?:de|/|\.\d))"
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
                    ("mdspan", month_day_span),
                    ("iso", iso), ("numpair", numeric_pair), ("dashed", dashed),
                    ("numeric", numeric), ("dmy", single_dmy), ("mdy", single_mdy),
                    ("short", short), ("relative", relative), ("bareweekday", bare_weekday),
                ]
            )
            + r")(?![\w])"
        )  # fmt: skip
        self.pattern = re.compile(pattern)
        # Phrases searched on their own (a sentence with a cue is short): adding their first
        # letters to the fast start search below would slow every sentence down.
        self.phrases = re.compile(
            rf"(?<![\w/.])(?:(?P<monthend>{month_end})|(?P<wdparen>{weekday_paren})|"
            rf"(?P<nextday>{next_day}))(?![\w])"
        )
        # Where a date can start: a digit or the first letter of a month or weekday name, not
        # right after a letter, a digit, "/" or "." (the pattern's own look-behind).
        relative_starts = [
            w[0]
            for key in ("today", "tomorrow")
            for w in _names_as_written(_relative_words(lang, key), lower=True)
        ]
        first_letters = re.escape(
            "".join(sorted({name[0] for name in month_words + weekday_words + relative_starts}))
        )
        self._start = re.compile(rf"[\d{first_letters}](?<![\w/.].)")

    def _numeric_pair(self, m: re.Match[str]) -> DateMention | None:
        """The end of a numeric range, if both ends are dates (the opening takes the end's
        year when it has none)."""
        end_year = m.group("qy")
        if end_year is None and m.group("qsep") != ".":
            return None
        opening = _make(
            m.start(), m.end(), int(m.group("pa")), int(m.group("pb")),
            m.group("py") or end_year, None,
        )  # fmt: skip
        if opening is None:
            return None
        return _make(
            m.start(), m.end(), int(m.group("qa")), int(m.group("qb")), end_year, None,
            is_range=True,
        )  # fmt: skip

    def _month(self, text: str | None) -> int | None:
        return None if text is None else self.months.get(names.fold(text))

    def _weekday(self, text: str | None) -> int | None:
        return None if text is None else self.weekdays.get(names.fold(text))

    def _full(
        self, m: re.Match[str], s: str, *, start: int, is_range: bool, year: str | None = None
    ) -> DateMention | None:
        day_text, month_num = m.group("d" + s), self._month(m.group("m" + s))
        weekday = self._weekday(m.group("wd" + s))
        year_text = m.group("y" + s) or year
        return _make(
            start, m.end(), int(day_text), month_num, year_text, weekday, is_range=is_range
        )

    def _month_end(self, m: re.Match[str]) -> DateMention | None:
        named = self._month(m.group("men") or m.group("men2"))
        if named is None:
            if m.group("methis") is None:
                return None
            return DateMention(
                m.start(), m.end(), 1, 1, None, None, this_month_end=True, month_end=True
            )
        last = calendar.monthrange(2023, named)[1]  # a common year: 28 February
        mention = _make(m.start(), m.end(), last, named, m.group("mey"), None)
        return None if mention is None else replace(mention, month_end=True)

    def _matches(self, text: str) -> Iterator[re.Match[str]]:
        """`self.pattern.finditer(text)`, tried only where a date can start."""
        return matches_at_starts(self.pattern, self._start, text)

    def find(self, text: str) -> list[DateMention]:
        phrases = self._phrases(text)
        found: list[DateMention] = []
        for m in self._matches(text):
            if phrases and any(p.start < m.end() and m.start() < p.end for p in phrases):
                continue  # "segunda-feira" of "próxima segunda-feira (23/3)"
            kind = m.lastgroup
            mention: DateMention | None = None
            if kind in ("pairdmy", "pairmdy"):
                a, b = ("3", "4") if kind == "pairdmy" else ("5", "6")
                mention = self._full(m, b, start=m.start(), is_range=True)
                opening = self._full(m, a, start=m.start(), is_range=False, year=m.group("y" + b))
                if opening is None:
                    mention = None
                elif mention is not None and mention.year is None and opening.year is not None:
                    # "Sep 19, 2024 – Oct 10": the end takes the opening's year (or the next)
                    later = (mention.month, mention.day) >= (opening.month, opening.day)
                    mention = replace(mention, year=opening.year + (0 if later else 1))
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
            elif kind == "mdspan":
                if int(m.group("d9")) < int(m.group("d8")):
                    mention = self._full(m, "8", start=m.start(), is_range=True)
            elif kind == "bareweekday":
                target = self._weekday(m.group("bw"))
                if target is not None:
                    mention = DateMention(
                        m.start(), m.end(), 1, 1, None, target, next_weekday=target,
                        skip_today=m.group("bwnext") is not None,
                    )  # fmt: skip
            elif kind == "relative":
                offset = 0 if m.group("rtoday") else 1
                mention = DateMention(m.start(), m.end(), 1, 1, None, None, relative=offset)
            elif kind == "iso":
                mention = _make(
                    m.start(), m.end(), int(m.group("id")), int(m.group("im")), m.group("iy"), None
                )
            elif kind == "numpair":
                mention = self._numeric_pair(m)
            elif kind == "short":
                day, month = m.group("sa", "sb") if m.group("sa") else m.group("sc", "sd")
                mention = _make(m.start(), m.end(), int(day), int(month), None, None)
            elif kind == "numeric":
                first, second = int(m.group("na")), int(m.group("nb"))
                if self.month_first_numeric and m.group("sep") == "/" and first <= 12:
                    first, second = second, first
                mention = _make(m.start(), m.end(), first, second, m.group("ny"), None)
            if mention is not None:
                found.append(mention)
        if phrases:
            found = sorted(found + phrases, key=lambda mention: mention.start)
        return found

    def _phrases(self, text: str) -> list[DateMention]:
        """ "the end of June", "próxima segunda-feira (23/3)", "el próximo día 17"."""
        found: list[DateMention] = []
        if "(" not in text and _PHRASE_HINT.search(text) is None:
            return found  # most sentences: one quick search
        for m in self.phrases.finditer(text):
            mention: DateMention | None = None
            if m.lastgroup == "monthend":
                mention = self._month_end(m)
            elif m.lastgroup == "wdparen":
                mention = _make(
                    m.start(), m.end(), int(m.group("wpd")), int(m.group("wpm")),
                    m.group("wpy"), self._weekday(m.group("wpw")),
                )  # fmt: skip
            else:
                day_of_month = int(m.group("ndd"))
                if 1 <= day_of_month <= 31:
                    mention = DateMention(
                        m.start(), m.end(), day_of_month, 1, None, None, next_day=day_of_month
                    )
            if mention is not None:
                found.append(mention)
        return found


def _make(
    start: int,
    end: int,
    day: int,
    month: int | None,
    year_text: str | None,
    weekday: int | None,
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
    """The date a mention names: its own year, or the first such date on/after `reference`
    ("today" and "tomorrow" count from `reference`, the item's date)."""
    if mention.relative is not None:
        return reference + timedelta(days=mention.relative)
    if mention.this_month_end:
        last = calendar.monthrange(reference.year, reference.month)[1]
        return reference.replace(day=last)
    if mention.next_day is not None:
        for ahead in range(62):
            day = reference + timedelta(days=ahead)
            if day.day == mention.next_day:
                return day
    if mention.next_weekday is not None:
        ahead = (mention.next_weekday - reference.weekday()) % 7
        return reference + timedelta(days=ahead or (7 if mention.skip_today else 0))
    if mention.year is not None:
        resolved = mention.with_year(mention.year)
        if resolved is not None:
            return resolved
    for year in range(reference.year, reference.year + 9):
        candidate = mention.with_year(year)
        if candidate is not None and candidate >= reference:
            return candidate
    raise ValueError(f"no valid year for day {mention.day} month {mention.month}")


def is_relative(mention: DateMention) -> bool:
    """Whether the mention counts from the item's date ("today", "on Friday", "the 17th",
    "the end of the month") rather than naming its day and month."""
    return (
        mention.relative is not None
        or mention.next_weekday is not None
        or mention.next_day is not None
        or mention.this_month_end
    )
