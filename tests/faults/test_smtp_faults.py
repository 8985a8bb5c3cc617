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
from tests.faults.conftest import Reliability
from tests.faults.helpers import (
    DUE,
    OPERATOR,
    by_status,
    db_name,
    delivered,
    fault_settings,
    many_subscribers,
    monitored_dispatcher,
    tally,
)
from tests.support.smtp import PASSWORD, ServerCertificates, SmtpTestServer


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
    engine: Engine,
    tmp_path: Path,
    smtp_server: SmtpTestServer,
    caplog: pytest.LogCaptureFixture,
    reliability: Reliability,
) -> None:
    settings = fault_settings(tmp_path)
    people = many_subscribers(engine, settings, reliability.size(50, 1000))
    clock = FixedClock(DUE)
    dispatcher = monitored_dispatcher(engine, settings, smtp_server, clock, timeout=2)
    smtp_server.stop()
    first = await dispatcher.run_pass()
    count = len(people)
    assert (first.sent, first.retried, first.failed) == (0, count, 0)
    report = health_report(settings, engine, clock)
    assert report.healthy, "one failed pass is not yet failing (failing_after = 10 minutes)"
    assert report.body["mail"]["consecutive_failures"] == count
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
    assert recovered.sent == count
    assert sorted(delivered(smtp_server)) == people  # 0 lost, 0 duplicated
    assert by_status(engine)["sent"] == count
    assert health_report(settings, engine, clock).healthy
    assert mail_metrics(engine, clock)["feedline_mail_failing"] == 0
    alerts = [
        m.parsed()["Subject"] for m in smtp_server.handler.messages if OPERATOR in m.recipients
    ]
    assert "feedline: mail goes out again" in alerts, "the recovery email reaches the operator"
    reliability.record(
        f"SMTP down for 10 simulated minutes ({db_name(engine)})",
        f"{count:,} reminders, {passes} passes",
        *tally(people, smtp_server),
        f"failing after 10 min, operator alerted; at most {max(tries)} tries each (backoff); "
        "status ok again on recovery",
    )


@pytest.mark.parametrize("reply", ["421 4.7.0 Try again later", "451 4.3.0 Local error"])
async def test_4xx_is_retried_with_backoff_and_sent_once(
    engine: Engine,
    tmp_path: Path,
    smtp_server: SmtpTestServer,
    reply: str,
    reliability: Reliability,
) -> None:
    settings = fault_settings(tmp_path)
    people = many_subscribers(engine, settings, reliability.size(10, 500))
    clock = FixedClock(DUE)
    dispatcher = monitored_dispatcher(engine, settings, smtp_server, clock)
    smtp_server.handler.defer_data(4, reply)
    first = await dispatcher.run_pass()
    assert (first.sent, first.retried) == (len(people) - 4, 4)
    assert health_report(settings, engine, clock).body["mail"]["consecutive_failures"] == 0
    again = await dispatcher.run_pass()
    assert again.sent == 0, "backed off: not due again at once"
    clock.advance(timedelta(minutes=1))
    later = await dispatcher.run_pass()
    await dispatcher.transport.close()
    assert later.sent == 4
    assert sorted(delivered(smtp_server)) == people
    reliability.record(
        f"SMTP {reply[:3]} to DATA ({db_name(engine)})",
        f"{len(people):,} reminders, 4 deferred",
        *tally(people, smtp_server),
        "the 4 retried after 1 min backoff (not at once), then sent",
    )


async def test_connection_dropped_mid_data_is_retried_not_lost(
    engine: Engine, tmp_path: Path, smtp_server: SmtpTestServer, reliability: Reliability
) -> None:
    settings = fault_settings(tmp_path)
    people = many_subscribers(engine, settings, reliability.size(10, 500))
    clock = FixedClock(DUE)
    dispatcher = monitored_dispatcher(engine, settings, smtp_server, clock)
    smtp_server.handler.drop_on_data(2)
    await dispatcher.run_pass()
    clock.advance(timedelta(minutes=5))
    await dispatcher.run_pass()
    await dispatcher.transport.close()
    counts = Counter(delivered(smtp_server))
    assert sorted(counts) == people and set(counts.values()) == {1}
    assert by_status(engine) == {"sent": len(people), "pending": len(people)}  # 1-day ones wait
    reliability.record(
        f"SMTP connection dropped mid-DATA ({db_name(engine)})",
        f"{len(people):,} reminders, 2 drops",
        *tally(people, smtp_server),
        "dropped ones retried after backoff",
    )


async def test_550_for_one_recipient_among_many_bounces_only_that_one(
    engine: Engine, tmp_path: Path, smtp_server: SmtpTestServer, reliability: Reliability
) -> None:
    settings = fault_settings(tmp_path)
    people = many_subscribers(engine, settings, reliability.size(20, 1000))
    smtp_server.handler.reject_recipient(people[7])
    clock = FixedClock(DUE)
    dispatcher = monitored_dispatcher(engine, settings, smtp_server, clock)
    first = await dispatcher.run_pass()
    clock.advance(timedelta(hours=2))
    second = await dispatcher.run_pass()
    await dispatcher.transport.close()
    assert (first.sent, first.failed, second.sent, second.failed) == (len(people) - 1, 1, 0, 0)
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
    lost, duplicated = tally([p for p in people if p != people[7]], smtp_server)
    reliability.record(
        f"SMTP 550 for one recipient among many ({db_name(engine)})",
        f"{len(people):,} reminders, 1 refused",
        lost,
        duplicated,
        "the 550 failed after 1 attempt (not retried), subscriber bounced; status names it",
    )


async def test_tls_handshake_failure_is_transient_and_counted(
    engine: Engine,
    tmp_path: Path,
    tls_certificates: ServerCertificates,
    reliability: Reliability,
) -> None:
    settings = fault_settings(tmp_path, failing_after="1m")
    people = many_subscribers(engine, settings, reliability.size(3, 200))
    count = len(people)
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
        assert (first.sent, first.retried, first.failed) == (0, count, 0)
        assert (second.sent, second.retried, second.failed) == (0, count, 0)
        report = health_report(settings, engine, clock)
        assert not report.healthy
        assert "certificate" in report.body["mail"]["last_error"].lower()
        good = monitored_dispatcher(engine, settings, server, clock)
        clock.advance(timedelta(minutes=5))
        assert (await good.run_pass()).sent == count
        await good.transport.close()
        assert sorted(delivered(server)) == people
        assert health_report(settings, engine, clock).healthy
        reliability.record(
            f"SMTP TLS handshake failure ({db_name(engine)})",
            f"{count:,} reminders, 2 passes refused",
            *tally(people, server),
            "transient; status failing past failing_after (certificate error named); sent "
            "once trusted",
        )
    finally:
        server.stop()


async def test_stalling_server_times_out_and_is_retried(
    engine: Engine, tmp_path: Path, smtp_server: SmtpTestServer, reliability: Reliability
) -> None:
    settings = fault_settings(tmp_path)
    people = many_subscribers(engine, settings, reliability.size(4, 200))
    clock = FixedClock(DUE)
    dispatcher = monitored_dispatcher(engine, settings, smtp_server, clock, timeout=0.5)
    smtp_server.handler.stall_on_data(1)
    first = await dispatcher.run_pass()
    assert (first.sent, first.retried) == (len(people) - 1, 1)
    assert "Timeout" in health_report(settings, engine, clock).body["mail"]["last_error"]
    clock.advance(timedelta(minutes=1))
    assert (await dispatcher.run_pass()).sent == 1
    await dispatcher.transport.close()
    assert sorted(delivered(smtp_server)) == people
    reliability.record(
        f"SMTP server stalls on DATA ({db_name(engine)})",
        f"{len(people):,} reminders, 1 stall",
        *tally(people, smtp_server),
        "timed out after smtp.timeout, retried after backoff; the other sends went on",
    )


async def test_refused_login_is_a_config_error_and_burns_no_attempt(
    engine: Engine, tmp_path: Path, auth_server: SmtpTestServer, reliability: Reliability
) -> None:
    settings = fault_settings(tmp_path)
    people = many_subscribers(engine, settings, reliability.size(5, 500))
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
    fixed = monitored_dispatcher(engine, settings, auth_server, clock, password=PASSWORD)
    assert (await fixed.run_pass()).sent == len(people)
    await fixed.transport.close()
    reliability.record(
        f"SMTP login refused, 535 ({db_name(engine)})",
        f"{len(people):,} reminders",
        *tally(people, auth_server),
        "config error: pass stopped, 0 attempts used, failing at once; all sent once fixed",
    )
