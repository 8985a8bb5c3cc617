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
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Generic, Protocol, TypeVar

T = TypeVar("T")
log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1  # prctl(2): the signal a process gets when its parent dies


class Work(Protocol):
    """Runs a pure function and gives back its result; the event loop stays free meanwhile."""

    parallel: bool  # whether steps can run beside this process's own work
    width: int  # steps that run at once (worker processes; 1 here)

    async def run(self, func: Callable[..., T], /, *args: Any, help_out: bool = False) -> T:
        """`help_out`: when every worker is busy and a step already waits for one, this
        process runs the step itself (one such step at a time), beside its own work."""

    def close(self) -> None: ...


class LocalWork:
    """Every step in a thread of this process."""

    parallel = False
    width = 1

    async def run(self, func: Callable[..., T], /, *args: Any, help_out: bool = False) -> T:
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

    def __init__(
        self,
        pool: ProcessPoolExecutor,
        width: int = 1,
        processes: Sequence[multiprocessing.process.BaseProcess] = (),
    ) -> None:
        self._pool = pool
        self.width = width
        self._processes = tuple(processes)  # the pool's worker processes, as forked
        self._handed = 0  # steps ever handed to a worker
        self._broken = False
        self.steps_in_workers = 0  # steps whose result came from a worker
        self.steps_here = 0  # steps that ran here instead (a worker could not run them)
        self.steps_helped = 0  # steps this process took while the workers were busy
        self._out = 0  # steps handed to the workers and not back yet
        self._helping = False

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
        before = set(multiprocessing.active_children())
        try:
            pool = ProcessPoolExecutor(
                processes,
                mp_context=multiprocessing.get_context("fork"),
                initializer=_worker_started,
                initargs=(warm_up,),
            )
            pool.submit(int)  # forks every worker now, while this process has one thread
            forked = [p for p in multiprocessing.active_children() if p not in before]
            log.debug("started %d worker process(es)", processes)
        except OSError as exc:
            log.warning("could not start worker processes (%s): all work runs here", exc)
            return LocalWork()
        finally:
            gc.unfreeze()
        return cls(pool, processes, forked)

    async def run(self, func: Callable[..., T], /, *args: Any, help_out: bool = False) -> T:
        if help_out and not self._helping and self._out > self.width:
            # A refresh on two cores has one worker, and this process is idle most of the
            # time: it takes a step now and then rather than leave the worker all of them.
            self._helping = True
            self.steps_helped += 1
            try:
                return await asyncio.to_thread(func, *args)
            finally:
                self._helping = False
        if not self._broken:
            self._handed += 1
            self._out += 1
            try:
                done, result = await self._in_worker(func, args)
            finally:
                self._out -= 1
            if done:
                self.steps_in_workers += 1
                return result  # type: ignore[return-value]  # T, as the worker returned it
        self.steps_here += 1
        return await asyncio.to_thread(func, *args)

    def close(self) -> None:
        if self._handed == 0:
            # Nothing was handed to the workers (a build with nothing to do): they may still be
            # warming up for steps that will not come, and shutting down waited for that, most
            # of a no-change rebuild (~0.1 s). They hold nothing of this process's: end them.
            for process in self._processes:
                process.kill()
        self._pool.shutdown(wait=True, cancel_futures=True)
        log.debug(
            "%d steps ran in worker processes, %d here (%d of them while the workers were busy)",
            self.steps_in_workers,
            self.steps_here + self.steps_helped,
            self.steps_helped,
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


def _each(func: Callable[..., T], calls: Sequence[tuple[Any, ...]]) -> list[tuple[bool, T | None]]:
    """Run as one step: `func` on each set of arguments, (True, result) or (False, None)."""
    results: list[tuple[bool, T | None]] = []
    for args in calls:
        try:
            results.append((True, func(*args)))
        except Exception:
            results.append((False, None))  # run again by itself, which raises it
    return results


class Batches(Generic[T]):
    """Calls of one pure step, handed to `work` in batches: one hand-off for many calls.

    A call goes at once while fewer batches are out than the workers plus one (so a lone call
    waits for nothing); calls made meanwhile go together, up to `size` a batch, when one comes back.
    Each hand-off to a worker process costs this process's threads a turn at the GIL while the
    event loop and the store want it too; one per page left the worker waiting between steps.
    A call that fails in its batch runs again by itself, where its error is raised as usual.
    """

    def __init__(
        self, work: Work, func: Callable[..., T], *, size: int = 16, help_out: bool = False
    ) -> None:
        self.work, self.func, self.size, self.help_out = work, func, size, help_out
        # One batch running in each worker, one more queued, and one this process may take.
        self.depth = work.width + (2 if help_out and work.parallel else 1)
        self._waiting: list[tuple[tuple[Any, ...], asyncio.Future[T]]] = []
        self._out = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self.batches = 0  # batches handed over so far

    async def run(self, *args: Any) -> T:
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._waiting.append((args, future))
        self._send_what_waits()
        return await future

    def _send_what_waits(self) -> None:
        while self._waiting and self._out < self.depth:
            batch, self._waiting = self._waiting[: self.size], self._waiting[self.size :]
            self._out += 1
            self.batches += 1
            task = asyncio.create_task(self._send(batch))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _send(self, batch: list[tuple[tuple[Any, ...], asyncio.Future[T]]]) -> None:
        try:
            live = [(args, future) for args, future in batch if not future.done()]
            if not live:  # their callers were cancelled
                return
            calls = [args for args, _ in live]
            results = await self.work.run(_each, self.func, calls, help_out=self.help_out)
            for (args, future), (done, result) in zip(live, results, strict=True):
                if done:
                    if not future.done():
                        future.set_result(result)  # type: ignore[arg-type]  # T, from func
                    continue
                try:
                    value = await asyncio.to_thread(self.func, *args)
                except Exception as error:
                    if not future.done():
                        future.set_exception(error)
                else:
                    if not future.done():
                        future.set_result(value)
        except Exception as error:  # the batch could not run at all: each call says so
            for _, future in batch:
                if not future.done():
                    future.set_exception(error)
        except BaseException:  # cancelled: so are the calls
            for _, future in batch:
                future.cancel()
            raise
        finally:
            self._out -= 1
            self._send_what_waits()
