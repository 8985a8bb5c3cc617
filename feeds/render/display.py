"""How deadlines and items read to people: "Closes 17 February 2023, 23:59 Brussels time".

The one closing-time formatter (`closing_display`) and the one "time left" phrase
(`time_left`) live here; mail, the index, the calendar and the CLI import them.
"""

from __future__ import annotations

import html
from datetime import datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from feeds.model import Deadline, Item
from feeds.names import month_names, weekday_names
from feeds.sanitise import sanitise_html, text_to_html
from feeds.text import strip_control

UTC_NAMES = frozenset(
    {"UTC", "ETC/UTC", "ETC/UCT", "UCT", "ETC/UNIVERSAL", "UNIVERSAL", "ZULU", "Z"}
)
GMT_NAMES = frozenset({"GMT", "ETC/GMT", "ETC/GMT0", "ETC/GMT+0", "ETC/GMT-0", "GMT0", "GREENWICH"})


def zone_phrase(timezone: str) -> str:
    """The zone as people say it: "Europe/Brussels" -> "Brussels time", "UTC" -> "UTC",
    "GMT" -> "GMT", "Etc/GMT+5" -> "UTC-05:00" (IANA's Etc signs are inverted)."""
    upper = timezone.upper()
    if upper in UTC_NAMES:
        return "UTC"
    if upper in GMT_NAMES:
        return "GMT"
    if upper.startswith("ETC/"):
        offset = datetime(2000, 1, 1, tzinfo=ZoneInfo(timezone)).strftime("%z")
        return f"UTC{offset[:3]}:{offset[3:]}"
    city = timezone.rsplit("/", 1)[-1].replace("_", " ")
    return f"{city} time"


def local_closing(deadline: Deadline) -> datetime:
    return deadline.closes_at.astimezone(ZoneInfo(deadline.timezone))


def shown_local(closes_at: datetime, timezone: str) -> tuple[datetime, str]:
    """The local day and the clock text a closing instant is shown with.

    The one rule for every display: an instant at local midnight is the end of the day
    before, shown as 23:59 of that day (as is 23:59:59); any other instant shows its minute.
    """
    zone = ZoneInfo(timezone)
    local = closes_at.astimezone(zone)
    if (local.hour, local.minute, local.second, local.microsecond) == (0, 0, 0, 0):
        local = (closes_at - timedelta(seconds=1)).astimezone(zone)
    return local, f"{local:%H:%M}"


def closing_display(
    closes_at: datetime,
    timezone: str,
    *,
    weekday: bool = True,
    year: bool = True,
    language: str = "en",
) -> str:
    """THE closing-time formatter (feeds, mail, index, calendar, CLI):
    "Friday 17 February 2023, 23:59 Brussels time"; without weekday or year on request.
    Month and weekday names come from feeds.names (CLDR), never from the process locale."""
    local, clock_text = shown_local(closes_at, timezone)
    day = f"{local.day} {month_names(language)[local.month - 1]}"
    if year:
        day += f" {local.year}"
    if weekday:
        day = f"{weekday_names(language)[local.weekday()]} {day}"
    return f"{day}, {clock_text} {zone_phrase(timezone)}"


def closing_text(deadline: Deadline) -> str:
    """ "17 February 2023, 23:59 Brussels time" (end of day shows as 23:59)."""
    return closing_display(deadline.closes_at, deadline.timezone, weekday=False)


def time_left(closes_at: datetime, now: datetime, timezone: str) -> str:
    """How long is really left at `now`, as a sentence start: "Closes in 3 days",
    "Closes tomorrow, 17 February, 23:59 Brussels time", "Closes today, 23:59 Brussels time",
    "Closes in 40 minutes", "Closed". Days are counted in the deadline's own calendar."""
    left = closes_at - now
    if left <= timedelta(0):
        return "Closed"
    if left < timedelta(hours=1):
        minutes = max(1, int(left.total_seconds() // 60))
        return f"Closes in {minutes} minute{'' if minutes == 1 else 's'}"
    local, clock_text = shown_local(closes_at, timezone)
    today = now.astimezone(ZoneInfo(timezone)).date()
    days = (local.date() - today).days
    zone = zone_phrase(timezone)
    if days <= 0:
        return f"Closes today, {clock_text} {zone}"
    if days == 1:
        month = month_names("en")[local.month - 1]
        return f"Closes tomorrow, {local.day} {month}, {clock_text} {zone}"
    return f"Closes in {days} days"


def duration_text(span: timedelta) -> str:
    """7 days, 1 day, 36 hours, 3 hours, 30 minutes (reminder offsets, as people read them)."""
    seconds = int(span.total_seconds())
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "minute")):
        if seconds >= size and seconds % size == 0:
            amount = seconds // size
            return f"{amount} {unit}{'' if amount == 1 else 's'}"
    hours = seconds / 3600
    return f"{hours:.1f} hours" if hours >= 1 else f"{seconds // 60} minutes"


def countdown(closes_at: datetime, now: datetime) -> str:
    """A short countdown for lists: "3 days left", "5 hours left", "40 minutes left"."""
    seconds = int((closes_at - now).total_seconds())
    if seconds <= 0:
        return "closed"
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "minute")):
        if seconds >= size or unit == "minute":
            amount = max(1, seconds // size)
            return f"{amount} {unit}{'' if amount == 1 else 's'} left"
    raise AssertionError("unreachable")


def countdown_changes_at(closes_at: datetime, now: datetime) -> datetime:
    """The next instant after `now` at which `countdown(closes_at, ...)` reads differently."""
    seconds = (closes_at - now).total_seconds()
    if seconds <= 0:
        return closes_at
    for size in (86400, 3600, 60):
        if seconds >= size or size == 60:
            steps = int(seconds // size)  # the text reads `steps` until just after this
            return closes_at - timedelta(seconds=steps * size) + timedelta(seconds=1)
    raise AssertionError("unreachable")


def closing_line(deadline: Deadline) -> str:
    line = f"Closes {closing_text(deadline)}"
    if deadline.label:
        line += f": {deadline.label}"
    if not deadline.certain:
        line += " (date to be confirmed)"
    return line


def _deadline_lines(item: Item) -> str:
    if not item.deadlines:
        return ""
    return strip_control(
        "".join(
            f"<p><strong>{html.escape(closing_line(d), quote=False)}</strong></p>"
            for d in item.deadlines
        )
    )


# One publish renders each item's body up to eight times (RSS, Atom and JSON; content and
# summary; its source's feed and the merged one): keep the last few thousand bodies.
BODY_CACHE_SIZE = 4096


@lru_cache(maxsize=BODY_CACHE_SIZE)
def _body_of(content: str, is_html: bool) -> str:
    """Safe HTML that XML can carry (control characters removed once, here)."""
    return strip_control(sanitise_html(content) if is_html else text_to_html(content))


def _body_html(item: Item) -> str:
    return _body_of(item.content, item.content_is_html)


def _first_paragraph(body: str) -> str:
    return body.split("</p>", 1)[0] + "</p>" if body.startswith("<p>") else body


def item_html(item: Item) -> str:
    """The item body as safe HTML (no control characters), a line per deadline on top."""
    return _deadline_lines(item) + _body_html(item)


@lru_cache(maxsize=BODY_CACHE_SIZE)
def _teaser_html(summary: str) -> str:
    return strip_control(text_to_html(summary))


def summary_text(item: Item) -> str | None:
    """The item's own summary as plain text (a followed item's listing teaser), if any."""
    return strip_control(item.summary) if item.summary else None


def item_html_and_summary(item: Item) -> tuple[str, str]:
    """`item_html` and the summary (what a reader shows in a list) of one item, the body
    rendered once: the deadline lines, then the item's own summary (a followed item's listing
    teaser, its content being the page's main text) or else the body's first paragraph."""
    lines = _deadline_lines(item)
    body = _body_html(item)
    lead = _teaser_html(item.summary) if item.summary else _first_paragraph(body)
    return lines + body, lines + lead
