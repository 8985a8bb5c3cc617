"""Case-insensitive patterns that run fast on ASCII text.

With re.IGNORECASE the regex engine cannot skip the alternatives of a long alternation by
their first letter, so it tries them all at every position. On ASCII text, matching without
regard to case is exactly matching a lower-cased pattern against the lower-cased text (offsets
unchanged), which runs 3-5x faster. Any other text takes the IGNORECASE pattern, so the result
is always the IGNORECASE one (tests/deadlines/test_fast_paths.py compares the two).

A match found on the fast path is a match on the lower-cased text: its offsets are the text's,
its group strings are lower-cased. Read a group whose case matters with `group_of`.
"""

from __future__ import annotations

import re
import sys
from functools import cached_property

from feeds.deadlines.starts import with_factored_lead

# Named groups and escapes are kept as written; everything else is lower-cased.
_TOKEN = re.compile(r"\(\?P<\w+>|\(\?P=\w+\)|\\(.)|[^\\(]+|\(", re.DOTALL)
_CASELESS_ESCAPES = set("wWsSdDbBAZnrtfv")  # their meaning does not depend on letter case


def lowered(pattern: str) -> str:
    """`pattern` for lower-cased ASCII text: its letters lower-cased, group names kept."""
    if "(?-i" in pattern:
        raise ValueError("a case-sensitive part would match lower-cased text differently")
    others = sorted(set(pattern) - set(map(chr, range(128))))
    if others:
        any_other = re.compile(f"[{''.join(map(re.escape, others))}]", re.IGNORECASE)
        folded = [chr(c) for c in range(128) if any_other.match(chr(c))]
        if folded:
            raise ValueError(f"{folded!r} match a character of the pattern when case is ignored")
    parts: list[str] = []
    for m in _TOKEN.finditer(pattern):
        escaped = m.group(1)
        if escaped is None:
            token = m.group()
            parts.append(token if token.startswith("(?P") else token.lower())
        elif escaped.isalnum() and escaped not in _CASELESS_ESCAPES:
            raise ValueError(f"the escape \\{escaped} may stand for a letter")
        else:
            parts.append(m.group())
    return "".join(parts)


# The last ASCII text lower-cased, and its lower-cased form: a pair replaced whole, so a thread
# reading it sees one text's own form.
_last_lowered: tuple[str, str] = ("", "")


class Caseless:
    """A pattern matched without regard to case (IGNORECASE), quickly on ASCII text.

    Each form is compiled when first needed: most processes only ever read ASCII text.
    """

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self._lowered = lowered(pattern)  # checked now: a bad pattern fails at import

    @cached_property
    def general(self) -> re.Pattern[str]:
        return re.compile(self.pattern, re.IGNORECASE)

    @cached_property
    def ascii(self) -> re.Pattern[str]:
        # Its leading alternation grouped by first letters: the same matches, fewer steps.
        return re.compile(with_factored_lead(self._lowered))

    def _for(self, text: str) -> tuple[re.Pattern[str], str]:
        global _last_lowered
        if not text.isascii():
            return self.general, text
        last_text, last = _last_lowered
        if last_text is not text:  # most patterns are tried on the sentence the last one was
            last = text.lower()
            _last_lowered = (text, last)
        return self.ascii, last

    def search(self, text: str, pos: int = 0, endpos: int = sys.maxsize) -> re.Match[str] | None:
        pattern, subject = self._for(text)
        return pattern.search(subject, pos, endpos)

    def match(self, text: str, pos: int = 0, endpos: int = sys.maxsize) -> re.Match[str] | None:
        pattern, subject = self._for(text)
        return pattern.match(subject, pos, endpos)

    def fullmatch(self, text: str) -> re.Match[str] | None:
        pattern, subject = self._for(text)
        return pattern.fullmatch(subject)

    def finditer(self, text: str, pos: int = 0) -> list[re.Match[str]]:
        pattern, subject = self._for(text)
        return list(pattern.finditer(subject, pos))

    def remove(self, text: str) -> str:
        """`text` without the first match (`sub("", text, count=1)`): for anchored patterns."""
        m = self.search(text)
        return text if m is None else text[: m.start()] + text[m.end() :]


def group_of(text: str, m: re.Match[str], group: str | int = 0) -> str | None:
    """A group of a `Caseless` match as written in `text` (None if it did not take part)."""
    start, end = m.span(group)
    return None if start < 0 else text[start:end]
