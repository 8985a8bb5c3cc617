"""Through the ledger to a real SMTP server: the weekly digest (once per subscriber and
week, new consultations marked) and a late reminder that says the real time left."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, select

from config.schema import Settings
from feeds.clock import FixedClock
from feeds.store.tables import reminders
from scheduler.ledger.subscribers import DigestChoice
from scheduler.subscriptions.digest import current_period
from tests.ledger.helpers import (
    end_of_day,
    make_settings,
    smtp_dispatcher,
    store_deadline,
    subscribe,
)
from tests.support.smtp import SmtpTestServer

MONDAY_9 = datetime(2023, 2, 6, 8, 30, tzinfo=UTC)  # Monday 09:30 Brussels time


def digest_settings(tmp_path: Path) -> Settings:
    base = make_settings(tmp_path).model_dump(by_alias=True)
    base["subscriptions"] = {"digest_day": "monday", "digest_hour": 9}
    return Settings.model_validate(base)


def test_periods_follow_the_wall_clock_across_dst() -> None:
    settings = digest_settings(Path("/tmp")).subscriptions
    period = current_period(MONDAY_9, settings)
    assert period.start == datetime(2023, 2, 6, 8, tzinfo=UTC)
    assert period.end == datetime(2023, 2, 13, 8, tzinfo=UTC)
    before = current_period(datetime(2023, 2, 6, 7, 59, tzinfo=UTC), settings)
    assert before.end == period.start
    spring = current_period(datetime(2023, 3, 27, 12, tzinfo=UTC), settings)
    assert spring.start == datetime(2023, 3, 27, 7, tzinfo=UTC)  # 09:00 CEST
    assert spring.previous_start == datetime(2023, 3, 20, 8, tzinfo=UTC)  # 09:00 CET


async def test_weekly_digest_through_the_ledger(
    engine: Engine, tmp_path: Path, smtp_server: SmtpTestServer
) -> None:
    settings = digest_settings(tmp_path)
    store_deadline(
        engine, settings, end_of_day(date(2023, 2, 17)), now=datetime(2023, 1, 5, tzinfo=UTC)
    )
    store_deadline(
        engine,
        settings,
        end_of_day(date(2023, 3, 3)),
        title="Call for evidence on lake fishing",
        label="call for evidence on lake fishing",
        now=datetime(2023, 2, 2, tzinfo=UTC),  # since last week's digest: new
    )
    subscribe(
        engine, "digest@example.org", datetime(2023, 1, 2, tzinfo=UTC), digest=DigestChoice.ONLY
    )
    subscribe(
        engine, "both@example.org", datetime(2023, 1, 2, tzinfo=UTC), digest=DigestChoice.ALSO
    )
    subscribe(engine, "none@example.org", datetime(2023, 1, 2, tzinfo=UTC))
    clock = FixedClock(MONDAY_9)
    dispatcher = smtp_dispatcher(engine, settings, smtp_server, clock)
    first = await dispatcher.run_pass()
    clock.advance(timedelta(hours=2))
    second = await dispatcher.run_pass()
    await dispatcher.transport.close()
    digests = [
        m
        for m in smtp_server.handler.messages
        if "open consultations" in str(m.parsed()["Subject"])
    ]
    assert sorted(m.recipients[0] for m in digests) == ["both@example.org", "digest@example.org"]
    assert (first.sent, second.sent) == (2, 0)  # never twice
    message = digests[0].parsed()
    assert message["Subject"] == "2 open consultations this week"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = message.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert text.index("Consultation on river water quality") < text.index(
        "[NEW] Call for evidence on lake fishing"
    )
    assert (
        "Closes in 11 days. The deadline is Friday 17 February 2023, 23:59 Brussels time." in text
    )
    assert "[NEW] Consultation" not in text
    assert "/manage?token=" in text and "/deadlines/" in text
    html = message.get_body(("html",)).get_content()
    assert "NEW</span>" in html and 'style="' in html
    with engine.connect() as conn:
        rows = (
            conn.execute(select(reminders.c.status).where(reminders.c.kind == "digest"))
            .scalars()
            .all()
        )
    assert rows == ["sent", "sent"]
    assert not any(
        m.recipients == ["digest@example.org"] and "Closes in" in str(m.parsed()["Subject"])
        for m in smtp_server.handler.messages
    )


async def test_a_digest_not_sent_within_its_week_expires(
    engine: Engine, tmp_path: Path, smtp_server: SmtpTestServer
) -> None:
    settings = digest_settings(tmp_path)
    subscribe(
        engine, "digest@example.org", datetime(2023, 1, 2, tzinfo=UTC), digest=DigestChoice.ONLY
    )
    clock = FixedClock(MONDAY_9)
    dispatcher = smtp_dispatcher(engine, settings, smtp_server, clock)
    dispatcher.plan_all()
    clock.advance(timedelta(days=7, minutes=1))  # the daemon was down all week
    summary = await dispatcher.run_pass()
    await dispatcher.transport.close()
    assert summary.sent == 1  # this week's, not last week's
    with engine.connect() as conn:
        statuses = (
            conn.execute(
                select(reminders.c.status)
                .where(reminders.c.kind == "digest")
                .order_by(reminders.c.id)
            )
            .scalars()
            .all()
        )
    assert statuses == ["expired", "sent"]


async def test_a_subscriber_added_27_hours_before_is_told_the_truth(
    engine: Engine, tmp_path: Path, smtp_server: SmtpTestServer
) -> None:
    settings = make_settings(tmp_path)
    closes = end_of_day(date(2023, 2, 17))
    store_deadline(engine, settings, closes)
    now = closes - timedelta(hours=27)
    subscribe(engine, "late@example.org", now)
    dispatcher = smtp_dispatcher(engine, settings, smtp_server, FixedClock(now))
    summary = await dispatcher.run_pass()
    await dispatcher.transport.close()
    assert summary.sent == 1
    message = smtp_server.handler.messages[0].parsed()
    subject = str(message["Subject"])
    assert subject == (
        "Closes tomorrow, 17 February, 23:59 Brussels time: Consultation on river water quality"
    )
    assert "7 days" not in subject
    text = message.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert text.startswith("Consultation on river water quality\n\nCloses tomorrow, 17 February")
    assert "7 days" not in text
    html = message.get_body(("html",)).get_content()
    assert "Add to calendar" in html and "max-width:560px" in html and "color-scheme" in html
    assert [p.get_content_type() for p in message.iter_attachments()] == ["text/calendar"]
