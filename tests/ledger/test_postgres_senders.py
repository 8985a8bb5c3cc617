"""Several senders on PostgreSQL: one daemon plans at a time, and the "sent" marks are
committed by a thread while the next messages go out (each connection holds its next
message's final "." until its previous one is marked: one unmarked message per connection)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import Connection, Engine, func, select, text

from feeds.clock import FixedClock
from feeds.store.tables import reminders
from scheduler.ledger.dispatch import PLANNING_LOCK_ID, PassSummary, in_flight_bound
from scheduler.ledger.planning import plan
from scheduler.ledger.subscribers import add_subscriber
from tests.ledger.helpers import (
    end_of_day,
    file_dispatcher,
    make_settings,
    smtp_dispatcher,
    store_deadline,
)
from tests.support.smtp import SmtpTestServer

CLOSES = end_of_day(date(2023, 2, 17))
JOINED = datetime(2023, 1, 2, tzinfo=UTC)


def planned_rows(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(reminders)).scalar_one())


def test_a_daemon_skips_planning_while_another_plans_the_same_ledger(
    engine: Engine, tmp_path: Path
) -> None:
    if engine.dialect.name != "postgresql":
        return  # SQLite: one daemon per database file
    settings = make_settings(tmp_path)
    store_deadline(engine, settings, CLOSES)
    with engine.begin() as conn:
        add_subscriber(conn, "ana@example.org", JOINED)  # not planned yet
    dispatcher = file_dispatcher(engine, settings, FixedClock(CLOSES - timedelta(days=10)))
    schema = func.hashtext(func.current_schema())
    with engine.connect() as other, other.begin():
        # another site's ledger (another schema) being planned does not stop this one
        other.execute(select(func.pg_advisory_xact_lock(PLANNING_LOCK_ID, func.hashtext("x"))))
        dispatcher.plan_all()
        assert planned_rows(engine) == 2  # 7d and 1d
    with engine.begin() as conn:
        add_subscriber(conn, "ben@example.org", JOINED)
    with engine.connect() as other, other.begin():
        other.execute(select(func.pg_advisory_xact_lock(PLANNING_LOCK_ID, schema)))
        assert dispatcher.plan_all() == 0  # another daemon is planning this ledger
        assert planned_rows(engine) == 2
    dispatcher.plan_all()
    assert planned_rows(engine) == 4


def test_a_blocked_mark_holds_each_connection_at_one_unmarked_message(
    engine: Engine, tmp_path: Path, smtp_server: SmtpTestServer
) -> None:
    if engine.dialect.name != "postgresql":
        return  # SQLite marks on the event loop (its commits wait for no flush)
    settings = make_settings(tmp_path)
    store_deadline(engine, settings, CLOSES)
    count = 120
    with engine.begin() as conn:
        for n in range(count):
            add_subscriber(conn, f"p{n:03d}@example.org", JOINED)
        plan(conn, JOINED, [timedelta(days=7)])
    clock = FixedClock(CLOSES - timedelta(days=3))  # every 7-day reminder is due
    dispatcher = smtp_dispatcher(engine, settings, smtp_server, clock)  # 2 connections
    assert dispatcher.senders * 10 < count
    summaries: list[PassSummary] = []

    async def send() -> None:
        summaries.append(await dispatcher.run_pass())
        await dispatcher.transport.close()

    received = smtp_server.handler.messages
    sender = threading.Thread(target=lambda: asyncio.run(send()))
    with engine.connect() as locker:
        sender.start()
        try:
            wait_for(lambda: len(received) > 0, "the first message")
            # Marks (UPDATEs of reminders) now wait until the locker commits; each
            # connection may have one more message accepted, then holds its next one.
            locker.begin()
            locker.execute(text("LOCK TABLE reminders IN SHARE MODE"))
            with engine.connect() as watch:

                def unmarked() -> int:
                    sent = watch.execute(
                        select(func.count()).where(reminders.c.status == "sent")
                    ).scalar_one()
                    watch.rollback()
                    return len(received) - int(sent)

                wait_for(lambda: unmarked() >= dispatcher.senders, "a message per connection")
                wait_for(lambda: mark_waits(watch) > 0, "a mark waiting for the lock")
                assert unmarked() == in_flight_bound(dispatcher.senders) == dispatcher.senders
                assert mark_waits(watch) > 0  # still blocked, and still no more accepted
                assert unmarked() == dispatcher.senders
        finally:
            locker.rollback()
            sender.join(timeout=60)
    assert not sender.is_alive()
    assert summaries[0].sent == count
    assert sorted(m.recipients[0] for m in received) == [
        f"p{n:03d}@example.org" for n in range(count)
    ]
    with engine.connect() as conn:
        statuses = conn.execute(
            select(reminders.c.status, reminders.c.message_id).where(
                reminders.c.offset_seconds == 7 * 86400  # the pass planned the 1-day ones too
            )
        ).all()
    assert len(statuses) == count
    assert {status for status, _ in statuses} == {"sent"}
    assert len({message_id for _, message_id in statuses}) == count


def mark_waits(conn: Connection) -> int:
    """Statements of other sessions waiting for a lock (the blocked mark)."""
    waiting = conn.execute(
        text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
    ).scalar_one()
    conn.rollback()
    return int(waiting)


def wait_for(condition: Callable[[], bool], what: str, limit: float = 30.0) -> None:
    """Poll `condition` until true; fail after `limit` seconds."""
    give_up = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < give_up, f"no {what} after {limit:.0f} s"
        time.sleep(0.01)
