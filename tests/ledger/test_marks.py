"""The "sent" marks: a connection completes a message (the final "." of DATA) only once its
previous accepted message is marked, and the marks of the connections waiting are grouped,
on SQLite and PostgreSQL (both on the loop; PostgreSQL one prepared statement)."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from feeds.clock import FixedClock
from feeds.store.tables import reminders
from scheduler.ledger import claims
from scheduler.ledger.dispatch import in_flight_bound
from scheduler.ledger.marks import mark_and_report
from scheduler.ledger.planning import plan
from scheduler.ledger.postgres_marks import PostgresMarker
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


def test_the_mark_each_database_runs_keeps_the_lease_check(
    engine: Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """SQLite: the SQLAlchemy statement on the pass's connection; PostgreSQL: the one
    prepared text run on the loop (`PostgresMarker`). The same rows, the same values, and
    a Message-ID with a quote and a backslash comes back as it went."""
    settings = make_settings(tmp_path)
    store_deadline(engine, settings, CLOSES)
    with engine.begin() as conn:
        for n in range(5):
            add_subscriber(conn, f"q{n}@example.org", JOINED)
        plan(conn, JOINED, [timedelta(days=7)])
    now = CLOSES - timedelta(days=3)
    with engine.begin() as conn:
        mine = claims.claim(conn, now, "me", timedelta(minutes=5), 3)
        other = claims.claim(conn, now, "other", timedelta(minutes=5), 2)
    message_ids = {row_id: f"<{row_id}@example.org>" for row_id in [*mine, *other]}
    message_ids[mine[0]] = '<"odd\\one",{x}@example.org>'
    sent = list(message_ids.items())
    marked_at = now + timedelta(seconds=1)
    if engine.dialect.name == "postgresql":
        marker = PostgresMarker(engine)
        try:
            asyncio.run(marker.mark(sent, "me", marked_at))
        finally:
            marker.close()
    else:
        with engine.connect() as conn:
            mark_and_report(conn, sent, "me", marked_at)
    with engine.connect() as conn:
        rows = conn.execute(select(reminders).where(reminders.c.id.in_([*mine, *other]))).all()
    assert {
        r.id: (r.status, r.message_id, r.sent_at, r.updated_at, r.lease_owner) for r in rows
    } == {
        **{row_id: ("sent", message_ids[row_id], marked_at, marked_at, None) for row_id in mine},
        **dict.fromkeys(other, ("sending", None, None, now, "other")),
    }
    warned = [r.getMessage() for r in caplog.records if "lease had passed" in r.getMessage()]
    assert sorted(warned) == sorted(
        f"reminder {row_id} was sent but its lease had passed to another sender" for row_id in other
    )
