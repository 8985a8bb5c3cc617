"""Publication dates as pages print them; no fuzzy guessing."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from feeds.sources.page_dates import parse_page_date

BRUSSELS = ZoneInfo("Europe/Brussels")


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        ("11 February 2026", "en", datetime(2026, 2, 11, 12, 0, tzinfo=BRUSSELS)),
        ("06 Feb 2026", "en", datetime(2026, 2, 6, 12, 0, tzinfo=BRUSSELS)),
        ("February 11, 2026", "en", datetime(2026, 2, 11, 12, 0, tzinfo=BRUSSELS)),
        ("Published on 11 February 2026", "en", datetime(2026, 2, 11, 12, 0, tzinfo=BRUSSELS)),
        ("11 March 2026, 14:30", "en", datetime(2026, 3, 11, 14, 30, tzinfo=BRUSSELS)),
        ("11/02/2026", "en", datetime(2026, 2, 11, 12, 0, tzinfo=BRUSSELS)),
        ("2026-02-11", "en", datetime(2026, 2, 11, 12, 0, tzinfo=BRUSSELS)),
        ("2026-02-11T09:30", "en", datetime(2026, 2, 11, 9, 30, tzinfo=BRUSSELS)),
        ("11 février 2026", "fr", datetime(2026, 2, 11, 12, 0, tzinfo=BRUSSELS)),
        ("mardi 1er décembre 2026", "fr", datetime(2026, 12, 1, 12, 0, tzinfo=BRUSSELS)),
        ("11. Februar 2026", "de", datetime(2026, 2, 11, 12, 0, tzinfo=BRUSSELS)),
        ("11 de febrero de 2026", "es", datetime(2026, 2, 11, 12, 0, tzinfo=BRUSSELS)),
        ("11 July 2026, 14:30 CET", "en", datetime(2026, 7, 11, 14, 30, tzinfo=BRUSSELS)),
        ("11 fevrier 2026", "fr", datetime(2026, 2, 11, 12, 0, tzinfo=BRUSSELS)),
        ("3 févr. 2026", "fr-BE", datetime(2026, 2, 3, 12, 0, tzinfo=BRUSSELS)),
        ("2 mei 2026", "nl", datetime(2026, 5, 2, 12, 0, tzinfo=BRUSSELS)),
        ("lunedì 2 marzo 2026", "it", datetime(2026, 3, 2, 12, 0, tzinfo=BRUSSELS)),
        ("segunda-feira, 2 de março de 2026", "pt", datetime(2026, 3, 2, 12, 0, tzinfo=BRUSSELS)),
        ("Dienstag, 3. März 2026", "de", datetime(2026, 3, 3, 12, 0, tzinfo=BRUSSELS)),
    ],
)
def test_dates(text: str, language: str, expected: datetime) -> None:
    assert parse_page_date(text, language, BRUSSELS) == expected


def test_explicit_offsets_are_kept() -> None:
    found = parse_page_date("2026-02-11T09:30:00Z", "en", BRUSSELS)
    assert found is not None
    assert found.isoformat() == "2026-02-11T09:30:00+00:00"


@pytest.mark.parametrize(
    "text",
    [
        "News article",
        "11 February",  # no year: never guessed from the clock
        "February 2026",  # no day
        "9 and 10 February",
        "COM(2023) 234 Article 5",
        "Directorate-General for Example Affairs",
        "A long sentence that mentions 11 February 2026 somewhere in the middle of running text",
    ],
)
def test_not_dates(text: str) -> None:
    assert parse_page_date(text, "en", BRUSSELS) is None
