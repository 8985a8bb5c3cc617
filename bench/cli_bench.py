"""Start-up of `feedline --help` and `feedline status` against a bare `python -c "import click"`.

    .venv/bin/python bench/cli_bench.py [--runs 15] [--every-help]

Each case is a fresh process, run interleaved with the baseline in the same loop so the shared
machine's noise hits them alike. The figure is the median of the processes' CPU time (user +
system, from `os.wait4`), which noise from other processes disturbs far less than wall time;
the wall-time median is printed beside it. `status` runs on a folder built once first (SQLite,
the embedded default), so it measures reading the settings and the store, not a first build.
The target (issue 14): each command within 4x the baseline.

Two floors run beside them, to show what `status` cannot go below while it loads the settings
through the one schema (pydantic) and reads the one store (SQLAlchemy Core): loading the
embedded settings alone, and `import sqlalchemy` alone. `--every-help` adds each command's
`--help` (which imports that command's module).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_RATIO = 4.0
BASELINE = 'python -c "import click"'
SETTINGS_FLOOR = "floor: load the settings"
STORE_FLOOR = "floor: import sqlalchemy"


def run_once(argv: list[str], cwd: Path) -> tuple[float, float]:
    """(cpu seconds, wall seconds) of one process."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("FEEDLINE_")}
    started = time.perf_counter()
    process = subprocess.Popen(
        argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    _pid, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(argv)} exited {os.waitstatus_to_exitcode(status)}")
    return usage.ru_utime + usage.ru_stime, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--every-help", action="store_true", help="Also each command's --help.")
    args = parser.parse_args()
    python = sys.executable
    feedline = [python, "-m", "scheduler"]
    cases = {
        BASELINE: [python, "-c", "import click"],
        "feedline --help": [*feedline, "--help"],
        "feedline status": [*feedline, "status"],
        SETTINGS_FLOOR: [python, "-c", "from config.loading import load_settings; load_settings()"],
        STORE_FLOOR: [python, "-c", "import sqlalchemy"],
    }
    if args.every_help:
        from scheduler.cli import COMMANDS

        cases.update({f"feedline {name} --help": [*feedline, name, "--help"] for name in COMMANDS})
    with tempfile.TemporaryDirectory(prefix="cli-bench-") as folder:
        cwd = Path(folder)
        subprocess.run([*feedline, "build", "--quiet"], cwd=cwd, check=True)
        cpu: dict[str, list[float]] = {name: [] for name in cases}
        wall: dict[str, list[float]] = {name: [] for name in cases}
        for argv in cases.values():  # warm the page cache and .pyc files
            run_once(argv, cwd)
        for _ in range(args.runs):
            for name, argv in cases.items():
                used, took = run_once(argv, cwd)
                cpu[name].append(used)
                wall[name].append(took)
    baseline = statistics.median(cpu[BASELINE])
    base_wall = statistics.median(wall[BASELINE])
    print(f"{args.runs} runs each, interleaved; medians; ratio to the baseline (target <= 4x)")
    print(f"{'case':32} {'cpu ms':>8} {'ratio':>7} {'wall ms':>8} {'ratio':>7}  target")
    for name in cases:
        used = statistics.median(cpu[name])
        took = statistics.median(wall[name])
        ratio = used / baseline
        targeted = name in ("feedline --help", "feedline status")
        verdict = ("met" if ratio <= TARGET_RATIO else "NOT met") if targeted else "-"
        print(
            f"{name:32} {used * 1000:8.0f} {ratio:6.1f}x {took * 1000:8.0f} "
            f"{took / base_wall:6.1f}x  {verdict}"
        )


if __name__ == "__main__":
    main()
