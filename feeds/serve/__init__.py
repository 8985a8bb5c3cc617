"""The built-in HTTP server for the output folder (aiohttp, with a raw fast path for files).

The files in the output folder are the product; any web server or CDN can serve them. This
server is for the embedded default and small installs: strong ETags, Last-Modified, 304s, gzip
(the publisher's `.gz` sidecar, or compressed once per file version), HEAD, Cache-Control, and
nothing outside the folder. A plain GET or HEAD of a file is answered on the connection itself
(`wire.py`); everything else goes to aiohttp (`app.py`, `fastpath.py`, `static.py`).
"""

from __future__ import annotations

from feeds.serve.app import build_app
from feeds.serve.server import FeedServer, serve_forever

__all__ = ["FeedServer", "build_app", "serve_forever"]
