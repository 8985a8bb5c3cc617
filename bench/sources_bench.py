"""Benchmark: reading 50 html sources over loopback, concurrently vs one after another, and a
no-change refresh answered with 304s.

    .venv/bin/python bench/sources_bench.py [--sources 50] [--items 20] [--latency-ms 50]
                                            [--concurrency 8] [--rounds 3]

The server (aiohttp on port 0, in a child process so that the client's parsing does not delay
its timers, as a remote site would not be) adds `latency` before every full page answer to mimic
a real site generating and sending a page. Conditional requests are answered 304 either
at once (as a cache, CDN or static file server does: "304 fast") or after the same latency
("304 slow", the worst case of a site that renders the page before comparing validators).
Figures are the median of `rounds` runs.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import multiprocessing
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from multiprocessing.connection import Connection
from pathlib import Path

from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from config.schema import FetchSettings, SelectSettings, SourceSettings
from feeds.fetch import Fetcher
from feeds.sources.base import FetchState, SourceRead
from feeds.sources.html_page import HtmlPageReader

SELECT = SelectSettings(
    item="article.ecl-content-item",
    title=".ecl-content-block__title a",
    link=".ecl-content-block__title a@href",
    date=".ecl-content-block__primary-meta-item",
    summary=".ecl-content-block__description",
)


def make_page(n: int, items: int) -> bytes:
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>Newsroom {n}</title></head><body><main><div class='ecl-news-list'>",
    ]
    for i in range(items):
        day = 1 + (i % 28)
        parts.append(
            "<article class='ecl-content-item'><div class='ecl-content-block'>"
            "<ul class='ecl-content-block__primary-meta-container'>"
            "<li class='ecl-content-block__primary-meta-item'>News article</li>"
            f"<li class='ecl-content-block__primary-meta-item'>{day} February 2026</li>"
            "<li class='ecl-content-block__primary-meta-item'>Directorate-General</li></ul>"
            f"<div class='ecl-content-block__title'><a href='/news/{n}/{i}_en'>"
            f"Item {i} of newsroom {n}: a call for evidence on topic {i}</a></div>"
            "<div class='ecl-content-block__description'><p>The call for evidence is open "
            f"until {day} March 2026. Read the <a href='../consult/{i}'>consultation</a> "
            "and <strong>share your views</strong> with the services.</p></div>"
            "</div></article>"
        )
    parts.append("</div></main></body></html>")
    return "".join(parts).encode()


class BenchServer:
    def __init__(self, pages: dict[str, bytes], latency: float) -> None:
        self.pages = pages
        self.latency = latency
        self.slow_304 = False
        self.tags = {
            path: '"' + hashlib.sha256(b).hexdigest()[:16] + '"' for path, b in pages.items()
        }
        self.full = 0
        self.not_modified = 0

    async def handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        body = self.pages.get(path)
        if body is None:
            return web.Response(status=404)
        tag = self.tags[path]
        if request.headers.get("If-None-Match") == tag:
            if self.slow_304 or "slow304" in request.query:
                await asyncio.sleep(self.latency)
            self.not_modified += 1
            return web.Response(status=304, headers={"ETag": tag})
        await asyncio.sleep(self.latency)
        self.full += 1
        return web.Response(
            body=body, headers={"ETag": tag, "Content-Type": "text/html; charset=utf-8"}
        )


async def serve(pages: dict[str, bytes], latency: float, conn: Connection) -> None:
    bench = BenchServer(pages, latency)
    app = web.Application()
    app.router.add_get("/{tail:.*}", bench.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    conn.send(runner.addresses[0][:2])
    await asyncio.get_running_loop().run_in_executor(None, conn.recv)  # wait for "stop"
    conn.send((bench.full, bench.not_modified))
    await runner.cleanup()


def server_process(pages: dict[str, bytes], latency: float, conn: Connection) -> None:
    asyncio.run(serve(pages, latency, conn))


Run = Callable[[], Awaitable[list[SourceRead]]]


CPU: dict[int, float] = {}
"""Median client CPU seconds (this process) of each run, keyed by id(result list)."""


async def timed(run: Run, rounds: int) -> tuple[float, list[SourceRead]]:
    times = []
    cpu = []
    result: list[SourceRead] = []
    for _ in range(rounds):
        started, started_cpu = time.perf_counter(), time.process_time()
        result = await run()
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    CPU[id(result)] = statistics.median(cpu)
    return statistics.median(times), result


async def main(args: argparse.Namespace) -> None:
    pages = {f"/s/{n}/news": make_page(n, args.items) for n in range(args.sources)}
    ours, theirs = multiprocessing.Pipe()
    child = multiprocessing.get_context("spawn").Process(
        target=server_process, args=(pages, args.latency_ms / 1000, theirs), daemon=True
    )
    child.start()
    host, port = await asyncio.get_running_loop().run_in_executor(None, ours.recv)

    def settings(n: int, slow_304: bool = False) -> SourceSettings:
        query = "?slow304=1" if slow_304 else ""
        url = f"http://{host}:{port}/s/{n}/news{query}"
        return SourceSettings(id=f"s{n}", kind="html", title=f"S{n}", url=url, select=SELECT)

    sources = [settings(n) for n in range(args.sources)]
    slow_sources = [settings(n, slow_304=True) for n in range(args.sources)]
    fetcher = Fetcher(FetchSettings(contact="bench@feedline.invalid", concurrency=64))
    reader = HtmlPageReader(fetcher)
    bound = asyncio.Semaphore(args.concurrency)

    async def one(source: SourceSettings, previous: FetchState) -> SourceRead:
        async with bound:
            return await reader.read(source, previous)

    async def concurrent(
        states: list[FetchState], chosen: list[SourceSettings] = sources
    ) -> list[SourceRead]:
        pairs = zip(chosen, states, strict=True)
        return list(await asyncio.gather(*(one(s, p) for s, p in pairs)))

    async def sequential(states: list[FetchState]) -> list[SourceRead]:
        return [await reader.read(s, p) for s, p in zip(sources, states, strict=True)]

    empty = [FetchState()] * len(sources)
    try:
        t_seq, seq_full = await timed(lambda: sequential(empty), args.rounds)
        t_conc, full = await timed(lambda: concurrent(empty), args.rounds)
        states = [r.state for r in full]
        t_304, refreshed = await timed(lambda: concurrent(states), args.rounds)
        t_304_seq, seq_refreshed = await timed(lambda: sequential(states), args.rounds)
        t_304_slow, slow = await timed(lambda: concurrent(states, slow_sources), args.rounds)
        # The pipeline's two refreshes, median of the rounds (one pair was too noisy to read).
        pairs = [await pipeline_refreshes(sources, args.concurrency) for _ in range(args.rounds)]
        pipeline = (
            statistics.median(first for first, _ in pairs),
            statistics.median(again for _, again in pairs),
        )
    finally:
        await fetcher.aclose()
        ours.send("stop")
        full_answers, not_modified_answers = ours.recv()
        child.join(timeout=10)

    items = sum(len(r.entries) for r in full)
    assert all(r.unchanged for r in refreshed), "every source should answer 304"
    page_kb = sum(len(b) for b in pages.values()) / len(pages) / 1000
    print(
        f"{args.sources} html sources x {args.items} items ({page_kb:.1f} kB/page), "
        f"server latency {args.latency_ms:.0f} ms, concurrency {args.concurrency}, "
        f"median of {args.rounds} rounds; {items} entries per full read; server answered "
        f"{full_answers} full pages and {not_modified_answers} 304s"
    )
    print()
    full_pct, seq_pct, slow_pct = t_304 / t_conc, t_304_seq / t_seq, t_304_slow / t_conc
    cpu_full, cpu_304 = CPU[id(full)], CPU[id(refreshed)]
    rows = [
        ("full read, sequential", t_seq, seq_full, "1.00x"),
        ("full read, concurrent", t_conc, full, f"{t_seq / t_conc:.2f}x faster than sequential"),
        ("no-change (304 fast), concurrent", t_304, refreshed, f"{full_pct:.1%} of full"),
        ("no-change (304 fast), sequential", t_304_seq, seq_refreshed, f"{seq_pct:.1%} of full"),
        ("no-change (304 slow), concurrent", t_304_slow, slow, f"{slow_pct:.1%} of full"),
    ]  # fmt: skip
    width = max(len(r[0]) for r in rows)
    print(f"{'run':<{width}}  {'seconds':>8}  {'ms/source':>9}  {'CPU ms/src':>10}  vs")
    for name, seconds, result, note in rows:
        per = seconds / args.sources * 1000
        cpu = CPU[id(result)] / args.sources * 1000
        print(f"{name:<{width}}  {seconds:>8.3f}  {per:>9.1f}  {cpu:>10.2f}  {note}")
    print()
    cpu_ms = (t_seq - args.sources * args.latency_ms / 1000) / args.sources * 1000
    print(f"client work per full source read (sequential minus latency): {cpu_ms:.1f} ms")
    ok_speed = t_seq / t_conc >= 4
    ok_refresh = t_304 / t_conc < 0.10
    print(f"target concurrent >= 4x sequential: {'met' if ok_speed else 'MISSED'}")
    ok_seq = t_304_seq / t_seq < 0.10
    print(
        f"target no-change refresh < 10% of full, concurrent: {'met' if ok_refresh else 'MISSED'}"
    )
    print(f"target no-change refresh < 10% of full, sequential: {'met' if ok_seq else 'MISSED'}")
    print(f"client CPU of a no-change refresh: {cpu_304 / cpu_full:.1%} of a full read")
    print()
    print("the whole refresh pipeline (feeds.refresh.Refresher: fetch, parse, store, extract")
    print(
        f"deadlines, publish feeds), {args.sources} sources, fetch concurrency {args.concurrency},"
        f" median of {args.rounds} rounds:"
    )
    first, again = pipeline
    print(f"  full refresh (empty store)       {first:8.3f} s")
    print(f"  no-change refresh (all 304)      {again:8.3f} s   {again / first:.1%} of full")
    print(
        f"target no-change refresh < 10% of full, pipeline: "
        f"{'met' if again / first < 0.10 else 'MISSED'}"
    )


async def pipeline_refreshes(
    sources: list[SourceSettings], concurrency: int
) -> tuple[float, float]:
    """A full refresh into an empty store, then a no-change refresh, through the real Refresher."""
    import tempfile

    from config.schema import Settings
    from feeds.clock import SystemClock
    from feeds.refresh import Refresher
    from scheduler.database import create_db_engine, upgrade
    from scheduler.wiring import build_readers

    with tempfile.TemporaryDirectory(prefix="sources-bench-") as folder:
        settings = Settings.model_validate(
            {
                "site": {"output_dir": f"{folder}/public", "data_dir": folder},
                "sources": [s.model_dump(mode="json", exclude_none=True) for s in sources],
                "fetch": {"concurrency": concurrency, "contact": "bench@feedline.invalid"},
            }
        )
        engine = create_db_engine(f"sqlite:///{folder}/feedline.db")
        upgrade(engine)
        fetcher = Fetcher(settings.fetch)
        refresher = Refresher(settings, engine, build_readers(fetcher), SystemClock())
        try:
            started = time.perf_counter()
            report = await refresher.refresh()
            first = time.perf_counter() - started
            assert not report.failed, [o.error for o in report.failed]
            started = time.perf_counter()
            report = await refresher.refresh()
            again = time.perf_counter() - started
            assert all(o.status == "unchanged" for o in report.outcomes)
        finally:
            await fetcher.aclose()
            engine.dispose()
    return first, again


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=int, default=50)
    parser.add_argument("--items", type=int, default=20)
    parser.add_argument("--latency-ms", type=float, default=50)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
