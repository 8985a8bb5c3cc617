"""The refresh pipeline: read sources, store items, extract deadlines, publish feeds.

Stages hand data on; only the readers, the store and the publisher touch the outside world.
A failing source keeps its last good items and files; the others still build.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from config.schema import Settings, SourceSettings
from feeds.clock import Clock
from feeds.deadlines import choose_reference, find_deadlines
from feeds.deadlines.ahead import PageDeadlines, Reference, work_out
from feeds.deadlines.cues import has_cue_word
from feeds.errors import FeedlineError, ItemError, SourceError
from feeds.follow.follower import Follower, SourcePages, page_url
from feeds.follow.record import PageRecord
from feeds.heap import older_objects_left_alone
from feeds.model import Entry
from feeds.overrides import apply_overrides, matches
from feeds.publish_site import SitePublisher
from feeds.sanitise import html_to_text
from feeds.sources.base import FetchState, SourceRead, SourceReader
from feeds.store import items as item_store
from feeds.store import pages as page_store
from feeds.store import sources as source_store
from feeds.store.deadlines import DeadlineChange, NewItemDeadlines, save_deadlines
from feeds.work import LocalWork, Work

log = logging.getLogger(__name__)

DeadlineHook = Callable[[Connection, Sequence[DeadlineChange]], None]


@dataclass(slots=True)
class SourceOutcome:
    source_id: str
    status: str  # "ok", "unchanged" or "failed"
    entries: int = 0
    new: int = 0
    updated: int = 0
    deadline_changes: list[DeadlineChange] = field(default_factory=list)
    problems: list[ItemError] = field(default_factory=list)
    error: FeedlineError | None = None
    consecutive_failures: int = 0


@dataclass(slots=True)
class RefreshReport:
    outcomes: list[SourceOutcome] = field(default_factory=list)
    files_written: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[SourceOutcome]:
        return [o for o in self.outcomes if o.status == "failed"]


@dataclass(frozen=True, slots=True)
class _ReadToStore:
    read: SourceRead
    key: str  # the render key it is stored under
    same_settings: bool  # the settings are those of the last store
    texts: tuple[str, ...] = ()  # each entry's title and text, as deadlines are found in it
    ahead: PageDeadlines | None = None  # deadlines worked out before the store's turn
    pages: tuple[PageRecord, ...] = ()  # followed item pages to store with the items
    as_stored: frozenset[str] = frozenset()  # followed pages whose entries are as stored
    worked: frozenset[str] = frozenset()  # the texts `ahead` worked out


@dataclass(frozen=True, slots=True)
class _Unchanged:
    source: SourceSettings
    read: SourceRead
    key: str  # the render key
    pages: tuple[PageRecord, ...]  # followed item pages whose records changed all the same


def render_key(settings: Settings, source: SourceSettings) -> str:
    """Everything in the settings that changes what a source's items or files look like."""
    parts = [
        source.model_dump_json(),
        settings.site.model_dump_json(),
        "|".join(o.model_dump_json() for o in settings.overrides),
        # Followed items store the listing's teaser as their summary since 0004_item_summary:
        # one full read of each such source stores the teasers of the items it already has.
        "v1-summary" if source.follow else "v1",
    ]
    return hashlib.blake2b("\x00".join(parts).encode(), digest_size=16).hexdigest()


def _page_texts(entries: Sequence[Entry]) -> tuple[str, ...]:
    """Each entry's title and text, as deadlines are found in it."""
    return tuple(
        f"{e.title}\n\n{html_to_text(e.content) if e.content_is_html else e.content}"
        for e in entries
    )


class Refresher:
    """Refreshes sources into the store and the output folder."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        readers: Mapping[str, SourceReader],
        clock: Clock,
        *,
        on_deadlines: DeadlineHook | None = None,
        work: Work | None = None,
        follower: Follower | None = None,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.readers = readers
        self.clock = clock
        self.on_deadlines = on_deadlines
        self.work: Work = work or LocalWork()
        self.follower = follower  # reads item pages for sources with `follow = true`
        self.publisher = SitePublisher(settings, engine, clock, self.work)

    async def refresh(self, only: Sequence[str] | None = None) -> RefreshReport:
        with older_objects_left_alone():  # feeds/heap.py: a full collection cost ~8% of a build
            return await self._refresh(only)

    async def _refresh(self, only: Sequence[str] | None) -> RefreshReport:
        chosen = [s for s in self.settings.sources if only is None or s.id in only]
        limit = asyncio.Semaphore(self.settings.fetch.concurrency)
        stored, pages = await asyncio.to_thread(self._stored_states, chosen)
        unchanged: list[_Unchanged] = []

        # Reads overlap; stores take turns in the order of the configuration, so a fresh build
        # gives the same ids, and the same source keeps an item two sources list, every time.
        # A source's own feeds are published as soon as it is stored, beside the next store.
        turns = [asyncio.Event() for _ in chosen]
        feeds: dict[str, asyncio.Task[list[str]]] = {}

        async def one(index: int, source: SourceSettings) -> SourceOutcome:
            try:
                async with limit:
                    result = await self._read_source(
                        source, stored.get(source.id), pages.get(source.id), unchanged
                    )
                if isinstance(result, _ReadToStore):  # before the turn: pages overlap here too
                    result = await self._work_ahead(source, result)
                if index > 0:
                    await turns[index - 1].wait()
                if isinstance(result, SourceOutcome):
                    return result
                outcome = await self._store_read(source, result)
                if outcome.status == "ok":
                    feeds[source.id] = asyncio.create_task(self.publisher.publish_source(source))
                return outcome
            finally:
                turns[index].set()  # whatever happened, the next source may store

        try:
            outcomes = await asyncio.gather(*(one(n, s) for n, s in enumerate(chosen)))
        except BaseException:  # a bug or a cancellation: no feed left half-published behind
            for task in feeds.values():
                task.cancel()
            await asyncio.gather(*feeds.values(), return_exceptions=True)
            raise
        report = RefreshReport(list(outcomes))
        if unchanged:  # one transaction for all: a quiet refresh costs little
            await asyncio.to_thread(self._mark_unchanged, unchanged)
        for source in self.settings.sources:  # feeds deleted from the output folder come back
            if source.id not in feeds and not self.publisher.has_files(source.id):
                feeds[source.id] = asyncio.create_task(self.publisher.publish_source(source))
        try:
            published = await asyncio.gather(*feeds.values(), return_exceptions=True)
            for failure in published:
                if isinstance(failure, BaseException):
                    raise failure
            for source in self.settings.sources:  # file names in the order of the configuration
                if source.id in feeds:
                    report.files_written += feeds[source.id].result()
            report.files_written += await self.publisher.publish_site(
                sources_changed=bool(feeds),
                deadlines_changed=any(o.deadline_changes for o in report.outcomes),
            )
        except Exception:
            # E.g. the disk is full: the items are stored but their feeds (or the merged ones)
            # are not written. Without this the next refresh found the sources unchanged and
            # left the old files (tests/faults/test_disk_full.py).
            await asyncio.to_thread(self._forget_render_keys, list(feeds))
            raise
        return report

    def _forget_render_keys(self, source_ids: Sequence[str]) -> None:
        with self.engine.begin() as conn:
            source_store.forget_render_keys(conn, source_ids)

    def _stored_states(
        self, sources: Sequence[SourceSettings]
    ) -> tuple[dict[str, source_store.StoredState], dict[str, SourcePages]]:
        """What the last reads left, and the states of followed sources' pages."""
        with self.engine.connect() as conn:
            stored = source_store.stored_states(conn, [s.id for s in sources])
        followed = [s.id for s in sources if s.follow]
        pages = self.follower.page_states(followed) if self.follower is not None else {}
        return stored, pages

    async def _read_source(
        self,
        source: SourceSettings,
        stored: source_store.StoredState | None,
        page_states: SourcePages | None,
        unchanged: list[_Unchanged],
    ) -> SourceOutcome | _ReadToStore:
        """Read one source: an outcome when there is nothing to store, else what to store."""
        reader = self.readers.get(source.kind)
        if reader is None:
            return await self._failed(
                source, SourceError(source.id, f"no reader for {source.kind}")
            )
        key = render_key(self.settings, source)
        same_settings = stored is not None and stored.render_key == key
        # Changed settings (or missing files) need a full read, whatever the bytes are.
        full_read = not same_settings or not self.publisher.has_files(source.id)
        previous = stored.fetch if stored is not None and not full_read else FetchState()
        try:
            read = await reader.read(source, previous)
        except SourceError as error:
            return await self._failed(source, error)
        except Exception as error:  # a reader bug must not take the other sources down
            log.exception("source %s: unexpected error", source.id)
            wrapped = SourceError(source.id, f"unexpected {error.__class__.__name__}: {error}")
            return await self._failed(source, wrapped)
        pages: tuple[PageRecord, ...] = ()
        as_stored: frozenset[str] = frozenset()
        if source.follow and self.follower is not None:
            followed = await self.follower.follow(source, read, pages=page_states)
            read = replace(followed.read, problems=followed.read.problems + followed.problems)
            pages, as_stored = followed.records, followed.as_stored
        if read.unchanged:
            # Recorded with the others after the reads (with what changed of its pages, if
            # anything: failures and validators), in one transaction for all.
            unchanged.append(_Unchanged(source, read, key, pages))
            return SourceOutcome(source.id, "unchanged", problems=list(read.problems))
        return _ReadToStore(read, key, same_settings, pages=pages, as_stored=as_stored)

    async def _work_ahead(self, source: SourceSettings, read: _ReadToStore) -> _ReadToStore:
        """The page's texts, and where steps can run beside the store, its deadlines."""
        entries = read.read.entries
        texts = _page_texts(entries)
        if not self.work.parallel or not entries:
            return replace(read, texts=texts)  # here, the store finds them as it goes
        zone = ZoneInfo(source.timezone)
        first_seen = self.clock.now().astimezone(zone).date()
        undated = first_seen if source.first_seen_is_published else None
        published = [
            e.published.astimezone(zone).date() if e.published else undated for e in entries
        ]
        chosen = list(range(len(entries)))
        if read.same_settings and read.as_stored:
            # Items whose pages and listing entries are as stored are not extracted again:
            # only the others are worked out. Not when one of those is undated: its reference
            # is chosen from all the page's texts, as the store chooses it.
            others = [n for n, e in enumerate(entries) if page_url(e) not in read.as_stored]
            if all(published[n] is not None for n in others):
                chosen = others
        if not chosen:
            return replace(read, texts=texts)
        worked = [texts[n] for n in chosen]
        try:
            ahead = await self.work.run(
                work_out,
                worked,
                [published[n] for n in chosen],
                first_seen,
                source.language,
                source.timezone,
                help_out=source.follow,  # beside page reads (docs/design.md, issue 12)
            )
        except Exception:  # the store finds every deadline itself, and reports what fails
            log.debug("source %s: deadlines not worked out ahead", source.id, exc_info=True)
            ahead = None
        return replace(read, texts=texts, ahead=ahead, worked=frozenset(worked))

    async def _store_read(self, source: SourceSettings, read: _ReadToStore) -> SourceOutcome:
        try:
            return await asyncio.to_thread(self._store, source, read)
        except SQLAlchemyError as error:  # rolled back: the source keeps its last good items
            log.debug("source %s: storing failed", source.id, exc_info=True)
            detail = str(error).splitlines()[0] if str(error) else ""
            message = f"could not store its items: {error.__class__.__name__}: {detail}"
            return await self._failed(source, SourceError(source.id, message))

    def _mark_unchanged(self, unchanged: Sequence[_Unchanged]) -> None:
        now = self.clock.now()
        with self.engine.begin() as conn:
            page_store.save_pages(conn, [page for u in unchanged for page in u.pages])
            reads = [(u.source.id, u.read.state, u.key) for u in unchanged]
            source_store.record_successes(conn, reads, now)

    async def _failed(self, source: SourceSettings, error: FeedlineError) -> SourceOutcome:
        def record() -> int:
            with self.engine.begin() as conn:
                return source_store.record_failure(conn, source.id, str(error), self.clock.now())

        failures = await asyncio.to_thread(record)
        return SourceOutcome(source.id, "failed", error=error, consecutive_failures=failures)

    def _store(self, source: SourceSettings, to_store: _ReadToStore) -> SourceOutcome:
        read, ahead = to_store.read, to_store.ahead
        now = self.clock.now()
        zone = ZoneInfo(source.timezone)
        outcome = SourceOutcome(
            source.id, "ok", entries=len(read.entries), problems=list(read.problems)
        )
        texts = to_store.texts or _page_texts(read.entries)
        text_by_title = {e.title: t for e, t in zip(read.entries, texts, strict=True)}
        page_reference: Reference | None = None
        with self.engine.begin() as conn:
            result = item_store.upsert_entries(conn, source, read.entries, now)
            outcome.new, outcome.updated = result.new, result.updated
            page_store.save_pages(conn, to_store.pages)
            outcome.problems += result.problems
            to_extract = result.stored if not to_store.same_settings else result.changed
            uid_domain = urlsplit(source.page_link).hostname or "feedline.invalid"
            new_item_deadlines = NewItemDeadlines(source.id, now, uid_domain)
            overrides = self.settings.overrides
            for stored in to_extract:
                entry = stored.entry
                text = text_by_title[entry.title]
                overridden = bool(overrides) and any(
                    matches(o, stored.item_id, entry.title) for o in overrides
                )
                if ahead is not None and text in to_store.worked:
                    has_cue = ahead.has_cue(text)
                else:
                    has_cue = has_cue_word(text)
                if stored.status == "new" and not overridden and not has_cue:
                    continue  # nothing to find and nothing stored: no work, no query
                if entry.published is not None:
                    reference: Reference = (entry.published.astimezone(zone).date(), True)
                elif source.first_seen_is_published:
                    reference = (stored.first_seen.astimezone(zone).date(), True)
                else:
                    if page_reference is None:  # once per page, and only when needed
                        first_seen = stored.first_seen.astimezone(zone).date()
                        if ahead is not None:
                            page_reference = ahead.reference_for(first_seen)
                        if page_reference is None:
                            page_reference = choose_reference(
                                published=None,
                                texts=texts,
                                first_seen=first_seen,
                                language=source.language,
                            )
                    reference = page_reference
                found = ahead.deadlines(text, reference) if ahead is not None else None
                try:
                    if found is None:  # not worked out ahead, or not with this reference
                        found = find_deadlines(
                            text,
                            reference=reference[0],
                            timezone=source.timezone,
                            language=source.language,
                            reference_is_strong=reference[1],
                        )
                except Exception as error:  # never lose the item because extraction failed
                    log.exception("source %s: extraction failed on %r", source.id, entry.title)
                    outcome.problems.append(
                        ItemError(source.id, entry.title, f"deadline extraction failed: {error}")
                    )
                    continue
                with_origin = apply_overrides(
                    found,
                    overrides,
                    item_id=stored.item_id,
                    title=entry.title,
                    source_zone=source.timezone,
                )
                if stored.status == "new":
                    new_item_deadlines.add(stored.item_id, with_origin)
                    continue
                outcome.deadline_changes += new_item_deadlines.flush(conn)  # ids in item order
                outcome.deadline_changes += save_deadlines(
                    conn, stored.item_id, source.id, with_origin, now, uid_domain
                )
            outcome.deadline_changes += new_item_deadlines.flush(conn)
            if outcome.deadline_changes and self.on_deadlines is not None:
                self.on_deadlines(conn, outcome.deadline_changes)
            source_store.record_success(conn, source.id, read.state, now, to_store.key)
        return outcome
