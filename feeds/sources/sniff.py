"""Which text encoding a fetched document uses: header charset, then the document's own word.

Order: a byte-order mark, the Content-Type charset (handled by the caller), an XML declaration,
`<meta charset>` or `<meta http-equiv="Content-Type" content="...; charset=...">` in the first
few kilobytes. What happens when nothing is declared is feeds.sources.decoding's policy.
Labels are normalised as browsers do (ISO-8859-1 and ASCII decode as windows-1252, a superset).
"""

from __future__ import annotations

import codecs
import re

SNIFF_BYTES = 4096

_XML_DECL = re.compile(rb"""^\s*<\?xml[^>]*?\bencoding\s*=\s*["']([A-Za-z0-9._:-]+)["']""")
_META_CHARSET = re.compile(rb"""<meta\b[^>]*?\bcharset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.I)
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_ALIASES = {
    "iso-8859-1": "windows-1252",
    "latin-1": "windows-1252",
    "latin1": "windows-1252",
    "l1": "windows-1252",
    "us-ascii": "windows-1252",
    "ascii": "windows-1252",
    "iso8859-1": "windows-1252",
    "iso_8859-1": "windows-1252",
}


def normalise_charset(label: str | None) -> str | None:
    """A Python codec name for a charset label, or None when the label is unknown."""
    if not label:
        return None
    label = label.strip().strip("\"'").lower()
    label = _ALIASES.get(label, label)
    try:
        codecs.lookup(label)
    except LookupError:
        return None
    return label


def media_type_and_charset(content_type: str | None) -> tuple[str | None, str | None]:
    """Split a Content-Type header into (media type, usable charset)."""
    if not content_type:
        return None, None
    parts = content_type.split(";")
    media_type = parts[0].strip().lower() or None
    charset = None
    for param in parts[1:]:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset":
            charset = normalise_charset(value)
    return media_type, charset


def declared_encoding(body: bytes) -> str | None:
    """The encoding a document declares for itself (BOM, XML declaration, meta), if any."""
    for bom, name in _BOMS:
        if body.startswith(bom):
            return name
    head = body[:SNIFF_BYTES]
    for pattern in (_XML_DECL, _META_CHARSET):
        match = pattern.search(head)
        if match:
            found = normalise_charset(match.group(1).decode("ascii", "replace"))
            if found and not found.startswith("utf-16"):
                return found
    return None
