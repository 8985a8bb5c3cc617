"""Health: each source's last success and error, the ledger's state, and whether all is well."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, select

from config.schema import Settings, SourceSettings
from feeds.clock import Clock
from feeds.store.pages import failing_pages
from feeds.store.sources import health as source_health
from feeds.store.tables import reminders
from scheduler.ledger import claims
from scheduler.mail_state import read_health

FAILURE_WINDOW = timedelta(hours=24)


def schedule_period(source: SourceSettings, now: datetime) -> timedelta:
    """How often the source is meant to refresh (for cron: the gap between the next two runs)."""
    if source.schedule:
        from apscheduler.triggers.cron import CronTrigger  # only for cron sources (start-up)

        trigger = CronTrigger.from_crontab(source.schedule, timezone=source.timezone)
        first = trigger.get_next_fire_time(None, now)
        second = trigger.get_next_fire_time(first, first + timedelta(seconds=1)) if first else None
        if first and second:
            gap: timedelta = second - first
            return max(gap, timedelta(seconds=1))
    return source.interval


@dataclass(frozen=True)
class HealthReport:
    healthy: bool
    body: dict[str, Any]


def health_report(settings: Settings, engine: Engine, clock: Clock) -> HealthReport:
    now = clock.now()
    problems: list[str] = []
    states = {}
    with engine.connect() as conn:
        states = {state.source_id: state for state in source_health(conn)}
        counts = claims.counts(conn)
        recent_failures = conn.execute(
            select(func.count()).where(
                reminders.c.status == claims.FAILED, reminders.c.updated_at >= now - FAILURE_WINDOW
            )
        ).scalar_one()
        next_due = claims.next_due(conn)
        pages = failing_pages(conn)  # item pages that failed: reported, never failing a source
        mail = read_health(conn)
    sources = []
    for source in settings.sources:
        state = states.get(source.id)
        allowed = 2 * schedule_period(source, now)
        since = state.last_success if state and state.last_success else None
        failing = bool(state and state.consecutive_failures)
        stale = failing and (since is None or now - since > allowed)
        if stale:
            problems.append(f"source {source.id} failing for longer than {allowed}")
        sources.append(
            {
                "id": source.id,
                "last_success": since.isoformat() if since else None,
                "last_error": state.last_error if state and failing else None,
                "last_error_at": state.last_error_at.isoformat()
                if state and state.last_error_at
                else None,
                "consecutive_failures": state.consecutive_failures if state else 0,
                "ok": not stale,
                "failing_pages": [
                    {
                        "url": page.url,
                        "error": page.error,
                        "since": page.since.isoformat() if page.since else None,
                        "failures": page.failures,
                    }
                    for page in pages
                    if page.source_id == source.id
                ],
            }
        )
    if recent_failures:
        problems.append(f"{recent_failures} reminder(s) failed in the last 24 hours")
    mail_problem = mail.problem(now, settings.mail.failing_after)
    if mail_problem:
        problems.append(mail_problem)
    body = {
        "status": "ok" if not problems else "failing",
        "now": now.isoformat(),
        "problems": problems,
        "sources": sources,
        "mail": mail.body(now, settings.mail.failing_after),
        "reminders": {
            "pending": counts.get(claims.PENDING, 0),
            "sending": counts.get(claims.SENDING, 0),
            "sent": counts.get(claims.SENT, 0),
            "failed": counts.get(claims.FAILED, 0),
            "failed_last_24h": int(recent_failures),
            "next_due": next_due.isoformat() if next_due else None,
        },
    }
    return HealthReport(not problems, body)
