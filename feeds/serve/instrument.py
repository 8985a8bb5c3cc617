"""Counting HTTP requests for Prometheus: a middleware, on when `/metrics` is served.

The route label is bounded: `files` for the output folder (whatever path was asked for, so a
scan of random URLs cannot grow the label set), else the path of the matched route, else
`other`.
"""

from __future__ import annotations

import time

from aiohttp import web
from aiohttp.typedefs import Handler

from feeds.metrics import HTTP_REQUEST_SECONDS, HTTP_REQUESTS_TOTAL
from feeds.serve.app import STATIC

FILES = "files"
OTHER = "other"


def route_label(request: web.Request) -> str:
    """The bounded name of the route that answered `request`."""
    route = request.match_info.route
    resource = route.resource
    if resource is None:
        return OTHER
    static = request.app.get(STATIC)
    if static is not None and resource is static.resource:
        return FILES
    return resource.canonical


@web.middleware
async def count_requests(request: web.Request, handler: Handler) -> web.StreamResponse:
    started = time.perf_counter()
    code = 500
    try:
        response = await handler(request)
        code = response.status
        return response
    except web.HTTPException as error:
        code = error.status
        raise
    finally:
        route = route_label(request)
        HTTP_REQUESTS_TOTAL.labels(route, str(code)).inc()
        HTTP_REQUEST_SECONDS.labels(route).observe(time.perf_counter() - started)


def instrument(app: web.Application) -> None:
    """Count every request `app` answers (call before the application starts)."""
    if count_requests not in app.middlewares:
        app.middlewares.append(count_requests)
