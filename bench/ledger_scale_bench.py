"""The reminder ledger at scale: throughput and peak memory against raw aiosmtplib.

    .venv/bin/python bench/ledger_scale_bench.py [--sizes 10000,30000,100000]
        [--databases sqlite,postgres] [--connections 4]
    .venv/bin/python bench/ledger_scale_bench.py --crash [--kills 8] [--count 3000]

Every row runs in a fresh process of its own (peak RSS = that process's ru_maxrss); the sink
(aiosmtpd, counting and discarding) runs in another. N reminders = N/10 subscribers x 10
deadlines, one offset each, planned with `plan()` before the clock starts; the timed part is
one `ReminderDispatcher.run_pass()` over SmtpTransport with `connections` reused connections
(re-planning, settling, claiming in batches, composing, sending, marking sent).

- raw: aiosmtplib `sendmail()` over the same number of reused connections of the very bytes
  the ledger sends: a pool of RAW_POOL reminders composed by the ledger's own `Composer` from
  a small ledger of the same shape before the clock starts, cycled. No database, no
  composing in the timed part; the same sink, message sizes and envelopes.
- sqlite: the ledger in a SQLite file in a temporary folder.
- postgres: the ledger in a fresh schema of FEEDLINE_BENCH_POSTGRES_URL (default
  postgresql+psycopg://postgres@127.0.0.1:5432/test), dropped afterwards.

Both kinds of child do the same work before the clock starts: build the RAW_POOL ledger and
compose its messages (raw sends those; a ledger child throws them away). So neither pays
the process's first imports, regular expressions and e-mail policy set-up inside the timed
part, as a long-running daemon pays them once, not per pass. Before 2026-12-08 only the raw
child did (it cost a 10,000 ledger pass 0.15-0.24 s of CPU, 3-4%, and 1% at 30,000).

With `--repeat N` the kinds run N rounds, interleaved (raw, sqlite, postgres; the order
rotates each round), so a busy minute on the shared machine hits every kind. Each row prints
the median msg/s and CPU per message over its N runs with the spread (lowest-highest), peak
RSS the highest; a ratio is the median of the N per-round ratios (a ledger run over the raw
run of the same round), with their spread.

`--no-send`: only the ledger runs, over a transport that discards every message: its CPU per
message is what the ledger spends outside the SMTP exchange.

`--crash`: one ledger of `--count` reminders (SQLite, or PostgreSQL with --databases
postgres) sent by a child process that is SIGKILLed at random moments `--kills` times and
started again (its clock moved past the dead one's lease), then once more to the end. The
sink records every Message-ID: lost = planned rows never received, duplicates = messages
received more than once, checked against the bound (messages in flight per kill).
Everything the bench creates (folders, schemas) is removed at the end, killed or not.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
for entry in (str(REPO), str(REPO / "bench")):
    if entry not in sys.path:
        sys.path.insert(0, entry)

import aiosmtplib  # noqa: E402

HOST = "127.0.0.1"
DEADLINES = 10
RAW_POOL = 500
POSTGRES_URL = os.environ.get(
    "FEEDLINE_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
CLOSES = datetime(2023, 2, 17, 22, 59, 59, tzinfo=UTC)
CREATED = datetime(2023, 1, 1, tzinfo=UTC)
START = CLOSES - timedelta(days=6)  # the 7-day reminders are due
LEASE = timedelta(minutes=5)


# The sink ---------------------------------------------------------------------------------


def serve_sink(record: bool) -> None:
    """Child process: an aiosmtpd server that accepts and discards; prints its port, then
    (when `record`) a JSON object of Message-ID -> times received once its stdin closes."""
    from aiosmtpd.controller import Controller

    received: Counter[str] = Counter()
    message_id = re.compile(rb"^Message-ID: *(\S+)", re.MULTILINE | re.IGNORECASE)

    class Discard:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            if record:
                found = message_id.search(envelope.original_content or envelope.content)
                received[found.group(1).decode() if found else "?"] += 1
            return "250 OK"

    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port = probe.getsockname()[1]
    controller = Controller(Discard(), hostname=HOST, port=port)
    controller.start()
    print(port, flush=True)
    sys.stdin.read()
    controller.stop()
    if record:
        print(json.dumps(received), flush=True)


@contextmanager
def sink(record: bool = False) -> Iterator[tuple[int, dict[str, int]]]:
    """The sink's port, and (after the block, when `record`) what it received."""
    process = subprocess.Popen(
        [sys.executable, __file__, "--sink", *(["--record"] if record else [])],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    received: dict[str, int] = {}
    try:
        assert process.stdout is not None and process.stdin is not None
        yield int(process.stdout.readline()), received
        process.stdin.close()
        if record:
            received.update(json.loads(process.stdout.readline()))
    finally:
        if process.stdin and not process.stdin.closed:
            process.stdin.close()
        process.wait(timeout=30)


# Databases --------------------------------------------------------------------------------


@contextmanager
def database(kind: str, folder: Path) -> Iterator[str]:
    """A URL for an empty database of `kind`; a PostgreSQL schema is dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'feedline.db'}"
        return
    import sqlalchemy as sa

    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def bench_settings(folder: Path, url: str, connections: int, port: int) -> Any:
    from config.schema import Settings

    return Settings.model_validate(
        {
            "site": {
                "base_url": "https://feeds.example.org/",
                "data_dir": str(folder),
                "database_url": url,
            },
            "sources": [
                {
                    "id": "home-affairs",
                    "kind": "text",
                    "path": "p.txt",
                    "title": "Migration and Home Affairs: news",
                    "link": "https://home-affairs.example.org/news",
                }
            ],
            "mail": {
                "from": "Consultation reminders <reminders@example.org>",
                "transport": "smtp",
                "smtp": {
                    "host": HOST,
                    "port": port,
                    "security": "none",
                    "max_connections": connections,
                    "max_per_second": 1_000_000,
                    "timeout": 30,
                },
            },
            "reminders": {"offsets": ["7d"], "lease": f"{int(LEASE.total_seconds())}s"},
        }
    )


def populate(url: str, settings: Any, count: int) -> None:
    """10 deadlines, count/10 subscribers, and their `count` reminder rows (planned)."""
    from sqlalchemy import func, insert, select

    from feeds.model import Deadline, Entry
    from feeds.store.deadlines import save_deadlines
    from feeds.store.items import upsert_entries
    from feeds.store.tables import reminders, subscribers
    from scheduler.database import create_db_engine, upgrade
    from scheduler.ledger.planning import plan

    engine = create_db_engine(url)
    upgrade(engine)
    people = count // DEADLINES
    with engine.begin() as conn:
        entries = [
            Entry(f"Public consultation number {n} on security", f"Open until ... ({n})")
            for n in range(DEADLINES)
        ]
        stored = upsert_entries(conn, settings.sources[0], entries, CREATED)
        for n, item in enumerate(stored.stored):
            closes = CLOSES + timedelta(hours=n)
            deadline = Deadline(
                closes_at=closes,
                local_date=closes.date(),
                local_time=None,
                timezone="Europe/Brussels",
                label=f"call for evidence number {n}",
                evidence="This call is open until 17 February.",
            )
            save_deadlines(
                conn,
                item.item_id,
                "home-affairs",
                [(deadline, "extracted")],
                CREATED,
                "home-affairs.example.org",
            )
        for start in range(0, people, 1000):
            conn.execute(
                insert(subscribers),
                [
                    {
                        "email": f"subscriber{n}@example.org",
                        "status": "active",
                        "sources": "",
                        "offsets": "",
                        "created_at": CREATED,
                        "updated_at": CREATED,
                        "confirmed_at": CREATED,
                    }
                    for n in range(start, min(start + 1000, people))
                ],
            )
    with engine.begin() as conn:
        planned = plan(conn, CREATED, settings.reminders.offsets)
        stored_rows = conn.execute(select(func.count()).select_from(reminders)).scalar_one()
    engine.dispose()
    if planned != people * DEADLINES or stored_rows != planned:
        raise SystemExit(f"planned {planned} rows ({stored_rows} stored), not {people * DEADLINES}")


# Scenarios (each in its own process) ------------------------------------------------------


Timing = tuple[int, float, float]  # sent, wall seconds, CPU seconds of this process


def ledger_pool(folder: Path, port: int, connections: int) -> list[tuple[str, list[str], bytes]]:
    """(sender, recipients, bytes) of RAW_POOL reminders as the ledger composes them."""
    from sqlalchemy import select

    from feeds.clock import FixedClock
    from feeds.store.tables import reminders
    from scheduler.database import create_db_engine
    from scheduler.ledger.compose import Composer

    url = f"sqlite:///{folder / 'raw-pool.db'}"
    settings = bench_settings(folder, url, connections, port)
    populate(url, settings, RAW_POOL)
    engine = create_db_engine(url)
    composer = Composer(settings, b"k" * 32, FixedClock(START))
    with engine.connect() as conn:
        row_ids = list(conn.execute(select(reminders.c.id).order_by(reminders.c.id)).scalars())
        composed = composer.load(conn, row_ids)
    engine.dispose()
    pool = [(o.mail.sender, list(o.mail.recipients), o.mail.data) for o in composed if o.mail]
    if len(pool) != RAW_POOL:
        raise SystemExit(f"composed {len(pool)} messages for the raw pool, not {RAW_POOL}")
    return pool


async def run_raw(folder: Path, port: int, count: int, connections: int) -> Timing:
    """aiosmtplib alone: the ledger's bytes, pre-composed, over `connections` reused
    connections."""
    pool = ledger_pool(folder, port, connections)
    numbers = iter(range(count))

    async def worker() -> int:
        sent = 0
        async with aiosmtplib.SMTP(hostname=HOST, port=port, start_tls=False) as client:
            for number in numbers:
                sender, recipients, data = pool[number % len(pool)]
                await client.sendmail(sender, recipients, data)
                sent += 1
        return sent

    began, cpu = time.perf_counter(), time.process_time()
    sent = sum(await asyncio.gather(*(worker() for _ in range(connections))))
    return sent, time.perf_counter() - began, time.process_time() - cpu


class DiscardTransport:
    """`--no-send`: takes every message and sends nothing (one event-loop turn each), so a
    pass's CPU is the ledger's own: planning, claiming, composing, marking."""

    async def send_bytes(self, message: Any, *, before_end: Any = None) -> None:
        waiting = None if before_end is None else before_end()
        await asyncio.sleep(0)
        if waiting is not None:
            await waiting

    async def send(self, message: Any) -> None:
        await asyncio.sleep(0)

    async def close(self) -> None:
        pass


async def run_ledger(
    url: str, folder: Path, port: int, count: int, connections: int, send: bool = True
) -> Timing:
    from feeds.clock import FixedClock
    from scheduler.database import create_db_engine
    from scheduler.ledger.dispatch import ReminderDispatcher
    from scheduler.mail.smtp_transport import SmtpTransport

    settings = bench_settings(folder, url, connections, port)
    ledger_pool(folder, port, connections)  # the raw run's warm-up, thrown away
    populate(url, settings, count)
    engine = create_db_engine(url)
    transport: Any = SmtpTransport(settings.mail.smtp) if send else DiscardTransport()
    dispatcher = ReminderDispatcher(
        settings, engine, transport, FixedClock(START), b"k" * 32, owner="bench"
    )
    try:
        began, cpu = time.perf_counter(), time.process_time()
        summary = await dispatcher.run_pass()
        return summary.sent, time.perf_counter() - began, time.process_time() - cpu
    finally:
        await transport.close()
        engine.dispose()


def scenario_child(args: argparse.Namespace) -> None:
    folder = Path(tempfile.mkdtemp(prefix="ledger-scale-bench-"))
    try:
        if args.scenario == "raw":
            sent, seconds, cpu = asyncio.run(
                run_raw(folder, args.port, args.count, args.connections)
            )
        else:
            with database(args.scenario, folder) as url:
                sent, seconds, cpu = asyncio.run(
                    run_ledger(
                        url, folder, args.port, args.count, args.connections, not args.no_send
                    )
                )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"sent": sent, "seconds": seconds, "cpu": cpu, "peak_rss_kb": peak_kb}))


def child(*words: str) -> dict[str, Any]:
    command = [sys.executable, __file__, *words]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    result: dict[str, Any] = json.loads(output.strip().splitlines()[-1])
    return result


def spread(values: list[float], digits: int = 0) -> str:
    """The median of `values` and, when there are several, (lowest-highest)."""
    middle = statistics.median(values)
    if len(values) == 1:
        return f"{middle:.{digits}f}"
    return f"{middle:.{digits}f} ({min(values):.{digits}f}-{max(values):.{digits}f})"


def per_round(mine: list[dict[str, Any]], theirs: list[dict[str, Any]]) -> str:
    """The median and spread of the msg/s ratios of runs of the same round."""
    return spread([m["rate"] / t["rate"] for m, t in zip(mine, theirs, strict=True)], 2)


def compare(args: argparse.Namespace) -> None:
    sizes = [int(s) for s in args.sizes.split(",")]
    kinds = [*([] if args.without_raw or args.no_send else ["raw"]), *args.databases.split(",")]
    print(
        f"ledger_scale_bench: python {platform.python_version()}, aiosmtplib "
        f"{aiosmtplib.__version__}, {os.cpu_count()} CPUs, sink = aiosmtpd in its own process, "
        f"{args.connections} connections, {DEADLINES} deadlines x N/{DEADLINES} subscribers, "
        f"{args.repeat} interleaved round(s): median (lowest-highest)"
        + ("; --no-send: nothing sent, the ledger's own CPU" if args.no_send else "")
    )
    print(f"{'reminders':>9} {'run':<9} {'msg/s':>17} {'CPU/msg us':>17} {'peak RSS':>9}  ratios")
    peaks: dict[tuple[str, int], float] = {}
    with sink() as (port, _):
        for size in sizes:
            runs: dict[str, list[dict[str, Any]]] = {kind: [] for kind in kinds}
            for round_number in range(args.repeat):
                # Interleaved, the order rotating, so a busy minute hits every kind.
                shift = round_number % len(kinds)
                for kind in kinds[shift:] + kinds[:shift]:
                    result = child(
                        "--scenario", kind, "--port", str(port), "--count", str(size),
                        "--connections", str(args.connections),
                        *(["--no-send"] if args.no_send else []),
                    )  # fmt: skip
                    result["rate"] = result["sent"] / result["seconds"]
                    runs[kind].append(result)
            for kind in kinds:
                rates = [r["rate"] for r in runs[kind]]
                cpus = [r["cpu"] / r["sent"] * 1e6 for r in runs[kind]]
                peak = peaks[(kind, size)] = max(r["peak_rss_kb"] for r in runs[kind]) / 1024
                ratios = []
                if kind != "raw" and "raw" in runs:
                    ratios.append(f"{per_round(runs[kind], runs['raw'])}x raw")
                if kind == "postgres" and "sqlite" in runs:
                    ratios.append(f"{per_round(runs[kind], runs['sqlite'])}x sqlite")
                if size != sizes[0] and (kind, sizes[0]) in peaks:
                    ratios.append(f"RSS {peak / peaks[(kind, sizes[0])]:.2f}x of {sizes[0]:,}")
                sent = {r["sent"] for r in runs[kind]}
                if sent != {size}:
                    ratios.append(f"SENT {sorted(sent)}, not {size}")
                print(
                    f"{size:>9} {kind:<9} {spread(rates):>17} {spread(cpus):>17} "
                    f"{peak:>7.1f}MB  {', '.join(ratios)}",
                    flush=True,
                )


# Crash mode -------------------------------------------------------------------------------


def crash_child(args: argparse.Namespace) -> None:
    """Send until nothing is due, on a clock `args.round` leases after the start."""
    from feeds.clock import FixedClock
    from scheduler.database import create_db_engine
    from scheduler.ledger.dispatch import ReminderDispatcher
    from scheduler.mail.smtp_transport import SmtpTransport

    settings = bench_settings(Path(args.folder), args.url, args.connections, args.port)
    engine = create_db_engine(args.url)
    clock = FixedClock(START + args.round * (LEASE + timedelta(seconds=1)))
    transport = SmtpTransport(settings.mail.smtp)
    dispatcher = ReminderDispatcher(settings, engine, transport, clock, b"k" * 32)

    async def until_done() -> None:
        print("sending", flush=True)
        while (await dispatcher.run_pass()).sent:
            pass
        await transport.close()

    asyncio.run(until_done())
    engine.dispose()


def crash(args: argparse.Namespace) -> None:
    from sqlalchemy import func, select

    from feeds.store.tables import reminders
    from scheduler.database import create_db_engine
    from scheduler.ledger.dispatch import in_flight_bound

    kind = args.databases.split(",")[0]
    folder = Path(tempfile.mkdtemp(prefix="ledger-scale-crash-"))
    rng = random.Random(args.seed)
    try:
        with database(kind, folder) as url, sink(record=True) as (port, received):
            populate(url, bench_settings(folder, url, args.connections, port), args.count)
            base = [
                sys.executable, __file__, "--crash-child", "--url", url, "--folder",
                str(folder), "--port", str(port), "--connections", str(args.connections),
            ]  # fmt: skip
            kills = 0
            for round_number in range(args.kills + 1):
                process = subprocess.Popen(
                    [*base, "--round", str(round_number)], stdout=subprocess.PIPE, text=True
                )
                assert process.stdout is not None
                process.stdout.readline()  # "sending": the pass starts now
                if round_number < args.kills:
                    time.sleep(rng.uniform(0.3, 3.0))
                    if process.poll() is None:
                        process.send_signal(signal.SIGKILL)
                        kills += 1
                if process.wait(timeout=600) not in (0, -signal.SIGKILL):
                    raise SystemExit(f"the sender exited with {process.returncode}")
            engine = create_db_engine(url)
            with engine.connect() as conn:
                by_status = dict(
                    conn.execute(
                        select(reminders.c.status, func.count()).group_by(reminders.c.status)
                    ).all()
                )
            engine.dispose()
        lost = args.count - len(received)
        duplicates = sum(times - 1 for times in received.values())
        bound = in_flight_bound(args.connections)
        print(
            f"ledger_scale_bench --crash: {kind}, {args.count} reminders, {kills} SIGKILLs, "
            f"ledger {by_status}"
        )
        print(
            f"received {sum(received.values())}, distinct {len(received)}, lost {lost}, "
            f"duplicates {duplicates} (bound: {bound} in flight per kill, {bound * kills} total)"
        )
        if lost or duplicates > bound * kills or by_status.get("sent") != args.count:
            raise SystemExit("FAILED: a reminder was lost or resent beyond the bound")
        print("ok: 0 lost, duplicates within the messages in flight")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10000,30000,100000")
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--without-raw", action="store_true", help="only the ledger runs")
    parser.add_argument(
        "--no-send", action="store_true", help="the ledger runs, discarding every message"
    )
    parser.add_argument("--repeat", type=int, default=1, help="interleaved rounds; medians")
    parser.add_argument("--crash", action="store_true", help="random SIGKILLs; 0 lost?")
    parser.add_argument("--kills", type=int, default=8)
    parser.add_argument("--count", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=18)
    for hidden in ("--scenario", "--url", "--folder"):
        parser.add_argument(hidden, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--round", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--sink", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--record", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--crash-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    # SIGTERM unwinds like an error, so temporary folders and schemas are still removed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if args.sink:
        serve_sink(args.record)
    elif args.scenario:
        scenario_child(args)
    elif args.crash_child:
        crash_child(args)
    elif args.crash:
        crash(args)
    else:
        compare(args)


if __name__ == "__main__":
    main()
