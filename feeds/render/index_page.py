"""The small HTML index written next to the feeds: subscribe links, autodiscovery, deadlines."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from jinja2 import Environment, PackageLoader, select_autoescape

from feeds.render.display import closing_text
from feeds.store.deadlines import StoredDeadline

_ENV = Environment(
    loader=PackageLoader("feeds.render", "templates"),
    autoescape=select_autoescape(default=True),
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


def render_index(
    *,
    title: str,
    base_url: str,
    feeds: Sequence[FeedLinks],
    upcoming: Sequence[UpcomingDeadline],
) -> bytes:
    page = _ENV.get_template("index.html.j2").render(
        title=title,
        base_url=base_url,
        feeds=feeds,
        upcoming=[(u, closing_text(u.stored.deadline)) for u in upcoming],
    )
    return page.encode("utf-8")
