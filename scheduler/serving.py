"""The HTTP side of `feedline run` and `feedline serve`: this process's server and, with
`[server] processes` > 1, the serving-only children beside it (feeds.serve.processes).

Each child is this module run as a program (`python -m scheduler.serving`): it loads the same
settings file, opens the same database and answers the same routes (files, /healthz,
/metrics, the subscription pages) on the same port. Every answer that reads state reads the
database or the output folder, which all processes share; `/metrics` sums the processes'
own counters through a folder of snapshots (feeds.metrics_shared). A child never refreshes,
sends or publishes.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import signal
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

from config.loading import LoadedSettings
from feeds.clock import Clock, OffsetClock, SystemClock
from feeds.metrics_shared import SharedMetrics
from feeds.serve.processes import PARENT_FD_OPTION, ServingProcesses, watch_parent
from feeds.serve.server import FeedServer, feed_server
from scheduler.web import DaemonRoutes


class Serving:
    """Start, then stop: this process's `FeedServer` and the other serving processes."""

    def __init__(
        self,
        loaded: LoadedSettings,
        routes: DaemonRoutes,
        clock: Clock,
        *,
        host: str | None = None,
        port: int | None = None,
        access_log: bool = False,
        log_format: str = "text",
    ) -> None:
        self.loaded = loaded
        self.routes = routes
        self.clock = clock
        server = loaded.settings.server
        self.host = server.host if host is None else host
        self.port = server.port if port is None else port
        self.access_log = access_log
        self.log_format = log_format
        self.count = server.process_count
        self.server: FeedServer | None = None
        self.children: ServingProcesses | None = None
        self._folder: Path | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return self.server.url

    async def start(self) -> None:
        settings = self.loaded.settings
        several = self.count > 1
        if several and settings.server.metrics:
            self._folder = Path(tempfile.mkdtemp(prefix="feedline-metrics-"))
            self.routes.shared_metrics = SharedMetrics(self._folder, main=True)
        self.server = feed_server(
            settings.site.output_dir,
            settings.server,
            cache_max_age=settings.server.cache_max_age,
            extra_routes=self.routes.add_to,
            access_log=self.access_log,
            reuse_port=several,
        )
        try:
            await self.server.start(self.host, self.port)
            if several:
                self.children = ServingProcesses(self.child_command(), self.count - 1)
                await self.children.start()
        except BaseException:
            await self.stop()
            raise

    def child_command(self) -> list[str]:
        """How a child is started (`--parent-fd` is added by feeds.serve.processes)."""
        assert self.server is not None
        command = [sys.executable, "-m", "scheduler.serving"]
        command += ["--host", self.host, "--port", str(self.server.port)]
        command += ["--log-format", self.log_format]
        if not self.loaded.embedded:
            command += ["--config", str(Path(self.loaded.origin).resolve())]
        if self._folder is not None:
            command += ["--metrics-dir", str(self._folder)]
        offset = (self.clock.now() - SystemClock().now()).total_seconds()
        if abs(offset) >= 0.001:  # `feedline run --now`: the children's clocks agree
            command += ["--clock-offset", repr(offset)]
        if self.access_log:
            command.append("--access-log")
        return command

    async def stop(self) -> None:
        children, self.children = self.children, None
        server, self.server = self.server, None
        if children is not None:
            await children.stop()
        if server is not None:
            await server.stop()
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None


async def _serve_child(args: argparse.Namespace) -> int:
    from feeds.errors import FeedlineError
    from scheduler.database import open_database
    from scheduler.reminders_app import signing_key

    clock: Clock = SystemClock()
    if args.clock_offset:
        clock = OffsetClock(SystemClock().now() + timedelta(seconds=args.clock_offset))
    try:
        settings = _load(args.config).settings
        engine = await asyncio.to_thread(open_database, settings)
    except FeedlineError as error:
        print(f"feedline serving process: error: {error}", file=sys.stderr)
        return 2
    shared = None if args.metrics_dir is None else SharedMetrics(args.metrics_dir, main=False)
    routes = DaemonRoutes(settings, engine, clock, signing_key(settings), shared_metrics=shared)
    server = feed_server(
        settings.site.output_dir,
        settings.server,
        cache_max_age=settings.server.cache_max_age,
        extra_routes=routes.add_to,
        access_log=args.access_log,
        reuse_port=True,
    )
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        if args.parent_fd is None:
            loop.add_signal_handler(signum, stopped.set)
        else:  # the parent stops us by closing the pipe (see feeds.serve.processes)
            signal.signal(signum, signal.SIG_IGN)
    try:
        await server.start(args.host, args.port)
        if args.parent_fd is not None:
            watch_parent(args.parent_fd, stopped.set)
        await stopped.wait()
    except FeedlineError as error:
        print(f"feedline serving process: error: {error}", file=sys.stderr)
        return 1
    finally:
        await server.stop()
        engine.dispose()
    return 0


def _load(config: str | None) -> LoadedSettings:
    from config.loading import load_settings

    return load_settings(config)


def main(argv: list[str] | None = None) -> int:
    """A serving-only child of `feedline run` / `feedline serve` (not for people to run)."""
    parser = argparse.ArgumentParser(prog="python -m scheduler.serving", description=main.__doc__)
    parser.add_argument("--config", default=None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--metrics-dir", type=Path, default=None)
    parser.add_argument("--clock-offset", type=float, default=0.0)
    parser.add_argument("--log-format", choices=["text", "json"], default="text")
    parser.add_argument("--access-log", action="store_true")
    parser.add_argument(PARENT_FD_OPTION, dest="parent_fd", type=int, default=None)
    args = parser.parse_args(argv)
    from feeds.serve.server import run_serving
    from scheduler.cli_common import setup_logging

    setup_logging(0, args.log_format)
    return run_serving(_serve_child(args))


if __name__ == "__main__":
    sys.exit(main())
