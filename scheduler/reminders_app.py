"""Wiring for reminder work: the signing key, the transport, the dispatcher, the build hook."""

from __future__ import annotations

import os
from collections.abc import Sequence

from sqlalchemy import Connection, Engine, select

from config.schema import Settings
from feeds.clock import Clock
from feeds.refresh import DeadlineHook
from feeds.store.deadlines import DeadlineChange
from feeds.store.tables import sources
from scheduler.ledger.dispatch import ReminderDispatcher
from scheduler.ledger.planning import on_deadline_changes
from scheduler.mail.factory import build_transport
from scheduler.mail_health import MonitoredTransport
from scheduler.mail_state import read_health
from scheduler.tokens import load_signing_key


def signing_key(settings: Settings) -> bytes:
    settings.site.data_dir.mkdir(parents=True, exist_ok=True)
    return load_signing_key(settings.secrets, settings.site.data_dir, os.environ)


def ledger_hook(settings: Settings, clock: Clock) -> DeadlineHook:
    """Plan reminders in the same transaction that stores changed deadlines."""
    offsets = settings.reminders.offsets

    def hook(conn: Connection, changes: Sequence[DeadlineChange]) -> None:
        on_deadline_changes(conn, changes, clock.now(), offsets)

    return hook


def build_dispatcher(settings: Settings, engine: Engine, clock: Clock) -> ReminderDispatcher:
    inner = build_transport(settings.mail, os.environ)
    transport = MonitoredTransport(inner, engine, clock, settings)
    return ReminderDispatcher(settings, engine, transport, clock, signing_key(settings))


def mail_problem(settings: Settings, engine: Engine, clock: Clock) -> str | None:
    """Why mail is failing (`[mail] failing_after` passed, or a refused login), else None."""
    with engine.connect() as conn:
        health = read_health(conn)
    return health.problem(clock.now(), settings.mail.failing_after)


def never_refreshed(settings: Settings, engine: Engine) -> bool:
    """True when no configured source has ever been read successfully into this store."""
    ids = [s.id for s in settings.sources]
    with engine.connect() as conn:
        done = conn.execute(
            select(sources.c.id).where(sources.c.id.in_(ids), sources.c.last_success.is_not(None))
        ).first()
    return done is None
