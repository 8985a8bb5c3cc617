"""The daemon's own routes next to the static files: /healthz, one deadline's calendar, and
the subscription pages (/subscribe, /confirm, /manage, /unsubscribe: scheduler/subscriptions).
"""

from __future__ import annotations

import asyncio
import os

from aiohttp import web
from sqlalchemy import Engine, select

from config.schema import Settings
from feeds.clock import Clock
from feeds.metrics_shared import SharedMetrics
from feeds.render.calendar import CalendarEvent, render_calendar
from feeds.render.display import closing_line
from feeds.store.deadlines import stored_from_row
from feeds.store.tables import deadlines, items
from feeds.websub import hub_health
from scheduler.health import health_report
from scheduler.mail.factory import build_transport
from scheduler.mail.transport import MailTransport
from scheduler.metrics import add_metrics
from scheduler.subscriptions.routes import SubscriptionRoutes


class DaemonRoutes:
    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        clock: Clock,
        key: bytes,
        *,
        transport: MailTransport | None = None,
        shared_metrics: SharedMetrics | None = None,
    ) -> None:
        self.settings = settings
        #: Several serving processes: /metrics reports them all (scheduler.serving sets it).
        self.shared_metrics = shared_metrics
        self.engine = engine
        self.clock = clock
        self.key = key
        self._transport = transport
        self._own_transport = False
        self.subscriptions = SubscriptionRoutes(settings, engine, clock, key, self.transport)

    def transport(self) -> MailTransport:
        """The mail transport of the web's own mails (built on first use)."""
        if self._transport is None:
            self._transport = build_transport(self.settings.mail, os.environ)
            self._own_transport = True
        return self._transport

    def add_to(self, app: web.Application) -> None:
        app.router.add_get("/healthz", self.healthz)
        app.router.add_get("/deadlines/{uid}.ics", self.deadline_calendar)
        self.subscriptions.add_to(app)
        add_metrics(app, self.settings, self.engine, self.clock, self.shared_metrics)
        app.on_cleanup.append(self._close)

    async def _close(self, _app: web.Application) -> None:
        if self._own_transport and self._transport is not None:
            await self._transport.close()

    async def healthz(self, request: web.Request) -> web.Response:
        report = await asyncio.to_thread(health_report, self.settings, self.engine, self.clock)
        hub = self.settings.site.websub_hub
        body = report.body if hub is None else {**report.body, "websub": hub_health(str(hub))}
        return web.json_response(
            body,
            status=200 if report.healthy else 503,
            headers={"Cache-Control": "no-store"},
        )

    async def deadline_calendar(self, request: web.Request) -> web.Response:
        """One deadline as an .ics (the "add to calendar" link of mails and the index)."""
        uid = request.match_info["uid"]

        def read() -> CalendarEvent | None:
            query = (
                select(deadlines, items.c.title.label("item_title"), items.c.link.label("link"))
                .join(items, items.c.id == deadlines.c.item_id)
                .where(deadlines.c.uid == uid, deadlines.c.active.is_(True))
            )
            with self.engine.connect() as conn:
                row = conn.execute(query).first()
            if row is None:
                return None
            stored = stored_from_row(row)
            return CalendarEvent(
                uid=row.uid,
                sequence=row.sequence,
                summary=row.label,
                url=row.link,
                description=f"{closing_line(stored.deadline)}\n\n{row.item_title}\n{row.link}",
                closes_at=row.closes_at,
                stamp=row.updated_at,
            )

        event = await asyncio.to_thread(read)
        if event is None:
            raise web.HTTPNotFound(text="No such deadline (it may have been withdrawn).\n")
        body = render_calendar([event], name=f"{self.settings.site.title}: {event.summary}")
        return web.Response(
            body=body,
            content_type="text/calendar",
            charset="utf-8",
            headers={
                "Content-Disposition": 'attachment; filename="deadline.ics"',
                "Cache-Control": "no-cache",
            },
        )
