"""The real daemon (a subprocess) with a loopback WebSub hub: pings, /metrics, sidecars."""

from __future__ import annotations

import asyncio
import gzip
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.daemon.process import DaemonProcess
from tests.serve.conftest import Hub
from tests.support.smtp import free_port

pytestmark = pytest.mark.slow

PAGE = """\
News

Consultation on river water quality opens

The consultation on river water quality is open until 30 April 2024. Anyone may respond.

Minister visits flood defences

On 2 March 2024 the minister visited the new flood defences in the valley.
"""
FEEDS = [f"{name}.{fmt}" for name in ("all", "river") for fmt in ("rss", "atom", "json")]


def write_config(tmp_path: Path, http_port: int, hub_url: str) -> Path:
    (tmp_path / "news.txt").write_text(PAGE)
    config = tmp_path / "feedline.toml"
    config.write_text(f"""
[site]
title = "Daemon test"
base_url = "http://127.0.0.1:{http_port}/"
websub_hub = "{hub_url}"

[[sources]]
id = "river"
kind = "text"
path = "news.txt"
title = "River news"
link = "https://river.example.org/news"
every = "1s"

[mail]
from = "Reminders <reminders@example.org>"
transport = "file"

[server]
port = {http_port}
""")
    return config


def value(text: str, name: str, **labels: str) -> float:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return float(sample.value)
    return 0.0


async def test_daemon_pings_changed_feeds_and_reports_metrics(tmp_path: Path, hub: Hub) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}/"
    config = write_config(tmp_path, port, hub.url)
    with DaemonProcess(config) as daemon:
        await asyncio.to_thread(daemon.wait_message, "published")
        async with httpx.AsyncClient(base_url=base, timeout=10) as http:

            async def scrape() -> str:
                response = await http.get("/metrics")
                assert response.status_code == 200
                return response.text

            async def until(check: str, name: str, at_least: float, **labels: str) -> str:
                for _ in range(400):  # each step is one scrape: the daemon refreshes every 1 s
                    text = await scrape()
                    if value(text, name, **labels) >= at_least:
                        return text
                    await asyncio.sleep(0.05)
                raise AssertionError(f"{check}: {name}{labels} stayed below {at_least}")

            first = await until("pings", "feedline_websub_pings_total", len(FEEDS), outcome="ok")
            assert sorted(p["hub.url"] for p in hub.pings) == sorted(base + n for n in FEEDS)
            assert value(first, "feedline_refresh_total", source="river", outcome="ok") >= 1
            assert value(first, "feedline_items", source="river") == 2
            assert value(first, "feedline_deadlines_open") == 0  # the 30 April 2024 one closed
            assert value(first, "feedline_database_up") == 1

            # A scheduled refresh that finds the page unchanged: no ping for it.
            await until("quiet", "feedline_refresh_total", 1, source="river", outcome="unchanged")
            assert len(hub.pings) == len(FEEDS)

            feed = await http.get("/river.rss", headers={"Accept-Encoding": "gzip"})
            sidecar = (tmp_path / "public" / "river.rss.gz").read_bytes()
            assert feed.headers["content-encoding"] == "gzip"
            assert gzip.decompress(sidecar) == feed.content
            health = (await http.get("/healthz")).json()
            assert health["websub"]["ok"] is True and health["websub"]["last_ok"]
        assert daemon.terminate() == 0
