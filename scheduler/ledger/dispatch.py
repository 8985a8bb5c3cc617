"""One reminder pass: plan, claim due rows in batches (expiring the moot ones), send each,
record the outcomes.

Send, then mark sent: a crash between the server's "250 OK" and the commit can resend once
(at-least-once is the honest limit), and the resend carries the same Message-ID. Each sender
(one per connection) completes its next message (the final "." of DATA) only once its
previous one is marked, so a crash resends at most one message per connection
(`in_flight_bound`). The mark overlaps the next message's envelope and body, and the marks
of all the senders waiting go in one UPDATE (scheduler/ledger/marks.py: on the loop, on
SQLite on the pass's connection, on PostgreSQL on one of their own).

The claimed batches stream: a sender that finds its batch empty claims the next while the
others' messages are still on the wire, instead of every connection idling at each batch's
end.

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
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, func, select

from config.schema import Settings
from feeds.clock import Clock
from feeds.store.tables import reminders
from scheduler.ledger import claims
from scheduler.ledger.compose import Composer, Outgoing
from scheduler.ledger.marks import MarkGroup, Marks
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
#: Only one daemon plans a ledger at a time: pg_try_advisory_xact_lock(PLANNING_LOCK_ID,
#: hash of the schema), so sites sharing one database in schemas of their own never skip
#: each other's planning.
PLANNING_LOCK_ID = 0x706C_616E  # "plan"
_SCHEMA_KEY = func.hashtext(func.current_schema())


def in_flight_bound(senders: int) -> int:
    """At most this many messages are resent after a crash: sent but not yet marked.

    One per sender (`max_connections`), on both databases: a sender's previous message is
    marked before its next one is completed, so at any moment each connection has at most
    one message the server may have accepted and the ledger has not recorded.
    """
    return senders


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
        self.marks: Marks | None = None  # the current (or last) pass's

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
            marks = Marks.open(conn, self.engine, self.owner, self.clock.now, senders=self.senders)
            self.marks = marks
            try:
                await self._pass(conn, marks, summary)
            finally:  # also when cancelled: what was sent is marked before anything else
                self._conn = None
                await marks.close()
        if isinstance(self.transport, MonitoredTransport):
            self.transport.check_alert()  # mail failing for `failing_after`: tell the operator
        return summary

    async def _pass(self, conn: Connection, marks: Marks, summary: PassSummary) -> None:
        queue = self._claimed(conn, summary)
        await _all_or_none(self._worker(queue, marks, summary) for _ in range(self.senders))
        await marks.flush()
        if summary.config_error is not None:  # rows back untried; wait a tick, not a spin
            with conn.begin():
                claims.release(conn, self.owner, self.clock.now())
            return
        with conn.begin():
            summary.next_due = claims.next_due(conn)

    def _claimed(self, conn: Connection, summary: PassSummary) -> Iterator[Callable[[], Outgoing]]:
        """The messages to send, claimed a batch at a time (expiring the moot ones) when the
        senders have taken the previous batch's: shared by the senders (no await inside)."""
        while not self.stopping.is_set() and summary.config_error is None:
            now = self.clock.now()
            with conn.begin():
                row_ids = claims.claim(conn, now, self.owner, self.lease, self.batch_size)
                moot = claims.expire_moot(conn, row_ids, self.owner, now)
            if not row_ids:
                return
            summary.expired += len(moot)
            row_ids = [row_id for row_id in row_ids if row_id not in moot]
            if not row_ids:
                continue
            with conn.begin():
                batch = self.composer.load_lazily(conn, row_ids)
            yield from batch

    async def _worker(
        self, queue: Iterator[Callable[[], Outgoing]], marks: Marks, summary: PassSummary
    ) -> None:
        """One of `senders` loops: compose one, send it, record it, take the next (while one
        sender composes, the others' messages are on the wire). `previous` is the mark of
        this sender's last accepted message: its next one is completed after it."""
        previous: MarkGroup | None = None
        for compose in queue:
            previous = await self._deliver(compose(), marks, previous, summary)

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

    async def _deliver(
        self, item: Outgoing, marks: Marks, previous: MarkGroup | None, summary: PassSummary
    ) -> MarkGroup | None:
        """Send `item` (completed once `previous` is committed) and record the outcome;
        return the mark the sender's next message waits for."""
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
            return previous
        if self.stopping.is_set() or summary.config_error is not None:
            return previous  # released on shutdown (or after a refused login), untouched
        if item.closes_at is not None and item.closes_at <= self.clock.now():
            with self._transaction() as conn:
                claims.mark_final(
                    conn, item.row_id, self.owner, claims.EXPIRED, PASSED, self.clock.now()
                )
            summary.expired += 1
            return previous
        before_end = None if previous is None else partial(marks.before_end, previous)
        try:
            await self.transport.send_bytes(item.mail, before_end=before_end)
        except MailAuthError as error:
            summary.config_error = str(error)
            return previous
        except TransientMailError as error:
            self._record_transient(item, str(error), summary)
            return previous
        except PermanentMailError as error:
            self._record_permanent(item, error, summary)
            return previous
        summary.sent += 1
        log.info("sent reminder %s to subscriber %s", item.row_id, item.subscriber_id)
        return marks.add(item.row_id, item.message_id)

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
