"""iCalendar output: parses, stable bytes, UTC instants, SEQUENCE, folded CRLF lines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import icalendar
import pytest

from feeds.render.calendar import render_calendar
from feeds.store.deadlines import deadline_uid
from tests.mail.conftest import CLOSES_AT, make_event


def _events(data: bytes) -> list[icalendar.Event]:
    return list(icalendar.Calendar.from_ical(data).walk("VEVENT"))


def test_calendar_parses_with_every_property() -> None:
    data = render_calendar([make_event(sequence=3)], name="Consultation deadlines")
    calendar = icalendar.Calendar.from_ical(data)
    assert str(calendar["VERSION"]) == "2.0"
    assert str(calendar["PRODID"]).startswith("-//feedline//")
    assert str(calendar["METHOD"]) == "PUBLISH"
    assert str(calendar["X-WR-CALNAME"]) == "Consultation deadlines"
    (event,) = _events(data)
    assert str(event["UID"]) == make_event().uid
    assert int(event["SEQUENCE"]) == 3
    assert str(event["SUMMARY"]) == "Closes: call for evidence on corruption"
    assert str(event["URL"]) == "https://ec.example/items/42"
    assert "\n" in str(event["DESCRIPTION"])
    assert event.decoded("DTSTAMP") == datetime(2023, 2, 1, 12, 0, tzinfo=UTC)


def test_times_are_utc_instants_and_dtend_equals_dtstart() -> None:
    brussels = datetime(2023, 2, 17, 23, 59, tzinfo=ZoneInfo("Europe/Brussels"))
    data = render_calendar([make_event(closes_at=brussels)], name="d")
    assert b"DTSTART:20230217T225900Z\r\n" in data
    assert b"DTEND:20230217T225900Z\r\n" in data
    assert b"VTIMEZONE" not in data
    (event,) = _events(data)
    assert event.decoded("DTSTART") == brussels


def test_same_input_gives_same_bytes() -> None:
    events = [make_event(), make_event(uid="other@x.example", closes_at=CLOSES_AT + timedelta(1))]
    first = render_calendar(events, name="Deadlines")
    assert render_calendar(events, name="Deadlines") == first


def test_crlf_line_endings_and_folded_long_lines() -> None:
    data = render_calendar([make_event(summary="word " * 60)], name="d")
    lines = data.split(b"\r\n")
    assert b"\n" not in data.replace(b"\r\n", b"")
    assert all(len(line) <= 75 for line in lines)
    assert any(line.startswith(b" ") for line in lines)


def test_method_can_be_left_out() -> None:
    data = render_calendar([make_event()], name="d", method_publish=False)
    assert b"METHOD" not in data


def test_summary_with_line_breaks_stays_one_property() -> None:
    data = render_calendar([make_event(summary="Closes\r\nBEGIN:VALARM\u2028x")], name="d")
    assert b"\r\nBEGIN:VALARM" not in data
    (event,) = _events(data)
    assert str(event["SUMMARY"]) == "Closes BEGIN:VALARM x"


def test_non_http_url_is_left_out() -> None:
    data = render_calendar([make_event(url="javascript:alert(1)")], name="d")
    assert b"javascript" not in data


def test_deadline_uid_is_stable_and_normalised() -> None:
    uid = deadline_uid("item-1", "Call for  evidence", "example.org")
    assert uid == deadline_uid("item-1", "call for evidence ", "example.org")
    assert uid != deadline_uid("item-2", "Call for evidence", "example.org")
    assert uid.endswith("@example.org")


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        make_event(closes_at=datetime(2023, 2, 17, 23, 59))
    with pytest.raises(ValueError, match="timezone-aware"):
        make_event(stamp=datetime(2023, 2, 17))


def test_offset_zone_is_converted() -> None:
    plus_two = datetime(2023, 6, 30, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    assert b"DTSTART:20230630T100000Z" in render_calendar(
        [make_event(closes_at=plus_two)], name="d"
    )
