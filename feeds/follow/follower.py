"""The follow stage: each listed item's own page read into the item, politely and safely.

`Follower.follow` takes what a source's reader gave (the listing's entries, or "unchanged") and
gives entries whose content is each page's main text and whose dates are the page's where the
listing has none, plus the page records to store. Which pages are fetched:

- new pages (never read well), at most `follow_max` per refresh, newest first;
- known pages while the item is younger than `follow_days`, holds an open deadline, or failed
  last time; conditionally (ETag / Last-Modified), so an unchanged page costs a 304;
- no others: older pages keep what was read.

When the listing did not change either, the pages are revalidated from their states alone
(`page_states`, read for every followed source in one query as the refresh starts, without the
stored texts); the full records are read only when a page changed, failed or is new.

Each fetch passes the link policy (feeds.follow.links) and the site's robots.txt, and at most
`[fetch] per_host` requests go to one host at once (spaced by robots.txt's Crawl-delay, up to
MAX_CRAWL_DELAY). A page that fails keeps its item with the listing's data and the page's last
good data; it is reported by URL and retried at the next refresh. It never fails the source.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from config.schema import SourceSettings
from feeds.clock import Clock
from feeds.errors import ItemError, SourceError
from feeds.fetch import Fetcher, FetchResult
from feeds.follow.links import LinkPolicy, Resolve, resolve_host
from feeds.follow.page import extractor_key, read_item_page
from feeds.follow.record import PageRecord, PageState
from feeds.follow.robots import RobotsCache
from feeds.identity import natural_id, normalise_url
from feeds.model import Entry
from feeds.sources.base import FetchState, SourceRead
from feeds.store import pages as page_store
from feeds.work import Batches, LocalWork, Work

log = logging.getLogger(__name__)

ACCEPT_PAGE = "text/html, application/xhtml+xml;q=0.9"
MAX_CRAWL_DELAY = 10.0
Sleep = Callable[[float], Awaitable[None]]
Page = TypeVar("Page", PageRecord, PageState)
Fetched = FetchResult | str  # the answer, or why the page could not be fetched


@dataclass(frozen=True, slots=True)
class Followed:
    """The read with followed pages merged in, the page records to store, what failed."""

    read: SourceRead
    records: tuple[PageRecord, ...]
    problems: tuple[ItemError, ...]
    fetched: int = 0  # pages fetched (200 or 304) in this refresh
    deferred: int = 0  # new pages left for the next refresh (follow_max)
    # Pages (`page_url`) whose records are as stored: their entries are as the last refresh
    # stored them, so nothing about their items needs working out again.
    as_stored: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class KnownPages:
    """What the store knows before following: page records by URL, items with open deadlines."""

    records: Mapping[str, PageRecord]
    open_items: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class SourcePages:
    """What the store knew of a source's pages as the refresh started, without their texts."""

    states: Mapping[str, PageState]
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
        # Pages go to the workers in batches; this process helps when they are all busy.
        self._reads = Batches(self.work, read_item_page, help_out=True)
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

    def page_states(self, source_ids: Sequence[str]) -> dict[str, SourcePages]:
        """The page states of these sources, from the store in one go (call in a thread)."""
        if self.engine is None or not source_ids:
            return {}
        with self.engine.connect() as conn:
            states = page_store.load_page_states(conn, source_ids)
            open_items = page_store.open_deadline_items_of(conn, source_ids, self.clock.now())
        return {
            source_id: SourcePages(
                states.get(source_id, {}), frozenset(open_items.get(source_id, ()))
            )
            for source_id in source_ids
        }

    async def follow(
        self,
        source: SourceSettings,
        read: SourceRead,
        known: KnownPages | None = None,
        pages: SourcePages | None = None,
    ) -> Followed:
        """`known`: the source's page records, read from the store when not given; `pages`:
        their states as the refresh started, which spare reading the records when nothing
        changed (or when the store has none)."""
        now = self.clock.now()
        key = extractor_key(source.select.page if source.select else None)
        policy = LinkPolicy(source.id, source.page_link, source.follow_hosts, resolve=self._resolve)
        answers: dict[str, Fetched] = {}
        if known is None and pages is not None:
            if not pages.states:
                known = KnownPages({}, pages.open_items)
            elif read.unchanged:
                quick = await self._revalidate(source, read, pages, policy, key, now)
                if isinstance(quick, Followed):
                    return quick
                answers = quick
        if known is None:
            known = await asyncio.to_thread(self.known, source.id)
        records = self._records(source, read, known, now)
        due, deferred = self._due(source, records, known.open_items, key, now)
        results = await asyncio.gather(
            *(self._read_page(source, policy, r, key, now, answers.get(r.url)) for r in due)
        )
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
        as_stored = frozenset(url for url, r in final.items() if known.records.get(url) == r)
        return Followed(out, tuple(changed), problems, fetched, deferred, as_stored)

    async def _revalidate(
        self,
        source: SourceSettings,
        read: SourceRead,
        pages: SourcePages,
        policy: LinkPolicy,
        key: str,
        now: datetime,
    ) -> Followed | dict[str, Fetched]:
        """An unchanged listing's pages revalidated from their states: the outcome when every
        answer leaves every record as it was (no record read, nothing to store), else the
        answers by URL, for `follow` to apply to the records. Nothing is fetched when a page
        is to be read anew (new, failed before, another extractor): `follow` reads those."""
        due, deferred = self._due(source, pages.states, pages.open_items, key, now)
        if deferred or any(not s.has_page or s.extract_key != key or not s.clean for s in due):
            return {}
        answers = await asyncio.gather(*(self._fetch(source, policy, s.url, s.fetch) for s in due))
        if all(
            isinstance(answer, FetchResult) and answer.unchanged and answer.state == state.fetch
            for state, answer in zip(due, answers, strict=True)
        ):
            return Followed(read, (), (), len(due))
        return {state.url: answer for state, answer in zip(due, answers, strict=True)}

    def _records(
        self, source: SourceSettings, read: SourceRead, known: KnownPages, now: datetime
    ) -> dict[str, PageRecord]:
        if read.unchanged:
            return dict(known.records)
        records: dict[str, PageRecord] = {}
        for entry in read.entries:
            url = page_url(entry)
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
        records: Mapping[str, Page],
        open_items: frozenset[str],
        key: str,
        now: datetime,
    ) -> tuple[list[Page], int]:
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
                or r.item_id in open_items
            )
        ]
        chosen = new[: source.follow_max]
        return chosen + again, len(new) - len(chosen)

    @staticmethod
    def _merged(entry: Entry, records: Mapping[str, PageRecord]) -> Entry:
        url = page_url(entry)
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

    async def _fetch(
        self, source: SourceSettings, policy: LinkPolicy, url: str, state: FetchState
    ) -> Fetched:
        """The page fetched (conditionally on `state`), past the link policy, robots.txt and
        the host's slots; or why it could not be."""
        try:
            await policy.check(url)
            rules = await self.robots.check(source.id, url, policy)
            host = urlsplit(url).netloc
            async with self._host_slot(host):
                await self._space(host, rules.crawl_delay())
                return await self.fetcher.get(
                    url, state, accept=ACCEPT_PAGE, source_id=source.id, guard=policy
                )
        except SourceError as error:
            return error.detail
        except Exception as error:  # a page that cannot be fetched must not stop the others
            log.exception("source %s: fetching item page %s failed", source.id, url)
            return f"could not read the page: {error.__class__.__name__}"

    async def _read_page(
        self, source: SourceSettings, policy: LinkPolicy, record: PageRecord, key: str,
        now: datetime, fetched: Fetched | None = None,
    ) -> PageRecord:  # fmt: skip
        """The record after fetching its page (unless `fetched` already holds the answer to
        the request this would make) and reading it."""
        reuse = record.has_page and record.extract_key == key
        if fetched is None:
            state = record.fetch if reuse else FetchState()
            fetched = await self._fetch(source, policy, record.url, state)
        if isinstance(fetched, str):
            return record.failed(fetched, now)
        result = fetched
        try:
            if result.unchanged and reuse:
                return replace(record, fetch=result.state, error=None, error_at=None, failures=0)
            text = result.text(source.encoding)
            today = now.astimezone(ZoneInfo(source.timezone)).date()
            selector = source.select.page if source.select else None
            page = await self._reads.run(text, result.url, selector, source.timezone, today)
        except SourceError as error:
            return record.failed(error.detail, now)
        except LookupError:
            return record.failed(f"unknown encoding {source.encoding!r}", now)
        except Exception as error:  # a page the extractor cannot read must not stop the others
            log.exception("source %s: reading item page %s failed", source.id, record.url)
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


def page_url(entry: Entry) -> str | None:
    """The page to follow: the entry's web link (a mailto: link is nothing to follow)."""
    if not entry.link or urlsplit(entry.link).scheme.lower() not in ("http", "https"):
        return None
    return normalise_url(entry.link)


def _page_data(record: PageRecord | None) -> tuple[object, ...]:
    if record is None:
        return ()
    return (record.content, record.published, record.updated)
