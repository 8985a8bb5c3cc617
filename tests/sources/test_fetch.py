"""The Fetcher against a real loopback server: politeness, conditional GET, limits, errors."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from feeds.errors import SourceError
from feeds.fetch import Fetcher, read_local, user_agent
from feeds.sources.base import FetchState, content_hash
from feeds.sources.decoding import choose_encoding
from feeds.sources.html_page import ACCEPT_HTML
from feeds.sources.sniff import media_type_and_charset
from tests.sources.conftest import MakeFetcher
from tests.sources.support import CONTACT, LoopbackServer, Sleeps

PAGE = "<html><body><p>hello</p></body></html>"
LAST_MODIFIED = "Wed, 11 Feb 2026 09:00:00 GMT"


async def test_user_agent_names_feedline_and_the_contact(
    server: LoopbackServer, fetcher: Fetcher
) -> None:
    url = server.page("/ua", PAGE)
    await fetcher.get(url, FetchState(), accept=ACCEPT_HTML)
    agent = server.hits("/ua")[0].headers["User-Agent"]
    assert agent.startswith("feedline/")
    assert CONTACT in agent
    assert user_agent(None).startswith("feedline/")


async def test_conditional_get_remembers_validators_and_304_costs_nothing(
    server: LoopbackServer, fetcher: Fetcher
) -> None:
    url = server.page("/news", PAGE, etag=True, last_modified=LAST_MODIFIED)
    first = await fetcher.get(url, FetchState(), accept=ACCEPT_HTML)
    assert first.status == "ok"
    assert first.body == PAGE.encode()
    assert first.state.etag is not None
    assert first.state.last_modified == LAST_MODIFIED
    assert first.state.content_hash == content_hash(PAGE.encode())

    second = await fetcher.get(url, first.state, accept=ACCEPT_HTML)
    assert second.unchanged
    assert second.body == b""
    assert second.state == first.state
    request = server.hits("/news")[1]
    assert request.headers["If-None-Match"] == first.state.etag
    assert request.headers["If-Modified-Since"] == LAST_MODIFIED
    assert request.status == 304


async def test_same_body_without_validators_counts_as_unchanged(
    server: LoopbackServer, fetcher: Fetcher
) -> None:
    url = server.page("/plain", PAGE)
    first = await fetcher.get(url, FetchState(), accept=ACCEPT_HTML)
    second = await fetcher.get(url, first.state, accept=ACCEPT_HTML)
    assert first.status == "ok"
    assert second.status == "not_modified"
    assert server.hits("/plain")[1].headers.get("If-None-Match") is None


async def test_redirects_are_followed_to_the_final_url(
    server: LoopbackServer, fetcher: Fetcher
) -> None:
    async def moved(request: web.Request) -> web.StreamResponse:
        raise web.HTTPMovedPermanently(location="/new/home")

    url = server.route("/old", moved)
    final = server.page("/new/home", PAGE)
    result = await fetcher.get(url, FetchState(), accept=ACCEPT_HTML)
    assert result.url == final
    assert result.body == PAGE.encode()


async def test_too_many_redirects_is_an_error(
    server: LoopbackServer, make_fetcher: MakeFetcher
) -> None:
    async def loop(request: web.Request) -> web.StreamResponse:
        step = int(request.query.get("n", "0"))
        raise web.HTTPFound(location=f"/loop?n={step + 1}")

    url = server.route("/loop", loop)
    fetcher = make_fetcher(max_redirects=3)
    with pytest.raises(SourceError, match="too many redirects") as caught:
        await fetcher.get(url, FetchState(), accept=ACCEPT_HTML, source_id="loop")
    assert caught.value.source_id == "loop"
    assert len(server.hits("/loop")) == 4


async def test_server_errors_are_retried_with_backoff_then_reported(
    server: LoopbackServer, make_fetcher: MakeFetcher, sleeps: Sleeps
) -> None:
    async def broken(request: web.Request) -> web.StreamResponse:
        return web.Response(status=500, text="boom")

    url = server.route("/broken", broken)
    fetcher = make_fetcher(retries=2)
    with pytest.raises(SourceError, match=r"HTTP 500 from http://127\.0\.0\.1:\d+/broken"):
        await fetcher.get(url, FetchState(), accept=ACCEPT_HTML)
    assert len(server.hits("/broken")) == 3
    assert sleeps.delays == [1.0, 2.0]


async def test_a_transient_error_then_success(
    server: LoopbackServer, fetcher: Fetcher, sleeps: Sleeps
) -> None:
    answers = iter([503, 200])

    async def flaky(request: web.Request) -> web.StreamResponse:
        status = next(answers)
        return web.Response(status=status, text=PAGE, content_type="text/html")

    url = server.route("/flaky", flaky)
    result = await fetcher.get(url, FetchState(), accept=ACCEPT_HTML)
    assert result.status == "ok"
    assert sleeps.delays == [1.0]


async def test_retry_after_is_honoured_up_to_a_cap(
    server: LoopbackServer, fetcher: Fetcher, sleeps: Sleeps
) -> None:
    answers = iter(["7", "3600"])

    async def busy(request: web.Request) -> web.StreamResponse:
        return web.Response(status=429, headers={"Retry-After": next(answers)})

    url = server.route("/busy", busy)
    with pytest.raises(SourceError, match=r"HTTP 429 .*retry after 3600s"):
        await fetcher.get(url, FetchState(), accept=ACCEPT_HTML)
    assert sleeps.delays == [7.0]


async def test_a_server_that_never_answers_times_out(
    server: LoopbackServer, make_fetcher: MakeFetcher, sleeps: Sleeps
) -> None:
    async def stall(request: web.Request) -> web.StreamResponse:
        await server.release.wait()
        return web.Response(text="too late")

    url = server.route("/stall", stall)
    fetcher = make_fetcher(timeout=0.2, retries=1)
    with pytest.raises(SourceError, match=r"timed out after 0\.2s fetching http://") as caught:
        await fetcher.get(url, FetchState(), accept=ACCEPT_HTML)
    assert "(after 2 attempts)" in str(caught.value)
    assert len(server.hits("/stall")) == 2
    assert sleeps.delays == [1.0]


async def test_connection_refused_is_reported(make_fetcher: MakeFetcher) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    fetcher = make_fetcher(retries=0)
    with pytest.raises(SourceError, match=r"cannot connect to http://127\.0\.0\.1"):
        await fetcher.get(f"http://127.0.0.1:{port}/", FetchState(), accept=ACCEPT_HTML)


async def test_http_404_is_not_retried(
    server: LoopbackServer, fetcher: Fetcher, sleeps: Sleeps
) -> None:
    with pytest.raises(SourceError, match="HTTP 404 Not Found from"):
        await fetcher.get(server.url("/missing"), FetchState(), accept=ACCEPT_HTML)
    assert sleeps.delays == []


async def test_an_oversized_streamed_body_is_an_error(
    server: LoopbackServer, make_fetcher: MakeFetcher
) -> None:
    async def endless(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/html"})
        await response.prepare(request)
        for _ in range(100):  # 100 kB, no Content-Length
            await response.write(b"x" * 1000)
        await response.write_eof()
        return response

    url = server.route("/big", endless)
    fetcher = make_fetcher(max_bytes=20_000)
    with pytest.raises(SourceError, match=r"body larger than 20 kB"):
        await fetcher.get(url, FetchState(), accept=ACCEPT_HTML)


async def test_a_declared_oversized_body_is_refused_before_reading(
    server: LoopbackServer, make_fetcher: MakeFetcher
) -> None:
    url = server.page("/declared", "y" * 6000)
    fetcher = make_fetcher(max_bytes=5000)
    with pytest.raises(SourceError, match=r"body larger than 5 kB"):
        await fetcher.get(url, FetchState(), accept=ACCEPT_HTML)


@pytest.mark.parametrize("content_type", ["application/pdf", "image/png"])
async def test_a_wrong_content_type_says_what_was_expected(
    server: LoopbackServer, fetcher: Fetcher, content_type: str
) -> None:
    url = server.page("/doc", b"%PDF-1.7", content_type, charset=None)
    with pytest.raises(SourceError) as caught:
        await fetcher.get(url, FetchState(), accept=ACCEPT_HTML)
    message = str(caught.value)
    assert "expected text/html" in message
    assert f"got {content_type}" in message


async def test_the_header_charset_wins_over_the_document(
    server: LoopbackServer, fetcher: Fetcher
) -> None:
    body = '<meta charset="utf-8"><p>Caf\u00e9 \u20ac</p>'.encode("cp1252")
    url = server.page("/cp", body, charset="windows-1252")
    result = await fetcher.get(url, FetchState(), accept=ACCEPT_HTML)
    assert result.encoding == "windows-1252"
    assert "Caf\u00e9 \u20ac" in result.text()


async def test_the_meta_charset_is_used_without_a_header_charset(
    server: LoopbackServer, fetcher: Fetcher
) -> None:
    body = '<meta charset="iso-8859-1"><p>\u00c9t\u00e9</p>'.encode("latin-1")
    url = server.page("/latin", body, charset=None)
    result = await fetcher.get(url, FetchState(), accept=ACCEPT_HTML)
    assert result.encoding == "windows-1252"
    assert "\u00c9t\u00e9" in result.text()


async def test_concurrency_is_bounded(server: LoopbackServer, make_fetcher: MakeFetcher) -> None:
    active = 0
    peak = 0
    gate = asyncio.Event()

    async def slow(request: web.Request) -> web.StreamResponse:
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        if active >= 2:
            gate.set()
        await gate.wait()
        active -= 1
        return web.Response(text=PAGE, content_type="text/html")

    url = server.route("/slow", slow)
    fetcher = make_fetcher(concurrency=2)
    await asyncio.gather(*(fetcher.get(url, FetchState(), accept=ACCEPT_HTML) for _ in range(6)))
    assert peak == 2


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'<?xml version="1.0" encoding="ISO-8859-1"?><rss/>', "windows-1252"),
        (
            b'<html><head><meta http-equiv="Content-Type" content="text/html; charset=koi8-r">',
            "koi8-r",
        ),
        (b"\xef\xbb\xbf<html>", "utf-8-sig"),
        (b'<meta charset="no-such-charset">', "utf-8"),
        (b"<html>", "utf-8"),
    ],
)
def test_choose_encoding(body: bytes, expected: str) -> None:
    assert choose_encoding(body) == expected


def test_media_type_and_charset() -> None:
    assert media_type_and_charset('Text/HTML; Charset="UTF-8"') == ("text/html", "utf-8")
    assert media_type_and_charset(None) == (None, None)


async def test_read_local_has_the_size_limit_and_unchanged_detection(tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    page.write_text(PAGE, encoding="utf-8")
    first = await read_local("local", page, FetchState(), max_bytes=1024)
    assert first.status == "ok"
    assert first.url.startswith("file://")
    second = await read_local("local", page, first.state, max_bytes=1024)
    assert second.unchanged
    page.write_text("z" * 2000, encoding="utf-8")
    with pytest.raises(SourceError, match="over the 1,024 byte limit"):
        await read_local("local", page, FetchState(), max_bytes=1024)
    with pytest.raises(SourceError, match="file not found"):
        await read_local("local", tmp_path / "nope.html", FetchState(), max_bytes=1024)


async def test_connections_are_reused_after_a_304(server: LoopbackServer, fetcher: Fetcher) -> None:
    ports: list[int] = []

    async def tagged(request: web.Request) -> web.StreamResponse:
        assert request.transport is not None
        ports.append(request.transport.get_extra_info("peername")[1])
        if request.headers.get("If-None-Match") == '"v1"':
            return web.Response(status=304, headers={"ETag": '"v1"'})
        return web.Response(text=PAGE, content_type="text/html", headers={"ETag": '"v1"'})

    url = server.route("/tagged", tagged)
    state = (await fetcher.get(url, FetchState(), accept=ACCEPT_HTML)).state
    for _ in range(3):
        assert (await fetcher.get(url, state, accept=ACCEPT_HTML)).unchanged
    assert len(set(ports)) == 1


@pytest.fixture
async def tls_server() -> AsyncIterator[str]:
    import ssl

    import trustme

    authority = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(context)

    async def hello(request: web.Request) -> web.StreamResponse:
        return web.Response(text=PAGE, content_type="text/html")

    app = web.Application()
    app.router.add_get("/", hello)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
    await site.start()
    host, port = runner.addresses[0][:2]
    yield f"https://{host}:{port}/"
    await runner.cleanup()


async def test_tls_certificates_are_verified(
    tls_server: str, make_fetcher: MakeFetcher, sleeps: Sleeps
) -> None:
    with pytest.raises(SourceError, match="TLS certificate verification failed"):
        await make_fetcher().get(tls_server, FetchState(), accept=ACCEPT_HTML)
    assert sleeps.delays == []  # not retried: it will not get better
    unverified = make_fetcher(verify_tls=False)
    assert (await unverified.get(tls_server, FetchState(), accept=ACCEPT_HTML)).status == "ok"


async def test_a_long_header_is_read(server: LoopbackServer, fetcher: Fetcher) -> None:
    policy = "default-src 'self'; " + "script-src https://cdn.example.org; " * 300  # 11 kB

    async def guarded(request: web.Request) -> web.StreamResponse:
        headers = {"Content-Security-Policy": policy}
        return web.Response(text=PAGE, content_type="text/html", headers=headers)

    url = server.route("/csp", guarded)
    assert (await fetcher.get(url, FetchState(), accept=ACCEPT_HTML)).status == "ok"
