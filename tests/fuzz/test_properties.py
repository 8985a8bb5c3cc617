"""Property tests: hostile and broken input never crashes a reader, extract, the config
loader, tokens or CSV imports, and every feed written from it parses (lxml, feedparser).

A few hundred examples each within the suite's time; bench/fuzz_bench.py runs 100,000.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fuzz import strategies as s
from tests.fuzz import targets as t

CASES: list[tuple[str, Callable[[Any], dict[str, bytes]], st.SearchStrategy[Any], int]] = [
    ("text", t.text_page, s.page_text(), 200),
    ("markdown", t.markdown_page, s.page_text(), 200),
    ("html", t.html_page, s.html_page(), 300),
    ("xml feed", t.xml_feed, s.xml_feed(), 200),
    ("json feed", t.json_feed, s.json_feed(), 200),
    ("item folder", t.item_file, s.item_file(), 150),
    ("followed page", t.followed_page, s.html_page(), 60),
    ("extract", t.extract, s.page_text(), 150),
    ("config", t.config_text, s.config_text(), 150),
    ("tokens", t.token, s.tokens, 300),
    ("csv import", t.csv_import, s.csv_text(), 150),
    ("http routes", t.http_request, s.http_request(), 300),
]


@pytest.mark.parametrize(
    ("target", "strategy", "examples"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_never_crashes_and_feeds_parse(
    target: Callable[[Any], dict[str, bytes]], strategy: st.SearchStrategy[Any], examples: int
) -> None:
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(strategy)
    def check(value: Any) -> None:
        assert t.feed_problems(target(value)) == []

    check()
