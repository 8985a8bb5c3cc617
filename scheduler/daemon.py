"""The daemon: refresh sources on schedule, send reminders on time, serve the output folder.

Time comes from the app's `Clock` and every wait goes through an injectable `sleep`, so tests
build the daemon in-process and move time instead of waiting for it. Each source has its own
refresh loop on an APScheduler trigger (cron in the source's zone, or an interval): the next
fire time is computed from the clock after each run, so missed runs coalesce into one, one run
of a source is in flight at a time and nothing is dropped after a pause. Each run holds the
source's refresh lease (scheduler/refresh_lease.py), so several daemons on one database
refresh each source once per schedule, not once each. No reminder is held
in memory: the reminder loop wakes at the ledger's next due time (or after `reminders.tick`, or
when a refresh planned something new); the ledger table is the truth, so a killed process
loses nothing.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime, timedelta

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from config.schema import SourceSettings
from feeds.errors import FeedlineError
from feeds.metrics import record_refresh
from feeds.refresh import RefreshReport, render_key
from feeds.store.sources import stored_states
from scheduler.alerts import send_source_alerts
from scheduler.ledger.dispatch import PassSummary, ReminderDispatcher
from scheduler.refresh_lease import RefreshLeases, Take, owner_name
from scheduler.serving import Serving
from scheduler.web import DaemonRoutes
from scheduler.wiring import App

log = logging.getLogger(__name__)

STOP_TIMEOUT = 8.0
#: A trigger's time and the clock's are compared at this resolution (APScheduler's triggers
#: work in whole microseconds; a wake-up a hair early must not skip a run).
EARLY = timedelta(milliseconds=1)
#: A fire time passed by more than this was missed (not just a late wake-up).
LATE = timedelta(seconds=1)

Sleep = Callable[[float], Awaitable[None]]


def trigger_for(source: SourceSettings, start: datetime) -> BaseTrigger:
    if source.schedule:
        return CronTrigger.from_crontab(source.schedule, timezone=source.timezone)
    return IntervalTrigger(
        seconds=source.interval.total_seconds(), start_date=start + source.interval, timezone=UTC
    )


async def refresh_beside_daemons(app: App) -> tuple[RefreshReport, dict[str, Take]]:
    """`feedline once` and `feedline build`: refresh every source that no daemon is
    refreshing now, holding its lease as a daemon does, and release it with the next due
    time of its schedule (so the daemons do not fetch it again before then). Returns the
    report and the sources skipped, with who holds them."""
    leases = RefreshLeases(app.engine, app.clock, app.settings.refresh.lease, owner_name())
    sources = app.settings.sources
    taken, skipped = await leases.take_free([source.id for source in sources])
    try:
        async with leases.holding(taken):
            # With none taken this still publishes files missing from the output folder.
            report = await app.refresher.refresh(taken if skipped else None)
    finally:
        now = app.clock.now()
        for source in sources:
            if source.id in taken:
                next_due = trigger_for(source, now).get_next_fire_time(None, now)
                await asyncio.to_thread(leases.release, source.id, next_due)
    return report, skipped


class Daemon:
    def __init__(
        self,
        app: App,
        dispatcher: ReminderDispatcher,
        routes: DaemonRoutes,
        *,
        serve: bool = True,
        refresh: bool = True,
        send: bool = True,
        sleep: Sleep = asyncio.sleep,
        renew_sleep: Sleep = asyncio.sleep,
        log_format: str = "text",
    ) -> None:
        self.app = app
        self.clock = app.clock
        self.sleep = sleep
        # Renewing a lease waits in real time even when tests move the clock: a refresh takes
        # real time, and the lease must outlast it.
        self.renew_sleep = renew_sleep
        self.leases = RefreshLeases(app.engine, app.clock, app.settings.refresh.lease, owner_name())
        self.refreshing = refresh
        self.sending = send
        self.dispatcher = dispatcher
        self.routes = routes
        self.serve = serve
        self.tick = app.settings.reminders.tick
        self.wake = asyncio.Event()
        self.index_wake = asyncio.Event()  # a refresh rendered the index: new change time
        self.stopped = asyncio.Event()
        self.server: Serving | None = None
        self.log_format = log_format  # of the serving processes ([server] processes > 1)
        self._signals = 0

    def stop(self) -> None:
        """Finish the message in flight and stop (what the first SIGTERM or SIGINT does)."""
        self.dispatcher.stopping.set()
        self.stopped.set()

    async def refresh(self, source_id: str | None = None) -> None:
        """Refresh one source (or all); the caller holds the lease(s)."""
        await self._refresh(None if source_id is None else [source_id])

    async def _refresh(self, only: Sequence[str] | None) -> None:
        started = time.perf_counter()
        try:
            report = await self.app.refresher.refresh(only)
        except FeedlineError as error:  # e.g. output_dir unwritable: say so, keep running
            log.error("refresh of %s failed: %s", ", ".join(only or ["all sources"]), error)
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
            self.index_wake.set()
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
            summary: PassSummary | None
            try:
                summary = await self.dispatcher.run_pass()
            except Exception:
                log.exception("reminder pass failed; retrying after the tick")
                summary = None
            if summary and (summary.sent or summary.retried or summary.failed or summary.expired):
                log.info("reminders: %s", summary.line())
            delay = self.tick
            if summary and summary.next_due is not None:
                delay = min(delay, max(summary.next_due - self.clock.now(), timedelta(0)))
            self.wake.clear()
            await self._pause(delay, wake=self.wake)

    async def refresh_loop(self, source: SourceSettings, trigger: BaseTrigger) -> None:
        """Refresh `source` at each fire time of `trigger`, by the clock, until stopped."""
        due = trigger.get_next_fire_time(None, self.clock.now())
        while due is not None and not self.stopped.is_set():
            now = self.clock.now()
            if due - now > EARLY:
                await self._pause(due - now)
                continue  # slept (or stopped): look at the clock again
            # Coalesce: fire times missed while a run ran long (or the machine slept) make this
            # one run, and the next is counted from now.
            previous = due if now - due < LATE else now
            take = await asyncio.to_thread(self.leases.take, source.id)
            if take.taken:
                async with self._holding([source.id]):
                    await self.refresh(source.id)
                due = trigger.get_next_fire_time(previous, self.clock.now())
                await asyncio.to_thread(self.leases.release, source.id, due)
                continue
            # Another daemon refreshes it now, or did so for this fire time: follow the shared
            # schedule (its due time), and look again when a holder's lease runs out.
            log.debug("refresh of %s skipped: %s", source.id, take)
            due = trigger.get_next_fire_time(previous, self.clock.now())
            for shared in (take.due, take.held_until):
                if shared is not None and due is not None and shared > self.clock.now():
                    due = min(due, shared)

    def _holding(self, source_ids: Sequence[str]) -> AbstractAsyncContextManager[None]:
        """Renew the leases of `source_ids` every third of their length until the block ends."""
        return self.leases.holding(source_ids, self.renew_sleep)

    async def index_loop(self) -> None:
        """Re-render the index (and calendar) when a countdown on it moves on or a deadline
        closes, not only when a feed changes; at least every `reminders.tick` x 60."""
        publisher = self.app.refresher.publisher
        while not self.stopped.is_set():
            delay = self.tick * 60
            changes_at = publisher.index_changes_at
            if changes_at is not None:
                delay = min(delay, max(changes_at - self.clock.now(), timedelta(seconds=1)))
            self.index_wake.clear()
            await self._pause(delay, wake=self.index_wake)
            if self.stopped.is_set():
                return
            if self.index_wake.is_set():
                continue  # a refresh just rendered it: only the next change time is new
            try:
                written = await publisher.publish_index()
            except FeedlineError as error:
                log.error("re-rendering the index failed: %s", error)
                continue
            if written:
                log.info("published %s", ", ".join(written))

    async def _pause(self, delay: timedelta, *, wake: asyncio.Event | None = None) -> None:
        """Sleep `delay` through the injected sleep, or less when stopped (or woken)."""
        waits = [
            asyncio.ensure_future(self.sleep(delay.total_seconds())),
            asyncio.ensure_future(self.stopped.wait()),
        ]
        if wake is not None:
            waits.append(asyncio.ensure_future(wake.wait()))
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in waits:
                task.cancel()
            await asyncio.gather(*waits, return_exceptions=True)

    def _on_signal(self, signum: int) -> None:
        self._signals += 1
        if self._signals > 1:
            log.warning("second signal: exiting at once (claimed reminders return after the lease)")
            logging.shutdown()
            os._exit(128 + signum)
        log.info("signal %s: finishing the message in flight and stopping", signum)
        self.stop()

    async def run(self, *, handle_signals: bool = True) -> None:
        loop = asyncio.get_running_loop()
        if handle_signals:
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(signum, self._on_signal, signum)
        settings = self.app.settings
        if self.serve:
            settings.site.output_dir.mkdir(parents=True, exist_ok=True)
            self.server = Serving(
                self.app.loaded, self.routes, self.clock, log_format=self.log_format
            )
            await self.server.start()
            log.info(
                "serving %s on %s (%d process(es))",
                settings.site.output_dir,
                self.server.url,
                self.server.count,
            )
        roles = {"refresh": self.refreshing, "send": self.sending, "serve": self.serve}
        log.info("daemon %s: %s", self.leases.owner, ", ".join(r for r, on in roles.items() if on))
        tasks: list[asyncio.Task[None]] = []
        loop_task: asyncio.Task[None] | None = None
        try:
            if self.refreshing:
                await self._start_refreshes(tasks)
            if self.sending:  # after the first refresh, which may plan what is due now
                loop_task = asyncio.create_task(self.reminder_loop())
            await self.stopped.wait()
        finally:
            await self._shutdown(loop_task, tasks)

    async def _start_refreshes(self, tasks: list[asyncio.Task[None]]) -> None:
        """Every source once at start, then on its schedule. Not at start: a source another
        daemon holds, or one refreshed for the current schedule with these same settings
        (a second daemon starting, or a restart, does not fetch it again before it is due)."""
        sources = self.app.settings.sources
        start = self.clock.now()
        triggers = {source.id: trigger_for(source, start) for source in sources}
        fresh = await asyncio.to_thread(self._fresh_sources, start)
        taken = [
            source.id
            for source in sources
            if source.id not in fresh
            and (await asyncio.to_thread(self.leases.take, source.id, at_start=True)).taken
        ]
        async with self._holding(taken):
            # With none taken this still publishes files missing from the output folder.
            await self._refresh(None if len(taken) == len(sources) else taken)
        for source_id in taken:
            first = triggers[source_id].get_next_fire_time(None, self.clock.now())
            await asyncio.to_thread(self.leases.release, source_id, first)
        tasks += [
            asyncio.create_task(self.refresh_loop(source, triggers[source.id]))
            for source in sources
        ]
        tasks.append(asyncio.create_task(self.index_loop()))

    def _fresh_sources(self, now: datetime) -> set[str]:
        """Sources whose shared next refresh is still ahead, stored with the settings they
        have now, whose files are in the output folder."""
        settings = self.app.settings
        refresher = self.app.refresher
        ids = [source.id for source in settings.sources]
        due = self.leases.due_times(ids)
        with self.app.engine.connect() as conn:
            stored = stored_states(conn, ids)
        return {
            source.id
            for source in settings.sources
            if source.id in due
            and due[source.id] > now
            and source.id in stored
            and stored[source.id].render_key == render_key(settings, source)
            and refresher.publisher.has_files(source.id)
        }

    async def _shutdown(
        self, loop_task: asyncio.Task[None] | None, refreshes: list[asyncio.Task[None]]
    ) -> None:
        for task in refreshes:
            task.cancel()
        await asyncio.gather(*refreshes, return_exceptions=True)
        if self.refreshing:
            await asyncio.to_thread(self.leases.release_all)
        if loop_task is not None:
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
