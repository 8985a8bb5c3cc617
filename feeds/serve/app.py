"""The aiohttp application: routes added by the composition root, then the output folder."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from aiohttp import web

from feeds.serve.static import StaticFiles

STATIC: web.AppKey[StaticFiles] = web.AppKey("feedline_static", StaticFiles)


def build_app(
    output_dir: Path,
    *,
    cache_max_age: int = 300,
    extra_routes: Callable[[web.Application], None] | None = None,
    max_body_size: int = 1_048_576,
) -> web.Application:
    """An application serving the files in `output_dir` (GET and HEAD).

    `extra_routes(app)` adds routes such as `/healthz` and `/unsubscribe`; they are registered
    first and always win over the catch-all for files.
    """
    app = web.Application(client_max_size=max_body_size)  # larger bodies: 413
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
