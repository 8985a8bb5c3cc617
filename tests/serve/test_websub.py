"""WebSub: hub links in every format, and publish pings to a loopback hub that records them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import feedparser
import httpx
import pytest
from lxml import etree
from sqlalchemy import Engine

from config.schema import Settings
from feeds.clock import FixedClock
from feeds.refresh import Refresher
from feeds.serve.app import build_app
from feeds.serve.server import FeedServer
from feeds.sources.text_page import TextPageReader
from feeds.websub import HubPinger
from scheduler.web import DaemonRoutes
from tests.foundation.helpers import PAGE
from tests.ledger.helpers import KEY
from tests.serve.conftest import Hub
from tests.support.db import sqlite_engine

NOW = datetime(2024, 3, 4, 9, tzinfo=UTC)
BASE = "https://feeds.example.org/"
FEEDS = {f"{name}.{fmt}" for name in ("all", "river") for fmt in ("rss", "atom", "json")}
ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    db = sqlite_engine(tmp_path)
    yield db
    db.dispose()


def settings_for(tmp_path: Path, hub_url: str) -> Settings:
    page = tmp_path / "news.txt"
    if not page.exists():
        page.write_text(PAGE, encoding="utf-8")
    return Settings.model_validate(
        {
            "site": {
                "base_url": BASE,
                "output_dir": str(tmp_path / "public"),
                "data_dir": str(tmp_path / "data"),
                "websub_hub": hub_url,
            },
            "sources": [
                {
                    "id": "river",
                    "kind": "text",
                    "path": str(page),
                    "title": "River news",
                    "link": "https://river.example.org/news",
                },
            ],
        }
    )


async def refresh(settings: Settings, engine: Engine) -> Refresher:
    refresher = Refresher(settings, engine, {"text": TextPageReader()}, FixedClock(NOW))
    report = await refresher.refresh()
    assert not report.failed
    await refresher.publisher.close()  # the pings run in the background; wait for them
    return refresher


async def test_every_format_carries_the_hub_and_its_self_link(
    tmp_path: Path, engine: Engine, hub: Hub
) -> None:
    settings = settings_for(tmp_path, hub.url)
    await refresh(settings, engine)
    out = settings.site.output_dir
    channel = etree.fromstring((out / "river.rss").read_bytes()).find("channel")
    assert channel is not None
    links = {link.get("rel"): link.get("href") for link in channel.iter(f"{ATOM}link")}
    assert links == {"self": BASE + "river.rss", "hub": hub.url}
    parsed = feedparser.parse((out / "river.atom").read_bytes())
    atom_links = {link["rel"]: link["href"] for link in parsed.feed.links}
    assert atom_links["hub"] == hub.url and atom_links["self"] == BASE + "river.atom"
    document = json.loads((out / "river.json").read_bytes())
    assert document["hubs"] == [{"type": "WebSub", "url": hub.url}]
    assert document["feed_url"] == BASE + "river.json"


async def test_one_ping_per_changed_feed_and_none_when_nothing_changed(
    tmp_path: Path, engine: Engine, hub: Hub
) -> None:
    settings = settings_for(tmp_path, hub.url)
    await refresh(settings, engine)
    assert sorted(ping["hub.url"] for ping in hub.pings) == sorted(BASE + name for name in FEEDS)
    assert {ping["hub.mode"] for ping in hub.pings} == {"publish"}

    hub.pings.clear()
    await refresh(settings, engine)  # same page: same bytes, so no ping
    assert hub.pings == []

    page = tmp_path / "news.txt"
    page.write_text(PAGE.replace("Minister visits", "Minister tours"), encoding="utf-8")
    await refresh(settings, engine)
    assert hub.urls() == {BASE + name for name in FEEDS}
    assert len(hub.pings) == len(FEEDS)


async def test_a_failing_hub_is_retried_with_backoff(hub: Hub) -> None:
    delays: list[float] = []

    async def sleep(seconds: float) -> None:
        delays.append(seconds)

    hub.script = [503, 429]
    pinger = HubPinger(hub.url, FixedClock(NOW), sleep=sleep)
    await pinger.ping([BASE + "all.rss"])
    assert delays == [2.0, 4.0]
    assert len(hub.pings) == 3
    assert pinger.state.consecutive_failures == 0 and pinger.state.last_ok == NOW


async def test_a_refusing_hub_is_not_asked_again(hub: Hub) -> None:
    async def sleep(seconds: float) -> None:
        raise AssertionError("a 400 must not be retried")

    hub.script = [400]
    pinger = HubPinger(hub.url, FixedClock(NOW), sleep=sleep)
    await pinger.ping([BASE + "all.rss"])
    assert len(hub.pings) == 1
    assert pinger.state.consecutive_failures == 1
    assert pinger.state.last_error == f"{BASE}all.rss: hub answered 400 Bad Request"


async def test_a_dead_hub_never_fails_the_refresh_and_shows_in_healthz(
    tmp_path: Path, engine: Engine, hub: Hub
) -> None:
    dead = "http://127.0.0.1:9/"  # the discard port: nothing listens there
    settings = settings_for(tmp_path, dead)
    refresher = Refresher(settings, engine, {"text": TextPageReader()}, FixedClock(NOW))
    pinger = refresher.publisher.websub
    assert pinger is not None
    delays: list[float] = []

    async def sleep(seconds: float) -> None:
        delays.append(seconds)

    pinger.sleep = sleep
    report = await refresher.refresh()
    assert not report.failed and (settings.site.output_dir / "river.rss").is_file()
    await refresher.publisher.close()
    assert pinger.state.consecutive_failures == len(FEEDS)
    assert "after 4 attempts" in (pinger.state.last_error or "")

    routes = DaemonRoutes(settings, engine, FixedClock(NOW), KEY)
    server = FeedServer(build_app(settings.site.output_dir, extra_routes=routes.add_to))
    await server.start("127.0.0.1", 0)
    try:
        async with httpx.AsyncClient(base_url=server.url) as http:
            health = (await http.get("/healthz")).json()
    finally:
        await server.stop()
    assert health["websub"]["hub"] == dead
    assert health["websub"]["ok"] is False
    assert health["websub"]["consecutive_failures"] == len(FEEDS)
