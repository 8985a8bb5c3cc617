"""From a claimed ledger row to a finished message: load the context, fill the template.

Rows of one (deadline, kind, offset, planned time) share a `MessageTemplate` built once;
each row only fills in its address, Message-ID, Date and unsubscribe link (scheduler/mail/
template.py).
"""

from __future__ import annotations

import email.policy
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from functools import lru_cache, partial
from typing import Any

from sqlalchemy import Connection, Select, select

from config.schema import Settings
from feeds.clock import Clock
from feeds.render.calendar import CalendarEvent
from feeds.render.display import closing_line, duration_text, time_left
from feeds.store.deadlines import stored_from_row
from feeds.store.tables import deadlines, items, reminders, subscribers
from scheduler.ledger.claims import among_ids
from scheduler.mail.message import MessageKind, ReminderMessage, message_id_for, sender_domain
from scheduler.mail.template import MessageTemplate, TemplateCache
from scheduler.mail.transport import RawMessage
from scheduler.subscriptions.links import Links

#: "7 days": the one wording of a duration lives in feeds.render.display.
offset_text = duration_text


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One claimed row, ready to send (or to be dropped when its deadline changed since)."""

    row_id: int
    recipient: str
    subscriber_id: int
    mail: RawMessage | None
    message_id: str
    stale_reason: str | None = None
    closes_at: datetime | None = None  # as planned: never sent at or after it

    @property
    def message(self) -> EmailMessage | None:
        """The headers of `mail`, parsed (for previews such as `remind --dry-run`)."""
        if self.mail is None:
            return None
        head = self.mail.data.partition(b"\r\n\r\n")[0]
        parsed = BytesHeaderParser(policy=email.policy.default).parsebytes(head)
        assert isinstance(parsed, EmailMessage)
        return parsed


#: A deadline's columns for its messages, read once per batch and deadline (not per row).
_DEADLINE_COLUMNS = (
    deadlines.c.id,
    deadlines.c.uid,
    deadlines.c.label,
    deadlines.c.closes_at,
    deadlines.c.timezone,
    deadlines.c.sequence,
    deadlines.c.source_id,
    deadlines.c.previous_closes_at,
    deadlines.c.updated_at.label("deadline_updated"),
    deadlines.c.local_date,
    deadlines.c.local_time,
    deadlines.c.all_day,
    deadlines.c.evidence,
    deadlines.c.certain,
    deadlines.c.item_id,
    deadlines.c.origin,
    deadlines.c.moved_at,
    deadlines.c.active,
    items.c.title.label("item_title"),
    items.c.link.label("item_link"),
)

#: A claimed row's own columns: the recipient and what picks its template.
_ROW_COLUMNS = (
    reminders.c.id,
    reminders.c.subscriber_id,
    reminders.c.deadline_id,
    reminders.c.kind,
    reminders.c.offset_seconds,
    reminders.c.planned_closes_at,
    subscribers.c.email,
    subscribers.c.token_version,
)


@lru_cache(maxsize=4)
def _queries(dialect: str) -> tuple[Select[Any], Select[Any]]:
    """The claimed rows with their recipients, and their deadlines, by :ids."""
    rows = (
        select(*_ROW_COLUMNS)
        .join(subscribers, subscribers.c.id == reminders.c.subscriber_id)
        .where(among_ids(reminders.c.id, dialect))
    )
    deadlines_of = (
        select(*_DEADLINE_COLUMNS)
        .join(items, items.c.id == deadlines.c.item_id)
        .where(among_ids(deadlines.c.id, dialect))
    )
    return rows, deadlines_of


def _ready(outgoing: Outgoing) -> Outgoing:
    return outgoing


class Composer:
    """Turns claimed rows into finished messages. Templates are cached per key (bounded
    LRU); `new_pass` empties the cache, so a pass never reuses another pass's templates."""

    def __init__(
        self, settings: Settings, signing_key: bytes, clock: Clock, *, templates: int = 256
    ) -> None:
        self.settings = settings
        self.signing_key = signing_key
        self.clock = clock
        self.sender = settings.mail.from_
        self.domain = sender_domain(self.sender)
        self.list_id = settings.mail.list_id or f"reminders.{self.domain}"
        self.source_titles = {s.id: s.title for s in settings.sources}
        self.templates = TemplateCache(templates)
        self._unsubscribe_base = f"{settings.site.base_url}unsubscribe?token="
        self.links = Links(str(settings.site.base_url), signing_key)
        from scheduler.subscriptions.digest_compose import DigestComposer  # it uses Outgoing

        self.digests = DigestComposer(settings, self.links, clock, self.templates)

    def new_pass(self) -> None:
        self.templates.clear()
        self.digests.new_pass()

    def load(self, conn: Connection, row_ids: list[int]) -> list[Outgoing]:
        return [compose() for compose in self.load_lazily(conn, row_ids)]

    def load_lazily(self, conn: Connection, row_ids: list[int]) -> list[Callable[[], Outgoing]]:
        """Read the rows now (one query), compose each message when it is called for: a
        sender composes its next message while the others' are on the wire, instead of the
        whole batch being composed while every connection waits."""
        rows_query, deadlines_query = _queries(conn.dialect.name)
        claimed = list(conn.execute(rows_query, {"ids": row_ids}))
        deadline_ids = sorted({row.deadline_id for row in claimed if row.deadline_id is not None})
        by_id: dict[int, Any] = {}
        if deadline_ids:
            by_id = {d.id: d for d in conn.execute(deadlines_query, {"ids": deadline_ids})}
        # A reminder row with its deadline; the others are digests (no deadline of their own).
        rows = {row.id: row for row in claimed if row.deadline_id in by_id}
        missing = [row_id for row_id in row_ids if row_id not in rows]
        digests = self.digests.load(conn, missing) if missing else {}
        # The time left is worked out once per batch and deadline (the rows of a batch are
        # composed within milliseconds of each other), and so is each row key's template.
        now = self.clock.now()
        left: dict[tuple[datetime, str], str] = {}
        templates: dict[tuple[Any, ...], MessageTemplate] = {}  # this batch's, by row key
        return [
            partial(
                self._outgoing, rows[row_id], by_id[rows[row_id].deadline_id], now, left, templates
            )
            if row_id in rows
            else partial(_ready, digests[row_id])
            for row_id in row_ids
            if row_id in rows or row_id in digests
        ]

    def _outgoing(
        self,
        row: Any,
        deadline: Any,
        now: datetime,
        lefts: dict[tuple[datetime, str], str],
        templates: dict[tuple[Any, ...], MessageTemplate],
    ) -> Outgoing:
        key = "|".join(
            [
                deadline.uid,
                row.email,
                row.kind,
                str(row.offset_seconds),
                row.planned_closes_at.isoformat(),
            ]
        )
        message_id = message_id_for(key, self.domain)
        if not deadline.active:
            return Outgoing(
                row.id, row.email, row.subscriber_id, None, message_id, "the deadline was withdrawn"
            )
        if deadline.closes_at != row.planned_closes_at:
            return Outgoing(
                row.id,
                row.email,
                row.subscriber_id,
                None,
                message_id,
                "the deadline moved; re-planned for the new time",
            )
        # The time really left when it goes out ("Closes tomorrow, ..."), not the offset.
        left = lefts.get((deadline.closes_at, deadline.timezone))
        if left is None:
            left = lefts[(deadline.closes_at, deadline.timezone)] = time_left(
                deadline.closes_at, now, deadline.timezone
            )
        chosen = (deadline.id, row.kind, row.offset_seconds, row.planned_closes_at, left)
        template = templates.get(chosen)
        if template is None:  # every column of the deadline is in the pass-wide key
            template = templates[chosen] = self.templates.get(
                (tuple(deadline), *chosen[1:]), lambda: self._reminder(deadline, row, left)
            )
        mail = template.render(
            row.email,
            message_id,
            self.links.unsubscribe(row.subscriber_id, row.token_version),
            clock=self.clock,
            manage_url=self.links.manage(row.subscriber_id, row.token_version),
        )
        return Outgoing(
            row.id, row.email, row.subscriber_id, mail, message_id, closes_at=row.planned_closes_at
        )

    def _reminder(self, deadline: Any, row: Any, left: str) -> ReminderMessage:
        """The message of `row`'s template (its recipient's values are replaced)."""
        stored = stored_from_row(deadline, updated_at=deadline.deadline_updated, active=True)
        event = CalendarEvent(
            uid=deadline.uid,
            sequence=deadline.sequence,
            summary=deadline.label,
            url=deadline.item_link,
            description=f"{closing_line(stored.deadline)}\n\n{deadline.item_title}\n{deadline.item_link}",
            closes_at=deadline.closes_at,
            stamp=deadline.deadline_updated,
        )
        kind = MessageKind.CHANGED if row.kind == "changed" else MessageKind.REMINDER
        return ReminderMessage(
            kind=kind,
            recipient=row.email,
            sender=self.sender,
            message_id=message_id_for(deadline.uid, self.domain),
            list_id=self.list_id,
            unsubscribe_url=f"{self._unsubscribe_base}template",
            manage_url=f"{self.links.base}manage?token=template",
            unsubscribe_mailto=self.settings.mail.unsubscribe_mailto,
            label=deadline.label,
            closes_at=deadline.closes_at,
            timezone=deadline.timezone,
            previous_closes_at=deadline.previous_closes_at if kind is MessageKind.CHANGED else None,
            item_title=deadline.item_title,
            item_link=deadline.item_link,
            source_title=self.source_titles.get(deadline.source_id, deadline.source_id),
            offset_text=offset_text(timedelta(seconds=row.offset_seconds)),
            event=event,
            time_left=left,
            calendar_url=self.links.calendar(deadline.uid),
        )
