"""Media types of the files in the output folder, and which of them are worth compressing."""

from __future__ import annotations

from pathlib import PurePosixPath

UTF8 = "; charset=utf-8"

MEDIA_TYPES: dict[str, str] = {
    ".rss": "application/rss+xml" + UTF8,
    ".atom": "application/atom+xml" + UTF8,
    ".json": "application/feed+json" + UTF8,
    ".ics": "text/calendar" + UTF8,
    ".html": "text/html" + UTF8,
    ".htm": "text/html" + UTF8,
    ".xml": "application/xml" + UTF8,
    ".xsl": "application/xslt+xml" + UTF8,
    ".opml": "text/x-opml" + UTF8,
    ".css": "text/css" + UTF8,
    ".js": "text/javascript" + UTF8,
    ".txt": "text/plain" + UTF8,
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/vnd.microsoft.icon",
    ".webp": "image/webp",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
}
OCTET_STREAM = "application/octet-stream"

# Already-compressed formats gain nothing from gzip.
_INCOMPRESSIBLE = frozenset({".png", ".webp", ".jpg", ".jpeg", ".gif"})

# The feed formats the generated index advertises, in the order it lists them.
FEED_SUFFIXES = (".rss", ".atom", ".json", ".ics", ".xml")


def media_type(name: str) -> str:
    """The Content-Type for a file name; unknown extensions are application/octet-stream."""
    return MEDIA_TYPES.get(PurePosixPath(name).suffix.lower(), OCTET_STREAM)


def compressible(name: str) -> bool:
    """True when gzip is worth trying for this file (known, not already compressed)."""
    suffix = PurePosixPath(name).suffix.lower()
    return suffix in MEDIA_TYPES and suffix not in _INCOMPRESSIBLE
