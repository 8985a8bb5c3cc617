"""The seed newsroom page: its consultation item, with the page's other items as context."""

from __future__ import annotations

from datetime import date, time
from pathlib import Path
from zoneinfo import ZoneInfo

from feeds.deadlines import choose_reference, find_deadlines


def _paragraphs(page: Path) -> list[str]:
    return [p.strip() for p in page.read_text(encoding="utf-8").splitlines() if p.strip()]


def test_seed_consultations_close_end_of_day_brussels(seed_page: Path) -> None:
    paragraphs = _paragraphs(seed_page)
    item = next(p for p in paragraphs if "open until" in p)
    reference, strong = choose_reference(
        published=None, texts=[item, *paragraphs], first_seen=date(2023, 2, 20)
    )
    assert (reference, strong) == (date(2023, 2, 7), True)  # "7 February 2023" on the page

    found = find_deadlines(
        item, reference=reference, timezone="Europe/Brussels", reference_is_strong=strong
    )

    assert [d.local_date for d in found] == [date(2023, 2, 17), date(2023, 3, 18)]
    for deadline in found:
        assert deadline.all_day
        assert deadline.local_time is None
        assert deadline.timezone == "Europe/Brussels"
        assert deadline.certain
        local = deadline.closes_at.astimezone(ZoneInfo("Europe/Brussels"))
        assert local.time() == time(23, 59, 59)
        assert deadline.evidence in item
    # "The first is on corruption with a call for evidence ... This call is open until ..."
    assert found[0].label == "call for evidence on corruption"
    # "The second call will develop ... to provide access to security-related information for
    # frontline officers in the EU ... the second public consultation is open until ..."
    assert found[1].label == (
        "public consultation on access to security-related information for frontline officers"
    )
    for deadline in found:
        assert len(deadline.label) <= 90


def test_seed_other_items_have_no_deadlines(seed_page: Path) -> None:
    """Visits, a summit on "9 and 10 February", funding periods: none is a closing date."""
    for paragraph in _paragraphs(seed_page):
        if "open until" in paragraph:
            continue
        assert (
            find_deadlines(paragraph, reference=date(2023, 2, 7), timezone="Europe/Brussels") == []
        )


def test_seed_whole_page_at_once(seed_page: Path) -> None:
    text = seed_page.read_text(encoding="utf-8")
    reference, strong = choose_reference(published=None, texts=[text], first_seen=date(2023, 3, 1))
    found = find_deadlines(
        text, reference=reference, timezone="Europe/Brussels", reference_is_strong=strong
    )
    assert [d.local_date.isoformat() for d in found] == ["2023-02-17", "2023-03-18"]
    assert "corruption" in found[0].label
    assert "security-related information for frontline officers" in found[1].label
