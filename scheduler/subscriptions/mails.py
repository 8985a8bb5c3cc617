"""The two mails the web sends itself: the confirmation, and "you are already subscribed".

They go straight to the transport (not through the ledger): they answer a request now, are
rate limited per address in the database, and losing one costs a retry of the form.
"""

from __future__ import annotations

import logging
import uuid

from config.schema import Settings
from feeds.clock import Clock
from feeds.errors import FeedlineError
from scheduler.ledger.subscribers import Subscriber
from scheduler.mail.message import (
    MessageKind,
    ReminderMessage,
    build_message,
    message_id_for,
    sender_domain,
)
from scheduler.mail.transport import MailTransport
from scheduler.subscriptions.links import Links
from scheduler.subscriptions.service import MailToSend

log = logging.getLogger(__name__)


def subscription_mail(
    settings: Settings, links: Links, person: Subscriber, kind: MailToSend
) -> ReminderMessage:
    domain = sender_domain(settings.mail.from_)
    message_id = message_id_for(f"{kind}|{person.id}|{uuid.uuid4()}", domain)
    list_id = settings.mail.list_id or f"reminders.{domain}"
    if kind is MailToSend.CONFIRM:
        return ReminderMessage(
            kind=MessageKind.CONFIRM,
            recipient=person.email,
            sender=settings.mail.from_,
            message_id=message_id,
            list_id=list_id,
            source_title=settings.site.title,
            action_url=links.confirm(person.id, person.version),
        )
    return ReminderMessage(
        kind=MessageKind.LINKS,
        recipient=person.email,
        sender=settings.mail.from_,
        message_id=message_id,
        list_id=list_id,
        source_title=settings.site.title,
        manage_url=links.manage(person.id, person.version),
        unsubscribe_url=links.unsubscribe(person.id, person.version),
        unsubscribe_mailto=settings.mail.unsubscribe_mailto,
    )


async def send_subscription_mail(
    transport: MailTransport,
    settings: Settings,
    links: Links,
    person: Subscriber,
    kind: MailToSend,
    clock: Clock,
) -> None:
    """Send it; a failure is logged (the person sees the same page either way)."""
    try:
        message = build_message(subscription_mail(settings, links, person, kind), clock=clock)
        await transport.send(message)
    except FeedlineError as error:
        log.error("could not send the %s mail to subscriber %s: %s", kind, person.id, error)
        return
    log.info("sent the %s mail to subscriber %s", kind, person.id)
