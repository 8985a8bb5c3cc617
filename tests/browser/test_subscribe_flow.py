"""A person in a real browser (Debian's chromium, headless, through selenium): signs up on
the index, confirms from the mail a real SMTP server received, changes offsets on /manage,
gets a reminder and leaves from its unsubscribe link. JavaScript is off, so the index's
countdown is checked as the page was built.

Skips with a reason when chromium is absent, fails under CI=true. With
FEEDLINE_UPDATE_SCREENSHOTS=1 the screenshots replace those in docs/screenshots/.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest

from feeds.clock import FixedClock, SystemClock
from feeds.publish_site import SitePublisher
from feeds.serve.app import build_app
from feeds.serve.server import FeedServer
from scheduler.database import create_db_engine, upgrade
from scheduler.mail.smtp_transport import SmtpTransport
from scheduler.web import DaemonRoutes
from tests.ledger.helpers import KEY, end_of_day, smtp_dispatcher, store_deadline
from tests.support.smtp import SmtpTestServer, free_port
from tests.web.conftest import web_settings

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
T = TypeVar("T")


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing:
        message = (
            f"{', '.join(missing)} not found: install with "
            "`apt-get update && apt-get install -y chromium chromium-driver`"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(message + " (CI=true: the browser tests must run)")
        pytest.skip(message)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path / 'chromium-profile'}")
    options.add_argument("--window-size=900,1400")
    options.add_experimental_option(
        "prefs", {"profile.managed_default_content_settings.javascript": 2}
    )
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def click_and_wait(driver: Any, element: Any) -> None:
    """Click, then wait until the next page has replaced this one (no stale elements)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.wait import WebDriverWait

    page = driver.find_element(By.TAG_NAME, "html")
    element.click()
    WebDriverWait(driver, 15).until(expected_conditions.staleness_of(page))


async def in_thread(call: Callable[[], T]) -> T:
    return await asyncio.to_thread(call)


def shoot(driver: Any, tmp_path: Path, name: str, width: int = 900) -> None:
    from selenium.webdriver.common.by import By

    height = driver.find_element(By.TAG_NAME, "body").size["height"] + 220
    driver.set_window_size(width, min(max(height, 600), 2400))
    path = tmp_path / f"{name}.png"
    driver.save_screenshot(str(path))
    assert path.stat().st_size > 10_000
    if os.environ.get("FEEDLINE_UPDATE_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, SCREENSHOTS / path.name)
    driver.set_window_size(900, 1400)


async def test_sign_up_confirm_manage_remind_and_leave(
    browser: Any, tmp_path: Path, smtp_server: SmtpTestServer
) -> None:
    from selenium.webdriver.common.by import By

    port = free_port()
    base = f"http://127.0.0.1:{port}/"
    settings = web_settings(tmp_path).model_dump(by_alias=True)
    settings["site"]["base_url"] = base
    from config.schema import Settings

    config = Settings.model_validate(settings)
    start = SystemClock().now().replace(microsecond=0)
    clock = FixedClock(start)
    engine = create_db_engine(f"sqlite:///{tmp_path / 'feedline.db'}")
    upgrade(engine)
    local_start = start.astimezone(end_of_day(start.date()).tzinfo)
    closes = end_of_day(local_start.date() + timedelta(days=10))
    store_deadline(engine, config, closes, now=start - timedelta(days=1))
    (tmp_path / "public").mkdir()
    await SitePublisher(config, engine, clock).publish_site(True, True)
    transport = SmtpTransport(smtp_server.settings())
    routes = DaemonRoutes(config, engine, clock, KEY, transport=transport)
    server = FeedServer(build_app(tmp_path / "public", extra_routes=routes.add_to))
    await server.start("127.0.0.1", port)
    try:
        # The index: the open consultation with its countdown, no script needed.
        await in_thread(lambda: browser.get(base))
        countdown = await in_thread(lambda: browser.find_element(By.CSS_SELECTOR, ".left").text)
        assert countdown in ("10 days left", "9 days left")
        closing = await in_thread(
            lambda: browser.find_element(By.CSS_SELECTOR, "time").get_attribute("datetime")
        )
        assert closing == closes.isoformat() or closing.startswith(closes.date().isoformat())
        await in_thread(lambda: shoot(browser, tmp_path, "index"))

        def sign_up() -> str:
            browser.find_element(By.ID, "email").send_keys("person@example.org")
            click_and_wait(browser, browser.find_element(By.CSS_SELECTOR, "form.subscribe button"))
            return str(browser.find_element(By.TAG_NAME, "h1").text)

        assert await in_thread(sign_up) == "Check your inbox"
        await routes.subscriptions.drain()
        (received,) = smtp_server.handler.messages
        mail = received.parsed()
        assert mail["Subject"].startswith("Confirm your subscription")
        text = mail.get_body(("plain",)).get_content()
        confirm_url = next(w for w in text.split() if w.startswith(f"{base}confirm?token="))

        def confirm() -> str:
            browser.get(confirm_url)
            assert "Confirm your subscription" in browser.find_element(By.TAG_NAME, "h1").text
            click_and_wait(browser, browser.find_element(By.CSS_SELECTOR, "form button"))
            return str(browser.find_element(By.TAG_NAME, "h1").text)

        assert await in_thread(confirm) == "You are subscribed"

        def change_offsets() -> str:
            click_and_wait(browser, browser.find_element(By.LINK_TEXT, "Change what you get"))
            for box in browser.find_elements(By.NAME, "offsets"):
                if (box.get_attribute("value") in ("3d",)) != box.is_selected():
                    box.click()
            click_and_wait(browser, browser.find_element(By.CSS_SELECTOR, "form.subscribe button"))
            return str(browser.find_element(By.CSS_SELECTOR, "[role=status]").text)

        assert await in_thread(change_offsets) == "Saved."
        await in_thread(lambda: shoot(browser, tmp_path, "manage"))
        await in_thread(lambda: browser.get(f"{base}subscribe"))
        await in_thread(lambda: shoot(browser, tmp_path, "subscribe"))

        # Three days before, the reminder goes out (and only the 3-day one).
        clock.move_to(closes - timedelta(days=3))
        dispatcher = smtp_dispatcher(engine, config, smtp_server, clock)
        summary = await dispatcher.run_pass()
        await dispatcher.transport.close()
        assert summary.sent == 1
        reminder = smtp_server.handler.messages[-1].parsed()
        assert reminder["Subject"].startswith("Closes in 3 days: ")
        html_path = tmp_path / "reminder.html"
        html_path.write_text(reminder.get_body(("html",)).get_content(), encoding="utf-8")

        def leave() -> str:
            browser.get(html_path.as_uri())
            shoot(browser, tmp_path, "reminder", width=480)
            dark = [{"name": "prefers-color-scheme", "value": "dark"}]
            browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": dark})
            link = browser.find_element(By.LINK_TEXT, "Add to calendar")
            assert link.value_of_css_property("color") != "rgba(11, 87, 176, 1)"  # restyled
            shoot(browser, tmp_path, "reminder-dark", width=480)
            browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})
            click_and_wait(browser, browser.find_element(By.LINK_TEXT, "Unsubscribe"))
            click_and_wait(browser, browser.find_element(By.CSS_SELECTOR, "form button"))
            return str(browser.find_element(By.TAG_NAME, "h1").text)

        assert await in_thread(leave) == "You are unsubscribed"
        from sqlalchemy import select

        from feeds.store.tables import subscribers

        with engine.connect() as conn:
            assert conn.execute(select(subscribers.c.status)).scalar_one() == "unsubscribed"
    finally:
        await server.stop()
        await transport.close()
        engine.dispose()
