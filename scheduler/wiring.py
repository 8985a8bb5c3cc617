"""Composition root: builds the parts from settings. The CLI and the daemon call this."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from functools import partial
from types import TracebackType

from sqlalchemy import Engine

from config.loading import LoadedSettings
from config.schema import Settings
from feeds.clock import Clock
from feeds.deadlines.ahead import warm_up
from feeds.fetch import Fetcher
from feeds.follow.follower import Follower
from feeds.refresh import DeadlineHook, Refresher
from feeds.sources.base import SourceReader
from feeds.sources.markdown_page import MarkdownPageReader
from feeds.sources.registry_fetched import fetched_readers
from feeds.sources.text_page import TextPageReader
from feeds.work import ProcessWork, Work
from scheduler.database import open_database


def build_readers(fetcher: Fetcher) -> dict[str, SourceReader]:
    # Pages are parsed in this process (in a thread), not in the worker processes: measured on
    # 2 CPUs, builds were 5-10% faster so (the workers are the busier side, and parsed entries
    # would cross back by pickle).
    max_bytes = fetcher.settings.max_bytes
    readers: dict[str, SourceReader] = {
        "text": TextPageReader(max_bytes),
        "markdown": MarkdownPageReader(max_bytes),
    }
    readers.update(fetched_readers(fetcher))
    return readers


@dataclass
class App(AbstractAsyncContextManager["App"]):
    """The wired parts for one process: settings, database, clock, fetcher, refresher."""

    loaded: LoadedSettings
    engine: Engine
    clock: Clock
    fetcher: Fetcher
    refresher: Refresher
    work: Work

    @property
    def settings(self) -> Settings:
        return self.loaded.settings

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.refresher.publisher.close()  # WebSub pings still in flight
        await self.fetcher.aclose()
        self.engine.dispose()
        self.work.close()


def build_app(
    loaded: LoadedSettings,
    clock: Clock,
    *,
    on_deadlines: DeadlineHook | None = None,
    workers: bool = True,
) -> App:
    """The app; `workers=False` for a command that refreshes rarely (no processes forked)."""
    settings = loaded.settings
    # Workers first: they are forked before this process opens the database or a thread.
    pages = [(source.language, source.timezone) for source in settings.sources]
    count = settings.refresh.worker_count if workers else 0
    work = ProcessWork.start(count, warm_up=partial(warm_up, pages))
    try:
        engine = open_database(settings)
    except BaseException:
        work.close()
        raise
    fetcher = Fetcher(settings.fetch, now=clock.now)
    follower = Follower(fetcher, clock, engine=engine, work=work)
    refresher = Refresher(
        settings,
        engine,
        build_readers(fetcher),
        clock,
        on_deadlines=on_deadlines,
        work=work,
        follower=follower,
    )
    return App(loaded, engine, clock, fetcher, refresher, work)
