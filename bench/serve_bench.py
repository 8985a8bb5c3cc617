"""Benchmark the built-in server against nginx (gzip_static) and aiohttp's own web.static.

    .venv/bin/python bench/serve_bench.py [--seconds 5] [--connections 16] [--threads 1]

Set-up: wrk and nginx are installed with apt-get when missing (as root). A realistic 100-item
RSS feed (~180 KB) is published into a temp folder the way feedline publishes it (atomic write
plus a gzip sidecar, `all.rss.gz`). Each server serves that folder on loopback in its own
process(es); wrk loads it from another. Servers:

- feedline: the built-in server as `feedline serve` runs it (uvloop, request counting on, a
  route beside the files), one process; and two processes on one port (SO_REUSEPORT); and,
  to show what the file shortcut and uvloop give, every request through aiohttp's router on
  the standard asyncio loop, as before them;
- aiohttp floor: aiohttp's low-level server answering a constant 304 (304 case only): what
  aiohttp itself costs per request, before any handler work;
- aiohttp web.static: aiohttp's FileResponse (its own ETag, conditional GET and sidecars);
- nginx: `gzip_static on` as in docs/deploy.md, one worker and two workers (stopped after).

Cases: a feed reader's poll (Accept-Encoding: gzip + If-None-Match with the ETag the server
gave: 304), a gzip GET, an identity GET. Besides req/s, the CPU the server's processes used
per request (user + system, from /proc) is printed: it is steadier than req/s on a shared
machine. Ratios are feedline / nginx with the same number of processes; target >= 0.5x.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

FEED = "all.rss"
VOCABULARY = (
    "commission consultation evidence deadline feedback regulation directive member states "
    "migration asylum border security citizens stakeholders proposal impact assessment public "
    "call initiative brussels council parliament review framework digital data protection law "
    "agency report strategy funding programme cooperation implementation transparency rights"
)
WORDS = VOCABULARY.split()
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Result:
    server: str
    case: str
    status: int
    wire_bytes: int
    rps: float
    p99_ms: float
    cpu_us: float  # server CPU per request
    errors: int


def ensure_tools() -> None:
    missing = [tool for tool in ("wrk", "nginx") if shutil.which(tool) is None]
    if not missing:
        return
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        sys.exit(f"serve_bench: {', '.join(missing)} missing; install them (apt-get install)")
    print(f"installing {' '.join(missing)} with apt-get ...", file=sys.stderr)
    quiet = {"stdout": subprocess.DEVNULL, "check": True}
    subprocess.run(["apt-get", "update"], **quiet)  # type: ignore[call-overload]
    subprocess.run(["apt-get", "install", "-y", "wrk", "nginx"], **quiet)  # type: ignore[call-overload]


def make_feed(folder: Path, items: int = 100) -> int:
    """A feedgen RSS feed like feedline's, published with its sidecar as feedline does."""
    from feedgen.feed import FeedGenerator

    from feeds.publish import write_with_sidecar

    rng = random.Random(20230208)
    feed = FeedGenerator()
    feed.id("https://feeds.example.org/all.rss")
    feed.title("Home affairs: news and consultations")
    feed.link(href="https://feeds.example.org/all.rss", rel="self")
    feed.link(href="https://home-affairs.example.org/news")
    feed.description("Every item from the newsroom, with consultation deadlines")
    start = datetime(2023, 2, 8, 9, 0, tzinfo=UTC)
    for n in range(items):
        entry = feed.add_entry(order="append")
        url = f"https://home-affairs.example.org/news/item-{n:04d}"
        entry.id(url)
        entry.link(href=url)
        entry.title(" ".join(rng.choices(WORDS, k=9)).capitalize())
        paragraphs = [" ".join(rng.choices(WORDS, k=48)).capitalize() + "." for _ in range(3)]
        entry.description("".join(f"<p>{p}</p>" for p in paragraphs))
        entry.pubDate(start - timedelta(hours=7 * n))
    data: bytes = feed.rss_str(pretty=True)
    write_with_sidecar(folder / FEED, data)
    return len(data)


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


def tree_cpu(pids: list[int]) -> float:
    """CPU seconds (user + system) of `pids` and all their descendants, from /proc."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry)] = int(fields[1])
        times[int(entry)] = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    chosen = set(pids)
    grew = True
    while grew:
        more = {pid for pid, parent in parents.items() if parent in chosen} - chosen
        chosen |= more
        grew = bool(more)
    return sum(times.get(pid, 0.0) for pid in chosen)


@contextlib.contextmanager
def running(cmds: list[list[str]], port: int) -> Iterator[list[int]]:
    procs = [
        subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for cmd in cmds
    ]
    try:
        wait_for_port(port)
        time.sleep(0.3)  # every process of a SO_REUSEPORT group listening
        yield [proc.pid for proc in procs]
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def child_cmd(kind: str, folder: Path, port: int) -> list[str]:
    return [sys.executable, __file__, "--child", kind, str(folder), "--port", str(port)]


NGINX_CONF = """
worker_processes {workers};
{user}
daemon off;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    types {{ application/rss+xml rss; }}
    default_type application/octet-stream;
    charset utf-8;
    charset_types application/rss+xml;
    access_log off;
    sendfile on;
    keepalive_requests 1000000;
    gzip_static on;
    gzip_vary on;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    server {{
        listen 127.0.0.1:{port} reuseport;
        root {root};
        add_header Cache-Control "public, max-age=300";
    }}
}}
"""


def nginx_cmd(folder: Path, port: int, prefix: Path, workers: int) -> list[str]:
    prefix.mkdir(exist_ok=True)
    user = "user root;" if os.geteuid() == 0 else ""  # else workers run as nobody
    conf = prefix / "nginx.conf"
    conf.write_text(
        NGINX_CONF.format(workers=workers, user=user, prefix=prefix, port=port, root=folder)
    )
    return ["nginx", "-p", str(prefix), "-c", str(conf)]


def request_headers(url: str) -> dict[str, dict[str, str]]:
    import httpx

    first = httpx.get(url, headers={"Accept-Encoding": "gzip"})
    poll = {"Accept-Encoding": "gzip", "If-None-Match": first.headers.get("etag", '"none"')}
    return {
        "304 If-None-Match": poll,
        "GET gzip": {"Accept-Encoding": "gzip"},
        "GET identity": {"Accept-Encoding": "identity"},
    }


def probe(url: str, headers: dict[str, str]) -> tuple[int, int]:
    import httpx

    with httpx.Client() as http, http.stream("GET", url, headers=headers) as response:
        raw = b"".join(response.iter_raw())
    return response.status_code, len(raw)


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def wrk(
    url: str, headers: dict[str, str], seconds: float, conns: int, threads: int
) -> tuple[float, float, int, int]:
    """(req/s, p99 ms, errors, requests) of one wrk run."""
    cmd = ["wrk", f"-t{threads}", f"-c{conns}", f"-d{max(1, round(seconds))}s", "--latency"]
    for name, value in headers.items():
        cmd += ["-H", f"{name}: {value}"]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    found = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", out, re.MULTILINE)
    p99 = float(found.group(1)) * _UNITS[found.group(2)] if found else float("nan")
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rps, p99, errors + (int(non2xx.group(1)) if non2xx else 0), total


def bench_server(
    name: str, url: str, pids: list[int], args: argparse.Namespace, only: str | None = None
) -> list[Result]:
    results = []
    for case, headers in request_headers(url).items():
        if only is not None and case != only:
            continue
        status, size = probe(url, headers)
        wrk(url, headers, args.warmup, args.connections, args.threads)
        before = tree_cpu(pids)
        rps, p99, errors, total = wrk(url, headers, args.seconds, args.connections, args.threads)
        cpu_us = (tree_cpu(pids) - before) / max(total, 1) * 1e6
        results.append(Result(name, case, status, size, rps, p99, cpu_us, errors))
        print(f"  {name:<24} {case:<18} {rps:>9,.0f} req/s {cpu_us:6.1f} us/req", file=sys.stderr)
    return results


def versions() -> str:
    import aiohttp

    parts = [f"Python {platform.python_version()}", f"aiohttp {aiohttp.__version__}"]
    with contextlib.suppress(ImportError):
        import uvloop

        parts.append(f"uvloop {uvloop.__version__}")
    out = subprocess.run(["nginx", "-v"], capture_output=True, text=True).stderr.strip()
    parts.append(out.replace("nginx version: ", ""))
    out = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout
    parts.append(out.split(" [")[0].strip())
    return ", ".join(parts) + f"; {os.cpu_count()} CPUs"


def table(results: list[Result]) -> str:
    lines = [
        "| server | case | status | bytes | req/s | p99 ms | server CPU us/req | errors |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r.server} | {r.case} | {r.status} | {r.wire_bytes:,} | {r.rps:,.0f} |"
            f" {r.p99_ms:.2f} | {r.cpu_us:.1f} | {r.errors} |"
        )
    return "\n".join(lines)


PAIRS = (
    ("feedline, 1 process", "nginx, 1 worker"),
    ("feedline, 2 processes", "nginx, 2 workers"),
    ("aiohttp web.static", "feedline, 1 process"),
    ("feedline, router + asyncio", "feedline, 1 process"),
    ("aiohttp floor: a constant 304", "nginx, 1 worker"),
)


def ratios(results: list[Result], target: float) -> list[str]:
    by = {(r.server, r.case): r for r in results}
    lines = []
    for ours, base in PAIRS:
        for case in dict.fromkeys(r.case for r in results):
            a, b = by.get((ours, case)), by.get((base, case))
            if not (a and b and b.rps):
                continue
            line = (
                f"{ours} / {base}, {case}: {a.rps / b.rps:.2f}x req/s,"
                f" {b.cpu_us / a.cpu_us:.2f}x CPU efficiency"
            )
            if base.startswith("nginx") and case != "GET identity":
                line += " (ok)" if a.rps / b.rps >= target else f" (BELOW the {target:g}x target)"
            lines.append(line)
    return lines


def child(kind: str, folder: Path, port: int) -> None:
    from aiohttp import web

    from feeds.serve import FeedServer, build_app
    from feeds.serve.instrument import instrument
    from feeds.serve.server import run_serving

    def routes(app: web.Application) -> None:  # as the daemon's: a route, requests counted
        async def healthz(request: web.Request) -> web.Response:
            return web.json_response({"status": "ok"})

        app.router.add_get("/healthz", healthz)
        instrument(app)

    async def constant_304(request: web.BaseRequest) -> web.Response:
        return web.Response(status=304, headers={"ETag": '"x"'})

    async def main() -> None:
        if kind == "aiohttp-floor":  # aiohttp's own cost: its low-level server, no handler work
            runner = web.ServerRunner(web.Server(constant_304), handle_signals=False)
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", port).start()
            await asyncio.Event().wait()
        if kind == "aiohttp-static":
            app = web.Application()
            app.router.add_static("/", folder)
        else:
            app = build_app(folder, extra_routes=routes)
        if kind == "feedline-router":  # as before the shortcut: every request routed
            runner = web.AppRunner(app, access_log=None, handle_signals=False)
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", port).start()
        else:
            await FeedServer(app, reuse_port=True).start("127.0.0.1", port)
        await asyncio.Event().wait()

    with contextlib.suppress(KeyboardInterrupt):
        if kind == "feedline-router":
            asyncio.run(main())
        else:
            run_serving(main())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="per case (default 5)")
    parser.add_argument("--warmup", type=float, default=1.0, help="per case (default 1)")
    parser.add_argument("--connections", type=int, default=16, help="keep-alive connections")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (default 1)")
    parser.add_argument("--target", type=float, default=0.5, help="required ratio vs nginx")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]), args.port)
        return 0
    ensure_tools()
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="feedline-bench-") as tmp:
        folder = Path(tmp) / "public"
        folder.mkdir()
        size = make_feed(folder)
        print(
            f"feed: {FEED}, 100 items, {size:,} bytes (+ {FEED}.gz); wrk -t{args.threads}"
            f" -c{args.connections}, {args.seconds:g} s per case (+{args.warmup:g} s warm-up)",
            file=sys.stderr,
        )
        servers = [
            ("feedline, 1 process", 1),
            ("feedline, router + asyncio", 1),
            ("nginx, 1 worker", 1),
            ("aiohttp web.static", 1),
            ("aiohttp floor: a constant 304", 1),
            ("feedline, 2 processes", 2),
            ("nginx, 2 workers", 2),
        ]
        for name, count in servers:
            port = free_port()
            if name.startswith("nginx"):
                cmds = [nginx_cmd(folder, port, Path(tmp) / f"nginx-{count}", count)]
            elif name.startswith("aiohttp floor"):
                cmds = [child_cmd("aiohttp-floor", folder, port)]
            elif name.startswith("aiohttp"):
                cmds = [child_cmd("aiohttp-static", folder, port)]
            elif "router" in name:
                cmds = [child_cmd("feedline-router", folder, port)]
            else:
                cmds = [child_cmd("feedline", folder, port) for _ in range(count)]
            with running(cmds, port) as pids:
                url = f"http://127.0.0.1:{port}/{FEED}"
                only = "304 If-None-Match" if "floor" in name else None
                results += bench_server(name, url, pids, args, only)
    print()
    print(
        f"Feed {size:,} bytes; {versions()}; wrk -t{args.threads} -c{args.connections},"
        f" {args.seconds:g} s per case."
    )
    print()
    print(table(results))
    print()
    for line in ratios(results, args.target):
        print(line)
    print(
        "- CPU efficiency = the baseline's server CPU per request / ours (1.0x: as cheap)."
        "\n- The client runs on the same 2 CPUs as the servers."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
