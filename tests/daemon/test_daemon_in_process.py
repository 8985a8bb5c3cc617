"""The daemon built in-process on moved time: refreshes on schedule, reminders on time, stop.

No test here waits for real time: the daemon's clock is a `FixedClock` and its sleep returns
when the test moves the clock past it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from config.loading import load_settings
from scheduler.daemon import Daemon
from scheduler.reminders_app import build_dispatcher, ledger_hook, signing_key
from scheduler.web import DaemonRoutes
from scheduler.wiring import build_app
from tests.daemon.configs import DUE_7D, PAGE, write_config
from tests.daemon.manual_time import ManualTime
from tests.foundation.helpers import run_cli
from tests.support.smtp import SmtpTestServer, free_port

#: Loops asleep when the daemon idles with one source: its refresh loop, the reminder loop and
#: the index re-render loop.
IDLE = 3


class CountingDaemon(Daemon):
    """The real daemon, counting the refreshes its schedule starts."""

    refreshes: list[datetime]

    async def refresh(self, source_id: str | None = None) -> None:
        if source_id is not None:
            self.refreshes.append(self.clock.now())
        await super().refresh(source_id)


@dataclass
class Running:
    daemon: CountingDaemon
    time: ManualTime
    task: asyncio.Task[None]
    folder: Path

    def feed(self) -> str:
        return (self.folder / "public" / "all.rss").read_text()


async def start(
    config: Path, at: datetime, *, refresh: bool = True, send: bool = True, idle: int = IDLE
) -> Running:
    time = ManualTime(at)
    loaded = load_settings(config, env={})
    clock = time.clock
    app = build_app(loaded, clock, on_deadlines=ledger_hook(loaded.settings, clock), workers=False)
    dispatcher = build_dispatcher(app.settings, app.engine, clock)
    routes = DaemonRoutes(app.settings, app.engine, clock, signing_key(app.settings))
    daemon = CountingDaemon(
        app, dispatcher, routes, serve=False, refresh=refresh, send=send, sleep=time.sleep
    )
    daemon.refreshes = []

    async def run() -> None:
        async with app:
            await daemon.run(handle_signals=False)

    running = Running(daemon, time, asyncio.create_task(run()), config.parent)
    await time.settle(idle)
    return running


@pytest.fixture
async def stop_after() -> AsyncIterator[list[Running]]:
    started: list[Running] = []
    yield started
    for running in started:
        running.daemon.stop()
        await asyncio.wait_for(running.task, timeout=30)


async def test_a_due_reminder_goes_out_when_time_reaches_it(
    tmp_path: Path, smtp_server: SmtpTestServer, stop_after: list[Running]
) -> None:
    config = write_config(tmp_path, smtp_server.port, free_port())
    assert run_cli("subscribers", "add", "ana@example.org", config=config).exit_code == 0
    due = datetime.fromisoformat(DUE_7D)
    running = await start(config, due - timedelta(seconds=3))
    stop_after.append(running)
    assert smtp_server.handler.messages == []
    running.time.advance(timedelta(seconds=2))
    await running.time.settle(IDLE)
    assert smtp_server.handler.messages == []
    running.time.advance(timedelta(seconds=1))
    await running.time.settle(IDLE)
    assert len(smtp_server.handler.messages) == 1
    assert smtp_server.handler.messages[0].parsed()["Subject"].startswith("Closes in 7 days")


async def test_sources_refresh_on_their_interval_and_missed_runs_coalesce(
    tmp_path: Path, smtp_server: SmtpTestServer, stop_after: list[Running]
) -> None:
    config = write_config(tmp_path, smtp_server.port, free_port(), every="30m")
    at = datetime.fromisoformat("2024-03-01T10:00:00+00:00")
    running = await start(config, at)
    stop_after.append(running)
    assert "Bridge reopens" not in running.feed()
    (tmp_path / "news.txt").write_text(
        "Bridge reopens after repairs\n\nThe old bridge reopened today.\n\n" + PAGE
    )
    running.time.advance(timedelta(minutes=29))
    await running.time.settle(IDLE)
    assert running.daemon.refreshes == []
    late = timedelta(milliseconds=500)  # a sleep that wakes a little late still runs
    running.time.advance(timedelta(minutes=1) + late)
    await running.time.settle(IDLE)
    assert running.daemon.refreshes == [at + timedelta(minutes=30) + late]
    assert "Bridge reopens" in running.feed()
    running.time.advance(timedelta(hours=3))  # six fire times pass while "asleep": one run
    await running.time.settle(IDLE)
    assert running.daemon.refreshes[1:] == [at + timedelta(hours=3, minutes=30) + late]
    running.time.advance(timedelta(minutes=29))
    await running.time.settle(IDLE)
    assert len(running.daemon.refreshes) == 2
    running.time.advance(timedelta(minutes=1))  # the next counts from the coalesced run
    await running.time.settle(IDLE)
    assert running.daemon.refreshes[2:] == [at + timedelta(hours=4) + late]


async def test_a_cron_schedule_runs_in_the_source_zone(
    tmp_path: Path, smtp_server: SmtpTestServer, stop_after: list[Running]
) -> None:
    config = write_config(tmp_path, smtp_server.port, free_port())
    text = config.read_text().replace('every = "30m"', 'schedule = "0 6 * * *"')
    config.write_text(text.replace('link = "https', 'timezone = "Europe/Brussels"\nlink = "https'))
    at = datetime.fromisoformat("2024-03-01T04:00:00+00:00")  # 05:00 in Brussels
    running = await start(config, at)
    stop_after.append(running)
    running.time.advance(timedelta(minutes=59))
    await running.time.settle(IDLE)
    assert running.daemon.refreshes == []
    running.time.advance(timedelta(minutes=1))
    await running.time.settle(IDLE)
    assert running.daemon.refreshes == [datetime.fromisoformat("2024-03-01T06:00:00+01:00")]


async def test_stop_ends_every_loop_without_waiting_for_the_tick(
    tmp_path: Path, smtp_server: SmtpTestServer
) -> None:
    config = write_config(tmp_path, smtp_server.port, free_port())
    running = await start(config, datetime.fromisoformat("2024-03-01T10:00:00+00:00"))
    running.daemon.stop()
    await asyncio.wait_for(running.task, timeout=30)
    assert running.time.sleeping == 0
    assert running.daemon.dispatcher.stopping.is_set()


async def test_a_refresh_that_plans_a_due_reminder_wakes_the_reminder_loop(
    tmp_path: Path, smtp_server: SmtpTestServer, stop_after: list[Running]
) -> None:
    config = write_config(tmp_path, smtp_server.port, free_port())
    config.write_text(config.read_text().replace('lease = "5m"', 'lease = "5m"\ntick = "1d"'))
    rest = PAGE.split("Minister visits", 1)[1]
    (tmp_path / "news.txt").write_text("News\n\nMinister visits" + rest)
    assert run_cli("subscribers", "add", "ana@example.org", config=config).exit_code == 0
    running = await start(config, datetime.fromisoformat("2024-04-24T10:00:00+02:00"))
    stop_after.append(running)
    assert smtp_server.handler.messages == []
    (tmp_path / "news.txt").write_text(PAGE)  # a consultation closing on 30 April appears
    running.time.advance(timedelta(minutes=30))  # the next refresh; the tick is a day away
    await running.time.settle(IDLE)
    assert len(smtp_server.handler.messages) == 1
    assert smtp_server.handler.messages[0].parsed()["Subject"].startswith("Closes in")


async def start_beside(config: Path, time: ManualTime, sleepers: int) -> Running:
    """Another daemon on the same settings, database and clock as one already running."""
    loaded = load_settings(config, env={})
    clock = time.clock
    app = build_app(loaded, clock, on_deadlines=ledger_hook(loaded.settings, clock), workers=False)
    dispatcher = build_dispatcher(app.settings, app.engine, clock)
    routes = DaemonRoutes(app.settings, app.engine, clock, signing_key(app.settings))
    daemon = CountingDaemon(app, dispatcher, routes, serve=False, sleep=time.sleep)
    daemon.refreshes = []

    async def run() -> None:
        async with app:
            await daemon.run(handle_signals=False)

    running = Running(daemon, time, asyncio.create_task(run()), config.parent)
    await time.settle(sleepers)
    return running


async def test_two_daemons_on_one_database_refresh_a_source_once_per_fire_time(
    tmp_path: Path, smtp_server: SmtpTestServer, stop_after: list[Running]
) -> None:
    config = write_config(tmp_path, smtp_server.port, free_port(), every="30m")
    at = datetime.fromisoformat("2024-03-01T10:00:00+00:00")
    first = await start(config, at)
    stop_after.append(first)
    time = first.time
    time.advance(timedelta(minutes=10))  # the second starts later: its own trigger is offset
    await time.settle(IDLE)
    second = await start_beside(config, time, 2 * IDLE)
    stop_after.append(second)
    for _ in range(11):  # to noon in steps of ten minutes (each fire time on the dot)
        time.advance(timedelta(minutes=10))
        await time.settle(2 * IDLE)
    runs = sorted(first.daemon.refreshes + second.daemon.refreshes)
    # Every 30 minutes from the first daemon's start, whichever daemon's turn it was: the
    # second fetched nothing at its start (the source was fresh) and then followed the
    # shared due time. Each daemon alone would make four runs by noon (seven together).
    assert runs == [at + timedelta(minutes=30 * n) for n in range(1, 5)]


async def test_a_send_only_daemon_sends_and_never_refreshes(
    tmp_path: Path, smtp_server: SmtpTestServer, stop_after: list[Running]
) -> None:
    config = write_config(tmp_path, smtp_server.port, free_port())
    assert run_cli("subscribers", "add", "ana@example.org", config=config).exit_code == 0
    due = datetime.fromisoformat(DUE_7D)
    day_before = (due - timedelta(days=1)).isoformat()
    built_by = await asyncio.to_thread(run_cli, "build", config=config, now=day_before)
    assert built_by.exit_code == 0, built_by.output
    feed = tmp_path / "public" / "all.rss"
    built = feed.stat().st_mtime_ns
    running = await start(config, due - timedelta(seconds=3), refresh=False, idle=1)
    stop_after.append(running)
    running.time.advance(timedelta(hours=1))  # two fire times of the source's schedule
    await running.time.settle(1)  # the reminder loop alone: no refresh or index loop
    assert running.daemon.refreshes == []
    assert feed.stat().st_mtime_ns == built
    assert len(smtp_server.handler.messages) == 1


async def test_a_refresh_only_daemon_refreshes_and_sends_nothing(
    tmp_path: Path, smtp_server: SmtpTestServer, stop_after: list[Running]
) -> None:
    config = write_config(tmp_path, smtp_server.port, free_port())
    assert run_cli("subscribers", "add", "ana@example.org", config=config).exit_code == 0
    due = datetime.fromisoformat(DUE_7D)
    running = await start(config, due - timedelta(minutes=1), send=False, idle=2)
    stop_after.append(running)
    running.time.advance(timedelta(minutes=31))
    await running.time.settle(2)  # the refresh and index loops
    assert len(running.daemon.refreshes) == 1
    assert smtp_server.handler.messages == []


def test_an_unknown_role_is_a_usage_error(tmp_path: Path) -> None:
    config = write_config(tmp_path, 2525, free_port())
    result = run_cli("run", "--role", "refresh,mail", config=config)
    assert result.exit_code == 2
    assert "'mail' is not a role; give some of refresh, send, serve" in result.output
