"""The HTML index written next to the feeds: open consultations with countdowns, the sign-up
form, recent items per source, feed and calendar links (with autodiscovery).

Countdowns are worked out when the page is rendered (correct without script); the publisher
re-renders the page when a deadline closes and at each day boundary (feeds.publish_site).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, select_autoescape

from feeds.model import Item
from feeds.render.display import closing_display, countdown, local_closing
from feeds.store.deadlines import StoredDeadline

_ENV = Environment(
    loader=PackageLoader("feeds.render", "templates"),
    autoescape=select_autoescape(default=True, enabled_extensions=("html", "j2")),
    trim_blocks=True,
    lstrip_blocks=True,
)


@dataclass(frozen=True, slots=True)
class FeedLinks:
    title: str
    page_link: str
    base_name: str  # "home-affairs" or "all"


@dataclass(frozen=True, slots=True)
class UpcomingDeadline:
    stored: StoredDeadline
    item_title: str
    item_link: str


@dataclass(frozen=True, slots=True)
class SubscribeForm:
    """The sign-up form's fields (the index's copy has no CSRF token: it is a static page,
    so its POST is checked by origin instead; see scheduler/subscriptions/routes.py)."""

    action: str
    sources: Sequence[tuple[str, str, bool]]  # id, title, checked
    offsets: Sequence[tuple[str, str, bool]]  # "7d", "7 days", checked
    digest: str = "off"
    email: str = ""
    csrf: str = ""
    from_index: bool = False
    button: str = "Subscribe"
    manage: bool = False  # the /manage copy: no address field, saves the choice


@dataclass(frozen=True, slots=True)
class RecentItems:
    title: str
    base_name: str
    items: Sequence[Item] = field(default_factory=tuple)
    timezone: str = "UTC"  # the source's: an item's day is the day there


def calendar_path(uid: str) -> str:
    """Where one deadline's .ics is served: deadlines/<uid>.ics (uid percent-encoded)."""
    return f"deadlines/{quote(uid, safe='')}.ics"


VALID_UNTIL = re.compile(rb'<meta name="feedline-valid-until" content="([^"]+)">')


def read_valid_until(path: Path) -> datetime | None:
    """The `valid_until` an index page was rendered with (None: none, or no such page)."""
    try:
        with path.open("rb") as handle:
            head = handle.read(4096)
    except OSError:
        return None
    found = VALID_UNTIL.search(head)
    if found is None:
        return None
    try:
        return datetime.fromisoformat(found.group(1).decode("ascii"))
    except ValueError:
        return None


def render_page(template: str, **context: object) -> str:
    """Render a page template of this package (the web forms share its style and form)."""
    return _ENV.get_template(template).render(**context)


def render_index(
    *,
    title: str,
    base_url: str,
    feeds: Sequence[FeedLinks],
    upcoming: Sequence[UpcomingDeadline],
    now: datetime,
    form: SubscribeForm,
    recent: Sequence[RecentItems] = (),
    language: str = "en",
    valid_until: datetime | None = None,
) -> bytes:
    """The page; `valid_until` (when its first countdown next changes) is written into it,
    so any later process can tell that it needs rendering again (`read_valid_until`)."""
    entries = [
        {
            "label": u.stored.deadline.label[:1].upper() + u.stored.deadline.label[1:],
            "closes": closing_display(u.stored.deadline.closes_at, u.stored.deadline.timezone),
            "closes_iso": local_closing(u.stored.deadline).isoformat(),
            "countdown": countdown(u.stored.deadline.closes_at, now),
            "certain": u.stored.deadline.certain,
            "item_title": u.item_title,
            "item_link": u.item_link,
            "calendar_url": calendar_path(u.stored.uid),
        }
        for u in upcoming
    ]
    recent_view = [
        {
            "title": source.title,
            "base_name": source.base_name,
            "entries": [
                {
                    "title": item.title,
                    "link": item.link,
                    "iso": item.published.isoformat(),
                    "day": f"{item.published.astimezone(ZoneInfo(source.timezone)):%Y-%m-%d}",
                }
                for item in source.items
            ],
        }
        for source in recent
    ]
    webcal = "webcal://" + base_url.split("://", 1)[-1] + "deadlines.ics"
    page = _ENV.get_template("index.html.j2").render(
        title=title,
        base_url=base_url,
        feeds=feeds,
        upcoming=entries,
        recent=recent_view,
        form=form,
        webcal_url=webcal,
        language=language,
        valid_until=valid_until.astimezone(UTC).isoformat() if valid_until else "",
    )
    return page.encode("utf-8")
