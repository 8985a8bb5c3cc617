"""Publication dates as pages print them: "11 February 2026", "06 Feb 2026", "11 février 2026",
ISO `<time datetime>` values.

No fuzzy parsing: a value is either a whole date (optionally with a time), or a short label
("Published on 11 February 2026") from which one date-shaped phrase is cut out by a regular
expression first. Month and weekday names of the source language are mapped to English before
python-dateutil sees the text. A value without a four-digit year is refused (no guessing from
the clock).

A date-only value means **noon** in the source's time zone: the instant then keeps its calendar
date when shown in UTC (or any zone within ±11 hours), so a Brussels item dated 11 February is
not listed as 10 February 23:00 UTC. A stated time is used as given.
"""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

from dateutil import parser as dateparser

MONTHS: dict[str, dict[str, int]] = {
    "fr": {
        "janvier": 1, "janv": 1, "février": 2, "fevrier": 2, "févr": 2, "fevr": 2, "mars": 3,
        "avril": 4, "avr": 4, "mai": 5, "juin": 6, "juillet": 7, "juil": 7, "août": 8,
        "aout": 8, "septembre": 9, "sept": 9, "octobre": 10, "oct": 10, "novembre": 11,
        "nov": 11, "décembre": 12, "decembre": 12, "déc": 12, "dec": 12,
    },
    "de": {
        "januar": 1, "jänner": 1, "jan": 1, "februar": 2, "feb": 2, "märz": 3, "maerz": 3,
        "mär": 3, "april": 4, "apr": 4, "mai": 5, "juni": 6, "juli": 7, "august": 8, "aug": 8,
        "september": 9, "sep": 9, "sept": 9, "oktober": 10, "okt": 10, "november": 11,
        "nov": 11, "dezember": 12, "dez": 12,
    },
    "nl": {
        "januari": 1, "jan": 1, "februari": 2, "feb": 2, "maart": 3, "mrt": 3, "april": 4,
        "apr": 4, "mei": 5, "juni": 6, "juli": 7, "augustus": 8, "aug": 8, "september": 9,
        "sep": 9, "oktober": 10, "okt": 10, "november": 11, "nov": 11, "december": 12,
        "dec": 12,
    },
    "es": {
        "enero": 1, "febrero": 2, "marzo": 3, "abril": 4, "mayo": 5, "junio": 6, "julio": 7,
        "agosto": 8, "septiembre": 9, "setiembre": 9, "octubre": 10, "noviembre": 11,
        "diciembre": 12,
    },
    "it": {
        "gennaio": 1, "febbraio": 2, "marzo": 3, "aprile": 4, "maggio": 5, "giugno": 6,
        "luglio": 7, "agosto": 8, "settembre": 9, "ottobre": 10, "novembre": 11,
        "dicembre": 12,
    },
    "pt": {
        "janeiro": 1, "fevereiro": 2, "março": 3, "marco": 3, "abril": 4, "maio": 5,
        "junho": 6, "julho": 7, "agosto": 8, "setembro": 9, "outubro": 10, "novembro": 11,
        "dezembro": 12,
    },
}  # fmt: skip

FILLER: dict[str, frozenset[str]] = {
    "fr": frozenset({"le", "du", "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi",
                     "dimanche", "à", "h"}),
    "de": frozenset({"den", "am", "montag", "dienstag", "mittwoch", "donnerstag", "freitag",
                     "samstag", "sonntag", "um", "uhr"}),
    "nl": frozenset({"maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag",
                     "zondag", "om"}),
    "es": frozenset({"de", "del", "lunes", "martes", "miércoles", "jueves", "viernes",
                     "sábado", "domingo", "a", "las"}),
    "it": frozenset({"lunedì", "martedì", "mercoledì", "giovedì", "venerdì", "sabato",
                     "domenica", "alle", "ore"}),
    "pt": frozenset({"de", "segunda-feira", "terça-feira", "quarta-feira", "quinta-feira",
                     "sexta-feira", "sábado", "domingo", "às"}),
}  # fmt: skip

MAX_LABEL = 60
"""Longest text searched for a date phrase; longer text is running prose, not a date label."""

_ISO = re.compile(
    r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?(?:Z|[+-]\d{2}:?\d{2})?$"
)
_WORD = re.compile(r"[^\W\d_][\w-]*\.?", re.UNICODE)
_TIME = r"(?:[,\s]+(?:at\s+)?\d{1,2}[:.h]\d{2}(?:\s*[ap]\.?m\.?)?)?"
_PHRASES = (
    re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2})?(?:Z|[+-]\d{2}:?\d{2})?)?"),
    re.compile(
        r"\d{1,2}(?:st|nd|rd|th|er|\.)?\s+(?:de\s+)?[^\W\d_]+\.?,?\s+(?:de\s+)?\d{4}" + _TIME
    ),
    re.compile(r"[^\W\d_]+\.?\s+\d{1,2}(?:st|nd|rd|th)?,?\s+\d{4}" + _TIME),
    re.compile(r"\d{1,2}[./]\d{1,2}[./]\d{4}" + _TIME),
)
_DMY = re.compile(r"^(\d{1,2})(?:st|nd|rd|th|\.)?\s+([A-Za-z]+)\.?,?\s+(\d{4})$")
MONTH_NAMES = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)  # fmt: skip
_ENGLISH_MONTHS = {
    name.lower()[:size]: number
    for number, name in enumerate(MONTH_NAMES, start=1)
    for size in (3, len(name))
} | {"sept": 9}
_YEAR = re.compile(r"(?<!\d)\d{4}(?!\d)")


def _to_english(text: str, language: str) -> str:
    months = MONTHS.get(language.split("-")[0].lower())
    if not months:
        return text
    filler = FILLER.get(language.split("-")[0].lower(), frozenset())

    def swap(match: re.Match[str]) -> str:
        word = match.group(0)
        key = word.rstrip(".").lower()
        if key in months:
            return MONTH_NAMES[months[key] - 1]
        if key in filler:
            return " "
        if key == "er":  # "1er février"
            return ""
        return word

    return _WORD.sub(swap, text)


def _strict(text: str, zone: ZoneInfo) -> datetime | None:
    """Parse a whole value; None when it is not a complete date (day, month and year)."""
    if _ISO.match(text):
        try:
            value = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None
        if len(text) == 10:
            value = datetime.combine(value.date(), time(12, 0))
        return value if value.tzinfo else value.replace(tzinfo=zone)

    def local_zone(name: str | None, offset: int | None) -> tzinfo:
        # "CET" on a summer date usually means local time: zone abbreviations read as the
        # source zone; explicit numeric offsets are kept.
        return timezone(timedelta(seconds=offset)) if offset is not None else zone

    results = []
    defaults = (datetime(2000, 1, 1, 12, tzinfo=zone), datetime(2001, 2, 2, 12, tzinfo=zone))
    for default in defaults:
        try:
            results.append(
                dateparser.parse(text, dayfirst=True, default=default, tzinfos=local_zone)
            )
        except (ValueError, OverflowError):
            return None
    first, second = results
    if (first.year, first.month, first.day) != (second.year, second.month, second.day):
        return None  # some part of the date came from the default: incomplete
    if str(first.year) not in _YEAR.findall(text):
        return None  # "9 and 10 February" must not become 2009-02-10
    return first


def _day_month_year(text: str, zone: ZoneInfo) -> datetime | None:
    """Fast path for the common "11 February 2026" / "06 Feb 2026" shape (no time)."""
    match = _DMY.match(text)
    if match is None:
        return None
    month = _ENGLISH_MONTHS.get(match.group(2).lower())
    if month is None:
        return None
    try:
        return datetime(int(match.group(3)), month, int(match.group(1)), 12, 0, tzinfo=zone)
    except ValueError:
        return None


def parse_page_date(text: str, language: str, zone: ZoneInfo) -> datetime | None:
    """An aware datetime for a date label in `language`, or None when it holds no full date."""
    value = " ".join(text.split()).strip(" ,;:-|")
    if not _YEAR.search(value):
        return None  # no four-digit year: not a date we accept (and skips "News article")
    if _ISO.match(value):
        return _strict(value, zone)
    english = " ".join(_to_english(value, language).split())
    fast = _day_month_year(english, zone)
    if fast is not None:
        return fast
    found = _strict(english, zone) if len(english) <= MAX_LABEL else None
    if found is not None or len(value) > MAX_LABEL:
        return found
    for phrase in _PHRASES:
        match = phrase.search(english)
        if match:
            found = _strict(match.group(0), zone)
            if found is not None:
                return found
    return None
