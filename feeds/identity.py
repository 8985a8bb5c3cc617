"""Stable item ids: the item URL when there is one, else a `tag:` URI (RFC 4151).

A tag: URI is the source's prefix for a day plus the item's normalised title
(feeds.text.normalise_title), which is also its stored `title_key`. The day is the item's own
publication date (as the source states it, in the source's zone) when the source gives one,
else the day the item was first seen. So a source that dates its items mints the same ids
again when the database is lost and rebuilt: readers and calendars see no duplicates.

Never a content hash: an edited paragraph must update the item, not make a new one.
"""

from __future__ import annotations

from datetime import date, datetime
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo

from feeds.model import Entry


def normalise_url(url: str) -> str:
    """Lower-case scheme and host, drop the fragment; keep path and query as given."""
    parts = urlsplit(url.strip())
    return urlunsplit(
        (parts.scheme.lower(), parts.netloc.lower(), parts.path or "/", parts.query, "")
    )


def is_absolute_url(url: str | None) -> bool:
    if not url:
        return False
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def tag_uri_prefix(authority_url: str, first_seen: date, source_id: str) -> str:
    """The start of the tag: URIs a source mints on `first_seen`; the title key completes each.

    tag:river.example.org,2024-03-05:river/ + normalise_title("First title")
    """
    host = urlsplit(authority_url).hostname or "feedline.invalid"
    return f"tag:{host},{first_seen.isoformat()}:{source_id}/"


def tag_day(entry: Entry, first_seen: datetime, zone: ZoneInfo) -> date:
    """The day in an entry's tag: URI: its publication date when it has one, else
    `first_seen`'s (both as calendar dates in the source's zone)."""
    return (entry.published or first_seen).astimezone(zone).date()


def natural_id(entry: Entry) -> str | None:
    """The id an entry carries itself (feed guid or its own URL); None when it has none."""
    if entry.guid and (entry.guid.startswith("tag:") or is_absolute_url(entry.guid)):
        return entry.guid
    if entry.guid:
        return None
    if entry.link is not None and is_absolute_url(entry.link):
        return normalise_url(entry.link)
    return None
