"""The file shortcut never takes a request from an added route or a middleware."""

from __future__ import annotations

from pathlib import Path

import httpx
from aiohttp import web
from aiohttp.typedefs import Handler

from tests.serve.conftest import RSS, Serve, publish


def routes(app: web.Application) -> None:
    async def healthz(request: web.Request) -> web.Response:
        return web.Response(text="route: healthz")

    async def confirm(request: web.Request) -> web.Response:
        return web.Response(text=f"route: confirm {request.match_info['token']}")

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/confirm/{token}", confirm)


async def test_routes_win_over_files_of_the_same_path(output_dir: Path, serve: Serve) -> None:
    publish(output_dir / "healthz", b"a file named healthz")
    (output_dir / "confirm").mkdir()
    publish(output_dir / "confirm" / "abc", b"a file under confirm/")
    server = await serve(output_dir, extra_routes=routes)
    async with httpx.AsyncClient(base_url=server.url) as http:
        assert (await http.get("/healthz")).text == "route: healthz"
        assert (await http.get("/confirm/abc")).text == "route: confirm abc"
        feed = await http.get("/all.rss")
        assert feed.content == RSS
        again = await http.get("/all.rss", headers={"If-None-Match": feed.headers["etag"]})
        assert again.status_code == 304
        head = await http.head("/all.rss", headers={"Accept-Encoding": "identity"})
        assert head.status_code == 200 and head.content == b""
        assert int(head.headers["content-length"]) == len(RSS)


async def test_a_middleware_sees_every_file_request(output_dir: Path, serve: Serve) -> None:
    seen: list[str] = []

    @web.middleware
    async def watch(request: web.Request, handler: Handler) -> web.StreamResponse:
        seen.append(request.path)
        response = await handler(request)
        response.headers["X-Watched"] = "yes"
        return response

    def add(app: web.Application) -> None:
        app.middlewares.append(watch)

    server = await serve(output_dir, extra_routes=add)
    async with httpx.AsyncClient(base_url=server.url) as http:
        response = await http.get("/all.rss")
    assert response.content == RSS and response.headers["x-watched"] == "yes"
    assert seen == ["/all.rss"]
