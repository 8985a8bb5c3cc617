"""Benchmark the built-in server against `python -m http.server` (and nginx when installed).

    .venv/bin/python bench/serve_bench.py [--seconds 5] [--connections 16] [--client auto]

A realistic 100-item RSS feed (~150 KB) is written to a temp folder; each server runs in its own
process and serves that folder on loopback; the load generator (wrk when installed, else an
asyncio httpx client) runs in another. Cases: conditional GET (If-None-Match with the ETag the
server gave), full GET with gzip, full GET without. http.server has no ETag/304 and no gzip, so
its "conditional" and "gzip" rows are full identity responses: the table shows what came back.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gzip
import os
import platform
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

FEED = "all.rss"
VOCABULARY = (
    "commission consultation evidence deadline feedback regulation directive member states "
    "migration asylum border security citizens stakeholders proposal impact assessment public "
    "call initiative brussels council parliament review framework digital data protection law "
    "agency report strategy funding programme cooperation implementation transparency rights"
)
WORDS = VOCABULARY.split()


@dataclass
class Result:
    server: str
    case: str
    status: int
    body_bytes: int
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int


def make_feed(folder: Path, items: int = 100) -> Path:
    """A feedgen RSS feed like the ones feedline publishes, written atomically."""
    from feedgen.feed import FeedGenerator

    rng = random.Random(20230208)
    feed = FeedGenerator()
    feed.id("https://feeds.example.org/all.rss")
    feed.title("Home affairs: news and consultations")
    feed.link(href="https://feeds.example.org/all.rss", rel="self")
    feed.link(href="https://home-affairs.example.org/news")
    feed.description("Every item from the newsroom, with consultation deadlines")
    feed.language("en")
    start = datetime(2023, 2, 8, 9, 0, tzinfo=UTC)
    for n in range(items):
        entry = feed.add_entry(order="append")
        url = f"https://home-affairs.example.org/news/{2023 - n // 50}/item-{n:04d}"
        entry.id(url)
        entry.link(href=url)
        entry.title(" ".join(rng.choices(WORDS, k=9)).capitalize())
        paragraphs = [" ".join(rng.choices(WORDS, k=48)).capitalize() + "." for _ in range(3)]
        body = "".join(f"<p>{p}</p>" for p in paragraphs)
        entry.description(body + "<p>The consultation is open until 9 March 2023.</p>")
        entry.pubDate(start - timedelta(hours=7 * n))
    path = folder / FEED
    tmp = folder / f".tmp-{FEED}"
    tmp.write_bytes(feed.rss_str(pretty=True))
    os.replace(tmp, path)
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


@contextlib.contextmanager
def running(cmd: list[str], port: int) -> Iterator[str]:
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port)
        yield f"http://127.0.0.1:{port}/{FEED}"
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def feedline_cmd(folder: Path, port: int) -> list[str]:
    return [sys.executable, __file__, "--child-feedline", str(folder), "--port", str(port)]


def http_server_cmd(folder: Path, port: int) -> list[str]:
    cmd = [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"]
    return [*cmd, "--directory", str(folder)]


NGINX_CONF = """
worker_processes 1;
{user}
daemon off;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 256; }}
http {{
    types {{ application/rss+xml rss; }}
    default_type application/octet-stream;
    charset utf-8;
    charset_types application/rss+xml;
    access_log off;
    sendfile on;
    keepalive_requests 100000;
    gzip on;
    gzip_comp_level 6;
    gzip_min_length 256;
    gzip_types application/rss+xml;
    gzip_vary on;
    gzip_static {gzip_static};
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    server {{
        listen 127.0.0.1:{port};
        root {root};
        add_header Cache-Control "public, max-age=300";
    }}
}}
"""


def nginx_cmd(folder: Path, port: int, prefix: Path, *, gzip_static: bool = False) -> list[str]:
    """nginx in the foreground; with `gzip_static` it sends a pre-compressed `.gz` beside."""
    user = "user root;" if os.geteuid() == 0 else ""  # else workers run as nobody
    conf = prefix / "nginx.conf"
    static = "on" if gzip_static else "off"
    text = NGINX_CONF.format(user=user, prefix=prefix, port=port, root=folder, gzip_static=static)
    conf.write_text(text)
    return ["nginx", "-p", str(prefix), "-c", str(conf)]


def case_headers(url: str) -> dict[str, dict[str, str]]:
    """The request headers of each case; the conditional one uses the server's own ETag."""
    first = httpx.get(url, headers={"Accept-Encoding": "identity"})
    conditional = {"Accept-Encoding": "identity"}
    if "etag" in first.headers:
        conditional["If-None-Match"] = first.headers["etag"]
    return {
        "304 If-None-Match": conditional,
        "GET gzip": {"Accept-Encoding": "gzip"},
        "GET identity": {"Accept-Encoding": "identity"},
    }


def probe(url: str, headers: dict[str, str]) -> tuple[int, int]:
    """(status, bytes on the wire) of one request with these headers."""
    with httpx.Client() as http, http.stream("GET", url, headers=headers) as response:
        raw = b"".join(response.iter_raw())
    return response.status_code, len(raw)


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def run_wrk(
    url: str, headers: dict[str, str], seconds: float, conns: int
) -> tuple[float, float, float, int]:
    cmd = ["wrk", "-t1", f"-c{conns}", f"-d{max(1, round(seconds))}s", "--latency", url]
    for name, value in headers.items():
        cmd[1:1] = ["-H", f"{name}: {value}"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]

    def pct(p: str) -> float:
        found = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)\s*$", out, re.MULTILINE)
        return float(found.group(1)) * _UNITS[found.group(2)] if found else float("nan")

    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rps, pct("50"), pct("99"), errors + (int(non2xx.group(1)) if non2xx else 0)


async def _httpx_load(
    url: str, headers: dict[str, str], seconds: float, conns: int
) -> tuple[float, float, float, int]:
    limits = httpx.Limits(max_connections=conns, max_keepalive_connections=conns)
    latencies: list[float] = []
    errors = 0
    async with httpx.AsyncClient(limits=limits, timeout=5) as http:
        stop = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal errors
            while time.perf_counter() < stop:
                began = time.perf_counter()
                try:
                    response = await http.get(url, headers=headers)
                    await response.aread()
                except httpx.HTTPError:
                    errors += 1
                    continue
                latencies.append((time.perf_counter() - began) * 1000)

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(conns)))
        elapsed = time.perf_counter() - began
    if not latencies:
        return 0.0, float("nan"), float("nan"), errors
    cuts = statistics.quantiles(latencies, n=100)
    return len(latencies) / elapsed, cuts[49], cuts[98], errors


def load(
    client: str, url: str, headers: dict[str, str], seconds: float, conns: int
) -> tuple[float, float, float, int]:
    if client == "wrk":
        return run_wrk(url, headers, seconds, conns)
    return asyncio.run(_httpx_load(url, headers, seconds, conns))


def bench_server(
    name: str, url: str, client: str, seconds: float, conns: int, warmup: float
) -> list[Result]:
    results = []
    for case, headers in case_headers(url).items():
        status, size = probe(url, headers)
        if warmup:
            load(client, url, headers, warmup, conns)
        rps, p50, p99, errors = load(client, url, headers, seconds, conns)
        results.append(Result(name, case, status, size, rps, p50, p99, errors))
        print(f"  {name:<12} {case:<18} {rps:>10,.0f} req/s", file=sys.stderr, flush=True)
    return results


def versions() -> str:
    import aiohttp

    parts = [f"Python {platform.python_version()}", f"aiohttp {aiohttp.__version__}"]
    if shutil.which("nginx"):
        out = subprocess.run(["nginx", "-v"], capture_output=True, text=True).stderr.strip()
        parts.append(out.replace("nginx version: ", ""))
    if shutil.which("wrk"):
        out = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout
        parts.append(out.split(" [")[0].strip())
    return ", ".join(parts) + f"; {os.cpu_count()} CPUs"


def table(results: list[Result]) -> str:
    head = f"| {'server':<12} | {'case':<18} | status | {'bytes':>7} | {'req/s':>8} |"
    head += "  p50 ms |  p99 ms | errors |"
    lines = [head, "|" + "|".join("-" * (len(c)) for c in head.split("|")[1:-1]) + "|"]
    for r in results:
        lines.append(
            f"| {r.server:<12} | {r.case:<18} | {r.status:>6} | {r.body_bytes:>7} |"
            f" {r.rps:>8,.0f} | {r.p50_ms:>7.2f} | {r.p99_ms:>7.2f} | {r.errors:>6} |"
        )
    return "\n".join(lines)


def ratios(results: list[Result], target: float) -> list[str]:
    by = {(r.server, r.case): r for r in results}
    lines = []
    for case in dict.fromkeys(r.case for r in results):
        ours, base = by.get(("feedline", case)), by.get(("http.server", case))
        if ours and base and base.rps:
            ratio = ours.rps / base.rps
            verdict = "ok" if ratio >= target else f"BELOW the {target:g}x target"
            lines.append(f"feedline / http.server, {case}: {ratio:.1f}x ({verdict})")
    return lines


def child_feedline(folder: Path, port: int) -> None:
    from feeds.serve import serve_forever

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve_forever(folder, host="127.0.0.1", port=port))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="per case (default 5)")
    parser.add_argument("--warmup", type=float, default=1.0, help="per case (default 1)")
    parser.add_argument("--connections", type=int, default=16, help="keep-alive connections")
    parser.add_argument("--client", choices=["auto", "wrk", "httpx"], default="auto")
    parser.add_argument("--target", type=float, default=3.0, help="required ratio vs http.server")
    parser.add_argument("--child-feedline", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_feedline:
        child_feedline(args.child_feedline, args.port)
        return 0
    client = args.client
    if client == "auto":
        client = "wrk" if shutil.which("wrk") else "httpx"
    seconds, conns, warmup = args.seconds, args.connections, args.warmup
    notes = []
    with tempfile.TemporaryDirectory(prefix="feedline-bench-") as tmp:
        folder = Path(tmp) / "public"
        folder.mkdir()
        size = make_feed(folder).stat().st_size
        print(
            f"feed: {FEED}, 100 items, {size:,} bytes; client: {client}, {conns} connections,"
            f" {seconds:g} s per case (+{warmup:g} s warm-up)",
            file=sys.stderr,
        )
        results: list[Result] = []
        port = free_port()
        with running(feedline_cmd(folder, port), port) as url:
            results += bench_server("feedline", url, client, seconds, conns, warmup)
        port = free_port()
        with running(http_server_cmd(folder, port), port) as url:
            results += bench_server("http.server", url, client, seconds, conns, warmup)
        if shutil.which("nginx"):
            for name, static in (("nginx", False), ("nginx static", True)):
                prefix = Path(tmp) / name.replace(" ", "-")
                prefix.mkdir()
                if static:
                    feed = folder / FEED
                    packed = gzip.compress(feed.read_bytes(), compresslevel=6, mtime=0)
                    (folder / f"{FEED}.gz").write_bytes(packed)
                    os.utime(folder / f"{FEED}.gz", ns=(feed.stat().st_mtime_ns,) * 2)
                port = free_port()
                cmd = nginx_cmd(folder, port, prefix, gzip_static=static)
                with running(cmd, port) as url:
                    results += bench_server(name, url, client, seconds, conns, warmup)
            notes.append(
                "nginx: 1 worker, sendfile; 'nginx' compresses per request (gzip on), "
                "'nginx static' sends a pre-compressed all.rss.gz (gzip_static on)."
            )
        else:
            notes.append("nginx: not installed, skipped (apt-get install nginx to include it).")
    print()
    print(
        f"Feed {size:,} bytes; {versions()}; client {client}, {conns} connections, "
        f"{seconds:g} s per case."
    )
    print()
    print(table(results))
    print()
    for line in ratios(results, args.target):
        print(line)
    notes.append(
        "http.server: no ETag/304 and no gzip; HTTP/1.0, so one connection per request. "
        "Its '304' and 'gzip' rows are full identity responses (see status and bytes); its "
        "p99 includes reconnects (listen backlog 5, SYN retries after 1 s)."
    )
    notes.append("Each server is one process; the client is another (2-core machine).")
    for note in notes:
        print(f"- {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
