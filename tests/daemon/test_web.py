"""/healthz and /unsubscribe over a real loopback socket."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, select, update

from feeds.clock import FixedClock
from feeds.serve.app import build_app
from feeds.serve.server import FeedServer
from feeds.sources.base import FetchState
from feeds.store.sources import record_failure, record_success
from feeds.store.tables import reminders, subscribers
from scheduler.subscriptions.links import Links
from scheduler.tokens import Purpose, subscriber_token
from scheduler.web import DaemonRoutes
from tests.ledger.helpers import KEY, end_of_day, make_settings, store_deadline, subscribe

NOW = datetime(2023, 2, 10, 12, tzinfo=UTC)


@pytest.fixture
async def site(tmp_path: Path, engine: Engine) -> AsyncIterator[tuple[httpx.AsyncClient, Engine]]:
    settings = make_settings(tmp_path)
    store_deadline(engine, settings, end_of_day(date(2023, 2, 17)))
    subscribe(engine, "ana@example.org", datetime(2023, 1, 2, tzinfo=UTC))
    (tmp_path / "public").mkdir()
    routes = DaemonRoutes(settings, engine, FixedClock(NOW), KEY)
    server = FeedServer(build_app(tmp_path / "public", extra_routes=routes.add_to))
    await server.start("127.0.0.1", 0)
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
        yield client, engine
    await server.stop()


def status_of(engine: Engine) -> str:
    with engine.connect() as conn:
        return str(conn.execute(select(subscribers.c.status)).scalar_one())


def _token(engine: Engine, purpose: Purpose = Purpose.UNSUBSCRIBE, key: bytes = KEY) -> str:
    with engine.connect() as conn:
        row = conn.execute(select(subscribers.c.id, subscribers.c.token_version)).one()
    return subscriber_token(key, purpose, row.id, row.token_version)


async def test_get_shows_a_form_and_never_unsubscribes(
    site: tuple[httpx.AsyncClient, Engine],
) -> None:
    client, engine = site
    page = await client.get("/unsubscribe", params={"token": _token(engine)})
    assert page.status_code == 200
    assert '<form method="post"' in page.text and "a**@example.org" in page.text
    assert "ana@example.org" not in page.text
    assert status_of(engine) == "active"


async def test_form_post_unsubscribes_and_cancels_pending_reminders(
    site: tuple[httpx.AsyncClient, Engine],
) -> None:
    client, engine = site
    page = await client.get("/unsubscribe", params={"token": _token(engine)})
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf is not None
    done = await client.post("/unsubscribe", data={"csrf": csrf.group(1), "token": _token(engine)})
    assert done.status_code == 200 and "no more emails" in done.text
    assert status_of(engine) == "unsubscribed"
    with engine.connect() as conn:
        assert set(conn.execute(select(reminders.c.status)).scalars()) == {"cancelled"}


async def test_one_click_post_from_the_list_unsubscribe_header(
    site: tuple[httpx.AsyncClient, Engine], tmp_path: Path
) -> None:
    client, engine = site
    settings = make_settings(tmp_path)
    with engine.connect() as conn:
        person = conn.execute(select(subscribers.c.id, subscribers.c.token_version)).one()
    url = Links(str(settings.site.base_url), KEY).unsubscribe(person.id, person.token_version)
    path = url.removeprefix(str(settings.site.base_url))
    response = await client.post(
        "/" + path,
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 200
    assert status_of(engine) == "unsubscribed"


@pytest.mark.parametrize("token", ["", "garbage", "eyJhIjoiYiJ9.AAAA"])
async def test_bad_or_forged_tokens_get_a_page_for_people(
    site: tuple[httpx.AsyncClient, Engine], token: str
) -> None:
    client, engine = site
    forged = _token(engine, key=b"x" * 32)
    for candidate in (token, forged):
        for method in ("GET", "POST"):
            response = await client.request(
                method,
                "/unsubscribe",
                params={"token": candidate},
                data={"List-Unsubscribe": "One-Click"} if method == "POST" else None,
            )
            assert response.status_code == 400
            assert "This link does not work" in response.text
            assert "signature" not in response.text and "reply to" not in response.text
            assert "/subscribe" in response.text
    wrong_purpose = _token(engine, Purpose.MANAGE)
    response = await client.post(
        "/unsubscribe", params={"token": wrong_purpose}, data={"List-Unsubscribe": "One-Click"}
    )
    assert response.status_code == 400
    assert status_of(engine) == "active"


async def test_healthz_ok_then_503_when_a_source_fails_too_long(
    site: tuple[httpx.AsyncClient, Engine],
) -> None:
    client, engine = site
    with engine.begin() as conn:
        record_success(conn, "river", FetchState(), NOW - timedelta(minutes=10), None)
    ok = await client.get("/healthz")
    assert ok.status_code == 200
    body = ok.json()
    assert body["status"] == "ok"
    assert body["reminders"]["pending"] == 2
    assert body["reminders"]["next_due"] == "2023-02-10T22:59:59+00:00"
    with engine.begin() as conn:  # failing, but within twice its 30-minute schedule
        record_failure(
            conn,
            "river",
            "HTTP 500 from https://river.example.org/news",
            NOW - timedelta(minutes=5),
        )
    assert (await client.get("/healthz")).status_code == 200
    with engine.begin() as conn:
        record_success(conn, "river", FetchState(), NOW - timedelta(hours=2), None)
        record_failure(conn, "river", "HTTP 500 from https://river.example.org/news", NOW)
    failing = await client.get("/healthz")
    assert failing.status_code == 503
    source = failing.json()["sources"][0]
    assert source["ok"] is False and "HTTP 500" in source["last_error"]


async def test_healthz_503_when_reminders_failed_recently(
    site: tuple[httpx.AsyncClient, Engine],
) -> None:
    client, engine = site
    with engine.begin() as conn:
        conn.execute(
            update(reminders)
            .where(reminders.c.offset_seconds == 7 * 86400)
            .values(status="failed", updated_at=NOW - timedelta(hours=1))
        )
    response = await client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["reminders"]["failed_last_24h"] == 1
