"""Publishing the output folder: per-source and merged feeds, the calendar and the index.

Only what changed is rendered; files are written atomically and only when their bytes differ,
so an unchanged build leaves every file (and its ETag) as it was.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sqlalchemy import Connection, Engine

from config.schema import Settings
from feeds.clock import Clock
from feeds.model import Deadline, Item
from feeds.publish import write_atomic
from feeds.render.calendar import CalendarEvent, render_calendar
from feeds.render.display import closing_line
from feeds.render.feed_xml import FeedInfo, render_rss_and_atom
from feeds.render.index_page import FeedLinks, UpcomingDeadline, render_index
from feeds.render.json_feed import render_json_feed
from feeds.store.deadlines import active_deadlines, deadline_rows_with_items
from feeds.store.items import newest_items

log = logging.getLogger(__name__)

MERGED = "all"
FORMATS = ("rss", "atom", "json")
CALENDAR_FILE = "deadlines.ics"
INDEX_FILE = "index.html"
CALENDAR_MAX_EVENTS = 1000


class SitePublisher:
    def __init__(self, settings: Settings, engine: Engine, clock: Clock) -> None:
        self.settings = settings
        self.engine = engine
        self.clock = clock
        self.out = settings.site.output_dir

    def has_files(self, base_name: str) -> bool:
        return all((self.out / f"{base_name}.{fmt}").is_file() for fmt in FORMATS)

    def publish(self, changed: Sequence[str], deadlines_changed: bool) -> list[str]:
        """Render and write what changed; return the names of files whose bytes changed."""
        site = self.settings.site
        todo = [s for s in self.settings.sources if s.id in changed or not self.has_files(s.id)]
        written: list[str] = []
        with self.engine.connect() as conn:
            for source in todo:
                info = FeedInfo(
                    title=source.title,
                    self_url_base=str(site.base_url),
                    page_link=source.page_link,
                    description=source.title,
                    language=source.language,
                    author=source.title,
                )
                written += self._write_feeds(source.id, info, self._items(conn, [source.id]))
            if todo or not self.has_files(MERGED):
                ids = [s.id for s in self.settings.sources]
                info = FeedInfo(
                    title=site.title,
                    self_url_base=str(site.base_url),
                    page_link=str(site.base_url),
                    description=f"{site.title}: all sources",
                    language=site.language,
                    author=site.title,
                )
                written += self._write_feeds(MERGED, info, self._items(conn, ids))
            missing = (
                not (self.out / CALENDAR_FILE).is_file() or not (self.out / INDEX_FILE).is_file()
            )
            if todo or deadlines_changed or missing:
                written += self._write_calendar_and_index(conn)
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

    def _write_feeds(self, base_name: str, info: FeedInfo, items: Sequence[Item]) -> list[str]:
        names = {fmt: f"{base_name}.{fmt}" for fmt in FORMATS}
        rss, atom = render_rss_and_atom(info, items, names["rss"], names["atom"])
        rendered = {"rss": rss, "atom": atom, "json": render_json_feed(info, items, names["json"])}
        return [names[fmt] for fmt in FORMATS if write_atomic(self.out / names[fmt], rendered[fmt])]

    def _write_calendar_and_index(self, conn: Connection) -> list[str]:
        site = self.settings.site
        now = self.clock.now()
        rows = deadline_rows_with_items(conn)[-CALENDAR_MAX_EVENTS:]
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
        written = []
        calendar = render_calendar(events, name=f"{site.title}: deadlines")
        if write_atomic(self.out / CALENDAR_FILE, calendar):
            written.append(CALENDAR_FILE)
        feeds = [FeedLinks(site.title + " (all sources)", "", MERGED)] + [
            FeedLinks(s.title, s.page_link, s.id) for s in self.settings.sources
        ]
        upcoming = [
            UpcomingDeadline(s, t, link) for s, t, link in rows if s.deadline.closes_at >= now
        ]
        page = render_index(
            title=site.title, base_url=str(site.base_url), feeds=feeds, upcoming=upcoming
        )
        if write_atomic(self.out / INDEX_FILE, page):
            written.append(INDEX_FILE)
        return written
