"""`feedline deadlines`: stored deadlines with how long until they close."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from config.schema import Settings
from feeds.clock import Clock
from feeds.render.display import closing_text, local_closing
from feeds.store.deadlines import StoredDeadline, deadline_rows_with_items
from scheduler.database import open_database


def humanise(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds < 0:
        return "closed " + humanise(-delta) + " ago"
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    if days:
        return f"{days}d {hours}h"
    return f"{hours}h {rest // 60}m"


@dataclass(frozen=True)
class DeadlineRow:
    stored: StoredDeadline
    item_title: str
    item_link: str
    now: datetime

    def as_line(self) -> str:
        d = self.stored.deadline
        flag = "" if d.certain else "  [uncertain: check the year]"
        return (
            f"{humanise(d.closes_at - self.now):>14}  {closing_text(d)}  {d.label}\n"
            f"{'':>16}{self.item_title} [{self.stored.source_id}]{flag}"
        )

    def as_json(self) -> dict[str, Any]:
        d = self.stored.deadline
        return {
            "uid": self.stored.uid,
            "closes_at": local_closing(d).isoformat(),
            "closes_in_seconds": int((d.closes_at - self.now).total_seconds()),
            "date": d.local_date.isoformat(),
            "time": d.local_time.isoformat(timespec="minutes") if d.local_time else None,
            "timezone": d.timezone,
            "label": d.label,
            "certain": d.certain,
            "evidence": d.evidence,
            "origin": self.stored.origin,
            "item": self.item_title,
            "link": self.item_link,
            "source": self.stored.source_id,
            "sequence": self.stored.sequence,
        }


def deadline_listing(settings: Settings, clock: Clock, *, show_all: bool) -> list[DeadlineRow]:
    engine = open_database(settings)
    now = clock.now()
    try:
        with engine.connect() as conn:
            rows = deadline_rows_with_items(conn, since=None if show_all else now)
    finally:
        engine.dispose()
    return [DeadlineRow(stored, title, link, now) for stored, title, link in rows]
