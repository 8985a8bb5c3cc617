"""The request handlers for the files of the output folder."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from aiohttp import web
from aiohttp.web_request import BaseRequest

from feeds.serve.cache import Entry, FileCache, Representation, build_entry
from feeds.serve.conditional import accepts_gzip, match_none_match, not_modified_since
from feeds.serve.listing import feed_files, render_listing

log = logging.getLogger(__name__)

INDEX = "index.html"
READ_METHODS = frozenset({"GET", "HEAD"})
_ERROR_HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"}


def safe_relative(tail: str) -> str | None:
    """The '/'-separated path to look up for a decoded request path, or None (404).

    Refused: NUL bytes and backslashes, empty, `.` and `..` segments (so absolute paths and
    traversal), dotfiles (the publisher's `.tmp-*` files among them) and editor/temp files. A
    trailing slash asks for that folder's `index.html`; the empty path is the root index.
    """
    if "\x00" in tail or "\\" in tail:
        return None
    if tail == "" or tail.endswith("/"):
        tail += INDEX
    for segment in tail.split("/"):
        if not segment or segment.startswith(".") or segment.endswith(("~", ".tmp", ".part")):
            return None
    return tail


def not_found() -> web.Response:
    return web.Response(status=404, text="Not Found\n", headers=_ERROR_HEADERS)


def choose(
    entry: Entry,
    accept_encoding: str,
    if_none_match: str | None,
    if_modified_since: str | None,
) -> tuple[Representation, str | None]:
    """The representation for a request's headers, and the ETag of the 304 to send instead
    (None: send the representation with a 200).

    If-None-Match (weak comparison, any of the file's ETags) takes precedence over
    If-Modified-Since, which is only consulted when If-None-Match is absent.
    """
    chosen = entry.plain
    if entry.gzip is not None and accepts_gzip(accept_encoding):
        chosen = entry.gzip
    if if_none_match is not None:
        return chosen, match_none_match(if_none_match, chosen.etag, *entry.etags)
    if if_modified_since is not None and not_modified_since(if_modified_since, entry.last_modified):
        return chosen, chosen.etag
    return chosen, None


def respond(request: BaseRequest, entry: Entry) -> web.Response:
    """200 with the plain or gzip body, or 304 when the client's copy is current."""
    headers = request.headers
    chosen, matched = choose(
        entry,
        headers.get("Accept-Encoding", ""),
        headers.get("If-None-Match"),
        headers.get("If-Modified-Since"),
    )
    if matched is not None:
        return web.Response(status=304, headers=entry.not_modified[matched])
    return web.Response(body=chosen.body, headers=chosen.headers)


class StaticFiles:
    """GET/HEAD for the files under `root`; 405 (with Allow) for other methods on them."""

    def __init__(self, root: Path, *, cache_max_age: int = 300) -> None:
        if not root.is_dir():
            log.warning("output folder %s does not exist (yet): everything is 404", root)
        self._cache = FileCache(str(root), cache_max_age=cache_max_age)
        self._cache_max_age = cache_max_age
        self.resource: web.AbstractResource | None = None

    @property
    def cache(self) -> FileCache:
        return self._cache

    async def get(self, request: web.Request) -> web.Response:
        rel = safe_relative(request.match_info["tail"])
        entry = None if rel is None else await self._cache.get(rel)
        if entry is None and rel == INDEX:
            entry = self._listing()
        if entry is None:
            return await self._refuse(request, exists=False)
        return respond(request, entry)

    async def other(self, request: web.Request) -> web.Response:
        """Any method but GET/HEAD: 405 on a file (Allow: GET, HEAD), else 404."""
        rel = safe_relative(request.match_info["tail"])
        exists = rel is not None and (rel == INDEX or await self._cache.get(rel) is not None)
        return await self._refuse(request, exists=exists)

    async def _refuse(self, request: web.Request, *, exists: bool) -> web.Response:
        """404, or 405 with Allow when the path is a file or an added route with other methods."""
        allowed = await self._allowed_elsewhere(request)
        if exists:
            allowed |= READ_METHODS
        if not allowed:
            return not_found()
        return web.Response(
            status=405,
            text="Method Not Allowed\n",
            headers={**_ERROR_HEADERS, "Allow": ", ".join(sorted(allowed))},
        )

    async def _allowed_elsewhere(self, request: web.Request) -> set[str]:
        allowed: set[str] = set()
        for resource in request.app.router.resources():
            if resource is not self.resource:
                _, methods = await resource.resolve(request)
                allowed |= methods
        return allowed

    def _listing(self) -> Entry:
        root = self._cache.root
        try:
            files = feed_files(root)
            newest = max([os.stat(root).st_mtime, *(mtime for _, mtime in files)])
        except OSError:
            files, newest = [], 0.0
        body = render_listing([name for name, _ in files])
        return build_entry(INDEX, body, mtime=newest, cache_max_age=self._cache_max_age)
