"""A newsroom on loopback for follow tests: a listing of titles, and each item's own page with
its metadata, a cookie banner and a sidebar that hold dates of their own."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from config.schema import Settings
from feeds.clock import FixedClock
from feeds.fetch import Fetcher
from feeds.follow.follower import Follower
from feeds.model import Item
from feeds.refresh import DeadlineHook, Refresher, RefreshReport
from feeds.sources.registry_fetched import fetched_readers
from feeds.store.items import newest_items
from feeds.store.tables import deadlines
from feeds.work import Work

BANNER = (
    '<div id="cookie-banner" class="cookie-consent">We use cookies. Our cookie policy applies '
    "until 31 December 2026; closes on 30 November 2026 for new consent.</div>"
)
SIDEBAR = (
    '<aside class="sidebar"><h2>Related</h2><ul><li><a href="/news/air">Consultation on air '
    "quality closes on 20 May 2026</a></li><li>Deadline for comments: 12 June 2026</li></ul>"
    "</aside>"
)
FOOTER = "<footer>Contact us. Cookie settings. Site updated on 5 March 2026.</footer>"


@dataclass(frozen=True)
class Notice:
    slug: str
    title: str
    body: Sequence[str]
    meta: str = ""  # what goes in <head> (or before the text, for a <time> element)
    time_element: str = ""


def item_page(notice: Notice) -> str:
    paragraphs = "".join(f"<p>{p}</p>" for p in notice.body)
    return (
        f"<!doctype html><html><head><title>{notice.title}</title>{notice.meta}</head><body>"
        f"{BANNER}<nav><a href='/'>Home</a> <a href='/news'>News</a></nav>"
        f"<main><article><h1>{notice.title}</h1>{notice.time_element}{paragraphs}</article>"
        f"{SIDEBAR}</main>{FOOTER}</body></html>"
    )


def listing(links: Sequence[tuple[str, str]], *, feed: str | None = None) -> str:
    items = "".join(f'<li class="news"><a href="{href}">{title}</a></li>' for href, title in links)
    alternate = f'<link rel="alternate" type="application/rss+xml" href="{feed}">' if feed else ""
    return (
        f"<!doctype html><html><head><title>News</title>{alternate}</head><body>"
        f"<ul>{items}</ul></body></html>"
    )


def meta_published(value: str) -> str:
    return f'<meta property="article:published_time" content="{value}">'


def json_ld_published(value: str) -> str:
    return (
        '<script type="application/ld+json">{"@context":"https://schema.org",'
        f'"@type":"NewsArticle","headline":"x","datePublished":"{value}"}}</script>'
    )


def time_published(value: str, shown: str) -> str:
    return f'<p class="meta">Published <time datetime="{value}">{shown}</time></p>'


def settings_for(tmp_path: Path, *sources: dict[str, Any]) -> Settings:
    return Settings.model_validate(
        {
            "site": {
                "base_url": "https://feeds.example.org/",
                "output_dir": str(tmp_path / "public"),
                "data_dir": str(tmp_path / "data"),
            },
            "sources": list(sources),
        }
    )


def html_follow_source(url: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": "newsroom",
        "kind": "html",
        "title": "Newsroom",
        "url": url,
        "follow": True,
        "select": {"item": "li.news", "title": "a"},
        **extra,
    }


async def refresh(
    settings: Settings,
    engine: Engine,
    fetcher: Fetcher,
    now: datetime,
    *,
    on_deadlines: DeadlineHook | None = None,
    work: Work | None = None,
    **follower: Any,
) -> RefreshReport:
    clock = FixedClock(now)
    refresher = Refresher(
        settings,
        engine,
        fetched_readers(fetcher),
        clock,
        on_deadlines=on_deadlines,
        work=work,
        follower=Follower(fetcher, clock, engine=engine, work=work, **follower),
    )
    return await refresher.refresh()


def stored_items(engine: Engine, source_id: str = "newsroom") -> list[Item]:
    with engine.connect() as conn:
        return newest_items(conn, [source_id], 100)


def active_deadlines(engine: Engine) -> dict[str, list[str]]:
    """Item id -> the ISO dates of its active deadlines."""
    found: dict[str, list[str]] = {}
    with engine.connect() as conn:
        rows = conn.execute(
            select(deadlines.c.item_id, deadlines.c.local_date)
            .where(deadlines.c.active.is_(True))
            .order_by(deadlines.c.local_date)
        )
        for item_id, local_date in rows:
            found.setdefault(item_id, []).append(local_date.isoformat())
    return found
