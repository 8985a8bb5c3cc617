"""Which requests are counted for Prometheus, and under which bounded route label.

`instrument(app)` turns counting on (the server's handler, feeds.serve.fastpath, counts). The
route label is bounded: `files` for the output folder (whatever path was asked for, so a scan
of random URLs cannot grow the label set), else the path of the matched route, else `other`.
"""

from __future__ import annotations

from aiohttp import web

from feeds.serve.app import STATIC

COUNT_REQUESTS: web.AppKey[bool] = web.AppKey("feedline_count_requests", bool)
FILES = "files"
OTHER = "other"


def route_label(request: web.Request) -> str:
    """The bounded name of the route that answered `request`."""
    try:
        resource = request.match_info.route.resource
    except AttributeError:  # not routed (the request failed before)
        return OTHER
    if resource is None:
        return OTHER
    static = request.app.get(STATIC)
    if static is not None and resource is static.resource:
        return FILES
    return resource.canonical


def instrument(app: web.Application) -> None:
    """Count every request `app` answers (call before the application starts)."""
    app[COUNT_REQUESTS] = True
