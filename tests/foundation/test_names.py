"""The one table of month and weekday names (CLDR through babel)."""

from __future__ import annotations

from datetime import date

import pytest

from feeds.names import (
    LANGUAGES,
    fold,
    month_lookup,
    month_names,
    month_spellings,
    supported,
    weekday_lookup,
    weekday_names,
)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_wide_and_abbreviated_month_reads_back_to_its_number(language: str) -> None:
    table = month_lookup(language)
    for number, name in enumerate(month_names(language), start=1):
        assert table[fold(name)] == number
    assert len(set(table.values())) == 12


@pytest.mark.parametrize(
    ("language", "word", "number"),
    [
        ("fr", "févr.", 2),
        ("fr", "fevrier", 2),
        ("de", "März", 3),
        ("de", "Maerz", 3),
        ("de", "Okt.", 10),
        ("it", "maggio", 5),
        ("es", "setiembre", 9),
        ("nl", "mrt", 3),
        ("pt", "março", 3),
        ("en", "Sept.", 9),
    ],
)
def test_real_spellings_are_read(language: str, word: str, number: int) -> None:
    assert month_lookup(language)[fold(word)] == number


@pytest.mark.parametrize("language", LANGUAGES)
def test_weekday_names_match_python_weekday(language: str) -> None:
    names = weekday_names(language)
    monday = date(2026, 11, 30)
    assert monday.weekday() == 0
    assert weekday_lookup(language)[fold(names[monday.weekday()])] == 0
    assert len(names) == 7


def test_display_names_are_cldr_wide() -> None:
    assert month_names("en")[1] == "February"
    assert month_names("fr")[1] == "février"
    assert weekday_names("de")[4] == "Freitag"


def test_unknown_language_falls_back_to_english() -> None:
    assert supported("fr-BE") == "fr"
    assert supported("sv") == "en"
    assert month_names("sv") == month_names("en")


def test_spellings_prefer_the_longest_form() -> None:
    spellings = month_spellings("fr")
    assert spellings.index("septembre") < spellings.index("sept")
    assert "fevrier" in spellings and "février" in spellings
