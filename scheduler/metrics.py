"""`GET /metrics`: the process's metrics plus figures read from the database at scrape time.

Items, source successes, open deadlines and the reminder ledger are shared by every daemon on
one database, so they are read from it on each scrape (a custom collector) instead of being
counted in one process: every daemon reports the same truth, and a daemon that only serves
still reports the ledger. Sent and failed reminders are counters (rows only move forward to
those states); the lateness histogram covers every sent reminder (sent_at - due_at).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from aiohttp import web
from prometheus_client import REGISTRY
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector
from sqlalchemy import ColumnElement, Connection, Engine, Float, case, cast, func, select
from sqlalchemy.exc import SQLAlchemyError

from config.schema import Settings
from feeds.clock import Clock
from feeds.metrics_shared import SharedMetrics
from feeds.serve.instrument import instrument
from feeds.store.tables import deadlines, items, reminders, sources
from scheduler.ledger import claims
from scheduler.mail_state import MailHealth, read_health

log = logging.getLogger(__name__)

LATENESS_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 300.0, 900.0, 3600.0, 14400.0, 86400.0)


@dataclass(frozen=True, slots=True)
class LedgerFigures:
    """What the database says, for the configured sources."""

    items: dict[str, int]
    last_success: dict[str, float]  # POSIX seconds; sources never read are left out
    deadlines_open: int
    reminders: dict[str, int]  # rows by status
    lateness_counts: tuple[int, ...]  # cumulative, one per LATENESS_BUCKETS bound
    lateness_count: int
    lateness_sum: float


def _seconds_late(conn: Connection) -> ColumnElement[float]:
    sent_at, due_at = reminders.c.sent_at, reminders.c.due_at
    if conn.dialect.name == "postgresql":
        return cast(func.extract("epoch", sent_at - due_at), Float)
    return (func.julianday(sent_at) - func.julianday(due_at)) * 86400.0


def ledger_figures(conn: Connection, now: datetime, source_ids: Sequence[str]) -> LedgerFigures:
    """One read of everything the collector reports (a handful of aggregate queries)."""
    counted = dict.fromkeys(source_ids, 0)
    for source_id, total in conn.execute(
        select(items.c.source_id, func.count())
        .where(items.c.source_id.in_(list(source_ids)))
        .group_by(items.c.source_id)
    ):
        counted[source_id] = int(total)
    last_success = {
        row.id: row.last_success.timestamp()
        for row in conn.execute(
            select(sources.c.id, sources.c.last_success).where(
                sources.c.id.in_(list(source_ids)), sources.c.last_success.is_not(None)
            )
        )
    }
    deadlines_open = conn.execute(
        select(func.count()).where(deadlines.c.active.is_(True), deadlines.c.closes_at > now)
    ).scalar_one()
    by_status = {
        str(status): int(total)
        for status, total in conn.execute(
            select(reminders.c.status, func.count()).group_by(reminders.c.status)
        )
    }
    # Lateness worked out once per sent row (a materialised CTE: half the time of repeating
    # the expression in each bucket on 100,000 rows), then summed into each bucket.
    sent = (
        select(_seconds_late(conn).label("late"))
        .where(reminders.c.status == claims.SENT, reminders.c.sent_at.is_not(None))
        .cte("sent")
    )
    if conn.dialect.name == "postgresql" or sqlite3.sqlite_version_info >= (3, 35):
        sent = sent.prefix_with("MATERIALIZED")
    late = sent.c.late
    row = conn.execute(
        select(
            func.count(),
            func.coalesce(func.sum(late), 0.0),
            *(
                func.coalesce(func.sum(case((late <= bound, 1), else_=0)), 0)
                for bound in LATENESS_BUCKETS
            ),
        ).select_from(sent)
    ).one()
    return LedgerFigures(
        items=counted,
        last_success=last_success,
        deadlines_open=int(deadlines_open),
        reminders=by_status,
        lateness_counts=tuple(int(n) for n in row[2:]),
        lateness_count=int(row[0]),
        lateness_sum=float(row[1]),
    )


class LedgerCollector(Collector):
    """Reads `ledger_figures` on each collect; a database that cannot be read is `up 0`."""

    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        source_ids: Sequence[str],
        mail_failing_after: timedelta = timedelta(minutes=10),
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.source_ids = list(source_ids)
        self.mail_failing_after = mail_failing_after

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "feedline_database_up", "1 when the database could be read for this scrape."
        )
        try:
            with self.engine.connect() as conn:
                figures = ledger_figures(conn, self.clock.now(), self.source_ids)
                mail = read_health(conn)
        except SQLAlchemyError as error:
            log.warning("metrics: cannot read the database: %s", str(error).splitlines()[0])
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from _families(figures)
        yield from _mail_families(mail, self.clock.now(), self.mail_failing_after)


def _mail_families(mail: MailHealth, now: datetime, after: timedelta) -> Iterable[Metric]:
    yield GaugeMetricFamily(
        "feedline_mail_failing",
        "1 when mail has failed for longer than [mail] failing_after or the login is refused.",
        1 if mail.failing(now, after) else 0,
    )
    yield GaugeMetricFamily(
        "feedline_mail_consecutive_failures",
        "Transient mail failures in a row (refused, timeouts, 4xx) since the last success.",
        mail.failures,
    )


def _families(figures: LedgerFigures) -> Iterable[Metric]:
    stored = GaugeMetricFamily("feedline_items", "Items stored per source.", labels=["source"])
    for source_id, total in figures.items.items():
        stored.add_metric([source_id], total)
    yield stored
    success = GaugeMetricFamily(
        "feedline_source_last_success_timestamp_seconds",
        "When each source was last read successfully (POSIX seconds).",
        labels=["source"],
    )
    for source_id, when in figures.last_success.items():
        success.add_metric([source_id], when)
    yield success
    yield GaugeMetricFamily(
        "feedline_deadlines_open", "Active deadlines that have not closed.", figures.deadlines_open
    )
    yield GaugeMetricFamily(
        "feedline_reminders_pending",
        "Reminders waiting to be sent (pending, or claimed and sending).",
        figures.reminders.get(claims.PENDING, 0) + figures.reminders.get(claims.SENDING, 0),
    )
    yield CounterMetricFamily(
        "feedline_reminders_sent",
        "Reminders sent (rows in the ledger).",
        figures.reminders.get(claims.SENT, 0),
    )
    yield CounterMetricFamily(
        "feedline_reminders_failed",
        "Reminders that failed for good (rows in the ledger).",
        figures.reminders.get(claims.FAILED, 0),
    )
    buckets = [
        (str(bound), count)
        for bound, count in zip(LATENESS_BUCKETS, figures.lateness_counts, strict=True)
    ]
    buckets.append(("+Inf", figures.lateness_count))
    yield HistogramMetricFamily(
        "feedline_reminder_lateness_seconds",
        "How late each sent reminder went out (sent_at - due_at).",
        buckets=buckets,
        sum_value=figures.lateness_sum,
    )


class _ProcessAndLedger(Collector):
    def __init__(self, ledger: LedgerCollector, local: Collector) -> None:
        self.ledger = ledger
        self.local = local

    def collect(self) -> Iterator[Metric]:
        yield from self.local.collect()
        yield from self.ledger.collect()


def add_metrics(
    app: web.Application,
    settings: Settings,
    engine: Engine,
    clock: Clock,
    shared: SharedMetrics | None = None,
) -> None:
    """`GET /metrics` and request counting, unless `[server] metrics = false`. The process's
    own figures are its registry's, or with `shared` (several serving processes) those of
    every process of the group (feeds.metrics_shared)."""
    if not settings.server.metrics:
        return
    collector = _ProcessAndLedger(
        LedgerCollector(
            engine,
            clock,
            [source.id for source in settings.sources],
            settings.mail.failing_after,
        ),
        REGISTRY if shared is None else shared,
    )
    if shared is not None:
        _keep_flushing(app, shared)

    async def metrics(request: web.Request) -> web.Response:
        encode, content_type = choose_encoder(request.headers.get("Accept", ""))
        body = await asyncio.to_thread(encode, collector)
        return web.Response(
            body=body, headers={"Content-Type": content_type, "Cache-Control": "no-store"}
        )

    app.router.add_get("/metrics", metrics)
    instrument(app)


def _keep_flushing(app: web.Application, shared: SharedMetrics) -> None:
    """Write this process's figures for the others while `app` runs (and once at the end)."""
    tasks: list[asyncio.Task[None]] = []

    async def start(_app: web.Application) -> None:
        await asyncio.to_thread(shared.flush)
        tasks.append(asyncio.create_task(shared.keep_flushing()))

    async def stop(_app: web.Application) -> None:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    app.on_startup.append(start)
    app.on_cleanup.append(stop)
