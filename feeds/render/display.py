"""How deadlines and items read to people: "Closes 17 February 2023, 23:59 Brussels time"."""

from __future__ import annotations

import html
from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from feeds.model import Deadline, Item
from feeds.sanitise import sanitise_html, text_to_html
from feeds.text import strip_control


def zone_phrase(timezone: str) -> str:
    """ "Europe/Brussels" -> "Brussels time"; "UTC" -> "UTC"."""
    if timezone in ("UTC", "Etc/UTC"):
        return "UTC"
    city = timezone.rsplit("/", 1)[-1].replace("_", " ")
    return f"{city} time"


def local_closing(deadline: Deadline) -> datetime:
    return deadline.closes_at.astimezone(ZoneInfo(deadline.timezone))


def closing_text(deadline: Deadline) -> str:
    """ "17 February 2023, 23:59 Brussels time" (end of day shows as 23:59)."""
    local = local_closing(deadline)
    return f"{local.day} {local:%B %Y, %H:%M} {zone_phrase(deadline.timezone)}"


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


def item_html_and_summary(item: Item) -> tuple[str, str]:
    """`item_html` and the summary (the deadline lines and the first paragraph: what a reader
    shows in a list) of one item, the body rendered once."""
    lines = _deadline_lines(item)
    body = _body_html(item)
    return lines + body, lines + _first_paragraph(body)
