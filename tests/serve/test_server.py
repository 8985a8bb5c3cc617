"""FeedServer and serve_forever in a running loop; added routes; a feed reader's view."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from pathlib import Path

import feedparser
import httpx
import pytest
from aiohttp.test_utils import TestClient, TestServer
from feedgen.feed import FeedGenerator

from feeds.serve import FeedServer, build_app, serve_forever
from tests.serve.conftest import Serve, add_routes, publish


async def test_start_picks_a_free_port_and_stop_closes_it(output_dir: Path) -> None:
    server = FeedServer(build_app(output_dir))
    with pytest.raises(RuntimeError):
        _ = server.port
    await server.start("127.0.0.1", 0)
    port = server.port
    assert port > 0
    assert server.url == f"http://127.0.0.1:{port}/"
    with pytest.raises(RuntimeError, match="already started"):
        await server.start("127.0.0.1", 0)
    async with httpx.AsyncClient() as http:
        assert (await http.get(server.url + "all.rss")).status_code == 200
    await server.stop()
    await server.stop()  # idempotent
    with pytest.raises(ConnectionRefusedError):
        await asyncio.open_connection("127.0.0.1", port)


async def test_two_servers_side_by_side(serve: Serve, output_dir: Path) -> None:
    first, second = await serve(output_dir), await serve(output_dir)
    assert first.port != second.port


async def test_serve_forever_until_cancelled(output_dir: Path) -> None:
    started: asyncio.Future[FeedServer] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(
        serve_forever(output_dir, port=0, cache_max_age=10, on_started=started.set_result)
    )
    server = await asyncio.wait_for(started, timeout=5)
    port = server.port
    async with httpx.AsyncClient() as http:
        response = await http.get(server.url + "all.rss")
    assert response.headers["cache-control"] == "public, max-age=10"
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    with pytest.raises(ConnectionRefusedError):
        await asyncio.open_connection("127.0.0.1", port)


async def test_access_log_is_one_line_when_asked(
    output_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="feeds.serve.access")
    server = FeedServer(build_app(output_dir), access_log=True)
    async with server, httpx.AsyncClient() as http:
        await http.get(server.url + "all.rss", headers={"Accept-Encoding": "identity"})
    lines = [r.getMessage() for r in caplog.records if r.name == "feeds.serve.access"]
    assert len(lines) == 1
    assert lines[0].startswith("GET /all.rss 200 ")


async def test_access_log_is_off_by_default(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await client.get("/all.rss")
    assert not [r for r in caplog.records if "access" in r.name]


async def test_added_routes_win_over_files(output_dir: Path) -> None:
    publish(output_dir / "healthz", b"a file that must not shadow the route")
    app = build_app(output_dir, extra_routes=add_routes)
    async with TestClient(TestServer(app)) as http:
        health = await http.get("/healthz")
        assert health.status == 200
        assert await health.json() == {"ok": True}
        unsubscribe = await http.post("/unsubscribe")
        assert await unsubscribe.text() == "unsubscribed"
        wrong = await http.post("/healthz")
        assert wrong.status == 405
        assert wrong.headers["Allow"] == "GET, HEAD"
        get_unsubscribe = await http.get("/unsubscribe")  # RFC 8058: GET never unsubscribes
        assert get_unsubscribe.status == 405
        assert get_unsubscribe.headers["Allow"] == "POST"
        assert (await http.get("/all.rss")).status == 200


def small_feed() -> bytes:
    feed = FeedGenerator()
    feed.id("https://example.org/feeds/all.rss")
    feed.title("Home affairs: consultations")
    feed.link(href="https://example.org/feeds/all.rss", rel="self")
    feed.link(href="https://example.org/news")
    feed.description("Calls for evidence and their deadlines")
    feed.language("en")
    for n in range(3):
        entry = feed.add_entry(order="append")
        entry.id(f"https://example.org/news/{n}")
        entry.title(f"Call for evidence {n} – open until 9 March 2023")
        entry.link(href=f"https://example.org/news/{n}")
        entry.description("Feedback period 8 February 2023 - 9 March 2023 (midnight Brussels time)")
        entry.pubDate(datetime(2023, 2, 8 - n, 9, 0, tzinfo=UTC))
    body: bytes = feed.rss_str(pretty=True)
    return body


async def test_a_feed_reader_parses_the_served_feed(serve: Serve, tmp_path: Path) -> None:
    publish(tmp_path / "all.rss", small_feed())
    server = await serve(tmp_path)
    async with httpx.AsyncClient() as http:
        response = await http.get(server.url + "all.rss")
    parsed = feedparser.parse(
        response.content,
        response_headers={k: v for k, v in response.headers.items() if k != "content-encoding"},
    )
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    assert parsed.feed.title == "Home affairs: consultations"
    assert [entry.title[:19] for entry in parsed.entries] == [
        f"Call for evidence {n}" for n in range(3)
    ]
    assert parsed.entries[0].title.endswith("– open until 9 March 2023")
