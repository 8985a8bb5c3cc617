"""The "sent" marks on PostgreSQL: one prepared statement, run on the event loop.

A commit waits for the WAL flush (a round trip and an fsync: about 0.3 ms on a calm machine,
1 to 2 ms on a busy one), so it must not stop the loop, and it is on the senders' critical
path: a connection's next "." waits for it (scheduler/ledger/marks.py). Measured per mark of
four rows, client CPU and wall time (bench/send_path_bench.py, docs/benchmarks.md):

- SQLAlchemy's statement in a thread: 287 us and 977 us, mostly hand-offs and lock
  contention;
- psycopg's async connection on the loop: 159 us and 713 us;
- psycopg's libpq wrapper (`psycopg.pq`, the binary build) on the loop, here: 108 us and
  560 us. The statement is prepared once per pass; a mark sends its parameters and the loop
  reads the reply when the socket is readable (`loop.add_reader`), while the senders go on.

The connection is an ordinary pooled one of the engine's (autocommit: one round trip, not
three), so a database gone away fails the marks as it fails the pass, and errors come out as
SQLAlchemy's `DBAPIError`, as from any other statement.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, StatementError

from scheduler.ledger import claims

STATEMENT = b"feedline_mark_sent"


class PostgresMarker:
    """`mark` commits one group of sent rows; one at a time (the caller's rule)."""

    def __init__(self, engine: Engine) -> None:
        import psycopg
        from psycopg import pq

        self._pq = pq
        self._error_class = psycopg.Error
        self._conn = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        self._clean = True  # no reply left unread: the connection may go back to the pool
        try:
            driver = self._conn.connection.driver_connection
            assert driver is not None
            self._pgconn: Any = driver.pgconn
            prepared = self._pgconn.prepare(STATEMENT, claims.POSTGRES_MARK_SENT.encode())
            self._check(prepared, pq.ExecStatus.COMMAND_OK, "PREPARE")
        except BaseException:
            self._clean = False
            self.close()
            raise

    async def mark(self, sent: Sequence[tuple[int, str]], owner: str, now: datetime) -> None:
        """Mark `sent` (row id, Message-ID) sent, as `marks.mark_and_report` does."""
        params = claims.postgres_mark_sent_params(sent, owner, now)
        self._clean = False
        try:
            self._pgconn.send_query_prepared(STATEMENT, params)
            results = await self._replies()
        except self._error_class as error:
            raise self._wrapped(error, params) from error
        self._clean = True
        if len(results) != 1:
            raise self._wrapped(
                self._error_class(f"{len(results)} results for one statement"), params
            )
        result = results[0]
        self._check(result, self._pq.ExecStatus.TUPLES_OK, claims.POSTGRES_MARK_SENT, params)
        claims.warn_unheld(sent, {int(result.get_value(row, 0)) for row in range(result.ntuples)})

    def close(self) -> None:
        """Forget the statement and give the connection back (or drop it when a reply was
        left unread: cancelled, or the database went away)."""
        try:
            if self._clean:
                self._pgconn.exec_(b"DEALLOCATE " + STATEMENT)
            else:
                self._conn.invalidate()
        except self._error_class:
            self._conn.invalidate()
        finally:
            self._conn.close()

    async def _replies(self) -> list[Any]:
        """Send what is buffered, then read until the statement's last reply."""
        pgconn = self._pgconn
        loop = asyncio.get_running_loop()
        while pgconn.flush():  # the parameters did not fit the socket's buffer at once
            await _ready(loop, pgconn.socket, write=True)
        results: list[Any] = []
        while True:
            pgconn.consume_input()
            while not pgconn.is_busy():
                result = pgconn.get_result()
                if result is None:
                    return results
                results.append(result)
            await _ready(loop, pgconn.socket, write=False)

    def _check(self, result: Any, wanted: Any, statement: str, params: Sequence[Any] = ()) -> None:
        if result.status != wanted:
            message = result.error_message.decode("utf-8", "replace").strip()
            raise self._wrapped(self._error_class(message), params, statement)

    def _wrapped(
        self,
        error: Exception,
        params: Sequence[Any],
        statement: str = claims.POSTGRES_MARK_SENT,
    ) -> StatementError:
        return DBAPIError.instance(statement, list(params), error, self._error_class)


async def _ready(loop: asyncio.AbstractEventLoop, fd: int, *, write: bool) -> None:
    """Until `fd` is readable (or writable)."""
    ready: asyncio.Future[None] = loop.create_future()

    def wake() -> None:
        if not ready.done():
            ready.set_result(None)

    (loop.add_writer if write else loop.add_reader)(fd, wake)
    try:
        await ready
    finally:
        (loop.remove_writer if write else loop.remove_reader)(fd)
