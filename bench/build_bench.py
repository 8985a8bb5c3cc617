"""Build speed: `feedline build` (build_app + refresh) against feedgen alone.

Run: .venv/bin/python bench/build_bench.py [--repeat 5] [--profile]

10 synthetic text sources x 1,000 items (the shape of config/default/pages/news.txt: a title
line, a blank line, a paragraph of 60-120 words; about 10% of paragraphs state a consultation
closing date), generated from a fixed seed into a temp folder. Each measurement runs in its own
fresh interpreter (so peak RSS is per case), timing only the work after the imports:

- full build: fresh data and output folders, build_app (open + migrate the SQLite database,
  fork the worker processes) and refresher.refresh(), for site.max_items = 100 (the default)
  and 1,000; once with [refresh] workers at its default (one per CPU beyond the first) and
  once with workers = 0 (everything in one process), which must write the same files;
- no-change rebuild: the same inputs again on the folders a full build left (build_app +
  refresh, as `feedline build` run a second time does);
- baseline (the issue's): feedgen alone rendering the benchmark's items, all 10 x 1,000 of them,
  to RSS and Atom (one feed per source) and writing the files: what a naive script does with
  the same items (no parsing, no store, no JSON Feed, no merged feed, no deadlines);
- reference: feedgen alone rendering exactly what the build renders (each source's newest
  max_items plus the merged feed of the newest max_items of all). At max_items = 100 that is a
  tenth of the items, while the build still reads, stores and scans all 10,000.
The items are generated in memory before a baseline's clock starts: only rendering and
writing count.

Targets (issue 2): full build <= 1.5x the baseline (the verdict compares the medians of the
--repeat runs; the table shows the best of each); no-change rebuild <= 10% of a full build.
Times are wall clock; the CPU column adds up this process and its worker processes. The stage
table and `--profile` (cProfile's top functions, max_items = 100) use workers = 0, so that
one process does, and shows, all the work.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

SEED = 20230207
SOURCES = 10
ITEMS_PER_SOURCE = 1_000
DEADLINE_SHARE = 0.10
NOW = datetime(2023, 2, 7, 9, 0, tzinfo=UTC)
MAX_ITEMS = (100, 1_000)
BASE_URL = "http://127.0.0.1:8080/"

MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]  # fmt: skip
PLACES = ["Antwerp", "Brussels", "Vienna", "Tallinn", "Lisbon", "Gdansk", "Lyon", "Bari",
          "Porto", "Riga", "Turku", "Graz"]  # fmt: skip
TOPICS = ["drug precursors", "port security", "border data", "cyber resilience", "water reuse",
          "rail freight", "youth mobility", "noise maps", "air quality", "asylum procedures",
          "visa policy", "victim support"]  # fmt: skip
ACTORS = ["Commission", "Commissioner", "Expert group", "Council", "Agency", "Working party",
          "Directorate-General", "Network"]  # fmt: skip
VERBS = ["adopts report on", "visits project on", "meets on", "launches call on",
         "publishes study on", "presents plan on", "funds research on",
         "reviews rules on"]  # fmt: skip
SENTENCES = [
    "On {d} {m} {y}, the {a} visited {p}, where members saw a demonstration of new work on {t}.",
    "The {a} today adopted a report on {t} and presented it to the ministers meeting in {p}.",
    "The funds are to be used between 2021 and 2027 and represent a significant increase "
    "compared to the previous period.",
    "The group met for the first time on {d} {m} in {p} and discussed its mandate on {t}.",
    "Members agreed on the rules of procedure and noted the terms of reference.",
    "Ministers will meet again in {p} in the autumn; the agenda includes {t} and budget questions.",
    "More than {n} people took part in the campaign on {t}, which ran in {p} and online.",
    "The new online service starts on {d} {m} {y} and will be available to all residents of {p}.",
    "The project builds very precise tools for {t} and tests them with the authorities in {p}.",
    "National experts shared what worked in {p} and what still needs to change.",
]
DEADLINE_SENTENCES = [
    "The consultation is open until {d} {m} {y}.",
    "The call for evidence on {t} is open until {d} {m} {y}. Stakeholders can reply online.",
    "The public consultation on {t} closes on {d} {m} {y}.",
]
HEADER = "skip to main content\nHome Affairs Logo\nen English\nNewsroom\n\nNews\n\n"


# --- synthetic data ----------------------------------------------------------------------------


def _values(rng: random.Random) -> dict[str, Any]:
    return {
        "d": rng.randint(1, 28), "m": rng.choice(MONTHS), "y": rng.choice([2023, 2024]),
        "p": rng.choice(PLACES), "t": rng.choice(TOPICS), "a": rng.choice(ACTORS),
        "n": rng.randint(100, 9000),
    }  # fmt: skip


def _paragraph(rng: random.Random) -> tuple[str, bool]:
    """60-120 words of neutral sentences; about 10% also state a closing date."""
    target = rng.randint(60, 120)
    closing = ""
    if rng.random() < DEADLINE_SHARE:
        values = _values(rng) | {"y": 2023, "m": rng.choice(MONTHS[2:])}
        closing = rng.choice(DEADLINE_SENTENCES).format(**values)
    room = target - len(closing.split())
    words: list[str] = []
    while len(words) < room:
        words += rng.choice(SENTENCES).format(**_values(rng)).split()
    neutral = " ".join(words[:room]).rstrip(".,;") + "."
    if not closing:
        return neutral, False
    return (f"{closing} {neutral}" if rng.random() < 0.3 else f"{neutral} {closing}"), True


def synthetic_sources(seed: int = SEED) -> list[list[tuple[str, str]]]:
    """SOURCES lists of (title, paragraph), newest first (page order)."""
    rng = random.Random(seed)
    sources = []
    for _ in range(SOURCES):
        items = []
        for n in range(ITEMS_PER_SOURCE):
            title = (
                f"{rng.choice(ACTORS)} {rng.choice(VERBS)} {rng.choice(TOPICS)} "
                f"in {rng.choice(PLACES)}, session {ITEMS_PER_SOURCE - n}"
            )
            items.append((title, _paragraph(rng)[0]))
        sources.append(items)
    return sources


def page_text(items: list[tuple[str, str]]) -> str:
    return HEADER + "".join(f"{title}\n\n{para}\n\n  \n\n" for title, para in items)


def write_inputs(root: Path) -> list[Path]:
    pages = root / "pages"
    pages.mkdir(parents=True)
    paths = []
    for number, items in enumerate(synthetic_sources()):
        path = pages / f"source-{number:02d}.txt"
        path.write_text(page_text(items), encoding="utf-8")
        paths.append(path)
    return paths


def write_config(
    folder: Path, pages: list[Path], max_items: int, workers: int | None = None
) -> Path:
    """The benchmark's feedline.toml; `workers` None keeps [refresh] workers at its default."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = [
        "[site]",
        'title = "Build benchmark"',
        f'base_url = "{BASE_URL}"',
        'output_dir = "public"',
        'data_dir = "data"',
        f"max_items = {max_items}",
        "",
    ]
    if workers is not None:
        lines += ["[refresh]", f"workers = {workers}", ""]
    for number, page in enumerate(pages):
        lines += [
            "[[sources]]",
            f'id = "source-{number:02d}"',
            'kind = "text"',
            f'path = "{page}"',
            f'title = "Source {number:02d}: news"',
            f'link = "https://source-{number:02d}.example.org/news"',
            'timezone = "Europe/Brussels"',
            'language = "en"',
            "",
        ]
    path = folder / "feedline.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


# --- the cases, each run in a child interpreter -----------------------------------------------


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _cpu_of_all() -> float:
    """CPU seconds of this process and its ended children (the worker processes)."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


def _build_once(config: Path) -> float:
    from config.loading import load_settings
    from feeds.clock import FixedClock
    from scheduler.wiring import build_app

    loaded = load_settings(config, env={})

    async def run() -> None:
        async with build_app(loaded, FixedClock(NOW)) as app:
            report = await app.refresher.refresh()
        if report.failed:
            raise SystemExit(f"build failed: {[str(o.error) for o in report.failed]}")

    start = time.perf_counter()
    asyncio.run(run())
    return time.perf_counter() - start


def child_build(config: Path, repeat: int) -> dict[str, Any]:
    import scheduler.wiring  # noqa: F401  (imports are not part of the timing)

    rss_before = _peak_rss_mb()
    cpu_before = _cpu_of_all()
    times = [_build_once(config) for _ in range(repeat)]
    cpu = (_cpu_of_all() - cpu_before) / repeat
    return {
        "seconds": min(times),
        "all": times,
        "rss": _peak_rss_mb(),
        "rss_imports": rss_before,
        "cpu": cpu,
        "children_rss": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    }


STAGES = [
    # (label, module, attribute): where a full build's CPU time goes, all in one process
    # ([refresh] workers = 0; with workers the parse, deadline and render steps move to them)
    ("open + migrate the database", "scheduler.wiring", "open_database"),
    ("read + parse pages", "feeds.sources.text_page", "parse_text_page"),
    ("store items (upsert_entries)", "feeds.store.items", "upsert_entries"),
    ("cue check (per item)", "feeds.refresh", "has_cue_word"),
    ("choose_reference (per page)", "feeds.refresh", "choose_reference"),
    ("find_deadlines (per item)", "feeds.refresh", "find_deadlines"),
    ("save deadlines of new items (batched)", "feeds.store.deadlines", "NewItemDeadlines.flush"),
    ("save_deadlines (stored items)", "feeds.refresh", "save_deadlines"),
    ("publish: query items", "feeds.publish_site", "SitePublisher._read_items"),
    ("publish: render RSS + Atom + JSON", "feeds.publish_site", "render_feed_files"),
    ("publish: write files", "feeds.publish_site", "write_with_sidecar"),
    ("publish: calendar rows", "feeds.publish_site", "deadline_rows_with_items"),
    ("publish: calendar render", "feeds.publish_site", "render_deadline_calendar"),
    ("publish: index page", "feeds.publish_site", "render_index"),
]


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def child_stages(config: Path) -> dict[str, Any]:
    """One full build with each stage wrapped to sum its thread CPU time."""
    import functools
    import importlib

    import scheduler.wiring  # noqa: F401

    spent = dict.fromkeys((label for label, _, _ in STAGES), 0.0)

    def timed(label: str, func: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            start = time.thread_time()
            try:
                return func(*args, **kwargs)
            finally:
                spent[label] += time.thread_time() - start

        return wrapper

    for label, module_name, attribute in STAGES:
        owner: Any = importlib.import_module(module_name)
        *path, name = attribute.split(".")
        for part in path:
            owner = getattr(owner, part)
        setattr(owner, name, timed(label, getattr(owner, name)))
    cpu = _cpu()
    seconds = _build_once(config)
    return {"seconds": seconds, "cpu": _cpu() - cpu, "stages": spent, "rss": _peak_rss_mb()}


def child_profile(config: Path) -> dict[str, Any]:
    import cProfile
    import io
    import pstats

    import scheduler.wiring  # noqa: F401

    async def inline(func: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        return func(*args, **kwargs)

    # cProfile sees one thread: run the refresher's worker-thread steps inline for the profile.
    asyncio.to_thread = inline
    profiler = cProfile.Profile()
    profiler.enable()
    seconds = _build_once(config)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).sort_stats("cumulative")
    stats.print_stats(40)
    stats.sort_stats("tottime").print_stats(45)
    return {"seconds": seconds, "rss": _peak_rss_mb(), "profile": out.getvalue()}


def _naive_render(
    sources: list[list[tuple[str, str]]], max_items: int, out: Path, *, merged_feed: bool
) -> None:
    from feedgen.feed import FeedGenerator

    # The dates the build gives undated page items: now, then a second older per position.
    dated = [
        [(NOW - timedelta(seconds=pos), f"source-{n:02d}", title, para)
         for pos, (title, para) in enumerate(items)]
        for n, items in enumerate(sources)
    ]  # fmt: skip
    merged = sorted((i for items in dated for i in items), key=lambda i: (-i[0].timestamp(), i[1]))
    feeds = [(f"source-{n:02d}", items[:max_items]) for n, items in enumerate(dated)]
    if merged_feed:
        feeds.append(("all", merged[:max_items]))
    out.mkdir(parents=True, exist_ok=True)
    for name, chosen in feeds:
        for fmt in ("rss", "atom"):
            feed = FeedGenerator()
            feed.id(f"{BASE_URL}{name}.{fmt}")
            feed.title(name)
            feed.link(href=f"{BASE_URL}{name}.{fmt}", rel="self")
            feed.link(href=f"https://{name}.example.org/news", rel="alternate")
            feed.description(name)
            feed.updated(NOW)
            for published, source_id, title, para in chosen:
                entry = feed.add_entry(order="append")
                link = f"https://{source_id}.example.org/news#{abs(hash(title))}"
                entry.id(link)
                entry.title(title)
                entry.link(href=link)
                entry.published(published)
                entry.updated(published)
                entry.content(f"<p>{para}</p>", type="html")
            data = feed.rss_str(pretty=True) if fmt == "rss" else feed.atom_str(pretty=True)
            (out / f"{name}.{fmt}").write_bytes(data)


def child_baseline(max_items: int, repeat: int, out: Path, merged_feed: bool) -> dict[str, Any]:
    import feedgen.feed  # noqa: F401

    sources = synthetic_sources()  # generating the items is not part of the baseline
    rss_before = _peak_rss_mb()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        _naive_render(sources, max_items, out, merged_feed=merged_feed)
        times.append(time.perf_counter() - start)
    return {"seconds": min(times), "all": times, "rss": _peak_rss_mb(), "rss_imports": rss_before}


def _default_workers() -> int:
    from config.schema import RefreshSettings

    return RefreshSettings().worker_count


def run_child(*args: str) -> dict[str, Any]:
    here = Path(__file__).resolve()
    env = dict(os.environ, PYTHONHASHSEED="0")
    done = subprocess.run(
        [sys.executable, str(here), "--child", *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=here.parent.parent,
        env=env,
    )
    if done.returncode != 0:
        raise SystemExit(f"child {args} failed:\n{done.stdout}\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


# --- the parent: set up, run the cases, print the table ---------------------------------------


def _fresh_full_builds(
    root: Path, pages: list[Path], max_items: int, repeat: int, workers: int | None
) -> dict[str, Any]:
    """Best of `repeat` full builds, each in a fresh process with fresh folders."""
    results = []
    name = f"full-{max_items}-{'default' if workers is None else workers}"
    for n in range(repeat):
        config = write_config(root / f"{name}-{n}", pages, max_items, workers)
        results.append(run_child("build", str(config), "1"))
    best = min(results, key=lambda r: r["seconds"])
    return {
        "seconds": best["seconds"],
        "all": [r["seconds"] for r in results],
        "rss": max(r["rss"] for r in results),
        "children_rss": max(r["children_rss"] for r in results),
        "rss_imports": best["rss_imports"],
        "cpu": min(r["cpu"] for r in results),
        "config": root / f"{name}-0" / "feedline.toml",
    }


def _outputs(folder: Path) -> tuple[int, int]:
    files = [p for p in (folder / "public").iterdir() if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="best of N (default 5)")
    parser.add_argument("--profile", action="store_true", help="cProfile one full build")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, *rest = args.child
        cases: dict[str, Callable[[], dict[str, Any]]] = {
            "build": lambda: child_build(Path(rest[0]), int(rest[1])),
            "baseline": lambda: child_baseline(
                int(rest[0]), int(rest[1]), Path(rest[2]), rest[3] == "merged"
            ),
            "profile": lambda: child_profile(Path(rest[0])),
            "stages": lambda: child_stages(Path(rest[0])),
        }
        print(json.dumps(cases[kind]()))
        return

    with tempfile.TemporaryDirectory(prefix="feedline-build-bench-") as temp:
        root = Path(temp)
        started = time.perf_counter()
        pages = write_inputs(root)
        size = sum(p.stat().st_size for p in pages)
        rows: list[tuple[str, int, dict[str, Any], str]] = []
        verdicts: list[str] = []
        stages: dict[int, dict[str, Any]] = {}
        repeat = str(args.repeat)
        workers = _default_workers()
        base = run_child("baseline", str(ITEMS_PER_SOURCE), repeat, str(root / "naive"), "-")
        rows.append(("baseline: feedgen alone, all items", ITEMS_PER_SOURCE, base, "1.00x"))
        for max_items in MAX_ITEMS:
            same = run_child("baseline", str(max_items), repeat, str(root / "same"), "merged")
            full = _fresh_full_builds(root, pages, max_items, args.repeat, None)
            alone = _fresh_full_builds(root, pages, max_items, args.repeat, 0)
            again = run_child("build", str(full["config"]), str(args.repeat))
            files, out_bytes = _outputs(full["config"].parent)
            if _outputs(alone["config"].parent) != (files, out_bytes):
                raise SystemExit("builds with and without worker processes wrote different files")
            stage_config = write_config(root / f"stages-{max_items}", pages, max_items, 0)
            stages[max_items] = run_child("stages", str(stage_config))
            ratio = full["seconds"] / base["seconds"]
            median_ratio = statistics.median(full["all"]) / statistics.median(base["all"])
            ratio_alone = alone["seconds"] / base["seconds"]
            versus_same = full["seconds"] / same["seconds"]
            share = again["seconds"] / full["seconds"]
            rows += [
                ("reference: feedgen, what build renders", max_items, same, ""),
                (
                    f"full build, {workers} worker process(es)",
                    max_items,
                    full,
                    f"{ratio:.2f}x baseline ({versus_same:.1f}x reference)",
                ),
                ("full build, no worker process", max_items, alone, f"{ratio_alone:.2f}x baseline"),
                ("no-change rebuild", max_items, again, f"{share:.1%} of full build"),
            ]
            verdicts.append(
                f"max_items={max_items}: full build {ratio:.2f}x baseline, best of each "
                f"({median_ratio:.2f}x median to median; target <= 1.5x: "
                f"{'met' if median_ratio <= 1.5 else 'NOT met'}; "
                f"{ratio_alone:.2f}x without workers), "
                f"{versus_same:.1f}x the reference; CPU of all processes {full['cpu']:.2f} s "
                f"({alone['cpu']:.2f} s without workers); "
                f"no-change rebuild {share:.1%} of a full build (target <= 10%: "
                f"{'met' if share <= 0.10 else 'NOT met'}); "
                f"{files} files, {out_bytes / 1e6:.1f} MB written"
            )
        print(
            f"{SOURCES} sources x {ITEMS_PER_SOURCE:,} items ({size / 1e6:.1f} MB of text pages, "
            f"~{DEADLINE_SHARE:.0%} with a closing date), seed {SEED}; "
            f"Python {platform.python_version()}, {os.cpu_count()} CPUs"
        )
        print()
        print(f"{'case':<40}{'max_items':>10}{'seconds':>10}{'CPU s':>8}{'peak RSS MB':>13}  ratio")
        for name, max_items, result, note in rows:
            cpu = f"{result['cpu']:>8.2f}" if "cpu" in result else f"{'':>8}"
            rss = f"{result['rss']:.0f}"
            if result.get("children_rss"):
                rss += f" +{result['children_rss']:.0f}"
            print(f"{name:<40}{max_items:>10,}{result['seconds']:>10.3f}{cpu}{rss:>13}  {note}")
        print()
        print(
            f"seconds = best of {args.repeat} (wall clock); each case in a fresh interpreter, "
            "imports not timed; CPU s = this process and its worker processes; RSS +N = the "
            "largest worker's peak"
        )
        for verdict in verdicts:
            print(verdict)
        print()
        print("where a full build's time goes (CPU seconds of one more full build, all threads)")
        print(f"{'stage':<40}" + "".join(f"{f'max_items={m:,}':>20}" for m in MAX_ITEMS))
        for label, _, _ in STAGES:
            spent = [(stages[m]["stages"][label], stages[m]["cpu"]) for m in MAX_ITEMS]
            cells = "".join(f"{sec:>10.2f} {sec / cpu:>8.0%}" for sec, cpu in spent)
            print(f"{label:<40}{cells}")
        rest = "".join(
            f"{(stages[m]['cpu'] - sum(stages[m]['stages'].values())):>10.2f}{'':>9}"
            for m in MAX_ITEMS
        )
        print(f"{'other (source state, commits, hand-offs)':<40}{rest}")
        total = "".join(f"{stages[m]['cpu']:>10.2f}{'':>9}" for m in MAX_ITEMS)
        print(f"{'total CPU':<40}{total}")
        if args.profile:
            config = write_config(root / "profile", pages, MAX_ITEMS[0], 0)
            print()
            print(run_child("profile", str(config))["profile"])
        print(f"(bench wall time {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
