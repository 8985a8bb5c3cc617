"""`feeds.work`: steps run in a forked worker, and anything a worker cannot do runs here."""

from __future__ import annotations

import asyncio
import functools
import logging
import multiprocessing
import os
import select
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator

import pytest

from feeds.work import Batches, LocalWork, ProcessWork

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="worker processes are forked on Linux only"
)


def pid() -> int:
    return os.getpid()


def fails(text: str) -> None:
    raise ValueError(f"bad input: {text}")


def unpicklable() -> Callable[[], int]:
    return lambda: 42  # a lambda cannot be sent back from a worker


@pytest.fixture
def work() -> Iterator[ProcessWork]:
    started = ProcessWork.start(1)
    assert isinstance(started, ProcessWork), (
        f"no worker forked: this test process has {threading.active_count()} threads"
    )
    yield started
    started.close()


def test_a_step_runs_in_the_worker(work: ProcessWork) -> None:
    async def run() -> int:
        return await work.run(pid)

    assert asyncio.run(run()) != os.getpid()
    assert (work.steps_in_workers, work.steps_here) == (1, 0)


def test_steps_beyond_the_idle_workers_wait_for_one(work: ProcessWork) -> None:
    async def run() -> list[int]:
        return list(await asyncio.gather(*(work.run(pid) for _ in range(20))))

    pids = asyncio.run(run())
    assert os.getpid() not in pids and len(set(pids)) == 1
    assert (work.steps_in_workers, work.steps_here) == (20, 0)


def test_a_step_that_raises_in_the_worker_raises_here_with_its_own_error(
    work: ProcessWork,
) -> None:
    async def run() -> None:
        await work.run(fails, "x")

    with pytest.raises(ValueError, match="bad input: x"):
        asyncio.run(run())
    assert work.steps_here == 1


def test_a_result_that_cannot_come_back_is_worked_out_here(work: ProcessWork) -> None:
    async def run() -> Callable[[], int]:
        return await work.run(unpicklable)

    assert asyncio.run(run())() == 42
    assert (work.steps_in_workers, work.steps_here) == (0, 1)


def test_after_a_worker_dies_every_step_runs_here(
    work: ProcessWork, caplog: pytest.LogCaptureFixture
) -> None:
    async def run() -> tuple[int, int]:
        worker = await work.run(pid)
        os.kill(worker, signal.SIGKILL)
        return await work.run(pid), await work.run(pid)

    with caplog.at_level(logging.WARNING, logger="feeds.work"):
        assert asyncio.run(run()) == (os.getpid(), os.getpid())
    assert "a worker process died" in caplog.text


def twice(n: int) -> tuple[int, int]:
    if n == 13:
        raise ValueError("thirteen")
    return n * 2, os.getpid()


def test_batched_calls_share_hand_offs_and_each_keeps_its_own_result(work: ProcessWork) -> None:
    batches = Batches(work, twice, size=8)

    async def run() -> list[tuple[int, int] | BaseException]:
        return list(
            await asyncio.gather(*(batches.run(n) for n in range(20)), return_exceptions=True)
        )

    results = asyncio.run(run())
    assert [r[0] for r in results if isinstance(r, tuple)] == [n * 2 for n in range(20) if n != 13]
    assert os.getpid() not in {r[1] for r in results if isinstance(r, tuple)}
    # the first goes at once, the second beside it, the 18 that waited go 8 at a time
    assert batches.batches == 5
    error = results[13]
    assert isinstance(error, ValueError) and str(error) == "thirteen"  # raised here, by itself


GATE = multiprocessing.get_context("fork").Event()


def held() -> int:
    """In the worker: busy until the test opens the gate."""
    GATE.wait(60)
    return os.getpid()


def test_a_step_that_may_help_out_runs_here_while_the_worker_is_busy() -> None:
    GATE.clear()
    work = ProcessWork.start(1)  # forked after the gate was made: the worker shares it
    assert isinstance(work, ProcessWork)

    async def run() -> tuple[list[int], int, int]:
        busy = [asyncio.ensure_future(work.run(held)) for _ in range(2)]  # one runs, one waits
        await asyncio.sleep(0)  # both handed over (a turn of the loop, no waiting for time)
        here = await work.run(pid, help_out=True)
        queued = asyncio.ensure_future(work.run(pid))  # without help_out: waits for the worker
        GATE.set()
        return [await b for b in busy], here, await queued

    try:
        workers, here, queued = asyncio.run(run())
    finally:
        GATE.set()
        work.close()
    assert here == os.getpid()
    assert os.getpid() not in workers and queued in workers
    assert (work.steps_helped, work.steps_in_workers) == (1, 3)


def test_local_work_runs_in_this_process() -> None:
    async def run() -> int:
        return await LocalWork().run(pid)

    assert asyncio.run(run()) == os.getpid()


PARENT = """
import os, sys
sys.path.insert(0, sys.argv[1])
from feeds.work import ProcessWork
work = ProcessWork.start(1)
print(work._pool.submit(os.getpid).result(), flush=True)
sys.stdin.read()  # until killed
"""


def test_a_worker_goes_when_its_parent_is_killed(tmp_path: object) -> None:
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, repo], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    try:
        assert parent.stdout is not None
        worker = int(parent.stdout.readline())
        watch = os.pidfd_open(worker)  # readable once the worker has exited
        parent.kill()
        parent.wait(timeout=30)
        readable, _, _ = select.select([watch], [], [], 30)
        os.close(watch)
        assert readable, f"worker {worker} outlived its killed parent"
    finally:
        parent.kill()
        parent.wait(timeout=30)


def test_values_that_cross_to_and_from_workers_survive_pickling() -> None:
    import pickle
    from datetime import UTC, date, datetime, time

    from feeds.deadlines.ahead import work_out
    from feeds.errors import ItemError, SourceError
    from feeds.model import Deadline, Entry, Item

    at = datetime(2024, 3, 5, 10, 0, tzinfo=UTC)
    deadline = Deadline(at, date(2024, 3, 5), time(11, 0), "Europe/Brussels", "call", "until")
    values: list[object] = [
        Entry("Title", "<p>Body</p>", True, "https://x.example/1", at, at, "guid", "summary"),
        Entry("Undated", "Body"),
        deadline,
        Item("id", "src", "T", "https://x.example/1", "c", False, at, at, at, 3, True, (deadline,)),
        work_out(["Open until 17 February."], [None], date(2023, 2, 1), "en", "Europe/Brussels"),
    ]
    for value in values:
        assert pickle.loads(pickle.dumps(value)) == value  # noqa: S301  (our own bytes)
    for error in (ItemError("src", "item", "bad"), SourceError("src", "gone", where="p.txt")):
        back = pickle.loads(pickle.dumps(error))  # noqa: S301  (our own bytes)
        assert (type(back), str(back), vars(back)) == (type(error), str(error), vars(error))


def test_a_worker_leaves_stopping_to_its_parent(work: ProcessWork) -> None:
    # Ctrl-C and a service manager's SIGTERM reach every process of the group; the parent
    # finishes what it is doing and closes the pool, so a worker must not die of them first.
    async def run() -> tuple[int, int]:
        worker = await work.run(pid)
        os.kill(worker, signal.SIGTERM)
        os.kill(worker, signal.SIGINT)
        return worker, await work.run(pid)

    first, second = asyncio.run(run())
    assert first == second != os.getpid()
    assert (work.steps_in_workers, work.steps_here) == (2, 0)


def warms_up_until_told(read_end: int) -> None:
    os.read(read_end, 1)  # the test never writes: a warm-up that does not end by itself


def test_workers_never_given_a_step_are_ended_at_close_not_waited_for() -> None:
    # A build with nothing to do hands no step to its worker; closing used to wait for the
    # worker's warm-up (compiling patterns no step would use), most of a no-change rebuild.
    read_end, write_end = os.pipe()
    try:
        work = ProcessWork.start(1, warm_up=functools.partial(warms_up_until_told, read_end))
        assert isinstance(work, ProcessWork)
        (worker,) = multiprocessing.active_children()
        work.close()  # returns: the worker still in its warm-up was ended
        assert not worker.is_alive()
    finally:
        os.close(read_end)
        os.close(write_end)


def test_a_worker_that_was_given_steps_is_shut_down_as_usual() -> None:
    work = ProcessWork.start(1)
    assert isinstance(work, ProcessWork)
    (worker,) = multiprocessing.active_children()

    async def run() -> int:
        return await work.run(pid)

    assert asyncio.run(run()) == worker.pid
    work.close()
    assert worker.exitcode == 0  # it left its loop when the pool said so, not killed
