"""WebSub publishing: tell the hub which feeds changed (`hub.mode=publish`, `hub.url=<feed>`).

One ping per changed feed, in the background, so a slow or failing hub never holds up or
fails a refresh. A ping that fails on the way (no answer, 429, 5xx) is retried with
exponential backoff; a hub that refuses (another 4xx) is not asked again for that version.
Every outcome is logged and counted, and the hub's state shows in `/healthz` (`hub_health`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx

from feeds.clock import Clock
from feeds.metrics import WEBSUB_PINGS_TOTAL

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]
USER_AGENT = "feedline (WebSub publisher)"


@dataclass(slots=True)
class HubState:
    """What this process knows about its hub."""

    hub: str
    last_ok: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    consecutive_failures: int = 0

    def as_json(self) -> dict[str, object]:
        return {
            "hub": self.hub,
            "ok": self.consecutive_failures == 0,
            "last_ok": self.last_ok.isoformat() if self.last_ok else None,
            "last_error": self.last_error,
            "last_error_at": self.last_error_at.isoformat() if self.last_error_at else None,
            "consecutive_failures": self.consecutive_failures,
        }


_STATES: dict[str, HubState] = {}  # per hub URL, for this process's /healthz


def hub_health(hub: str) -> dict[str, object]:
    """The `/healthz` view of `hub` (pings made by this process; none yet is `ok`)."""
    return _STATES.get(hub, HubState(hub)).as_json()


class _Refused(Exception):
    """The hub answered with a client error other than 429: asking again will not help."""


class HubPinger:
    """Publishes pings to one hub; `notify` returns at once, `drain` waits for the pings."""

    def __init__(
        self,
        hub: str,
        clock: Clock,
        *,
        attempts: int = 4,
        first_delay: timedelta = timedelta(seconds=2),
        timeout: float = 10.0,
        concurrency: int = 4,
        sleep: Sleep = asyncio.sleep,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.hub = hub
        self.clock = clock
        self.attempts = attempts
        self.first_delay = first_delay
        self.timeout = timeout
        self.concurrency = concurrency
        self.sleep = sleep
        self.transport = transport
        self.state = _STATES.setdefault(hub, HubState(hub))
        self._tasks: set[asyncio.Task[None]] = set()

    def notify(self, feed_urls: Sequence[str]) -> None:
        """Ping for each of `feed_urls` in the background (call from the event loop)."""
        if not feed_urls:
            return
        task = asyncio.create_task(self.ping(list(feed_urls)))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self, seconds: float | None = None) -> None:
        """Wait for the pings in flight (at most `seconds`; the rest are cancelled)."""
        if not self._tasks:
            return
        pending = set(self._tasks)
        _, late = await asyncio.wait(pending, timeout=seconds)
        for task in late:
            log.warning("websub: ping to %s still running at exit; dropped", self.hub)
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)

    async def ping(self, feed_urls: Sequence[str]) -> None:
        """One publish ping per feed URL; never raises."""
        limit = asyncio.Semaphore(self.concurrency)
        headers = {"User-Agent": USER_AGENT}
        async with httpx.AsyncClient(
            timeout=self.timeout, transport=self.transport, headers=headers
        ) as http:

            async def one(url: str) -> None:
                async with limit:
                    await self._ping_one(http, url)

            await asyncio.gather(*(one(url) for url in feed_urls))

    async def _ping_one(self, http: httpx.AsyncClient, feed_url: str) -> None:
        delay = self.first_delay.total_seconds()
        for attempt in range(1, self.attempts + 1):
            try:
                await self._post(http, feed_url)
            except _Refused as refused:
                self._failed(feed_url, str(refused))
                return
            except (httpx.HTTPError, _Retry) as error:
                problem = _describe(error)
                if attempt == self.attempts:
                    self._failed(feed_url, f"{problem} (after {attempt} attempts)")
                    return
                WEBSUB_PINGS_TOTAL.labels("retried").inc()
                log.debug("websub: ping for %s: %s; retrying in %.0fs", feed_url, problem, delay)
                await self.sleep(delay)
                delay *= 2
            else:
                WEBSUB_PINGS_TOTAL.labels("ok").inc()
                self.state.last_ok = self.clock.now()
                self.state.consecutive_failures = 0
                log.debug("websub: pinged %s for %s", self.hub, feed_url)
                return

    async def _post(self, http: httpx.AsyncClient, feed_url: str) -> None:
        response = await http.post(self.hub, data={"hub.mode": "publish", "hub.url": feed_url})
        if response.is_success:
            return
        reason = f"hub answered {response.status_code} {response.reason_phrase}".strip()
        if response.status_code == 429 or response.status_code >= 500:
            raise _Retry(reason)
        raise _Refused(reason)

    def _failed(self, feed_url: str, problem: str) -> None:
        WEBSUB_PINGS_TOTAL.labels("failed").inc()
        self.state.last_error = f"{feed_url}: {problem}"
        self.state.last_error_at = self.clock.now()
        self.state.consecutive_failures += 1
        log.warning("websub: ping to %s for %s failed: %s", self.hub, feed_url, problem)


class _Retry(Exception):
    """A failure worth another attempt (429, 5xx)."""


def _describe(error: Exception) -> str:
    if isinstance(error, httpx.TimeoutException):
        return "no answer in time"
    if isinstance(error, httpx.HTTPError):
        return f"{error.__class__.__name__}: {error}" if str(error) else error.__class__.__name__
    return str(error)
