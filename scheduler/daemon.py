"""The daemon: refresh sources on schedule, send reminders on time, serve the output folder.

APScheduler holds no reminder: its jobs are the per-source refreshes (in-memory job store,
coalesced, one instance at a time, no misfire grace so nothing is dropped after a pause). The
reminder loop wakes at the ledger's next due time (or after `reminders.tick`, or when a
refresh planned something new); the ledger table is the truth, so a killed process loses
nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from config.durations import parse_duration
from config.schema import SourceSettings
from feeds.errors import FeedlineError
from feeds.metrics import record_refresh
from feeds.serve.app import build_app as build_web_app
from feeds.serve.server import FeedServer
from scheduler.alerts import send_source_alerts
from scheduler.ledger.dispatch import ReminderDispatcher
from scheduler.web import DaemonRoutes
from scheduler.wiring import App

log = logging.getLogger(__name__)

STOP_TIMEOUT = 8.0


def trigger_for(source: SourceSettings) -> BaseTrigger:
    if source.schedule:
        return CronTrigger.from_crontab(source.schedule, timezone=source.timezone)
    return IntervalTrigger(seconds=source.interval.total_seconds(), timezone=UTC)


class Daemon:
    def __init__(
        self, app: App, dispatcher: ReminderDispatcher, routes: DaemonRoutes, *, serve: bool = True
    ) -> None:
        self.app = app
        self.dispatcher = dispatcher
        self.routes = routes
        self.serve = serve
        self.tick = parse_duration(app.settings.reminders.tick)
        self.wake = asyncio.Event()
        self.stopped = asyncio.Event()
        self.server: FeedServer | None = None
        self.scheduler = AsyncIOScheduler(
            timezone=UTC,
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )
        self._signals = 0

    async def refresh(self, source_id: str | None = None) -> None:
        started = time.perf_counter()
        try:
            report = await self.app.refresher.refresh(None if source_id is None else [source_id])
        except FeedlineError as error:  # e.g. output_dir unwritable: say so, keep running
            log.error("refresh %s failed: %s", source_id or "of all sources", error)
            return
        record_refresh(
            ((o.source_id, o.status) for o in report.outcomes), time.perf_counter() - started
        )
        for outcome in report.outcomes:
            if outcome.status == "failed":
                log.error(
                    "refresh %s failed (%d in a row): %s",
                    outcome.source_id,
                    outcome.consecutive_failures,
                    outcome.error,
                )
            elif outcome.status == "ok":
                log.info(
                    "refreshed %s: %d items, %d new, %d updated, %d deadline change(s)",
                    outcome.source_id,
                    outcome.entries,
                    outcome.new,
                    outcome.updated,
                    len(outcome.deadline_changes),
                )
            for problem in outcome.problems:
                log.warning("%s", problem)
        if report.files_written:
            log.info("published %s", ", ".join(report.files_written))
        await send_source_alerts(
            self.app.settings,
            self.app.engine,
            self.dispatcher.transport,
            self.app.clock,
            report.outcomes,
        )
        if any(o.deadline_changes for o in report.outcomes):
            self.wake.set()

    async def reminder_loop(self) -> None:
        while not self.stopped.is_set():
            try:
                summary = await self.dispatcher.run_pass()
            except Exception:
                log.exception("reminder pass failed; retrying after the tick")
                summary = None
            if summary and (summary.sent or summary.retried or summary.failed or summary.expired):
                log.info("reminders: %s", summary.line())
            delay = self.tick
            if summary and summary.next_due is not None:
                delay = min(delay, max(summary.next_due - self.app.clock.now(), timedelta(0)))
            self.wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake_or_stop(), timeout=delay.total_seconds())

    async def _wake_or_stop(self) -> None:
        stop = asyncio.ensure_future(self.stopped.wait())
        wake = asyncio.ensure_future(self.wake.wait())
        try:
            await asyncio.wait({stop, wake}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
            wake.cancel()

    def _on_signal(self, signum: int) -> None:
        self._signals += 1
        if self._signals > 1:
            log.warning("second signal: exiting at once (claimed reminders return after the lease)")
            logging.shutdown()
            os._exit(128 + signum)
        log.info("signal %s: finishing the message in flight and stopping", signum)
        self.dispatcher.stopping.set()
        self.stopped.set()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self._on_signal, signum)
        settings = self.app.settings
        if self.serve:
            settings.site.output_dir.mkdir(parents=True, exist_ok=True)
            web_app = build_web_app(
                settings.site.output_dir,
                cache_max_age=settings.server.cache_max_age,
                extra_routes=self.routes.add_to,
            )
            self.server = FeedServer(web_app)
            await self.server.start(settings.server.host, settings.server.port)
            log.info("serving %s on %s", settings.site.output_dir, self.server.url)
        await self.refresh()  # everything once at start, then on each source's schedule
        start = datetime.now(UTC)
        for source in settings.sources:
            trigger = trigger_for(source)
            self.scheduler.add_job(
                self.refresh,
                trigger,
                args=[source.id],
                id=f"refresh:{source.id}",
                name=f"refresh {source.id}",
                next_run_time=trigger.get_next_fire_time(None, start),
            )
        self.scheduler.start()
        loop_task = asyncio.create_task(self.reminder_loop())
        await self.stopped.wait()
        await self._shutdown(loop_task)

    async def _shutdown(self, loop_task: asyncio.Task[None]) -> None:
        self.scheduler.shutdown(wait=False)
        try:
            await asyncio.wait_for(loop_task, timeout=STOP_TIMEOUT)
        except TimeoutError:
            log.warning("reminder pass did not finish in %.0fs; leaving it", STOP_TIMEOUT)
            loop_task.cancel()
        released = self.dispatcher.release()
        if released:
            log.info("released %d claimed reminder(s)", released)
        await self.dispatcher.transport.close()
        if self.server is not None:
            await self.server.stop()
        log.info("stopped")
