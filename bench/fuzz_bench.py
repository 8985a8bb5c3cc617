"""Fuzz every input feedline takes from outside: 100,000 generated inputs in all.

    .venv/bin/python bench/fuzz_bench.py [--total 100000] [--workers 2] [--seed 16]

The inputs come from the strategies of tests/fuzz (hypothesis, generation only, no shrinking),
and each goes through the same target as the property tests: the reader (text, Markdown,
HTML, RSS/Atom, JSON Feed, item folders, followed pages), `extract`, the config loader,
tokens, CSV imports, and raw requests to the HTTP routes of a real server on loopback. Source
inputs are stored and rendered to RSS, Atom and JSON Feed as a build does.

Counted per target: crashes (an exception other than the documented refusals, or a 5xx),
hangs (one input over 10 s: SIGALRM), and output feeds that lxml cannot parse or feedparser
flags. All must be 0. The baseline is the property suite's own run (a few hundred examples
per target): the same targets and checks, at about 1/30 of the inputs.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

HANG_SECONDS = 10
#: target name -> share of the total (sums to 1)
SHARES = {
    "text": 0.10,
    "markdown": 0.10,
    "html": 0.12,
    "xml feed": 0.10,
    "json feed": 0.10,
    "item folder": 0.08,
    "followed page": 0.05,
    "extract": 0.10,
    "config": 0.08,
    "tokens": 0.10,
    "csv import": 0.05,
    "http routes": 0.02,
}


@dataclass
class Tally:
    target: str
    inputs: int = 0
    crashes: int = 0
    hangs: int = 0
    bad_feeds: int = 0
    feeds_checked: int = 0
    seconds: float = 0.0
    examples: list[str] = field(default_factory=list)


class _Hang(Exception):
    pass


def _alarm(_signum: int, _frame: Any) -> None:
    raise _Hang


def run_target(name: str, count: int, seed: int) -> Tally:
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hypothesis_seed

    from tests.fuzz.test_properties import CASES

    target: Callable[[Any], dict[str, bytes]]
    target, strategy = next((c[1], c[2]) for c in CASES if c[0] == name)
    from tests.fuzz.targets import feed_problems

    tally = Tally(name)
    signal.signal(signal.SIGALRM, _alarm)

    @hypothesis_seed(seed)
    @settings(
        max_examples=count,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def one(value: Any) -> None:
        tally.inputs += 1
        signal.alarm(HANG_SECONDS)
        try:
            files = target(value)
            signal.alarm(0)
        except _Hang:
            tally.hangs += 1
            tally.examples.append(f"hang: {value!r:.300}")
            return
        except Exception as error:  # a crash: count it, keep going
            signal.alarm(0)
            tally.crashes += 1
            if len(tally.examples) < 5:
                tally.examples.append(f"{error.__class__.__name__}: {error} <- {value!r:.300}")
            return
        if files:
            tally.feeds_checked += 1
            problems = feed_problems(files)
            if problems:
                tally.bad_feeds += 1
                if len(tally.examples) < 5:
                    tally.examples.append(f"{problems[0]} <- {value!r:.300}")

    started = time.perf_counter()
    one()
    tally.seconds = time.perf_counter() - started
    return tally


def _work(job: tuple[str, int, int]) -> dict[str, Any]:
    return asdict(run_target(*job))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--total", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--json", type=Path, default=None, help="Also write the tallies here.")
    parser.add_argument("--only", default=None, help="Comma-separated targets (default: all).")
    args = parser.parse_args()
    jobs = []
    chosen = args.only.split(",") if args.only else list(SHARES)
    for name, share in SHARES.items():  # big shares split in chunks so workers balance
        if name not in chosen:
            continue
        count = round(args.total * share)
        chunks = max(1, count // 1000)
        for n in range(chunks):
            jobs.append((name, count // chunks + (n < count % chunks), args.seed + n))
    started = time.perf_counter()
    os.environ.setdefault("PYTHONHASHSEED", "0")
    results = []
    progress = args.json.with_suffix(".partial.jsonl") if args.json else None
    if progress:
        progress.write_text("")
    with multiprocessing.get_context("fork").Pool(args.workers, maxtasksperchild=4) as pool:
        for result in pool.imap_unordered(_work, jobs, chunksize=1):
            results.append(result)  # kept as it comes: a run cut short still tells
            if progress:
                with progress.open("a") as handle:
                    handle.write(json.dumps(result) + "\n")
    merged: dict[str, Tally] = {}
    for result in results:
        tally = merged.setdefault(result["target"], Tally(result["target"]))
        for key in ("inputs", "crashes", "hangs", "bad_feeds", "feeds_checked", "seconds"):
            setattr(tally, key, getattr(tally, key) + result[key])
        tally.examples += result["examples"][: 5 - len(tally.examples)]
    print(f"fuzz: {args.total:,} inputs asked, {args.workers} workers, seed {args.seed}")
    print(f"{'target':<14} {'inputs':>8} {'crashes':>8} {'hangs>10s':>9} {'bad feeds':>9} "
          f"{'feeds checked':>13} {'ms/input':>8}")  # fmt: skip
    total = Tally("all")
    for tally in merged.values():
        per = 1000 * tally.seconds / max(tally.inputs, 1)
        print(f"{tally.target:<14} {tally.inputs:>8,} {tally.crashes:>8} {tally.hangs:>9} "
              f"{tally.bad_feeds:>9} {tally.feeds_checked:>13,} {per:>8.1f}")  # fmt: skip
        for key in ("inputs", "crashes", "hangs", "bad_feeds", "feeds_checked"):
            setattr(total, key, getattr(total, key) + getattr(tally, key))
    print(f"{'all':<14} {total.inputs:>8,} {total.crashes:>8} {total.hangs:>9} "
          f"{total.bad_feeds:>9} {total.feeds_checked:>13,}")  # fmt: skip
    print(f"wall time {time.perf_counter() - started:.0f} s")
    for tally in merged.values():
        for example in tally.examples:
            print(f"  {tally.target}: {example}")
    if args.json:
        args.json.write_text(json.dumps([asdict(t) for t in merged.values()], indent=1))
    sys.exit(1 if total.crashes or total.hangs or total.bad_feeds else 0)


if __name__ == "__main__":
    main()
