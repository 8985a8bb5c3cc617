"""The refresh lease on SQLite and PostgreSQL: one holder, renewal, release, take-over."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, select

from feeds.clock import FixedClock
from feeds.store.tables import sources
from scheduler.refresh_lease import RefreshLeases

START = datetime(2024, 3, 5, 10, 0, tzinfo=UTC)
LENGTH = timedelta(seconds=30)


def two(engine: Engine) -> tuple[FixedClock, RefreshLeases, RefreshLeases]:
    clock = FixedClock(START)
    return (
        clock,
        RefreshLeases(engine, clock, LENGTH, "a"),
        RefreshLeases(engine, clock, LENGTH, "b"),
    )


def row(engine: Engine) -> tuple[str | None, datetime | None, datetime | None]:
    with engine.connect() as conn:
        found = conn.execute(
            select(sources.c.lease_owner, sources.c.lease_until, sources.c.refresh_due)
        ).one()
    return found.lease_owner, found.lease_until, found.refresh_due


def test_one_holder_at_a_time_and_the_due_time_is_shared(engine: Engine) -> None:
    clock, a, b = two(engine)
    assert a.take("river").taken  # makes the source's row
    assert row(engine) == ("a", START + LENGTH, None)
    refused = b.take("river")
    assert (refused.taken, refused.holder, refused.held_until) == (False, "a", START + LENGTH)
    next_due = START + timedelta(minutes=30)
    assert a.release("river", next_due)
    assert row(engine) == (None, None, next_due)
    clock.advance(timedelta(minutes=29))
    early = b.take("river")  # free, but refreshed for this schedule already
    assert (early.taken, early.holder, early.due) == (False, None, next_due)
    assert b.take("river", at_start=True).taken  # a starting daemon only asks for a free one
    assert b.release("river", next_due + timedelta(minutes=30))
    clock.advance(timedelta(minutes=31))
    assert b.take("river").taken


def test_a_lease_is_renewed_while_held_and_taken_over_when_it_runs_out(engine: Engine) -> None:
    clock, a, b = two(engine)
    assert a.take("river").taken
    clock.advance(LENGTH * 2 / 3)
    assert a.renew("river")
    clock.advance(LENGTH * 2 / 3)  # past the first expiry, not the renewed one
    assert not b.take("river").taken
    clock.advance(LENGTH)  # "a" died: nobody renews
    assert b.take("river").taken
    assert row(engine)[0] == "b"
    assert not a.renew("river")  # "a" wakes up: no longer its lease
    assert not a.release("river", START)  # and its release changes nothing
    assert row(engine)[0] == "b"
    assert b.release_all() == 1
    assert row(engine)[:2] == (None, None)


def test_of_daemons_racing_for_a_lease_one_wins(engine: Engine) -> None:
    clock = FixedClock(START)
    contenders = [RefreshLeases(engine, clock, LENGTH, f"d{n}") for n in range(6)]
    contenders[0].take("river")  # the row exists before the race
    contenders[0].release("river", None)
    go = threading.Barrier(len(contenders))
    won: list[str] = []

    def race(leases: RefreshLeases) -> None:
        go.wait()
        if leases.take("river").taken:
            won.append(leases.owner)

    threads = [threading.Thread(target=race, args=(leases,)) for leases in contenders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(won) == 1
    assert row(engine)[0] == won[0]


def test_a_lease_of_a_process_gone_from_this_host_is_taken_over_at_once(engine: Engine) -> None:
    """A daemon or build killed with SIGKILL leaves its lease held until it runs out; when the
    holder was a process on this host that no longer runs, the next taker need not wait (a
    killed `build` made the next one skip its source: tests/faults/test_crashes.py)."""
    clock = FixedClock(START)
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # exited and reaped: its pid names no process now
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    host = socket.gethostname()
    try:
        holders = {
            "river": f"{host}:{gone.pid}:0badf00d",  # gone: taken over at once
            "lake": f"{host}:{alive.pid}:0badf00d",  # still running: held
            "sea": f"elsewhere.example:{gone.pid}:0badf00d",  # another host: by expiry only
        }
        for source_id, holder in holders.items():
            assert RefreshLeases(engine, clock, LENGTH, holder).take(source_id).taken
        taker = RefreshLeases(engine, clock, LENGTH, f"{host}:{os.getpid()}:feedf00d")
        assert taker.take("river", at_start=True).taken
        assert [taker.take(s, at_start=True).holder for s in ("lake", "sea")] == [
            holders["lake"],
            holders["sea"],
        ]
        clock.advance(LENGTH * 2)  # their leases ran out: both free now
        assert taker.take("lake").taken and taker.take("sea").taken
    finally:
        alive.kill()
        alive.wait()
