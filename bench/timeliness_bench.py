"""Benchmark reminder timeliness: how late does `feedline run` send reminders that fall due?

    .venv/bin/python bench/timeliness_bench.py [--count 1000] [--spread 60] [--only spread burst]
    .venv/bin/python bench/timeliness_bench.py --database postgres --transport smtp \
        --count 10000 --only burst --daemons 1 3 --kill

Issue targets: 1,000 reminders due within the same minute, p99 of (sent_at - due_at) under 2 s
with the file transport (issue 5); on PostgreSQL with 10,000 reminders due on the same second,
3 daemons send at least twice as fast as one, and a daemon killed with SIGKILL mid-pass loses
nothing and resends at most the messages it had in flight (issue 15).

`--database postgres` runs on a fresh schema of the test database (FEEDLINE_TEST_POSTGRES_URL,
default postgresql+psycopg://postgres@127.0.0.1:5432/test), dropped afterwards. `--daemons 1 3`
runs each scenario once per daemon count, all daemons started together, and prints the
throughput ratio to the first count. `--transport smtp` sends to an SMTP sink in its own
process that counts each Message-ID (so resends are counted; the file transport overwrites
them): `--sink minimal` (the default, bench/smtp_sink.py, a bare asyncio protocol that costs
a fraction of a daemon's CPU) or `--sink aiosmtpd` (the earlier sink: one daemon sent 174/s
to it and 499/s to the minimal sink the same hour, so it, not the daemons, was measured).
`--smtp-latency-ms L` makes the minimal sink wait L ms before every reply, as a relay across
a network does (four round trips per message on a reused connection), so that the daemons
are latency-bound, not CPU-bound; the sink's CPU is printed beside the daemons'.
`--sink-processes N` runs the minimal sink as N processes on one port (SO_REUSEPORT), to
check whether one sink process is what limits the daemons.
`--repeat N` runs the whole set N times, the daemon counts interleaved, and prints the
median of each column and of the ratios. `--kill` adds a run of the largest daemon count
where one daemon gets SIGKILL when a third of the rows are sent (reminder lease 10 s so its
claimed rows come back quickly).

Everything goes through the real daemon code path, in a temp folder:
  1. A config with one `text` source page holding ONE item whose deadline closes at a known
     instant, the file mail transport, no HTTP server.
  2. `feedline once --now <a day before>` reads the page and stores the item and its deadline.
  3. `--count` subscribers are added with `scheduler.ledger.subscribers.add_subscriber`, each
     with its own offset, and planned with `scheduler.ledger.planning.plan`: one reminder row
     each, their due_at values spread deterministically over `--spread` seconds
     (subscriber i is due at first_due + floor(i * spread / count) s; offsets are whole
     seconds). Scenario "burst" puts all of them on the same second.
  4. `feedline run --now <first_due - lead> --no-serve --log-format json` runs as a subprocess.
     Its OffsetClock is real time shifted, so (sent_at - due_at) is real lateness.
  5. The SQLite file is polled (read-only connection, no write lock) until every row is sent;
     then SIGTERM. Lateness per row = sent_at - due_at from the `reminders` table (both UTC,
     both from the daemon's clock).

Columns: rows sent; lateness p50/p95/p99/max; "last-first" = last sent_at - first due_at (the
daemon's clock); "rate" = rows / last-first (reminders per second); "wall" = real seconds from
starting `feedline run` to the last row sent
(includes start-up and the `--lead`); "startup" = real seconds `feedline once` took in step 2
(the same start path: imports, migrations, one refresh), an estimate of the daemon's start-up;
it must stay well under --lead, or the first rows are late because the daemon was not up yet.

Below each row: the machine's CPU from the due time to the last row sent, as average CPUs
busy, by process (bench/process_cpu.py, from /proc: each daemon, their PostgreSQL backends,
the sink, PostgreSQL's own processes, everything else on the shared machine, and busy time
no live process accounts for: interrupts and other users' short jobs), so it shows whether
the run was bound by the machine's CPUs; and for each daemon, from its log's "sent
reminder" lines, how many it sent, when its first and last send were (from the first send of
any daemon) and how long it spent in gaps of more than 50 ms between two sends (waiting for
its next batch, or for a CPU).
"""

from __future__ import annotations

import argparse
import collections
import itertools
import json
import math
import os
import platform
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import sqlalchemy as sa  # noqa: E402
from sqlalchemy import select  # noqa: E402

from bench.process_cpu import Usage, cpu_between, take_snapshot  # noqa: E402
from config.loading import load_settings  # noqa: E402
from config.schema import Settings  # noqa: E402
from feeds.store.tables import deadlines, reminders  # noqa: E402
from scheduler.database import open_database  # noqa: E402
from scheduler.ledger.planning import plan  # noqa: E402
from scheduler.ledger.subscribers import add_subscriber  # noqa: E402

PAGE = """\
Newsroom

News

Call for evidence on river water quality

The Directorate-General published a call for evidence on river water quality. The call for \
evidence is open until 17 March 2031 at 12:00 Brussels time.

Navigation path
"""

CONFIG = """\
[site]
title = "timeliness bench"
base_url = "http://127.0.0.1:8080/"
output_dir = "public"
data_dir = "data"

[[sources]]
id = "river"
kind = "text"
path = "pages/news.txt"
title = "River news"
link = "https://river.example.org/news"
timezone = "Europe/Brussels"
every = "30m"

[reminders]
offsets = ["1d"]
tick = "{tick}"
lease = "{lease}"

[mail]
from = "Reminders <reminders@example.org>"
transport = "{transport}"

[mail.file]
dir = "outbox"

[mail.smtp]
host = "127.0.0.1"
port = {smtp_port}
security = "none"
max_connections = 4
max_per_second = 100000

[refresh]
workers = 0
"""
POSTGRES_URL = os.environ.get(
    "FEEDLINE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)

BASE_OFFSET = timedelta(hours=1)  # first due = closes_at - BASE_OFFSET - spread
SCENARIOS = {
    "spread": "due across the spread window",
    "burst": "all due on the same second",
}


@dataclass(frozen=True)
class Setup:
    """How a run is made: the database, the transport, the daemons."""

    database: str  # "sqlite" or "postgres"
    transport: str  # "file" or "smtp"
    daemons: int
    kill: bool = False
    tick: str = "60s"
    lease: str = "5m"
    profile: Path | None = None  # write each daemon's cProfile here
    pg_options: str = ""  # PostgreSQL settings for the daemons' connections ("a=b c=d")
    sink: str = "minimal"  # "minimal" (bench/smtp_sink.py) or "aiosmtpd"
    smtp_latency_ms: float = 0.0  # the minimal sink's delay before every reply
    sink_processes: int = 1  # the minimal sink's processes (SO_REUSEPORT)


@dataclass(frozen=True)
class Result:
    scenario: str
    count: int
    sent: int
    lateness: list[float]
    span: float
    wall: float
    startup: float
    log_errors: list[str]
    daemons: int = 1
    received: int | None = None  # messages the SMTP sink received (resends included)
    distinct: int | None = None  # distinct Message-IDs among them
    unsent: int = 0  # rows not sent at the end (pending, sending, failed, expired)
    killed: bool = False
    cpu_daemons: float = float("nan")  # CPU seconds the daemons used (user + system)
    cpu_database: float = float("nan")  # CPU seconds their PostgreSQL backends used
    cpu_sink: float = float("nan")  # CPU seconds the SMTP sink used (the whole run)
    waits: dict[str, int] = field(default_factory=dict)  # sampled backend waits (Counter)
    usage: Usage | None = None  # every process's CPU from the due time to the last row sent
    timelines: list[Timeline] = field(default_factory=list)  # one per daemon, from its log

    @property
    def rate(self) -> float:
        return self.sent / self.span if self.span > 0 else float("nan")

    def quantile(self, q: float) -> float:
        ordered = sorted(self.lateness)
        if not ordered:
            return float("nan")
        # nearest-rank: the smallest value with at least q of the rows at or below it
        rank = min(max(math.ceil(q * len(ordered)), 1), len(ordered))
        return ordered[rank - 1]


@dataclass(frozen=True)
class Timeline:
    """One daemon's sends, from its log's "sent reminder" lines (real time, ms). Times are
    from the first send of any daemon (each daemon's clock starts when it has started up, so
    the due instant in real time differs a little from daemon to daemon)."""

    sent: int
    first: float  # s after the first send of all daemons
    last: float
    idle: float  # s in gaps of more than GAP between consecutive sends, first to last
    longest: float  # the longest gap between consecutive sends, s

    GAP = 0.05

    @classmethod
    def of(cls, log: list[dict[str, object]], start: float) -> Timeline:
        times = sorted(t - start for t in send_times(log))
        if not times:
            return cls(0, float("nan"), float("nan"), 0.0, 0.0)
        gaps = [b - a for a, b in itertools.pairwise(times)]
        idle = sum(gap for gap in gaps if gap > cls.GAP)
        return cls(len(times), times[0], times[-1], idle, max(gaps, default=0.0))


def send_times(log: list[dict[str, object]]) -> list[float]:
    return [
        datetime.fromisoformat(str(e["time"])).timestamp()
        for e in log
        if str(e.get("message", "")).startswith("sent reminder")
    ]


def feedline(folder: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "scheduler", "--config", str(folder / "feedline.toml"), *args]


def clean_env(database_url: str | None = None) -> dict[str, str]:
    """No FEEDLINE_* from the caller's environment (a database URL would redirect the run);
    the run's own database URL when it is not the SQLite file."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FEEDLINE_")}
    if database_url is not None:
        env["FEEDLINE_DATABASE_URL"] = database_url
        env["FEEDLINE_SECRET_KEY"] = "timeliness-bench-" + "k" * 32  # one key for all daemons
    return env


def prepare(
    folder: Path,
    count: int,
    spread: int,
    setup: Setup,
    database_url: str | None,
    smtp_port: int,
) -> tuple[datetime, float]:
    """Write the config and page, store the deadline, plan `count` rows.

    Returns the first due time and how long `feedline once` took.
    """
    (folder / "pages").mkdir(parents=True)
    (folder / "pages" / "news.txt").write_text(PAGE, encoding="utf-8")
    config = (
        CONFIG.replace("{tick}", setup.tick)
        .replace("{lease}", setup.lease)
        .replace("{transport}", setup.transport)
        .replace("{smtp_port}", str(smtp_port))
    )
    (folder / "feedline.toml").write_text(config, encoding="utf-8")
    early = datetime(2031, 3, 16, 12, 0, tzinfo=UTC)
    began = time.monotonic()
    subprocess.run(
        feedline(folder, "once", "--now", early.isoformat()),
        check=True,
        env=clean_env(database_url),
        cwd=folder,
        stdout=subprocess.DEVNULL,
    )
    once_seconds = time.monotonic() - began
    settings = settings_of(folder, database_url)
    engine = open_database(settings)
    try:
        with engine.begin() as conn:
            found = conn.execute(select(deadlines.c.closes_at)).scalars().all()
            if len(found) != 1:
                raise SystemExit(f"expected one deadline from the page, found {len(found)}")
            closes_at = found[0]
            first_due = closes_at - BASE_OFFSET - timedelta(seconds=spread)
            for number in range(count):
                step = number * spread // count if spread else 0
                offset = BASE_OFFSET + timedelta(seconds=spread - step)
                add_subscriber(conn, f"subscriber{number:05d}@example.org", early, offsets=[offset])
            created = plan(conn, early, [timedelta(days=1)])
        with engine.connect() as conn:
            dues = conn.execute(select(reminders.c.due_at)).scalars().all()
    finally:
        engine.dispose()
    # `plan` counts what the driver reports: psycopg's executemany reports no count (0 here).
    if len(dues) != count or created not in (0, count):
        raise SystemExit(f"planned {created} rows ({len(dues)} in the table), wanted {count}")
    assert min(dues) == first_due, (min(dues), first_due)
    return first_due, once_seconds


def settings_of(folder: Path, database_url: str | None) -> Settings:
    env = {"FEEDLINE_DATABASE_URL": database_url} if database_url else {}
    return load_settings(folder / "feedline.toml", env=env).settings


class Counter:
    """(sent, failed or expired) counts while the daemons run, taking no write lock."""

    def __init__(self, folder: Path, database_url: str | None) -> None:
        self.db = folder / "data" / "feedline.db"
        self.engine = sa.create_engine(database_url) if database_url else None
        self.app = (database_url or "").rpartition("application_name=")[2]
        #: PostgreSQL: what the run's backends were waiting on, over every poll (a backend
        #: in a query, by wait_event_type:wait_event; "CPU" = running, not waiting).
        self.waits: collections.Counter[str] = collections.Counter()

    def __call__(self) -> tuple[int, int]:
        query = "SELECT status, count(*) FROM reminders GROUP BY status"
        if self.engine is not None:
            with self.engine.connect() as pg:
                rows = {row[0]: row[1] for row in pg.execute(sa.text(query))}
                activity = pg.execute(
                    sa.text(
                        "SELECT wait_event_type, wait_event FROM pg_stat_activity"
                        " WHERE application_name = :app AND state = 'active'"
                        " AND pid <> pg_backend_pid()"
                    ),
                    {"app": self.app},
                )
                for kind, event in activity:
                    self.waits[f"{kind}:{event}" if kind else "CPU"] += 1
        else:  # a read-only connection: the daemon's writes never wait for it
            conn = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True, timeout=5)
            try:
                rows = dict(conn.execute(query).fetchall())
            finally:
                conn.close()
        return int(rows.get("sent", 0)), int(rows.get("failed", 0)) + int(rows.get("expired", 0))

    def close(self) -> None:
        if self.engine is not None:
            self.engine.dispose()


def postgres_schema(options: str = "") -> tuple[str, Callable[[], None]]:
    """A fresh schema on the test database: its URL, and how to drop it."""
    schema = f"timeliness_bench_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))

    def drop() -> None:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

    extra = "".join(f"%20-c{option.replace('=', '%3D')}" for option in options.split())
    url = f"{POSTGRES_URL}?options=-csearch_path%3D{schema}{extra}&application_name={schema}"
    return url, drop


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a live process on this machine (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def sink_cpu_seconds(pid: int, folder: Path) -> float:
    """The sink's CPU seconds, with those of the sink processes it started (--processes)."""
    total = cpu_seconds(pid)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != pid:
            try:
                command = (entry / "cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            if "smtp_sink.py" in command and f"{folder}/sink." in command:
                total += cpu_seconds(int(entry.name))
    return total


def backend_pids(database_url: str) -> list[int]:
    """The PostgreSQL backends serving this run (by its application_name)."""
    name = database_url.rpartition("application_name=")[2]
    engine = sa.create_engine(POSTGRES_URL)
    try:
        with engine.connect() as conn:
            query = sa.text("SELECT pid FROM pg_stat_activity WHERE application_name = :name")
            return [int(pid) for pid in conn.execute(query, {"name": name}).scalars()]
    finally:
        engine.dispose()


def serve_sink(port: int, out: Path) -> None:
    """The SMTP sink process: counts each Message-ID; writes the counts on SIGTERM."""
    from aiosmtpd.controller import Controller

    seen: collections.Counter[str] = collections.Counter()

    class Count:
        async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
            head = bytes(envelope.content).partition(b"\r\n\r\n")[0]
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"message-id:"):
                    seen[line.split(b":", 1)[1].strip().decode()] += 1
            return "250 OK"

    controller = Controller(Count(), hostname="127.0.0.1", port=port)
    controller.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print("ready", flush=True)
    stop.wait()
    controller.stop()
    out.write_text(json.dumps(dict(seen)), encoding="utf-8")


def start_sink(folder: Path, setup: Setup) -> tuple[int, subprocess.Popen[str], Path]:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    out = folder / "sink.json"
    if setup.sink == "aiosmtpd":
        command = [sys.executable, __file__, "--serve-sink", str(port), str(out)]
    else:
        command = [sys.executable, str(REPO / "bench" / "smtp_sink.py"), str(port), str(out)]
        command += ["--latency-ms", str(setup.smtp_latency_ms)]
        command += ["--processes", str(setup.sink_processes)]
    sink = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert sink.stdout is not None
    if sink.stdout.readline().strip() != "ready":
        raise SystemExit("the SMTP sink did not start")
    return port, sink, out


def follow_log(process: subprocess.Popen[str], out: list[dict[str, object]]) -> None:
    assert process.stderr is not None
    for raw in process.stderr:
        try:
            entry = json.loads(raw)
        except json.JSONDecodeError:
            entry = {"message": raw.rstrip(), "level": "raw"}
        out.append(entry)


def run_scenario(
    name: str, count: int, spread: int, lead: float, timeout: float, setup: Setup
) -> Result:
    window = spread if name == "spread" else 0
    with tempfile.TemporaryDirectory(prefix="timeliness-bench-") as tmp:
        folder = Path(tmp)
        database_url, drop = (
            postgres_schema(setup.pg_options) if setup.database == "postgres" else (None, None)
        )
        sink = None
        try:
            smtp_port = 0
            if setup.transport == "smtp":
                smtp_port, sink, sink_out = start_sink(folder, setup)
            first_due, once_seconds = prepare(folder, count, window, setup, database_url, smtp_port)
            result = _run_daemons(
                name,
                folder,
                count,
                first_due,
                lead,
                window + timeout,
                setup,
                database_url,
                sink.pid if sink is not None else None,
            )
            result = replace(result, startup=once_seconds)
            if sink is not None:
                result = replace(result, cpu_sink=sink_cpu_seconds(sink.pid, folder))
                sink.send_signal(signal.SIGTERM)
                sink.wait(timeout=30)
                sink = None
                seen = json.loads(sink_out.read_text(encoding="utf-8"))
                result = replace(result, received=sum(seen.values()), distinct=len(seen))
            return result
        finally:
            if sink is not None:
                sink.kill()
            if drop is not None:
                drop()


def _run_daemons(
    name: str,
    folder: Path,
    count: int,
    first_due: datetime,
    lead: float,
    timeout: float,
    setup: Setup,
    database_url: str | None,
    sink_pid: int | None = None,
) -> Result:
    start_at = first_due - timedelta(seconds=lead)
    logs: list[list[dict[str, object]]] = []
    daemons: list[subprocess.Popen[str]] = []
    counter = Counter(folder, database_url)
    started = time.monotonic()
    for number in range(setup.daemons):
        command = feedline(
            folder, "run", "--now", start_at.isoformat(), "--no-serve", "--log-format", "json"
        )
        if setup.profile is not None:
            setup.profile.mkdir(parents=True, exist_ok=True)
            out = setup.profile / f"{name}-{setup.daemons}x-{number}{'-kill' * setup.kill}.prof"
            command[1:3] = ["-m", "cProfile", "-o", str(out), "-m", "scheduler"]
        daemon = subprocess.Popen(
            command,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=clean_env(database_url),
            cwd=folder,
        )
        log: list[dict[str, object]] = []
        threading.Thread(target=follow_log, args=(daemon, log), daemon=True).start()
        daemons.append(daemon)
        logs.append(log)
    finished = None
    killed = False
    # CPU used before the first reminder is due (start-up, the first refresh) is not counted.
    before: dict[int, float] | None = None
    snapshots = []
    try:
        limit = started + lead + timeout
        while time.monotonic() < limit:
            if before is None and time.monotonic() >= started + lead:
                pids = [d.pid for d in daemons] + (
                    backend_pids(database_url) if database_url else []
                )
                before = {pid: cpu_seconds(pid) for pid in pids}
                snapshots.append(take_snapshot())
            for daemon in daemons if not killed else daemons[1:]:
                if daemon.poll() is not None:
                    raise SystemExit(f"feedline run exited early ({daemon.returncode})")
            sent, lost = counter()
            if setup.kill and not killed and sent >= count // 3:
                daemons[0].kill()  # SIGKILL mid-pass: no release, rows it holds stay claimed
                daemons[0].wait()
                killed = True
            if sent + lost >= count:
                finished = time.monotonic()
                snapshots.append(take_snapshot())
                break
            time.sleep(0.05)
    finally:
        base = before or {}
        # a killed daemon is gone (reaped): its CPU cannot be read, so it is left out
        alive = [d for d in daemons if d.poll() is None]
        cpu_daemons = sum(cpu_seconds(d.pid) - base.get(d.pid, 0.0) for d in alive)
        backends = backend_pids(database_url) if database_url else []
        cpu_database = sum(cpu_seconds(pid) - base.get(pid, 0.0) for pid in backends)
        if not backends:
            cpu_database = float("nan")
        for daemon in daemons:
            if daemon.poll() is None:
                daemon.send_signal(signal.SIGTERM)
        for daemon in daemons:
            try:
                daemon.wait(timeout=15)
            except subprocess.TimeoutExpired:
                daemon.kill()
                daemon.wait()
        waits = counter.waits
        counter.close()
    usage = None
    if len(snapshots) == 2:
        labels = {daemon.pid: f"daemon {n + 1}" for n, daemon in enumerate(daemons)}
        labels |= dict.fromkeys(backends, "daemons' PostgreSQL backends")
        labels[os.getpid()] = "the bench (polling)"
        if sink_pid is not None:  # and the other sink processes it started
            sink_command = snapshots[1].processes.get(sink_pid, ("?", 0.0))[0].split()[:3]
            for pid, (command, _) in snapshots[1].processes.items():
                if command.split()[:2] == sink_command[:2] and str(folder) in command:
                    labels[pid] = "SMTP sink"
        usage = cpu_between(snapshots[0], snapshots[1], labels)
    first_send = min((min(send_times(log), default=math.inf) for log in logs), default=0.0)
    if finished is None:
        raise SystemExit(f"{name}: not all {count} reminders were sent in time")
    engine = open_database(settings_of(folder, database_url))
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                select(reminders.c.due_at, reminders.c.sent_at).where(reminders.c.status == "sent")
            ).all()
            unsent = conn.execute(
                select(sa.func.count()).where(reminders.c.status != "sent")
            ).scalar_one()
    finally:
        engine.dispose()
    lateness = [(row.sent_at - row.due_at).total_seconds() for row in rows]
    span = (max(row.sent_at for row in rows) - first_due).total_seconds() if rows else 0.0
    errors = [
        str(e.get("message"))
        for log in logs
        for e in log
        if e.get("level") in ("error", "critical", "raw")
    ]
    return Result(
        name,
        count,
        len(rows),
        lateness,
        span,
        finished - started,
        0.0,
        errors,
        daemons=setup.daemons,
        unsent=int(unsent),
        killed=killed,
        cpu_daemons=cpu_daemons,
        cpu_database=cpu_database,
        waits=dict(waits),
        usage=usage,
        timelines=[Timeline.of(log, first_send) for log in logs],
    )


def print_header(args: argparse.Namespace) -> None:
    database = "PostgreSQL" if args.database == "postgres" else "SQLite"
    print(
        f"timeliness_bench: python {platform.python_version()}, {os.cpu_count()} CPUs, "
        f"{database}{' (' + args.pg_options + ')' if args.pg_options else ''}"
        f" + {args.transport} transport{sink_label(args)}, `feedline run --no-serve` x "
        f"{'/'.join(map(str, args.daemons))}, {args.count} reminders, "
        f"spread {args.spread}s, lead {args.lead}s, tick {args.tick}"
        f"{f', {args.repeat} repeats' if args.repeat > 1 else ''}"
    )
    print(
        f"{'scenario':<34} {'daemons':>7} {'sent':>5} {'p50':>7} {'p95':>7} {'p99':>7} "
        f"{'max':>7} {'last-first':>10} {'rate':>7} {'wall':>7} {'startup':>7}"
    )


def sink_label(args: argparse.Namespace) -> str:
    if args.transport != "smtp":
        return ""
    if args.sink == "aiosmtpd":
        return " (aiosmtpd sink)"
    processes = f", {args.sink_processes} processes" if args.sink_processes > 1 else ""
    return f" (minimal sink{processes}, {args.smtp_latency_ms:g} ms per reply)"


def print_row(result: Result, spread: int, baseline: Result | None) -> None:
    label = f"{result.scenario}: {SCENARIOS[result.scenario]}"
    if result.scenario == "spread":
        label = f"spread: due across {spread} s"
    if result.killed:
        label = f"{result.scenario}, one daemon SIGKILLed"
    print(
        f"{label:<34} {result.daemons:>7} {result.sent:>5} {result.quantile(0.50):>6.3f}s "
        f"{result.quantile(0.95):>6.3f}s {result.quantile(0.99):>6.3f}s "
        f"{max(result.lateness, default=float('nan')):>6.3f}s {result.span:>9.2f}s "
        f"{result.rate:>5.0f}/s {result.wall:>6.2f}s {result.startup:>6.2f}s",
        flush=True,
    )
    notes = []
    if baseline is not None and baseline is not result:
        notes.append(
            f"{result.rate / baseline.rate:.2f}x the rate of {baseline.daemons} daemon(s), "
            f"p99 {result.quantile(0.99) / baseline.quantile(0.99):.2f}x"
        )
    if result.received is not None:
        notes.append(
            f"sink received {result.received} messages, {result.distinct} distinct Message-IDs"
            f" ({result.received - (result.distinct or 0)} resent)"
        )
    per = 1000 / max(result.sent, 1)
    notes.append(
        f"CPU per 1,000 sent: daemons {result.cpu_daemons * per:.2f} s, PostgreSQL backends "
        f"{result.cpu_database * per:.2f} s (the killed daemon's share is not counted)"
        if result.killed
        else f"CPU per 1,000 sent: daemons {result.cpu_daemons * per:.2f} s, PostgreSQL "
        f"backends {result.cpu_database * per:.2f} s"
    )
    if not math.isnan(result.cpu_sink):
        notes[-1] += f", SMTP sink {result.cpu_sink * per:.2f} s"
    if result.waits:
        total = sum(result.waits.values())
        top = sorted(result.waits.items(), key=lambda kv: -kv[1])[:4]
        notes.append(
            "PostgreSQL backends in a statement, sampled: "
            + ", ".join(f"{name} {n / total:.0%}" for name, n in top)
        )
    if result.lateness:
        notes.append(f"first row marked sent {min(result.lateness):.2f} s after its due time")
    if result.usage is not None:
        notes.append(usage_line(result.usage))
    for number, line in enumerate(result.timelines):
        notes.append(
            f"daemon {number + 1}: {line.sent} sent, first +{line.first:.2f} s, last "
            f"+{line.last:.2f} s after the first send; {line.idle:.2f} s in gaps of more than "
            f"{Timeline.GAP * 1000:.0f} ms between sends (longest {line.longest:.2f} s)"
        )
    if result.unsent or result.sent != result.count:
        notes.append(f"{result.unsent} rows NOT sent")
    for note in notes:
        print(f"    {note}", flush=True)
    for error in result.log_errors[:5]:
        print(f"    daemon logged: {error}")


def usage_line(usage: Usage) -> str:
    """The machine's CPU from the due time to the last row sent, as average CPUs busy."""
    machine = usage.machine
    shares = sorted(usage.by_label.items(), key=lambda kv: -kv[1])
    shown = ", ".join(f"{label} {usage.cpus(cpu):.2f}" for label, cpu in shares if cpu > 0)
    return (
        f"CPUs busy over the {usage.seconds:.1f} s burst: {usage.cpus(machine['busy']):.2f} of "
        f"{os.cpu_count()} (idle {usage.cpus(machine['idle']):.2f}, iowait "
        f"{usage.cpus(machine['iowait']):.2f}, steal {usage.cpus(machine['steal']):.2f}); "
        f"by process: {shown}; not in a live process "
        f"{usage.cpus(usage.unattributed()):.2f} (interrupts {usage.cpus(machine['softirq']):.2f})"
    )


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--serve-sink":
        serve_sink(int(sys.argv[2]), Path(sys.argv[3]))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=1000, help="reminders per scenario")
    parser.add_argument("--spread", type=int, default=60, help="seconds the due times span")
    parser.add_argument("--lead", type=float, default=5.0, help="daemon start before first due")
    parser.add_argument("--tick", default="60s", help="[reminders] tick")
    parser.add_argument("--timeout", type=float, default=300.0, help="give up after this")
    parser.add_argument("--only", nargs="*", choices=sorted(SCENARIOS), help="scenarios to run")
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--transport", choices=["file", "smtp"], default="file")
    parser.add_argument(
        "--daemons", type=int, nargs="+", default=[1], help="daemon counts to compare"
    )
    parser.add_argument("--kill", action="store_true", help="also: SIGKILL one daemon mid-pass")
    parser.add_argument("--kill-only", action="store_true", help="only the --kill run")
    parser.add_argument("--profile", type=Path, help="write each daemon's cProfile in this folder")
    parser.add_argument(
        "--pg-options",
        default="",
        help='PostgreSQL settings for the daemons, e.g. "synchronous_commit=off"',
    )
    parser.add_argument(
        "--sink",
        choices=["minimal", "aiosmtpd"],
        default="minimal",
        help="the SMTP sink: bench/smtp_sink.py (default) or aiosmtpd",
    )
    parser.add_argument(
        "--smtp-latency-ms",
        type=float,
        default=0.0,
        help="the minimal sink waits this long before every reply (a relay's network delay)",
    )
    parser.add_argument(
        "--sink-processes",
        type=int,
        default=1,
        help="run the minimal sink as this many processes on one port (SO_REUSEPORT)",
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="run everything N times, print the medians"
    )
    args = parser.parse_args()
    if args.database == "sqlite" and max(args.daemons) > 1:
        parser.error("several daemons need --database postgres (one daemon per SQLite file)")
    if args.smtp_latency_ms and (args.sink != "minimal" or args.transport != "smtp"):
        parser.error("--smtp-latency-ms needs --transport smtp and the minimal sink")
    print_header(args)
    runs: dict[tuple[str, int, bool], list[tuple[Result, Result | None]]] = {}
    for repeat in range(args.repeat):
        if args.repeat > 1:
            print(f"-- repeat {repeat + 1} of {args.repeat}", flush=True)
        for name in args.only or list(SCENARIOS):
            baseline: Result | None = None
            for daemons in [] if args.kill_only else args.daemons:
                result = run_scenario(
                    name, args.count, args.spread, args.lead, args.timeout, setup_of(args, daemons)
                )
                baseline = baseline or result
                print_row(result, args.spread, baseline)
                runs.setdefault((name, daemons, False), []).append((result, baseline))
            if args.kill or args.kill_only:
                setup = replace(setup_of(args, max(args.daemons)), kill=True, lease="10s")
                result = run_scenario(name, args.count, args.spread, args.lead, args.timeout, setup)
                print_row(result, args.spread, baseline)
                runs.setdefault((name, setup.daemons, True), []).append((result, baseline))
    if args.repeat > 1:
        print_medians(runs)


def setup_of(args: argparse.Namespace, daemons: int) -> Setup:
    return Setup(
        args.database, args.transport, daemons, tick=args.tick, profile=args.profile,
        pg_options=args.pg_options, sink=args.sink, smtp_latency_ms=args.smtp_latency_ms,
        sink_processes=args.sink_processes,
    )  # fmt: skip


def print_medians(runs: dict[tuple[str, int, bool], list[tuple[Result, Result | None]]]) -> None:
    """The median of each figure over the repeats, and of the per-repeat ratios to the
    first daemon count (each ratio from runs made one after the other)."""
    print("-- medians over the repeats")
    print(
        f"{'scenario':<34} {'daemons':>7} {'runs':>5} {'p50':>7} {'p99':>7} {'rate':>7} "
        f"{'rate ratio':>10} {'p99 ratio':>9} {'resent':>6} {'unsent':>6}"
    )
    for (name, daemons, killed), pairs in runs.items():
        results = [result for result, _ in pairs]
        ratios = [r.rate / b.rate for r, b in pairs if b is not None and b is not r]
        p99s = [
            r.quantile(0.99) / b.quantile(0.99) for r, b in pairs if b is not None and b is not r
        ]
        resent = [(r.received or 0) - (r.distinct or 0) for r in results]
        label = f"{name}, one daemon SIGKILLed" if killed else f"{name}: {SCENARIOS[name]}"
        print(
            f"{label:<34} {daemons:>7} {len(results):>5} "
            f"{median(r.quantile(0.50) for r in results):>6.3f}s "
            f"{median(r.quantile(0.99) for r in results):>6.3f}s "
            f"{median(r.rate for r in results):>5.0f}/s "
            f"{f'{median(ratios):.2f}x' if ratios else '':>10} "
            f"{f'{median(p99s):.2f}x' if p99s else '':>9} "
            f"{max(resent):>6} {max(r.unsent for r in results):>6}",
            flush=True,
        )
        if ratios:
            print(f"    rate ratios, in order: {', '.join(f'{x:.2f}x' for x in ratios)}")


def median(values: Iterable[float]) -> float:
    return statistics.median(list(values))


if __name__ == "__main__":
    main()
