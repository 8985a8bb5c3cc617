"""A real HTTP server on loopback with per-test routes, and fetchers that never wait."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiohttp import web

from config.schema import FetchSettings
from feeds.fetch import Fetcher
from tests.sources.support import CONTACT, LoopbackServer, Sleeps

MakeFetcher = Callable[..., Fetcher]


@pytest.fixture
async def server() -> AsyncIterator[LoopbackServer]:
    state = LoopbackServer()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", state.dispatch)
    runner = web.AppRunner(app, handler_cancellation=True)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    state.base = f"http://{host}:{port}"
    yield state
    state.release.set()
    await runner.cleanup()


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
async def make_fetcher(sleeps: Sleeps) -> AsyncIterator[MakeFetcher]:
    made: list[Fetcher] = []

    def make(**settings: Any) -> Fetcher:
        settings.setdefault("contact", CONTACT)
        fetcher = Fetcher(FetchSettings(**settings), sleep=sleeps)
        made.append(fetcher)
        return fetcher

    yield make
    for fetcher in made:
        await fetcher.aclose()


@pytest.fixture
def fetcher(make_fetcher: MakeFetcher) -> Fetcher:
    return make_fetcher()
