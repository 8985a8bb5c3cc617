"""Fixtures for the HTTP server: an output folder, a server on a loopback port, a client."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web

from feeds.serve import FeedServer, build_app

# Files get this mtime explicitly (os.utime), so dates in tests never depend on the wall clock.
MTIME = datetime(2023, 2, 8, 9, 0, tzinfo=UTC).timestamp()
RSS = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>'
    "<title>Home affairs</title><link>https://example.org/</link><description>News</description>"
    + "".join(
        f"<item><title>Call for evidence {n}</title><link>https://example.org/{n}</link>"
        f"<description>The consultation is open until 9 March 2023.</description></item>"
        for n in range(20)
    )
    + "</channel></rss>\n"
).encode()


def publish(path: Path, data: bytes, *, mtime: float = MTIME) -> None:
    """Write like the publisher does: a temp file in the same folder, then rename."""
    tmp = path.with_name(f".tmp-{path.name}")
    tmp.write_bytes(data)
    os.utime(tmp, (mtime, mtime))
    os.replace(tmp, path)


@pytest.fixture
def output_dir(tmp_path: Path) -> Path:
    out = tmp_path / "public"
    out.mkdir()
    publish(out / "all.rss", RSS)
    publish(out / "all.atom", b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"/>')
    publish(out / "all.json", b'{"version": "https://jsonfeed.org/version/1.1", "items": []}')
    publish(out / "deadlines.ics", b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n")
    return out


Serve = Callable[..., Awaitable[FeedServer]]


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    """`await serve(root, wire=True, **build_app_kwargs)` -> a started FeedServer (`wire=False`:
    without the raw fast path), stopped after the test."""
    started: list[FeedServer] = []

    async def start(root: Path, *, wire: bool = True, **kwargs: Any) -> FeedServer:
        server = FeedServer(build_app(root, **kwargs), wire=wire)
        await server.start("127.0.0.1", 0)
        started.append(server)
        return server

    yield start
    for server in started:
        await server.stop()


@pytest.fixture
async def client(serve: Serve, output_dir: Path) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client over a real loopback socket to a server for `output_dir`."""
    server = await serve(output_dir)
    async with httpx.AsyncClient(base_url=server.url) as http:
        yield http


async def raw_request(port: int, request: bytes) -> tuple[int, bytes]:
    """Send bytes as they are (no URL normalisation) and return (status, whole response)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        await writer.drain()
        data = await reader.read()
    finally:
        writer.close()
        await writer.wait_closed()
    return int(data.split(b" ", 2)[1]), data


def add_routes(app: web.Application) -> None:
    """What the composition root adds: a health check and one-click unsubscribe (POST)."""

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    async def unsubscribe(request: web.Request) -> web.Response:
        return web.Response(text="unsubscribed")

    app.router.add_get("/healthz", healthz)
    app.router.add_post("/unsubscribe", unsubscribe)


@dataclass
class Hub:
    """A loopback WebSub hub: records each publish ping; answers `script` codes first."""

    url: str = ""
    pings: list[dict[str, str]] = field(default_factory=list)
    script: list[int] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        form = await request.post()
        self.pings.append({key: str(value) for key, value in form.items()})
        status = self.script.pop(0) if self.script else 204
        return web.Response(status=status)

    def urls(self) -> set[str]:
        return {ping["hub.url"] for ping in self.pings}


@pytest.fixture
async def hub() -> AsyncIterator[Hub]:
    recorder = Hub()
    app = web.Application()
    app.router.add_post("/", recorder.handle)
    server = FeedServer(app)
    await server.start("127.0.0.1", 0)
    recorder.url = server.url
    yield recorder
    await server.stop()
