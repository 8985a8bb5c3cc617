"""Run the application inside an existing asyncio loop (`feedline serve`, the daemon, tests)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_request import BaseRequest
from aiohttp.web_response import StreamResponse

from config.schema import ServerSettings
from feeds.clock import Clock
from feeds.errors import FeedlineError
from feeds.serve.app import build_app
from feeds.serve.fastpath import FileFastPath
from feeds.serve.wire import WirePath, wire_path

log = logging.getLogger(__name__)
access_log = logging.getLogger("feeds.serve.access")

T = TypeVar("T")


def run_serving(main: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run` on uvloop where it is installed (Linux, macOS): measured about a sixth
    less CPU per request than the standard loop (bench/serve_bench.py)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main)


#: Query values never written to the access log (link tokens are credentials).
SECRET_QUERY_KEYS = frozenset({"token"})


def loggable_path(request: BaseRequest) -> str:
    """The path and query with every secret value replaced by `[redacted]`."""
    if not request.query_string:
        return request.path
    parts = [
        f"{name}=[redacted]" if name in SECRET_QUERY_KEYS else f"{name}={value}"
        for name, value in request.query.items()
    ]
    return f"{request.path}?{'&'.join(parts)}"


class ConciseAccessLogger(AbstractAccessLogger):
    """One line per request: method, path (tokens redacted), status, bytes, milliseconds."""

    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        self.logger.info(
            "%s %s %s %s %.1fms",
            request.method,
            loggable_path(request),
            response.status,
            response.body_length,
            time * 1000,
        )


class OneLineBadRequests(logging.Filter):
    """aiohttp logs a request it cannot parse (too long a line, too many headers, not HTTP)
    with a full traceback; the client's fault deserves one warning line without it."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, HttpProcessingError):
            peer = record.args[0] if isinstance(record.args, tuple) and record.args else "?"
            record.msg = "bad request from %s: %s %s"
            record.args = (peer, error.code, error.message.splitlines()[0][:200])
            record.exc_info = None
            record.exc_text = None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


#: The connections' logger (aiohttp's "aiohttp.server" messages go here instead).
server_log = logging.getLogger("feeds.serve.http")
server_log.addFilter(OneLineBadRequests())


def connection_limits(limits: ServerSettings) -> dict[str, Any]:
    """aiohttp's per-connection settings from `[server]`. The keep-alive timer starts when a
    connection opens and a request only counts once its headers are complete, so
    `idle_timeout` closes idle connections and clients that send headers slowly alike."""
    return {
        "keepalive_timeout": limits.idle_timeout.total_seconds(),
        "max_line_size": limits.max_line_size,
        "max_field_size": limits.max_field_size,
        "max_headers": limits.max_headers,
        "logger": server_log,
    }


class ServeError(FeedlineError):
    """The server could not start (e.g. the port is taken)."""


class FeedServer:
    """An aiohttp application bound to a TCP socket; `start` then `stop` (or `async with`).

    Port 0 picks a free port; `port` and `url` tell the one bound. Keep-alive stays on;
    access logging is off unless asked for (then one line per request via `logging`).
    Connections start on the raw fast path for files (feeds.serve.wire) unless `wire` is
    False or access logging is on (aiohttp writes the access log, so it sees every request).
    `clock` gives the fast path's Date header (the system clock by default).
    """

    def __init__(
        self,
        app: web.Application,
        *,
        access_log: bool = False,
        shutdown_timeout: float = 5.0,
        reuse_port: bool = False,
        wire: bool = True,
        clock: Clock | None = None,
        limits: ServerSettings | None = None,
    ) -> None:
        self.app = app
        self._clock = clock
        self._limits = limits or ServerSettings()
        self._reuse_port = reuse_port
        self._wire = wire and not access_log
        self._wire_path: WirePath | None = None
        self._listener: asyncio.Server | None = None
        self._access_log = access_log
        self._shutdown_timeout = shutdown_timeout
        self._runner: web.AppRunner | None = None
        self._host = ""
        self._port: int | None = None

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        if self._runner is not None:
            raise RuntimeError("the server is already started")
        runner = web.AppRunner(
            self.app,
            access_log=access_log if self._access_log else None,
            access_log_class=ConciseAccessLogger,
            handle_signals=False,
            shutdown_timeout=self._shutdown_timeout,
            **connection_limits(self._limits),
        )
        await runner.setup()
        server = runner.server
        assert server is not None
        # web.Server's public handler, read by each connection as it opens: files first.
        server.request_handler = FileFastPath(self.app, server.request_handler)
        idle = self._limits.idle_timeout.total_seconds()
        wire = wire_path(self.app, server, self._clock, idle) if self._wire else None
        try:
            # What web.TCPSite does, with the raw fast path as the protocol when there is one.
            listener = await asyncio.get_running_loop().create_server(
                wire or server, host or None, port, backlog=128, reuse_port=self._reuse_port
            )
        except OSError as error:
            await runner.cleanup()
            raise ServeError(
                f"cannot listen on {host}:{port}: {error.strerror or error} "
                "(another program may be using it; set [server] port or stop that program)"
            ) from None
        except BaseException:
            await runner.cleanup()
            raise
        self._runner, self._listener, self._wire_path = runner, listener, wire
        self._host = host
        self._port = int(listener.sockets[0].getsockname()[1])
        log.info("serving on %s", self.url)

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the server is not started")
        return self._port

    @property
    def url(self) -> str:
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self.port}/"

    async def stop(self) -> None:
        runner, self._runner, self._port = self._runner, None, None
        listener, self._listener = self._listener, None
        wire, self._wire_path = self._wire_path, None
        if listener is not None:
            listener.close()
        if wire is not None:
            wire.close()
        if runner is not None:
            await runner.cleanup()  # also the connections handed over to aiohttp
        if listener is not None:
            await listener.wait_closed()

    async def __aenter__(self) -> FeedServer:
        if self._runner is None:
            await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()


def feed_server(
    output_dir: Path,
    limits: ServerSettings,
    *,
    cache_max_age: int,
    extra_routes: Callable[[web.Application], None] | None = None,
    access_log: bool = False,
    reuse_port: bool = False,
) -> FeedServer:
    """The server of `output_dir` (not started) with `[server]`'s body and connection limits
    (`reuse_port`: its listener shares the port with other processes', SO_REUSEPORT)."""
    app = build_app(
        output_dir,
        cache_max_age=cache_max_age,
        extra_routes=extra_routes,
        max_body_size=limits.max_body_size,
        body_timeout=limits.idle_timeout.total_seconds(),
    )
    return FeedServer(app, access_log=access_log, limits=limits, reuse_port=reuse_port)


async def serve_forever(
    output_dir: Path,
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    cache_max_age: int = 300,
    extra_routes: Callable[[web.Application], None] | None = None,
    access_log: bool = False,
    on_started: Callable[[FeedServer], None] | None = None,
    limits: ServerSettings | None = None,
) -> None:
    """Serve `output_dir` until cancelled (Ctrl-C in `asyncio.run`), then close cleanly."""
    server = feed_server(
        output_dir,
        limits or ServerSettings(),
        cache_max_age=cache_max_age,
        extra_routes=extra_routes,
        access_log=access_log,
    )
    await server.start(host, port)
    try:
        if on_started is not None:
            on_started(server)
        await asyncio.Event().wait()
    finally:
        await server.stop()
