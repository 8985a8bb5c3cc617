"""The "sent" marks: a connection completes a message (the final "." of DATA) only once its
previous accepted message is marked, and the marks of the connections waiting are grouped,
on SQLite (on the loop) and PostgreSQL (in a thread)."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select

from feeds.clock import FixedClock
from feeds.store.tables import reminders
from scheduler.ledger.dispatch import in_flight_bound
from scheduler.ledger.planning import plan
from scheduler.ledger.subscribers import add_subscriber
from tests.ledger.helpers import end_of_day, make_settings, smtp_dispatcher, store_deadline
from tests.support.smtp import SmtpTestServer

CLOSES = end_of_day(date(2023, 2, 17))
JOINED = datetime(2023, 1, 2, tzinfo=UTC)


def test_at_most_one_message_per_connection_is_accepted_and_unmarked(
    engine: Engine, tmp_path: Path, smtp_server: SmtpTestServer
) -> None:
    settings = make_settings(tmp_path)
    store_deadline(engine, settings, CLOSES)
    count = 150  # a batch of 100 and one of 50: the claims stream too
    with engine.begin() as conn:
        for n in range(count):
            add_subscriber(conn, f"p{n:03d}@example.org", JOINED)
        plan(conn, JOINED, [timedelta(days=7)])
    dispatcher = smtp_dispatcher(
        engine, settings, smtp_server, FixedClock(CLOSES - timedelta(days=3))
    )
    dispatcher.batch_size = 100
    handler = smtp_server.handler
    record = handler.handle_DATA
    unmarked_at_end: list[int] = []

    async def watched(server: Any, session: Any, envelope: Any) -> str:
        # The client has sent this message's "."; messages accepted before it and not yet
        # marked may only be the other connections' (one each).
        with engine.connect() as conn:
            marked = conn.execute(
                select(func.count()).where(reminders.c.status == "sent")
            ).scalar_one()
        unmarked_at_end.append(len(handler.messages) - int(marked))
        return await record(server, session, envelope)

    handler.handle_DATA = watched  # type: ignore[method-assign]

    async def send() -> None:
        summary = await dispatcher.run_pass()
        await dispatcher.transport.close()
        assert summary.sent == count

    asyncio.run(send())
    assert len(unmarked_at_end) == count
    assert max(unmarked_at_end) + 1 <= in_flight_bound(dispatcher.senders)
    assert dispatcher.marks is not None
    # grouped: fewer statements than messages (both connections' marks in one, often)
    assert dispatcher.marks.statements < count
    with engine.connect() as conn:
        statuses = conn.execute(
            select(reminders.c.status, func.count())
            .where(reminders.c.offset_seconds == 7 * 86400)
            .group_by(reminders.c.status)
        ).all()
    assert dict(statuses) == {"sent": count}
    assert len({m.recipients[0] for m in handler.messages}) == count
