"""The daemon as a real subprocess: serving, signals, a crash mid-send (the rest is in-process)."""

from __future__ import annotations

import asyncio
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import feedparser
import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy import create_engine, select

from feeds.store.tables import reminders
from tests.daemon.configs import write_config
from tests.daemon.process import DaemonProcess
from tests.foundation.helpers import run_cli
from tests.support.smtp import SmtpTestServer, free_port

pytestmark = pytest.mark.slow


def wait_until(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


def test_daemon_serves_and_stops_on_sigterm(tmp_path: Path, smtp_server: SmtpTestServer) -> None:
    port = free_port()
    config = write_config(tmp_path, smtp_server.port, port)
    base = f"http://127.0.0.1:{port}/"
    with DaemonProcess(config) as daemon:
        daemon.wait_message("published")
        with httpx.Client(base_url=base, timeout=10) as client:
            full = client.get("/all.rss")
            assert full.status_code == 200
            assert full.headers["content-type"] == "application/rss+xml; charset=utf-8"
            parsed = feedparser.parse(full.content)
            assert parsed.bozo == 0
            self_links = [link.href for link in parsed.feed.links if link.rel == "self"]
            assert self_links == [base + "all.rss"]
            assert len(parsed.entries) == 2
            again = client.get("/all.rss", headers={"If-None-Match": full.headers["etag"]})
            assert again.status_code == 304
            since = client.get(
                "/all.rss", headers={"If-Modified-Since": full.headers["last-modified"]}
            )
            assert since.status_code == 304
            health = client.get("/healthz")
            assert health.status_code == 200 and health.json()["status"] == "ok"
            index = client.get("/")
            assert 'rel="alternate"' in index.text and "deadlines.ics" in index.text
        started = time.monotonic()
        assert daemon.terminate() == 0
        assert time.monotonic() - started < 10
        assert "stopped" in daemon.messages()


class HoldFirstData:
    """An SMTP handler that keeps the first DATA waiting forever (the sender dies meanwhile)."""

    def __init__(self) -> None:
        self.first_arrived = threading.Event()
        self.accepted: list[bytes] = []
        self._held = False

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if not self._held:
            self._held = True
            self.first_arrived.set()
            await asyncio.Event().wait()  # never answers
        self.accepted.append(bytes(envelope.content or b""))
        return "250 OK"


@pytest.fixture
def holding_server() -> Iterator[tuple[HoldFirstData, int]]:
    handler = HoldFirstData()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()


def test_killed_mid_send_and_restarted_the_reminder_goes_out_once(
    tmp_path: Path, holding_server: tuple[HoldFirstData, int]
) -> None:
    handler, smtp_port = holding_server
    config = write_config(tmp_path, smtp_port, free_port(), lease="2s")
    run_cli("subscribers", "add", "ana@example.org", config=config)
    with DaemonProcess(config, "--now", "2024-04-24T09:00:00+02:00") as first:
        assert handler.first_arrived.wait(30)
        first.kill()  # SIGKILL while the message is in flight
    # The second daemon starts after the first one's lease has run out: it takes the claim over.
    with DaemonProcess(config, "--now", "2024-04-24T09:00:30+02:00") as second:
        wait_until(lambda: len(handler.accepted) == 1)
        second.wait_message("sent reminder")
        assert second.terminate() == 0
    assert len(handler.accepted) == 1
    engine = create_engine(f"sqlite:///{tmp_path / 'data' / 'feedline.db'}")
    with engine.connect() as conn:
        rows = conn.execute(
            select(reminders.c.status, reminders.c.attempts).where(
                reminders.c.offset_seconds == 7 * 86400
            )
        ).all()
    engine.dispose()
    assert [(r.status, r.attempts) for r in rows] == [("sent", 2)]


def test_serve_alone_serves_the_built_folder(tmp_path: Path, smtp_server: SmtpTestServer) -> None:
    import signal
    import subprocess
    import sys

    port = free_port()
    config = write_config(tmp_path, smtp_server.port, port)
    assert run_cli("build", config=config).exit_code == 0
    process = subprocess.Popen(
        [sys.executable, "-m", "scheduler", "--config", str(config), "serve"],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        line = process.stderr.readline()
        assert f"on http://127.0.0.1:{port}/" in line
        response = httpx.get(f"http://127.0.0.1:{port}/river.atom", timeout=10)
        assert response.headers["content-type"] == "application/atom+xml; charset=utf-8"
        assert feedparser.parse(response.content).bozo == 0
        assert httpx.get(f"http://127.0.0.1:{port}/../feedline.toml").status_code == 404
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()


def test_a_second_signal_exits_at_once(tmp_path: Path, smtp_server: SmtpTestServer) -> None:
    config = write_config(tmp_path, smtp_server.port, free_port())
    with DaemonProcess(config) as daemon:
        daemon.wait_message("published")
        daemon.process.send_signal(signal.SIGTERM)
        daemon.process.send_signal(signal.SIGTERM)
        assert daemon.process.wait(timeout=5) in (0, 128 + signal.SIGTERM)
