"""Benchmark reminder timeliness: how late does `feedline run` send reminders that fall due?

    .venv/bin/python bench/timeliness_bench.py [--count 1000] [--spread 60] [--only spread burst]

Issue target: 1,000 reminders due within the same minute, p99 of (sent_at - due_at) under 2 s
with the file transport.

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
daemon's clock); "wall" = real seconds from starting `feedline run` to the last row sent
(includes start-up and the `--lead`); "startup" = real seconds `feedline once` took in step 2
(the same start path: imports, migrations, one refresh), an estimate of the daemon's start-up;
it must stay well under --lead, or the first rows are late because the daemon was not up yet.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from sqlalchemy import select  # noqa: E402

from config.loading import load_settings  # noqa: E402
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

[mail]
from = "Reminders <reminders@example.org>"
transport = "file"

[mail.file]
dir = "outbox"
"""

BASE_OFFSET = timedelta(hours=1)  # first due = closes_at - BASE_OFFSET - spread
SCENARIOS = {
    "spread": "due across the spread window",
    "burst": "all due on the same second",
}


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

    def quantile(self, q: float) -> float:
        ordered = sorted(self.lateness)
        if not ordered:
            return float("nan")
        # nearest-rank: the smallest value with at least q of the rows at or below it
        rank = min(max(math.ceil(q * len(ordered)), 1), len(ordered))
        return ordered[rank - 1]


def feedline(folder: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "scheduler", "--config", str(folder / "feedline.toml"), *args]


def clean_env() -> dict[str, str]:
    """No FEEDLINE_* from the caller's environment (a database URL would redirect the run)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("FEEDLINE_")}


def prepare(folder: Path, count: int, spread: int, tick: str) -> tuple[datetime, Path, float]:
    """Write the config and page, store the deadline, plan `count` rows.

    Returns the first due time, the database file and how long `feedline once` took.
    """
    (folder / "pages").mkdir(parents=True)
    (folder / "pages" / "news.txt").write_text(PAGE, encoding="utf-8")
    (folder / "feedline.toml").write_text(CONFIG.replace("{tick}", tick), encoding="utf-8")
    early = datetime(2031, 3, 16, 12, 0, tzinfo=UTC)
    began = time.monotonic()
    subprocess.run(
        feedline(folder, "once", "--now", early.isoformat()),
        check=True,
        env=clean_env(),
        cwd=folder,
        stdout=subprocess.DEVNULL,
    )
    once_seconds = time.monotonic() - began
    settings = load_settings(folder / "feedline.toml", env={}).settings
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
    if created != count or len(dues) != count:
        raise SystemExit(f"planned {created} rows ({len(dues)} in the table), wanted {count}")
    assert min(dues) == first_due, (min(dues), first_due)
    return first_due, settings.site.data_dir / "feedline.db", once_seconds


def count_sent(db: Path) -> tuple[int, int]:
    """(sent, failed or expired) through a read-only connection: takes no write lock."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        rows = dict(
            conn.execute("SELECT status, count(*) FROM reminders GROUP BY status").fetchall()
        )
    finally:
        conn.close()
    return int(rows.get("sent", 0)), int(rows.get("failed", 0)) + int(rows.get("expired", 0))


def follow_log(process: subprocess.Popen[str], out: list[dict[str, object]]) -> None:
    assert process.stderr is not None
    for raw in process.stderr:
        try:
            entry = json.loads(raw)
        except json.JSONDecodeError:
            entry = {"message": raw.rstrip(), "level": "raw"}
        out.append(entry)


def run_scenario(
    name: str, count: int, spread: int, lead: float, tick: str, timeout: float
) -> Result:
    window = spread if name == "spread" else 0
    with tempfile.TemporaryDirectory(prefix="timeliness-bench-") as tmp:
        folder = Path(tmp)
        first_due, db, once_seconds = prepare(folder, count, window, tick)
        start_at = first_due - timedelta(seconds=lead)
        log: list[dict[str, object]] = []
        started = time.monotonic()
        daemon = subprocess.Popen(
            feedline(
                folder, "run", "--now", start_at.isoformat(), "--no-serve", "--log-format", "json"
            ),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=clean_env(),
            cwd=folder,
        )
        reader = threading.Thread(target=follow_log, args=(daemon, log), daemon=True)
        reader.start()
        finished = None
        try:
            limit = started + lead + window + timeout
            while time.monotonic() < limit:
                if daemon.poll() is not None:
                    raise SystemExit(f"feedline run exited early ({daemon.returncode})")
                sent, lost = count_sent(db)
                if sent + lost >= count:
                    finished = time.monotonic()
                    break
                time.sleep(0.05)
        finally:
            daemon.send_signal(signal.SIGTERM)
            try:
                daemon.wait(timeout=15)
            except subprocess.TimeoutExpired:
                daemon.kill()
                daemon.wait()
            reader.join(timeout=5)
        if finished is None:
            raise SystemExit(f"{name}: not all {count} reminders were sent in time")
        settings = load_settings(folder / "feedline.toml", env={}).settings
        engine = open_database(settings)
        try:
            with engine.connect() as conn:
                rows = conn.execute(
                    select(reminders.c.due_at, reminders.c.sent_at).where(
                        reminders.c.status == "sent"
                    )
                ).all()
        finally:
            engine.dispose()
        lateness = [(row.sent_at - row.due_at).total_seconds() for row in rows]
        span = (max(row.sent_at for row in rows) - first_due).total_seconds() if rows else 0.0
        errors = [
            str(e.get("message")) for e in log if e.get("level") in ("error", "critical", "raw")
        ]
        return Result(
            name,
            count,
            len(rows),
            lateness,
            span,
            finished - started,
            once_seconds,
            errors,
        )


def print_header(args: argparse.Namespace) -> None:
    print(
        f"timeliness_bench: python {platform.python_version()}, {os.cpu_count()} CPUs, "
        f"SQLite + file transport, `feedline run --no-serve`, {args.count} reminders, "
        f"spread {args.spread}s, lead {args.lead}s, tick {args.tick}"
    )
    print(
        f"{'scenario':<34} {'sent':>5} {'p50':>7} {'p95':>7} {'p99':>7} {'max':>7} "
        f"{'last-first':>10} {'wall':>7} {'startup':>7}"
    )


def print_row(result: Result, spread: int) -> None:
    label = f"{result.scenario}: {SCENARIOS[result.scenario]}"
    if result.scenario == "spread":
        label = f"spread: due across {spread} s"
    print(
        f"{label:<34} {result.sent:>5} {result.quantile(0.50):>6.3f}s "
        f"{result.quantile(0.95):>6.3f}s {result.quantile(0.99):>6.3f}s "
        f"{max(result.lateness, default=float('nan')):>6.3f}s {result.span:>9.2f}s "
        f"{result.wall:>6.2f}s {result.startup:>6.2f}s",
        flush=True,
    )
    for error in result.log_errors[:5]:
        print(f"    daemon logged: {error}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=1000, help="reminders per scenario")
    parser.add_argument("--spread", type=int, default=60, help="seconds the due times span")
    parser.add_argument("--lead", type=float, default=5.0, help="daemon start before first due")
    parser.add_argument("--tick", default="60s", help="[reminders] tick")
    parser.add_argument("--timeout", type=float, default=120.0, help="give up after this")
    parser.add_argument("--only", nargs="*", choices=sorted(SCENARIOS), help="scenarios to run")
    args = parser.parse_args()
    print_header(args)
    for name in args.only or list(SCENARIOS):
        result = run_scenario(name, args.count, args.spread, args.lead, args.tick, args.timeout)
        print_row(result, args.spread)


if __name__ == "__main__":
    main()
