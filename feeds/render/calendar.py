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
        if not self.uid or _CONTROL.search(self.uid) or any(c.isspace() for c in self.uid):
            raise ValueError(f"CalendarEvent.uid {self.uid!r} is empty or has blanks")


def render_calendar(
    events: Sequence[CalendarEvent], *, name: str, method_publish: bool = True
) -> bytes:
    """The VCALENDAR as bytes (CRLF line endings, long lines folded by icalendar)."""
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    if method_publish:
        calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", _text(name))
    for event in events:
        calendar.add_component(_vevent(event))
    data: bytes = calendar.to_ical()
    return data


def _vevent(event: CalendarEvent) -> icalendar.Event:
    closes_at = event.closes_at.astimezone(UTC)
    stamp = event.stamp.astimezone(UTC)
    vevent = icalendar.Event()
    vevent.add("uid", event.uid)
    vevent.add("sequence", event.sequence)
    vevent.add("dtstamp", stamp)
    vevent.add("last-modified", stamp)
    # A closing instant, not a span. DTSTART = DTEND (in UTC, "Z" form) is the shape that
    # Google Calendar, Apple Calendar and Outlook all import as a point-in-time event at the
    # right local time. DURATION:PT0S is valid RFC 5545 but some importers ignore DURATION
    # and fall back to a one-hour or all-day event; a missing DTEND is read by Outlook as
    # an all-day-ish entry. UTC times avoid shipping VTIMEZONE blocks that clients
    # interpret differently.
    vevent.add("dtstart", closes_at)
    vevent.add("dtend", closes_at)
    vevent.add("summary", _text(event.summary))
    if event.url.startswith(("https://", "http://")):
        vevent.add("url", _text(event.url))
    vevent.add("description", _control_free(event.description))
    # A deadline marker must not show the reader as busy.
    vevent.add("transp", "TRANSPARENT")
    return vevent


def _control_free(text: str) -> str:
    return _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def _text(text: str) -> str:
    """A one-line property value: control characters and line breaks collapsed."""
    return _SPACES.sub(" ", _control_free(text)).strip()
