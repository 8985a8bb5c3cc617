"""Reading and building the sign-up and preferences forms, CSRF and origin checks."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import timedelta
from urllib.parse import urlsplit

from aiohttp import web
from multidict import MultiDictProxy

from config.durations import format_duration, parse_duration
from config.schema import Settings
from feeds.render.display import duration_text
from feeds.render.index_page import SubscribeForm
from scheduler.ledger.subscribers import DigestChoice, Subscriber
from scheduler.subscriptions.service import Choice
from scheduler.tokens import form_token, form_token_ok

SESSION_COOKIE = "feedline_session"
NEW_SESSION = web.RequestKey("feedline_new_session", str)
FormData = MultiDictProxy[str | bytes | bytearray | web.FileField]


class Forms:
    def __init__(self, settings: Settings, key: bytes) -> None:
        self.settings = settings
        self.key = key
        self.offered = settings.subscriptions.offsets_offered or settings.reminders.offsets
        self.default_offsets = tuple(settings.reminders.offsets)
        self.sources = [(s.id, s.title) for s in settings.sources]
        base = urlsplit(str(settings.site.base_url))
        self.origin = f"{base.scheme}://{base.netloc}"

    # -- the session cookie and CSRF tokens -------------------------------------------------
    def session(self, request: web.Request) -> str:
        given = request.cookies.get(SESSION_COOKIE, "")
        return given if 16 <= len(given) <= 64 and given.isascii() else ""

    def ensure_session(self, request: web.Request, response: web.StreamResponse) -> str:
        """The browser's random session id (set now if it had none): CSRF tokens bind to it."""
        session = self.session(request) or request.get(NEW_SESSION, "")
        if not session:
            session = secrets.token_urlsafe(24)
            request[NEW_SESSION] = session
        if not self.session(request):
            response.set_cookie(
                SESSION_COOKIE,
                session,
                httponly=True,
                samesite="Lax",
                secure=self._is_https(request),
                path="/",
            )
        return session

    def _is_https(self, request: web.Request) -> bool:
        if request.secure:
            return True
        proxied = self.settings.subscriptions.trusted_proxy
        return proxied and request.headers.get("X-Forwarded-Proto") == "https"

    def csrf_for(self, request: web.Request, form: str) -> str:
        session = self.session(request) or request.get(NEW_SESSION, "")
        if not session:
            session = request[NEW_SESSION] = secrets.token_urlsafe(24)
        return form_token(self.key, form, session)

    def csrf_ok(self, request: web.Request, form: str, data: FormData) -> bool:
        return form_token_ok(self.key, form, self.session(request), str(data.get("csrf", "")))

    def same_origin(self, request: web.Request) -> bool:
        """The POST comes from a page of this site (Origin, else Referer, else Sec-Fetch-Site).

        The index page is static and cannot carry a session-bound token: its form is
        accepted on this check alone. A request that names no origin at all is refused.
        """
        here = {self.origin, f"{request.scheme}://{request.host}"}
        origin = request.headers.get("Origin")
        if origin is not None:
            return origin in here
        referer = request.headers.get("Referer")
        if referer:
            parts = urlsplit(referer)
            return f"{parts.scheme}://{parts.netloc}" in here
        return request.headers.get("Sec-Fetch-Site") == "same-origin"

    # -- the choice ---------------------------------------------------------------------------
    def choice(self, data: FormData) -> Choice:
        """What was ticked; unknown values are ignored. All sources ticked = every source
        (also those added later); no offset ticked with no digest = the default offsets."""
        known = {source_id for source_id, _ in self.sources}
        sources = tuple(sorted({str(v) for v in data.getall("sources", []) if v in known}))
        if set(sources) == known:
            sources = ()
        offered = set(self.offered)
        offsets: list[timedelta] = []
        for value in data.getall("offsets", []):
            try:
                parsed = parse_duration(str(value))
            except ValueError:
                continue
            if parsed in offered:
                offsets.append(parsed)
        try:
            digest = DigestChoice(str(data.get("digest", "off")))
        except ValueError:
            digest = DigestChoice.OFF
        chosen = tuple(sorted(set(offsets), reverse=True))
        if chosen == tuple(sorted(set(self.default_offsets), reverse=True)):
            chosen = ()
        return Choice(sources, chosen, digest)

    def form(
        self,
        *,
        action: str,
        csrf: str,
        email: str = "",
        person: Subscriber | None = None,
        choice: Choice | None = None,
        manage: bool = False,
    ) -> SubscribeForm:
        if person is not None:
            choice = Choice(person.sources, person.offsets, person.digest)
        sources: Sequence[str] = choice.sources if choice else ()
        offsets = set(choice.offsets if choice and choice.offsets else self.default_offsets)
        return SubscribeForm(
            action=action,
            sources=[(sid, title, not sources or sid in sources) for sid, title in self.sources],
            offsets=[(format_duration(o), duration_text(o), o in offsets) for o in self.offered],
            digest=str(choice.digest) if choice else "off",
            email=email,
            csrf=csrf,
            button="Save my choice" if manage else "Subscribe",
            manage=manage,
        )
