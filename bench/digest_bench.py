"""The weekly digest to N subscribers through the ledger, side by side with the reminder pass
of the same size, both to a local aiosmtpd sink.

    .venv/bin/python bench/digest_bench.py [--count 10000] [--connections 4] [--deadlines 5]

Each pass runs in a fresh process (its peak RSS is its own) against its own SQLite ledger:
  reminder  one deadline, N subscribers with a due 7-day reminder: one ReminderDispatcher pass
  digest    `--deadlines` open deadlines, N subscribers on the digest only: one pass (plan the
            week's digest rows, claim, compose from one template per source choice, send,
            mark sent)
  digest/4  the digest pass to N/4 subscribers: its peak RSS beside the full one shows
            whether memory grows with the number of subscribers
The sink (aiosmtpd, accept and discard) runs in its own process. Target: digest throughput
>= 80% of the reminder pass; peak RSS flat.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

HOST = "127.0.0.1"
CLOSES = datetime(2023, 2, 17, 22, 59, 59, tzinfo=UTC)
MONDAY_9 = datetime(2023, 2, 6, 8, 0, 30, tzinfo=UTC)  # just after the digest hour
CHUNK = 1000


def settings_for(folder: Path) -> Any:
    from config.schema import Settings

    return Settings.model_validate(
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
            "subscriptions": {"digest_day": "monday", "digest_hour": 9},
        }
    )


def prepare(folder: Path, count: int, deadlines: int, digest: bool) -> Any:
    """A migrated SQLite ledger with the deadlines and `count` active subscribers."""
    from sqlalchemy import insert

    from feeds.model import Deadline, Entry
    from feeds.store.deadlines import save_deadlines
    from feeds.store.items import upsert_entries
    from feeds.store.tables import subscribers
    from scheduler.database import create_db_engine, upgrade

    settings = settings_for(folder)
    engine = create_db_engine(f"sqlite:///{folder / 'feedline.db'}")
    upgrade(engine)
    created = datetime(2023, 1, 1, tzinfo=UTC)
    with engine.begin() as conn:
        for number in range(deadlines):
            closes = CLOSES + timedelta(days=number)
            entry = Entry(f"Public consultation number {number} opens", "Open until ...")
            stored = upsert_entries(conn, settings.sources[0], [entry], created)
            deadline = Deadline(
                closes_at=closes,
                local_date=closes.date(),
                local_time=None,
                timezone="Europe/Brussels",
                label=f"call for evidence on topic {number}",
                evidence="This call is open until 17 February.",
            )
            save_deadlines(
                conn,
                stored.stored[0].item_id,
                "home-affairs",
                [(deadline, "extracted")],
                created,
                "home-affairs.example.org",
            )
        for start in range(0, count, CHUNK):  # in chunks: setup stays out of peak RSS
            conn.execute(
                insert(subscribers),
                [
                    {
                        "email": f"subscriber{n}@example.org",
                        "status": "active",
                        "sources": "",
                        "offsets": "",
                        "digest": "only" if digest else "off",
                        "created_at": created,
                        "updated_at": created,
                    }
                    for n in range(start, min(start + CHUNK, count))
                ],
            )
    return settings, engine


async def one_pass(
    port: int, count: int, connections: int, deadlines: int, kind: str
) -> dict[str, Any]:
    from config.schema import SmtpMailSettings
    from feeds.clock import FixedClock
    from scheduler.ledger.dispatch import ReminderDispatcher
    from scheduler.mail.smtp_transport import SmtpTransport

    digest = kind.startswith("digest")
    folder = Path(tempfile.mkdtemp(prefix="digest-bench-"))
    settings, engine = prepare(folder, count, deadlines if digest else 1, digest)
    transport = SmtpTransport(
        SmtpMailSettings(
            host=HOST,
            port=port,
            security="none",
            password_env=None,
            max_connections=connections,
            max_per_second=1_000_000,
        )
    )
    clock = FixedClock(MONDAY_9 if digest else CLOSES - timedelta(days=6))
    dispatcher = ReminderDispatcher(settings, engine, transport, clock, b"k" * 32, owner="bench")
    try:
        began = time.perf_counter()
        summary = await dispatcher.run_pass()
        seconds = time.perf_counter() - began
    finally:
        await transport.close()
        engine.dispose()
    return {
        "sent": summary.sent,
        "seconds": seconds,
        "peak_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }


def serve_sink() -> None:
    from aiosmtpd.controller import Controller

    class Discard:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            return "250 OK"

    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port = probe.getsockname()[1]
    controller = Controller(Discard(), hostname=HOST, port=port)
    controller.start()
    print(port, flush=True)
    sys.stdin.read()
    controller.stop()


def child(*words: str) -> dict[str, Any]:
    output = subprocess.run(
        [sys.executable, __file__, *words], check=True, capture_output=True, text=True
    ).stdout
    result: dict[str, Any] = json.loads(output.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=10_000, help="subscribers")
    parser.add_argument("--connections", type=int, default=4, help="SMTP connections")
    parser.add_argument("--deadlines", type=int, default=5, help="open deadlines in the digest")
    parser.add_argument("--sink", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--kind", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sink:
        serve_sink()
        return
    if args.kind:
        result = asyncio.run(
            one_pass(args.port, args.count, args.connections, args.deadlines, args.kind)
        )
        print(json.dumps(result))
        return
    sink = subprocess.Popen(
        [sys.executable, __file__, "--sink"], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    try:
        assert sink.stdout is not None
        port = int(sink.stdout.readline())
        print(
            f"digest_bench: python {platform.python_version()}, {os.cpu_count()} CPUs, "
            f"SQLite ledger, sink = aiosmtpd in its own process, {args.connections} "
            f"connections, {args.deadlines} deadlines in each digest"
        )
        print(f"{'pass':<24} {'messages':>9} {'seconds':>8} {'msg/s':>8} {'peak RSS':>9}")
        rates: dict[str, float] = {}
        rss: dict[str, float] = {}
        runs = [("reminder", args.count), ("digest", args.count), ("digest/4", args.count // 4)]
        for kind, count in runs:
            result = child(
                "--kind", kind, "--port", str(port), "--count", str(count),
                "--connections", str(args.connections), "--deadlines", str(args.deadlines),
            )  # fmt: skip
            if result["sent"] != count:
                raise SystemExit(f"{kind}: sent {result['sent']} of {count}")
            rates[kind] = result["sent"] / result["seconds"]
            rss[kind] = result["peak_rss_kb"] / 1024
            print(
                f"{kind + ' pass':<24} {result['sent']:>9} {result['seconds']:>8.2f} "
                f"{rates[kind]:>8.0f} {rss[kind]:>7.0f}MB",
                flush=True,
            )
        print(
            f"digest / reminder throughput: {rates['digest'] / rates['reminder']:.2f} "
            f"(target >= 0.80); peak RSS digest {args.count} vs {args.count // 4}: "
            f"{rss['digest'] / rss['digest/4']:.2f}x"
        )
    finally:
        assert sink.stdin is not None
        sink.stdin.close()
        sink.wait(timeout=10)


if __name__ == "__main__":
    main()
