"""What feedline remembers of each followed item page, and the entry it makes of it.

A record keeps the listing's entry (so an item can be rebuilt when the listing did not change
but its page did), the page's HTTP validators, and the page's last good data: main text and
dates. A failed read keeps that data and counts the failure.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from feeds.model import Entry
from feeds.sources.base import FetchState


@dataclass(frozen=True, slots=True)
class PageRecord:
    source_id: str
    url: str
    item_id: str
    listing: Entry
    first_seen: datetime
    fetch: FetchState = field(default_factory=FetchState)
    extract_key: str | None = None
    content: str | None = None  # None: no good read yet
    published: datetime | None = None
    updated: datetime | None = None
    fetched_at: datetime | None = None
    error: str | None = None
    error_at: datetime | None = None
    failures: int = 0

    @property
    def has_page(self) -> bool:
        return self.content is not None

    @property
    def dated(self) -> datetime:
        """When the item was published, as best known: listing, page, first seen."""
        return self.listing.published or self.published or self.first_seen

    def failed(self, error: str, now: datetime) -> PageRecord:
        return replace(self, error=error, error_at=now, failures=self.failures + 1)

    def entry(self) -> Entry:
        """The item: the listing's title, link and date (a listing date wins), the page's main
        text as content (the listing's teaser stays the summary), the page's dates otherwise.
        Without a page read, the listing's entry alone: no summary beside its own content."""
        listing = self.listing
        if not self.content:
            return replace(listing, summary=None) if listing.summary is not None else listing
        summary = listing.summary
        if summary is None and listing.content:
            # Imported here: the store reads records too, and `feedline status` needs no sanitiser.
            from feeds.sanitise import html_to_text

            summary = html_to_text(listing.content) if listing.content_is_html else listing.content
        return Entry(
            title=listing.title,
            content=self.content,
            content_is_html=True,
            link=listing.link,
            published=listing.published or self.published,
            updated=self.updated or listing.updated,
            guid=listing.guid,
            summary=summary or None,
        )


@dataclass(frozen=True, slots=True)
class PageState:
    """What deciding and revalidating a page needs of its record, without its stored text:
    read for every followed source at once when a refresh starts (`feeds.store.pages`)."""

    url: str
    item_id: str
    dated: datetime  # as `PageRecord.dated`
    fetch: FetchState
    extract_key: str | None
    has_page: bool
    failures: int
    error: str | None

    @property
    def clean(self) -> bool:
        """A 304 with the same validators leaves the record as it is."""
        return self.failures == 0 and self.error is None


def _when(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _parse_when(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def entry_to_json(entry: Entry) -> str:
    return json.dumps(
        {
            "title": entry.title,
            "content": entry.content,
            "content_is_html": entry.content_is_html,
            "link": entry.link,
            "published": _when(entry.published),
            "updated": _when(entry.updated),
            "guid": entry.guid,
            "summary": entry.summary,
        },
        ensure_ascii=False,
    )


def published_from_json(text: str) -> datetime | None:
    """The `published` of an entry stored by `entry_to_json`, without making the entry."""
    return _parse_when(json.loads(text).get("published"))


def entry_from_json(text: str) -> Entry:
    data = json.loads(text)
    return Entry(
        title=str(data["title"]),
        content=str(data["content"]),
        content_is_html=bool(data["content_is_html"]),
        link=data.get("link"),
        published=_parse_when(data.get("published")),
        updated=_parse_when(data.get("updated")),
        guid=data.get("guid"),
        summary=data.get("summary"),
    )
