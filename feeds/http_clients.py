"""One httpx client, and so one connection pool, per origin (scheme, host, port).

httpcore's pool checks every connection it holds each time a request starts or a response is
closed (is it idle, has it expired, did the server close it: a socket poll each). One pool for
every site holds the idle connections of all of them, so with many sites each request paid for
dozens of checks of connections it could never use; that was most of what a 304 cost. A pool
per origin holds only that site's few connections, kept alive between its requests.

The TLS context is made once and shared. At most `keep` clients are kept; beyond that the
least recently used idle ones are closed (with their connections). A redirect to another
origin is followed by the client that sent the first request.
"""

from __future__ import annotations

import ssl
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

MakeClient = Callable[[ssl.SSLContext], httpx.AsyncClient]


@dataclass(slots=True)
class _Held:
    client: httpx.AsyncClient
    active: int = 0


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


class OriginClients:
    """Clients by origin, made by `make` on first use; `aclose` closes them all."""

    def __init__(self, make: MakeClient, *, verify: bool, keep: int) -> None:
        self._make = make
        self._verify = verify
        self._keep = keep
        self._tls: ssl.SSLContext | None = None
        self._held: OrderedDict[str, _Held] = OrderedDict()

    def __len__(self) -> int:
        return len(self._held)

    @asynccontextmanager
    async def client(self, url: str) -> AsyncIterator[httpx.AsyncClient]:
        key = origin(url)
        held = self._held.get(key)
        if held is None:
            if self._tls is None:  # made on first use: local files never pay for it
                self._tls = httpx.create_ssl_context(verify=self._verify)
            held = self._held[key] = _Held(self._make(self._tls))
        else:
            self._held.move_to_end(key)
        held.active += 1
        try:
            yield held.client
        finally:
            held.active -= 1
            if len(self._held) > self._keep:
                await self._trim()

    async def _trim(self) -> None:
        idle = [k for k, h in self._held.items() if h.active == 0]  # least recently used first
        for key in idle[: len(self._held) - self._keep]:
            await self._held.pop(key).client.aclose()

    async def aclose(self) -> None:
        held, self._held = self._held, OrderedDict()
        for one in held.values():
            await one.client.aclose()
