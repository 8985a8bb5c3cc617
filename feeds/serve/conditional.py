"""HTTP validators and content negotiation (RFC 9110), as pure functions over header values."""

from __future__ import annotations

import re
from datetime import UTC
from email.utils import formatdate, parsedate_to_datetime
from functools import lru_cache

# An entity-tag: optional weakness marker, then a quoted opaque tag (which may hold commas).
_ENTITY_TAG = re.compile(r'\s*(?:W/)?("[\x21\x23-\x7e\x80-\xff]*")\s*(?:,|$)')


def http_date(timestamp: float) -> str:
    """An IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) for a POSIX timestamp."""
    return formatdate(timestamp, usegmt=True)


def match_none_match(header: str, *etags: str) -> str | None:
    """Which of our `etags` an If-None-Match value matches (weak comparison), or None.

    `*` matches the first of `etags` (the representation that would be sent). A value that is
    not a list of entity-tags matches nothing, so the request gets a full response.
    """
    value = header.strip()
    if not etags:
        return None
    if value == "*":
        return etags[0]
    if value in etags:  # the usual poll: the one tag we gave
        return value
    pos = 0
    while pos < len(value):
        found = _ENTITY_TAG.match(value, pos)
        if found is None or found.end() == pos:
            return None
        if found.group(1) in etags:
            return found.group(1)
        pos = found.end()
    return None


def not_modified_since(header: str, last_modified: int) -> bool:
    """True when If-Modified-Since is a valid date and `last_modified` (whole seconds) <= it.

    Unparseable values are ignored (False): the client then gets a full response.
    """
    since = _timestamp(header)
    return since is not None and last_modified <= since


@lru_cache(maxsize=1024)  # readers send back the Last-Modified they got: few distinct values
def _timestamp(header: str) -> float | None:
    try:
        since = parsedate_to_datetime(header)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if since.tzinfo is None:  # "-0000" and asctime dates: HTTP dates are always UTC
        since = since.replace(tzinfo=UTC)
    try:
        return since.timestamp()
    except (OverflowError, OSError):
        return None


@lru_cache(maxsize=1024)  # each client sends the same value every time: few distinct values
def accepts_gzip(header: str) -> bool:
    """True when an Accept-Encoding value allows gzip (`gzip`, `x-gzip` or `*`, q > 0)."""
    star: bool | None = None
    for member in header.split(","):
        coding, _, params = member.partition(";")
        coding = coding.strip().lower()
        if coding not in ("gzip", "x-gzip", "*"):
            continue
        allowed = _qvalue(params) > 0
        if coding == "*":
            star = allowed
        else:
            return allowed
    return bool(star)


def _qvalue(params: str) -> float:
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            try:
                return float(value.strip())
            except ValueError:
                return 0.0
    return 1.0
