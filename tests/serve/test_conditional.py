"""The header logic on its own: entity-tag lists, dates, Accept-Encoding, request paths."""

from __future__ import annotations

import pytest

from feeds.serve.conditional import (
    accepts_gzip,
    http_date,
    match_none_match,
    not_modified_since,
)
from feeds.serve.media import media_type
from feeds.serve.static import safe_relative

PLAIN, PACKED = '"abc"', '"abc-gz"'
LAST_MODIFIED = 1675846800  # Wed, 08 Feb 2023 09:00:00 GMT


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ('"abc"', PLAIN),
        ('W/"abc"', PLAIN),
        ('"x", "abc-gz"', PACKED),
        ('"x",W/"abc" , "y"', PLAIN),
        ("*", PLAIN),
        ('"a,b", "abc"', PLAIN),  # a comma inside an opaque tag is not a separator
        ('"x"', None),
        ("abc", None),  # unquoted: not an entity-tag
        ('"abc', None),
        ("", None),
        ('garbage, "abc"', None),
    ],
)
def test_if_none_match(header: str, expected: str | None) -> None:
    assert match_none_match(header, PLAIN, PACKED) == expected


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("Wed, 08 Feb 2023 09:00:00 GMT", True),  # equal
        ("Wed, 08 Feb 2023 09:00:01 GMT", True),  # later
        ("Thu, 01 Jan 2099 00:00:00 GMT", True),  # odd but later: still not modified
        ("Wed, 08 Feb 2023 08:59:59 GMT", False),  # earlier
        ("Wednesday, 08-Feb-23 09:00:00 GMT", True),  # RFC 850
        ("Wed Feb  8 09:00:00 2023", True),  # asctime
        ("Wed, 08 Feb 2023 10:00:00 +0100", True),  # an offset, same instant
        ("garbage", False),
        ("", False),
        ("0", False),
        ("Wed, 32 Foo 2023 99:99:99 GMT", False),
    ],
)
def test_if_modified_since(header: str, expected: bool) -> None:
    assert not_modified_since(header, LAST_MODIFIED) is expected


def test_http_date() -> None:
    assert http_date(LAST_MODIFIED) == "Wed, 08 Feb 2023 09:00:00 GMT"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("gzip", True),
        ("gzip, deflate, br", True),
        ("br;q=1.0, gzip;q=0.5", True),
        ("GZIP", True),
        ("x-gzip", True),
        ("*", True),
        ("gzip;q=0", False),
        ("gzip;q=0.000", False),
        ("*;q=0", False),
        ("*, gzip;q=0", False),
        ("deflate, br", False),
        ("identity", False),
        ("", False),
        ("gzip;q=nonsense", False),
    ],
)
def test_accepts_gzip(header: str, expected: bool) -> None:
    assert accepts_gzip(header) is expected


@pytest.mark.parametrize(
    ("tail", "expected"),
    [
        ("", "index.html"),
        ("all.rss", "all.rss"),
        ("sources/home-affairs.atom", "sources/home-affairs.atom"),
        ("sources/", "sources/index.html"),
        ("../etc/passwd", None),
        ("a/../../etc/passwd", None),
        ("./all.rss", None),
        ("/etc/passwd", None),
        ("a//b", None),
        ("all.rss\x00.txt", None),
        ("..\\..\\etc\\passwd", None),
        (".tmp-all.rss", None),
        (".git/config", None),
        ("sources/.hidden", None),
        ("all.rss~", None),
        ("all.rss.tmp", None),
    ],
)
def test_safe_relative(tail: str, expected: str | None) -> None:
    assert safe_relative(tail) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("all.rss", "application/rss+xml; charset=utf-8"),
        ("all.atom", "application/atom+xml; charset=utf-8"),
        ("all.json", "application/feed+json; charset=utf-8"),
        ("deadlines.ics", "text/calendar; charset=utf-8"),
        ("index.html", "text/html; charset=utf-8"),
        ("style.css", "text/css; charset=utf-8"),
        ("robots.txt", "text/plain; charset=utf-8"),
        ("feed.xml", "application/xml; charset=utf-8"),
        ("ALL.RSS", "application/rss+xml; charset=utf-8"),
        ("data.bin", "application/octet-stream"),
        ("Makefile", "application/octet-stream"),
    ],
)
def test_media_type(name: str, expected: str) -> None:
    assert media_type(name) == expected
