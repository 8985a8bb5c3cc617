"""Where the pure, CPU-heavy steps of a refresh run: in this process, or in workers as well.

Finding a page's deadlines and rendering a feed are work on values alone: they touch neither
the store nor the network. `ProcessWork` runs such steps in worker processes, so on a machine
with two or more cores a build stores one source while the next one's deadlines are found and
the last one's feeds rendered. What a step gives never depends on where it ran: steps are pure
functions, and a step that fails in a worker (the worker died, a value could not cross) runs
again here, where its error, if any, is raised as usual.

Workers are forked, once, when the app is built: only on Linux, and only while this process
has a single thread (forking a process with other threads can deadlock the child). Anywhere
else every step runs here (`LocalWork`), with the same results.
"""

from __future__ import annotations

import asyncio
import ctypes
import gc
import logging
import multiprocessing
import signal
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Protocol, TypeVar

T = TypeVar("T")
log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1  # prctl(2): the signal a process gets when its parent dies


class Work(Protocol):
    """Runs a pure function and gives back its result; the event loop stays free meanwhile."""

    parallel: bool  # whether steps can run beside this process's own work

    async def run(self, func: Callable[..., T], /, *args: Any) -> T: ...

    def close(self) -> None: ...


class LocalWork:
    """Every step in a thread of this process."""

    parallel = False

    async def run(self, func: Callable[..., T], /, *args: Any) -> T:
        return await asyncio.to_thread(func, *args)

    def close(self) -> None:
        pass


def _worker_started(warm_up: Callable[[], object] | None) -> None:
    """In each worker: stopping is the parent's business (Ctrl-C and a service manager's
    SIGTERM reach the whole process group; the parent finishes its work, then closes the pool).
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.set_wakeup_fd(-1)
    try:  # a worker whose parent was killed outright goes too, instead of lingering
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass
    if warm_up is not None:
        try:
            warm_up()
        except Exception:  # only a head start: the steps themselves will say what is wrong
            log.debug("worker warm-up failed", exc_info=True)


def _call(func: Callable[..., T], args: tuple[Any, ...]) -> tuple[bool, T | None]:
    """Run in a worker: (True, result), or (False, None) when the step raised."""
    try:
        return True, func(*args)
    except Exception:
        return False, None  # run again in the parent, which raises it with its own traceback


class ProcessWork:
    """Steps go to worker processes (queued when all are busy); this process stores and writes."""

    parallel = True

    def __init__(self, pool: ProcessPoolExecutor) -> None:
        self._pool = pool
        self._broken = False
        self.steps_in_workers = 0  # steps whose result came from a worker
        self.steps_here = 0  # steps that ran here instead (a worker could not run them)

    @classmethod
    def start(cls, processes: int, warm_up: Callable[[], object] | None = None) -> Work:
        """`processes` workers forked now, or LocalWork where that is not asked for or not safe.

        Each worker first runs `warm_up` (compiling what its steps need) while this process
        goes on; steps queue meanwhile.
        """
        if processes < 1:
            return LocalWork()
        if not sys.platform.startswith("linux"):
            log.debug("worker processes are used on Linux only: all work runs in this process")
            return LocalWork()
        if threading.active_count() > 1:
            log.debug("this process already has threads: no worker processes are forked")
            return LocalWork()
        # The workers' garbage collector leaves what they inherit alone, so the pages shared
        # with this process stay shared instead of being copied on the collector's first pass.
        gc.freeze()
        try:
            pool = ProcessPoolExecutor(
                processes,
                mp_context=multiprocessing.get_context("fork"),
                initializer=_worker_started,
                initargs=(warm_up,),
            )
            pool.submit(int)  # forks every worker now, while this process has one thread
            log.debug("started %d worker process(es)", processes)
        except OSError as exc:
            log.warning("could not start worker processes (%s): all work runs here", exc)
            return LocalWork()
        finally:
            gc.unfreeze()
        return cls(pool)

    async def run(self, func: Callable[..., T], /, *args: Any) -> T:
        if not self._broken:
            done, result = await self._in_worker(func, args)
            if done:
                self.steps_in_workers += 1
                return result  # type: ignore[return-value]  # T, as the worker returned it
        self.steps_here += 1
        return await asyncio.to_thread(func, *args)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        log.debug(
            "%d steps ran in worker processes, %d here", self.steps_in_workers, self.steps_here
        )

    async def _in_worker(
        self, func: Callable[..., T], args: tuple[Any, ...]
    ) -> tuple[bool, T | None]:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._pool, _call, func, args)
        except BrokenProcessPool:
            if not self._broken:
                log.warning("a worker process died: from now on all work runs in this process")
            self._broken = True
        except Exception as exc:  # a value that could not cross to or from the worker
            log.debug("step %s could not run in a worker (%s); running it here", func, exc)
        return False, None
