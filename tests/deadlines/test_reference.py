"""choose_reference: publication date, else the latest written date, else first seen (weak)."""

from __future__ import annotations

from datetime import date

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
