"""The per-source refresh lease, shared by every daemon on one database.

A source's row in `sources` says who refreshes it now (`lease_owner`, until `lease_until`) and
when its next scheduled refresh is due (`refresh_due`). A daemon whose trigger fires takes the
lease in one conditional UPDATE: only when nobody holds it (or the holder's lease ran out: a
daemon that died) and the shared due time has come. It renews the lease while the refresh
runs and releases it at the end with the next due time, so with N daemons each source is
refreshed once per schedule: the others see the lease held, or the due time not yet come,
and wait for it. `feedline once` and `feedline build` take the same leases (`take_free`): they
refresh every source no daemon is refreshing at that moment and skip the others. A lease
whose holder was a process on this host that is gone (a daemon or a `build` killed with
SIGKILL) is taken over at once instead of after its expiry, so the next build after a crash
refreshes every source (found by `tests/faults`: a killed build made the next one skip).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, and_, or_, select, true, update

from feeds.clock import Clock
from feeds.store.sources import ensure_row
from feeds.store.tables import sources

log = logging.getLogger(__name__)

#: A due time this close ahead counts as come: triggers and clocks agree only to about this.
EARLY = timedelta(milliseconds=1)


def owner_name() -> str:
    """This process, readable in the database: host, pid and a random part (pids are reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def gone_from_this_host(owner: str) -> bool:
    """True when `owner` (an `owner_name`) was a process on this host that no longer runs.
    Another host's owner, a name of another shape or a pid in use (perhaps reused) is not
    known to be gone: its lease runs out by its expiry."""
    parts = owner.rsplit(":", 2)
    if len(parts) != 3 or parts[0] != socket.gethostname() or not parts[1].isdigit():
        return False
    pid = int(parts[1])
    if pid <= 0 or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # PermissionError: it runs, as another user
        return False
    return False


@dataclass(frozen=True, slots=True)
class Take:
    """The answer to a take: taken, or why not (the holder, or the due time not yet come)."""

    taken: bool
    holder: str | None = None
    held_until: datetime | None = None
    due: datetime | None = None


class RefreshLeases:
    def __init__(self, engine: Engine, clock: Clock, length: timedelta, owner: str) -> None:
        self.engine = engine
        self.clock = clock
        self.length = length
        self.owner = owner

    def take(self, source_id: str, *, at_start: bool = False) -> Take:
        """Take the lease of `source_id` if it is free and due (`at_start`: free is enough).

        One UPDATE with the conditions in its WHERE: of daemons racing for it, one wins (on
        PostgreSQL the others' UPDATE waits for its commit and re-checks the row)."""
        now = self.clock.now()
        free = or_(
            sources.c.lease_owner.is_(None),
            sources.c.lease_until < now,
            sources.c.lease_owner == self.owner,
        )
        due = or_(sources.c.refresh_due.is_(None), sources.c.refresh_due <= now + EARLY)
        with self.engine.begin() as conn:
            ensure_row(conn, source_id)
            result = conn.execute(
                update(sources)
                .where(sources.c.id == source_id, free if at_start else and_(free, due))
                .values(lease_owner=self.owner, lease_until=now + self.length)
            )
            if result.rowcount == 1:
                return Take(True)
            row = conn.execute(
                select(sources.c.lease_owner, sources.c.lease_until, sources.c.refresh_due).where(
                    sources.c.id == source_id
                )
            ).one()
            held = row.lease_owner is not None and row.lease_until >= now
            if held and gone_from_this_host(row.lease_owner):
                taken_over = conn.execute(
                    update(sources)
                    .where(
                        sources.c.id == source_id,
                        sources.c.lease_owner == row.lease_owner,
                        sources.c.lease_until == row.lease_until,
                        true() if at_start else due,
                    )
                    .values(lease_owner=self.owner, lease_until=now + self.length)
                )
                if taken_over.rowcount == 1:
                    log.info(
                        "took over the refresh lease of %s from %s: that process is gone",
                        source_id,
                        row.lease_owner,
                    )
                    return Take(True)
        return Take(
            False,
            holder=row.lease_owner if held else None,
            held_until=row.lease_until if held else None,
            due=row.refresh_due,
        )

    def renew(self, source_id: str) -> bool:
        """Move the expiry on; False when the lease is no longer ours (it ran out, taken over)."""
        with self.engine.begin() as conn:
            result = conn.execute(
                update(sources)
                .where(sources.c.id == source_id, sources.c.lease_owner == self.owner)
                .values(lease_until=self.clock.now() + self.length)
            )
        return result.rowcount == 1

    def release(self, source_id: str, next_due: datetime | None) -> bool:
        """Give the lease up and record when the next refresh is due (None: not scheduled)."""
        with self.engine.begin() as conn:
            result = conn.execute(
                update(sources)
                .where(sources.c.id == source_id, sources.c.lease_owner == self.owner)
                .values(lease_owner=None, lease_until=None, refresh_due=next_due)
            )
        return result.rowcount == 1

    def due_times(self, source_ids: Sequence[str]) -> dict[str, datetime]:
        """The shared next due time of these sources (those that have one)."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(sources.c.id, sources.c.refresh_due).where(
                    sources.c.id.in_(list(source_ids)), sources.c.refresh_due.is_not(None)
                )
            )
            return {row.id: row.refresh_due for row in rows}

    def release_all(self) -> int:
        """At shutdown: give up whatever this process still holds (the due times stay)."""
        with self.engine.begin() as conn:
            result = conn.execute(
                update(sources)
                .where(sources.c.lease_owner == self.owner)
                .values(lease_owner=None, lease_until=None)
            )
        return max(result.rowcount, 0)

    async def take_free(self, source_ids: Sequence[str]) -> tuple[list[str], dict[str, Take]]:
        """Take every free lease of `source_ids` (due or not: a refresh asked for now);
        returns the ids taken, in order, and the refusals by id."""
        taken: list[str] = []
        refused: dict[str, Take] = {}
        for source_id in source_ids:
            take = await asyncio.to_thread(self.take, source_id, at_start=True)
            if take.taken:
                taken.append(source_id)
            else:
                refused[source_id] = take
        return taken, refused

    @asynccontextmanager
    async def holding(
        self, source_ids: Sequence[str], sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    ) -> AsyncIterator[None]:
        """Renew the leases of `source_ids` every third of their length until the block ends."""

        async def renew() -> None:
            while True:
                await sleep(self.length.total_seconds() / 3)
                for source_id in source_ids:
                    if not await asyncio.to_thread(self.renew, source_id):
                        log.warning(
                            "lost the refresh lease of %s (it ran out); finishing this refresh",
                            source_id,
                        )

        task = asyncio.create_task(renew())
        try:
            yield
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
