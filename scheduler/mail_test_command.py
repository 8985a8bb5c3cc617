"""`feedline mail test`: one message through the configured transport."""

from __future__ import annotations

import os
import uuid

from config.schema import Settings
from feeds.clock import SystemClock
from scheduler.ledger.compose import Composer
from scheduler.ledger.subscribers import normalise_email
from scheduler.mail.factory import build_transport
from scheduler.mail.message import (
    MessageKind,
    ReminderMessage,
    build_message,
    message_id_for,
    sender_domain,
)
from scheduler.reminders_app import signing_key


async def send_test_message(settings: Settings, email: str) -> str:
    recipient = normalise_email(email)
    clock = SystemClock()
    composer = Composer(settings, signing_key(settings), clock)
    domain = sender_domain(settings.mail.from_)
    message = build_message(
        ReminderMessage(
            kind=MessageKind.TEST,
            recipient=recipient,
            sender=settings.mail.from_,
            message_id=message_id_for(f"test|{uuid.uuid4()}", domain),
            list_id=composer.list_id,
        ),
        clock=clock,
    )
    transport = build_transport(settings.mail, os.environ)
    try:
        await transport.send(message)
    finally:
        await transport.close()
    if settings.mail.transport == "file":
        return str(settings.mail.file.dir)
    return f"{settings.mail.smtp.host}:{settings.mail.smtp.port}"
