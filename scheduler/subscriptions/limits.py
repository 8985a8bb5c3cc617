"""Per-client rate limits for the sign-up form: a sliding window in memory.

Per-address limits live in the database (`take_confirmation_mail`), so they hold across
restarts and several daemons; a client's burst only matters to the process it hits.
"""

from __future__ import annotations

from collections import deque
from datetime import datetime, timedelta

#: Clients remembered at most; the oldest is forgotten first (memory stays bounded).
MAX_CLIENTS = 10_000


class SlidingWindow:
    """At most `limit` events per `window` and key."""

    def __init__(self, limit: int, window: timedelta) -> None:
        self.limit = limit
        self.window = window
        self._events: dict[str, deque[datetime]] = {}

    def take(self, key: str, now: datetime) -> timedelta | None:
        """Count one event; None if allowed, else how long until the next one would be."""
        events = self._events.pop(key, None) or deque()
        self._events[key] = events  # most recently used last
        while events and now - events[0] >= self.window:
            events.popleft()
        if len(events) >= self.limit:
            return events[0] + self.window - now
        events.append(now)
        while len(self._events) > MAX_CLIENTS:
            del self._events[next(iter(self._events))]
        return None
