"""The raw fast path: a feed reader's GET or HEAD of a file answered on the connection itself.

aiohttp's request and response machinery costs about 20 us of CPU per request before any
handler work (bench/serve_bench.py, "aiohttp floor"), four times what nginx needs for a whole
304. So each connection starts with `WireConnection`, an asyncio protocol that answers the
plain case from the file cache with pre-serialised bytes (status line and headers built once
per file version, a Date line once per second) and hands everything else to aiohttp.

The plain case is a strict subset of HTTP/1.1, checked by one regular expression on the whole
request head: `GET` or `HEAD`, an origin-form target of printable ASCII without `%`, version
`HTTP/1.1`, header lines of a token, a colon and visible characters (no obs-fold, no bare CR
or LF, no control bytes), at most one of each header we read, no request body (no
Content-Length or Transfer-Encoding), no Expect or Upgrade, a head under 8 KiB, the path not
claimed by an added route, and a file that is there. Anything else — another method, a body,
an odd or oversized head, a missing file, a route — hands the connection, with every byte not
yet answered, to aiohttp's protocol (`web.Server`), which parses, limits, routes and answers
it as it always did; the connection stays with aiohttp from then on. Responses are the same
as aiohttp's for the same file (tests/serve/test_wire.py compares them) except the Server
header, which this path leaves out.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
import time
from collections.abc import Callable
from typing import cast

from aiohttp import web

from feeds.clock import Clock, SystemClock
from feeds.metrics import HTTP_REQUESTS
from feeds.serve.app import STATIC, shortcuts_allowed
from feeds.serve.cache import LOAD_IN_THREAD, Entry, FileCache
from feeds.serve.conditional import http_date
from feeds.serve.fastpath import claimed_paths
from feeds.serve.instrument import COUNT_REQUESTS, FILES
from feeds.serve.static import choose, safe_relative

log = logging.getLogger(__name__)

MAX_HEAD_BYTES = 8190  # aiohttp's default line limit: a longer head goes to aiohttp's checks
KEEPALIVE_TIMEOUT = 75.0  # aiohttp's default: an idle connection is closed after it
_SWEEP_SECONDS = 5.0

_TOKEN = rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_TARGET = rb"/[\x21\x22\x24\x26-\x7e]*"  # printable ASCII but "#" and "%"
_FIELD = rb"\r\n" + _TOKEN + rb":[\t\x20-\x7e\x80-\xff]*"
_HEAD = re.compile(rb"(GET|HEAD) (" + _TARGET + rb") HTTP/1\.1((?:" + _FIELD + rb")*)")
_REFUSE = frozenset({b"content-length", b"transfer-encoding", b"expect", b"upgrade"})
# The header lines this path reads or refuses, picked out of the (already checked) head.
_WANTED = re.compile(
    rb"\r\n(accept-encoding|if-none-match|if-modified-since|connection"
    rb"|content-length|transfer-encoding|expect|upgrade):[ \t]*((?:[^\r]*[^\r \t])?)",
    re.IGNORECASE,
)
_MAX_PATHS = 4096
_MAX_HEADS = 4096
_MAX_KEPT_HEAD = 2048
_CLOSE = b"Connection: close\r\n"


# What an answer depends on: HEAD (else GET), Accept-Encoding, If-None-Match,
# If-Modified-Since, Connection: close. A plain tuple: a NamedTuple costs a call per request.
Request = tuple[bool, str, str | None, str | None, bool]


class WirePath:
    """The protocol factory of the listening socket: one `WireConnection` per connection.

    `fallback` is aiohttp's protocol factory (the runner's `web.Server`); `exact` and
    `prefixes` are the paths that added routes may answer (never taken here).
    """

    def __init__(
        self,
        cache: FileCache,
        fallback: Callable[[], asyncio.Protocol],
        *,
        exact: frozenset[str],
        prefixes: tuple[str, ...],
        count: bool,
        clock: Clock,
        keepalive_timeout: float = KEEPALIVE_TIMEOUT,
    ) -> None:
        self.cache = cache
        self.keepalive_timeout = keepalive_timeout  #: `[server] idle_timeout`, as aiohttp's
        self.fallback = fallback
        self.exact = exact
        self.prefixes = prefixes
        self.count = count
        self.connections: set[WireConnection] = set()
        self.paths: dict[bytes, str] = {}  # request path -> file to look up
        self.heads: dict[bytes, tuple[str, Request]] = {}  # request head -> file, request
        self.clock = clock
        self._date_until = -math.inf
        self._date_line = b""
        self._sweeper: asyncio.TimerHandle | None = None

    def __call__(self) -> WireConnection:
        if self._sweeper is None:
            self._sweeper = asyncio.get_running_loop().call_later(self._sweep_every(), self._sweep)
        return WireConnection(self)

    def remember(self, head: bytes, path: bytes, rel: str, request: Request) -> None:
        """Keep what the head of a request for an existing file asks for (at most
        `_MAX_HEADS` heads of up to `_MAX_KEPT_HEAD` bytes: the oldest go when full)."""
        if len(self.paths) < _MAX_PATHS:
            self.paths[path] = rel
        if len(head) <= _MAX_KEPT_HEAD:
            if len(self.heads) >= _MAX_HEADS:
                del self.heads[next(iter(self.heads))]
            self.heads[head] = (rel, request)

    def relative(self, path: bytes) -> str | None:
        """The file to look up for a request path, or None when aiohttp must answer it (a
        route's path, or one `safe_relative` refuses). `paths` remembers those of files
        found, so a scan of made-up paths cannot fill it."""
        text = path.decode("ascii")
        if text in self.exact or text.startswith(self.prefixes):
            return None
        return safe_relative(text[1:])

    def date_line(self) -> bytes:
        """`Date: <now>\r\n`, read from the clock once per second (a monotonic timer tells
        when the second is over)."""
        if time.monotonic() >= self._date_until:
            now = self.clock.now()
            self._date_line = f"Date: {http_date(now.timestamp())}\r\n".encode("ascii")
            self._date_until = time.monotonic() + 1 - now.microsecond / 1e6
        return self._date_line

    def _sweep(self) -> None:
        """Close the connections idle for longer than the keep-alive timeout, and those
        sending one request head for that long (a byte now and then)."""
        loop = asyncio.get_running_loop()
        since = loop.time() - self.keepalive_timeout
        for connection in list(self.connections):
            if connection.task is not None:
                continue
            partial = connection.partial_since
            if connection.last_active < since or (partial is not None and partial < since):
                connection.close()
        self._sweeper = loop.call_later(self._sweep_every(), self._sweep)

    def _sweep_every(self) -> float:
        """Seconds between sweeps: often enough that a short idle timeout is kept."""
        return max(0.1, min(_SWEEP_SECONDS, self.keepalive_timeout / 4))

    def close(self) -> None:
        """Close every connection this path still holds (those handed over are aiohttp's)."""
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        for connection in list(self.connections):
            connection.close()


class WireConnection(asyncio.Protocol):
    """One client connection, answered here until a request needs aiohttp."""

    def __init__(self, path: WirePath) -> None:
        self.path = path
        self.transport: asyncio.Transport | None = None
        self.buffer = b""
        self.last_active = 0.0
        self.partial_since: float | None = None  # when the head being received began
        self.task: asyncio.Task[None] | None = None  # reading a large file in a thread
        self._write_paused = False
        self._loop = asyncio.get_running_loop()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self.last_active = self._loop.time()
        self.path.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.path.connections.discard(self)
        self.transport = None
        if self.task is not None:
            self.task.cancel()

    def pause_writing(self) -> None:
        self._write_paused = True
        if self.transport is not None:
            self.transport.pause_reading()

    def resume_writing(self) -> None:
        self._write_paused = False
        if self.transport is not None and self.task is None:
            self.transport.resume_reading()
            self.data_received(b"")

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        if self.buffer:
            data, self.buffer = self.buffer + data, b""
        self.last_active = now = self._loop.time()
        while data and self.transport is not None:
            if self._write_paused or self.task is not None:
                self.buffer = data
                return
            end = data.find(b"\r\n\r\n")
            if end < 0:
                if len(data) > MAX_HEAD_BYTES:
                    self._hand_over(data)
                else:
                    self.buffer = data
                    if self.partial_since is None:
                        self.partial_since = now
                return
            self.partial_since = None
            rest = self._answer(data, end)
            if rest is None:
                self._hand_over(data)
                return
            data = rest

    def _answer(self, data: bytes, end: int) -> bytes | None:
        """Answer the request whose head is `data[:end]`; the bytes after it (b"" when the
        connection closes or waits), or None when aiohttp must answer it.

        This is the hot path of the bench (one call per request). A client sends the same
        head with every poll, so a head read before (of a file that was there) is not parsed
        again: `WirePath.heads` remembers what it asks for.
        """
        started = time.perf_counter()
        head = data[:end]
        known = self.path.heads.get(head)
        if known is None:
            parsed = _parse(head)
            if parsed is None:
                return None
            path, request = parsed
            rel = self.path.paths.get(path) or self.path.relative(path)
            if rel is None:
                return None
            entry = self.path.cache.lookup(rel)
            if entry is None:
                return None
            self.path.remember(head, path, rel, request)
        else:
            rel, request = known
            entry = self.path.cache.lookup(rel)
            if entry is None:
                return None
        if entry is LOAD_IN_THREAD:
            self._load_then_answer(head, rel, request, data[end + 4 :])
            return b""
        return b"" if self._send(entry, request, started) else data[end + 4 :]

    def _send(self, entry: Entry, request: Request, started: float) -> bool:
        """Write the answer; True when the connection is closed after it."""
        transport = self.transport
        assert transport is not None
        head, accept_encoding, if_none_match, if_modified_since, close = request
        if if_none_match in entry.wire_not_modified:  # the usual poll: `choose` would say so
            chosen, matched = None, if_none_match
        else:
            chosen, matched = choose(entry, accept_encoding, if_none_match, if_modified_since)
        date = self.path.date_line()
        ending = _CLOSE + b"\r\n" if close else b"\r\n"
        if matched is not None:
            status = 304
            transport.write(entry.wire_not_modified[matched] + date + ending)
        else:
            assert chosen is not None
            status = 200
            if head:
                transport.write(chosen.wire + date + ending)
            else:
                transport.writelines((chosen.wire + date + ending, chosen.body))
        if self.path.count:
            HTTP_REQUESTS.observe(FILES, status, time.perf_counter() - started)
        if close:
            transport.close()
        return close

    def _load_then_answer(
        self,
        head: bytes,
        rel: str,
        request: Request,
        rest: bytes,
    ) -> None:
        """A large file not in memory yet: read it in a thread, then answer and go on."""
        assert self.transport is not None
        self.transport.pause_reading()
        self.buffer = rest
        started = time.perf_counter()

        async def load() -> None:
            try:
                entry = await self.path.cache.get(rel)
            except Exception:
                log.exception("reading %s failed", rel)
                entry = None
            self.task = None
            transport = self.transport
            if transport is None:
                return
            transport.resume_reading()
            if entry is None:  # gone meanwhile (or unreadable): aiohttp answers, from this request
                self._hand_over(head + b"\r\n\r\n" + self.buffer)
            elif not self._send(entry, request, started):
                if self._write_paused:
                    transport.pause_reading()
                self.data_received(b"")

        self.task = self._loop.create_task(load())

    def _hand_over(self, data: bytes) -> None:
        """Give the connection, with the bytes not answered yet, to aiohttp for good."""
        transport = self.transport
        assert transport is not None
        self.path.connections.discard(self)
        self.transport = None
        self.buffer = b""
        protocol = self.path.fallback()
        transport.set_protocol(protocol)
        protocol.connection_made(transport)
        if self._write_paused:
            protocol.pause_writing()
        if data:
            protocol.data_received(data)


def _parse(head: bytes) -> tuple[bytes, Request] | None:
    """The path asked for (without the query) and what the answer depends on, or None when
    the head is not the plain case (see the module's docstring)."""
    found = _HEAD.fullmatch(head) if len(head) <= MAX_HEAD_BYTES else None
    if found is None:
        return None
    method, target = found.group(1, 2)
    pairs = _WANTED.findall(head, found.start(3))
    wanted: dict[bytes, bytes] = {}
    for name, value in pairs:
        wanted[name.lower()] = value
    if len(wanted) != len(pairs) or not _REFUSE.isdisjoint(wanted):
        return None  # a repeated header (aiohttp's reading decides), a body, an upgrade
    close = False
    if b"connection" in wanted:
        tokens = {token.strip().lower() for token in wanted[b"connection"].split(b",")}
        if b"upgrade" in tokens:
            return None
        close = b"close" in tokens
    if_none_match = wanted.get(b"if-none-match")
    since = wanted.get(b"if-modified-since")
    request: Request = (
        method == b"HEAD",
        wanted.get(b"accept-encoding", b"").decode("latin-1"),
        None if if_none_match is None else if_none_match.decode("latin-1"),
        None if since is None else since.decode("latin-1"),
        close,
    )
    return target.partition(b"?")[0], request


def wire_path(
    app: web.Application,
    fallback: Callable[[], asyncio.Protocol],
    clock: Clock | None = None,
    keepalive_timeout: float = KEEPALIVE_TIMEOUT,
) -> WirePath | None:
    """The fast path for `app`'s output folder, or None when it cannot be used (no folder,
    or middlewares that must see every request: not those for request bodies only)."""
    static = app.get(STATIC)
    if static is None or not shortcuts_allowed(app):
        return None
    exact, prefixes = claimed_paths(app)
    return WirePath(
        static.cache,
        fallback,
        exact=exact,
        prefixes=prefixes,
        count=bool(app.get(COUNT_REQUESTS, False)),
        clock=clock or SystemClock(),
        keepalive_timeout=keepalive_timeout,
    )
