"""choose_reference: publication date, else the latest written date, else first seen (weak)."""

from __future__ import annotations

import time
from datetime import date

import pytest

from feeds.deadlines import choose_reference, find_deadlines


def test_publication_date_wins() -> None:
    chosen = choose_reference(
        published=date(2023, 1, 5), texts=["On 7 February 2023 ..."], first_seen=date(2023, 3, 1)
    )
    assert chosen == (date(2023, 1, 5), True)


def test_latest_written_date_on_the_page() -> None:
    texts = ["BRUSSELS, 3 March 2023 - a report.", "On 7 February 2023 a visit took place."]
    assert choose_reference(published=None, texts=texts, first_seen=date(2023, 4, 1)) == (
        date(2023, 3, 3),
        True,
    )


def test_closing_dates_are_not_writing_dates() -> None:
    text = (
        "Posted 7 February 2023. The survey on parks closes on 17 April 2023. "
        "The survey on playgrounds is open until 5 March."
    )
    reference, strong = choose_reference(published=None, texts=[text], first_seen=date(2023, 5, 1))
    assert (reference, strong) == (date(2023, 2, 7), True)
    found = find_deadlines(text, reference=reference, timezone="Europe/London")
    assert [d.local_date for d in found] == [date(2023, 4, 17), date(2023, 3, 5)]


def test_dates_after_first_seen_are_ignored() -> None:
    text = "The plan covers 2024 to 2030 and the programme ends on 31 December 2030."
    assert choose_reference(published=None, texts=[text], first_seen=date(2024, 2, 1)) == (
        date(2024, 2, 1),
        False,
    )


def test_no_written_date_falls_back_to_first_seen_weakly() -> None:
    assert choose_reference(
        published=None, texts=["No dates here."], first_seen=date(2024, 2, 1)
    ) == (date(2024, 2, 1), False)


@pytest.mark.parametrize(
    ("text", "first_seen", "expected"),
    [
        ("Published 17/04/23.", date(2023, 5, 1), date(2023, 4, 17)),  # two-digit year
        ("Posted 17-Apr-23.", date(2023, 5, 1), date(2023, 4, 17)),
        ("Posted 17.04.2023 and 3 February 2023.", date(2023, 5, 1), date(2023, 4, 17)),
        (
            "Updated March 5, 2023; first posted Friday, 3 February 2023.",
            date(2023, 5, 1),
            date(2023, 3, 5),
        ),
        # a range counts by its end: ending after first_seen, it does not count at all
        ("The programme ran 18 May 2017 - 15 June 2017.", date(2017, 6, 1), None),
        ("The programme ran 18 May 2017 - 15 June 2017.", date(2017, 7, 1), date(2017, 6, 15)),
        ("On 10 and 9 February 2023 we met.", date(2023, 3, 1), None),  # not a day span
        ("On 9 and 10 February 2023 we met.", date(2023, 3, 1), date(2023, 2, 10)),
        (
            "Between 2021 and 2027; COM(2023) 234; Regulation (EU) 2021/1147.",
            date(2024, 1, 1),
            None,
        ),
        # "Frist" is a German cue: the English reading (all languages by default) counts it
        ("Publié le 3 mars 2023. Frist: 30. April 2023.", date(2023, 5, 1), date(2023, 4, 30)),
        ("It happened on 117 March 2023 and 31 February 2023.", date(2023, 5, 1), None),
    ],
)
def test_full_dates_on_a_page(text: str, first_seen: date, expected: date | None) -> None:
    chosen = choose_reference(published=None, texts=["Intro.", text], first_seen=first_seen)
    assert chosen == ((expected, True) if expected else (first_seen, False))


def test_language_limits_the_month_names_to_its_own_plus_english() -> None:
    texts = ["Publié le 3 mars 2023.", "Posted 7 February 2023."]
    seen = date(2023, 4, 1)
    assert choose_reference(published=None, texts=texts, first_seen=seen) == (
        date(2023, 3, 3),
        True,
    )
    assert choose_reference(published=None, texts=texts, first_seen=seen, language="fr") == (
        date(2023, 3, 3),
        True,
    )
    for language in ("en", "de", "en-GB", "nl"):  # nl: English month names only
        assert choose_reference(
            published=None, texts=texts, first_seen=seen, language=language
        ) == (date(2023, 2, 7), True)
    assert choose_reference(published=None, texts=texts[:1], first_seen=seen, language="en") == (
        seen,
        False,
    )


def test_language_decides_which_cues_make_a_closing_date() -> None:
    texts = ["Commentaires jusqu'au 17 April 2023, s'il vous plaît."]
    seen = date(2023, 5, 1)
    # every language is read by default, and English cues do not know "jusqu'au"
    assert choose_reference(published=None, texts=texts, first_seen=seen) == (
        date(2023, 4, 17),
        True,
    )
    assert choose_reference(published=None, texts=texts, first_seen=seen, language="fr") == (
        seen,
        False,
    )
    german = ["Stand: 7. Februar 2023. Frist: 30. April 2023."]
    assert choose_reference(published=None, texts=german, first_seen=seen, language="de") == (
        date(2023, 2, 7),
        True,
    )


def test_a_long_page_is_read_quickly() -> None:
    paragraph = (
        "On 3 March 2023, the Commissioner visited Antwerp. The funds are used between 2021 "
        "and 2027. The consultation is open until 5 May 2023. Members met on 7 June 2024."
    )
    texts = [paragraph] * 2_000 + ["Posted 4 March 2023."]
    start = time.perf_counter()
    chosen = choose_reference(published=None, texts=texts, first_seen=date(2023, 4, 1))
    assert time.perf_counter() - start < 1.0  # the old per-text scan took seconds
    assert chosen == (date(2023, 3, 4), True)
