"""Time that tests move: a `FixedClock` and a `sleep` that returns when the clock passes its end.

The daemon's loops sleep through `ManualTime.sleep`; a test waits until they are all asleep
(`settle`), moves the clock (`advance`), and the sleepers whose time has come wake up. Nothing
waits for real time; `settle` has a real-time guard only so a broken daemon fails the test
instead of hanging it.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from feeds.clock import FixedClock

GUARD_SECONDS = 30.0
#: Turns of the event loop the count must hold for before the daemon counts as idle.
QUIET_ROUNDS = 20


class ManualTime:
    def __init__(self, start: datetime) -> None:
        self.clock = FixedClock(start)
        self._sleepers: list[tuple[datetime, asyncio.Future[None]]] = []
        self._changed = asyncio.Event()

    async def sleep(self, seconds: float) -> None:
        wake_at = self.clock.now() + timedelta(seconds=seconds)
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (wake_at, future)
        self._sleepers.append(entry)
        self._changed.set()
        try:
            await future
        finally:
            self._sleepers.remove(entry)
            self._changed.set()

    @property
    def sleeping(self) -> int:
        return sum(1 for _, future in self._sleepers if not future.done())

    async def settle(self, sleepers: int) -> None:
        """Wait until exactly `sleepers` loops are asleep and stay so while the event loop runs
        what is ready (a sleeper woken by an event, not by time, leaves the count then)."""

        async def wait() -> None:
            quiet = 0
            while quiet < QUIET_ROUNDS:
                if self.sleeping == sleepers:
                    quiet += 1
                    await asyncio.sleep(0)
                else:
                    quiet = 0
                    self._changed.clear()
                    await self._changed.wait()

        await asyncio.wait_for(wait(), timeout=GUARD_SECONDS)

    def advance(self, delta: timedelta) -> None:
        self.clock.advance(delta)
        now = self.clock.now()
        for wake_at, future in list(self._sleepers):
            if wake_at <= now and not future.done():
                future.set_result(None)
