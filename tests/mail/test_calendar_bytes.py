"""The calendar's bytes equal what icalendar's own `to_ical()` makes of the same events.

`render_calendar` writes the VEVENT lines and folds every line itself (for speed). The
reference below is the straightforward icalendar rendering the calendar was first written
as; every varied input must give the same bytes both ways.
"""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import icalendar
import pytest
from icalendar.parser import Contentline

from feeds.render.calendar import PRODID, CalendarEvent, fold_line, render_calendar
from tests.mail.conftest import make_event

# Pieces that matter around a fold: escapes (backslash, comma, semicolon, newline), the caret
# of RFC 6868, 2-, 3- and 4-octet UTF-8, blanks and control characters that get cleaned.
PIECES = [
    "a", "Z", " ", "  ", ",", ";", ":", "\\", "\\,", "\\N", "\\n", "^", "^^", "\n", "\r\n",
    "\r", "\t", "\x07", "\x7f", "\u2028", "\u00a0", "é", "ß", "中", "文", "😀", "🇪🇺", '"',
]  # fmt: skip
ZONES = [UTC, ZoneInfo("Europe/Brussels"), timezone(timedelta(hours=-3, minutes=-30))]
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _reference_text(text: str) -> str:
    return re.sub(r"\s+", " ", _reference_control_free(text)).strip()


def _reference_control_free(text: str) -> str:
    return _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def reference_calendar(
    events: list[CalendarEvent], *, name: str, method_publish: bool = True
) -> bytes:
    """The calendar built and serialised by icalendar alone."""
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    if method_publish:
        calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", _reference_text(name))
    for event in events:
        vevent = icalendar.Event()
        vevent.add("uid", event.uid)
        vevent.add("sequence", event.sequence)
        vevent.add("dtstamp", event.stamp.astimezone(UTC))
        vevent.add("last-modified", event.stamp.astimezone(UTC))
        vevent.add("dtstart", event.closes_at.astimezone(UTC))
        vevent.add("dtend", event.closes_at.astimezone(UTC))
        vevent.add("summary", _reference_text(event.summary))
        if event.url.startswith(("https://", "http://")):
            vevent.add("url", _reference_text(event.url))
        vevent.add("description", _reference_control_free(event.description))
        vevent.add("transp", "TRANSPARENT")
        calendar.add_component(vevent)
    data: bytes = calendar.to_ical()
    return data


def _icalendar_folded(line: str) -> bytes:
    folded: bytes = Contentline(line).to_ical()  # type: ignore[no-untyped-call]
    return folded


def _text(rng: random.Random, longest: int) -> str:
    return "".join(rng.choice(PIECES) for _ in range(rng.randint(0, longest)))


def _instant(rng: random.Random) -> datetime:
    moment = datetime(2023, 1, 1, tzinfo=UTC) + timedelta(seconds=rng.randint(0, 10**8))
    return moment.replace(microsecond=rng.choice([0, 1, 999_999])).astimezone(rng.choice(ZONES))


def _random_event(rng: random.Random) -> CalendarEvent:
    uid = "".join(rng.choice(["a", "7", ",", ";", "\\", "é", "😀", "@", "."]) for _ in range(40))
    url = rng.choice(["https://", "http://", "ftp://", ""]) + _text(rng, 60).replace("\\N", "")
    return CalendarEvent(
        uid=uid,
        sequence=rng.choice([0, 1, 12, 10**6]),
        summary=_text(rng, rng.choice([5, 60, 200])),
        url=url,
        description=_text(rng, rng.choice([0, 30, 120, 400])),
        closes_at=_instant(rng),
        stamp=_instant(rng),
    )


@pytest.mark.parametrize("seed", range(40))
def test_random_events_give_icalendars_bytes(seed: int) -> None:
    rng = random.Random(seed)
    events = [_random_event(rng) for _ in range(rng.randint(0, 12))]
    name = _text(rng, 80)
    method_publish = rng.random() < 0.7
    assert render_calendar(events, name=name, method_publish=method_publish) == (
        reference_calendar(events, name=name, method_publish=method_publish)
    )


@pytest.mark.parametrize("escape", ["\\", "\\,", "\\;", "\\N", "\n", "^", ",", "é", "中", "😀"])
def test_escapes_and_wide_characters_at_every_fold_position(escape: str) -> None:
    events = [
        make_event(description="x" * before + escape + "y" * 100, summary="s" * before + escape)
        for before in range(50, 160)
    ]
    assert render_calendar(events, name="d") == reference_calendar(events, name="d")


def test_empty_and_plain_fields() -> None:
    events = [make_event(summary="", description="", url=""), make_event(url="http://a.example")]
    events.append(make_event(closes_at=datetime(999, 1, 2, 3, 4, 5, 6, tzinfo=UTC)))
    events.append(make_event(stamp=datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC)))
    assert render_calendar(events, name="") == reference_calendar(events, name="")
    assert render_calendar([], name="d") == reference_calendar([], name="d")


@pytest.mark.parametrize("seed", range(20))
def test_fold_line_matches_icalendar_contentline(seed: int) -> None:
    rng = random.Random(seed)
    pieces = [p for p in PIECES if "\n" not in p and "\r" not in p]
    for _ in range(200):
        line = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 300)))
        assert fold_line(line.encode()) == _icalendar_folded(line), line


def test_fold_line_lengths_at_the_limit() -> None:
    for length in range(70, 230):
        for line in ("a" * length, "\\" * length, "^" * length, "é" * (length // 2)):
            assert fold_line(line.encode()) == _icalendar_folded(line), line


def test_uid_refuses_exactly_blanks_and_control_characters() -> None:
    every = [chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    refused = {c for c in every if c.isspace() or _CONTROL.match(c)}
    assert len(refused) > 50
    for char in refused:
        with pytest.raises(ValueError, match="empty or has blanks"):
            make_event(uid=f"a{char}@x.example")
    for char in random.Random(1).sample([c for c in every if c not in refused], 3000):
        assert make_event(uid=f"a{char}@x.example").uid == f"a{char}@x.example"
