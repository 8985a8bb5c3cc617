"""Two and three `feedline run` processes on one PostgreSQL database and one loopback site:
each source is fetched once per schedule, not once per daemon, and a daemon killed with
SIGKILL mid-refresh hands the source over when its lease runs out."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import sqlalchemy as sa

from feeds.store.tables import sources
from tests.daemon.process import DaemonProcess
from tests.support.db import postgres_schema_url, postgres_url_or_skip

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

EVERY = 3.0  # seconds between scheduled refreshes
RSS = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Harbour</title><link>http://harbour.example.org/</link>
<description>News</description>
<item><title>Harbour consultation</title><link>http://harbour.example.org/1</link>
<description>Comments are welcome until 30 April 2031.</description>
<pubDate>Mon, 04 Mar 2024 10:00:00 GMT</pubDate></item>
</channel></rss>
"""


class Site:
    """A loopback site serving one feed, recording when each GET of it arrived; `hold_next`
    keeps the next request open until `release` (a refresh in flight)."""

    def __init__(self) -> None:
        self.fetches: list[float] = []
        self.hold_next = False
        self.held = threading.Event()
        self.release = threading.Event()
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                site.fetches.append(time.monotonic())
                if site.hold_next:
                    site.hold_next = False
                    site.held.set()
                    site.release.wait(60)
                self.send_response(200)
                self.send_header("Content-Type", "application/rss+xml")
                self.send_header("Content-Length", str(len(RSS)))
                self.end_headers()
                self.wfile.write(RSS)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/feed.xml"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def count_between(self, start: float, end: float) -> int:
        return sum(1 for at in self.fetches if start <= at < end)

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def site() -> Iterator[Site]:
    running = Site()
    yield running
    running.close()


@pytest.fixture
def database() -> Iterator[str]:
    """A fresh schema on the test PostgreSQL database, dropped afterwards."""
    base = postgres_url_or_skip()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield postgres_schema_url(base, schema)
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def write_config(folder: Path, url: str) -> Path:
    config = folder / "feedline.toml"
    config.write_text(f"""
[site]
title = "Several daemons"
base_url = "http://feeds.example.org/"

[[sources]]
id = "harbour"
kind = "feed"
url = "{url}"
title = "Harbour"
every = "{EVERY:.0f}s"

[fetch]
contact = "ops@example.org"
timeout = 60
retries = 0

[refresh]
lease = "3s"
workers = 0

[mail]
transport = "file"
""")
    return config


def start(stack: ExitStack, config: Path, database: str, count: int) -> list[DaemonProcess]:
    env = {"FEEDLINE_DATABASE_URL": database, "FEEDLINE_SECRET_KEY": "k" * 32}
    daemons = [
        stack.enter_context(DaemonProcess(config, "--role", "refresh,send", env=env))
        for _ in range(count)
    ]
    for daemon in daemons:
        daemon.wait_message("daemon ")  # started: its owner name and roles
    return daemons


def lease_owner(database: str) -> str | None:
    engine = sa.create_engine(database)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.select(sources.c.lease_owner)).scalar_one()
    finally:
        engine.dispose()


def test_two_daemons_fetch_an_every_3_seconds_source_about_5_times_in_15_seconds(
    tmp_path: Path, site: Site, database: str
) -> None:
    config = write_config(tmp_path, site.url)
    with ExitStack() as stack:
        daemons = start(stack, config, database, 2)
        begin = time.monotonic()
        time.sleep(15)  # the measure: fetches a real site sees in 15 s
        fetched = site.count_between(begin, begin + 15)
        for daemon in daemons:
            assert daemon.terminate() == 0
    # Once per schedule: 5 (one daemon alone); without the lease each daemon fetches: 10.
    assert 4 <= fetched <= 6, site.fetches
    messages = [m for d in daemons for m in d.messages()]
    assert not [m for m in messages if "failed" in m], messages


def test_three_daemons_and_one_killed_mid_refresh_hands_the_source_over(
    tmp_path: Path, site: Site, database: str
) -> None:
    config = write_config(tmp_path, site.url)
    with ExitStack() as stack:
        daemons = start(stack, config, database, 3)
        begin = time.monotonic()
        time.sleep(9)
        assert 2 <= site.count_between(begin, begin + 9) <= 4, site.fetches  # not 9
        site.hold_next = True
        assert site.held.wait(3 * EVERY)
        owner = lease_owner(database)
        assert owner is not None  # held by the daemon whose fetch hangs
        killed = next(d for d in daemons if f":{d.process.pid}:" in owner)
        killed.kill()  # SIGKILL: no release, no renewal
        killed_at = time.monotonic()
        # Another daemon takes the source over: the dead one's process is gone from this host,
        # so the next daemon whose trigger fires need not wait for its lease (3 s) to run out.
        deadline = killed_at + 15
        while site.count_between(killed_at, deadline) == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        taken_over = [at for at in site.fetches if at >= killed_at]
        assert taken_over, "nobody took the source over"
        new_owner = lease_owner(database)
        assert new_owner is None or new_owner != owner
        after = time.monotonic()
        time.sleep(9)
        assert 2 <= site.count_between(after, after + 9) <= 4, site.fetches  # two left: not 6
        for daemon in daemons:
            if daemon is not killed:
                assert daemon.terminate() == 0
