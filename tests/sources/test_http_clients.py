"""One HTTP client per origin: reused by origin, the least recently used idle ones closed."""

from __future__ import annotations

import ssl

import httpx

from feeds.http_clients import OriginClients, origin


def made() -> tuple[OriginClients, list[httpx.AsyncClient]]:
    clients: list[httpx.AsyncClient] = []

    def make(tls: ssl.SSLContext) -> httpx.AsyncClient:
        clients.append(httpx.AsyncClient(verify=tls))
        return clients[-1]

    return OriginClients(make, verify=True, keep=2), clients


def test_an_origin_is_scheme_host_and_port() -> None:
    assert origin("HTTPS://Example.org:8443/a?b") == "https://example.org:8443"
    assert origin("http://example.org/a") != origin("https://example.org/a")


async def test_one_client_per_origin_reused() -> None:
    pool, clients = made()
    async with pool.client("http://a.example/1") as first:
        pass
    async with pool.client("http://a.example/2") as again:
        assert again is first
    async with pool.client("http://b.example/1") as other:
        assert other is not first
    assert len(clients) == 2
    await pool.aclose()
    assert all(c.is_closed for c in clients)


async def test_the_least_recently_used_idle_clients_are_closed_never_a_busy_one() -> None:
    pool, clients = made()
    async with pool.client("http://busy.example/") as busy:
        for host in ("a", "b", "c"):
            async with pool.client(f"http://{host}.example/"):
                pass
        assert not busy.is_closed  # in use: kept though it is the oldest
        assert len(pool) == 2
    assert [c.is_closed for c in clients] == [False, True, True, False]
    async with pool.client("http://a.example/") as a:  # closed ones are made again
        assert a is not clients[1]
    await pool.aclose()
