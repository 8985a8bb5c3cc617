"""The web side of subscriptions: /subscribe, /confirm, /manage, /unsubscribe.

GETs only show pages (mail scanners follow links); every change is a POST carrying a CSRF
token bound to the browser's session cookie (the static index's form: an origin check). A
sign-up answers with the same page whatever the address's state, and its mail is sent after
the answer, so neither the page nor its timing tells whether an address is subscribed.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable
from datetime import timedelta
from typing import TypeVar

from aiohttp import web
from sqlalchemy import Connection, Engine

from config.schema import Settings
from feeds.clock import Clock
from feeds.render.display import duration_text
from scheduler.ledger.subscribers import (
    DigestChoice,
    Subscriber,
    SubscriberError,
    SubscriberStatus,
    erase_subscriber,
    normalise_email,
    revoke_links,
    subscriber_by_id,
)
from scheduler.mail.transport import MailTransport
from scheduler.subscriptions import service
from scheduler.subscriptions.forms import FormData, Forms
from scheduler.subscriptions.limits import SlidingWindow
from scheduler.subscriptions.links import Links
from scheduler.subscriptions.mails import send_subscription_mail
from scheduler.subscriptions.pages import Pages
from scheduler.subscriptions.service import MailToSend
from scheduler.tokens import BadToken, Purpose, read_subscriber_token

log = logging.getLogger(__name__)
T = TypeVar("T")
ONE_CLICK = "List-Unsubscribe=One-Click"


def masked(address: str) -> str:
    """ "ann@example.org" -> "a**@example.org": enough to recognise, not to harvest."""
    local, _, domain = address.partition("@")
    return f"{local[:1]}{'*' * max(2, len(local) - 1)}@{domain}"


class SubscriptionRoutes:
    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        clock: Clock,
        key: bytes,
        transport: Callable[[], MailTransport],
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.clock = clock
        self.key = key
        self._transport = transport
        self.links = Links(str(settings.site.base_url), key)
        self.forms = Forms(settings, key)
        self.pages = Pages(settings)
        self.offsets = list(settings.reminders.offsets)
        limits = settings.subscriptions
        self.per_client = SlidingWindow(limits.signups_per_minute, timedelta(minutes=1))
        self._sending: set[asyncio.Task[None]] = set()

    def add_to(self, app: web.Application) -> None:
        app.router.add_get("/subscribe", self.subscribe_page)
        app.router.add_post("/subscribe", self.subscribe)
        app.router.add_get("/confirm", self.confirm_page)
        app.router.add_post("/confirm", self.confirm)
        app.router.add_get("/manage", self.manage_page)
        app.router.add_post("/manage", self.manage)
        app.router.add_get("/unsubscribe", self.unsubscribe_page)
        app.router.add_post("/unsubscribe", self.unsubscribe)
        app.on_shutdown.append(self._finish_sending)

    async def _finish_sending(self, _app: web.Application) -> None:
        if self._sending:
            await asyncio.gather(*self._sending, return_exceptions=True)

    async def _db(self, work: Callable[[Connection], T]) -> T:
        def run() -> T:
            with self.engine.begin() as conn:
                return work(conn)

        return await asyncio.to_thread(run)

    def _send_later(self, person: Subscriber, kind: MailToSend) -> None:
        task = asyncio.create_task(
            send_subscription_mail(
                self._transport(), self.settings, self.links, person, kind, self.clock
            )
        )
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def drain(self) -> None:
        """Wait for the mails already started (tests, shutdown)."""
        await self._finish_sending(web.Application())

    def _client(self, request: web.Request) -> str:
        if self.settings.subscriptions.trusted_proxy:
            forwarded = request.headers.get("X-Forwarded-For", "")
            if forwarded:
                return forwarded.split(",")[0].strip()
        return request.remote or "unknown"

    def _with_session(self, request: web.Request, response: web.Response) -> web.Response:
        self.forms.ensure_session(request, response)
        return response

    # -- /subscribe ---------------------------------------------------------------------------
    def _subscribe_form(
        self,
        request: web.Request,
        *,
        email: str = "",
        error: str = "",
        status: int = 200,
        data: FormData | None = None,
    ) -> web.Response:
        form = self.forms.form(
            action="subscribe",
            csrf=self.forms.csrf_for(request, "subscribe"),
            email=email,
            choice=self.forms.choice(data) if data is not None else None,
        )
        page = self.pages.render(
            "subscribe.html.j2", "Get reminders by email", status=status, form=form, error=error
        )
        return self._with_session(request, page)

    async def subscribe_page(self, request: web.Request) -> web.Response:
        return self._subscribe_form(request, email=request.query.get("email", "")[:320])

    def _check_inbox(self) -> web.Response:
        return self.pages.message(
            "Check your inbox",
            [
                "If the address can get our emails, a message is on its way to it. Open the "
                "link in it to confirm (or, if you already subscribed, to change your choice).",
                "Nothing arrives? Look in the spam folder, or send the form again in a few "
                "minutes.",
            ],
        )

    async def subscribe(self, request: web.Request) -> web.Response:
        wait = self.per_client.take(self._client(request), self.clock.now())
        if wait is not None:
            return self.pages.too_many(math.ceil(wait.total_seconds()), per_address=False)
        data = await request.post()
        from_index = data.get("from") == "index"
        trusted = self.forms.same_origin(request) and (
            from_index or self.forms.csrf_ok(request, "subscribe", data)
        )
        typed = str(data.get("email", ""))[:320]
        if not trusted:
            return self._subscribe_form(
                request,
                email=typed,
                data=data,
                status=403,
                error="This form was too old or came from another site; nothing was sent. "
                "Please send it again.",
            )
        if data.get("website"):  # the honeypot: people never see it, bots fill it in
            log.info("sign-up honeypot filled; nothing sent")
            return self._check_inbox()
        try:
            address = normalise_email(typed)
        except SubscriberError:
            return self._subscribe_form(
                request,
                email=typed,
                data=data,
                status=400,
                error=f"“{typed}” does not look like an email address. Please check it.",
            )
        choice = self.forms.choice(data)
        per_day = self.settings.subscriptions.confirmations_per_day
        now = self.clock.now()
        result = await self._db(lambda c: service.sign_up(c, address, choice, now, per_day=per_day))
        if result.mail is None:
            wait_s = math.ceil(result.retry_after.total_seconds())
            return self.pages.too_many(wait_s, per_address=True)
        self._send_later(result.subscriber, result.mail)
        return self._check_inbox()

    # -- tokens ---------------------------------------------------------------------------------
    async def _holder(self, purpose: Purpose, token: str) -> Subscriber | None:
        try:
            subject = read_subscriber_token(self.key, purpose, token)
        except BadToken as error:
            log.info("refused a %s link: %s", purpose, error.reason)
            return None
        person = await self._db(lambda c: service.holder(c, subject))
        if person is None:
            log.info("refused a %s link: no such subscriber or revoked", purpose)
        return person

    def _button(
        self, request: web.Request, form: str, title: str, text: list[str], button: str, token: str
    ) -> web.Response:
        page = self.pages.render(
            "button.html.j2",
            title,
            paragraphs=text,
            action=form,
            csrf=self.forms.csrf_for(request, form),
            token=token,
            button=button,
        )
        return self._with_session(request, page)

    # -- /confirm -------------------------------------------------------------------------------
    async def confirm_page(self, request: web.Request) -> web.Response:
        token = request.query.get("token", "")
        person = await self._holder(Purpose.CONFIRM, token)
        if person is None:
            return self.pages.bad_link()
        if person.status is not SubscriberStatus.PENDING:
            return self._confirmed(person, already=True)
        return self._button(
            request,
            "confirm",
            "Confirm your subscription",
            [f"Press the button to start emails to {masked(person.email)}."],
            "Confirm my subscription",
            token,
        )

    async def confirm(self, request: web.Request) -> web.Response:
        data = await request.post()
        if not self.forms.csrf_ok(request, "confirm", data):
            return self.pages.refused_form()
        found = await self._holder(Purpose.CONFIRM, str(data.get("token", "")))
        if found is None:
            return self.pages.bad_link()
        now = self.clock.now()
        person = await self._db(lambda c: service.confirm(c, found, now, self.offsets))
        return self._confirmed(person, already=False)

    def _what(self, person: Subscriber) -> str:
        offsets = person.offsets_or(self.offsets)
        reminders = f"reminders {_and_list([duration_text(o) for o in offsets])} before each"
        reminders += " deadline"
        if person.digest is DigestChoice.ONLY:
            return "a weekly digest of open consultations"
        if person.digest is DigestChoice.ALSO:
            return reminders + ", and a weekly digest"
        return reminders

    def _confirmed(self, person: Subscriber, *, already: bool) -> web.Response:
        title = "You are already subscribed" if already else "You are subscribed"
        return self.pages.message(
            title,
            [f"You will get {self._what(person)}.", "Every email has a link to change or stop it."],
            links=[("Change what you get", self.links.manage(person.id, person.version))],
        )

    # -- /manage --------------------------------------------------------------------------------
    def _manage_view(
        self, request: web.Request, person: Subscriber, token: str, notice: str = ""
    ) -> web.Response:
        action = f"manage?token={token}"
        state = {
            SubscriberStatus.ACTIVE: f"you get {self._what(person)}.",
            SubscriberStatus.PAUSED: "paused; you get no emails until you resume.",
            SubscriberStatus.PENDING: "not confirmed yet.",
        }.get(person.status, "unsubscribed; you get no emails.")
        csrf = self.forms.csrf_for(request, "manage")
        form = None
        if person.status in (SubscriberStatus.ACTIVE, SubscriberStatus.PAUSED):
            form = self.forms.form(action=action, csrf=csrf, person=person, manage=True)
        page = self.pages.render(
            "manage.html.j2",
            "Your reminders",
            masked=masked(person.email),
            state=state,
            state_name=str(person.status),
            form=form,
            action=action,
            csrf=csrf,
            notice=notice,
        )
        return self._with_session(request, page)

    async def manage_page(self, request: web.Request) -> web.Response:
        token = request.query.get("token", "")
        person = await self._holder(Purpose.MANAGE, token)
        if person is None or person.status is SubscriberStatus.PENDING:
            return self.pages.bad_link()
        return self._manage_view(request, person, token)

    async def manage(self, request: web.Request) -> web.Response:
        token = request.query.get("token", "")
        data = await request.post()
        if not self.forms.csrf_ok(request, "manage", data):
            return self.pages.refused_form()
        person = await self._holder(Purpose.MANAGE, token)
        if person is None or person.status is SubscriberStatus.PENDING:
            return self.pages.bad_link()
        action = str(data.get("action", ""))
        now = self.clock.now()
        found = person
        if action == "delete":
            await self._db(lambda c: erase_subscriber(c, found.id))
            log.info("subscriber %s erased their data", person.id)
            return self.pages.message(
                "Your data is deleted",
                ["Your address and every reminder we planned or sent you are erased."],
                links=[("Subscribe again", self.links.subscribe)],
            )
        if action == "revoke":

            def revoke(conn: Connection) -> Subscriber | None:
                revoke_links(conn, found.id, now)
                return subscriber_by_id(conn, found.id)

            renewed = await self._db(revoke)
            assert renewed is not None
            self._send_later(renewed, MailToSend.LINKS)
            return self.pages.message(
                "Your old links no longer work",
                ["We emailed you a new link to this page. Links in older emails stop working."],
            )
        if action == "save":
            choice = self.forms.choice(data)
            updated = await self._db(lambda c: service.change(c, found, choice, now, self.offsets))
            notice = "Saved."
        else:
            status = {
                "pause": SubscriberStatus.PAUSED,
                "resume": SubscriberStatus.ACTIVE,
                "unsubscribe": SubscriberStatus.UNSUBSCRIBED,
            }.get(action)
            if status is None:
                return self._manage_view(request, person, token)
            updated = await self._db(
                lambda c: service.set_state(c, found, status, now, self.offsets)
            )
            notice = {"pause": "Paused.", "resume": "Emails resumed."}.get(
                action, "Unsubscribed. You get no more emails."
            )
        return self._manage_view(request, updated, token, notice)

    # -- /unsubscribe -----------------------------------------------------------------------------
    async def unsubscribe_page(self, request: web.Request) -> web.Response:
        token = request.query.get("token", "")
        person = await self._holder(Purpose.UNSUBSCRIBE, token)
        if person is None:
            return self.pages.bad_link()
        return self._button(
            request,
            "unsubscribe",
            "Unsubscribe",
            [f"Stop all emails to {masked(person.email)}?"],
            "Unsubscribe",
            token,
        )

    async def unsubscribe(self, request: web.Request) -> web.Response:
        """The form's POST, and the RFC 8058 one-click POST a mail client makes (its body is
        `List-Unsubscribe=One-Click`, the token in the URL; the token is its credential)."""
        data = await request.post()
        one_click = data.get("List-Unsubscribe") == "One-Click"
        if not one_click and not self.forms.csrf_ok(request, "unsubscribe", data):
            return self.pages.refused_form()
        token = request.query.get("token", "") or str(data.get("token", ""))
        person = await self._holder(Purpose.UNSUBSCRIBE, token)
        if person is None:
            return self.pages.bad_link()
        now = self.clock.now()
        found = person
        await self._db(
            lambda c: service.set_state(c, found, SubscriberStatus.UNSUBSCRIBED, now, self.offsets)
        )
        log.info("subscriber %s unsubscribed by link (one-click: %s)", person.id, one_click)
        return self.pages.message(
            "You are unsubscribed",
            [f"{masked(person.email)} gets no more emails from us."],
            links=[
                ("Changed your mind? Subscribe again", self.links.manage(found.id, found.version))
            ],
        )


def _and_list(parts: list[str]) -> str:
    """Offsets as a sentence says them: 7 days; 7 days and 1 day; 7 days, 3 days and 1 day."""
    return " and ".join(parts) if len(parts) < 3 else f"{', '.join(parts[:-1])} and {parts[-1]}"
