"""Message composition: MIME structure, headers, bodies, and injection attempts."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime
from email.message import EmailMessage

import icalendar
import pytest

from feeds.clock import FixedClock
from feeds.render.display import closing_display
from scheduler.mail.message import (
    MessageError,
    MessageKind,
    ReminderMessage,
    build_message,
    message_id_for,
)
from tests.mail.conftest import CLOSES_AT, make_reminder

CLOCK = FixedClock(datetime(2023, 2, 10, 9, 0, tzinfo=UTC))
HEADERS = (
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "List-Id",
    "Auto-Submitted",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
    "MIME-Version",
)


def _wire(message: EmailMessage) -> EmailMessage:
    """The message as a receiver parses it from the bytes on the wire."""
    data = message.as_bytes()
    parsed = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def _header_block(message: EmailMessage) -> str:
    return message.as_bytes().split(b"\r\n\r\n", 1)[0].decode("ascii")


def test_mime_structure() -> None:
    message = _wire(build_message(make_reminder(), clock=CLOCK))
    assert message.get_content_type() == "multipart/mixed"
    outer = list(message.iter_parts())
    assert [part.get_content_type() for part in outer] == [
        "multipart/alternative",
        "text/calendar",
    ]
    inner = list(outer[0].iter_parts())
    assert [part.get_content_type() for part in inner] == ["text/plain", "text/html"]
    calendar_part = outer[1]
    assert calendar_part.get_param("method") == "PUBLISH"
    assert calendar_part.get_filename() == "deadline.ics"
    assert all(part.get("MIME-Version") is None for part in message.walk() if part is not message)


def test_every_header() -> None:
    reminder = make_reminder()
    message = _wire(build_message(reminder, clock=CLOCK))
    assert [name for name in HEADERS if message.get(name) is None] == []
    assert message["From"] == "Consultation reminders <noreply@reminders.example.org>"
    assert message["To"] == "ann@example.org"
    assert message["Subject"] == "Closes in 7 days: Call for evidence on corruption"
    assert message["Date"] == "Fri, 10 Feb 2023 09:00:00 +0000"
    assert message["Message-ID"] == reminder.message_id
    assert message["List-Id"] == "<reminders.example.org>"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["List-Unsubscribe"] == (
        "<https://reminders.example.org/unsubscribe?t=abc>, "
        "<mailto:unsubscribe@reminders.example.org?subject=abc>"
    )
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["MIME-Version"] == "1.0"


def test_long_unsubscribe_url_stays_a_plain_url_on_the_wire() -> None:
    url = "https://reminders.example.org/unsubscribe?token=" + "A1b2C3d4" * 12
    raw = build_message(make_reminder(unsubscribe_url=url), clock=CLOCK).as_bytes()
    head = raw.split(b"\r\n\r\n", 1)[0].decode("ascii")
    line = next(h for h in head.split("\r\n") if h.startswith("List-Unsubscribe:"))
    assert line.startswith(f"List-Unsubscribe: <{url}>")
    assert "=?" not in line
    assert all(len(h) <= 998 for h in head.split("\r\n"))
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    for part in parsed.walk():
        if not part.is_multipart():  # the parts keep their 76-column transfer encodings
            assert all(len(line) <= 76 for line in part.get_payload().splitlines())


@pytest.mark.parametrize(
    ("given", "header"),
    [
        ("reminders.example.org", "<reminders.example.org>"),
        ("<reminders.example.org>", "<reminders.example.org>"),
        ("Reminders <reminders.example.org>", "Reminders <reminders.example.org>"),
    ],
)
def test_list_id_forms(given: str, header: str) -> None:
    assert _wire(build_message(make_reminder(list_id=given), clock=CLOCK))["List-Id"] == header


@pytest.mark.parametrize("given", ["", "not a list id"])
def test_bad_list_id_is_refused(given: str) -> None:
    with pytest.raises(MessageError, match="List-Id"):
        build_message(make_reminder(list_id=given), clock=CLOCK)


def test_wire_format_is_crlf() -> None:
    data = build_message(make_reminder(), clock=CLOCK).as_bytes()
    assert b"\n" not in data.replace(b"\r\n", b"")


def test_message_id_is_derived_from_the_ledger_key() -> None:
    first = message_id_for("deadline-1/ann@example.org/7d", "example.org")
    assert first == message_id_for("deadline-1/ann@example.org/7d", "example.org")
    assert first != message_id_for("deadline-1/ann@example.org/1d", "example.org")
    assert first.startswith("<")
    assert first.endswith("@example.org>")


def test_bodies_say_when_what_and_why() -> None:
    message = _wire(build_message(make_reminder(), clock=CLOCK))
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None
    assert html is not None
    for body in (text.get_content(), html.get_content()):
        assert "Friday 17 February 2023, 23:59 Brussels time" in body
        assert "Commission opens a call for evidence on corruption" in body
        assert "https://ec.example/items/42" in body
        assert "Home Affairs newsroom" in body
        assert "7 days" in body
        assert "https://reminders.example.org/unsubscribe?t=abc" in body


def test_calendar_attachment_has_the_site_uid() -> None:
    reminder = make_reminder()
    message = _wire(build_message(reminder, clock=CLOCK))
    part = list(message.iter_parts())[1]
    payload = part.get_payload(decode=True)
    assert isinstance(payload, bytes)
    (event,) = icalendar.Calendar.from_ical(payload).walk("VEVENT")
    assert reminder.event is not None
    assert str(event["UID"]) == reminder.event.uid


INJECTIONS = [
    "call for evidence\r\nBcc: victim@example.net",
    "call for evidence\nBcc: victim@example.net",
    "call for evidence\rBcc: victim@example.net",
    "call for evidence\u2028Bcc: victim@example.net",
    "call for evidence\u2029Bcc: victim@example.net",
    "call for evidence\x85Bcc: victim@example.net",
    "call for evidence\x00\x0bBcc: victim@example.net",
]


@pytest.mark.parametrize("hostile", INJECTIONS)
def test_header_injection_gives_single_line_headers(hostile: str) -> None:
    reminder = make_reminder(label=hostile, item_title=hostile, source_title=hostile)
    message = build_message(reminder, clock=CLOCK)
    parsed = _wire(message)
    assert parsed.get("Bcc") is None
    assert sorted(set(parsed.keys())) == sorted({*HEADERS, "Content-Type"}), (
        "no header beyond the ones we set"
    )
    assert parsed["Subject"] == "Closes in 7 days: Call for evidence Bcc: victim@example.net"
    header_lines = _header_block(message).split("\r\n")
    assert not any(line.lower().startswith("bcc") for line in header_lines)


@pytest.mark.parametrize("change", ["recipient", "sender", "message_id"])
def test_address_and_id_with_line_breaks_are_refused(change: str) -> None:
    value = {
        "recipient": "ann@example.org\r\nBcc: victim@example.net",
        "sender": "x@example.org\nBcc: victim@example.net",
        "message_id": "<a@b>\r\nBcc: victim@example.net",
    }[change]
    with pytest.raises(MessageError):
        build_message(make_reminder(**{change: value}), clock=CLOCK)


@pytest.mark.parametrize(
    "recipient", ["ann@example.org, bob@example.org", "not an address", "", "@example.org"]
)
def test_recipient_must_be_one_address(recipient: str) -> None:
    with pytest.raises(MessageError):
        build_message(make_reminder(recipient=recipient), clock=CLOCK)


def test_unknown_zone_is_a_message_error() -> None:
    with pytest.raises(MessageError, match="time zone"):
        make_reminder(timezone="Mars/Olympus_Mons")


def test_long_subject_is_capped() -> None:
    message = build_message(make_reminder(label="word " * 100), clock=CLOCK)
    subject = str(message["Subject"])
    assert len(subject) <= 150
    assert subject.endswith("…")


def test_html_escapes_script_and_drops_unsafe_links() -> None:
    reminder = make_reminder(
        item_title='<script>alert("x")</script> & <b>bold</b>',
        label="<img src=x onerror=alert(1)>",
        item_link="javascript:alert(1)",
    )
    message = _wire(build_message(reminder, clock=CLOCK))
    html_part = message.get_body(("html",))
    text_part = message.get_body(("plain",))
    assert html_part is not None
    assert text_part is not None
    html = html_part.get_content()
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in html
    assert "<img" not in html
    assert "javascript:" not in html
    assert "javascript:" not in text_part.get_content()


def test_changed_notice_shows_old_and_new_time() -> None:
    reminder = make_reminder(
        kind=MessageKind.CHANGED,
        previous_closes_at=datetime(2023, 2, 10, 22, 59, tzinfo=UTC),
    )
    message = _wire(build_message(reminder, clock=CLOCK))
    assert message["Subject"] == "Deadline changed: Call for evidence on corruption"
    text = message.get_body(("plain",))
    assert text is not None
    content = text.get_content()
    assert "Friday 10 February 2023, 23:59 Brussels time" in content
    assert "Friday 17 February 2023, 23:59 Brussels time" in content


def test_changed_notice_needs_the_old_time() -> None:
    with pytest.raises(MessageError, match="previous_closes_at"):
        make_reminder(kind=MessageKind.CHANGED)


def test_alert_is_plain_text_without_calendar() -> None:
    alert = ReminderMessage(
        kind=MessageKind.ALERT,
        recipient="ops@example.org",
        sender="feedline <noreply@example.org>",
        message_id=message_id_for("alert/home-affairs/3", "example.org"),
        list_id="",
        alert_subject="Source home-affairs failed 3 times\r\nBcc: x@y",
        alert_body="HTTP 503 from https://home-affairs.example/news",
    )
    message = _wire(build_message(alert, clock=CLOCK))
    assert message.get_content_type() == "text/plain"
    assert message["Subject"] == "Source home-affairs failed 3 times Bcc: x@y"
    assert message.get("List-Unsubscribe") is None
    assert "HTTP 503" in message.get_content()


def test_test_message_builds_without_deadline() -> None:
    test = ReminderMessage(
        kind=MessageKind.TEST,
        recipient="ann@example.org",
        sender="feedline <noreply@example.org>",
        message_id=message_id_for("test/1", "example.org"),
        list_id="example.org",
    )
    message = _wire(build_message(test, clock=CLOCK))
    assert message["Subject"].startswith("Test message")
    assert message.get_content_type() == "multipart/alternative"


def test_reminder_without_http_unsubscribe_is_refused() -> None:
    reminder = make_reminder(unsubscribe_url="javascript:alert(1)", unsubscribe_mailto=None)
    with pytest.raises(MessageError, match="unsubscribe"):
        build_message(reminder, clock=CLOCK)


def test_mailto_only_unsubscribe_has_no_one_click_header() -> None:
    reminder = make_reminder(unsubscribe_url="javascript:x")
    message = build_message(reminder, clock=CLOCK)
    assert message["List-Unsubscribe"] == "<mailto:unsubscribe@reminders.example.org?subject=abc>"
    assert message.get("List-Unsubscribe-Post") is None  # RFC 8058 one-click needs https


@pytest.mark.parametrize(
    ("closes_at", "zone", "expected"),
    [
        (CLOSES_AT, "Europe/Brussels", "Friday 17 February 2023, 23:59 Brussels time"),
        (
            datetime(2023, 2, 17, 23, 0, tzinfo=UTC),
            "Europe/Brussels",
            "Friday 17 February 2023, 23:59 Brussels time",
        ),
        (
            datetime(2023, 7, 3, 10, 0, tzinfo=UTC),
            "America/New_York",
            "Monday 3 July 2023, 06:00 New York time",
        ),
        (datetime(2023, 7, 3, 10, 0, tzinfo=UTC), "UTC", "Monday 3 July 2023, 10:00 UTC"),
    ],
)
def test_closing_display(closes_at: datetime, zone: str, expected: str) -> None:
    assert closing_display(closes_at, zone) == expected


def test_non_ascii_title_is_encoded() -> None:
    reminder = make_reminder(label="consultation sur la corruption — délai")
    message = build_message(reminder, clock=CLOCK)
    assert "=?utf-8?" in _header_block(message)
    assert _wire(message)["Subject"] == "Closes in 7 days: Consultation sur la corruption — délai"
