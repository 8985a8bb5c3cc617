"""The server's request handler: files of the output folder answered before aiohttp's router.

This is the second-fastest path: connections start on the raw one (feeds.serve.wire), and the
requests it hands to aiohttp (a percent-encoded path, HTTP/1.0, a repeated validator header,
...) come here first.

A feed reader's poll is the hot path (a 304 or a gzip body, bench/serve_bench.py). aiohttp's
application handler resolves the route, builds match info and the middleware chain for each
request; for a file that is already in the cache this handler answers straight from it, which
measured about a fifth less CPU per request. Everything else goes the usual way: paths that an
added route may claim, other methods, files not there (so 404, 405 and the generated index
come from the application), requests with a body, and every request when the application
has middlewares other than those for request bodies (feeds.serve.app.BODY_ONLY), which a
shortcut would skip.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.web_request import BaseRequest
from aiohttp.web_response import StreamResponse

from feeds.metrics import HTTP_REQUESTS
from feeds.serve.app import STATIC, shortcuts_allowed
from feeds.serve.instrument import COUNT_REQUESTS, FILES, route_label
from feeds.serve.static import READ_METHODS, respond, safe_relative

Handler = Callable[[BaseRequest], Awaitable[StreamResponse]]


def claimed_paths(app: web.Application) -> tuple[frozenset[str], tuple[str, ...]]:
    """Paths, and path prefixes, that routes other than the output folder's may answer."""
    static = app.get(STATIC)
    exact: set[str] = set()
    prefixes: list[str] = []
    for resource in app.router.resources():
        if static is not None and resource is static.resource:
            continue
        if isinstance(resource, web.PlainResource):
            exact.add(resource.canonical)
        else:  # dynamic, static folders, sub-applications: everything under their prefix
            prefixes.append(resource.canonical.split("{", 1)[0])
    return frozenset(exact), tuple(prefixes)


class FileFastPath:
    """Wraps the application's handler (`web.Server.request_handler`) with the file shortcut."""

    def __init__(self, app: web.Application, routed: Handler) -> None:
        self.routed = routed
        static = app.get(STATIC)
        self.cache = static.cache if static is not None else None
        self.count = bool(app.get(COUNT_REQUESTS, False))
        self.enabled = self.cache is not None and shortcuts_allowed(app)
        self._exact, self._prefixes = claimed_paths(app)

    def _shortcut(self, path: str) -> bool:
        return (
            self.enabled
            and path.startswith("/")
            and path not in self._exact
            and not path.startswith(self._prefixes)
        )

    async def __call__(self, request: BaseRequest) -> StreamResponse:
        started = time.perf_counter()
        if (
            self.cache is not None
            and request.method in READ_METHODS
            and not request.body_exists  # a body-only middleware must see it
            and self._shortcut(request.path)
        ):
            rel = safe_relative(request.path[1:])
            entry = None if rel is None else await self.cache.get(rel)
            if entry is not None:
                response = respond(request, entry)
                if self.count:
                    HTTP_REQUESTS.observe(FILES, response.status, time.perf_counter() - started)
                return response
        if not self.count:
            return await self.routed(request)
        code = 500
        try:
            answer = await self.routed(request)
            code = answer.status
            return answer
        except web.HTTPException as error:
            code = error.status
            raise
        finally:
            assert isinstance(request, web.Request)
            route = route_label(request)
            HTTP_REQUESTS.observe(route, code, time.perf_counter() - started)
