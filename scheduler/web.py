"""The daemon's own routes next to the static files: /healthz and /unsubscribe.

A GET on /unsubscribe only shows a confirmation form (mail scanners follow links); a POST
unsubscribes, and is also the RFC 8058 one-click target of the List-Unsubscribe header.
"""

from __future__ import annotations

import asyncio
import html
import logging

from aiohttp import web
from sqlalchemy import Engine

from config.schema import Settings
from feeds.clock import Clock
from feeds.errors import FeedlineError
from feeds.websub import hub_health
from scheduler.health import health_report
from scheduler.ledger.compose import UNSUBSCRIBE
from scheduler.ledger.subscribers import SubscriberStatus, set_status
from scheduler.metrics import add_metrics
from scheduler.tokens import BadToken, verify

log = logging.getLogger(__name__)

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="robots" content="noindex">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title>
<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem}}
button{{font-size:1rem;padding:.5rem 1rem}}</style></head>
<body><h1>{title}</h1>{body}</body></html>
"""


def _page(title: str, body: str, status: int = 200) -> web.Response:
    return web.Response(
        text=PAGE.format(title=html.escape(title), body=body),
        status=status,
        content_type="text/html",
        charset="utf-8",
        headers={
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
        },
    )


class DaemonRoutes:
    def __init__(self, settings: Settings, engine: Engine, clock: Clock, key: bytes) -> None:
        self.settings = settings
        self.engine = engine
        self.clock = clock
        self.key = key

    def add_to(self, app: web.Application) -> None:
        app.router.add_get("/healthz", self.healthz)
        app.router.add_get("/unsubscribe", self.unsubscribe_form)
        app.router.add_post("/unsubscribe", self.unsubscribe)
        add_metrics(app, self.settings, self.engine, self.clock)

    async def healthz(self, request: web.Request) -> web.Response:
        report = await asyncio.to_thread(health_report, self.settings, self.engine, self.clock)
        hub = self.settings.site.websub_hub
        body = report.body if hub is None else {**report.body, "websub": hub_health(str(hub))}
        return web.json_response(
            body,
            status=200 if report.healthy else 503,
            headers={"Cache-Control": "no-store"},
        )

    def _email(self, token: str) -> str:
        return verify(self.key, token, UNSUBSCRIBE)

    async def unsubscribe_form(self, request: web.Request) -> web.Response:
        token = request.query.get("token", "")
        try:
            email = self._email(token)
        except BadToken as error:
            return self._bad_link(error)
        body = (
            f"<p>Stop consultation reminders to <strong>{html.escape(email)}</strong>?</p>"
            f'<form method="post" action="unsubscribe?token={html.escape(token)}">'
            '<button type="submit">Unsubscribe</button></form>'
        )
        return _page("Unsubscribe", body)

    async def unsubscribe(self, request: web.Request) -> web.Response:
        token = request.query.get("token", "")
        if not token:
            form = await request.post()
            token = str(form.get("token", ""))
        try:
            email = self._email(token)
        except BadToken as error:
            return self._bad_link(error)

        def apply() -> bool:
            with self.engine.begin() as conn:
                return set_status(conn, email, SubscriberStatus.UNSUBSCRIBED, self.clock.now())

        try:
            found = await asyncio.to_thread(apply)
        except FeedlineError as error:
            return _page("Unsubscribe", f"<p>{html.escape(str(error))}</p>", 400)
        log.info("unsubscribed a subscriber via link (found=%s)", found)
        return _page("Unsubscribed", f"<p>{html.escape(email)} will get no more reminders.</p>")

    def _bad_link(self, error: BadToken) -> web.Response:
        return _page(
            "This link does not work",
            f"<p>The unsubscribe link is not valid ({html.escape(str(error))}). "
            "Use the link from the most recent reminder email, or reply to it.</p>",
            400,
        )
