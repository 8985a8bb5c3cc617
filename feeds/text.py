"""Text hygiene shared by readers and renderers."""

from __future__ import annotations

import re
import unicodedata

# XML 1.0 forbids C0 controls except tab, LF, CR; also drop C1 controls and the noncharacters.
_ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ufffe\uffff]")
_SPACE = re.compile(r"[ \t\u00a0\u2000-\u200b\u202f\u205f\u3000]+")


def strip_control(text: str) -> str:
    """Remove characters XML cannot carry (lxml refuses them)."""
    return _ILLEGAL_XML.sub("", text)


def has_control(text: str) -> bool:
    return _ILLEGAL_XML.search(text) is not None


def clean_line(text: str) -> str:
    """One tidy line: controls removed, runs of spaces (incl. no-break) folded."""
    return _SPACE.sub(" ", strip_control(text)).strip()


def normalise_title(title: str) -> str:
    """The key an item is recognised by when it has no URL: case, accents, punctuation folded."""
    folded = unicodedata.normalize("NFKD", title.casefold())
    ascii_only = "".join(ch for ch in folded if not unicodedata.combining(ch))
    return re.sub(r"[^0-9a-z]+", "-", ascii_only).strip("-")
