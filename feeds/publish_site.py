"""Publishing the output folder: per-source and merged feeds, the calendar and the index.

Only what changed is rendered; files are written atomically and only when their bytes differ,
so an unchanged build leaves every file (and its ETag) as it was. Each file gets a gzip sidecar
(`all.rss.gz`) written with it. With `[site] websub_hub`, the hub is pinged for each feed whose
bytes changed, in the background, once the refresh has published everything. Rendering is pure
work on items already read from the store, so it goes through the `Work` seam (feeds.work) and
may run in a worker process while this one stores the next source.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, Engine

from config.durations import format_duration
from config.schema import Settings, SourceSettings
from feeds.clock import Clock
from feeds.model import Deadline, Item
from feeds.publish import write_with_sidecar
from feeds.render.calendar import CalendarEvent, render_calendar
from feeds.render.display import closing_line, countdown_changes_at, duration_text
from feeds.render.feed_xml import FeedInfo, render_rss_and_atom
from feeds.render.index_page import (
    FeedLinks,
    RecentItems,
    SubscribeForm,
    UpcomingDeadline,
    read_valid_until,
    render_index,
)
from feeds.render.json_feed import render_json_feed
from feeds.site_feeds import MERGED, render_feed_list
from feeds.store.deadlines import StoredDeadline, active_deadlines, deadline_rows_with_items
from feeds.store.items import newest_items
from feeds.websub import HubPinger
from feeds.work import LocalWork, Work

log = logging.getLogger(__name__)

FORMATS = ("rss", "atom", "json")
FEED_SUFFIXES = tuple(f".{fmt}" for fmt in FORMATS)
CALENDAR_FILE = "deadlines.ics"
INDEX_FILE = "index.html"
OPML_FILE = "feeds.opml"
PING_DRAIN_SECONDS = 5.0
CALENDAR_MAX_EVENTS = 1000
RECENT_PER_SOURCE = 5
# A source's feeds of at most this many items render in this process (~5 ms per 100 items),
# bigger ones in a worker. They are published while a refresh stores the next sources, and
# the workers' queue then holds the deadlines of every page still to store: a small feed
# waited behind all of them, and its files were written only at the end of the build.
RENDER_HERE_MAX_ITEMS = 200


def render_feed_files(info: FeedInfo, items: Sequence[Item], base_name: str) -> dict[str, bytes]:
    """The RSS, Atom and JSON Feed files of one feed, by file name (a pure step)."""
    names = {fmt: f"{base_name}.{fmt}" for fmt in FORMATS}
    rss, atom = render_rss_and_atom(info, items, names["rss"], names["atom"])
    json_feed = render_json_feed(info, items, names["json"])
    return {names["rss"]: rss, names["atom"]: atom, names["json"]: json_feed}


def render_deadline_calendar(events: Sequence[CalendarEvent], name: str) -> bytes:
    """`deadlines.ics` (a pure step)."""
    return render_calendar(events, name=name)


class SitePublisher:
    def __init__(
        self, settings: Settings, engine: Engine, clock: Clock, work: Work | None = None
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.clock = clock
        self.work: Work = work or LocalWork()
        self.out = settings.site.output_dir
        #: When the index last rendered would next read differently (a countdown moves on
        #: or a deadline closes); the daemon re-renders it then.
        self.index_changes_at: datetime | None = None
        hub = settings.site.websub_hub
        self.websub = HubPinger(str(hub), clock) if hub is not None else None
        self._changed_feeds: list[str] = []  # since the last ping

    def has_files(self, base_name: str) -> bool:
        return all((self.out / f"{base_name}.{fmt}").is_file() for fmt in FORMATS)

    async def publish_source(self, source: SourceSettings) -> list[str]:
        """Render and write one source's feeds; the names of files whose bytes changed."""
        site = self.settings.site
        info = FeedInfo(
            title=source.title,
            self_url_base=str(site.base_url),
            page_link=source.page_link,
            description=source.title,
            language=source.language,
            author=source.title,
            hub=self._hub,
        )
        items = await asyncio.to_thread(self._read_items, [source.id])
        if len(items) <= RENDER_HERE_MAX_ITEMS:
            files = await asyncio.to_thread(render_feed_files, info, items, source.id)
        else:
            files = await self.work.run(render_feed_files, info, items, source.id)
        return await self._write(files)

    async def publish_site(self, sources_changed: bool, deadlines_changed: bool) -> list[str]:
        """The merged feeds, the calendar and the index, where anything they show changed."""
        site = self.settings.site
        merged: asyncio.Future[dict[str, bytes]] | None = None
        if sources_changed or not self.has_files(MERGED):
            info = FeedInfo(
                title=site.title,
                self_url_base=str(site.base_url),
                page_link=str(site.base_url),
                description=f"{site.title}: all sources",
                language=site.language,
                author=site.title,
                hub=self._hub,
            )
            items = await asyncio.to_thread(self._read_items, [s.id for s in self.settings.sources])
            merged = asyncio.ensure_future(self.work.run(render_feed_files, info, items, MERGED))
        written: list[str] = []
        try:
            missing = not all(
                (self.out / name).is_file() for name in (CALENDAR_FILE, INDEX_FILE, OPML_FILE)
            )
            stale = self.index_stale()  # a countdown moved on (`feedline once` from cron too)
            if sources_changed or deadlines_changed or missing or stale:  # meanwhile, merged
                calendar_and_index = await self._calendar_and_index()
            else:
                calendar_and_index = {}
        finally:
            files = await merged if merged is not None else {}
        written += await self._write(files | calendar_and_index)
        self._ping()
        return written

    @property
    def _hub(self) -> str | None:
        return self.websub.hub if self.websub is not None else None

    def _ping(self) -> None:
        """Tell the hub about every feed changed since the last ping (in the background)."""
        changed, self._changed_feeds = self._changed_feeds, []
        if self.websub is not None and changed:
            base = str(self.settings.site.base_url)
            self.websub.notify([base + name for name in dict.fromkeys(changed)])

    async def close(self) -> None:
        """Wait a little for pings in flight (a CLI run exits right after its refresh)."""
        if self.websub is not None:
            await self.websub.drain(PING_DRAIN_SECONDS)

    def _read_items(self, source_ids: Sequence[str]) -> list[Item]:
        with self.engine.connect() as conn:
            return self._items(conn, source_ids)

    async def _write(self, files: dict[str, bytes]) -> list[str]:
        """Write `files` side by side, each in a thread of its own: most of a write is waiting
        for its fsync, and waits of files written together overlap (a build's last step
        wrote its dozen files one after another, ~4 ms each). The names whose bytes changed,
        in the order given."""
        changed = await asyncio.gather(
            *(
                asyncio.to_thread(write_with_sidecar, self.out / name, data)
                for name, data in files.items()
            )
        )
        written = [name for name, wrote in zip(files, changed, strict=True) if wrote]
        self._changed_feeds += [name for name in written if name.endswith(FEED_SUFFIXES)]
        return written

    def _items(self, conn: Connection, source_ids: Sequence[str]) -> list[Item]:
        if not source_ids:
            return []

        def deadlines_of(item_ids: Sequence[str]) -> dict[str, list[Deadline]]:
            by_item: dict[str, list[Deadline]] = {}
            for stored in active_deadlines(conn, item_ids=item_ids):
                by_item.setdefault(stored.deadline.item_id, []).append(stored.deadline)
            return by_item

        return newest_items(
            conn, source_ids, self.settings.site.max_items, deadlines_of=deadlines_of
        )

    async def _calendar_and_index(self) -> dict[str, bytes]:
        site = self.settings.site
        now = self.clock.now()

        def read() -> list[tuple[StoredDeadline, str, str]]:
            with self.engine.connect() as conn:
                return deadline_rows_with_items(conn)[-CALENDAR_MAX_EVENTS:]

        rows = await asyncio.to_thread(read)
        events = [
            CalendarEvent(
                uid=stored.uid,
                sequence=stored.sequence,
                summary=stored.deadline.label,
                url=link,
                description=f"{closing_line(stored.deadline)}\n\n{title}\n{link}",
                closes_at=stored.deadline.closes_at,
                stamp=stored.updated_at,
            )
            for stored, title, link in rows
        ]
        name = f"{site.title}: deadlines"
        # Here, not in a worker: at the end of a build the worker is still rendering the
        # merged feeds, and the calendar waited behind them (~0.3 s under load for 20 ms).
        calendar = await asyncio.to_thread(render_deadline_calendar, events, name)
        feeds = [FeedLinks(site.title + " (all sources)", "", MERGED)] + [
            FeedLinks(s.title, s.page_link, s.id) for s in self.settings.sources
        ]
        upcoming = [
            UpcomingDeadline(s, t, link) for s, t, link in rows if s.deadline.closes_at > now
        ]
        recent = await asyncio.to_thread(self._recent)
        self.index_changes_at = min(
            (countdown_changes_at(u.stored.deadline.closes_at, now) for u in upcoming),
            default=None,
        )
        page = render_index(
            title=site.title,
            base_url=str(site.base_url),
            feeds=feeds,
            upcoming=upcoming,
            now=now,
            form=index_form(self.settings),
            recent=recent,
            language=site.language,
            valid_until=self.index_changes_at,
        )
        return {
            CALENDAR_FILE: calendar,
            INDEX_FILE: page,
            OPML_FILE: render_feed_list(self.settings),
        }

    def index_stale(self) -> bool:
        """Has the clock passed the time the index on disk says it reads right until?"""
        until = read_valid_until(self.out / INDEX_FILE)
        return until is not None and self.clock.now() >= until

    def _recent(self) -> list[RecentItems]:
        with self.engine.connect() as conn:
            return [
                RecentItems(
                    source.title,
                    source.id,
                    newest_items(conn, [source.id], RECENT_PER_SOURCE, deadlines_of=_no_deadlines),
                    source.timezone,
                )
                for source in self.settings.sources
            ]

    async def publish_index(self) -> list[str]:
        """Re-render the calendar and the index (a deadline closed, a countdown moved on)."""
        return await self._write(await self._calendar_and_index())


def _no_deadlines(item_ids: Sequence[str]) -> dict[str, list[Deadline]]:
    return {}


def index_form(settings: Settings) -> SubscribeForm:
    """The index's sign-up form: every source, the offered offsets, the default ones ticked."""
    offered = settings.subscriptions.offsets_offered or settings.reminders.offsets
    default = set(settings.reminders.offsets)
    return SubscribeForm(
        action="subscribe",
        sources=[(s.id, s.title, True) for s in settings.sources],
        offsets=[(format_duration(o), duration_text(o), o in default) for o in offered],
        from_index=True,
    )
