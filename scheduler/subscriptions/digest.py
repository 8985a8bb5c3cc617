"""The weekly digest in the ledger: one row per subscriber and period, never lost, never twice.

A digest row is a `reminders` row of kind "digest" with no deadline: `due_at` is the period's
start (the configured day and hour in the site's zone), `planned_closes_at` its end (the next
digest): a digest not sent within its week expires like a reminder whose deadline passed. The
partial unique index `uq_reminders_digest` (subscriber, period end) makes planning idempotent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, exists, or_, select

from config.schema import SubscriptionSettings
from feeds.store.tables import reminders, subscribers
from scheduler.ledger.planning import INSERT_CHUNK, insert_ignoring_duplicates
from scheduler.ledger.subscribers import DigestChoice, SubscriberStatus, delete_expired_pending

DIGEST = "digest"
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(frozen=True, slots=True)
class Period:
    """One digest week: from the digest instant `start` to the next one, `end` (UTC)."""

    start: datetime
    end: datetime
    previous_start: datetime  # last week's digest: what is newer is marked new


def _instant(day: datetime, hour: int, zone: ZoneInfo) -> datetime:
    return datetime.combine(day.date(), time(hour), tzinfo=zone)


def current_period(now: datetime, settings: SubscriptionSettings) -> Period:
    """The digest week `now` falls in (wall-clock day and hour, so DST moves nothing)."""
    zone = ZoneInfo(settings.timezone)
    local = now.astimezone(zone)
    back = (local.weekday() - WEEKDAYS.index(settings.digest_day)) % 7
    start = _instant(local - timedelta(days=back), settings.digest_hour, zone)
    if start > local:
        start = _instant(start - timedelta(days=7), settings.digest_hour, zone)
    end = _instant(start + timedelta(days=7), settings.digest_hour, zone)
    previous = _instant(start - timedelta(days=7), settings.digest_hour, zone)
    return Period(*(t.astimezone(now.tzinfo) for t in (start, end, previous)))


def plan_digests(conn: Connection, now: datetime, settings: SubscriptionSettings) -> int:
    """This week's digest row for each subscriber who asked for one and was confirmed before
    the week's digest went out; returns the rows created."""
    period = current_period(now, settings)
    already = exists().where(
        reminders.c.subscriber_id == subscribers.c.id,
        reminders.c.kind == DIGEST,
        reminders.c.planned_closes_at == period.end,
    )
    due = select(subscribers.c.id).where(
        subscribers.c.status == SubscriberStatus.ACTIVE.value,
        subscribers.c.digest != DigestChoice.OFF.value,
        or_(subscribers.c.confirmed_at.is_(None), subscribers.c.confirmed_at <= period.start),
        ~already,
    )
    created = 0
    rows = []
    for (subscriber_id,) in conn.execute(due):
        rows.append(
            {
                "deadline_id": None,
                "subscriber_id": subscriber_id,
                "offset_seconds": 0,
                "kind": DIGEST,
                "planned_closes_at": period.end,
                "due_at": period.start,
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": period.start,
                "updated_at": now,
                "last_error": None,
            }
        )
        if len(rows) >= INSERT_CHUNK:
            created += insert_ignoring_duplicates(conn, rows)
            rows = []
    return created + insert_ignoring_duplicates(conn, rows)


def upkeep(conn: Connection, now: datetime, settings: SubscriptionSettings) -> int:
    """Each reminder pass: delete expired sign-ups, plan this week's digests."""
    delete_expired_pending(conn, now, settings.pending_expiry)
    return plan_digests(conn, now, settings)
