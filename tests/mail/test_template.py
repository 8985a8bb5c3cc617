"""The per-template fast path gives the same message as `build_message`, and is as safe."""

from __future__ import annotations

import dataclasses
import email
import email.policy
from datetime import UTC, datetime
from email.message import EmailMessage, Message

import pytest

from feeds.clock import FixedClock
from scheduler.mail.message import (
    MessageError,
    MessageKind,
    ReminderMessage,
    build_message,
    message_id_for,
)
from scheduler.mail.template import MessageTemplate, TemplateCache
from scheduler.mail.transport import RawMessage, raw_message
from tests.mail.conftest import DOMAIN, make_reminder

CLOCK = FixedClock(datetime(2023, 2, 10, 9, 0, 7, tzinfo=UTC))
URL = "https://reminders.example.org/unsubscribe?token=eyJhIjoxfQ.c2ln&x=1"
HOSTILE = [
    "call for evidence\r\nBcc: victim@example.net",
    "call for evidence\u2028Bcc: victim@example.net",
    "call for evidence\x00\x0bBcc: victim@example.net",
    "consultation sur la corruption — délai «2023»",
    '<script>alert("x")</script> & <b>bold</b>',
    "word " * 80,
]


def _parse(data: bytes) -> EmailMessage:
    parsed = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def _shape(message: Message) -> list[tuple[object, ...]]:
    """Structure, headers and decoded content: what a receiver sees, encodings aside."""
    shape: list[tuple[object, ...]] = []
    for part in message.walk():
        headers = [
            (name, str(value))
            for name, value in part.items()
            if name.lower() not in ("content-transfer-encoding", "content-type")
        ]
        params = sorted((k, v) for k, v in part.get_params() or [] if k != "boundary")
        content: object = None
        if not part.is_multipart():
            assert isinstance(part, EmailMessage)
            content = part.get_content()
            if isinstance(content, str):  # line ends are the transfer's business
                content = content.replace("\r\n", "\n")
        shape.append((part.get_content_type(), params, headers, content))
    return shape


def _both(
    reminder: ReminderMessage, recipient: str, message_id: str, url: str
) -> tuple[RawMessage, EmailMessage]:
    """(fast path, full path) for one recipient of `reminder`'s template."""
    template = MessageTemplate(reminder)
    fast = template.render(recipient, message_id, url, clock=CLOCK)
    full = build_message(
        dataclasses.replace(
            reminder, recipient=recipient, message_id=message_id, unsubscribe_url=url
        ),
        clock=CLOCK,
    )
    return fast, full


def _assert_same(fast: RawMessage, full: EmailMessage) -> None:
    assert _shape(_parse(fast.data)) == _shape(_parse(raw_message(full).data))
    assert fast.sender == "noreply@reminders.example.org"
    assert b"\n" not in fast.data.replace(b"\r\n", b"")
    assert all(len(line) <= 998 for line in fast.data.split(b"\r\n"))
    for part in _parse(fast.data).walk():
        if not part.is_multipart():
            payload = part.get_payload()
            assert isinstance(payload, str)
            assert all(len(line) <= 76 for line in payload.splitlines())


def _kinds() -> list[ReminderMessage]:
    changed = make_reminder(
        kind=MessageKind.CHANGED, previous_closes_at=datetime(2023, 2, 10, 22, 59, tzinfo=UTC)
    )
    test = ReminderMessage(
        kind=MessageKind.TEST,
        recipient="x@example.org",
        sender="Consultation reminders <noreply@reminders.example.org>",
        message_id=message_id_for("test/1", DOMAIN),
        list_id=DOMAIN,
        unsubscribe_url="https://reminders.example.org/unsubscribe?t=x",
    )
    return [make_reminder(), changed, test]


@pytest.mark.parametrize("reminder", _kinds(), ids=["reminder", "changed", "test"])
@pytest.mark.parametrize(
    "recipient", ["ann@example.org", "o'brien&co+tag@Mail.Example.org", "b.c-d_e@x-y.example"]
)
def test_fast_path_equals_build_message(reminder: ReminderMessage, recipient: str) -> None:
    message_id = message_id_for(f"row/{recipient}", DOMAIN)
    template = MessageTemplate(reminder)
    assert template.fits(recipient, message_id, URL)
    fast, full = _both(reminder, recipient, message_id, URL)
    _assert_same(fast, full)
    parsed = _parse(fast.data)
    assert parsed["To"] == recipient
    assert fast.recipients == (recipient,)
    assert parsed["Message-ID"] == message_id
    assert parsed["Date"] == "Fri, 10 Feb 2023 09:00:07 +0000"
    html = parsed.get_body(("html",))
    assert html is not None
    assert URL.replace("&", "&amp;") in html.get_content()  # escaped in HTML, like Jinja
    text = parsed.get_body(("plain",))
    assert text is not None
    assert URL in text.get_content()


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_labels_give_the_same_safe_message(hostile: str) -> None:
    reminder = make_reminder(label=hostile, item_title=hostile, source_title=hostile)
    message_id = message_id_for("row/1", DOMAIN)
    fast, full = _both(reminder, "ann@example.org", message_id, URL)
    _assert_same(fast, full)
    parsed = _parse(fast.data)
    assert parsed.get("Bcc") is None
    assert sorted(set(parsed.keys())) == sorted(set(_parse(raw_message(full).data).keys()))


def test_alert_uses_the_template_too() -> None:
    alert = ReminderMessage(
        kind=MessageKind.ALERT,
        recipient="ops@example.org",
        sender="feedline <noreply@reminders.example.org>",
        message_id=message_id_for("alert/1", DOMAIN),
        list_id="",
        alert_subject="Source failed",
        alert_body="HTTP 503",
    )
    fast, full = _both(alert, "ops@example.org", message_id_for("alert/2", DOMAIN), "")
    assert _shape(_parse(fast.data)) == _shape(_parse(raw_message(full).data))
    assert MessageTemplate(alert).fits("ops@example.org", message_id_for("a", DOMAIN), "")


@pytest.mark.parametrize(
    ("recipient", "url"),
    [
        ("anñ@exämple.org", URL),  # non-ASCII address: SMTPUTF8, full path
        ("Ann Example <ann@example.org>", URL),  # display name: full path
        ("ann@example.org", "https://reminders.example.org/u?t=" + "x" * 1000),  # over 998
        ("ann@example.org", "https://reminders.example.org/ü"),  # non-ASCII URL
        ("ann@example.org", "javascript:alert(1)"),  # not http(s): mailto only, as before
        ("ann@example.org", "https://x.example/a\r\nBcc: victim@example.net"),
    ],
)
def test_what_the_fast_path_cannot_take_goes_the_full_way(recipient: str, url: str) -> None:
    reminder = make_reminder()
    message_id = message_id_for("row/1", DOMAIN)
    template = MessageTemplate(reminder)
    assert not template.fits(recipient, message_id, url)
    fast, full = _both(reminder, recipient, message_id, url)
    assert _shape(_parse(fast.data)) == _shape(_parse(raw_message(full).data))
    assert _parse(fast.data).get("Bcc") is None
    assert b"\r\nBcc" not in fast.data


def test_non_ascii_recipient_keeps_utf8_headers() -> None:
    fast = MessageTemplate(make_reminder()).render(
        "anñ@exämple.org", message_id_for("r", DOMAIN), URL, clock=CLOCK
    )
    assert fast.smtputf8
    assert "anñ@exämple.org".encode() in fast.data


@pytest.mark.parametrize(
    ("recipient", "message_id"),
    [
        ("ann@example.org\r\nBcc: victim@example.net", message_id_for("r", DOMAIN)),
        ("ann@example.org, bob@example.org", message_id_for("r", DOMAIN)),
        ("not an address", message_id_for("r", DOMAIN)),
        ("ann@example.org", "<a@b>\r\nBcc: victim@example.net"),
        ("ann@example.org", "no-angle-brackets@example.org"),
    ],
)
def test_injection_in_values_is_refused(recipient: str, message_id: str) -> None:
    template = MessageTemplate(make_reminder())
    with pytest.raises(MessageError):
        template.render(recipient, message_id, URL, clock=CLOCK)


def test_one_template_serves_many_recipients() -> None:
    template = MessageTemplate(make_reminder())
    seen = set()
    for n in range(20):
        recipient = f"person{n}@example.org"
        fast = template.render(recipient, message_id_for(str(n), DOMAIN), f"{URL}{n}", clock=CLOCK)
        parsed = _parse(fast.data)
        assert parsed["To"] == recipient
        text = parsed.get_body(("plain",))
        assert text is not None
        assert f"{URL}{n}\r\n" in text.get_content()
        seen.add(parsed["List-Unsubscribe"])
    assert len(seen) == 20


def test_cache_is_a_bounded_lru() -> None:
    cache = TemplateCache(maxsize=2)
    built: list[str] = []

    def build(label: str) -> ReminderMessage:
        built.append(label)
        return make_reminder(label=label)

    first = cache.get("a", lambda: build("a"))
    assert cache.get("a", lambda: build("a")) is first
    cache.get("b", lambda: build("b"))
    cache.get("a", lambda: build("a"))  # a is now the most recent
    cache.get("c", lambda: build("c"))  # evicts b
    cache.get("b", lambda: build("b"))
    assert built == ["a", "b", "c", "b"]
    assert len(cache) == 2
    assert (cache.hits, cache.misses) == (2, 4)


def test_refilling_with_values_of_the_same_length_gives_each_recipients_own_message() -> None:
    """The second and later fillings re-encode only the base64 lines a value touches: every
    message still equals the full path's for its own recipient (no value of the previous one
    left behind)."""
    template = MessageTemplate(make_reminder(manage_url="https://reminders.example.org/m?t=x"))
    for n in range(12):
        recipient = f"person{n % 10}{'x' * (n // 10)}@example.org"
        url = f"https://reminders.example.org/unsubscribe?token={n:04d}{'ab' * (n % 3)}"
        manage = f"https://reminders.example.org/manage?token={n:04d}"
        message_id = message_id_for(f"row/{n}", DOMAIN)
        fast = template.render(recipient, message_id, url, clock=CLOCK, manage_url=manage)
        full = build_message(
            dataclasses.replace(
                template.base,
                recipient=recipient,
                message_id=message_id,
                unsubscribe_url=url,
                manage_url=manage,
            ),
            clock=CLOCK,
        )
        _assert_same(fast, full)
        text = _parse(fast.data).get_body(("plain",))
        assert text is not None
        assert f"{url}\r\n" in text.get_content()
        assert f"{n - 1:04d}" not in text.get_content().replace(url, "").replace(manage, "")
