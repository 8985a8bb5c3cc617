"""The pages of the web forms: one layout, the site's style, words for people."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from aiohttp import web
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PackageLoader, select_autoescape

from config.schema import Settings

_ENV = Environment(
    loader=ChoiceLoader(
        [
            FileSystemLoader(Path(__file__).parent / "templates"),
            PackageLoader("feeds.render", "templates"),  # the shared style and sign-up form
        ]
    ),
    autoescape=select_autoescape(default=True, enabled_extensions=("html", "j2")),
    trim_blocks=True,
    lstrip_blocks=True,
)

HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
}


class Pages:
    def __init__(self, settings: Settings) -> None:
        self.site_title = settings.site.title
        self.home = str(settings.site.base_url)
        self.contact = settings.subscriptions.contact or settings.alerts.operator

    def render(
        self, template: str, title: str, *, status: int = 200, **context: Any
    ) -> web.Response:
        text = _ENV.get_template(template).render(
            title=title, site_title=self.site_title, home=self.home, **context
        )
        return web.Response(
            text=text,
            status=status,
            content_type="text/html",
            charset="utf-8",
            headers=HEADERS,
        )

    def message(
        self,
        title: str,
        paragraphs: Sequence[str],
        *,
        links: Sequence[tuple[str, str]] = (),
        status: int = 200,
        headers: dict[str, str] | None = None,
    ) -> web.Response:
        response = self.render(
            "page.html.j2", title, status=status, paragraphs=paragraphs, links=links
        )
        response.headers.update(headers or {})
        return response

    def contact_link(self) -> list[tuple[str, str]]:
        if not self.contact:
            return []
        href = self.contact if "://" in self.contact else f"mailto:{self.contact}"
        return [(f"Ask the people who run this site: {self.contact}", href)]

    def bad_link(self) -> web.Response:
        """A link that is old, cut short, withdrawn or forged: what to do, in plain words."""
        return self.message(
            "This link does not work",
            [
                "It may be from an old email (a newer one has a fresh link), it may have been "
                "cut short when it was copied, or it was withdrawn.",
                "To start, change or stop your reminders, sign up again with your address: "
                "if you already get reminders, we email you a fresh link to your settings.",
            ],
            links=[("Sign up or get a fresh link", f"{self.home}subscribe"), *self.contact_link()],
            status=400,
        )

    def too_many(self, retry_after: int, *, per_address: bool) -> web.Response:
        wait = f"{max(1, retry_after // 60)} minute" + ("" if retry_after < 120 else "s")
        if retry_after >= 3600:
            wait = f"{retry_after // 3600} hour" + ("" if retry_after < 7200 else "s")
        reason = (
            "We already sent this address the most emails we send in a day."
            if per_address
            else "There were many sign-ups from your network in the last minute."
        )
        return self.message(
            "Please wait a little",
            [reason, f"Try again in about {wait}. If an email from us arrived, use its link."],
            links=self.contact_link(),
            status=429,
            headers={"Retry-After": str(max(1, retry_after))},
        )

    def refused_form(self) -> web.Response:
        return self.message(
            "Please send the form again",
            [
                "This form was too old, or it was sent from another site. Nothing was changed.",
                "Open the page again and send the form from there.",
            ],
            links=[("Sign up", f"{self.home}subscribe")],
            status=403,
        )
