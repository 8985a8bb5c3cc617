"""Which item links may be fetched: http(s) only, the listing's own site (or `follow_hosts`),
and never an internal address (loopback, private, link-local, ...) unless the listing itself
is on one. An edited listing must not make the daemon fetch internal services.

The host of every request is resolved and each of its addresses checked: the first request and
every redirect (the fetcher calls `LinkPolicy.check` for each). As a connection is opened, the
address it is about to connect to is checked again (`check_peer`), so a DNS answer that changed
in between (rebinding) cannot make the daemon send anything to an internal address.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Sequence
from functools import lru_cache
from urllib.parse import urlsplit

from feeds.errors import RefusedURL

Resolve = Callable[[str], Awaitable[Sequence[str]]]
"""Host name to its IP addresses."""

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


async def resolve_host(host: str) -> Sequence[str]:
    """The addresses `host` resolves to (a literal address is itself)."""
    try:
        return [str(ipaddress.ip_address(host))]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


@lru_cache(maxsize=4096)
def is_internal(address: str) -> bool:
    """Loopback, private, link-local, reserved, multicast or unspecified: not the Internet."""
    ip: IPAddress = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


def _host_of(url: str) -> str:
    return (urlsplit(url).hostname or "").lower().rstrip(".")


def _site(host: str) -> str:
    return host[4:] if host.startswith("www.") else host


class LinkPolicy:
    """Decides for one source whether a URL may be fetched; `check` raises `RefusedURL`."""

    def __init__(
        self,
        source_id: str,
        listing_url: str,
        follow_hosts: Sequence[str] = (),
        *,
        resolve: Resolve = resolve_host,
        any_host: bool = False,
    ) -> None:
        self.source_id = source_id
        self.listing_host = _host_of(listing_url)
        self.hosts = tuple(follow_hosts)
        self.any_host = any_host
        self._resolve = resolve
        self._listing_internal: bool | None = None
        self._addresses: dict[str, Sequence[str]] = {}
        self._passed: set[str] = set()  # passed `check`: addresses are resolved once, so for good

    def host_allowed(self, host: str) -> bool:
        if self.any_host or _site(host) == _site(self.listing_host):
            return True
        return any(host == h or host.endswith("." + h) for h in self.hosts)

    async def _addresses_of(self, host: str) -> Sequence[str]:
        if host not in self._addresses:
            self._addresses[host] = await self._resolve(host)
        return self._addresses[host]

    async def listing_is_internal(self) -> bool:
        if self._listing_internal is None:
            try:
                found = await self._addresses_of(self.listing_host)
            except OSError:
                found = []  # a listing that does not resolve here (a saved page) is public
            self._listing_internal = any(is_internal(a) for a in found)
        return self._listing_internal

    async def check(self, url: str) -> None:
        if url in self._passed:  # the same host, addresses and listing: the same answer
            return
        parts = urlsplit(url)
        if parts.scheme.lower() not in ("http", "https"):
            raise RefusedURL(self.source_id, f"not an http(s) link: {url}")
        host = _host_of(url)
        if not host:
            raise RefusedURL(self.source_id, f"no host in {url}")
        if not self.host_allowed(host):
            raise RefusedURL(
                self.source_id,
                f"{url} is on {host}, not the listing's site {self.listing_host} "
                "(add the host to follow_hosts to follow it)",
            )
        try:
            addresses = await self._addresses_of(host)
        except OSError as exc:
            raise RefusedURL(self.source_id, f"cannot resolve {host} for {url}: {exc}") from None
        internal = [a for a in addresses if is_internal(a)]
        listing_internal = await self.listing_is_internal()  # known to check_peer from now on
        if internal and not listing_internal:
            raise RefusedURL(
                self.source_id,
                f"{url} resolves to the internal address {internal[0]}: not followed",
            )
        self._passed.add(url)

    def check_peer(self, url: str, address: str) -> None:
        if is_internal(address) and self._listing_internal is not True:
            raise RefusedURL(
                self.source_id,
                f"{url} would connect to the internal address {address} (its host resolved to "
                "a public one when checked): not fetched",
            )
