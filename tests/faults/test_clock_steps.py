"""The clock stepping back an hour and forward a day between passes (NTP corrections, a VM
restored from a snapshot): nothing sent twice, nothing sent early, overdue handled by the
ledger rules (the latest overdue offset is sent, the others expire; past the deadline
nothing is sent)."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from pathlib import Path

from sqlalchemy import Engine

from feeds.clock import FixedClock
from scheduler.ledger import claims
from tests.faults.conftest import Reliability
from tests.faults.helpers import (
    CLOSES,
    DUE,
    by_status,
    db_name,
    delivered,
    fault_settings,
    many_subscribers,
    monitored_dispatcher,
)
from tests.support.smtp import SmtpTestServer

HOUR, DAY = timedelta(hours=1), timedelta(days=1)


async def test_back_an_hour_and_forward_a_day_sends_each_once_and_on_time(
    engine: Engine, tmp_path: Path, smtp_server: SmtpTestServer, reliability: Reliability
) -> None:
    settings = fault_settings(tmp_path)
    people = many_subscribers(engine, settings, reliability.size(10, 500))
    count = len(people)
    clock = FixedClock(DUE)
    dispatcher = monitored_dispatcher(engine, settings, smtp_server, clock)
    assert (await dispatcher.run_pass()).sent == count  # the 7-day reminders
    clock.move_to(DUE - HOUR)  # stepped back
    assert (await dispatcher.run_pass()).sent == 0
    clock.move_to(DUE + DAY)  # forward a day: the 1-day reminders are not due yet
    early = await dispatcher.run_pass()
    assert early.sent == 0
    assert early.next_due == CLOSES - DAY
    clock.move_to(CLOSES - DAY - HOUR)  # back again, an hour before they are due
    assert (await dispatcher.run_pass()).sent == 0
    clock.move_to(CLOSES - DAY + timedelta(seconds=1))
    assert (await dispatcher.run_pass()).sent == count
    clock.move_to(CLOSES - DAY - HOUR)
    assert (await dispatcher.run_pass()).sent == 0
    await dispatcher.transport.close()
    counts = Counter(delivered(smtp_server))
    assert sorted(counts) == people and set(counts.values()) == {2}, "each offset once"
    assert by_status(engine) == {"sent": 2 * count}
    reliability.record(
        f"Clock back 1 h and forward 1 day between passes ({db_name(engine)})",
        f"{count:,} subscribers x 2 offsets, 7 passes",
        2 * count - sum(1 for n in counts.values() for _ in range(min(n, 2))),
        sum(counts.values()) - 2 * count,
        "nothing sent early (0 in the passes before due); past both offsets: the latest "
        "sent, the other expired; past the deadline: nothing sent",
    )


async def test_forward_past_both_offsets_sends_the_latest_and_expires_the_rest(
    engine: Engine, tmp_path: Path, smtp_server: SmtpTestServer
) -> None:
    settings = fault_settings(tmp_path)
    people = many_subscribers(engine, settings, 5)
    clock = FixedClock(DUE - 2 * DAY)  # nothing due
    dispatcher = monitored_dispatcher(engine, settings, smtp_server, clock)
    assert (await dispatcher.run_pass()).sent == 0
    clock.move_to(CLOSES - 2 * HOUR)  # forward six days: both offsets overdue
    summary = await dispatcher.run_pass()
    assert (summary.sent, summary.expired) == (5, 5)
    clock.move_to(CLOSES - 3 * HOUR)  # back an hour
    assert (await dispatcher.run_pass()).sent == 0
    await dispatcher.transport.close()
    assert sorted(delivered(smtp_server)) == people
    subjects = {m.parsed()["Subject"] for m in smtp_server.handler.messages}
    assert all(s.startswith("Closes today") for s in subjects), "the latest one, not the 7-day"


async def test_forward_past_the_deadline_sends_nothing(
    engine: Engine, tmp_path: Path, smtp_server: SmtpTestServer
) -> None:
    settings = fault_settings(tmp_path)
    many_subscribers(engine, settings, 5)
    clock = FixedClock(DUE - 2 * DAY)
    dispatcher = monitored_dispatcher(engine, settings, smtp_server, clock)
    await dispatcher.run_pass()
    clock.move_to(CLOSES + DAY)
    summary = await dispatcher.run_pass()
    await dispatcher.transport.close()
    assert summary.sent == 0
    assert smtp_server.handler.messages == []
    assert by_status(engine) == {"expired": 10}


async def test_a_claim_held_while_the_clock_steps_back_comes_back_later_not_lost(
    engine: Engine, tmp_path: Path, smtp_server: SmtpTestServer
) -> None:
    settings = fault_settings(tmp_path)
    people = many_subscribers(engine, settings, 5)
    clock = FixedClock(DUE)
    with engine.begin() as conn:  # a sender claims the due rows and dies before sending
        assert len(claims.claim(conn, DUE, "crashed", settings.reminders.lease, 100)) == 5
    clock.move_to(DUE - HOUR)
    dispatcher = monitored_dispatcher(engine, settings, smtp_server, clock)
    assert (await dispatcher.run_pass()).sent == 0, "the lease still looks valid"
    clock.move_to(DUE + settings.reminders.lease + timedelta(seconds=1))
    assert (await dispatcher.run_pass()).sent == 5
    await dispatcher.transport.close()
    assert sorted(delivered(smtp_server)) == people
