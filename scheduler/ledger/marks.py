"""Committing "sent" marks off the event loop (PostgreSQL).

On PostgreSQL a commit waits for the WAL flush (a round trip and an fsync, milliseconds on a
busy disk). Run on the event loop, every mark stopped all of a daemon's SMTP connections for
that long. Here one thread with a connection of its own commits the marks, one group at a
time, while the senders go on; a sender that completes the next group first waits for the
previous one to be committed, so at most two groups are ever sent and not yet marked
(`dispatch.in_flight_bound`). SQLite commits in WAL mode without a flush and takes one writer
at a time, so there the marks stay on the loop, on the pass's connection.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime

from sqlalchemy import Connection, Engine

from scheduler.ledger import claims

log = logging.getLogger(__name__)


def mark_and_report(
    conn: Connection, sent: Sequence[tuple[int, str]], owner: str, now: datetime
) -> None:
    """Mark `sent` (row id, Message-ID) in one transaction; warn about rows no longer ours."""
    with conn.begin():
        held = claims.mark_sent_many(conn, sent, owner, now)
    for row_id, _ in sent:
        if row_id not in held:
            log.warning("reminder %s was sent but its lease had passed to another sender", row_id)


class BackgroundMarks:
    """One mark at a time in a thread, on a connection of its own, taken with the pass's
    (so that a database gone away fails the marks as it fails the pass) and closed by
    `close`; only the thread uses it."""

    def __init__(self, engine: Engine, owner: str, now: Callable[[], datetime]) -> None:
        self.engine = engine
        self.owner = owner
        self.now = now
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ledger-marks")
        self._conn = engine.connect()
        self._pending: Future[None] | None = None

    def start(self, sent: Sequence[tuple[int, str]]) -> None:
        """Begin committing `sent`. The caller waits for `committed` first (that is what
        bounds the unmarked sends); the one thread runs the marks in order anyway, so waiting
        for the last one started waits for all."""
        self._pending = self._thread.submit(self._mark, list(sent))

    async def committed(self) -> None:
        """Wait, without blocking the loop, until the mark in progress is committed; raises
        what it raised (the database went away)."""
        pending = self._pending
        if pending is not None:
            await asyncio.wrap_future(pending)
            self._pending = None

    def wait(self) -> None:
        """Block until the mark in progress is committed (end of a batch, also when the pass
        is cancelled: nothing may be released before its marks are in)."""
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def close(self) -> None:
        """Wait for the mark in progress, close the thread's connection and the thread."""
        try:
            self.wait()
        finally:
            self._thread.shutdown()  # the marks started are finished first
            self._conn.close()

    def _mark(self, sent: list[tuple[int, str]]) -> None:
        mark_and_report(self._conn, sent, self.owner, self.now())
