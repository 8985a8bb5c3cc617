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
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DOC = REPO / "docs" / "reliability.md"
BEGIN, END = "<!-- reliability:begin -->", "<!-- reliability:end -->"
MAX_CONNECTIONS = 4


def run_suite(out: Path) -> int:
    env = {
        **os.environ,
        "FEEDLINE_RELIABILITY": "full",
        "FEEDLINE_RELIABILITY_OUT": str(out),
    }
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/faults"]
    return subprocess.run(command, cwd=REPO, env=env, check=False).returncode


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


def table(rows: list[dict[str, object]]) -> str:
    lines = ["| fault | size tried | lost | duplicated | other outcome |", "|---|---|---|---|---|"]
    for row in rows:
        lines.append(
            f"| {row['fault']} | {row['size']} | {row['lost']} | {row['duplicated']} | "
            f"{row['other']} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fuzz-json", type=Path, help="Tallies of an earlier fuzz_bench run.")
    parser.add_argument("--fuzz-total", type=int, default=100_000)
    parser.add_argument("--write", action="store_true", help="Update docs/reliability.md.")
    parser.add_argument("--rows", type=Path, help="Keep the suite's rows in this file.")
    parser.add_argument(
        "--reuse-rows", action="store_true", help="Do not run the suite: use the --rows file."
    )
    args = parser.parse_args()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        out = args.rows or Path(folder) / "rows.jsonl"
        if args.reuse_rows:
            status = 0
        else:
            out.write_text("")
            status = run_suite(out)
        rows = [json.loads(line) for line in out.read_text().splitlines() if line.strip()]
        fuzz_json = args.fuzz_json
        if fuzz_json is None:
            fuzz_json = Path(folder) / "fuzz.json"
            fuzz = [sys.executable, "bench/fuzz_bench.py", "--total", str(args.fuzz_total)]
            subprocess.run([*fuzz, "--json", str(fuzz_json)], cwd=REPO, check=False)
        rows.append(fuzz_row(fuzz_json))
    text = table(rows)
    print(text)
    lost = sum(int(r["lost"]) for r in rows if isinstance(r["lost"], int))
    print(
        f"\n{len(rows)} scenarios, {lost} lost in all; fault suite exit status {status}; "
        f"{time.perf_counter() - started:.0f} s"
    )
    if args.write:
        doc = DOC.read_text(encoding="utf-8")
        head, _, rest = doc.partition(BEGIN)
        _, _, tail = rest.partition(END)
        DOC.write_text(f"{head}{BEGIN}\n{text}\n{END}{tail}", encoding="utf-8")
        print(f"wrote the table into {DOC.relative_to(REPO)}")
    sys.exit(1 if status or lost else 0)


if __name__ == "__main__":
    main()
