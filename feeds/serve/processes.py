"""Serving-only child processes beside the one that started them (`[server] processes`).

The parent listens on its port with SO_REUSEPORT and starts `count` children that each open
their own listener on the same address and port (the kernel spreads new connections over
the listeners, as nginx's `reuseport` does). The children get the read end of a pipe whose
write end only the parent holds: when the parent exits, however it exits (even `kill -9`),
the pipe reads end-of-file and each child stops (`watch_parent`). A child that exits while
the parent runs is logged as an error, counted in `feedline_serving_restarts_total` and
started again: at once the first time, then after a pause that doubles (up to
`MAX_RESTART_PAUSE`) while it keeps dying within `STABLE_SECONDS` of its start.
`stop` closes the pipe and waits for the children (SIGKILL after `stop_timeout`).

The children ignore SIGTERM and SIGINT, like the refresh workers: systemd sends SIGTERM to
the whole unit and a terminal's Ctrl-C reaches the whole process group, and a child that
stopped then would be started again by a parent that has not yet begun to stop. So they go
on answering while the daemon winds down, and stop with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from collections.abc import Callable, Sequence

from prometheus_client import Counter, Gauge

log = logging.getLogger(__name__)

PARENT_FD_OPTION = "--parent-fd"
STABLE_SECONDS = 10.0
MAX_RESTART_PAUSE = 30.0

SERVING_PROCESSES = Gauge(
    "feedline_serving_processes",
    "Serving child processes running now ([server] processes - 1 when all are up).",
)
SERVING_RESTARTS = Counter(
    "feedline_serving_restarts",
    "Serving child processes that exited while the main process ran (each is started again).",
)


class ServingProcesses:
    """`count` children running `command` + `--parent-fd N`, kept running until `stop`."""

    def __init__(self, command: Sequence[str], count: int, *, stop_timeout: float = 5.0) -> None:
        self.command = list(command)
        self.count = count
        self.stop_timeout = stop_timeout
        self.children: list[asyncio.subprocess.Process | None] = [None] * count
        self.restarts = 0
        self._watchers: list[asyncio.Task[None]] = []
        self._stopping = False
        self._pipe: tuple[int, int] | None = None

    @property
    def pids(self) -> list[int]:
        return [child.pid for child in self.children if child is not None]

    async def start(self) -> None:
        self._pipe = os.pipe()  # not inheritable: only the read end is passed on
        for slot in range(self.count):
            await self._spawn(slot)
        self._watchers = [asyncio.create_task(self._watch(slot)) for slot in range(self.count)]

    async def _spawn(self, slot: int) -> None:
        assert self._pipe is not None
        reader = self._pipe[0]
        self.children[slot] = await asyncio.create_subprocess_exec(
            *self.command,
            PARENT_FD_OPTION,
            str(reader),
            stdin=asyncio.subprocess.DEVNULL,
            pass_fds=(reader,),
        )
        SERVING_PROCESSES.set(len(self.pids))

    async def _watch(self, slot: int) -> None:
        pause = 0.0
        while True:
            child = self.children[slot]
            assert child is not None
            started = time.monotonic()
            code = await child.wait()
            self.children[slot] = None
            SERVING_PROCESSES.set(len(self.pids))
            if self._stopping:
                return
            self.restarts += 1
            SERVING_RESTARTS.inc()
            lived = time.monotonic() - started
            pause = 0.0 if lived >= STABLE_SECONDS else min(MAX_RESTART_PAUSE, pause * 2 or 1.0)
            log.error(
                "serving process %d exited (%s) after %.0f s; starting another%s",
                child.pid,
                _exit_text(code),
                lived,
                f" in {pause:.0f} s" if pause else "",
            )
            if pause:
                await asyncio.sleep(pause)  # `stop` cancels this task
            try:
                await self._spawn(slot)
            except OSError as error:
                log.error("cannot start a serving process: %s", error)
                self.children[slot] = None
                return

    async def stop(self) -> None:
        self._stopping = True
        for task in self._watchers:  # none restarts a child from now on
            task.cancel()
        await asyncio.gather(*self._watchers, return_exceptions=True)
        if self._pipe is not None:  # each child reads end-of-file and stops
            os.close(self._pipe[1])
        waits = [child.wait() for child in self.children if child is not None]
        try:
            await asyncio.wait_for(asyncio.gather(*waits), self.stop_timeout)
        except TimeoutError:
            log.warning("serving processes did not stop in %.0f s: killing them", self.stop_timeout)
            for child in self.children:
                if child is not None and child.returncode is None:
                    with contextlib.suppress(ProcessLookupError):
                        child.kill()
            await asyncio.gather(*(c.wait() for c in self.children if c is not None))
        if self._pipe is not None:
            os.close(self._pipe[0])
            self._pipe = None
        SERVING_PROCESSES.set(0)


def _exit_text(code: int) -> str:
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-code).name}"
    return f"exit status {code}"


def watch_parent(fd: int, on_gone: Callable[[], None]) -> None:
    """Call `on_gone` (once) when the parent's end of pipe `fd` closes: the parent exited."""
    loop = asyncio.get_running_loop()
    os.set_blocking(fd, False)

    def readable() -> None:
        try:
            data = os.read(fd, 512)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            loop.remove_reader(fd)
            on_gone()

    loop.add_reader(fd, readable)
