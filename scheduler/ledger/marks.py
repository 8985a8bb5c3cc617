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
- PostgreSQL: a commit waits for the WAL flush, so it must not stop the loop: one statement
  at a time on a connection of its own, its reply read when the socket is ready, while the
  senders go on (scheduler/ledger/postgres_marks.py). A group starts when a sender needs it
  committed, or when every sender has a row in it (nothing more would join).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Generator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine

from scheduler.ledger import claims
from scheduler.ledger.postgres_marks import PostgresMarker


def mark_and_report(
    conn: Connection, sent: Sequence[tuple[int, str]], owner: str, now: datetime
) -> None:
    """Mark `sent` (row id, Message-ID) in one transaction; warn about rows no longer ours."""
    with conn.begin():
        held = claims.mark_sent_many(conn, sent, owner, now)
    claims.warn_unheld(sent, held)


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
    """The marks of one pass (`open` it). `add` after each accepted message, `before_end`
    before the same sender completes its next one, `flush` at the end (also when the pass
    fails or is cancelled: nothing may be released before its marks are in), `close`
    after."""

    def __init__(
        self,
        conn: Connection,
        owner: str,
        now: Callable[[], datetime],
        *,
        senders: int,
        marker: PostgresMarker | None = None,
    ) -> None:
        self.owner = owner
        self.now = now
        self._conn = conn  # the pass's (inline marks)
        self._marker = marker  # background marks (PostgreSQL)
        self._filling = MarkGroup()
        self._running: asyncio.Task[None] | None = None  # committing a group (background)
        self._failed: BaseException | None = None  # what a background mark raised
        self.statements = 0  #: marks committed (for tests and benchmarks)
        self.senders = senders  # a group this full starts at once
        self._wanted = False  # a sender waits for the filling group (background marks)

    @classmethod
    def open(
        cls,
        conn: Connection,
        engine: Engine,
        owner: str,
        now: Callable[[], datetime],
        *,
        senders: int,
    ) -> Marks:
        """Inline marks on SQLite; on PostgreSQL a connection of its own for them, taken
        with the pass's."""
        marker = PostgresMarker(engine) if engine.dialect.name == "postgresql" else None
        return cls(conn, owner, now, senders=senders, marker=marker)

    def add(self, row_id: int, message_id: str) -> MarkGroup:
        group = self._filling
        group.rows.append((row_id, message_id))
        if self._marker is not None and self._running is None and len(group.rows) >= self.senders:
            self._start()
        return group

    def before_end(self, group: MarkGroup) -> Awaitable[None] | None:
        """A sender is about to complete its next message (`MailTransport.send_bytes`):
        None once `group` is committed (inline marks commit it now), else what to await
        before the message's end. Raises what the group's mark raised."""
        if not group.done and self._marker is None:
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

    async def flush(self) -> None:
        """Wait until every row added is committed (raises what a mark raised)."""
        if self._marker is None:
            if self._filling.rows:
                self._mark_inline()
            return
        while self._running is not None or self._filling.rows:
            if self._running is None:
                self._start()
            assert self._running is not None
            await self._running
        if self._failed is not None:
            raise self._failed

    async def close(self) -> None:
        """Flush, then close the marks' connection (background marks)."""
        try:
            await self.flush()
        finally:
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
        """Commit the filling group in a task of its own (none is running)."""
        group, self._filling = self._filling, MarkGroup()
        self._wanted = False
        self._running = asyncio.ensure_future(self._commit(group))

    async def _commit(self, group: MarkGroup) -> None:
        assert self._marker is not None
        try:
            await self._marker.mark(group.rows, self.owner, self.now())
        except BaseException as error:  # the senders waiting get it; so does `flush`
            group.settle(error)
            self._failed = self._failed or error
            self._running = None
            if not isinstance(error, Exception):
                raise  # cancelled
            return
        self.statements += 1
        group.settle(None)
        self._running = None
        if self._filling.rows and (self._wanted or len(self._filling.rows) >= self.senders):
            self._start()
