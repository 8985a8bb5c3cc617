"""Render message bodies from the Jinja2 templates in `templates/`.

`*.html.j2` templates autoescape; `*.txt.j2` do not (plain text goes out as a MIME part, it
cannot reach the headers). Links reach the templates only when they are http(s).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import jinja2

from feeds.render.display import closing_display
from feeds.sanitise import http_url, one_line

if TYPE_CHECKING:
    from scheduler.mail.message import ReminderMessage


def capitalised(text: str) -> str:
    """The first letter upper case, the rest as written ("call for evidence" -> "Call ...")."""
    return text[:1].upper() + text[1:]


TEMPLATE_DIR = Path(__file__).parent / "templates"


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        autoescape=jinja2.select_autoescape(
            enabled_extensions=("html.j2",), disabled_extensions=("txt.j2",), default=True
        ),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render_bodies(reminder: ReminderMessage) -> tuple[str, str | None]:
    """(text, html) for the message's kind; an alert has no HTML part."""
    previous = ""
    if reminder.previous_closes_at is not None:
        previous = closing_display(reminder.previous_closes_at, reminder.timezone)
    context = {
        "kind": str(reminder.kind),
        "label": one_line(reminder.label),
        "item_title": one_line(reminder.item_title),
        "item_link": http_url(reminder.item_link),
        "source_title": one_line(reminder.source_title),
        "offset_text": one_line(reminder.offset_text),
        "closes_display": reminder.closes_display,
        "previous_display": previous,
        "unsubscribe_url": http_url(reminder.unsubscribe_url),
        "alert_subject": one_line(reminder.alert_subject),
        "alert_body": reminder.alert_body,
        "recipient": reminder.recipient,
        "headline": one_line(capitalised(reminder.label or reminder.item_title)),
        "time_left": one_line(reminder.time_left)
        or (f"Closes in {reminder.offset_text}" if reminder.offset_text else "Closes soon"),
        "manage_url": http_url(reminder.manage_url),
        "calendar_url": http_url(reminder.calendar_url),
        "action_url": http_url(reminder.action_url),
        "digest": [
            {
                "label": one_line(capitalised(entry.label or entry.title)),
                "title": one_line(entry.title),
                "closes_display": entry.closes_display,
                "time_left": one_line(entry.time_left),
                "link": http_url(entry.link),
                "calendar_url": http_url(entry.calendar_url),
                "new": entry.new,
            }
            for entry in reminder.digest
        ],
        "digest_title": one_line(reminder.digest_title),
    }
    environment = _environment()
    text = environment.get_template(f"{reminder.kind}.txt.j2").render(context)
    if str(reminder.kind) == "alert":
        return text, None
    html = environment.get_template(f"{reminder.kind}.html.j2").render(context)
    return text, html
