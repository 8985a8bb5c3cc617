"""Domain types: frozen dataclasses, aware datetimes only."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time

from feeds.clock import as_utc
from feeds.text import has_control, strip_control


@dataclass(frozen=True, slots=True)
class Entry:
    """An item as a source reads it, before identity and storage.

    `content` is sanitised HTML (or plain text when `content_is_html` is false).
    `published` is None when the source gives no date: the page order then rules.
    """

    title: str
    content: str
    content_is_html: bool = False
    link: str | None = None
    published: datetime | None = None
    updated: datetime | None = None
    guid: str | None = None
    summary: str | None = None

    def __post_init__(self) -> None:
        for name in ("published", "updated"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, as_utc(value))
        # No character XML cannot carry gets past here, whichever reader made the entry
        # (lxml refused the whole feed for one control character in a guid).
        for name in ("title", "content", "link", "guid", "summary"):
            text = getattr(self, name)
            if text is not None and has_control(text):
                object.__setattr__(self, name, strip_control(text))

    def __reduce__(self) -> tuple[type[Entry], tuple[object, ...]]:
        # Entries cross to and from worker processes (feeds.work): rebuilt from their fields
        # in one call, about twice as fast as the slotted-dataclass default.
        return Entry, (
            self.title, self.content, self.content_is_html, self.link, self.published,
            self.updated, self.guid, self.summary,
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Deadline:
    """A closing date found in an item (or set by an operator override).

    `closes_at` is the instant (aware; UTC in storage); `local_date`, `local_time` and
    `timezone` are as stated in the text (local_time None = end of day, `all_day` True).
    `certain` is False when the date rests on weak evidence (a guessed year, an ambiguous
    zone): such deadlines are flagged for review, never silently trusted.
    """

    closes_at: datetime
    local_date: date
    local_time: time | None
    timezone: str
    label: str
    evidence: str
    certain: bool = True
    all_day: bool = True
    item_id: str = ""

    def __post_init__(self) -> None:
        if self.closes_at.tzinfo is None:
            raise ValueError("Deadline.closes_at must be timezone-aware")


@dataclass(frozen=True, slots=True)
class Item:
    """A stored news item with its stable id."""

    id: str
    source_id: str
    title: str
    link: str
    content: str
    content_is_html: bool
    published: datetime
    updated: datetime
    first_seen: datetime
    position: int = 0
    dated: bool = False
    deadlines: tuple[Deadline, ...] = field(default_factory=tuple)
    summary: str | None = None  # a followed item's listing teaser (plain text); None: none
