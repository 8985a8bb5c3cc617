"""A token bucket: at most `rate` sends per second on average, bursts up to `capacity`."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


class TokenBucket:
    """`reserve()` takes one token and says how long to wait for it; `acquire()` waits.

    Time comes from `time_source` (seconds, monotonic; default: the running loop's clock),
    so the arithmetic is tested by moving a fake clock, not by sleeping.
    """

    def __init__(
        self,
        rate: float,
        capacity: float = 1.0,
        *,
        time_source: Callable[[], float] | None = None,
    ) -> None:
        if rate <= 0:
            raise ValueError(f"rate must be > 0, not {rate}")
        self.rate = rate
        self.capacity = max(1.0, capacity)
        self._time_source = time_source
        self._tokens = self.capacity
        self._updated: float | None = None

    def _now(self) -> float:
        if self._time_source is not None:
            return self._time_source()
        return asyncio.get_running_loop().time()

    def reserve(self) -> float:
        """Take a token (possibly going into debt); return the seconds to wait before use."""
        now = self._now()
        if self._updated is not None:
            elapsed = max(0.0, now - self._updated)
            self._tokens = min(self.capacity, self._tokens + elapsed * self.rate)
        self._updated = now
        self._tokens -= 1.0
        return 0.0 if self._tokens >= 0 else -self._tokens / self.rate

    async def acquire(self) -> None:
        delay = self.reserve()
        if delay > 0:
            await asyncio.sleep(delay)
