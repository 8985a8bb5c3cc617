"""Builders for mail tests: a typical reminder for one recipient."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from feeds.render.calendar import CalendarEvent
from feeds.store.deadlines import deadline_uid
from scheduler.mail.message import MessageKind, ReminderMessage, message_id_for

DOMAIN = "reminders.example.org"
CLOSES_AT = datetime(2023, 2, 17, 22, 59, tzinfo=UTC)  # 23:59 Brussels time (CET)


def make_event(**overrides: Any) -> CalendarEvent:
    values: dict[str, Any] = {
        "uid": deadline_uid("https://ec.example/items/42", "call for evidence", DOMAIN),
        "sequence": 0,
        "summary": "Closes: call for evidence on corruption",
        "url": "https://ec.example/items/42",
        "description": "Call for evidence on corruption\nhttps://ec.example/items/42",
        "closes_at": CLOSES_AT,
        "stamp": datetime(2023, 2, 1, 12, 0, tzinfo=UTC),
    }
    values.update(overrides)
    return CalendarEvent(**values)


def make_reminder(**overrides: Any) -> ReminderMessage:
    values: dict[str, Any] = {
        "kind": MessageKind.REMINDER,
        "recipient": "ann@example.org",
        "sender": "Consultation reminders <noreply@reminders.example.org>",
        "message_id": message_id_for("deadline-1/ann@example.org/7d", DOMAIN),
        "list_id": DOMAIN,
        "unsubscribe_url": "https://reminders.example.org/unsubscribe?t=abc",
        "unsubscribe_mailto": "mailto:unsubscribe@reminders.example.org?subject=abc",
        "label": "call for evidence on corruption",
        "closes_at": CLOSES_AT,
        "timezone": "Europe/Brussels",
        "item_title": "Commission opens a call for evidence on corruption",
        "item_link": "https://ec.example/items/42",
        "source_title": "Home Affairs newsroom",
        "offset_text": "7 days",
        "event": make_event(),
    }
    values.update(overrides)
    return ReminderMessage(**values)


@pytest.fixture
def reminder() -> ReminderMessage:
    return make_reminder()
