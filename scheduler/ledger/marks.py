"""Recording "sent" marks: one statement for the sends of every connection that is waiting.

Each sender, after a message is accepted, adds it to the `Marks` (getting the `MarkGroup`
that will record it) and goes on with its next message; the transport holds back that
message's final "." until the group is committed (`Marks.before_end`). So a connection never
has two messages accepted and unmarked, and a crash resends at most one message per
connection (`dispatch.in_flight_bound`). The mark overlaps the next message's MAIL, RCPT,
DATA and body; the rows of all the connections that are waiting go in one UPDATE.

- SQLite (WAL, synchronous=NORMAL: a commit waits for no flush, one writer): the marks run on
  the event loop, on the pass's connection, when a sender needs its group committed: every
  row added since the last mark goes in that one statement.
- PostgreSQL: a commit waits for the WAL flush (a round trip and an fsync, milliseconds on a
  busy disk); on the loop it would stop every connection for that long. One thread with a
  connection of its own commits one group at a time, with one prepared statement on the
  driver's cursor (`PostgresMarker`). A group goes to the thread when a
  sender needs it committed, or when every sender has a row in it (nothing more would
  join): started at each add, the marks were one row each and cost 340 us of CPU per
  message (bench/ledger_scale_bench.py, docs/benchmarks.md).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Generator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError

from scheduler.ledger import claims

log = logging.getLogger(__name__)


def mark_and_report(
    conn: Connection, sent: Sequence[tuple[int, str]], owner: str, now: datetime
) -> None:
    """Mark `sent` (row id, Message-ID) in one transaction; warn about rows no longer ours."""
    with conn.begin():
        held = claims.mark_sent_many(conn, sent, owner, now)
    _report(sent, held)


def _report(sent: Sequence[tuple[int, str]], held: set[int]) -> None:
    for row_id, _ in sent:
        if row_id not in held:
            log.warning("reminder %s was sent but its lease had passed to another sender", row_id)


class PostgresMarker:
    """The background marks' connection (PostgreSQL, autocommit): each mark is
    `claims.POSTGRES_MARK_SENT` on the driver's cursor, one round trip, prepared on the
    server the first time. Errors come out as SQLAlchemy's, as from any other statement."""

    def __init__(self, engine: Engine) -> None:
        self._conn = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        self._dialect = engine.dialect
        driver = self._conn.connection.driver_connection
        assert driver is not None
        self._cursor: Any = driver.cursor()

    def __call__(self, sent: Sequence[tuple[int, str]], owner: str, now: datetime) -> None:
        values = claims.postgres_mark_sent_values(sent, owner, now)
        try:
            self._cursor.execute(claims.POSTGRES_MARK_SENT, values, prepare=True)
            held = {row[0] for row in self._cursor.fetchall()}
        except self._dialect.loaded_dbapi.Error as error:
            self._conn.invalidate()  # not back to the pool: it may be dead
            raise DBAPIError.instance(
                claims.POSTGRES_MARK_SENT, values, error, self._dialect.loaded_dbapi.Error
            ) from error
        _report(sent, held)

    def close(self) -> None:
        self._cursor.close()
        self._conn.close()


class MarkGroup:
    """Sent rows (row id, Message-ID) recorded by one statement; `done` once committed."""

    __slots__ = ("_event", "done", "error", "rows")

    def __init__(self) -> None:
        self.rows: list[tuple[int, str]] = []
        self.done = False
        self.error: BaseException | None = None
        self._event: asyncio.Event | None = None  # made when a sender has to wait

    def settle(self, error: BaseException | None) -> None:
        self.done, self.error = True, error
        if self._event is not None:
            self._event.set()

    def __await__(self) -> Generator[Any, None, None]:
        """Wait until committed; raise what the mark raised. (An awaitable, not a
        coroutine: a sender whose DATA fails before it waits leaves nothing behind.)"""
        if not self.done:
            if self._event is None:
                self._event = asyncio.Event()
            yield from self._event.wait().__await__()
        if self.error is not None:
            raise self.error


class Marks:
    """The marks of one pass. `add` after each accepted message, `before_end` before the
    same sender completes its next one, `flush` at the end (also when the pass fails or is
    cancelled: nothing may be released before its marks are in), `close` after."""

    def __init__(
        self,
        conn: Connection,
        engine: Engine,
        owner: str,
        now: Callable[[], datetime],
        *,
        senders: int,
        background: bool,
    ) -> None:
        self.owner = owner
        self.now = now
        self._conn = conn  # the pass's (inline marks)
        self._marker: PostgresMarker | None = None  # the thread's (background marks)
        self._filling = MarkGroup()
        self._running: MarkGroup | None = None  # in the thread (background marks)
        self._future: Future[None] | None = None
        self._thread: ThreadPoolExecutor | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.statements = 0  #: marks committed (for tests and benchmarks)
        self.senders = senders  # a group this full starts at once
        self._wanted = False  # a sender waits for the filling group (background marks)
        if background:
            # A connection of its own, taken with the pass's (a database gone away fails
            # the marks as it fails the pass), used only by the thread. A mark is one
            # statement: in autocommit one round trip, not three (BEGIN, UPDATE, COMMIT).
            self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ledger-marks")
            self._marker = PostgresMarker(engine)

    def add(self, row_id: int, message_id: str) -> MarkGroup:
        group = self._filling
        group.rows.append((row_id, message_id))
        if self._thread is not None and self._running is None and len(group.rows) >= self.senders:
            self._start()
        return group

    def before_end(self, group: MarkGroup) -> Awaitable[None] | None:
        """A sender is about to complete its next message (`MailTransport.send_bytes`):
        None once `group` is committed (inline marks commit it now), else what to await
        before the message's end. Raises what the group's mark raised."""
        if not group.done and self._thread is None:
            self._mark_inline()  # `group` is the one filling: every row added so far
        if group.done:
            if group.error is not None:
                raise group.error
            return None
        if group is self._filling:
            if self._running is None:
                self._start()
            else:
                self._wanted = True  # started as soon as the running one is in
        return group

    def flush(self) -> None:
        """Block until every row added is committed (raises what a mark raised)."""
        if self._thread is None:
            if self._filling.rows:
                self._mark_inline()
            return
        self._wait_running()
        if self._filling.rows:
            self._start()
            self._wait_running()

    def close(self) -> None:
        """Flush, then close the thread and its connection (background marks)."""
        try:
            self.flush()
        finally:
            if self._thread is not None:
                self._thread.shutdown()
            if self._marker is not None:
                self._marker.close()

    def _mark_inline(self) -> None:
        group, self._filling = self._filling, MarkGroup()
        try:
            mark_and_report(self._conn, group.rows, self.owner, self.now())
        except BaseException as error:
            group.settle(error)
            raise
        self.statements += 1
        group.settle(None)

    def _start(self) -> None:
        """Hand the filling group to the thread (none is running)."""
        assert self._thread is not None
        group, self._filling = self._filling, MarkGroup()
        self._running, self._wanted = group, False
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        loop = self._loop
        assert self._marker is not None
        future = self._future = self._thread.submit(
            self._marker, group.rows, self.owner, self.now()
        )
        future.add_done_callback(lambda done: loop.call_soon_threadsafe(self._finished, done))

    def _finished(self, future: Future[None]) -> None:
        """On the loop: the running group is committed (or failed); start the next."""
        if future is not self._future:
            return  # `flush` settled it already
        self._settle_running(future)
        if self._filling.rows and (self._wanted or len(self._filling.rows) >= self.senders):
            self._start()

    def _wait_running(self) -> None:
        future = self._future
        if future is None:
            return
        future.exception()  # waits
        error = self._settle_running(future)
        if error is not None:
            raise error

    def _settle_running(self, future: Future[None]) -> BaseException | None:
        group, self._running, self._future = self._running, None, None
        error = future.exception()
        if error is None:
            self.statements += 1
        if group is not None:
            group.settle(error)
        return error
