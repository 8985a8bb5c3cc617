"""The delivery ledger on SQLite and PostgreSQL, against a real SMTP server on loopback."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from feeds.clock import FixedClock
from feeds.store.tables import reminders, subscribers
from scheduler.ledger import claims
from scheduler.ledger.subscribers import remove_subscriber
from tests.ledger.helpers import (
    end_of_day,
    make_settings,
    smtp_dispatcher,
    statuses,
    store_deadline,
    subscribe,
)
from tests.support.smtp import SmtpTestServer

DAY = 86400
CLOSES = end_of_day(date(2023, 2, 17))  # 2023-02-17T23:59:59+01:00


def setup(engine: Engine, tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    store_deadline(engine, settings, CLOSES)
    subscribe(engine, "ana@example.org", datetime(2023, 1, 2, tzinfo=UTC))


async def test_due_reminder_is_sent_once_and_idempotent(
    engine: Engine,
    tmp_path: Path,
    smtp_server: SmtpTestServer,
) -> None:
    setup(engine, tmp_path)
    settings = make_settings(tmp_path)
    clock = FixedClock(datetime.fromisoformat("2023-02-11T09:00:00+01:00"))
    dispatcher = smtp_dispatcher(engine, settings, smtp_server, clock)
    first = await dispatcher.run_pass()
    second = await dispatcher.run_pass()
    await dispatcher.transport.close()
    assert (first.sent, second.sent) == (1, 0)
    assert len(smtp_server.handler.messages) == 1
    message = smtp_server.handler.messages[0].parsed()
    # Sent 6 days 15 hours before it closes: the subject says what is really left.
    assert message["Subject"] == "Closes in 6 days: Consultation on river water quality"
    assert smtp_server.handler.messages[0].recipients == ["ana@example.org"]
    assert first.next_due == CLOSES.astimezone(UTC) - timedelta(days=1)
    assert statuses(engine) == [(7 * DAY, "reminder", "sent"), (DAY, "reminder", "pending")]


async def test_nothing_is_sent_before_it_is_due(
    engine: Engine,
    tmp_path: Path,
    smtp_server: SmtpTestServer,
) -> None:
    setup(engine, tmp_path)
    clock = FixedClock(CLOSES - timedelta(days=7, seconds=1))
    dispatcher = smtp_dispatcher(engine, make_settings(tmp_path), smtp_server, clock)
    summary = await dispatcher.run_pass()
    await dispatcher.transport.close()
    assert summary.sent == 0
    assert smtp_server.handler.messages == []


async def test_after_downtime_only_the_latest_overdue_offset_is_sent(
    engine: Engine,
    tmp_path: Path,
    smtp_server: SmtpTestServer,
) -> None:
    setup(engine, tmp_path)
    clock = FixedClock(CLOSES - timedelta(hours=12))  # both 7d and 1d are overdue
    dispatcher = smtp_dispatcher(engine, make_settings(tmp_path), smtp_server, clock)
    summary = await dispatcher.run_pass()
    await dispatcher.transport.close()
    assert (summary.sent, summary.expired) == (1, 1)
    assert statuses(engine) == [(7 * DAY, "reminder", "expired"), (DAY, "reminder", "sent")]
    subject = smtp_server.handler.messages[0].parsed()["Subject"]
    assert subject == "Closes today, 23:59 Brussels time: Consultation on river water quality"


async def test_a_reminder_whose_deadline_passed_is_expired_never_sent(
    engine: Engine,
    tmp_path: Path,
    smtp_server: SmtpTestServer,
) -> None:
    setup(engine, tmp_path)
    clock = FixedClock(CLOSES + timedelta(seconds=1))
    dispatcher = smtp_dispatcher(engine, make_settings(tmp_path), smtp_server, clock)
    summary = await dispatcher.run_pass()
    await dispatcher.transport.close()
    assert (summary.sent, summary.expired) == (0, 2)
    assert smtp_server.handler.messages == []


async def test_421_then_success_retries_with_backoff(
    engine: Engine,
    tmp_path: Path,
    smtp_server: SmtpTestServer,
) -> None:
    setup(engine, tmp_path)
    smtp_server.handler.defer_data(1)
    clock = FixedClock(datetime.fromisoformat("2023-02-11T09:00:00+01:00"))
    dispatcher = smtp_dispatcher(engine, make_settings(tmp_path), smtp_server, clock)
    first = await dispatcher.run_pass()
    assert (first.sent, first.retried) == (0, 1)
    assert first.next_due == clock.now() + timedelta(minutes=1)  # retry_base, first attempt
    clock.advance(timedelta(seconds=59))
    assert (await dispatcher.run_pass()).sent == 0
    clock.advance(timedelta(seconds=1))
    assert (await dispatcher.run_pass()).sent == 1
    await dispatcher.transport.close()
    assert len(smtp_server.handler.messages) == 1


async def test_server_down_then_back_loses_nothing(
    engine: Engine,
    tmp_path: Path,
    smtp_server: SmtpTestServer,
) -> None:
    setup(engine, tmp_path)
    smtp_server.stop()
    clock = FixedClock(datetime.fromisoformat("2023-02-11T09:00:00+01:00"))
    dispatcher = smtp_dispatcher(engine, make_settings(tmp_path), smtp_server, clock)
    for _ in range(3):  # 1 min, 2 min, 4 min of backoff
        summary = await dispatcher.run_pass()
        assert (summary.sent, summary.retried) == (0, 1)
        assert summary.next_due is not None
        clock.move_to(summary.next_due)
    smtp_server.start()
    assert (await dispatcher.run_pass()).sent == 1
    await dispatcher.transport.close()
    with engine.connect() as conn:
        attempts = conn.execute(
            select(reminders.c.attempts).where(reminders.c.status == "sent")
        ).scalar_one()
    assert attempts == 4


async def test_550_marks_failed_and_deactivates_the_subscriber(
    engine: Engine,
    tmp_path: Path,
    smtp_server: SmtpTestServer,
) -> None:
    setup(engine, tmp_path)
    smtp_server.handler.reject_recipient("ana@example.org")
    clock = FixedClock(datetime.fromisoformat("2023-02-11T09:00:00+01:00"))
    dispatcher = smtp_dispatcher(engine, make_settings(tmp_path), smtp_server, clock)
    summary = await dispatcher.run_pass()
    await dispatcher.transport.close()
    assert summary.failed == 1
    assert statuses(engine) == [(7 * DAY, "reminder", "failed"), (DAY, "reminder", "cancelled")]
    with engine.connect() as conn:
        assert conn.execute(select(subscribers.c.status)).scalar_one() == "bounced"


async def test_a_crashed_senders_claim_is_picked_up_after_the_lease(
    engine: Engine,
    tmp_path: Path,
    smtp_server: SmtpTestServer,
) -> None:
    setup(engine, tmp_path)
    clock = FixedClock(datetime.fromisoformat("2023-02-11T09:00:00+01:00"))
    with engine.begin() as conn:  # a sender claims, then dies before sending
        taken = claims.claim(conn, clock.now(), "crashed", timedelta(minutes=5), 10)
    assert len(taken) == 1
    dispatcher = smtp_dispatcher(engine, make_settings(tmp_path), smtp_server, clock)
    assert (await dispatcher.run_pass()).sent == 0  # still leased
    clock.advance(timedelta(minutes=5, seconds=1))
    summary = await dispatcher.run_pass()
    await dispatcher.transport.close()
    assert summary.sent == 1
    assert len(smtp_server.handler.messages) == 1


async def test_moved_deadline_replans_and_sends_one_changed_notice(
    engine: Engine,
    tmp_path: Path,
    smtp_server: SmtpTestServer,
) -> None:
    settings = make_settings(tmp_path)
    setup(engine, tmp_path)
    clock = FixedClock(datetime.fromisoformat("2023-02-11T09:00:00+01:00"))
    dispatcher = smtp_dispatcher(engine, settings, smtp_server, clock)
    assert (await dispatcher.run_pass()).sent == 1  # the 7-day reminder for 17 February
    extended = end_of_day(date(2023, 3, 31))
    changes = store_deadline(engine, settings, extended, now=clock.now())
    assert [c.kind for c in changes] == ["moved"]
    summary = await dispatcher.run_pass()
    assert summary.sent == 1
    notice = smtp_server.handler.messages[-1].parsed()
    assert notice["Subject"].startswith("Deadline changed:")
    assert "31 March 2023" in notice.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    clock.move_to(extended - timedelta(days=7))
    assert (await dispatcher.run_pass()).sent == 1  # 7 days before the new date
    await dispatcher.transport.close()
    assert statuses(engine) == [
        (7 * DAY, "reminder", "sent"),
        (DAY, "reminder", "superseded"),
        (0, "changed", "sent"),
        (7 * DAY, "reminder", "sent"),
        (DAY, "reminder", "pending"),
    ]


def test_removed_subscriber_loses_their_rows(engine: Engine, tmp_path: Path) -> None:
    setup(engine, tmp_path)
    with engine.begin() as conn:
        assert remove_subscriber(conn, "ANA@example.org")
    assert statuses(engine) == []


def test_due_at_is_utc_arithmetic_across_dst(engine: Engine, tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    closes = end_of_day(date(2023, 3, 28))  # CEST (+02:00); 7 days before is still CET
    store_deadline(engine, settings, closes)
    subscribe(engine, "ana@example.org", datetime(2023, 1, 2, tzinfo=UTC))
    with engine.connect() as conn:
        due = conn.execute(select(reminders.c.due_at).order_by(reminders.c.id)).scalars().all()
    assert due[0] == closes.astimezone(UTC) - timedelta(hours=168)
    assert due[0].astimezone(closes.tzinfo).strftime("%H:%M:%S") == "22:59:59"


def test_postgres_claims_skip_rows_locked_by_another_daemon(
    engine: Engine,
    tmp_path: Path,
) -> None:
    if engine.dialect.name != "postgresql":
        return  # SQLite serialises writers with BEGIN IMMEDIATE instead (one daemon)
    settings = make_settings(tmp_path)
    store_deadline(engine, settings, CLOSES)
    for n in range(6):
        subscribe(engine, f"p{n}@example.org", datetime(2023, 1, 2, tzinfo=UTC))
    now = CLOSES - timedelta(days=3)
    with engine.connect() as first, engine.connect() as second, first.begin():
        a = claims.claim(first, now, "a", timedelta(minutes=5), 4)
        with second.begin():
            b = claims.claim(second, now, "b", timedelta(minutes=5), 4)
    assert len(a) == 4 and len(b) == 2
    assert not set(a) & set(b)


async def test_one_template_per_deadline_each_message_personal(
    engine: Engine,
    tmp_path: Path,
    smtp_server: SmtpTestServer,
) -> None:
    from urllib.parse import parse_qs, urlsplit

    from scheduler.ledger.subscribers import subscriber_by_id
    from scheduler.tokens import Purpose, read_subscriber_token
    from tests.ledger.helpers import KEY

    setup(engine, tmp_path)
    people = ["ana@example.org", *(f"p{n}@example.org" for n in range(5))]
    for email in people[1:]:
        subscribe(engine, email, datetime(2023, 1, 2, tzinfo=UTC))
    clock = FixedClock(datetime.fromisoformat("2023-02-11T09:00:00+01:00"))
    dispatcher = smtp_dispatcher(engine, make_settings(tmp_path), smtp_server, clock)
    summary = await dispatcher.run_pass()
    await dispatcher.transport.close()
    assert summary.sent == len(people)
    assert dispatcher.composer.templates.misses == 1
    ids = set()
    for received in smtp_server.handler.messages:
        (recipient,) = received.recipients
        message = received.parsed()
        assert message["To"] == recipient
        ids.add(message["Message-ID"])
        header_url = str(message["List-Unsubscribe"]).split(">")[0].lstrip("<")
        token = parse_qs(urlsplit(header_url).query)["token"][0]
        assert recipient not in header_url
        subject = read_subscriber_token(KEY, Purpose.UNSUBSCRIBE, token)
        with engine.connect() as conn:
            owner = subscriber_by_id(conn, subject.subscriber_id)
        assert owner is not None and owner.email == recipient
        assert "/manage?token=" in (message.get_body(("plain",)) or message).get_content()
        for subtype in ("plain", "html"):
            body = message.get_body((subtype,))
            assert body is not None
            assert header_url.replace("&", "&amp;" if subtype == "html" else "&") in (
                body.get_content()
            )
    assert sorted(r.recipients[0] for r in smtp_server.handler.messages) == sorted(people)
    assert len(ids) == len(people)
    with engine.connect() as conn:
        stored = conn.execute(
            select(reminders.c.message_id).where(reminders.c.status == "sent")
        ).scalars()
        assert set(stored) == ids


async def test_a_deadline_passing_during_the_pass_is_expired_not_sent(
    engine: Engine,
    tmp_path: Path,
    smtp_server: SmtpTestServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    setup(engine, tmp_path)
    clock = FixedClock(CLOSES - timedelta(hours=12))
    dispatcher = smtp_dispatcher(engine, make_settings(tmp_path), smtp_server, clock)
    load_lazily = dispatcher.composer.load_lazily

    def load_then_the_deadline_passes(conn: Any, row_ids: list[int]) -> Any:
        outgoing = [compose() for compose in load_lazily(conn, row_ids)]
        clock.move_to(CLOSES + timedelta(seconds=1))
        return [lambda item=item: item for item in outgoing]

    monkeypatch.setattr(dispatcher.composer, "load_lazily", load_then_the_deadline_passes)
    summary = await dispatcher.run_pass()
    await dispatcher.transport.close()
    assert (summary.sent, summary.expired) == (0, 2)
    assert smtp_server.handler.messages == []
    assert statuses(engine) == [(7 * DAY, "reminder", "expired"), (DAY, "reminder", "expired")]


async def test_a_pass_stopped_mid_batch_marks_what_it_sent(
    engine: Engine,
    tmp_path: Path,
    smtp_server: SmtpTestServer,
) -> None:
    """Marks are grouped, but a pass cancelled mid-batch still records every sent row: only
    the message whose DATA got no answer stays claimed (and goes out again after the lease)."""
    import asyncio

    setup(engine, tmp_path)
    for n in range(5):
        subscribe(engine, f"p{n}@example.org", datetime(2023, 1, 2, tzinfo=UTC))
    smtp_server.handler.stall_on_data(1)  # the first DATA is never answered
    clock = FixedClock(datetime.fromisoformat("2023-02-11T09:00:00+01:00"))
    dispatcher = smtp_dispatcher(engine, make_settings(tmp_path), smtp_server, clock)
    running = asyncio.create_task(dispatcher.run_pass())
    for _ in range(500):
        if len(smtp_server.handler.messages) == 5:
            break
        await asyncio.sleep(0.01)
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    await dispatcher.transport.close()
    week = [status for offset, _, status in statuses(engine) if offset == 7 * DAY]
    assert sorted(week) == ["sending"] + ["sent"] * 5
    assert len(smtp_server.handler.messages) == 5


def test_marks_of_a_batch_are_one_statement_and_keep_the_lease_check(
    engine: Engine, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path)
    store_deadline(engine, settings, CLOSES)
    for n in range(4):
        subscribe(engine, f"p{n}@example.org", datetime(2023, 1, 2, tzinfo=UTC))
    now = CLOSES - timedelta(days=3)
    with engine.begin() as conn:
        mine = claims.claim(conn, now, "me", timedelta(minutes=5), 3)
        other = claims.claim(conn, now, "other", timedelta(minutes=5), 3)
    sent = [(row_id, f"<{row_id}@example.org>") for row_id in [*mine, *other]]
    with engine.begin() as conn:
        held = claims.mark_sent_many(conn, sent, "me", now)
    assert held == set(mine)
    with engine.connect() as conn:
        rows = conn.execute(
            select(reminders.c.id, reminders.c.status, reminders.c.message_id).where(
                reminders.c.id.in_([*mine, *other])
            )
        ).all()
    assert {r.id: (r.status, r.message_id) for r in rows} == {
        **{row_id: ("sent", f"<{row_id}@example.org>") for row_id in mine},
        **dict.fromkeys(other, ("sending", None)),
    }
