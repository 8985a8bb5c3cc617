"""Text hygiene shared by readers and renderers."""

from __future__ import annotations

import re
import unicodedata

# XML 1.0 forbids C0 controls except tab, LF, CR; also drop C1 controls and the noncharacters.
_ILLEGAL_XML = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ud800-\udfff\ufffe\uffff]"
)  # lone surrogates too: a feed's "&#xD800;" decodes to one and no encoder takes it
_ASCII_XML_ALLOWED = bytes([0x09, 0x0A, 0x0D, *range(0x20, 0x7F)])
_OTHER_SPACES = "\t\u00a0\u2000-\u200b\u202f\u205f\u3000"
_SPACES = " " + _OTHER_SPACES
_SPACE = re.compile(f"[{_SPACES}]+")
# The runs clean_line must rewrite: a lone plain space is already what folding gives, so
# only a run of two or more, or a single other space character, is replaced.
_SPACE_TO_FOLD = re.compile(f"(?: [{_SPACES}]|[{_OTHER_SPACES}])[{_SPACES}]*")
_ALNUM_RUN = re.compile(r"[0-9a-z]+")


def strip_control(text: str) -> str:
    """Remove characters XML cannot carry (lxml refuses them)."""
    return _ILLEGAL_XML.sub("", text)


def has_control(text: str) -> bool:
    if text.isascii():
        # Deleting every ASCII character XML allows leaves exactly the ones it refuses.
        return bool(text.encode("ascii").translate(None, _ASCII_XML_ALLOWED))
    return _ILLEGAL_XML.search(text) is not None


def clean_line(text: str) -> str:
    """One tidy line: controls removed, runs of spaces (incl. no-break) folded."""
    if text.isascii() and text.isprintable():
        # No controls and no tabs: only a run of plain spaces can need folding.
        return (_SPACE.sub(" ", text) if "  " in text else text).strip()
    return _SPACE_TO_FOLD.sub(" ", strip_control(text)).strip()


def collapse(text: str) -> str:
    """Every whitespace run (line breaks included) to one space, trimmed: text on one line."""
    if has_control(text):  # a run of controls is no text either (an empty title stays empty)
        text = strip_control(text)
    return " ".join(text.split())  # str.split's whitespace is re's \s, at C speed


def normalise_title(title: str) -> str:
    """The key an item is recognised by when it has no URL: case, accents, punctuation folded."""
    folded = title.casefold()
    if not folded.isascii():  # ASCII has nothing to decompose and no combining marks
        decomposed = unicodedata.normalize("NFKD", folded)
        folded = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return "-".join(_ALNUM_RUN.findall(folded))  # letter and digit runs, hyphen-joined
