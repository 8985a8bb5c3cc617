"""The index follows the clock: countdowns as built, re-rendered when a deadline closes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from lxml import html
from sqlalchemy import Engine

from feeds.clock import FixedClock
from feeds.publish_site import SitePublisher
from feeds.render.index_page import read_valid_until
from tests.ledger.helpers import end_of_day, store_deadline
from tests.web.conftest import web_settings


async def test_index_countdown_form_and_rerender_when_a_deadline_closes(
    tmp_path: Path, engine: Engine
) -> None:
    settings = web_settings(tmp_path)
    closes = end_of_day(date(2023, 2, 17))
    store_deadline(engine, settings, closes)
    clock = FixedClock(datetime(2023, 2, 14, 12, tzinfo=UTC))
    publisher = SitePublisher(settings, engine, clock)
    (tmp_path / "public").mkdir()
    await publisher.publish_site(True, True)
    page = html.fromstring((tmp_path / "public" / "index.html").read_bytes())
    (left,) = page.xpath("//*[@class='left']")
    assert left.text == "3 days left"
    (closing,) = page.xpath("//li[@class='deadline']/time")
    assert closing.get("datetime") == closes.isoformat()
    assert closing.text == "Friday 17 February 2023, 23:59 Brussels time"
    (form,) = page.xpath("//form[@class='subscribe']")
    assert form.get("method") == "post" and form.get("action") == "subscribe"
    assert page.xpath("//input[@name='from' and @value='index']")
    assert [box.get("value") for box in page.xpath("//input[@name='offsets']")] == [
        "7d",
        "3d",
        "1d",
    ]
    assert page.xpath("//a[@href='webcal://feeds.example.org/deadlines.ics']")
    assert "Consultation on river water quality" in page.text_content()  # recent items
    assert publisher.index_changes_at == closes - timedelta(days=3) + timedelta(seconds=1)

    clock.move_to(publisher.index_changes_at)
    assert "index.html" in await publisher.publish_index()
    page = html.fromstring((tmp_path / "public" / "index.html").read_bytes())
    assert page.xpath("//*[@class='left']")[0].text == "2 days left"

    clock.move_to(closes + timedelta(seconds=1))  # no feed changed; the deadline closed
    assert "index.html" in await publisher.publish_index()
    text = (tmp_path / "public" / "index.html").read_text()
    assert "No open consultations right now." in text
    assert publisher.index_changes_at is None
    assert await publisher.publish_index() == []  # nothing more to change: same bytes


async def test_a_later_process_renders_a_stale_index_again(tmp_path: Path, engine: Engine) -> None:
    """`feedline once` from cron: a new process, nothing changed, but a countdown moved on."""
    settings = web_settings(tmp_path)
    closes = end_of_day(date(2023, 2, 17))
    store_deadline(engine, settings, closes)
    (tmp_path / "public").mkdir()
    clock = FixedClock(datetime(2023, 2, 14, 12, tzinfo=UTC))
    await SitePublisher(settings, engine, clock).publish_site(True, True)
    index = tmp_path / "public" / "index.html"
    assert read_valid_until(index) == closes - timedelta(days=3) + timedelta(seconds=1)
    clock.advance(timedelta(hours=1))
    assert "index.html" not in await SitePublisher(settings, engine, clock).publish_site(
        False, False
    )
    clock.move_to(closes + timedelta(minutes=1))
    written = await SitePublisher(settings, engine, clock).publish_site(False, False)
    assert "index.html" in written
    assert "No open consultations right now." in index.read_text()
    assert read_valid_until(index) is None
