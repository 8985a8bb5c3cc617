"""Searching a long alternation only where a match can begin.

A pattern that opens with a look-behind gives the regex engine nothing to skip ahead to, so it
tries every position of the text. When the characters a match can start with are known, one
search for them (a class the engine scans for quickly) and an anchored match there find the
same matches as `finditer`, in the same order.
"""

from __future__ import annotations

import re
from collections.abc import Iterator


def matches_at_starts(
    pattern: re.Pattern[str], starts: re.Pattern[str], text: str
) -> Iterator[re.Match[str]]:
    """`pattern.finditer(text)` for a pattern that never matches the empty string, tried only
    where `starts` (a one-character search that misses no position a match can begin at)
    finds a candidate."""
    position = 0
    while (start := starts.search(text, position)) is not None:
        m = pattern.match(text, start.start())
        if m is None:
            position = start.start() + 1
        else:
            yield m
            position = m.end()
