"""robots.txt: fetched once per site and kept for a day (a failed fetch for ten minutes).

Per RFC 9309: a robots.txt that does not exist (HTTP 4xx) allows everything; one that cannot
be read (5xx, timeouts, refused connections) forbids everything until it can be.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from protego import Protego

from feeds.clock import Clock
from feeds.errors import HttpStatusError, RefusedURL, SourceError
from feeds.fetch import Fetcher, Guard
from feeds.sources.base import FetchState

AGENT = "feedline"
KEEP = timedelta(days=1)
KEEP_FAILED = timedelta(minutes=10)
ACCEPT_TEXT = "text/plain, */*;q=0.1"


@dataclass(frozen=True, slots=True)
class Rules:
    parser: Protego | None  # None: no rules at all
    unreachable: str | None  # why everything is forbidden for now
    until: datetime

    def crawl_delay(self) -> float:
        if self.parser is None:
            return 0.0
        delay = self.parser.crawl_delay(AGENT)
        return float(delay) if delay else 0.0


class RobotsCache:
    """One per process: answers `check(url)` from each site's robots.txt."""

    def __init__(self, fetcher: Fetcher, clock: Clock) -> None:
        self._fetcher = fetcher
        self._clock = clock
        self._rules: dict[str, Rules] = {}
        self._loading: dict[str, asyncio.Task[Rules]] = {}

    async def rules(self, url: str, guard: Guard | None = None) -> Rules:
        parts = urlsplit(url)
        site = f"{parts.scheme}://{parts.netloc}"
        known = self._rules.get(site)
        if known is not None and known.until > self._clock.now():
            return known
        task = self._loading.get(site)
        if task is None:
            task = asyncio.create_task(self._load(site, guard))
            self._loading[site] = task
        try:
            rules = await task
        finally:
            self._loading.pop(site, None)
        self._rules[site] = rules
        return rules

    async def _load(self, site: str, guard: Guard | None) -> Rules:
        now = self._clock.now()
        try:
            result = await self._fetcher.get(
                f"{site}/robots.txt", FetchState(), accept=ACCEPT_TEXT, guard=guard
            )
        except HttpStatusError as error:
            if 400 <= error.status < 500:
                return Rules(None, None, now + KEEP)
            return Rules(None, f"robots.txt unreadable ({error.detail})", now + KEEP_FAILED)
        except RefusedURL:
            raise
        except SourceError as error:
            return Rules(None, f"robots.txt unreadable ({error.detail})", now + KEEP_FAILED)
        return Rules(Protego.parse(result.text()), None, now + KEEP)

    async def check(self, source_id: str, url: str, guard: Guard | None = None) -> Rules:
        """The site's rules; raises `RefusedURL` when they forbid `url`."""
        rules = await self.rules(url, guard)
        if rules.unreachable is not None:
            raise RefusedURL(source_id, f"not fetched: {rules.unreachable}; retried later: {url}")
        if rules.parser is not None and not rules.parser.can_fetch(url, AGENT):
            host = urlsplit(url).netloc
            raise RefusedURL(source_id, f"robots.txt of {host} disallows {url} for {AGENT}")
        return rules
