"""Every fault of docs/reliability.md at full size, and the table: one command.

    .venv/bin/python bench/reliability_bench.py [--fuzz-json FILE | --fuzz-total N] [--write]
    make reliability        # the same, with --write (updates docs/reliability.md)

Runs the fault suite (tests/faults) with FEEDLINE_RELIABILITY=full: the scenarios the suite
runs small in CI (300 reminders and 5 kills, 4 build kills, 10-50 reminders per SMTP fault)
run at full size (10,000 reminders and 100 SIGKILLs on SQLite with one sender and on
PostgreSQL with three; 500-1,000 reminders per SMTP, PostgreSQL and clock fault; 30 build
kills). Each scenario records fault | size tried | lost | duplicated | other outcome, and the
fuzz run (bench/fuzz_bench.py: crashes, hangs, bad feeds) adds its row. The baseline is the
ledger's promise: 0 lost, duplicates at most the messages in flight at each kill
(kills x max_connections), 0 crashes.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DOC = REPO / "docs" / "reliability.md"
BEGIN, END = "<!-- reliability:begin -->", "<!-- reliability:end -->"


def run_suite(out: Path) -> int:
    env = {
        **os.environ,
        "FEEDLINE_RELIABILITY": "full",
        "FEEDLINE_RELIABILITY_OUT": str(out),
        "CI": "true",  # a scenario that cannot run (no PostgreSQL, no tmpfs) fails, not skips
    }
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/faults"]
    return subprocess.run(command, cwd=REPO, env=env, check=False).returncode


def start_fuzz(total: int, workers: int, tallies: Path, log: Path) -> subprocess.Popen[bytes]:
    """The fuzz run, alongside the suite (its counts do not depend on the load; the wall
    time of the two in a row was over an hour on the shared VM)."""
    command = [sys.executable, "bench/fuzz_bench.py", "--total", str(total)]
    command += ["--workers", str(workers), "--json", str(tallies)]
    with log.open("wb") as output:
        return subprocess.Popen(command, cwd=REPO, stdout=output, stderr=subprocess.STDOUT)


class LoadSampler(threading.Thread):
    """The 1-minute load average every 30 s while the run lasts (the machine is shared)."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.samples = [os.getloadavg()[0]]
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(30):
            self.samples.append(os.getloadavg()[0])


def fuzz_row(path: Path) -> dict[str, object]:
    """The fuzz run's row, from fuzz_bench's --json list (or its .partial.jsonl of chunks)."""
    text = path.read_text()
    if path.suffix == ".jsonl":
        tallies = [json.loads(line) for line in text.splitlines() if line.strip()]
    else:
        tallies = json.loads(text)
    inputs = sum(t["inputs"] for t in tallies)
    crashes = sum(t["crashes"] for t in tallies)
    hangs = sum(t["hangs"] for t in tallies)
    bad = sum(t["bad_feeds"] for t in tallies)
    checked = sum(t["feeds_checked"] for t in tallies)
    return {
        "fault": f"Hostile and broken input, {len({t['target'] for t in tallies})} targets "
        "(bench/fuzz_bench.py)",
        "size": f"{inputs:,} inputs",
        "lost": "-",
        "duplicated": "-",
        "other": f"crashes {crashes}, hangs > 10 s {hangs}, feeds feedparser flags or lxml "
        f"cannot parse {bad} (of {checked:,} rendered)",
    }


def duplicated(row: dict[str, object]) -> str:
    """The duplicates and the ledger's bound for them: `43 (bound 3,500)`."""
    count = row["duplicated"]
    shown = f"{count:,}" if isinstance(count, int) else str(count)
    return f"{shown} (bound {row['bound']:,})" if "bound" in row else shown


def over_bound(row: dict[str, object]) -> bool:
    count, bound = row["duplicated"], row.get("bound", 0)
    return isinstance(count, int) and isinstance(bound, int) and count > bound


def table(rows: list[dict[str, object]]) -> str:
    lines = ["| fault | size tried | lost | duplicated | other outcome |", "|---|---|---|---|---|"]
    for row in rows:
        lines.append(
            f"| {row['fault']} | {row['size']} | {row['lost']} | {duplicated(row)} | "
            f"{row['other']} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fuzz-json", type=Path, help="Tallies of an earlier fuzz_bench run.")
    parser.add_argument("--fuzz-total", type=int, default=100_000)
    parser.add_argument("--fuzz-workers", type=int, default=2)
    parser.add_argument("--write", action="store_true", help="Update docs/reliability.md.")
    parser.add_argument("--rows", type=Path, help="Keep the suite's rows in this file.")
    parser.add_argument(
        "--reuse-rows", action="store_true", help="Do not run the suite: use the --rows file."
    )
    args = parser.parse_args()
    started, began = time.perf_counter(), datetime.now(UTC)
    load = LoadSampler()
    load.start()
    with tempfile.TemporaryDirectory() as folder:
        out = args.rows or Path(folder) / "rows.jsonl"
        fuzz_json, fuzz = args.fuzz_json, None
        if fuzz_json is None:
            fuzz_json = Path(folder) / "fuzz.json"
            fuzz_log = Path(folder) / "fuzz.log"
            fuzz = start_fuzz(args.fuzz_total, args.fuzz_workers, fuzz_json, fuzz_log)
        if args.reuse_rows:
            status = 0
        else:
            out.write_text("")
            status = run_suite(out)
        rows = [json.loads(line) for line in out.read_text().splitlines() if line.strip()]
        fuzz_status = 0
        if fuzz is not None:
            fuzz_status = fuzz.wait()
            print(fuzz_log.read_text(), end="")
        rows.append(fuzz_row(fuzz_json))
    load.stopped.set()
    seconds = time.perf_counter() - started
    text = table(rows)
    print(text)
    lost = sum(int(r["lost"]) for r in rows if isinstance(r["lost"], int))
    over = sum(over_bound(r) for r in rows)
    summary = (
        f"{len(rows)} scenarios, {lost} lost in all, {over} over the duplicate bound; "
        f"fault suite exit status {status}, fuzz exit status {fuzz_status}"
    )
    run = (
        f"`make reliability` (`bench/reliability_bench.py --write`), started "
        f"{began:%Y-%m-%d %H:%M} UTC, {seconds / 60:.0f} min; 1-minute load average "
        f"{min(load.samples):.1f}-{max(load.samples):.1f} (median "
        f"{statistics.median(load.samples):.1f}) on {os.cpu_count()} CPUs; {summary}."
    )
    print(f"\n{run}")
    if args.write:
        doc = DOC.read_text(encoding="utf-8")
        head, _, rest = doc.partition(BEGIN)
        _, _, tail = rest.partition(END)
        DOC.write_text(f"{head}{BEGIN}\n{text}\n\nRun: {run}\n{END}{tail}", encoding="utf-8")
        print(f"wrote the table into {DOC.relative_to(REPO)}")
    sys.exit(1 if status or fuzz_status or lost or over else 0)


if __name__ == "__main__":
    main()
