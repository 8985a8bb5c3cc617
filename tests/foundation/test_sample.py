"""The embedded sample newsroom is alive on any first-build day: two open, certain
consultations closing on the next 17 February and 18 March, and reminders for a subscriber."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import icalendar
import pytest

from config.loading import embedded_default_dir
from tests.foundation.helpers import run_cli
from tests.support.feedcheck import check_atom, check_rss
from tests.support.jsonfeed import check_json_feed

SAMPLE = embedded_default_dir() / "pages" / "news.txt"


def next_on_or_after(day: date, month: int, dom: int) -> date:
    this_year = date(day.year, month, dom)
    return this_year if this_year >= day else date(day.year + 1, month, dom)


@pytest.mark.parametrize(
    "first_build",
    [
        "2026-12-03T09:00:00+01:00",  # winter: both close early next year
        "2027-02-17T08:00:00+01:00",  # the morning the first one closes
        "2027-02-20T09:00:00+01:00",  # between the two: one this year, one next
        "2027-07-01T09:00:00+02:00",  # summer
    ],
)
def test_first_build_on_any_day_shows_two_open_consultations(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, first_build: str
) -> None:
    monkeypatch.chdir(tmp_path)  # the embedded default keeps its state in the current folder
    monkeypatch.delenv("FEEDLINE_CONFIG", raising=False)
    built = run_cli("build", now=first_build)
    assert built.exit_code == 0
    assert "home-affairs: 8 items (8 new, 0 updated); 2 deadline(s) added" in built.stdout
    listed = run_cli("deadlines", "--json", now=first_build)
    deadlines = json.loads(listed.stdout)
    day = date.fromisoformat(first_build[:10])
    assert [d["date"] for d in deadlines] == sorted(
        [next_on_or_after(day, 2, 17).isoformat(), next_on_or_after(day, 3, 18).isoformat()]
    )
    assert all(d["certain"] for d in deadlines)
    assert {d["label"] for d in deadlines} >= {"call for evidence on corruption"}
    added = run_cli("subscribers", "add", "you@example.org", now=first_build)
    assert "(4 reminder(s) planned)" in added.stdout
    public = tmp_path / "public"
    base = "http://127.0.0.1:8080/"
    check_rss((public / "all.rss").read_bytes(), base + "all.rss")
    check_atom((public / "all.atom").read_bytes(), base + "all.atom")
    feed = check_json_feed((public / "home-affairs.json").read_bytes(), base + "home-affairs.json")
    assert len(feed["items"]) == 8
    check_json_feed((public / "all.json").read_bytes(), base + "all.json")
    index = (public / "index.html").read_text(encoding="utf-8")
    assert index.count("23:59 Brussels time") == 2


def test_only_the_consultations_are_deadlines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Meetings and visits are told in the past and never become future events."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FEEDLINE_CONFIG", raising=False)
    assert run_cli("build", now="2027-01-05T09:00:00+01:00").exit_code == 0
    everything = json.loads(run_cli("deadlines", "--all", "--json").stdout)
    assert {d["item"] for d in everything} == {
        "Have your say: two consultations on corruption and security information"
    }
    calendar = icalendar.Calendar.from_ical((tmp_path / "public" / "deadlines.ics").read_bytes())
    assert len(list(calendar.walk("VEVENT"))) == 2


def test_the_sample_states_no_year_and_keeps_the_seed_facts() -> None:
    text = SAMPLE.read_text(encoding="utf-8")
    assert re.findall(r"\b\d{1,2} [A-Z][a-z]+ (?:19|20)\d\d\b", text) == []
    for fact in ("until 17 February", "until 18 March", "14 October", "7 February", "23 January"):
        assert fact in text
