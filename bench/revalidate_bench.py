"""Benchmark: what one conditional GET answered 304 costs the client, by HTTP library.

    .venv/bin/python bench/revalidate_bench.py [--listings 50] [--items 20] [--rounds 3]

The item pages of bench/follow_bench.py (50 sites on loopback addresses of their own, in a
server process of their own), each revalidated with its ETag, 8 requests in flight, through:

- httpx alone: one `AsyncClient` per site (what feeds/fetch.py used before, per site);
- aiohttp alone: one `ClientSession`, at most 2 connections per site;
- feedline's `Fetcher` (feeds/fetch.py, on aiohttp): the same requests as a refresh makes them,
  with retries, the timeout, the size limit and validators.

Client CPU (process time) per request, median of `rounds`; every answer must be a 304.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.follow_bench import BenchServer, host_of, server_process, site
from config.schema import FetchSettings
from feeds.fetch import Fetcher
from feeds.sources.base import FetchState

Get = Callable[[str, str], Awaitable[None]]


async def cpu_per_request(urls: dict[str, str], get: Get, rounds: int) -> float:
    """Milliseconds of client CPU per revalidation (the median round)."""
    slots = asyncio.Semaphore(8)

    async def one(url: str) -> None:
        async with slots:
            await get(url, urls[url])

    await asyncio.gather(*(one(u) for u in urls))  # warm: connections open, code loaded
    times = []
    for _ in range(rounds):
        started = time.process_time()
        await asyncio.gather(*(one(u) for u in urls))
        times.append((time.process_time() - started) / len(urls) * 1000)
    return statistics.median(times)


async def main(args: argparse.Namespace) -> None:
    pages = site(args.listings, args.items)
    ours, theirs = multiprocessing.Pipe()
    child = multiprocessing.get_context("spawn").Process(
        target=server_process, args=(pages, args.listings, theirs), daemon=True
    )
    child.start()
    port = await asyncio.get_running_loop().run_in_executor(None, ours.recv)
    tags = BenchServer(pages).tags
    urls = {
        f"http://{host_of(int(p.split('/')[2]))}:{port}{p}": tags[p] for p in pages if "/news/" in p
    }
    figures: dict[str, float] = {}
    try:
        clients: dict[str, httpx.AsyncClient] = {}

        async def with_httpx(url: str, tag: str) -> None:
            host = url.split("/")[2]
            client = clients.get(host) or clients.setdefault(host, httpx.AsyncClient())
            response = await client.get(url, headers={"If-None-Match": tag})
            assert response.status_code == 304

        figures["httpx alone (a client per site)"] = await cpu_per_request(
            urls, with_httpx, args.rounds
        )
        for client in clients.values():
            await client.aclose()
        connector = aiohttp.TCPConnector(limit_per_host=2)
        async with aiohttp.ClientSession(connector=connector) as session:

            async def with_aiohttp(url: str, tag: str) -> None:
                async with session.get(url, headers={"If-None-Match": tag}) as response:
                    await response.read()
                    assert response.status == 304

            figures["aiohttp alone (one session)"] = await cpu_per_request(
                urls, with_aiohttp, args.rounds
            )
        async with Fetcher(FetchSettings(contact="bench@feedline.invalid", concurrency=8)) as f:

            async def with_fetcher(url: str, tag: str) -> None:
                result = await f.get(url, FetchState(etag=tag), accept="text/html")
                assert result.unchanged

            figures["feedline Fetcher"] = await cpu_per_request(urls, with_fetcher, args.rounds)
    finally:
        ours.send("stop")
        child.join(timeout=10)
    print(f"{len(urls)} revalidations (304) per round, 8 in flight, median of {args.rounds}")
    print(f"{'':36}{'client CPU ms/request':>22}{'vs httpx':>10}")
    base = figures["httpx alone (a client per site)"]
    for name, value in figures.items():
        print(f"{name:36}{value:22.3f}{value / base:10.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listings", type=int, default=50)
    parser.add_argument("--items", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    asyncio.run(main(parser.parse_args()))
