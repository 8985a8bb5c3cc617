"""The links in mails: manage, unsubscribe, calendar; forged, expired and revoked tokens."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from feeds.store.tables import deadlines, reminders, subscribers
from scheduler.ledger.subscribers import subscriber_by_email
from scheduler.tokens import Purpose, subscriber_token
from tests.ledger.helpers import KEY
from tests.web.conftest import NOW, Site


async def confirmed(site: Site, email: str, **fields: object) -> str:
    """Sign up and confirm; the manage link of the confirmation page."""
    await site.sign_up(email, **fields)
    token = site.token_of(site.link_in(site.mails_to(email)[-1], "confirm"))
    csrf = await site.form("/confirm", token=token)
    done = await site.client.post("/confirm", data={"csrf": csrf, "token": token})
    assert "You are subscribed" in done.text
    with site.engine.connect() as conn:
        person = subscriber_by_email(conn, email)
    assert person is not None
    return subscriber_token(KEY, Purpose.MANAGE, person.id, person.version)


async def manage(site: Site, token: str, **data: object) -> str:
    csrf = await site.form("/manage", token=token)
    response = await site.client.post(
        "/manage", params={"token": token}, data={"csrf": csrf, **data}
    )
    assert response.status_code == 200, response.text
    return response.text


async def test_manage_changes_offsets_sources_and_digest(site: Site) -> None:
    token = await confirmed(site, "ann@example.org")
    assert [r[0] for r in site.reminder_rows("ann@example.org")] == [86400, 7 * 86400]
    page = await site.client.get("/manage", params={"token": token})
    assert "a**@example.org" in page.text and "ann@example.org" not in page.text
    text = await manage(
        site, token, action="save", offsets=["3d"], sources=["river"], digest="also"
    )
    assert "Saved." in text
    assert site.reminder_rows("ann@example.org") == [(3 * 86400, "reminder", "pending")]
    with site.engine.connect() as conn:
        person = subscriber_by_email(conn, "ann@example.org")
    assert person is not None
    assert person.sources == ("river",) and str(person.digest) == "also"
    await manage(site, token, action="save", digest="only")
    assert site.reminder_rows("ann@example.org") == []


async def test_pause_resume_and_unsubscribe_from_manage(site: Site) -> None:
    token = await confirmed(site, "ann@example.org")
    await manage(site, token, action="pause")
    assert site.status("ann@example.org") == "paused"
    assert {r[2] for r in site.reminder_rows("ann@example.org")} == {"cancelled"}
    await manage(site, token, action="resume")
    assert site.status("ann@example.org") == "active"
    assert {r[2] for r in site.reminder_rows("ann@example.org")} == {"pending"}
    await manage(site, token, action="unsubscribe")
    assert site.status("ann@example.org") == "unsubscribed"


async def test_delete_my_data_erases_subscriber_and_ledger(site: Site) -> None:
    token = await confirmed(site, "ann@example.org")
    text = await manage(site, token, action="delete")
    assert "Your data is deleted" in text
    with site.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(subscribers)).scalar() == 0
        assert conn.execute(select(func.count()).select_from(reminders)).scalar() == 0
    again = await site.client.get("/manage", params={"token": token})
    assert again.status_code == 400


async def test_revoking_stops_every_old_link_and_mails_a_new_one(site: Site) -> None:
    token = await confirmed(site, "ann@example.org")
    with site.engine.connect() as conn:
        person = subscriber_by_email(conn, "ann@example.org")
    assert person is not None
    old_unsubscribe = subscriber_token(KEY, Purpose.UNSUBSCRIBE, person.id, person.version)
    await manage(site, token, action="revoke")
    await site.routes.subscriptions.drain()
    for path, old in (("/manage", token), ("/unsubscribe", old_unsubscribe)):
        refused = await site.client.get(path, params={"token": old})
        assert refused.status_code == 400 and "This link does not work" in refused.text
    one_click = await site.client.post(
        "/unsubscribe", params={"token": old_unsubscribe}, data={"List-Unsubscribe": "One-Click"}
    )
    assert one_click.status_code == 400 and site.status("ann@example.org") == "active"
    new_link = site.link_in(site.mails_to("ann@example.org")[-1], "manage")
    new_token = site.token_of(new_link)
    assert new_token != token
    assert (await site.client.get("/manage", params={"token": new_token})).status_code == 200


@pytest.mark.parametrize("path", ["/confirm", "/manage", "/unsubscribe"])
async def test_forged_and_wrong_purpose_tokens_get_a_page_for_people(site: Site, path: str) -> None:
    await confirmed(site, "ann@example.org")
    with site.engine.connect() as conn:
        person = subscriber_by_email(conn, "ann@example.org")
    assert person is not None
    purpose = {"/confirm": Purpose.CONFIRM, "/manage": Purpose.MANAGE}.get(
        path, Purpose.UNSUBSCRIBE
    )
    wrong = Purpose.MANAGE if purpose is not Purpose.MANAGE else Purpose.CONFIRM
    candidates = [
        "",
        "not-a-token",
        subscriber_token(b"another-key-0123456789", purpose, person.id, person.version),
        subscriber_token(KEY, wrong, person.id, person.version),
        subscriber_token(KEY, purpose, person.id + 1, 1),  # nobody
        subscriber_token(KEY, purpose, person.id, person.version)[:-3],  # cut short
    ]
    for token in candidates:
        response = await site.client.get(path, params={"token": token})
        assert response.status_code == 400, token
        assert "This link does not work" in response.text
        for internal in ("signature", "forged", "truncated", "reply to"):
            assert internal not in response.text
        assert "/subscribe" in response.text and "help@example.org" in response.text


async def test_forms_need_their_csrf_token(site: Site) -> None:
    token = await confirmed(site, "ann@example.org")
    response = await site.client.post("/manage", params={"token": token}, data={"action": "delete"})
    assert response.status_code == 403
    assert site.status("ann@example.org") == "active"
    csrf_for_subscribe = await site.form("/subscribe")
    response = await site.client.post(
        "/manage", params={"token": token}, data={"action": "delete", "csrf": csrf_for_subscribe}
    )
    assert response.status_code == 403 and site.status("ann@example.org") == "active"


async def test_access_log_never_shows_a_token(site: Site, caplog: pytest.LogCaptureFixture) -> None:
    from aiohttp import web

    from feeds.serve.server import ConciseAccessLogger, loggable_path

    token = await confirmed(site, "ann@example.org")
    caplog.set_level(logging.INFO, logger="test.access")
    logger = ConciseAccessLogger(logging.getLogger("test.access"), "")
    from aiohttp.test_utils import make_mocked_request

    made = make_mocked_request("GET", f"/manage?token={token}&x=1")
    logger.log(made, web.Response(), 0.001)
    assert token not in caplog.text and "token=[redacted]" in caplog.text
    assert loggable_path(made) == "/manage?token=[redacted]&x=1"


async def test_one_deadline_calendar_is_served(site: Site) -> None:
    with site.engine.connect() as conn:
        uid = conn.execute(select(deadlines.c.uid)).scalar_one()
    from urllib.parse import quote

    response = await site.client.get(f"/deadlines/{quote(uid, safe='')}.ics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/calendar")
    assert f"UID:{uid}" in response.text.replace("\r\n ", "")
    assert (await site.client.get("/deadlines/nothing.ics")).status_code == 404


async def test_no_address_in_any_link_of_any_mail(site: Site) -> None:
    await confirmed(site, "ann@example.org")
    from tests.ledger.helpers import smtp_dispatcher

    site.clock.move_to(NOW + timedelta(days=9, hours=12))  # 7d reminder due
    dispatcher = smtp_dispatcher(site.engine, site.settings, site.smtp, site.clock)
    assert (await dispatcher.run_pass()).sent == 1
    await dispatcher.transport.close()
    for message in site.mails_to("ann@example.org"):
        text = message.get_body(("plain",)).get_content()
        links = [word for word in text.split() if word.startswith("https://feeds.example.org")]
        assert links
        assert all("ann" not in link and "example.org%40" not in link for link in links)
        assert "ann@example.org" not in str(message.get("List-Unsubscribe", ""))
