"""Benchmark mail delivery to a local aiosmtpd sink.

    .venv/bin/python bench/mail_bench.py [--count 10000] [--connections 4] [--naive-count N]

The sink (aiosmtpd, counting and discarding) runs in its own process, and every scenario runs in
a fresh process of its own, so each row's peak RSS (ru_maxrss) belongs to that scenario alone.
Messages are real reminders (multipart/mixed with text, HTML and an .ics; ~3 KB on the wire),
one recipient each. "Pre-built" = a pool of POOL distinct messages built before the clock
starts and cycled through (10,000 EmailMessage objects would take ~1.2 GB: the stdlib keeps a
parse tree per header).

Scenarios (add one by writing an `async def` taking `Run` and registering it in SCENARIOS):
  (a) limit            aiosmtplib.sendmail() of pre-serialised bytes over `connections`
                       reused connections: no feedline code and no MIME flattening.
  (a') limit-messages  aiosmtplib.send_message() of the same pre-built EmailMessage objects
                       over reused connections (the issue's wording of the limit).
  (b) naive            aiosmtplib.send() of the same bytes: a new connection (connect, EHLO,
                       MAIL, RCPT, DATA, QUIT) per message, `connections` at a time.
  (c) transport        feedline's SmtpTransport.send(EmailMessage), pre-built: includes the
                       stdlib flattening of each message (the transport takes EmailMessage).
  (c') transport+build SmtpTransport, each message built (Jinja2, icalendar, headers) in the
                       timed loop: the full `build_message` path (alerts, fallbacks).
  (c'') transport+template  SmtpTransport.send_bytes, each message filled from a
                       MessageTemplate (one per 500 recipients, as one deadline has many) in
                       the timed loop: what dispatch pays per reminder.
  (d) ledger           the real thing: `count` due reminders in a SQLite ledger (one deadline,
                       `count` subscribers), one ReminderDispatcher.run_pass(): plan,
                       claim in batches, compose (one template per deadline, filled per row),
                       send over SmtpTransport with `connections` reused connections, mark
                       each sent.
The rate limit of SmtpTransport is set far above what the sink can take, so it never waits.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import os
import platform
import resource
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import aiosmtplib  # noqa: E402

from config.schema import SmtpMailSettings  # noqa: E402
from feeds.clock import FixedClock  # noqa: E402
from feeds.render.calendar import CalendarEvent  # noqa: E402
from feeds.store.deadlines import deadline_uid  # noqa: E402
from scheduler.mail.message import (  # noqa: E402
    MessageKind,
    ReminderMessage,
    build_message,
    message_id_for,
)
from scheduler.mail.smtp_transport import SmtpTransport  # noqa: E402

HOST = "127.0.0.1"
DOMAIN = "bench.example.org"
CLOCK = FixedClock(datetime(2023, 2, 10, 9, 0, tzinfo=UTC))
POOL = 500


@dataclass(frozen=True)
class Run:
    """What a scenario gets: the sink's port, how many messages, how many connections."""

    port: int
    count: int
    connections: int
    tls_dir: Path | None = None  # STARTTLS with the test CA in this folder

    @property
    def ca_file(self) -> Path | None:
        return self.tls_dir / "ca.pem" if self.tls_dir else None

    def client_tls(self) -> dict[str, Any]:
        """aiosmtplib keyword arguments: STARTTLS trusting the test CA, or plain."""
        if self.ca_file is None:
            return {"start_tls": False}
        return {"start_tls": True, "tls_context": ssl.create_default_context(cafile=self.ca_file)}


# Message fixtures ------------------------------------------------------------------------


def make_reminder(number: int) -> ReminderMessage:
    closes_at = datetime(2023, 2, 17, 22, 59, tzinfo=UTC) + timedelta(hours=number % 97)
    item = f"https://newsroom.example/items/{number % 500}"
    label = f"call for evidence on topic {number % 500}"
    event = CalendarEvent(
        uid=deadline_uid(item, label, DOMAIN),
        sequence=0,
        summary=f"Closes: {label}",
        url=item,
        description=f"Commission opens a {label}\n{item}",
        closes_at=closes_at,
        stamp=datetime(2023, 2, 1, tzinfo=UTC),
    )
    recipient = f"subscriber{number}@example.org"
    return ReminderMessage(
        kind=MessageKind.REMINDER,
        recipient=recipient,
        sender=f"Consultation reminders <noreply@{DOMAIN}>",
        message_id=message_id_for(f"{number % 500}/{recipient}/7d", DOMAIN),
        list_id=DOMAIN,
        unsubscribe_url=f"https://{DOMAIN}/unsubscribe?t=token{number}",
        unsubscribe_mailto=f"mailto:unsubscribe@{DOMAIN}?subject=token{number}",
        label=label,
        closes_at=closes_at,
        timezone="Europe/Brussels",
        item_title=f"Commission opens a {label}",
        item_link=item,
        source_title="Home Affairs newsroom",
        offset_text="7 days",
        event=event,
    )


def build_pool(count: int) -> list[EmailMessage]:
    """`count` messages cycled from POOL distinct ones (the same objects repeat)."""
    pool = [build_message(make_reminder(n), clock=CLOCK) for n in range(min(POOL, count))]
    return [pool[n % len(pool)] for n in range(count)]


def serialise_pool(count: int) -> list[tuple[str, str, bytes]]:
    """(sender, recipient, wire bytes) for `count` messages, cycled from POOL."""
    pool = [
        (
            f"noreply@{DOMAIN}",
            make_reminder(n).recipient,
            build_message(make_reminder(n), clock=CLOCK).as_bytes(),
        )
        for n in range(min(POOL, count))
    ]
    return [pool[n % len(pool)] for n in range(count)]


def transport_settings(run: Run) -> SmtpMailSettings:
    return SmtpMailSettings(
        host=HOST,
        port=run.port,
        security="starttls" if run.tls_dir else "none",
        ca_file=run.ca_file,
        password_env=None,
        max_connections=run.connections,
        max_per_second=1_000_000,
        timeout=30,
    )


# Scenarios (each returns how many messages the sink accepted) ------------------------------


async def run_limit(run: Run) -> int:
    """(a) aiosmtplib only: pre-serialised messages over `connections` reused connections."""
    queue: asyncio.Queue[tuple[str, str, bytes]] = asyncio.Queue()
    for envelope in serialise_pool(run.count):
        queue.put_nowait(envelope)

    async def worker() -> int:
        sent = 0
        client = aiosmtplib.SMTP(hostname=HOST, port=run.port, **run.client_tls())
        async with client:
            while not queue.empty():
                sender, recipient, data = queue.get_nowait()
                await client.sendmail(sender, [recipient], data)
                sent += 1
        return sent

    return await _timed(lambda: _sum(worker() for _ in range(run.connections)))


async def run_limit_messages(run: Run) -> int:
    """(a') aiosmtplib only: send_message() of pre-built EmailMessages, reused connections.

    The issue's wording of the limit ("aiosmtplib sending the same pre-built messages"):
    aiosmtplib flattens each message itself, as any sender of EmailMessage objects must.
    """
    queue: asyncio.Queue[EmailMessage] = asyncio.Queue()
    for message in build_pool(run.count):
        queue.put_nowait(message)

    async def worker() -> int:
        sent = 0
        client = aiosmtplib.SMTP(hostname=HOST, port=run.port, **run.client_tls())
        async with client:
            while not queue.empty():
                await client.send_message(queue.get_nowait())
                sent += 1
        return sent

    return await _timed(lambda: _sum(worker() for _ in range(run.connections)))


async def run_naive(run: Run) -> int:
    """(b) a new connection per message (connect, EHLO, MAIL, RCPT, DATA, QUIT)."""
    envelopes = serialise_pool(run.count)
    slots = asyncio.Semaphore(run.connections)

    async def one(sender: str, recipient: str, data: bytes) -> int:
        async with slots:
            await aiosmtplib.send(
                data,
                sender=sender,
                recipients=[recipient],
                hostname=HOST,
                port=run.port,
                **run.client_tls(),
            )
        return 1

    return await _timed(lambda: _sum(one(*envelope) for envelope in envelopes))


async def run_transport(run: Run) -> int:
    """(c) SmtpTransport with pre-built messages (flattened by each send)."""
    messages = build_pool(run.count)
    transport = SmtpTransport(transport_settings(run))

    async def one(message: EmailMessage) -> int:
        await transport.send(message)
        return 1

    try:
        return await _timed(lambda: _sum(one(message) for message in messages))
    finally:
        await transport.close()


async def run_transport_build(run: Run) -> int:
    """(c') SmtpTransport, building each message (templates, .ics) inside the timed loop."""
    transport = SmtpTransport(transport_settings(run))
    build_message(make_reminder(0), clock=CLOCK)  # warm the template cache

    numbers = iter(range(run.count))

    async def worker() -> int:  # like dispatch: build one, send it, take the next
        sent = 0
        for number in numbers:
            await transport.send(build_message(make_reminder(number), clock=CLOCK))
            sent += 1
        return sent

    try:
        return await _timed(lambda: _sum(worker() for _ in range(run.connections)))
    finally:
        await transport.close()


async def run_transport_template(run: Run) -> int:
    """(c'') SmtpTransport.send_bytes, each message filled from a cached MessageTemplate."""
    from scheduler.mail.template import TemplateCache

    transport = SmtpTransport(transport_settings(run))
    cache = TemplateCache()
    numbers = iter(range(run.count))

    async def worker() -> int:
        sent = 0
        for number in numbers:
            key = number % 5  # five deadlines' templates, as in a pass over a few deadlines
            template = cache.get(key, functools.partial(make_reminder, key))
            raw = template.render(
                f"subscriber{number}@example.org",
                message_id_for(f"{number}", DOMAIN),
                f"https://{DOMAIN}/unsubscribe?t=token{number}",
                clock=CLOCK,
            )
            await transport.send_bytes(raw)
            sent += 1
        return sent

    try:
        return await _timed(lambda: _sum(worker() for _ in range(run.connections)))
    finally:
        await transport.close()


async def run_ledger_pass(run: Run) -> int:
    """(d) one dispatcher pass over `count` due reminders stored in a real SQLite ledger."""
    with tempfile.TemporaryDirectory(prefix="mail-bench-ledger-") as folder:
        return await _ledger_pass(run, Path(folder))


async def _ledger_pass(run: Run, folder: Path) -> int:
    """`run_ledger_pass` in `folder`, which the caller removes afterwards."""
    from sqlalchemy import insert

    from config.schema import Settings
    from feeds.model import Deadline, Entry
    from feeds.store.deadlines import save_deadlines
    from feeds.store.items import upsert_entries
    from feeds.store.tables import subscribers
    from scheduler.database import create_db_engine, upgrade
    from scheduler.ledger.dispatch import ReminderDispatcher

    settings = Settings.model_validate(
        {
            "site": {"base_url": "https://feeds.example.org/", "data_dir": str(folder)},
            "sources": [
                {
                    "id": "home-affairs",
                    "kind": "text",
                    "path": "p.txt",
                    "title": "Migration and Home Affairs: news",
                    "link": "https://home-affairs.example.org/news",
                }
            ],
            "mail": {"from": "Consultation reminders <reminders@example.org>"},
            "reminders": {"offsets": ["7d"]},
        }
    )
    engine = create_db_engine(f"sqlite:///{folder / 'feedline.db'}")
    upgrade(engine)
    closes = datetime(2023, 2, 17, 22, 59, 59, tzinfo=UTC)
    created = datetime(2023, 1, 1, tzinfo=UTC)
    deadline = Deadline(
        closes_at=closes,
        local_date=closes.date(),
        local_time=None,
        timezone="Europe/Brussels",
        label="call for evidence on corruption",
        evidence="This call is open until 17 February.",
    )
    with engine.begin() as conn:
        stored = upsert_entries(
            conn,
            settings.sources[0],
            [Entry("Public consultations open on security and corruption", "Open until ...")],
            created,
        )
        save_deadlines(
            conn,
            stored.stored[0].item_id,
            "home-affairs",
            [(deadline, "extracted")],
            created,
            "home-affairs.example.org",
        )
        for start in range(0, run.count, 1000):  # in chunks: setup stays out of peak RSS
            conn.execute(
                insert(subscribers),
                [
                    {
                        "email": f"subscriber{n}@example.org",
                        "status": "active",
                        "sources": "",
                        "offsets": "",
                        "created_at": created,
                        "updated_at": created,
                    }
                    for n in range(start, min(start + 1000, run.count))
                ],
            )
    transport = SmtpTransport(transport_settings(run))
    clock = FixedClock(closes - timedelta(days=6))
    dispatcher = ReminderDispatcher(settings, engine, transport, clock, b"k" * 32, owner="bench")
    try:

        async def one_pass() -> int:
            summary = await dispatcher.run_pass()
            return summary.sent

        return await _timed(one_pass)
    finally:
        await transport.close()
        engine.dispose()


SCENARIOS: dict[str, tuple[str, Callable[[Run], Coroutine[Any, Any, int]]]] = {
    "limit": ("(a) aiosmtplib, reused connections", run_limit),
    "limit-messages": ("(a') aiosmtplib, pre-built messages", run_limit_messages),
    "naive": ("(b) new connection per message", run_naive),
    "transport": ("(c) SmtpTransport, pre-built", run_transport),
    "transport+build": ("(c') SmtpTransport, build+send", run_transport_build),
    "transport+template": ("(c'') SmtpTransport, template+send", run_transport_template),
    "ledger": ("(d) full ledger pass", run_ledger_pass),
}

_elapsed: list[float] = []


async def _timed(start: Callable[[], Awaitable[int]]) -> int:
    began = time.perf_counter()
    sent = await start()
    _elapsed.append(time.perf_counter() - began)
    return sent


async def _sum(jobs: Any) -> int:
    return sum(await asyncio.gather(*jobs))


# Processes -------------------------------------------------------------------------------


def write_certificates(folder: Path) -> None:
    """A trustme CA (ca.pem) and a server certificate for 127.0.0.1 (server.pem)."""
    import trustme

    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(folder / "ca.pem"))
    ca.issue_cert(HOST).private_key_and_cert_chain_pem.write_to_path(str(folder / "server.pem"))


def serve_sink(tls_dir: Path | None) -> None:
    """Child process: an aiosmtpd server that accepts and discards; prints its port."""
    from aiosmtpd.controller import Controller

    class Discard:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            return "250 OK"

    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port = probe.getsockname()[1]
    tls: dict[str, Any] = {}
    if tls_dir is not None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(tls_dir / "server.pem")
        tls = {"tls_context": context, "require_starttls": True}
    controller = Controller(Discard(), hostname=HOST, port=port, **tls)
    controller.start()
    print(port, flush=True)
    sys.stdin.read()  # run until the parent closes our stdin
    controller.stop()


def run_scenario(name: str, run: Run) -> None:
    """Child process: run one scenario, print a JSON line."""
    sent = asyncio.run(SCENARIOS[name][1](run))
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"sent": sent, "seconds": _elapsed[-1], "peak_rss_kb": peak_kb}))


def child(*arguments: list[str]) -> dict[str, Any]:
    command = [sys.executable, __file__, *(word for group in arguments for word in group)]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    result: dict[str, Any] = json.loads(output.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=10_000, help="messages per scenario")
    parser.add_argument("--connections", type=int, default=4, help="max_connections")
    parser.add_argument("--naive-count", type=int, default=None, help="messages for (b)")
    parser.add_argument("--only", nargs="*", choices=sorted(SCENARIOS), help="scenarios to run")
    parser.add_argument("--sink", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--scenario", choices=sorted(SCENARIOS), help=argparse.SUPPRESS)
    parser.add_argument("--tls", action="store_true", help="STARTTLS (trustme test CA)")
    parser.add_argument("--tls-dir", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sink:
        serve_sink(args.tls_dir)
        return
    if args.scenario:
        run = Run(args.port, args.count, args.connections, args.tls_dir)
        run_scenario(args.scenario, run)
        return

    with tempfile.TemporaryDirectory(prefix="mail-bench-") as folder:
        tls_args: list[str] = []
        if args.tls:
            write_certificates(Path(folder))
            tls_args = ["--tls-dir", folder]
        compare(args, tls_args)


def compare(args: argparse.Namespace, tls_args: list[str]) -> None:
    sink = subprocess.Popen(
        [sys.executable, __file__, "--sink", *tls_args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    try:
        assert sink.stdout is not None
        port = int(sink.stdout.readline())
        size = len(build_message(make_reminder(0), clock=CLOCK).as_bytes())
        print(
            f"mail_bench: python {platform.python_version()}, aiosmtplib "
            f"{aiosmtplib.__version__}, {os.cpu_count()} CPUs, sink = aiosmtpd in its own "
            f"process, {args.connections} connections, {'STARTTLS' if tls_args else 'plain SMTP'}, "
            f"message {size} bytes"
        )
        print(f"{'scenario':<36} {'messages':>9} {'seconds':>8} {'msg/s':>8} {'peak RSS':>9}")
        for name in args.only or list(SCENARIOS):
            count = args.naive_count if name == "naive" and args.naive_count else args.count
            result = child(
                ["--scenario", name, "--port", str(port), "--count", str(count)],
                ["--connections", str(args.connections), *tls_args],
            )
            rate = result["sent"] / result["seconds"]
            print(
                f"{SCENARIOS[name][0]:<36} {result['sent']:>9} {result['seconds']:>8.2f} "
                f"{rate:>8.0f} {result['peak_rss_kb'] / 1024:>7.0f}MB",
                flush=True,
            )
    finally:
        assert sink.stdin is not None
        sink.stdin.close()
        sink.wait(timeout=10)


if __name__ == "__main__":
    main()
