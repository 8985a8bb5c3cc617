"""Make news-item text safe to put in a mail header or link.

Titles and labels come from web pages: they can hold CR/LF ("\\r\\nBcc: x"), Unicode line
separators (U+2028/9, NEL), other control and format characters. Header values are reduced to
one line of printable text; links must be absolute http(s) (or mailto: for unsubscribe).
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import urlsplit

_BLANKS = re.compile(r"\s+")
_ASCII_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
HEADER_MAX = 150


def one_line(text: str) -> str:
    """Every run of whitespace (incl. CR, LF, TAB, U+2028, U+2029, U+0085) becomes one space;
    control and format characters (Cc, Cf, Cs, Co, Cn except spaces) are dropped."""
    if text.isascii():  # fast path: the only controls are C0 and DEL
        return _BLANKS.sub(" ", _ASCII_CONTROL.sub(" ", text)).strip()
    kept = "".join(
        char if not unicodedata.category(char).startswith("C") else " "
        for char in text
        if char.isspace() or unicodedata.category(char) not in ("Cf", "Cs", "Co", "Cn")
    )
    return _BLANKS.sub(" ", kept).strip()


def header_text(text: str, *, limit: int = HEADER_MAX) -> str:
    """A single-line header value of at most `limit` characters (an ellipsis marks a cut)."""
    line = one_line(text)
    if len(line) <= limit:
        return line
    return line[: limit - 1].rstrip() + "…"


def http_url(url: str | None) -> str | None:
    """`url` if it is an absolute http(s) URL without blanks or control characters, else None."""
    if not url or url != one_line(url) or " " in url:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return url


def mailto_url(url: str | None) -> str | None:
    """`url` if it is a `mailto:` URL without blanks, angle brackets or control characters."""
    if not url or url != one_line(url) or any(char in url for char in " <>,"):
        return None
    if not url.lower().startswith("mailto:") or "@" not in url:
        return None
    return url
