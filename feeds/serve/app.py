"""The aiohttp application: routes added by the composition root, then the output folder."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from feeds.serve.static import StaticFiles

STATIC: web.AppKey[StaticFiles] = web.AppKey("feedline_static", StaticFiles)
#: Middlewares that only act on requests with a body: the file shortcuts (feeds.serve.wire and
#: feeds.serve.fastpath answer only bodiless GETs and HEADs) may pass them by.
BODY_ONLY: web.AppKey[tuple[Middleware, ...]] = web.AppKey("feedline_body_only", tuple)


def shortcuts_allowed(app: web.Application) -> bool:
    """True when no middleware must see a bodiless GET or HEAD of a file."""
    body_only = app.get(BODY_ONLY, ())
    return all(middleware in body_only for middleware in app.middlewares)


def build_app(
    output_dir: Path,
    *,
    cache_max_age: int = 300,
    extra_routes: Callable[[web.Application], None] | None = None,
    max_body_size: int = 1_048_576,
    body_timeout: float | None = None,
) -> web.Application:
    """An application serving the files in `output_dir` (GET and HEAD).

    `extra_routes(app)` adds routes such as `/healthz` and `/unsubscribe`; they are registered
    first and always win over the catch-all for files.
    """
    middlewares = [_body_in_time(body_timeout)] if body_timeout else []
    app = web.Application(client_max_size=max_body_size, middlewares=middlewares)  # 413 above
    app[BODY_ONLY] = tuple(middlewares)
    if extra_routes is not None:
        extra_routes(app)
    static = StaticFiles(Path(output_dir), cache_max_age=cache_max_age)
    resource = app.router.add_resource("/{tail:.*}")
    resource.add_route("GET", static.get)
    resource.add_route("HEAD", static.get)
    resource.add_route("*", static.other)
    static.resource = resource
    app[STATIC] = static
    return app


def _body_in_time(seconds: float) -> Middleware:
    """A request body (a form post) must arrive within `seconds` ([server] idle_timeout):
    a client sending it a byte at a time gets 408 instead of holding a handler forever.
    Requests without a body (every GET of a feed) pass straight through."""

    @web.middleware
    async def body_in_time(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.can_read_body:
            try:
                async with asyncio.timeout(seconds):
                    await request.read()  # kept: the handler's post() reads it from memory
            except TimeoutError:
                raise web.HTTPRequestTimeout(
                    text="The request body did not arrive in time.\n"
                ) from None
        return await handler(request)

    return body_in_time
