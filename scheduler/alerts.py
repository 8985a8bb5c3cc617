"""Operator alerts: one email when a source has failed N times in a row, one when it recovers."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence

from sqlalchemy import Engine

from config.schema import Settings
from feeds.clock import Clock
from feeds.refresh import SourceOutcome
from feeds.store.sources import health, set_alert_open
from scheduler.mail.message import (
    MessageKind,
    ReminderMessage,
    build_message,
    message_id_for,
    sender_domain,
)
from scheduler.mail.transport import MailError, MailTransport

log = logging.getLogger(__name__)


async def send_source_alerts(
    settings: Settings,
    engine: Engine,
    transport: MailTransport,
    clock: Clock,
    outcomes: Sequence[SourceOutcome],
) -> int:
    """Alert on sources that crossed the failure threshold or recovered; return mails sent."""
    with engine.connect() as conn:
        open_alerts = {s.source_id for s in health(conn) if s.alert_open}
    threshold = settings.alerts.after_failures
    sent = 0
    for outcome in outcomes:
        failing = outcome.status == "failed"
        if (
            failing
            and outcome.consecutive_failures >= threshold
            and outcome.source_id not in open_alerts
        ):
            subject = (
                f"feedline: source {outcome.source_id} has failed "
                f"{outcome.consecutive_failures} times"
            )
            body = (
                f"The source {outcome.source_id!r} failed {outcome.consecutive_failures} "
                f"times in a row. Its last good items and feeds stay published.\n\n"
                f"Last error: {outcome.error}\n\nYou will get one more email when it "
                "recovers."
            )
            opened = True
        elif not failing and outcome.source_id in open_alerts:
            subject = f"feedline: source {outcome.source_id} has recovered"
            body = f"The source {outcome.source_id!r} was read successfully again."
            opened = False
        else:
            continue
        if not await send_operator_alert(settings, transport, clock, subject, body):
            continue  # try again after the next refresh
        with engine.begin() as conn:
            set_alert_open(conn, outcome.source_id, opened)
        sent += 1
    return sent


async def send_operator_alert(
    settings: Settings, transport: MailTransport, clock: Clock, subject: str, body: str
) -> bool:
    """One email to `[alerts] operator` (a log line when there is none); False if not sent."""
    operator = settings.alerts.operator
    if not operator:
        log.warning("%s (no [alerts] operator configured, so no email)", subject)
        return True
    domain = sender_domain(settings.mail.from_)
    message = build_message(
        ReminderMessage(
            kind=MessageKind.ALERT,
            recipient=operator,
            sender=settings.mail.from_,
            message_id=message_id_for(f"alert|{uuid.uuid4()}", domain),
            list_id=settings.mail.list_id or f"alerts.{domain}",
            alert_subject=subject,
            alert_body=body,
        ),
        clock=clock,
    )
    try:
        await transport.send(message)
    except MailError as error:
        log.error("could not send the alert %r: %s", subject, error)
        return False
    log.warning("alert sent to the operator: %s", subject)
    return True
