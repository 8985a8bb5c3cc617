"""Clock times and zone names written next to a closing date ("5pm (AEDT)", "midnight CET")."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from feeds.deadlines.starts import matches_at_starts

END_OF_DAY = time(23, 59, 59)


@dataclass(frozen=True, slots=True)
class TimeMention:
    """A time of day; `end_of_day` for midnight/24:00 (the end of the date it closes)."""

    start: int
    end: int
    at: time | None
    end_of_day: bool
    zone_word: str | None


# Zone words -> (default IANA zone, abbreviations of that family used to keep the source zone).
_ZONE_FAMILIES: dict[str, tuple[str, frozenset[str]]] = {}


_ORIGINAL_WORDS: list[str] = []


def _family(zone: str, words: list[str], abbreviations: list[str]) -> None:
    _ORIGINAL_WORDS.extend(words)
    for word in words:
        _ZONE_FAMILIES[word.lower()] = (zone, frozenset(abbreviations))


_family("Europe/Brussels", ["CET", "CEST", "MEZ", "MESZ", "Central European Time",
        "Central European Summer Time", "heure de Bruxelles", "Brussels time",
        "Brussels local time", "heure belge", "Luxembourg time", "heure de Paris", "Paris time",
        "heure de Luxembourg", "Berlin time", "deutscher Zeit", "Ortszeit Brüssel"],
        ["CET", "CEST"])  # fmt: skip
_family("Europe/London", ["BST", "GMT", "UK time", "London time", "British Summer Time",
        "Greenwich Mean Time", "British time"], ["GMT", "BST"])  # fmt: skip
_family("Europe/Dublin", ["Irish time", "Dublin time"], ["GMT", "IST"])
_family("Australia/Sydney", ["AEDT", "AEST", "Canberra time", "Sydney time",
        "Australian Eastern Daylight Time", "Australian Eastern Standard Time",
        "Australian Eastern Time", "AET", "Melbourne time"], ["AEDT", "AEST"])  # fmt: skip
_family("Australia/Adelaide", ["ACDT", "ACST", "Adelaide time"], ["ACDT", "ACST"])
_family("Australia/Perth", ["AWST", "Perth time"], ["AWST"])
_family("Australia/Brisbane", ["Brisbane time", "Queensland time"], ["AEST"])
_family("Pacific/Auckland", ["NZDT", "NZST", "NZT", "New Zealand time"], ["NZDT", "NZST"])
_family("America/New_York", ["ET", "EDT", "EST", "E.D.T.", "E.S.T.", "E.T.", "Eastern Time",
        "Eastern Standard Time", "Eastern Daylight Time"], ["EST", "EDT"])  # fmt: skip
_family("America/Chicago", ["CT", "CDT", "CST", "Central Time", "C.D.T.", "C.S.T."],
        ["CST", "CDT"])  # fmt: skip
_family("America/Denver", ["MT", "MDT", "MST", "Mountain Time"], ["MST", "MDT"])
_family("America/Los_Angeles", ["PT", "PDT", "PST", "P.D.T.", "P.S.T.", "Pacific Time",
        "Pacific Standard Time", "Pacific Daylight Time"], ["PST", "PDT"])  # fmt: skip
_family("UTC", ["UTC", "Coordinated Universal Time"], ["UTC"])
_family("Europe/Madrid", ["hora peninsular", "hora de Madrid", "hora española"], ["CET", "CEST"])
_family("Europe/Rome", ["ora italiana", "ora di Roma"], ["CET", "CEST"])
_family("Europe/Amsterdam", ["Nederlandse tijd"], ["CET", "CEST"])
_family("Europe/Lisbon", ["hora de Lisboa", "hora de Portugal continental"], ["WET", "WEST"])
_family("America/Sao_Paulo", ["horário de Brasília", "hora de Brasília", "BRT"], ["-03"])


def _zone_words_pattern() -> str:
    """Abbreviations match case-sensitively ("ET", not French "et"); phrases in any case."""
    words = sorted(_ZONE_FAMILIES, key=len, reverse=True)
    originals = {w.lower(): w for w in _ORIGINAL_WORDS}
    parts = []
    for key in words:
        word = originals[key]
        escaped = re.escape(word).replace(r"\ ", r"\s+")
        if word.isupper() and "." not in word:
            parts.append(f"(?-i:{escaped})")
        else:
            parts.append(f"(?i:{escaped})")
    return "|".join(parts)


_ZONE_WORDS = _zone_words_pattern()
_ZONE = (
    r"(?:\s*[(\[]?\s*(?:(?i:local|heure|Ortszeit)\s+)?(?P<zone>" + _ZONE_WORDS
    + r")(?:\s+(?i:time))?\s*[)\]]?)?"
)  # fmt: skip
_MERIDIEM = r"(?P<ampm>[ap])\.?\s?m\b\.?"
_CLOCK = (
    r"(?:(?P<noon>12\s*(?:noon|midday)|noon|midday|midi|Mittag|12\s+Uhr\s+mittags)"
    r"|(?P<midnight>midnight|minuit|Mitternacht|mezzanotte|medianoche|middernacht|meia-noite|"
    r"24[:.]00(?:\s*Uhr)?|24\s*h(?:00)?|24\s+Uhr)"
    r"|(?P<h1>[01]?\d)(?:[:.](?P<m1>[0-5]\d))?\s*" + _MERIDIEM
    + r"|(?P<h2>[01]?\d|2[0-3])[:.](?P<m2>[0-5]\d)(?::[0-5]\d)?(?:\s*(?:Uhr|h(?:rs)?|hours))?"
    + r"|(?P<h3>[01]?\d|2[0-3])\s*(?:h|Uhr|horas|heures|uur|ore)(?:\s*(?P<m3>[0-5]\d))?"
    + r"|(?:ore|las|les|às)\s+(?P<h5>[01]?\d|2[0-3])(?:[:.](?P<m5>[0-5]\d))?(?!\d)"
    + r"|(?P<h4>[01]?\d|2[0-3])(?P<m4>[0-5]\d)\s*(?:hrs|hours)"
    + r")"
)  # fmt: skip
TIME_PATTERN = re.compile(r"(?<![\w:./])(?i:" + _CLOCK + r")(?![\w:]|\.\d)" + _ZONE)
# Where a time can start: a digit, or n/m ("noon", "midday", "midnight", "Mittag", ... and no
# other character matches those letters without regard to case), after what the look-behind
# allows.
_TIME_START = re.compile(r"[\dnNmMoOlLàÀ](?<![\w:./].)")
_BARE_ZONE = re.compile(
    r"(?:\(\s*(?P<zone1>" + _ZONE_WORDS + r")\s*\)|(?<!\w)(?P<zone2>" + _ZONE_WORDS + r")(?!\w))",
)


def find_times(text: str) -> list[TimeMention]:
    """Every clock time in `text`, with the zone written after it, if any."""
    found = []
    for m in matches_at_starts(TIME_PATTERN, _TIME_START, text):
        zone = m.group("zone")
        if m.group("noon"):
            found.append(TimeMention(m.start(), m.end(), time(12, 0), False, zone))
        elif m.group("midnight"):
            found.append(TimeMention(m.start(), m.end(), None, True, zone))
        elif m.group("h1"):
            hour, minute = int(m.group("h1")), int(m.group("m1") or 0)
            if not 1 <= hour <= 12:
                continue
            hour = hour % 12 + (12 if m.group("ampm").lower() == "p" else 0)
            if (hour, minute) == (0, 0):  # "12am" / "12:00 a.m." = the start of the day
                continue
            found.append(TimeMention(m.start(), m.end(), time(hour, minute), False, zone))
        else:
            for h, mm in (("h2", "m2"), ("h3", "m3"), ("h4", "m4"), ("h5", "m5")):
                if m.group(h):
                    at = time(int(m.group(h)), int(m.group(mm) or 0))
                    found.append(TimeMention(m.start(), m.end(), at, False, zone))
                    break
    return found


def find_zone_word(text: str) -> str | None:
    """A zone name written on its own ("(CET)", "Brussels time"), without a clock time."""
    m = _BARE_ZONE.search(text)
    return None if m is None else (m.group("zone1") or m.group("zone2"))


@cache
def _abbreviations(zone: str, year: int) -> frozenset[str]:
    info = ZoneInfo(zone)
    return frozenset(datetime(year, month, 15, 12, tzinfo=info).tzname() or "" for month in (1, 7))


_NAMES_A_PLACE = re.compile(
    r"Brussels|Bruxelles|Brüssel|Paris|London|Luxembourg|Berlin|Canberra|Sydney|Melbourne|"
    r"Adelaide|Perth|Brisbane|Queensland|Dublin|Irish|UK|British|belge|deutscher|New\s+Zealand",
    re.IGNORECASE,
)


def zone_for(word: str | None, source_zone: str, on: date) -> str:
    """The IANA zone a zone word means; the source's own zone when it is of the same family.

    "CET" on a summer date still means the wall clock of a CET zone (the text's local time).
    """
    if word is None:
        return source_zone
    key = re.sub(r"\s+", " ", word.strip()).lower()
    family = _ZONE_FAMILIES.get(key)
    if family is None:
        return source_zone
    default, abbreviations = family
    if default == source_zone or _NAMES_A_PLACE.search(word):
        return default
    try:
        source_abbreviations = _abbreviations(source_zone, on.year)
    except (ZoneInfoNotFoundError, ValueError):
        return default
    if default != "UTC" and source_abbreviations & abbreviations:
        return source_zone
    return default


def is_known_zone(name: str) -> bool:
    """Whether `name` is an IANA zone this system knows."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True
