"""Benchmark the built-in server against nginx (gzip_static) and aiohttp's own web.static.

    .venv/bin/python bench/serve_bench.py [--seconds 3] [--rounds 3] [--connections 16]

Set-up: wrk and nginx are installed with apt-get when missing (as root). A realistic 100-item
RSS feed (~180 KB) is published into a temp folder the way feedline publishes it (atomic write
plus a gzip sidecar, `all.rss.gz`). Each server serves that folder on loopback in its own
process(es), all started at once; wrk loads them from another process. Servers:

- feedline: the product itself, `feedline serve` with a settings file for the folder (uvloop,
  the raw fast path of feeds/serve/wire.py, /healthz, /metrics and request counting on), with
  `[server] processes = 1` and `processes = 2` (its own SO_REUSEPORT children);
- feedline, aiohttp path: the same without the raw fast path (every request parsed and
  answered by aiohttp, with the file shortcut before its router), as before issue 15's
  second step;
- nginx: `gzip_static on` as in docs/deploy.md, one worker and two workers: like with like
  is feedline's 1 (2) processes against nginx's 1 (2) workers; and one worker with
  `open_file_cache` (descriptors and stats kept, checked once a second), nginx's own answer
  to a file cache;
- aiohttp web.static: aiohttp's FileResponse (its own ETag, conditional GET and sidecars);
- aiohttp floor: aiohttp's low-level server answering a constant 304 (304 case only): what
  aiohttp itself costs per request, before any handler work.

Cases: a feed reader's poll (Accept-Encoding: gzip + If-None-Match with the ETag the server
gave: 304), a gzip GET, an identity GET. The machine is shared and busy, so each round runs
every server on a case one after the other (feedline next to the nginx it is compared with),
and the figures are medians over the rounds; a ratio is the median of the per-round ratios.
Besides req/s, the CPU the server's processes used per request (user + system, from /proc)
is printed. Target: feedline / nginx >= 0.5x req/s for 304s and gzip GETs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.metadata
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
def running(cmds: list[list[str]], port: int, processes: int) -> Iterator[list[int]]:
    procs = [
        subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for cmd in cmds
    ]
    try:
        wait_for_port(port)
        deadline = time.monotonic() + 60  # every process of a SO_REUSEPORT group listening
        while listeners(port) < processes and time.monotonic() < deadline:
            time.sleep(0.1)
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
    {cache}
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


#: nginx keeping open descriptors and stat results (checked once a second) instead of an
#: open, fstat and close per request: closer to feedline's in-memory cache.
OPEN_FILE_CACHE = "open_file_cache max=1000 inactive=60s; open_file_cache_valid 1s;"


def nginx_cmd(
    folder: Path, port: int, prefix: Path, workers: int, *, cache: bool = False
) -> list[str]:
    prefix.mkdir(exist_ok=True)
    user = "user root;" if os.geteuid() == 0 else ""  # else workers run as nobody
    conf = prefix / "nginx.conf"
    conf.write_text(
        NGINX_CONF.format(
            workers=workers,
            user=user,
            prefix=prefix,
            port=port,
            root=folder,
            cache=OPEN_FILE_CACHE if cache else "",
        )
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


@dataclass
class Server:
    name: str
    url: str
    pids: list[int]
    cases: dict[str, dict[str, str]]  # case -> request headers


def measure(server: Server, case: str, args: argparse.Namespace, *, warm: bool) -> Result:
    """One wrk run of `case` against `server` (after a warm-up run when `warm`)."""
    headers = server.cases[case]
    status, size = probe(server.url, headers)
    if warm:
        wrk(server.url, headers, args.warmup, args.connections, args.threads)
    before = tree_cpu(server.pids)
    rps, p99, errors, total = wrk(server.url, headers, args.seconds, args.connections, args.threads)
    cpu_us = (tree_cpu(server.pids) - before) / max(total, 1) * 1e6
    print(
        f"  {server.name:<30} {case:<18} {rps:>9,.0f} req/s {cpu_us:6.1f} us/req", file=sys.stderr
    )
    return Result(server.name, case, status, size, rps, p99, cpu_us, errors)


def versions() -> str:
    import aiohttp

    parts = [f"Python {platform.python_version()}", f"aiohttp {aiohttp.__version__}"]
    with contextlib.suppress(importlib.metadata.PackageNotFoundError):
        parts.append(f"uvloop {importlib.metadata.version('uvloop')}")
    out = subprocess.run(["nginx", "-v"], capture_output=True, text=True).stderr.strip()
    parts.append(out.replace("nginx version: ", ""))
    out = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout
    parts.append(out.split(" [")[0].strip())
    return ", ".join(parts) + f"; {os.cpu_count()} CPUs"


def median_results(runs: list[Result]) -> Result:
    """One row for the runs of a server and case: medians, errors added up."""
    first = runs[0]
    return Result(
        first.server,
        first.case,
        first.status,
        first.wire_bytes,
        statistics.median(r.rps for r in runs),
        statistics.median(r.p99_ms for r in runs),
        statistics.median(r.cpu_us for r in runs),
        sum(r.errors for r in runs),
    )


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


ONE, TWO = "feedline, 1 process", "feedline, 2 processes"
NGINX_ONE, NGINX_TWO = "nginx, 1 worker", "nginx, 2 workers"
NGINX_CACHED = "nginx, 1 worker, open_file_cache"
AIOHTTP_PATH = "feedline, aiohttp path"
PAIRS = (
    (ONE, NGINX_ONE),
    (TWO, NGINX_TWO),
    (ONE, NGINX_CACHED),
    (ONE, AIOHTTP_PATH),
    (ONE, "aiohttp web.static"),
    ("aiohttp floor: a constant 304", NGINX_ONE),
)


def ratios(rounds: list[list[Result]], target: float) -> list[str]:
    """ours / baseline per pair and case: the median of the per-round ratios (each round runs
    the two one after the other), the rounds' ratios, and the CPU-efficiency ratio."""
    lines = []
    cases = list(dict.fromkeys(r.case for r in rounds[0]))
    for ours, base in PAIRS:
        for case in cases:
            rps: list[float] = []
            cpu: list[float] = []
            for results in rounds:
                by = {(r.server, r.case): r for r in results}
                a, b = by.get((ours, case)), by.get((base, case))
                if a and b and b.rps and a.cpu_us:
                    rps.append(a.rps / b.rps)
                    cpu.append(b.cpu_us / a.cpu_us)
            if not rps:
                continue
            each = ", ".join(f"{x:.2f}" for x in rps)
            line = (
                f"{ours} / {base}, {case}: {statistics.median(rps):.2f}x req/s (rounds {each}),"
                f" {statistics.median(cpu):.2f}x CPU efficiency"
            )
            if (
                base.startswith("nginx")
                and not ours.startswith("aiohttp")
                and case != "GET identity"
            ):
                met = statistics.median(rps) >= target
                line += " (ok)" if met else f" (BELOW the {target:g}x target)"
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
        runner: web.BaseRunner
        if kind == "aiohttp-floor":  # aiohttp's own cost: its low-level server, no handler work
            runner = web.ServerRunner(web.Server(constant_304), handle_signals=False)
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", port).start()
        elif kind == "aiohttp-static":
            app = web.Application()
            app.router.add_static("/", folder)
            runner = web.AppRunner(app, access_log=None, handle_signals=False)
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", port).start()
        else:  # feedline's server with every request through aiohttp (no raw fast path)
            app = build_app(folder, extra_routes=routes)
            server = FeedServer(app, wire=False)
            await server.start("127.0.0.1", port)
        await asyncio.Event().wait()

    with contextlib.suppress(KeyboardInterrupt):
        run_serving(main())


SERVERS = (  # name, processes; each round runs them in this order, case by case
    (ONE, 1),
    (NGINX_ONE, 1),
    (TWO, 2),
    (NGINX_TWO, 2),
    (NGINX_CACHED, 1),
    (AIOHTTP_PATH, 1),
    ("aiohttp web.static", 1),
    ("aiohttp floor: a constant 304", 1),
)


FEEDLINE_CONFIG = """
[site]
title = "serve bench"
base_url = "http://127.0.0.1:{port}/"
output_dir = "{folder}"
data_dir = "{data}"

[mail]
from = "Bench <bench@example.org>"

[server]
port = {port}
processes = {count}
"""


def feedline_cmd(folder: Path, port: int, tmp: Path, count: int) -> list[str]:
    """`feedline serve` as an operator runs it, `[server] processes = count`."""
    data = tmp / f"feedline-{count}"
    data.mkdir(exist_ok=True)
    config = data / "feedline.toml"
    config.write_text(FEEDLINE_CONFIG.format(port=port, folder=folder, data=data, count=count))
    return [sys.executable, "-m", "scheduler", "--config", str(config), "serve"]


def commands(name: str, count: int, folder: Path, port: int, tmp: Path) -> list[list[str]]:
    if name.startswith("nginx"):
        cache = name == NGINX_CACHED
        prefix = tmp / f"nginx-{count}{'-cached' if cache else ''}"
        return [nginx_cmd(folder, port, prefix, count, cache=cache)]
    if name in (ONE, TWO):
        return [feedline_cmd(folder, port, tmp, count)]
    kind = {
        AIOHTTP_PATH: "feedline-aiohttp",
        "aiohttp web.static": "aiohttp-static",
        "aiohttp floor: a constant 304": "aiohttp-floor",
    }[name]
    return [child_cmd(kind, folder, port)]


def listeners(port: int) -> int:
    """Sockets listening on 127.0.0.1:`port` (one per process of a SO_REUSEPORT group)."""
    local = f"0100007F:{port:04X}"
    rows = [line.split() for line in Path("/proc/net/tcp").read_text().splitlines()[1:]]
    return sum(1 for row in rows if row[1] == local and row[3] == "0A")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="per run (default 3)")
    parser.add_argument("--rounds", type=int, default=3, help="runs per server and case")
    parser.add_argument("--warmup", type=float, default=1.0, help="before the first round")
    parser.add_argument("--connections", type=int, default=16, help="keep-alive connections")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (default 1)")
    parser.add_argument("--target", type=float, default=0.5, help="required ratio vs nginx")
    parser.add_argument(
        "--only",
        action="append",
        help="run only the servers whose name contains this (repeatable), e.g. --only '1 '",
    )
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]), args.port)
        return 0
    ensure_tools()
    rounds: list[list[Result]] = []
    with tempfile.TemporaryDirectory(prefix="feedline-bench-") as tmp:
        folder = Path(tmp) / "public"
        folder.mkdir()
        size = make_feed(folder)
        print(
            f"feed: {FEED}, 100 items, {size:,} bytes (+ {FEED}.gz); wrk -t{args.threads}"
            f" -c{args.connections}, {args.rounds} rounds of {args.seconds:g} s per server"
            f" and case",
            file=sys.stderr,
        )
        with contextlib.ExitStack() as stack:
            servers = []
            for name, count in SERVERS:
                if args.only and not any(word in name for word in args.only):
                    continue
                port = free_port()
                pids = stack.enter_context(
                    running(commands(name, count, folder, port, Path(tmp)), port, count)
                )
                url = f"http://127.0.0.1:{port}/{FEED}"
                cases = request_headers(url)
                if "floor" in name:
                    cases = {case: cases[case] for case in ("304 If-None-Match",)}
                servers.append(Server(name, url, pids, cases))
            for n in range(args.rounds):
                print(f"round {n + 1} of {args.rounds}", file=sys.stderr)
                results = []
                for case in request_headers(servers[0].url):
                    for server in servers:
                        if case in server.cases:
                            results.append(measure(server, case, args, warm=n == 0))
                rounds.append(results)
    rows = [median_results([results[i] for results in rounds]) for i in range(len(rounds[0]))]
    rows.sort(key=lambda r: [name for name, _ in SERVERS].index(r.server))
    print()
    print(
        f"Feed {size:,} bytes; {versions()}; wrk -t{args.threads} -c{args.connections};"
        f" medians of {args.rounds} rounds of {args.seconds:g} s per server and case"
        f" (load average before: {os.getloadavg()[0]:.1f})."
    )
    print()
    print(table(rows))
    print()
    for line in ratios(rounds, args.target):
        print(line)
    print(
        "- CPU efficiency = the baseline's server CPU per request / ours (1.0x: as cheap)."
        "\n- The client runs on the same 2 CPUs as the servers."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
