"""Test helpers for source readers: a loopback server model, static handlers, settings."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from config.schema import SelectSettings, SourceSettings

DATA = Path(__file__).resolve().parent.parent / "data" / "sources"
CONTACT = "ops@newsroom-feeds.example"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

ECL_SELECT = SelectSettings(
    item="article.ecl-content-item",
    title=".ecl-content-block__title a",
    link=".ecl-content-block__title a@href",
    date=".ecl-content-block__primary-meta-item",
    summary=".ecl-content-block__description",
)


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    status: int = 0


@dataclass
class LoopbackServer:
    """Routes are plain handlers set per test; every request is recorded."""

    base: str = ""
    routes: dict[str, Handler] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)

    def url(self, path: str) -> str:
        return self.base + path

    def route(self, path: str, handler: Handler) -> str:
        self.routes[path] = handler
        return self.url(path)

    def hits(self, path: str) -> list[Seen]:
        return [s for s in self.seen if s.path == path]

    def page(self, path: str, body: bytes | str, content_type: str = "text/html", **kw: Any) -> str:
        return self.route(path, static(body, content_type, **kw))

    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        record = Seen(request.path, dict(request.headers))
        self.seen.append(record)
        handler = self.routes.get(request.path)
        if handler is None:
            response: web.StreamResponse = web.Response(status=404, text="no such route")
        else:
            response = await handler(request)
        record.status = response.status
        return response


def static(
    body: bytes | str,
    content_type: str = "text/html",
    *,
    etag: bool = False,
    last_modified: str | None = None,
    charset: str | None = "utf-8",
) -> Handler:
    """A handler serving fixed bytes; with `etag`/`last_modified` it answers 304 as a real
    server does."""
    data = body.encode("utf-8") if isinstance(body, str) else body
    tag = '"' + hashlib.sha256(data).hexdigest()[:16] + '"'
    header_type = content_type + (f"; charset={charset}" if charset else "")

    async def handle(request: web.Request) -> web.StreamResponse:
        headers = {}
        if etag:
            headers["ETag"] = tag
        if last_modified:
            headers["Last-Modified"] = last_modified
        if etag and request.headers.get("If-None-Match") == tag:
            return web.Response(status=304, headers=headers)
        if last_modified and request.headers.get("If-Modified-Since") == last_modified:
            return web.Response(status=304, headers=headers)
        headers["Content-Type"] = header_type
        return web.Response(body=data, headers=headers)

    return handle


@dataclass
class Sleeps:
    """Records backoff delays instead of waiting."""

    delays: list[float] = field(default_factory=list)

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def html_source(
    url: str | None = None, *, select: SelectSettings = ECL_SELECT, **kw: Any
) -> SourceSettings:
    kw.setdefault("id", "newsroom")
    kw.setdefault("title", "Newsroom")
    return SourceSettings(kind="html", url=url, select=select, **kw)


def feed_source(url: str | None = None, **kw: Any) -> SourceSettings:
    kw.setdefault("id", "agency")
    kw.setdefault("title", "Agency")
    return SourceSettings(kind="feed", url=url, **kw)
