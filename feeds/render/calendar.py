"""iCalendar rendering of deadlines (the site's deadlines.ics and the .ics in reminder mail).

One VEVENT per deadline. The same input always gives the same bytes: DTSTAMP is the last
change of the deadline (`stamp`), never the current time, so an unchanged calendar keeps its
ETag and calendar clients do not see spurious updates.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import icalendar

PRODID = "-//feedline//consultation deadlines//EN"
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SPACES = re.compile(r"\s+")
# `\s` here is exactly str.isspace(): one C-level scan instead of a generator per character.
_BLANK_OR_CONTROL = re.compile(r"[\s\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# icalendar folds before a character that would bring a line to 75 octets: 74 stay.
_FOLD_OCTETS = 74
_ESCAPE_OCTETS = frozenset(b"\\^")


@dataclass(frozen=True, slots=True)
class CalendarEvent:
    """One deadline as a calendar event. `sequence` goes up each time the deadline moves."""

    uid: str
    sequence: int
    summary: str
    url: str
    description: str
    closes_at: datetime
    stamp: datetime

    def __post_init__(self) -> None:
        for name in ("closes_at", "stamp"):
            value: datetime = getattr(self, name)
            if value.tzinfo is None or value.utcoffset() is None:
                raise ValueError(f"CalendarEvent.{name} must be timezone-aware")
        if self.sequence < 0:
            raise ValueError(f"CalendarEvent.sequence must be >= 0, not {self.sequence}")
        if not self.uid or _BLANK_OR_CONTROL.search(self.uid):
            raise ValueError(f"CalendarEvent.uid {self.uid!r} is empty or has blanks")


def render_calendar(
    events: Sequence[CalendarEvent], *, name: str, method_publish: bool = True
) -> bytes:
    """The VCALENDAR as bytes: exactly what icalendar's `Calendar.to_ical()` makes of it.

    icalendar writes the VCALENDAR lines; the VEVENTs, all of one fixed shape, are written
    here (building and serialising an icalendar.Event per deadline cost about 0.2 ms each).
    tests/mail/test_calendar_bytes.py holds both ways to the same bytes.
    """
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    if method_publish:
        calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", _text(name))
    *head, end = [fold_line(line.encode()) for line in calendar.content_lines() if line]
    body = [fold_line(line) for event in events for line in _vevent_lines(event)]
    return b"\r\n".join([*head, *body, end, b""])


def fold_line(data: bytes) -> bytes:
    """One UTF-8 content line folded exactly as icalendar folds it (`Contentline.to_ical`).

    Every physical line carries at most 74 octets of the content line, cut only between
    characters (never before a UTF-8 continuation byte) and never right after a backslash
    or caret, so an escape such as "\\," stays on one line.
    """
    if len(data) <= _FOLD_OCTETS:
        return data
    pieces: list[bytes] = []
    start = 0
    while len(data) - start > _FOLD_OCTETS:
        end = start + _FOLD_OCTETS
        while data[end] & 0xC0 == 0x80:
            end -= 1
        if data[end - 1] in _ESCAPE_OCTETS:
            end -= 1
        pieces.append(data[start:end])
        start = end
    pieces.append(data[start:])
    return b"\r\n ".join(pieces)


def _vevent_lines(event: CalendarEvent) -> list[bytes]:
    """The VEVENT's unfolded content lines, properties in icalendar's canonical order.

    A closing instant, not a span. DTSTART = DTEND (in UTC, "Z" form) is the shape that
    Google Calendar, Apple Calendar and Outlook all import as a point-in-time event at the
    right local time. DURATION:PT0S is valid RFC 5545 but some importers ignore DURATION
    and fall back to a one-hour or all-day event; a missing DTEND is read by Outlook as an
    all-day-ish entry. UTC times avoid shipping VTIMEZONE blocks that clients interpret
    differently. TRANSP:TRANSPARENT: a deadline marker must not show the reader as busy.
    """
    closes_at = _utc_date_time(event.closes_at)
    stamp = _utc_date_time(event.stamp)
    lines = [
        b"BEGIN:VEVENT",
        b"SUMMARY:" + _text_value(_text(event.summary)),
        b"DTSTART:" + closes_at,
        b"DTEND:" + closes_at,
        b"DTSTAMP:" + stamp,
        b"UID:" + _text_value(event.uid),
        b"SEQUENCE:%d" % event.sequence,
        b"DESCRIPTION:" + _text_value(_control_free(event.description)),
        b"LAST-MODIFIED:" + stamp,
        b"TRANSP:TRANSPARENT",
    ]
    if event.url.startswith(("https://", "http://")):
        url: bytes = icalendar.vUri(_text(event.url)).to_ical()
        lines.append(b"URL:" + url)
    lines.append(b"END:VEVENT")
    return lines


def _text_value(text: str) -> bytes:
    """A TEXT value with icalendar's escaping (backslash, comma, semicolon, newline)."""
    value: bytes = icalendar.vText(text).to_ical()
    return value


def _utc_date_time(moment: datetime) -> bytes:
    """A DATE-TIME in UTC ("Z" form), to the second, as icalendar writes it."""
    utc = moment.astimezone(UTC)
    return b"%04d%02d%02dT%02d%02d%02dZ" % (
        utc.year,
        utc.month,
        utc.day,
        utc.hour,
        utc.minute,
        utc.second,
    )


def _control_free(text: str) -> str:
    return _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def _text(text: str) -> str:
    """A one-line property value: control characters and line breaks collapsed."""
    return _SPACES.sub(" ", _control_free(text)).strip()
