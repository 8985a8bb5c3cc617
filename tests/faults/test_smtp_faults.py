"""SMTP that misbehaves, against a real aiosmtpd server on loopback, on SQLite and PostgreSQL.

Each fault: nothing lost, nothing sent twice, retries bounded and backed off, a 550 bounced
and not retried, and the state visible in `status`/`/healthz` (the health report) and the
metrics.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from prometheus_client import generate_latest
from sqlalchemy import Engine, select

from feeds.clock import FixedClock
from feeds.store.tables import reminders, subscribers
from scheduler.health import health_report
from scheduler.metrics import LedgerCollector
from tests.faults.helpers import (
    DUE,
    OPERATOR,
    by_status,
    delivered,
    fault_settings,
    many_subscribers,
    monitored_dispatcher,
)
from tests.support.smtp import ServerCertificates, SmtpTestServer


def mail_metrics(engine: Engine, clock: FixedClock) -> dict[str, float]:
    from prometheus_client.registry import CollectorRegistry

    registry = CollectorRegistry()
    registry.register(LedgerCollector(engine, clock, ["river"]))
    text = generate_latest(registry).decode()
    return {
        line.split()[0]: float(line.split()[1])
        for line in text.splitlines()
        if line.startswith("feedline_mail_")
    }


async def test_server_down_for_ten_minutes_turns_failing_then_sends_all_once(
    engine: Engine, tmp_path: Path, smtp_server: SmtpTestServer, caplog: pytest.LogCaptureFixture
) -> None:
    settings = fault_settings(tmp_path)
    people = many_subscribers(engine, settings, 50)
    clock = FixedClock(DUE)
    dispatcher = monitored_dispatcher(engine, settings, smtp_server, clock, timeout=2)
    smtp_server.stop()
    first = await dispatcher.run_pass()
    assert (first.sent, first.retried, first.failed) == (0, 50, 0)
    report = health_report(settings, engine, clock)
    assert report.healthy, "one failed pass is not yet failing (failing_after = 10 minutes)"
    assert report.body["mail"]["consecutive_failures"] == 50
    caplog.set_level(logging.ERROR, "scheduler.mail_health")
    passes = 1
    while clock.now() - DUE < timedelta(minutes=10, seconds=1):  # the outage, in clock steps
        clock.advance(timedelta(minutes=1))
        summary = await dispatcher.run_pass()
        passes += 1
        assert summary.sent == 0 and summary.failed == 0
    report = health_report(settings, engine, clock)
    assert not report.healthy
    assert any(p.startswith("mail failing since") for p in report.body["problems"])
    assert "ALERT: mail failing since" in caplog.text
    assert mail_metrics(engine, clock)["feedline_mail_failing"] == 1
    with engine.connect() as conn:
        attempts = conn.execute(select(reminders.c.attempts).where(reminders.c.attempts > 0))
        tries = [a for (a,) in attempts]
    # Backed off: 1, 2, 4, 8 minutes: at most 4 tries each in 10 minutes, not one per pass.
    assert max(tries) <= 4 < passes
    smtp_server.start()
    clock.advance(timedelta(hours=1))
    recovered = await dispatcher.run_pass()
    await dispatcher.transport.close()
    assert recovered.sent == 50
    assert sorted(delivered(smtp_server)) == people  # 0 lost, 0 duplicated
    assert by_status(engine)["sent"] == 50
    assert health_report(settings, engine, clock).healthy
    assert mail_metrics(engine, clock)["feedline_mail_failing"] == 0
    alerts = [
        m.parsed()["Subject"] for m in smtp_server.handler.messages if OPERATOR in m.recipients
    ]
    assert "feedline: mail goes out again" in alerts, "the recovery email reaches the operator"


@pytest.mark.parametrize("reply", ["421 4.7.0 Try again later", "451 4.3.0 Local error"])
async def test_4xx_is_retried_with_backoff_and_sent_once(
    engine: Engine, tmp_path: Path, smtp_server: SmtpTestServer, reply: str
) -> None:
    settings = fault_settings(tmp_path)
    people = many_subscribers(engine, settings, 10)
    clock = FixedClock(DUE)
    dispatcher = monitored_dispatcher(engine, settings, smtp_server, clock)
    smtp_server.handler.defer_data(4, reply)
    first = await dispatcher.run_pass()
    assert (first.sent, first.retried) == (6, 4)
    assert health_report(settings, engine, clock).body["mail"]["consecutive_failures"] == 0
    again = await dispatcher.run_pass()
    assert again.sent == 0, "backed off: not due again at once"
    clock.advance(timedelta(minutes=1))
    later = await dispatcher.run_pass()
    await dispatcher.transport.close()
    assert later.sent == 4
    assert sorted(delivered(smtp_server)) == people


async def test_connection_dropped_mid_data_is_retried_not_lost(
    engine: Engine, tmp_path: Path, smtp_server: SmtpTestServer
) -> None:
    settings = fault_settings(tmp_path)
    people = many_subscribers(engine, settings, 10)
    clock = FixedClock(DUE)
    dispatcher = monitored_dispatcher(engine, settings, smtp_server, clock)
    smtp_server.handler.drop_on_data(2)
    await dispatcher.run_pass()
    clock.advance(timedelta(minutes=5))
    await dispatcher.run_pass()
    await dispatcher.transport.close()
    counts = Counter(delivered(smtp_server))
    assert sorted(counts) == people and set(counts.values()) == {1}
    assert by_status(engine) == {"sent": 10, "pending": 10}  # the 1-day ones wait


async def test_550_for_one_recipient_among_many_bounces_only_that_one(
    engine: Engine, tmp_path: Path, smtp_server: SmtpTestServer
) -> None:
    settings = fault_settings(tmp_path)
    people = many_subscribers(engine, settings, 20)
    smtp_server.handler.reject_recipient(people[7])
    clock = FixedClock(DUE)
    dispatcher = monitored_dispatcher(engine, settings, smtp_server, clock)
    first = await dispatcher.run_pass()
    clock.advance(timedelta(hours=2))
    second = await dispatcher.run_pass()
    await dispatcher.transport.close()
    assert (first.sent, first.failed, second.sent, second.failed) == (19, 1, 0, 0)
    assert sorted(delivered(smtp_server)) == sorted(p for p in people if p != people[7])
    with engine.connect() as conn:
        bounced = conn.execute(
            select(subscribers.c.email).where(subscribers.c.status == "bounced")
        ).scalars()
        assert list(bounced) == [people[7]]
        attempts = conn.execute(
            select(reminders.c.attempts).where(reminders.c.status == "failed")
        ).scalar_one()
    assert attempts == 1, "a 550 is not retried"
    report = health_report(settings, engine, clock)
    assert report.body["mail"]["ok"], "the server answered: mail itself works"
    assert "1 reminder(s) failed in the last 24 hours" in report.body["problems"]


async def test_tls_handshake_failure_is_transient_and_counted(
    engine: Engine,
    tmp_path: Path,
    tls_certificates: ServerCertificates,
) -> None:
    settings = fault_settings(tmp_path, failing_after="1m")
    people = many_subscribers(engine, settings, 3)
    server = SmtpTestServer(security="tls", certificates=tls_certificates)
    server.start()
    try:
        clock = FixedClock(DUE)
        # The client does not trust the test CA: the handshake fails on every connection.
        dispatcher = monitored_dispatcher(engine, settings, server, clock, ca_file=None)
        first = await dispatcher.run_pass()
        clock.advance(timedelta(minutes=2))
        second = await dispatcher.run_pass()
        await dispatcher.transport.close()
        assert (first.sent, first.retried, first.failed) == (0, 3, 0)
        assert (second.sent, second.retried, second.failed) == (0, 3, 0)
        report = health_report(settings, engine, clock)
        assert not report.healthy
        assert "certificate" in report.body["mail"]["last_error"].lower()
        good = monitored_dispatcher(engine, settings, server, clock)
        clock.advance(timedelta(minutes=5))
        assert (await good.run_pass()).sent == 3
        await good.transport.close()
        assert sorted(delivered(server)) == people
        assert health_report(settings, engine, clock).healthy
    finally:
        server.stop()


async def test_stalling_server_times_out_and_is_retried(
    engine: Engine, tmp_path: Path, smtp_server: SmtpTestServer
) -> None:
    settings = fault_settings(tmp_path)
    people = many_subscribers(engine, settings, 4)
    clock = FixedClock(DUE)
    dispatcher = monitored_dispatcher(engine, settings, smtp_server, clock, timeout=0.5)
    smtp_server.handler.stall_on_data(1)
    first = await dispatcher.run_pass()
    assert (first.sent, first.retried) == (3, 1)
    assert "Timeout" in health_report(settings, engine, clock).body["mail"]["last_error"]
    clock.advance(timedelta(minutes=1))
    assert (await dispatcher.run_pass()).sent == 1
    await dispatcher.transport.close()
    assert sorted(delivered(smtp_server)) == people


async def test_refused_login_is_a_config_error_and_burns_no_attempt(
    engine: Engine, tmp_path: Path, auth_server: SmtpTestServer
) -> None:
    settings = fault_settings(tmp_path)
    many_subscribers(engine, settings, 5)
    clock = FixedClock(DUE)
    dispatcher = monitored_dispatcher(engine, settings, auth_server, clock, password="wrong")
    first = await dispatcher.run_pass()
    assert first.config_error and "login as 'feedline' refused" in first.config_error
    assert first.sent == first.retried == first.failed == 0
    assert first.next_due is None, "the daemon waits a tick instead of spinning"
    with engine.connect() as conn:
        rows = conn.execute(
            select(reminders.c.status, reminders.c.attempts).where(
                reminders.c.kind == "reminder", reminders.c.offset_seconds == 7 * 86400
            )
        ).all()
    assert {tuple(r) for r in rows} == {("pending", 0)}, "given back untried"
    report = health_report(settings, engine, clock)
    assert not report.healthy, "a refused login is failing at once"
    assert report.body["mail"]["config_error"]
    second = await dispatcher.run_pass()  # within the hold: the server is not asked again
    assert second.config_error
    await dispatcher.transport.close()
    assert auth_server.handler.messages == []
