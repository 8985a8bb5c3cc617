"""Benchmark: following item pages. 50 listings x 20 item pages served over loopback.

    .venv/bin/python bench/follow_bench.py [--listings 50] [--items 20] [--rounds 3]
                                           [--workers N] [--boilerplate-kb 0]

Figures, side by side in one run (median of `rounds`, each round on a fresh SQLite database):

- first refresh: `Refresher.refresh()` with `follow = true` on every source: the listings and
  every item page fetched, main text (trafilatura) and dates (htmldate) read, sanitised,
  deadlines found, items and page records stored, feeds written;
- no-change refresh: the same again; listings and pages all answer 304;
- the floor: trafilatura alone (the same `extract` call) on the same pages read from memory,
  plus fetching the same URLs with the same fetcher and nothing else.
- a stricter floor beside it: trafilatura as feedline calls it (`main_text_html`: the same HTML
  as `extract`, without the similarity fingerprint `extract` adds for its metadata header).

Targets (issue 12): first refresh <= 1.5 x the floor; no-change refresh <= 10% of the first.
The server runs in a child process (spawned), so its work does not count as the client's; each
listing is a site of its own on a loopback address of its own (127.0.0.2 ...), so per-host
politeness (`[fetch] per_host`, 2) applies per listing as it would on the Internet.
`--workers`: worker processes for extraction (default: the refresh default for this machine).
`--profile PREFIX`: one round, with cProfile (CPU time) on both refreshes, in this process and in
the (first) worker: PREFIX.{first,again}.{main,worker}.prof, the top functions printed.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import hashlib
import multiprocessing
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, TypeVar

import trafilatura
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from config.schema import RefreshSettings, Settings
from feeds.clock import FixedClock
from feeds.deadlines.ahead import warm_up
from feeds.fetch import Fetcher
from feeds.follow.follower import Follower
from feeds.follow.page import main_text_html
from feeds.refresh import Refresher
from feeds.sources.base import FetchState
from feeds.sources.registry_fetched import fetched_readers
from feeds.work import ProcessWork, Work
from scheduler.database import create_db_engine, upgrade

T = TypeVar("T")
MONTHS = ("March", "April", "May", "June")
TOPICS = ("river water", "soil health", "road noise", "harbour pilots", "drones", "bridges")


def boilerplate(n: int, size: int) -> tuple[str, str]:
    """About `size` bytes of what real newsroom pages carry around a notice: a mega-menu of
    links, inline script and a footer of links."""
    parts: list[str] = []
    k = 0
    while sum(map(len, parts)) < size:
        parts.append(
            f"<li><a href='/s/{n}/topics/{k}'>Topic {k}: policies, funding and news</a>"
            f"<ul><li><a href='/s/{n}/topics/{k}/a'>Overview</a></li>"
            f"<li><a href='/s/{n}/topics/{k}/b'>Publications</a></li></ul></li>"
        )
        k += 1
    menu = "".join(parts[: len(parts) // 2])
    footer = "".join(parts[len(parts) // 2 :])
    script = "var dataLayer = [];" * 20
    return f"<script>{script}</script><nav class='menu'><ul>{menu}</ul></nav>", footer


def item_page(n: int, i: int, pad: int = 0) -> bytes:
    topic = TOPICS[(n + i) % len(TOPICS)]
    head, foot = boilerplate(n, pad) if pad else ("", "")
    day = 1 + (i % 28)
    close = f"{1 + (i * 7) % 28} {MONTHS[(n + i) % len(MONTHS)]}"
    nav = "".join(f"<li><a href='/s/{n}/section/{k}'>Section {k}</a></li>" for k in range(30))
    related = "".join(
        f"<li><a href='/s/{n}/news/{k}'>Consultation on {TOPICS[k % 6]} closes on "
        f"{1 + k % 28} May 2026</a></li>"
        for k in range(8)
    )
    paragraphs = "".join(
        f"<p>Paragraph {p} on {topic}: the ministry sets out the evidence gathered so far, the "
        "options under consideration, their expected effects on households, businesses and "
        "public authorities, and the questions on which it seeks the views of the public.</p>"
        for p in range(12)
    )
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>Call for evidence on {topic} ({n}/{i})</title>"
        f"<meta property='article:published_time' content='2026-02-{day:02d}T10:00:00+01:00'>"
        '<script type=\'application/ld+json\'>{"@type":"NewsArticle",'
        f'"datePublished":"2026-02-{day:02d}"}}</script></head><body>'
        "<div class='cookie-banner'>We use cookies; consent expires on 31 December 2026.</div>"
        f"<header>{head}<nav><ul>{nav}</ul></nav></header><main><article>"
        f"<h1>Call for evidence on {topic}</h1><p class='lead'>Brussels, {day} February 2026</p>"
        f"{paragraphs}<p>The consultation is open until {close}. Replies received later will "
        "not be considered.</p></article>"
        f"<aside class='sidebar'><h2>Related</h2><ul>{related}</ul></aside></main>"
        f"<footer><p>Contact, legal notice, cookies, accessibility. Last updated 1 March 2026."
        f"</p><ul>{foot}</ul></footer></body></html>"
    ).encode()


def listing(n: int, items: int) -> bytes:
    entries = "".join(
        f"<li class='news'><a href='/s/{n}/news/{i}'>Call for evidence {n}/{i}</a></li>"
        for i in range(items)
    )
    return (
        f"<!DOCTYPE html><html><head><title>News {n}</title></head><body><ul>{entries}</ul>"
        "</body></html>"
    ).encode()


def site(listings: int, items: int, pad: int = 0) -> dict[str, bytes]:
    pages = {f"/s/{n}/news": listing(n, items) for n in range(listings)}
    for n in range(listings):
        for i in range(items):
            pages[f"/s/{n}/news/{i}"] = item_page(n, i, pad)
    return pages


class BenchServer:
    def __init__(self, pages: dict[str, bytes]) -> None:
        self.pages = pages
        self.tags = {p: '"' + hashlib.sha256(b).hexdigest()[:16] + '"' for p, b in pages.items()}
        self.full = 0
        self.not_modified = 0

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if request.path == "/robots.txt":
            return web.Response(text="User-agent: *\nDisallow: /private/\n")
        body = self.pages.get(request.path)
        if body is None:
            return web.Response(status=404)
        tag = self.tags[request.path]
        if request.headers.get("If-None-Match") == tag:
            self.not_modified += 1
            return web.Response(status=304, headers={"ETag": tag})
        self.full += 1
        return web.Response(
            body=body, headers={"ETag": tag, "Content-Type": "text/html; charset=utf-8"}
        )


def host_of(n: int) -> str:
    """Listing n is its own site: a loopback address of its own (127.0.0.2, 127.0.0.3, ...)."""
    return f"127.0.{(n + 2) // 256}.{(n + 2) % 256}"


async def serve(pages: dict[str, bytes], listings: int, conn: Connection) -> None:
    bench = BenchServer(pages)
    app = web.Application()
    app.router.add_get("/{tail:.*}", bench.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    first = web.TCPSite(runner, host_of(0), 0)
    await first.start()
    port = runner.addresses[0][1]
    for n in range(1, listings):
        await web.TCPSite(runner, host_of(n), port).start()
    conn.send(port)
    loop = asyncio.get_running_loop()
    while (await loop.run_in_executor(None, conn.recv)) == "count":
        conn.send((bench.full, bench.not_modified))
        bench.full = bench.not_modified = 0
    await runner.cleanup()


def server_process(pages: dict[str, bytes], listings: int, conn: Connection) -> None:
    asyncio.run(serve(pages, listings, conn))


def extract_floor(bodies: list[bytes]) -> float:
    started = time.perf_counter()
    for body in bodies:
        trafilatura.extract(
            body.decode(),
            output_format="html",
            include_comments=False,
            include_links=True,
            include_tables=True,
            include_formatting=True,
        )
    return time.perf_counter() - started


def extract_as_called(bodies: list[bytes]) -> float:
    """trafilatura as feedline calls it (feeds.follow.page.main_text_html: the same HTML as
    `extract`, without the fingerprint `extract` computes for its metadata header)."""
    started = time.perf_counter()
    for body in bodies:
        tree = trafilatura.load_html(body.decode())
        if tree is not None:
            main_text_html(tree, "http://127.0.0.2/s/0/news/0")
    return time.perf_counter() - started


async def fetch_floor(fetcher: Fetcher, urls: list[str]) -> tuple[float, float, float]:
    """Seconds to fetch every URL, then to revalidate every one (all 304), nothing else; and
    the client CPU seconds of the revalidation."""
    started = time.perf_counter()
    results = await asyncio.gather(
        *(fetcher.get(u, FetchState(), accept="text/html") for u in urls)
    )
    full = time.perf_counter() - started
    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(
        *(fetcher.get(u, r.state, accept="text/html") for u, r in zip(urls, results, strict=True))
    )
    return full, time.perf_counter() - started, time.process_time() - cpu


def settings_for(folder: Path, port: int, listings: int, concurrency: int) -> Settings:
    return Settings.model_validate(
        {
            "site": {"output_dir": str(folder / "public"), "data_dir": str(folder / "data")},
            "fetch": {
                "contact": "bench@feedline.invalid",
                "concurrency": concurrency,
            },
            "sources": [
                {
                    "id": f"s{n}",
                    "kind": "html",
                    "title": f"S{n}",
                    "url": f"http://{host_of(n)}:{port}/s/{n}/news",
                    "follow": True,
                    "select": {"item": "li.news", "title": "a"},
                }
                for n in range(listings)
            ],
        }
    )


_worker_profile: cProfile.Profile | None = None


def start_worker_profile() -> None:
    """Run in the worker: profile every step from now on."""
    global _worker_profile
    _worker_profile = cProfile.Profile(time.process_time)
    _worker_profile.enable()


def stop_worker_profile(path: str) -> float:
    """Run in the worker: stop profiling and write the stats; the worker's CPU seconds so far."""
    if _worker_profile is not None:
        _worker_profile.disable()
        _worker_profile.dump_stats(path)
    return time.process_time()


def worker_cpu() -> float:
    return time.process_time()


class Profiling:
    """cProfile around each refresh, when asked: this process's event loop and each step it
    hands to a thread (`asyncio.to_thread`), each on its own thread's CPU time; and the worker
    (ProcessWork) on its CPU time."""

    def __init__(self, prefix: str | None, work: Work) -> None:
        self.prefix, self.work = prefix, work
        self.here: cProfile.Profile | None = None
        self.threads: list[cProfile.Profile] = []
        self._to_thread = asyncio.to_thread

    async def start(self) -> float:
        if self.prefix is not None:
            self.here = cProfile.Profile(time.thread_time)
            self.threads = []
            if self.work.parallel:
                await self.work.run(start_worker_profile)
            asyncio.to_thread = self._profiled_to_thread  # type: ignore[assignment]
            self.here.enable()
        return await self.work.run(worker_cpu) if self.work.parallel else 0.0

    async def _profiled_to_thread(self, func: Callable[..., T], /, *args: Any) -> T:
        def profiled() -> T:
            profile = cProfile.Profile(time.thread_time)
            self.threads.append(profile)
            return profile.runcall(func, *args)

        return await self._to_thread(profiled)

    async def stop(self, name: str) -> float:
        if self.prefix is None or self.here is None:
            return await self.work.run(worker_cpu) if self.work.parallel else 0.0
        self.here.disable()
        asyncio.to_thread = self._to_thread
        self.here.dump_stats(f"{self.prefix}.{name}.main.prof")
        if self.threads:
            pstats.Stats(*self.threads).dump_stats(f"{self.prefix}.{name}.threads.prof")
        if self.work.parallel:
            return await self.work.run(stop_worker_profile, f"{self.prefix}.{name}.worker.prof")
        return 0.0


def print_profiles(prefix: str, work: Work) -> None:
    for name in ("first", "again"):
        for part in ("main", "threads", "worker") if work.parallel else ("main", "threads"):
            path = f"{prefix}.{name}.{part}.prof"
            if not Path(path).exists():
                continue
            print(f"=== {name} refresh, {part} process: {path}")
            stats = pstats.Stats(path).strip_dirs()
            stats.sort_stats("tottime").print_stats(25)
            stats.sort_stats("cumulative").print_stats(40)


async def refresh_pair(
    settings: Settings, folder: Path, work: Work, profile: str | None = None
) -> tuple[float, float, float, float, int, float, float]:
    engine = create_db_engine(f"sqlite:///{folder / 'feedline.db'}")
    upgrade(engine)
    clock = FixedClock(datetime(2026, 3, 10, 9, tzinfo=UTC))
    fetcher = Fetcher(settings.fetch, now=clock.now)
    follower = Follower(fetcher, clock, engine=engine, work=work)
    refresher = Refresher(
        settings, engine, fetched_readers(fetcher), clock, work=work, follower=follower
    )
    profiling = Profiling(profile, work)
    try:
        w_cpu = await profiling.start()
        started, cpu = time.perf_counter(), time.process_time()
        first = await refresher.refresh()
        t_first, cpu_first = time.perf_counter() - started, time.process_time() - cpu
        w_first = await profiling.stop("first") - w_cpu
        assert not first.failed, [str(o.error) for o in first.failed]
        changes = sum(len(o.deadline_changes) for o in first.outcomes)
        w_cpu = await profiling.start()
        started, cpu = time.perf_counter(), time.process_time()
        again = await refresher.refresh()
        t_again, cpu_again = time.perf_counter() - started, time.process_time() - cpu
        w_again = await profiling.stop("again") - w_cpu
        assert all(o.status == "unchanged" for o in again.outcomes), "all should answer 304"
    finally:
        await fetcher.aclose()
        engine.dispose()
    return t_first, t_again, cpu_first, cpu_again, changes, w_first, w_again


async def main(args: argparse.Namespace, work: Work) -> None:
    pages = site(args.listings, args.items, args.boilerplate_kb * 1000)
    ours, theirs = multiprocessing.Pipe()
    child = multiprocessing.get_context("spawn").Process(
        target=server_process, args=(pages, args.listings, theirs), daemon=True
    )
    child.start()
    loop = asyncio.get_running_loop()
    port = await loop.run_in_executor(None, ours.recv)
    bodies = [b for p, b in pages.items() if "/news/" in p]
    urls = [f"http://{host_of(int(p.split('/')[2]))}:{port}{p}" for p in pages]
    firsts, agains, floors, extracts, fetches, revalidations = [], [], [], [], [], []
    cpu_revalidations: list[float] = []
    called: list[float] = []
    cpu_firsts, cpu_agains, worker_firsts, worker_agains = [], [], [], []
    answers: list[tuple[int, int]] = []
    changes = 0
    extract_floor(bodies[:5])  # trafilatura's first calls compile what it needs: not the floor
    extract_as_called(bodies[:5])
    try:
        for _ in range(args.rounds):
            t_extract = extract_floor(bodies)
            t_called = extract_as_called(bodies)
            async with Fetcher(settings_for(Path("."), port, 1, args.concurrency).fetch) as fetcher:
                t_fetch, t_304, c_304 = await fetch_floor(fetcher, urls)
            ours.send("count")
            ours.recv()
            with tempfile.TemporaryDirectory() as tmp:
                folder = Path(tmp)
                settings = settings_for(folder, port, args.listings, args.concurrency)
                t_first, t_again, c_first, c_again, changes, w_first, w_again = await refresh_pair(
                    settings, folder, work, args.profile
                )
            ours.send("count")
            answers.append(ours.recv())
            firsts.append(t_first)
            agains.append(t_again)
            extracts.append(t_extract)
            called.append(t_called)
            fetches.append(t_fetch)
            revalidations.append(t_304)
            cpu_revalidations.append(c_304)
            cpu_firsts.append(c_first)
            cpu_agains.append(c_again)
            worker_firsts.append(w_first)
            worker_agains.append(w_again)
            floors.append(t_extract + t_fetch)
    finally:
        ours.send("stop")
        child.join(timeout=10)
        work.close()
    med = statistics.median
    first, again, floor = med(firsts), med(agains), med(floors)
    kb = sum(len(b) for b in bodies) / len(bodies) / 1000
    full, not_modified = answers[-1]
    print(
        f"{args.listings} listings x {args.items} item pages ({kb:.1f} kB/page), loopback, "
        f"fetch concurrency {args.concurrency}, workers {args.workers}, median of "
        f"{args.rounds} rounds; last round: server sent {full} full answers and "
        f"{not_modified} 304s over both refreshes; {changes} deadlines stored"
    )
    print()
    cpu_first, cpu_again, revalidate = med(cpu_firsts), med(cpu_agains), med(revalidations)
    w_first, w_again = med(worker_firsts), med(worker_agains)
    print(f"{'':36}{'seconds':>9}{'ratio':>9}{'client CPU s':>14}{'worker CPU s':>14}")
    print(f"{'floor: trafilatura alone':36}{med(extracts):9.2f}")
    print(f"{'floor: fetching alone':36}{med(fetches):9.2f}")
    print(f"{'floor (sum)':36}{floor:9.2f}{1:9.2f}")
    print(
        f"{'first refresh (follow)':36}{first:9.2f}{first / floor:9.2f}{cpu_first:14.2f}"
        f"{w_first:14.2f}  target <= 1.50 x floor"
    )
    strict = med(called) + med(fetches)
    print(
        f"{'  floor with trafilatura as called':36}{strict:9.2f}{first / strict:9.2f}"
        f"  first refresh / this (trafilatura as feedline calls it: {med(called):.2f} s)"
    )
    print(
        f"{'no-change refresh (all 304)':36}{again:9.2f}{again / first:9.1%}{cpu_again:14.2f}"
        f"{w_again:14.2f}  of first (client CPU {cpu_again / cpu_first:.1%}); target <= 10%"
    )
    print(
        f"{'floor: the same 304s alone':36}{revalidate:9.2f}{revalidate / first:9.1%}"
        f"{med(cpu_revalidations):14.2f}{'':14}  of first; the no-change refresh is "
        f"{again / revalidate:.2f} x this"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listings", type=int, default=50)
    parser.add_argument("--items", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument(
        "--boilerplate-kb",
        type=int,
        default=0,
        help="menu, script and footer links added to each item page (real pages carry 50-150 kB)",
    )
    parser.add_argument("--workers", type=int, default=RefreshSettings().worker_count)
    parser.add_argument("--profile", metavar="PREFIX", help="one round under cProfile")
    arguments = parser.parse_args()
    if arguments.profile:
        arguments.rounds = 1
    # As the app starts its workers (scheduler.wiring): what finding deadlines needs compiled.
    pool = ProcessWork.start(
        arguments.workers, warm_up=partial(warm_up, [("en", "Europe/Brussels")])
    )
    asyncio.run(main(arguments, pool))
    if arguments.profile:
        print_profiles(arguments.profile, pool)
