"""GET /metrics over loopback, parsed with prometheus-client's own parser.

The ledger figures come from a real database (SQLite and PostgreSQL) in which a real
dispatcher sent one reminder 20 s after it fell due.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample
from sqlalchemy import Engine, select

from config.schema import Settings
from feeds.clock import FixedClock
from feeds.metrics import record_refresh
from feeds.serve.app import build_app
from feeds.serve.server import FeedServer
from feeds.sources.base import FetchState
from feeds.store.sources import record_success
from feeds.store.tables import reminders
from scheduler.web import DaemonRoutes
from tests.ledger.helpers import (
    KEY,
    end_of_day,
    file_dispatcher,
    make_settings,
    store_deadline,
    subscribe,
)

CLOSES = end_of_day(date(2023, 2, 17))
LATE = timedelta(seconds=20)


@dataclass
class Site:
    http: httpx.AsyncClient
    settings: Settings


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            assert isinstance(sample, Sample)
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


async def start(tmp_path: Path, engine: Engine, settings: Settings) -> FeedServer:
    (tmp_path / "public").mkdir(exist_ok=True)
    due = CLOSES - timedelta(days=7)
    routes = DaemonRoutes(settings, engine, FixedClock(due + LATE), KEY)
    server = FeedServer(build_app(tmp_path / "public", extra_routes=routes.add_to))
    await server.start("127.0.0.1", 0)
    return server


@pytest.fixture
async def site(tmp_path: Path, engine: Engine) -> AsyncIterator[Site]:
    settings = make_settings(tmp_path)
    store_deadline(engine, settings, CLOSES)
    subscribe(engine, "ana@example.org", datetime(2023, 1, 2, tzinfo=UTC))
    with engine.connect() as conn:
        due = conn.execute(select(reminders.c.due_at).order_by(reminders.c.due_at)).scalars()
        first_due = next(iter(due))
    summary = await file_dispatcher(engine, settings, FixedClock(first_due + LATE)).run_pass()
    assert summary.sent == 1
    server = await start(tmp_path, engine, settings)
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
        yield Site(http, settings)
    await server.stop()


async def scrape(http: httpx.AsyncClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = await http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return samples(response.text)


async def test_ledger_figures_come_from_the_database(site: Site, engine: Engine) -> None:
    found = await scrape(site.http)
    assert found[("feedline_database_up", ())] == 1
    assert found[("feedline_items", (("source", "river"),))] == 1
    assert found[("feedline_deadlines_open", ())] == 1
    assert found[("feedline_reminders_pending", ())] == 1  # the 1-day reminder
    assert found[("feedline_reminders_sent_total", ())] == 1
    assert found[("feedline_reminders_failed_total", ())] == 0
    lateness = "feedline_reminder_lateness_seconds"
    assert found[(lateness + "_count", ())] == 1
    assert found[(lateness + "_sum", ())] == pytest.approx(20, abs=0.01)
    assert found[(lateness + "_bucket", (("le", "15.0"),))] == 0
    assert found[(lateness + "_bucket", (("le", "30.0"),))] == 1
    assert found[(lateness + "_bucket", (("le", "+Inf"),))] == 1
    success = ("feedline_source_last_success_timestamp_seconds", (("source", "river"),))
    assert success not in found  # never read yet
    read_at = datetime(2023, 2, 9, 8, tzinfo=UTC)
    with engine.begin() as conn:
        record_success(conn, "river", FetchState(), read_at, None)
    assert (await scrape(site.http))[success] == read_at.timestamp()


async def test_requests_are_counted_by_bounded_route(site: Site) -> None:
    before = await scrape(site.http)
    assert (await site.http.get("/healthz")).status_code == 200
    for n in range(3):
        assert (await site.http.get(f"/no-such-{n}.rss")).status_code == 404
    after = await scrape(site.http)

    def delta(route: str, code: str) -> float:
        key = ("feedline_http_requests_total", (("code", code), ("route", route)))
        return after.get(key, 0) - before.get(key, 0)

    assert delta("/healthz", "200") == 1
    assert delta("files", "404") == 3  # one label for every path under the output folder
    assert delta("/metrics", "200") == 1  # the first scrape
    assert after[("feedline_http_request_seconds_count", (("route", "files"),))] >= 3


async def test_refreshes_are_counted_by_source_and_outcome(site: Site) -> None:
    key = ("feedline_refresh_total", (("outcome", "failed"), ("source", "river")))
    before = (await scrape(site.http)).get(key, 0)
    record_refresh([("river", "failed")], 0.3)
    after = await scrape(site.http)
    assert after[key] - before == 1
    assert after[("feedline_refresh_seconds_count", ())] >= 1


async def test_metrics_can_be_turned_off(tmp_path: Path, engine: Engine) -> None:
    settings = make_settings(tmp_path)
    settings = settings.model_copy(
        update={"server": settings.server.model_copy(update={"metrics": False})}
    )
    server = await start(tmp_path, engine, settings)
    try:
        async with httpx.AsyncClient(base_url=server.url) as http:
            assert (await http.get("/metrics")).status_code == 404
            assert (await http.get("/healthz")).status_code == 200
    finally:
        await server.stop()
