"""One reminder pass: plan, claim due rows in batches (expiring the moot ones), send each,
record the outcomes.

Send, then mark sent: a crash between the server's "250 OK" and the commit can resend once
(at-least-once is the honest limit), and the resend carries the same Message-ID. Marks are
committed in groups (one UPDATE per `MARK_EVERY` sends, and at the end of each claimed
batch), so a crash resends at most the messages in flight: the sends in progress plus the
ones sent since the last mark (`in_flight_bound`). On PostgreSQL the marks are committed by a
thread while the sends go on (scheduler/ledger/marks.py), in groups of `BACKGROUND_MARK_EVERY`.

With several daemons on PostgreSQL, one plans at a time (a transaction-level advisory lock
taken with "try"): the others skip planning and start sending, since the rows it plans are
shared. Without it each daemon read every subscriber at each pass, all at the same instant.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Callable, Coroutine, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, func, select

from config.schema import Settings
from feeds.clock import Clock
from feeds.store.tables import reminders
from scheduler.ledger import claims
from scheduler.ledger.compose import Composer, Outgoing
from scheduler.ledger.marks import BackgroundMarks, mark_and_report
from scheduler.ledger.planning import plan
from scheduler.ledger.subscribers import SubscriberStatus, set_status
from scheduler.mail.transport import (
    MailAuthError,
    MailTransport,
    PermanentMailError,
    TransientMailError,
)
from scheduler.mail_health import MonitoredTransport
from scheduler.subscriptions.digest import upkeep

log = logging.getLogger(__name__)

PASSED = claims.PASSED
#: Sent rows are marked in one statement per this many (or fewer at the end of a batch).
MARK_EVERY = 32
#: The same, when a thread commits the marks while the sends go on (PostgreSQL): a group
#: being committed plus the next one filling, so half the size for the same bound.
BACKGROUND_MARK_EVERY = 16
#: Only one daemon plans a ledger at a time: pg_try_advisory_xact_lock(PLANNING_LOCK_ID,
#: hash of the schema), so sites sharing one database in schemas of their own never skip
#: each other's planning.
PLANNING_LOCK_ID = 0x706C_616E  # "plan"
_SCHEMA_KEY = func.hashtext(func.current_schema())


def in_flight_bound(senders: int) -> int:
    """At most this many messages are resent after a crash: sent but not yet marked.

    Inline marks (SQLite): the sends since the last mark plus those in progress. Background
    marks (PostgreSQL): the group being committed (up to one more per sender, sent while its
    predecessor committed) plus the group filling and the sends in progress.
    """
    inline = MARK_EVERY - 1 + senders
    background = 2 * (BACKGROUND_MARK_EVERY + senders - 1)
    return max(inline, background)


@dataclass(slots=True)
class PassSummary:
    planned: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    expired: int = 0
    next_due: datetime | None = None
    zone: str = "UTC"  #: where `line` shows the next due time (the settings' display zone)
    #: The server refused the login: the pass stopped, its claims given back untried.
    config_error: str | None = None
    #: Set by the caller after the pass: mail failing for longer than `[mail] failing_after`.
    mail_problem: str | None = None

    def line(self) -> str:
        due = (
            self.next_due.astimezone(ZoneInfo(self.zone)).isoformat()
            if self.next_due
            else "nothing pending"
        )
        stopped = f"; stopped: {self.config_error}" if self.config_error else ""
        return (
            f"sent {self.sent}, retried {self.retried}, failed {self.failed}, "
            f"expired {self.expired}; next due: {due}{stopped}"
        )


async def _all_or_none(workers: Iterable[Coroutine[Any, Any, None]]) -> None:
    """Run the send workers; when one fails (the database went away), cancel the others
    before raising, so none keeps sending detached from the pass (found by
    tests/faults/test_postgres_faults.py: with gather, a cut connection doubled 4 messages
    on 2 connections; now at most the messages in flight)."""
    tasks = [asyncio.ensure_future(worker) for worker in workers]
    done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    for task in done:
        if task.exception() is not None:
            raise task.exception()  # type: ignore[misc]


def default_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class ReminderDispatcher:
    """Runs reminder passes against the ledger with one mail transport."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        transport: MailTransport,
        clock: Clock,
        signing_key: bytes,
        *,
        owner: str | None = None,
        batch_size: int = 200,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.transport = transport
        self.clock = clock
        self.owner = owner or default_owner()
        self.batch_size = batch_size
        #: Sends in flight: as many as the transport has connections (more only queue up).
        self.senders = max(1, settings.mail.smtp.max_connections)
        self.composer = Composer(settings, signing_key, clock)
        reminders = settings.reminders
        self.offsets = reminders.offsets
        self.lease = reminders.lease
        self.retry_base = reminders.retry_base
        self.retry_max = reminders.retry_max
        self.stopping = asyncio.Event()
        self._conn: Connection | None = None
        self._unmarked: list[tuple[int, str]] = []  # sent, not yet marked: (row id, Message-ID)
        self._background = engine.dialect.name == "postgresql"
        self.mark_every = BACKGROUND_MARK_EVERY if self._background else MARK_EVERY
        self._marks: BackgroundMarks | None = None  # during a pass, on PostgreSQL
        self._marking = asyncio.Lock()  # one sender at a time hands a group to the thread

    def plan_all(self) -> int:
        """Plan and do the subscriptions' upkeep; on PostgreSQL skipped (0) while another
        daemon does it."""
        with self.engine.begin() as conn:
            if (
                conn.dialect.name == "postgresql"
                and not conn.execute(
                    select(func.pg_try_advisory_xact_lock(PLANNING_LOCK_ID, _SCHEMA_KEY))
                ).scalar_one()
            ):
                return 0
            now = self.clock.now()
            planned = plan(conn, now, self.offsets)
            return planned + upkeep(conn, now, self.settings.subscriptions)  # digests, sign-ups

    async def run_pass(self) -> PassSummary:
        summary = PassSummary(planned=self.plan_all(), zone=self.settings.display_zone)
        self.composer.new_pass()
        # One connection for the pass, one short transaction per step on it: a checkout
        # from the pool per mark cost as much as the mark (bench/mail_bench.py). Safe to
        # share between the send tasks: no transaction spans an await.
        with self.engine.connect() as conn:
            self._conn = conn
            if self._background:
                self._marks = BackgroundMarks(self.engine, self.owner, self.clock.now)
            try:
                await self._pass(conn, summary)
            finally:
                self._conn = None
                marks, self._marks = self._marks, None
                if marks is not None:
                    marks.close()
        if isinstance(self.transport, MonitoredTransport):
            self.transport.check_alert()  # mail failing for `failing_after`: tell the operator
        return summary

    async def _pass(self, conn: Connection, summary: PassSummary) -> None:
        while not self.stopping.is_set() and summary.config_error is None:
            now = self.clock.now()
            with conn.begin():
                row_ids = claims.claim(conn, now, self.owner, self.lease, self.batch_size)
                moot = claims.expire_moot(conn, row_ids, self.owner, now)
            if not row_ids:
                break
            summary.expired += len(moot)
            row_ids = [row_id for row_id in row_ids if row_id not in moot]
            if not row_ids:
                continue
            with conn.begin():
                queue = iter(self.composer.load_lazily(conn, row_ids))
            try:
                await _all_or_none(self._worker(queue, summary) for _ in range(self.senders))
            finally:  # also when cancelled: what was sent is marked before anything else
                self._mark_unmarked()
        if summary.config_error is not None:  # rows back untried; wait a tick, not a spin
            with conn.begin():
                claims.release(conn, self.owner, self.clock.now())
            return
        with conn.begin():
            summary.next_due = claims.next_due(conn)

    async def _worker(self, queue: Iterator[Callable[[], Outgoing]], summary: PassSummary) -> None:
        """One of `senders` loops sharing a batch: compose one, send it, record it, take the
        next (while one sender composes, the others' messages are on the wire)."""
        for compose in queue:
            await self._deliver(compose(), summary)

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        """A short transaction: on the pass's connection during a pass, else a fresh one."""
        if self._conn is None:
            with self.engine.begin() as fresh:
                yield fresh
            return
        with self._conn.begin():
            yield self._conn

    def release(self) -> int:
        with self.engine.begin() as conn:
            return claims.release(conn, self.owner, self.clock.now())

    def _backoff(self, attempts: int) -> timedelta:
        delay: timedelta = self.retry_base * (2 ** max(attempts - 1, 0))
        return min(delay, self.retry_max)

    async def _deliver(self, item: Outgoing, summary: PassSummary) -> None:
        if item.mail is None:
            with self._transaction() as conn:
                claims.mark_final(
                    conn,
                    item.row_id,
                    self.owner,
                    claims.SUPERSEDED,
                    item.stale_reason or "stale",
                    self.clock.now(),
                )
            return
        if self.stopping.is_set() or summary.config_error is not None:
            return  # released on shutdown (or after a refused login), untouched
        if item.closes_at is not None and item.closes_at <= self.clock.now():
            with self._transaction() as conn:
                claims.mark_final(
                    conn, item.row_id, self.owner, claims.EXPIRED, PASSED, self.clock.now()
                )
            summary.expired += 1
            return
        try:
            await self.transport.send_bytes(item.mail)
        except MailAuthError as error:
            summary.config_error = str(error)
            return
        except TransientMailError as error:
            self._record_transient(item, str(error), summary)
            return
        except PermanentMailError as error:
            self._record_permanent(item, error, summary)
            return
        self._unmarked.append((item.row_id, item.message_id))
        summary.sent += 1
        log.info("sent reminder %s to subscriber %s", item.row_id, item.subscriber_id)
        if len(self._unmarked) >= self.mark_every:
            if self._marks is None:
                self._mark_unmarked()
            else:
                await self._mark_in_background(self._marks)

    async def _mark_in_background(self, marks: BackgroundMarks) -> None:
        """Hand the unmarked group to the marking thread once the previous group is
        committed. Meanwhile the other senders finish their sends, add them and queue here:
        a group holds at most `mark_every - 1 + senders` rows."""
        async with self._marking:
            if len(self._unmarked) < self.mark_every:
                return  # the sender before us in the queue took them
            await marks.committed()
            sent, self._unmarked = self._unmarked, []
            marks.start(sent)

    def _mark_unmarked(self) -> None:
        """Mark the sent rows not yet marked, in one statement (no await: no send finishes
        meanwhile, so at most `in_flight_bound` messages are ever sent and unmarked). With
        background marks, first wait until the thread's group is committed."""
        if self._marks is not None:
            self._marks.wait()
        if not self._unmarked:
            return
        sent, self._unmarked = self._unmarked, []
        if self._conn is None:
            with self.engine.connect() as fresh:
                mark_and_report(fresh, sent, self.owner, self.clock.now())
            return
        mark_and_report(self._conn, sent, self.owner, self.clock.now())

    def _record_transient(self, item: Outgoing, error: str, summary: PassSummary) -> None:
        now = self.clock.now()
        with self._transaction() as conn:
            attempts = conn.execute(
                select(reminders.c.attempts).where(reminders.c.id == item.row_id)
            ).scalar_one()
            if attempts >= self.settings.reminders.max_attempts:
                claims.mark_final(
                    conn,
                    item.row_id,
                    self.owner,
                    claims.FAILED,
                    f"gave up after {attempts} attempts: {error}",
                    now,
                )
                summary.failed += 1
                log.error("reminder %s failed for good: %s", item.row_id, error)
                return
            retry_at = now + self._backoff(attempts)
            claims.mark_retry(conn, item.row_id, self.owner, error, retry_at, now)
        summary.retried += 1
        log.warning(
            "reminder %s will be retried at %s: %s", item.row_id, retry_at.isoformat(), error
        )

    def _record_permanent(
        self, item: Outgoing, error: PermanentMailError, summary: PassSummary
    ) -> None:
        now = self.clock.now()
        with self._transaction() as conn:
            claims.mark_final(conn, item.row_id, self.owner, claims.FAILED, str(error), now)
            if error.recipient_rejected:
                set_status(conn, item.recipient, SubscriberStatus.BOUNCED, now)
        summary.failed += 1
        log.error(
            "reminder %s failed: %s%s",
            item.row_id,
            error,
            " (subscriber deactivated)" if error.recipient_rejected else "",
        )
