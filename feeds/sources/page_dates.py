"""Publication dates as pages print them: "11 February 2026", "06 Feb 2026", "11 février 2026",
ISO `<time datetime>` values.

No fuzzy parsing: a value is either a whole date (optionally with a time), or a short label
("Published on 11 February 2026") from which one date-shaped phrase is cut out by a regular
expression first. Month and weekday names of the source language (feeds.names, CLDR) are
mapped to English before python-dateutil sees the text. A value without a four-digit year is
refused (no guessing from the clock).

A date-only value means **noon** in the source's time zone: the instant then keeps its calendar
date when shown in UTC (or any zone within ±11 hours), so a Brussels item dated 11 February is
not listed as 10 February 23:00 UTC. A stated time is used as given.
"""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

from dateutil import parser as dateparser

from feeds.names import fold, month_lookup, month_names, supported, weekday_lookup

# Words that join a date's parts in a label ("le 11 février 2026 à 10 h"): dropped before
# python-dateutil reads it, like the weekday names. Month and weekday names come from
# feeds.names (CLDR), never from a table here.
CONNECTORS: dict[str, frozenset[str]] = {
    "fr": frozenset({"le", "du", "a", "h"}),
    "de": frozenset({"den", "am", "um", "uhr"}),
    "nl": frozenset({"om"}),
    "es": frozenset({"de", "del", "a", "las"}),
    "it": frozenset({"alle", "ore"}),
    "pt": frozenset({"de", "as"}),
}

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
_YEAR = re.compile(r"(?<!\d)\d{4}(?!\d)")


def _to_english(text: str, language: str) -> str:
    """Month names of `language` written in English, its weekday names and connectors dropped."""
    lang = supported(language)
    if lang == "en":
        return text
    months, weekdays = month_lookup(lang), weekday_lookup(lang)
    connectors = CONNECTORS.get(lang, frozenset())
    english = month_names("en")

    def swap(match: re.Match[str]) -> str:
        word = match.group(0)
        key = fold(word)
        if key in months:
            return english[months[key] - 1]
        if key in weekdays or key in connectors:
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
    month = month_lookup("en").get(fold(match.group(2)))
    if month is None:
        return None
    try:
        return datetime(int(match.group(3)), month, int(match.group(1)), 12, 0, tzinfo=zone)
    except ValueError:
        return None


def parse_date_value(text: str, language: str, zone: ZoneInfo) -> datetime | None:
    """Like `parse_page_date`, but the whole text must be the date: no phrase is cut out of a
    label ("Meeting on 11 February 2026" is not a date value; "*11 février 2026*" is)."""
    value = " ".join(text.split()).strip(" ,;:-|")
    if not _YEAR.search(value) or len(value) > MAX_LABEL:
        return None
    if _ISO.match(value):
        return _strict(value, zone)
    english = " ".join(_to_english(value, language).split())
    return _day_month_year(english, zone) or _strict(english, zone)


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
