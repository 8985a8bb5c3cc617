"""The one closing-time formatter and the time-left phrase (feeds.render.display)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from feeds.render.display import (
    closing_display,
    countdown,
    countdown_changes_at,
    time_left,
    zone_phrase,
)

CLOSES = datetime(2023, 2, 17, 22, 59, 59, tzinfo=UTC)  # 23:59:59 Brussels time
MIDNIGHT = datetime(2023, 2, 17, 23, 0, tzinfo=UTC)  # 00:00 on the 18th, Brussels


@pytest.mark.parametrize(
    ("closes_at", "zone", "kwargs", "expected"),
    [
        (CLOSES, "Europe/Brussels", {}, "Friday 17 February 2023, 23:59 Brussels time"),
        (MIDNIGHT, "Europe/Brussels", {}, "Friday 17 February 2023, 23:59 Brussels time"),
        (MIDNIGHT, "Europe/Brussels", {"weekday": False}, "17 February 2023, 23:59 Brussels time"),
        (
            CLOSES,
            "Europe/Brussels",
            {"language": "fr"},
            "vendredi 17 février 2023, 23:59 Brussels time",
        ),
        (datetime(2023, 7, 3, 10, tzinfo=UTC), "UTC", {}, "Monday 3 July 2023, 10:00 UTC"),
        (datetime(2023, 7, 3, 10, tzinfo=UTC), "GMT", {}, "Monday 3 July 2023, 10:00 GMT"),
        (
            datetime(2023, 7, 3, 10, tzinfo=UTC),
            "Etc/GMT+5",
            {},
            "Monday 3 July 2023, 05:00 UTC-05:00",
        ),
        (
            datetime(2023, 7, 3, 10, tzinfo=UTC),
            "America/New_York",
            {},
            "Monday 3 July 2023, 06:00 New York time",
        ),
    ],
)
def test_one_formatter(
    closes_at: datetime, zone: str, kwargs: dict[str, object], expected: str
) -> None:
    assert closing_display(closes_at, zone, **kwargs) == expected  # type: ignore[arg-type]


def test_zone_phrases_agree() -> None:
    assert [zone_phrase(z) for z in ("UTC", "Etc/UTC", "GMT", "Europe/London")] == [
        "UTC",
        "UTC",
        "GMT",
        "London time",
    ]


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (CLOSES - timedelta(days=7), "Closes in 7 days"),
        (CLOSES - timedelta(days=3, hours=2), "Closes in 3 days"),
        (CLOSES - timedelta(hours=27), "Closes tomorrow, 17 February, 23:59 Brussels time"),
        (CLOSES - timedelta(hours=12), "Closes today, 23:59 Brussels time"),
        (CLOSES - timedelta(minutes=40), "Closes in 40 minutes"),
        (CLOSES + timedelta(seconds=1), "Closed"),
    ],
)
def test_time_left_is_what_is_really_left(now: datetime, expected: str) -> None:
    assert time_left(CLOSES, now, "Europe/Brussels") == expected
    assert expected[0].isupper()


def test_midnight_deadline_is_today_the_evening_before() -> None:
    assert time_left(MIDNIGHT, MIDNIGHT - timedelta(hours=5), "Europe/Brussels") == (
        "Closes today, 23:59 Brussels time"
    )


def test_countdown_and_when_it_changes() -> None:
    now = CLOSES - timedelta(days=3, hours=5)
    assert countdown(CLOSES, now) == "3 days left"
    change = countdown_changes_at(CLOSES, now)
    assert change == CLOSES - timedelta(days=3) + timedelta(seconds=1)
    assert countdown(CLOSES, change - timedelta(seconds=1)) == "3 days left"
    assert countdown(CLOSES, change) == "2 days left"
    assert countdown_changes_at(CLOSES, change) == CLOSES - timedelta(days=2, seconds=-1)
    assert countdown(CLOSES, CLOSES - timedelta(hours=5, minutes=10)) == "5 hours left"
    assert countdown(CLOSES, CLOSES) == "closed"


def test_feeds_and_mail_show_local_midnight_the_same_way() -> None:
    from feeds.model import Deadline
    from feeds.render.display import closing_line
    from scheduler.mail.message import MessageKind, ReminderMessage

    deadline = Deadline(
        closes_at=MIDNIGHT,
        local_date=MIDNIGHT.date(),
        local_time=None,
        timezone="Europe/Brussels",
        label="call for evidence",
        evidence="open until 17 February",
    )
    assert (
        closing_line(deadline) == "Closes 17 February 2023, 23:59 Brussels time: call for evidence"
    )
    mail = ReminderMessage(
        kind=MessageKind.REMINDER,
        recipient="ann@example.org",
        sender="r@example.org",
        message_id="<a@example.org>",
        list_id="example.org",
        label="call for evidence",
        closes_at=MIDNIGHT,
        timezone="Europe/Brussels",
    )
    assert mail.closes_display == "Friday 17 February 2023, 23:59 Brussels time"


def test_no_other_closing_time_formatter() -> None:
    """Month and weekday names and closing times come from feeds.render.display only."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    offenders = []
    for folder in ("scheduler", "feeds/render"):
        for path in (root / folder).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            if any(mark in text for mark in ("%B", "%A", '"February"', '"Friday"', "24:00")):
                offenders.append(str(path.relative_to(root)))
    assert offenders == []
