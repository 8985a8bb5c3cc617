"""A running site for HTTP tests: the daemon's routes over a real loopback socket, a real
database (SQLite and PostgreSQL), and a real SMTP server that receives the mails."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import Engine, select

from config.schema import Settings
from feeds.clock import FixedClock
from feeds.serve.app import build_app
from feeds.serve.server import FeedServer
from feeds.store.tables import reminders, subscribers
from scheduler.mail.smtp_transport import SmtpTransport
from scheduler.web import DaemonRoutes
from tests.ledger.helpers import KEY, end_of_day, store_deadline
from tests.support.smtp import SmtpTestServer

NOW = datetime(2023, 2, 1, 12, tzinfo=UTC)
CLOSES = end_of_day(date(2023, 2, 17))
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
LINK = re.compile(r"https://feeds\.example\.org/(confirm|manage|unsubscribe)\?token=[A-Za-z0-9_-]+")


def web_settings(tmp_path: Path, **subscriptions: Any) -> Settings:
    return Settings.model_validate(
        {
            "site": {
                "base_url": "https://feeds.example.org/",
                "data_dir": str(tmp_path / "data"),
                "output_dir": str(tmp_path / "public"),
                "title": "River consultations",
            },
            "sources": [
                {
                    "id": "river",
                    "kind": "text",
                    "path": "p.txt",
                    "title": "River news",
                    "link": "https://river.example.org/news",
                },
                {
                    "id": "lake",
                    "kind": "text",
                    "path": "q.txt",
                    "title": "Lake news",
                    "link": "https://lake.example.org/news",
                },
            ],
            "mail": {"from": "Reminders <reminders@example.org>"},
            "reminders": {"offsets": ["7d", "1d"]},
            "subscriptions": {
                "offsets_offered": ["7d", "3d", "1d"],
                "contact": "help@example.org",
                **subscriptions,
            },
        }
    )


@dataclass
class Site:
    client: httpx.AsyncClient
    engine: Engine
    routes: DaemonRoutes
    smtp: SmtpTestServer
    clock: FixedClock
    settings: Settings

    async def form(self, path: str, **params: str) -> str:
        page = await self.client.get(path, params=params)
        found = CSRF.search(page.text)
        assert found is not None, page.text
        return found.group(1)

    async def sign_up(self, email: str, **fields: Any) -> httpx.Response:
        csrf = await self.form("/subscribe")
        data = {"csrf": csrf, "email": email, **fields}
        response = await self.client.post("/subscribe", data=data, headers=self.origin)
        await self.routes.subscriptions.drain()
        return response

    @property
    def origin(self) -> dict[str, str]:
        return {"Origin": str(self.client.base_url).rstrip("/")}

    def mails_to(self, email: str) -> list[Any]:
        return [m.parsed() for m in self.smtp.handler.messages if m.recipients == [email]]

    def link_in(self, message: Any, kind: str) -> str:
        text = message.get_body(("plain",)).get_content()
        for found in LINK.finditer(text):
            if found.group(1) == kind:
                return found.group(0)
        raise AssertionError(f"no {kind} link in {text}")

    @staticmethod
    def token_of(url: str) -> str:
        return parse_qs(urlsplit(url).query)["token"][0]

    def status(self, email: str) -> str | None:
        with self.engine.connect() as conn:
            value = conn.execute(
                select(subscribers.c.status).where(subscribers.c.email == email)
            ).scalar()
        return None if value is None else str(value)

    def reminder_rows(self, email: str) -> list[tuple[int, str, str]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(reminders.c.offset_seconds, reminders.c.kind, reminders.c.status)
                .join(subscribers, subscribers.c.id == reminders.c.subscriber_id)
                .where(subscribers.c.email == email)
                .order_by(reminders.c.offset_seconds)
            )
            return [tuple(r) for r in rows]


async def start_site(
    tmp_path: Path, engine: Engine, smtp: SmtpTestServer, settings: Settings
) -> AsyncIterator[Site]:
    clock = FixedClock(NOW)
    store_deadline(engine, settings, CLOSES)
    (tmp_path / "public").mkdir(exist_ok=True)
    transport = SmtpTransport(smtp.settings())
    routes = DaemonRoutes(settings, engine, clock, KEY, transport=transport)
    server = FeedServer(build_app(tmp_path / "public", extra_routes=routes.add_to))
    await server.start("127.0.0.1", 0)
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
            yield Site(client, engine, routes, smtp, clock, settings)
    finally:
        await server.stop()
        await transport.close()


@pytest.fixture
async def site(tmp_path: Path, engine: Engine, smtp_server: SmtpTestServer) -> AsyncIterator[Site]:
    async for running in start_site(tmp_path, engine, smtp_server, web_settings(tmp_path)):
        yield running
