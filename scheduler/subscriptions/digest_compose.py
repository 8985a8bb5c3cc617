"""From claimed digest rows to finished messages.

The open consultations are read once per pass; subscribers who follow the same sources share
one `MessageTemplate` (scheduler/mail/template.py), so a digest is filled per recipient like a
reminder: the address, Message-ID, Date, manage and unsubscribe links.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Select, select

from config.schema import Settings
from feeds.clock import Clock
from feeds.render.display import closing_display, time_left
from feeds.store.tables import deadlines, items, reminders, subscribers
from scheduler.ledger.claims import among_ids
from scheduler.mail.message import DigestEntry, MessageKind, ReminderMessage, message_id_for
from scheduler.mail.template import TemplateCache
from scheduler.subscriptions.digest import DIGEST, Period, current_period
from scheduler.subscriptions.links import Links

if TYPE_CHECKING:
    from scheduler.ledger.compose import Outgoing


@lru_cache(maxsize=4)
def _digest_rows(dialect: str) -> Select[Any]:
    """The digest rows among :ids, with their recipients."""
    return (
        select(
            reminders.c.id,
            reminders.c.subscriber_id,
            reminders.c.due_at,
            reminders.c.planned_closes_at,
            subscribers.c.email,
            subscribers.c.sources,
            subscribers.c.token_version,
        )
        .join(subscribers, subscribers.c.id == reminders.c.subscriber_id)
        .where(among_ids(reminders.c.id, dialect), reminders.c.kind == DIGEST)
    )


class DigestComposer:
    def __init__(
        self, settings: Settings, links: Links, clock: Clock, templates: TemplateCache
    ) -> None:
        self.settings = settings
        self.links = links
        self.clock = clock
        self.templates = templates
        self.site_title = settings.site.title
        self._open: list[Any] | None = None

    def new_pass(self) -> None:
        self._open = None

    def _open_deadlines(self, conn: Connection) -> list[Any]:
        if self._open is None:
            query = (
                select(
                    deadlines.c.uid,
                    deadlines.c.label,
                    deadlines.c.closes_at,
                    deadlines.c.timezone,
                    deadlines.c.source_id,
                    deadlines.c.created_at,
                    items.c.title,
                    items.c.link,
                )
                .join(items, items.c.id == deadlines.c.item_id)
                .where(deadlines.c.active.is_(True), deadlines.c.closes_at > self.clock.now())
                .order_by(deadlines.c.closes_at, deadlines.c.uid)
            )
            self._open = list(conn.execute(query))
        return self._open

    def load(self, conn: Connection, row_ids: Sequence[int]) -> dict[int, Outgoing]:
        rows = list(conn.execute(_digest_rows(conn.dialect.name), {"ids": list(row_ids)}))
        if not rows:
            return {}
        open_now = self._open_deadlines(conn)
        return {row.id: self._outgoing(row, open_now) for row in rows}

    def _outgoing(self, row: Any, open_now: list[Any]) -> Outgoing:
        from scheduler.ledger.compose import Outgoing

        period = current_period(row.due_at, self.settings.subscriptions)
        message_id = message_id_for(
            f"digest|{row.subscriber_id}|{period.end.isoformat()}", self.links_domain
        )
        now = self.clock.now()
        day = now.date().isoformat()
        key = ("digest", row.sources, period.end, day)
        template = self.templates.get(
            key, lambda: self._message(row.sources, period, open_now, now)
        )
        mail = template.render(
            row.email,
            message_id,
            self.links.unsubscribe(row.subscriber_id, row.token_version),
            clock=self.clock,
            manage_url=self.links.manage(row.subscriber_id, row.token_version),
        )
        return Outgoing(
            row.id, row.email, row.subscriber_id, mail, message_id, closes_at=period.end
        )

    @property
    def links_domain(self) -> str:
        from scheduler.mail.message import sender_domain

        return sender_domain(self.settings.mail.from_)

    def _message(
        self, sources: str, period: Period, open_now: list[Any], now: datetime
    ) -> ReminderMessage:
        chosen = {s for s in sources.split(",") if s}
        entries = tuple(
            DigestEntry(
                label=d.label,
                closes_display=closing_display(d.closes_at, d.timezone),
                time_left=time_left(d.closes_at, now, d.timezone),
                link=d.link,
                title=d.title,
                calendar_url=self.links.calendar(d.uid),
                new=d.created_at > period.previous_start,
            )
            for d in open_now
            if not chosen or d.source_id in chosen
        )
        count = len(entries)
        title = (
            f"{count} open consultation{'' if count == 1 else 's'} this week"
            if count
            else "No open consultations this week"
        )
        return ReminderMessage(
            kind=MessageKind.DIGEST,
            recipient="digest@placeholder.invalid",
            sender=self.settings.mail.from_,
            message_id=message_id_for("digest-template", self.links_domain),
            list_id=self.settings.mail.list_id or f"reminders.{self.links_domain}",
            unsubscribe_url=f"{self.links.base}unsubscribe?token=template",
            manage_url=f"{self.links.base}manage?token=template",
            unsubscribe_mailto=self.settings.mail.unsubscribe_mailto,
            source_title=self.site_title,
            digest=entries,
            digest_title=title,
        )
