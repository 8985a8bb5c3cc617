"""The follow stage: each listed item's own page read into the item, politely and safely.

`Follower.follow` takes what a source's reader gave (the listing's entries, or "unchanged") and
gives entries whose content is each page's main text and whose dates are the page's where the
listing has none, plus the page records to store. Which pages are fetched:

- new pages (never read well), at most `follow_max` per refresh, newest first;
- known pages while the item is younger than `follow_days`, holds an open deadline, or failed
  last time; conditionally (ETag / Last-Modified), so an unchanged page costs a 304;
- no others: older pages keep what was read.

Each fetch passes the link policy (feeds.follow.links) and the site's robots.txt, and at most
`[fetch] per_host` requests go to one host at once (spaced by robots.txt's Crawl-delay, up to
MAX_CRAWL_DELAY). A page that fails keeps its item with the listing's data and the page's last
good data; it is reported by URL and retried at the next refresh. It never fails the source.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from config.schema import SourceSettings
from feeds.clock import Clock
from feeds.errors import ItemError, SourceError
from feeds.fetch import Fetcher
from feeds.follow.links import LinkPolicy, Resolve, resolve_host
from feeds.follow.page import extractor_key, read_item_page
from feeds.follow.record import PageRecord
from feeds.follow.robots import RobotsCache
from feeds.identity import natural_id, normalise_url
from feeds.model import Entry
from feeds.sources.base import FetchState, SourceRead
from feeds.store import pages as page_store
from feeds.work import LocalWork, Work

log = logging.getLogger(__name__)

ACCEPT_PAGE = "text/html, application/xhtml+xml;q=0.9"
MAX_CRAWL_DELAY = 10.0
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Followed:
    """The read with followed pages merged in, the page records to store, what failed."""

    read: SourceRead
    records: tuple[PageRecord, ...]
    problems: tuple[ItemError, ...]
    fetched: int = 0  # pages fetched (200 or 304) in this refresh
    deferred: int = 0  # new pages left for the next refresh (follow_max)


@dataclass(frozen=True, slots=True)
class KnownPages:
    """What the store knows before following: page records by URL, items with open deadlines."""

    records: Mapping[str, PageRecord]
    open_items: frozenset[str] = frozenset()


class Follower:
    """Follows item pages for sources with `follow = true`. One per process."""

    def __init__(
        self,
        fetcher: Fetcher,
        clock: Clock,
        *,
        engine: Engine | None = None,
        work: Work | None = None,
        resolve: Resolve = resolve_host,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.fetcher = fetcher
        self.clock = clock
        self.engine = engine
        self.work: Work = work or LocalWork()
        self.robots = RobotsCache(fetcher, clock)
        self._resolve = resolve
        self._sleep = sleep
        self._hosts: dict[str, asyncio.Semaphore] = {}
        self._next_start: dict[str, float] = {}

    def known(self, source_id: str) -> KnownPages:
        """From the store (call in a thread)."""
        if self.engine is None:
            return KnownPages({})
        with self.engine.connect() as conn:
            records = page_store.load_pages(conn, source_id)
            open_items = page_store.open_deadline_items(conn, source_id, self.clock.now())
        return KnownPages(records, frozenset(open_items))

    async def follow(
        self, source: SourceSettings, read: SourceRead, known: KnownPages | None = None
    ) -> Followed:
        if known is None:
            known = await asyncio.to_thread(self.known, source.id)
        now = self.clock.now()
        key = extractor_key(source.select.page if source.select else None)
        policy = LinkPolicy(source.id, source.page_link, source.follow_hosts, resolve=self._resolve)
        records = self._records(source, read, known, now)
        due, deferred = self._due(source, records, known, key, now)
        results = await asyncio.gather(*(self._read_page(source, policy, r, key, now) for r in due))
        final = records | {r.url: r for r in results}
        changed = [r for url, r in final.items() if known.records.get(url) != r]
        failed = [
            after
            for before, after in zip(due, results, strict=True)
            if after.failures > before.failures
        ]
        problems = tuple(
            ItemError(source.id, r.url, f"item page not read: {r.error}") for r in failed
        )
        fetched = len(results) - len(failed)
        if not read.unchanged:
            entries = tuple(self._merged(e, final) for e in read.entries)
            out = replace(read, entries=entries)
        else:
            moved = [
                final[r.url].entry()
                for r in results
                if _page_data(known.records.get(r.url)) != _page_data(r)
            ]
            out = SourceRead(tuple(moved), read.state, problems=read.problems) if moved else read
        return Followed(out, tuple(changed), problems, fetched, deferred)

    def _records(
        self, source: SourceSettings, read: SourceRead, known: KnownPages, now: datetime
    ) -> dict[str, PageRecord]:
        if read.unchanged:
            return dict(known.records)
        records: dict[str, PageRecord] = {}
        for entry in read.entries:
            url = _page_url(entry)
            if url is None or url in records:
                continue
            item_id = natural_id(entry) or url
            old = known.records.get(url)
            if old is None:
                records[url] = PageRecord(source.id, url, item_id, entry, now)
            elif old.listing != entry or old.item_id != item_id:
                records[url] = replace(old, listing=entry, item_id=item_id)
            else:
                records[url] = old
        return records

    def _due(
        self,
        source: SourceSettings,
        records: Mapping[str, PageRecord],
        known: KnownPages,
        key: str,
        now: datetime,
    ) -> tuple[list[PageRecord], int]:
        young = timedelta(days=source.follow_days)
        # Never-read pages newest first; those that failed before take the slots left, so a
        # listing full of PDFs or dead links cannot starve its new items.
        unread = sorted(
            (r for r in records.values() if not r.has_page), key=lambda r: r.dated, reverse=True
        )
        new = [r for r in unread if not r.failures] + [r for r in unread if r.failures]
        again = [
            r
            for r in records.values()
            if r.has_page
            and (
                r.extract_key != key
                or r.failures > 0
                or now - r.dated < young
                or r.item_id in known.open_items
            )
        ]
        chosen = new[: source.follow_max]
        return chosen + again, len(new) - len(chosen)

    @staticmethod
    def _merged(entry: Entry, records: Mapping[str, PageRecord]) -> Entry:
        url = _page_url(entry)
        record = records.get(url) if url is not None else None
        if record is not None:
            return record.entry()
        # Nothing to follow: the entry as the listing gives it, no summary beside its content.
        return replace(entry, summary=None) if entry.summary is not None else entry

    def _host_slot(self, host: str) -> asyncio.Semaphore:
        if host not in self._hosts:
            self._hosts[host] = asyncio.Semaphore(self.fetcher.settings.per_host)
        return self._hosts[host]

    async def _space(self, host: str, delay: float) -> None:
        """Requests to one host start at least `delay` seconds apart (robots.txt Crawl-delay)."""
        if delay <= 0:
            return
        loop = asyncio.get_running_loop()
        start = max(loop.time(), self._next_start.get(host, 0.0))
        self._next_start[host] = start + min(delay, MAX_CRAWL_DELAY)
        wait = start - loop.time()
        if wait > 0:
            await self._sleep(wait)

    async def _read_page(
        self, source: SourceSettings, policy: LinkPolicy, record: PageRecord, key: str,
        now: datetime,
    ) -> PageRecord:  # fmt: skip
        url = record.url
        reuse = record.has_page and record.extract_key == key
        try:
            await policy.check(url)
            rules = await self.robots.check(source.id, url, policy)
            host = urlsplit(url).netloc
            async with self._host_slot(host):
                await self._space(host, rules.crawl_delay())
                result = await self.fetcher.get(
                    url,
                    record.fetch if reuse else FetchState(),
                    accept=ACCEPT_PAGE,
                    source_id=source.id,
                    guard=policy,
                )
            if result.unchanged and reuse:
                return replace(record, fetch=result.state, error=None, error_at=None, failures=0)
            text = result.text(source.encoding)
            today = now.astimezone(ZoneInfo(source.timezone)).date()
            selector = source.select.page if source.select else None
            page = await self.work.run(
                read_item_page, text, result.url, selector, source.timezone, today
            )
        except SourceError as error:
            return record.failed(error.detail, now)
        except LookupError:
            return record.failed(f"unknown encoding {source.encoding!r}", now)
        except Exception as error:  # a page the extractor cannot read must not stop the others
            log.exception("source %s: reading item page %s failed", source.id, url)
            return record.failed(f"could not read the page: {error.__class__.__name__}", now)
        return replace(
            record,
            fetch=result.state,
            extract_key=key,
            content=page.content,
            published=page.published,
            updated=page.updated,
            fetched_at=now,
            error=None,
            error_at=None,
            failures=0,
        )


def _page_url(entry: Entry) -> str | None:
    """The page to follow: the entry's web link (a mailto: link is nothing to follow)."""
    if not entry.link or urlsplit(entry.link).scheme.lower() not in ("http", "https"):
        return None
    return normalise_url(entry.link)


def _page_data(record: PageRecord | None) -> tuple[object, ...]:
    if record is None:
        return ()
    return (record.content, record.published, record.updated)
