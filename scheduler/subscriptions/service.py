"""What the web forms do to subscribers: sign up, confirm, change, pause, leave, erase.

Every function takes an open transaction and the current time, and returns data; the web
layer (scheduler/subscriptions/routes.py) turns results into pages and sends mail afterwards.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import Connection

from scheduler.ledger.planning import plan
from scheduler.ledger.subscribers import (
    DigestChoice,
    Subscriber,
    SubscriberStatus,
    add_subscriber,
    confirmation_retry_after,
    set_preferences,
    set_status_of,
    subscriber_by_email,
    subscriber_by_id,
    take_confirmation_mail,
)
from scheduler.tokens import TokenSubject


@dataclass(frozen=True, slots=True)
class Choice:
    """What a person picked on /subscribe or /manage."""

    sources: tuple[str, ...]  # empty = every source
    offsets: tuple[timedelta, ...]  # empty = the configured default
    digest: DigestChoice


class MailToSend(StrEnum):
    CONFIRM = "confirm"  # new, pending or returning: the double opt-in mail
    LINKS = "links"  # already subscribed: the manage link again (their choice is kept)


@dataclass(frozen=True, slots=True)
class SignupResult:
    """`mail` is None when the address's confirmation mails for today are used up."""

    subscriber: Subscriber
    mail: MailToSend | None
    retry_after: timedelta = timedelta(0)


def sign_up(
    conn: Connection, address: str, choice: Choice, now: datetime, *, per_day: int
) -> SignupResult:
    """Record a sign-up for an already normalised `address`.

    A stranger can type anyone's address, so an existing subscription is never changed here:
    its owner gets their manage link instead. Unconfirmed or former subscribers become (or
    stay) pending with the new choice, and get the confirmation mail.
    """
    existing = subscriber_by_email(conn, address)
    if existing is not None and existing.status in (
        SubscriberStatus.ACTIVE,
        SubscriberStatus.PAUSED,
    ):
        person, kind = existing, MailToSend.LINKS
    else:
        person, _ = add_subscriber(
            conn,
            address,
            now,
            sources=choice.sources,
            offsets=choice.offsets,
            digest=choice.digest,
            status=SubscriberStatus.PENDING,
        )
        kind = MailToSend.CONFIRM
    if not take_confirmation_mail(conn, person.id, now, per_day):
        return SignupResult(person, None, confirmation_retry_after(conn, person.id, now))
    return SignupResult(person, kind)


def holder(conn: Connection, subject: TokenSubject) -> Subscriber | None:
    """The subscriber a token names, if it exists and the token is not revoked."""
    person = subscriber_by_id(conn, subject.subscriber_id)
    if person is None or person.version != subject.version:
        return None
    return person


def confirm(
    conn: Connection, person: Subscriber, now: datetime, default_offsets: Sequence[timedelta]
) -> Subscriber:
    """Pending -> active, and the reminders for open deadlines planned. Idempotent."""
    if person.status is SubscriberStatus.PENDING:
        set_status_of(conn, person.id, SubscriberStatus.ACTIVE, now, confirming=True)
        plan(conn, now, default_offsets, subscriber_ids=[person.id])
    found = subscriber_by_id(conn, person.id)
    assert found is not None
    return found


def change(
    conn: Connection,
    person: Subscriber,
    choice: Choice,
    now: datetime,
    default_offsets: Sequence[timedelta],
) -> Subscriber:
    set_preferences(
        conn,
        person.id,
        now,
        sources=choice.sources,
        offsets=choice.offsets,
        digest=choice.digest,
    )
    plan(conn, now, default_offsets, subscriber_ids=[person.id])
    found = subscriber_by_id(conn, person.id)
    assert found is not None
    return found


def set_state(
    conn: Connection,
    person: Subscriber,
    status: SubscriberStatus,
    now: datetime,
    default_offsets: Sequence[timedelta],
) -> Subscriber:
    """Pause, resume, unsubscribe (or resubscribe from /manage: the link proves the mailbox)."""
    set_status_of(conn, person.id, status, now)
    if status is SubscriberStatus.ACTIVE:
        plan(conn, now, default_offsets, subscriber_ids=[person.id])
    found = subscriber_by_id(conn, person.id)
    assert found is not None
    return found
