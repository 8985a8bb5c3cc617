"""SIGKILL at random moments: real `feedline remind` and `feedline build` processes, a real
SMTP sink counting Message-IDs, SQLite or PostgreSQL.

Used by tests/faults/test_crashes.py (short, in CI) and, at full size, by
bench/reliability_bench.py.
"""

from __future__ import annotations

import ctypes
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy import Engine, func, select

from feeds.store.tables import reminders
from tests.support.smtp import free_port

REPO = Path(__file__).resolve().parents[2]
MESSAGE_ID = re.compile(rb"^Message-ID:\s*(<[^>\r\n]+>)", re.IGNORECASE | re.MULTILINE)


@dataclass
class CountingSink:
    """Accepts everything; counts each Message-ID it received."""

    received: Counter[bytes] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)
    #: Exceptions the sink's event loop reported (shown if the sink stops answering).
    errors: list[str] = field(default_factory=list)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        found = MESSAGE_ID.search(bytes(envelope.original_content or b""))
        with self.lock:
            self.received[found.group(1) if found else b"?"] += 1
        return "250 OK"


def start_sink() -> tuple[CountingSink, Controller, int]:
    sink = CountingSink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.loop.set_exception_handler(
        lambda _loop, context: sink.errors.append(str(context.get("exception") or context))
    )
    controller.start()
    return sink, controller, port


def sink_problem(controller: Controller, port: int) -> str | None:
    """Why the sink cannot take a connection now (None when it can): checked during a kill
    run, so a harness fault fails the run at once with its cause instead of turning every
    later send into a retry."""
    thread = controller._thread
    if thread is None or not thread.is_alive():
        return "the sink's thread ended"
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as probe:
            probe.settimeout(10)
            greeting = probe.recv(64)
    except OSError as error:
        return f"the sink does not answer on port {port}: {error}"
    if not greeting.startswith(b"220"):
        return f"the sink greets with {greeting!r}"
    return None


_LIBC = ctypes.CDLL(None, use_errno=True)  # loaded before any fork: the child only calls it
_PR_SET_PDEATHSIG = 1


def _die_with_the_harness() -> None:
    """In the child: killed when the harness goes (a `timeout` around pytest, Ctrl-C), so no
    sender outlives it and goes on sending to a sink that is gone."""
    _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def feedline(config: Path, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "scheduler", "--config", str(config), *args],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=_die_with_the_harness,
    )


def run_feedline(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scheduler", "--config", str(config), *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )


def consultation_page(closes: datetime, items: int = 1) -> str:
    day = f"{closes.day} {closes:%B %Y}"
    lines = ["News", ""]
    for n in range(items):
        lines += [f"Consultation number {n} on river water quality", ""]
        lines += [f"The consultation number {n} is open until {day}. Anyone may respond.", ""]
    return "\n".join(lines) + "\n"


def write_config(folder: Path, *, smtp_port: int, database_url: str | None, **mail: Any) -> Path:
    site = [
        "[site]",
        'title = "Reliability"',
        'base_url = "http://127.0.0.1:8080/"',
        f'data_dir = "{folder / "data"}"',
        f'output_dir = "{folder / "public"}"',
    ]
    if database_url:
        site.append(f'database_url = "{database_url}"')
    body = [
        *site,
        "[[sources]]",
        'id = "river"',
        'kind = "text"',
        f'path = "{folder / "page.txt"}"',
        'title = "River news"',
        'link = "https://river.example.org/news"',
        'timezone = "Europe/Brussels"',
        "[mail]",
        'from = "Reminders <reminders@example.org>"',
        'transport = "smtp"',
        "[mail.smtp]",
        'host = "127.0.0.1"',
        f"port = {smtp_port}",
        'security = "none"',
        'password_env = ""',
        f"max_connections = {mail.get('max_connections', 4)}",
        f"max_per_second = {mail.get('max_per_second', 100)}",
        "[reminders]",
        'offsets = ["7d"]',
        f'lease = "{mail.get("lease", "30s")}"',
        'retry_base = "1s"',
    ]
    path = folder / "feedline.toml"
    path.write_text("\n".join(body) + "\n", encoding="utf-8")
    return path


@dataclass(frozen=True)
class CrashOutcome:
    reminders: int
    kills: int
    senders: int
    lost: int
    duplicated: int
    other: dict[str, int]
    seconds: float
    kills_mid_send: int = 0


def _open_rows(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count()).where(reminders.c.status.in_(["pending", "sending"]))
            ).scalar_one()
        )


def kill_during_reminders(
    folder: Path,
    engine: Engine,
    *,
    count: int,
    kills: int,
    senders: int,
    database_url: str | None,
    seed: int = 16,
    max_per_second: float = 100,
    pause: tuple[float, float] = (0.0, 1.0),
    timeout: float = 1800,
) -> CrashOutcome:
    """`count` due reminders; `senders` `feedline remind` processes (restarted when they
    finish while work is left); `kills` SIGKILLs of a random sender at random moments."""
    rng = random.Random(seed)
    sink, controller, port = start_sink()
    started = time.monotonic()
    running: list[subprocess.Popen[bytes]] = []
    try:
        closes = datetime.now(UTC) + timedelta(days=2)
        (folder / "page.txt").write_text(consultation_page(closes), encoding="utf-8")
        config = write_config(
            folder, smtp_port=port, database_url=database_url, max_per_second=max_per_second
        )
        built = run_feedline(config, "build")
        assert built.returncode == 0, built.stderr
        people = folder / "people.csv"
        people.write_text(
            "email\n" + "".join(f"person{n:06d}@example.org\n" for n in range(count)),
            encoding="utf-8",
        )
        imported = run_feedline(config, "subscribers", "import", str(people))
        assert imported.returncode == 0, imported.stderr
        assert _open_rows(engine) == count, "every reminder planned and due"
        running += [feedline(config, "remind") for _ in range(senders)]
        killed = mid_send = 0
        seen = 0
        armed_at: float | None = None  # messages flowed since the last kill: pick a moment
        kill_at = 0.0
        probed_at = time.monotonic()
        while time.monotonic() - started < timeout:
            if time.monotonic() - probed_at > 5:
                problem = sink_problem(controller, port)
                assert problem is None, (
                    f"{problem} after {sum(sink.received.values())} sends; "
                    f"sink loop errors: {sink.errors[-3:]}"
                )
                probed_at = time.monotonic()
            with sink.lock:
                total = sum(sink.received.values())
            flowing, seen = total > seen, total
            open_rows = _open_rows(engine)
            for index, process in enumerate(running):
                if process.poll() is not None and open_rows:
                    running[index] = feedline(config, "remind")
            if not open_rows and all(p.poll() is not None for p in running):
                break
            now = time.monotonic()
            if killed < kills and open_rows and flowing and armed_at is None:
                armed_at, kill_at = now, now + rng.uniform(*pause)  # a random moment of sending
            if armed_at is not None and now >= kill_at:
                alive = [p for p in running if p.poll() is None]
                if alive:
                    victim = rng.choice(alive)
                    victim.send_signal(signal.SIGKILL)
                    victim.wait()
                    killed += 1
                    mid_send += flowing  # messages arrived in the last 50 ms
                armed_at = None
            time.sleep(0.05)
        else:
            raise AssertionError(
                f"not finished in {timeout:.0f} s: {sum(sink.received.values())} sends, "
                f"{killed} of {kills} kills, {_open_rows(engine)} rows open"
            )
        for process in running:
            process.wait(30)
        with engine.connect() as conn:
            rows = conn.execute(
                select(reminders.c.status, reminders.c.message_id).where(
                    reminders.c.kind == "reminder"
                )
            ).all()
        with sink.lock:
            received = Counter(sink.received)
        sent_ids = {row.message_id.encode() for row in rows if row.status == "sent"}
        lost = sum(1 for row in rows if row.status != "sent") + len(sent_ids - set(received))
        duplicated = sum(n - 1 for n in received.values())
        statuses = Counter(row.status for row in rows)
        return CrashOutcome(
            reminders=count,
            kills=killed,
            senders=senders,
            lost=lost,
            duplicated=duplicated,
            other={str(k): v for k, v in statuses.items() if k != "sent"}
            | {"unknown messages": len(set(received) - sent_ids)},
            seconds=time.monotonic() - started,
            kills_mid_send=mid_send,
        )
    finally:
        # No sender outlives the run: one left running after a failure (the timeout) went on
        # with its pass against the stopped sink, and every send it tried was "connection
        # refused" and put back for a retry, which looked like a sink that stopped listening.
        for process in running:
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
                process.wait()
        controller.stop()


@dataclass(frozen=True)
class BuildCrashOutcome:
    kills: int
    rounds: int
    truncated: int  # feed files that did not parse after a kill
    unusable: int  # times the database did not open (status crashed) after a kill
    items_lost: int  # items on the page missing from the store after the final build
    items_doubled: int
    final_build_ok: bool


def _unreadable_feeds(public: Path) -> int:
    import json

    import feedparser
    from lxml import etree

    bad = 0
    for path in public.glob("*"):
        if path.name.startswith("."):
            continue  # a temp file left by the kill: never served under a feed's name
        data = path.read_bytes()
        try:
            if path.suffix in (".rss", ".atom"):
                etree.fromstring(data)
                if feedparser.parse(data).bozo:
                    bad += 1
            elif path.suffix == ".json":
                json.loads(data)
        except (ValueError, etree.XMLSyntaxError):
            bad += 1
    return bad


def kill_during_builds(
    folder: Path, engine: Engine, *, kills: int, items: int, seed: int = 16
) -> BuildCrashOutcome:
    """`feedline build` killed at random moments, with the page growing each round; after
    each kill every feed file must parse and the database must open."""
    from feeds.store.tables import items as items_table

    rng = random.Random(seed)
    closes = datetime.now(UTC) + timedelta(days=30)
    config = write_config(folder, smtp_port=free_port(), database_url=None)
    (folder / "page.txt").write_text(consultation_page(closes, items), encoding="utf-8")
    first = run_feedline(config, "build")
    assert first.returncode == 0, first.stderr
    started = time.monotonic()
    probe = run_feedline(config, "build")
    build_seconds = max(time.monotonic() - started, 0.5)
    assert probe.returncode == 0
    truncated = unusable = 0
    total = items
    for round_number in range(kills):
        total += 1  # one more item each round: every build has something to store
        (folder / "page.txt").write_text(consultation_page(closes, total), encoding="utf-8")
        process = feedline(config, "build")
        time.sleep(rng.uniform(0.05, build_seconds))
        process.send_signal(signal.SIGKILL)
        process.wait()
        truncated += _unreadable_feeds(folder / "public")
        status = run_feedline(config, "status")
        if status.returncode not in (0, 1) or "Traceback" in status.stderr:
            unusable += 1
        del round_number
    final = run_feedline(config, "build")
    with engine.connect() as conn:
        titles = list(conn.execute(select(items_table.c.title)).scalars())
    expected = {f"Consultation number {n} on river water quality" for n in range(total)}
    counted = Counter(titles)
    return BuildCrashOutcome(
        kills=kills,
        rounds=kills,
        truncated=truncated + _unreadable_feeds(folder / "public"),
        unusable=unusable,
        items_lost=len(expected - set(counted)),
        items_doubled=sum(n - 1 for n in counted.values()),
        final_build_ok=final.returncode == 0,
    )
