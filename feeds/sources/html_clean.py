"""Sanitising item HTML and making its links absolute (nh3, one policy for every reader)."""

from __future__ import annotations

import html
import re
from urllib.parse import urljoin, urlsplit

import nh3

ALLOWED_TAGS = frozenset({"p", "a", "em", "strong", "ul", "ol", "li", "br", "blockquote"})
ALLOWED_ATTRIBUTES = {"a": {"href"}}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
DROP_WITH_CONTENT = frozenset({"script", "style", "template", "noscript", "iframe", "object"})

_SPACE = re.compile(r"\s+")
_BLOCK_END = re.compile(r"</(?:p|li|div|blockquote|h[1-6]|tr|td|th|dd|dt)\s*>|<br\s*/?>", re.I)


def collapse(text: str) -> str:
    """Whitespace runs to one space, trimmed."""
    return _SPACE.sub(" ", text).strip()


def absolute(link: str | None, base: str | None) -> str | None:
    """`link` resolved against `base`; None for empty links and non-web schemes."""
    if link is None:
        return None
    link = link.strip()
    if not link or (link.startswith("#") and not base):
        return None
    resolved = urljoin(base, link) if base else link
    scheme = urlsplit(resolved).scheme.lower()
    if scheme not in URL_SCHEMES:
        return None
    return resolved


def sanitise(fragment: str, base: str | None) -> str:
    """Keep basic structure (p, a[href], em, strong, lists, br, blockquote); links absolute
    against `base`, with rel="noopener"."""

    def rewrite(tag: str, attribute: str, value: str) -> str | None:
        if tag == "a" and attribute == "href":
            return absolute(value, base)
        return value

    cleaned = nh3.clean(
        fragment,
        tags=set(ALLOWED_TAGS),
        clean_content_tags=set(DROP_WITH_CONTENT),
        attributes={k: set(v) for k, v in ALLOWED_ATTRIBUTES.items()},
        attribute_filter=rewrite,
        link_rel="noopener",
        url_schemes=set(URL_SCHEMES),
    )
    return cleaned.strip()


def plain_text(fragment: str) -> str:
    """The text of an HTML fragment, tags dropped, entities decoded, whitespace collapsed."""
    spaced = _BLOCK_END.sub(lambda m: m.group(0) + " ", fragment)
    stripped = nh3.clean(spaced, tags=set(), clean_content_tags=set(DROP_WITH_CONTENT))
    return collapse(html.unescape(stripped))


def escape_text(text: str) -> str:
    """Plain text as one sanitised HTML paragraph per blank-line-separated block."""
    blocks = [collapse(b) for b in re.split(r"\n\s*\n", text)]
    return "".join(f"<p>{html.escape(b, quote=False)}</p>" for b in blocks if b)
