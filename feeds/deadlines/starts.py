"""Searching a long alternation only where a match can begin.

A pattern that opens with a look-behind gives the regex engine nothing to skip ahead to, so it
tries every position of the text. When the characters a match can start with are known, one
search for them (a class the engine scans for quickly) and an anchored match there find the
same matches as `finditer`, in the same order.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterator
from typing import Any


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


_parser: Any = importlib.import_module("re._parser")  # the parser `re` itself compiles with
_C: Any = importlib.import_module("re._constants")
_WIDEST_RANGE = 256  # a class wider than this counts as "any character"


def first_chars(pattern: str) -> frozenset[str] | None:
    """The characters a match of `pattern` (compiled without flags) can start with, or None
    when that is not a short known set (a class like `\\w`, a match that may be empty)."""
    firsts, nullable = _firsts(_parser.parse(pattern))
    return None if firsts is None or nullable else frozenset(firsts)


def may_be_empty(pattern: str) -> bool:
    """Whether `pattern` (compiled without flags) can match the empty string."""
    return bool(_parser.parse(pattern).getwidth()[0] == 0)


def _firsts(items: Any) -> tuple[set[str] | None, bool]:
    """(first characters, whether the sequence `items` may match the empty string)."""
    found: set[str] = set()
    for op, av in items:
        firsts, nullable = _first_of(op, av)
        if firsts is None:
            return None, False
        found |= firsts
        if not nullable:
            return found, False
    return found, True


def _first_of(op: Any, av: Any) -> tuple[set[str] | None, bool]:
    if op is _C.LITERAL:
        return {chr(av)}, False
    if op is _C.IN:
        chars: set[str] = set()
        for item, value in av:
            if item is _C.LITERAL:
                chars.add(chr(value))
            elif item is _C.RANGE and value[1] - value[0] <= _WIDEST_RANGE:
                chars.update(map(chr, range(value[0], value[1] + 1)))
            else:  # NEGATE, CATEGORY, a wide range
                return None, False
        return chars, False
    if op is _C.SUBPATTERN:
        _, add_flags, del_flags, inner = av
        return (None, False) if add_flags or del_flags else _firsts(inner)
    if op is _C.ATOMIC_GROUP:
        return _firsts(av)
    if op is _C.BRANCH:
        found: set[str] = set()
        any_nullable = False
        for alternative in av[1]:
            firsts, nullable = _firsts(alternative)
            if firsts is None:
                return None, False
            found |= firsts
            any_nullable |= nullable
        return found, any_nullable
    if op in (_C.MAX_REPEAT, _C.MIN_REPEAT, _C.POSSESSIVE_REPEAT):
        low, _, inner = av
        firsts, nullable = _firsts(inner)
        return firsts, low == 0 or nullable
    if op in (_C.AT, _C.ASSERT, _C.ASSERT_NOT):
        return set(), True  # zero-width: the first character comes after it
    return None, False


# --- alternations factored by their leading letters ------------------------------------------

_SPECIAL = set("\\.^$*+?{}[]|()")
_QUANTIFIERS = set("*+?{")
_MAX_FACTOR_DEPTH = 4


def _structure(pattern: str, start: int = 0) -> Iterator[tuple[int, str, int]]:
    """(index, character, group depth after it) of each character of `pattern` from `start`
    that is neither escaped nor inside a character class: the one scanner both helpers use."""
    depth = 0
    in_class = False
    i = start
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            i += 2
            continue
        if in_class:
            if char == "]" and pattern[i - 1] != "[" and pattern[i - 2 : i] != "[^":
                in_class = False
        elif char == "[":
            in_class = True
        else:
            depth += {"(": 1, ")": -1}.get(char, 0)
            yield i, char, depth
        i += 1


def split_alternatives(pattern: str) -> list[str]:
    """The top-level alternatives of `pattern` (split at `|` outside groups and classes)."""
    parts: list[str] = []
    start = 0
    for i, char, depth in _structure(pattern):
        if char == "|" and depth == 0:
            parts.append(pattern[start:i])
            start = i + 1
    parts.append(pattern[start:])
    return parts


def _leading_literal(alternative: str) -> str | None:
    """The literal character `alternative` starts with (one no quantifier applies to)."""
    if not alternative or alternative[0] in _SPECIAL:
        return None
    if alternative[1:2] and alternative[1] in _QUANTIFIERS:
        return None
    return alternative[0]


def factored(alternatives: list[str], depth: int = 0) -> str:
    """`"|".join(alternatives)` (compiled without re.IGNORECASE), written so that the regex
    engine tries fewer of them.

    Alternatives that start with the same literal character are grouped behind it
    (`con(?:sult|cert)` for `consult|concert`), their order kept; one that does not start with
    a literal stays where it is and groups form on either side of it. At any position only the
    group of the character there can match, and within it the alternatives are tried in their
    order, so the pattern matches exactly what the plain alternation matches (same spans, same
    groups): the engine just skips the other groups with one test each.
    """
    if depth == 0 and any(re.compile(a).groups for a in alternatives):
        return "|".join(alternatives)  # groups would be numbered in another order
    if depth >= _MAX_FACTOR_DEPTH or len(alternatives) < 2:
        return "|".join(alternatives)
    parts: list[str] = []
    run: list[str] = []
    for alternative in alternatives:
        if _leading_literal(alternative) is None:
            parts += _grouped(run, depth)
            parts.append(alternative)
            run = []
        else:
            run.append(alternative)
    parts += _grouped(run, depth)
    return "|".join(parts)


def _grouped(alternatives: list[str], depth: int) -> list[str]:
    """Alternatives that all start with a literal character, grouped by it."""
    groups: dict[str, list[str]] = {}
    for alternative in alternatives:
        groups.setdefault(alternative[0], []).append(alternative[1:])
    branches = []
    for first, rests in groups.items():
        inner = factored(rests, depth + 1)
        single = len(split_alternatives(inner)) == 1
        branches.append(first + inner if single else f"{first}(?:{inner})")
    return branches


def _group_end(pattern: str, start: int) -> int | None:
    """The index of the `)` closing the group opened at `pattern[start]` (None: unbalanced)."""
    for i, char, depth in _structure(pattern, start):
        if char == ")" and depth == 0:
            return i
    return None


_LEADS = ("(?<!\\w)(?:", "(?:")


def with_factored_lead(pattern: str) -> str:
    """`pattern` (compiled without re.IGNORECASE) with its leading alternation `factored`:
    the whole pattern's, or that of a `(?:...)` group it opens with (after a `(?<!\\w)`).
    It matches exactly what `pattern` matches; a pattern of another shape comes back as is."""
    try:
        alternatives = split_alternatives(pattern)
        if len(alternatives) > 1:
            return factored(alternatives)
        for lead in _LEADS:
            if pattern.startswith(lead):
                end = _group_end(pattern, len(lead) - 3)
                if end is None:
                    return pattern
                inner = split_alternatives(pattern[len(lead) : end])
                if len(inner) < 2:
                    return pattern
                return f"{lead}{factored(inner)}{pattern[end:]}"
    except re.error:  # a piece that does not compile alone (a back-reference): left as is
        return pattern
    return pattern
