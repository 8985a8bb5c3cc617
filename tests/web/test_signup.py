"""Sign-up over HTTP: no enumeration, CSRF, rate limits, honeypot, double opt-in."""

from __future__ import annotations

from datetime import timedelta

import httpx

from scheduler.ledger.dispatch import ReminderDispatcher
from scheduler.mail.smtp_transport import SmtpTransport
from tests.ledger.helpers import KEY, subscribe
from tests.web.conftest import NOW, Site


async def test_same_answer_for_new_pending_and_subscribed_and_one_mail_each(site: Site) -> None:
    subscribe(site.engine, "old@example.org", NOW - timedelta(days=30))
    new = await site.sign_up("new@example.org")
    pending = await site.sign_up("new@example.org")
    subscribed = await site.sign_up("old@example.org")
    assert new.status_code == pending.status_code == subscribed.status_code == 200
    assert new.text == pending.text == subscribed.text
    assert "Check your inbox" in new.text
    assert "new@example.org" not in new.text and "old@example.org" not in subscribed.text
    first, _second = site.mails_to("new@example.org")  # one mail per POST, no more
    assert first["Subject"].startswith("Confirm your subscription")
    assert first.get("List-Unsubscribe") is None  # nobody is subscribed yet
    (already,) = site.mails_to("old@example.org")
    assert already["Subject"].startswith("Your subscription")
    assert "/manage?token=" in already.get_body(("plain",)).get_content()
    assert site.status("new@example.org") == "pending"
    assert site.status("old@example.org") == "active"


async def test_a_stranger_cannot_change_a_subscription(site: Site) -> None:
    subscribe(site.engine, "old@example.org", NOW - timedelta(days=30))
    before = site.reminder_rows("old@example.org")
    await site.sign_up("old@example.org", offsets="3d", digest="only")
    assert site.reminder_rows("old@example.org") == before


async def test_pending_gets_nothing_but_the_confirmation(site: Site) -> None:
    await site.sign_up("new@example.org")
    assert site.reminder_rows("new@example.org") == []
    dispatcher = ReminderDispatcher(
        site.settings, site.engine, SmtpTransport(site.smtp.settings()), site.clock, KEY
    )
    site.clock.move_to(NOW + timedelta(days=15, hours=12))  # the 1-day reminder is due
    summary = await dispatcher.run_pass()
    await dispatcher.transport.close()
    assert summary.sent == 0
    assert len(site.mails_to("new@example.org")) == 1


async def test_confirm_get_only_shows_a_button_post_confirms(site: Site) -> None:
    await site.sign_up("new@example.org", offsets=["7d", "3d"])
    (mail,) = site.mails_to("new@example.org")
    link = site.link_in(mail, "confirm")
    token = site.token_of(link)
    assert "new@example.org" not in link
    page = await site.client.get("/confirm", params={"token": token})
    assert page.status_code == 200 and "Confirm my subscription" in page.text
    assert site.status("new@example.org") == "pending"  # a mail scanner's GET changes nothing
    csrf = await site.form("/confirm", token=token)
    done = await site.client.post("/confirm", data={"csrf": csrf, "token": token})
    assert done.status_code == 200 and "You are subscribed" in done.text
    assert site.status("new@example.org") == "active"
    assert site.reminder_rows("new@example.org") == [
        (3 * 86400, "reminder", "pending"),
        (7 * 86400, "reminder", "pending"),
    ]


async def test_csrf_missing_wrong_or_cross_site_sends_nothing(site: Site) -> None:
    csrf = await site.form("/subscribe")
    attempts = [
        ({"email": "a@example.org"}, site.origin),  # no token
        ({"email": "a@example.org", "csrf": "forged"}, site.origin),
        ({"email": "a@example.org", "csrf": csrf}, {"Origin": "https://evil.example"}),
        ({"email": "a@example.org", "from": "index"}, {"Origin": "https://evil.example"}),
        ({"email": "a@example.org", "from": "index"}, {}),  # no origin at all
    ]
    for data, headers in attempts:
        response = await site.client.post("/subscribe", data=data, headers=headers)
        assert response.status_code == 403, (data, headers)
        site.clock.advance(timedelta(seconds=15))  # under the per-client limit
    async with httpx.AsyncClient(base_url=site.client.base_url) as other_browser:
        await other_browser.get("/subscribe")  # its own session cookie
        other = await other_browser.post(  # with the first browser's token
            "/subscribe", data={"email": "a@example.org", "csrf": csrf}, headers=site.origin
        )
    assert other.status_code == 403
    await site.routes.subscriptions.drain()
    assert site.smtp.handler.messages == []
    assert site.status("a@example.org") is None


async def test_the_index_form_is_accepted_from_this_site(site: Site) -> None:
    response = await site.client.post(
        "/subscribe", data={"email": "a@example.org", "from": "index"}, headers=site.origin
    )
    await site.routes.subscriptions.drain()
    assert response.status_code == 200 and "Check your inbox" in response.text
    assert len(site.mails_to("a@example.org")) == 1


async def test_honeypot_gets_the_same_page_and_no_mail(site: Site) -> None:
    response = await site.sign_up("bot@example.org", website="http://spam.example")
    assert response.status_code == 200 and "Check your inbox" in response.text
    assert site.smtp.handler.messages == [] and site.status("bot@example.org") is None


async def test_a_bad_address_is_explained(site: Site) -> None:
    response = await site.sign_up("not an address")
    assert response.status_code == 400
    assert "does not look like an email address" in response.text
    assert site.smtp.handler.messages == []


async def test_per_client_limit_429_with_retry_after(site: Site) -> None:
    for number in range(5):
        assert (await site.sign_up(f"p{number}@example.org")).status_code == 200
    limited = await site.sign_up("p5@example.org")
    assert limited.status_code == 429
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    assert site.status("p5@example.org") is None
    site.clock.advance(timedelta(minutes=1))
    assert (await site.sign_up("p5@example.org")).status_code == 200


async def test_per_address_limit_three_mails_a_day(site: Site) -> None:
    for _ in range(3):
        assert (await site.sign_up("new@example.org")).status_code == 200
        site.clock.advance(timedelta(minutes=1))  # stay under the per-client limit
    limited = await site.sign_up("new@example.org")
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) > 3600
    assert len(site.mails_to("new@example.org")) == 3
    site.clock.advance(timedelta(days=1))
    assert (await site.sign_up("new@example.org")).status_code == 200
    assert len(site.mails_to("new@example.org")) == 4


async def test_pending_sign_ups_expire_after_seven_days(site: Site) -> None:
    await site.sign_up("new@example.org")
    (mail,) = site.mails_to("new@example.org")
    token = site.token_of(site.link_in(mail, "confirm"))
    dispatcher = ReminderDispatcher(
        site.settings, site.engine, SmtpTransport(site.smtp.settings()), site.clock, KEY
    )
    site.clock.advance(timedelta(days=6, hours=23))
    dispatcher.plan_all()
    assert site.status("new@example.org") == "pending"
    site.clock.advance(timedelta(hours=1))
    dispatcher.plan_all()
    await dispatcher.transport.close()
    assert site.status("new@example.org") is None
    page = await site.client.get("/confirm", params={"token": token})
    assert page.status_code == 400 and "This link does not work" in page.text


async def test_the_confirmed_page_says_the_offsets_as_a_sentence(site: Site) -> None:
    for address, offsets, said in (
        ("two@example.org", ["7d", "1d"], "reminders 7 days and 1 day before each deadline."),
        ("one@example.org", ["3d"], "reminders 3 days before each deadline."),
        ("all@example.org", ["7d", "3d", "1d"], "reminders 7 days, 3 days and 1 day before"),
    ):
        await site.sign_up(address, offsets=offsets)
        token = site.token_of(site.link_in(site.mails_to(address)[0], "confirm"))
        csrf = await site.form("/confirm", token=token)
        done = await site.client.post("/confirm", data={"csrf": csrf, "token": token})
        assert f"You will get {said}" in done.text  # was "7 days, 1 day before"
