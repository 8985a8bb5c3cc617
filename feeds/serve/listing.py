"""The page served at `/` when the publisher has not written an `index.html`."""

from __future__ import annotations

import os
from html import escape
from urllib.parse import quote

from feeds.serve.media import FEED_SUFFIXES, media_type

_AUTODISCOVERY = (".rss", ".atom", ".json")


def feed_files(root: str) -> list[tuple[str, float]]:
    """(name, mtime) of the feed files at the top of `root`, by name; no dotfiles."""
    found: list[tuple[str, float]] = []
    with os.scandir(root) as entries:
        for entry in entries:
            if entry.name.startswith(".") or not entry.name.lower().endswith(FEED_SUFFIXES):
                continue
            try:
                if entry.is_file():
                    found.append((entry.name, entry.stat().st_mtime))
            except OSError:
                continue
    return sorted(found)


def render_listing(names: list[str], *, title: str = "feedline") -> bytes:
    """A minimal HTML page linking each feed, with `<link rel="alternate">` autodiscovery."""
    heads: list[str] = []
    items: list[str] = []
    for name in names:
        href = escape(quote(name), quote=True)
        kind = escape(media_type(name).split(";")[0], quote=True)
        label = escape(name)
        if name.lower().endswith(_AUTODISCOVERY):
            heads.append(f'<link rel="alternate" type="{kind}" title="{label}" href="{href}">')
        items.append(f'<li><a href="{href}" type="{kind}">{label}</a></li>')
    page = [
        "<!doctype html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f"<title>{escape(title)}</title>",
        *heads,
        "</head>",
        "<body>",
        f"<h1>{escape(title)}</h1>",
        "<ul>",
        *items,
        "</ul>",
        "</body>",
        "</html>",
        "",
    ]
    return "\n".join(page).encode("utf-8")
