"""The links a subscriber is sent: confirm, manage, one-click unsubscribe, add to calendar.

Each carries an opaque token (scheduler.tokens), never an address.
"""

from __future__ import annotations

from urllib.parse import quote

from scheduler.tokens import Purpose, subscriber_token


class Links:
    def __init__(self, base_url: str, key: bytes) -> None:
        self.base = base_url if base_url.endswith("/") else base_url + "/"
        self.key = key

    def token(self, purpose: Purpose, subscriber_id: int, version: int) -> str:
        return subscriber_token(self.key, purpose, subscriber_id, version)

    def _url(self, path: str, purpose: Purpose, subscriber_id: int, version: int) -> str:
        return f"{self.base}{path}?token={self.token(purpose, subscriber_id, version)}"

    def confirm(self, subscriber_id: int, version: int) -> str:
        return self._url("confirm", Purpose.CONFIRM, subscriber_id, version)

    def manage(self, subscriber_id: int, version: int) -> str:
        return self._url("manage", Purpose.MANAGE, subscriber_id, version)

    def unsubscribe(self, subscriber_id: int, version: int) -> str:
        """The List-Unsubscribe target: a POST there unsubscribes (RFC 8058), a GET asks."""
        return self._url("unsubscribe", Purpose.UNSUBSCRIBE, subscriber_id, version)

    def calendar(self, uid: str) -> str:
        return f"{self.base}deadlines/{quote(uid, safe='')}.ics"

    @property
    def subscribe(self) -> str:
        return f"{self.base}subscribe"
