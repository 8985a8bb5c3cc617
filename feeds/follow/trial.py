"""`feedline sources try`: what a source would produce, read now and stored nowhere.

The page (or feed) is read as the configured source would read it, each item's page followed
when asked, and the deadlines found as a refresh finds them (the item's date, else the best
date written on the page, as the reference for year-less dates).
"""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from config.schema import FetchSettings, SourceSettings
from feeds.clock import Clock
from feeds.deadlines import choose_reference, find_deadlines
from feeds.errors import ItemError
from feeds.fetch import Fetcher
from feeds.follow.follower import Follower, KnownPages
from feeds.model import Deadline, Entry
from feeds.refresh import _page_texts as page_texts  # the text a refresh finds deadlines in
from feeds.sources.base import FetchState
from feeds.sources.registry_fetched import fetched_readers


@dataclass(frozen=True, slots=True)
class TrialItem:
    entry: Entry
    deadlines: tuple[Deadline, ...]
    reference_is_strong: bool


@dataclass(frozen=True, slots=True)
class Trial:
    items: tuple[TrialItem, ...]
    problems: tuple[ItemError, ...]
    deferred: int  # item pages not followed (beyond follow_max)


async def try_source(source: SourceSettings, fetch: FetchSettings, clock: Clock) -> Trial:
    """Read `source` once, follow its item pages if it says so; store nothing."""
    async with Fetcher(fetch, now=clock.now) as fetcher:
        read = await fetched_readers(fetcher)[source.kind].read(source, FetchState())
        problems = list(read.problems)
        deferred = 0
        if source.follow:
            followed = await Follower(fetcher, clock).follow(source, read, KnownPages({}))
            read = followed.read
            problems += followed.problems
            deferred = followed.deferred
    zone = ZoneInfo(source.timezone)
    texts = page_texts(read.entries)
    first_seen = clock.now().astimezone(zone).date()
    page_reference = choose_reference(
        published=None, texts=texts, first_seen=first_seen, language=source.language
    )
    items = []
    for entry, text in zip(read.entries, texts, strict=True):
        if entry.published is not None:
            reference = (entry.published.astimezone(zone).date(), True)
        else:
            reference = page_reference
        found = find_deadlines(
            text,
            reference=reference[0],
            timezone=source.timezone,
            language=source.language,
            reference_is_strong=reference[1],
        )
        items.append(TrialItem(entry, tuple(found), reference[1]))
    return Trial(tuple(items), tuple(problems), deferred)
