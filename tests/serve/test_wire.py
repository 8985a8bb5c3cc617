"""The raw fast path over real loopback sockets: the same answers as aiohttp's path, and every
request it does not take handed to aiohttp on the same connection.

Responses from the fast path carry no Server header; aiohttp's do: that tells, in each test,
which path answered.
"""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiohttp import web

from feeds.clock import FixedClock
from feeds.serve import FeedServer, build_app
from feeds.serve.cache import LOAD_IN_THREAD_BYTES
from feeds.serve.wire import KEEPALIVE_TIMEOUT
from tests.serve.conftest import RSS, Serve, add_routes, publish

LAST_MODIFIED = "Wed, 08 Feb 2023 09:00:00 GMT"


@dataclass
class Answer:
    status: int
    headers: dict[str, str]  # lower-case names; Date and Server left out
    body: bytes
    server: str | None  # the Server header: None from the fast path

    @property
    def fast(self) -> bool:
        return self.server is None


class Connection:
    """One keep-alive connection: send raw bytes, read whole responses."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def answer(self, *, head: bool = False) -> Answer:
        raw = await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), 5)
        status_line, *lines = raw.decode("latin-1").split("\r\n")[:-2]
        headers: dict[str, str] = {}
        for line in lines:
            name, _, value = line.partition(":")
            assert name.lower() not in headers, f"repeated header {name}"
            headers[name.lower()] = value.strip()
        status = int(status_line.split(" ")[1])
        length = 0 if head or status in (204, 304) else int(headers.get("content-length", 0))
        body = await asyncio.wait_for(self.reader.readexactly(length), 5)
        headers.pop("date")
        server = headers.pop("server", None)
        return Answer(status, headers, body, server)

    async def ask(self, request: bytes, *, head: bool = False) -> Answer:
        await self.send(request)
        return await self.answer(head=head)

    async def ask_or_none(self, request: bytes) -> Answer | None:
        """The answer, or None when the server closed the connection."""
        try:
            return await self.ask(request)
        except (asyncio.IncompleteReadError, ConnectionError):
            return None

    async def closed(self) -> bool:
        return await asyncio.wait_for(self.reader.read(), 5) == b""


@asynccontextmanager
async def connect(server: FeedServer) -> AsyncIterator[Connection]:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    try:
        yield Connection(reader, writer)
    finally:
        writer.close()
        await writer.wait_closed()


def get(path: str = "/all.rss", *headers: str, method: str = "GET") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: feeds.example.org", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def both(output_dir: Path, serve: Serve) -> tuple[FeedServer, FeedServer]:
    """A server with the fast path and one without, on the same folder."""
    return (
        await serve(output_dir, extra_routes=add_routes),
        await serve(output_dir, extra_routes=add_routes, wire=False),
    )


SAME_ANSWERS = [
    get(),
    get("/all.rss", "Accept-Encoding: gzip"),
    get("/all.rss", "Accept-Encoding: gzip;q=0, identity"),
    get("/all.rss", "Accept-Encoding: br, *;q=0.5"),
    get("/all.rss?utm_source=reader", "Accept-Encoding: gzip"),
    get("/all.rss", "Accept-Encoding: gzip", method="HEAD"),
    get("/all.rss", method="HEAD"),
    get("/all.rss", f"If-Modified-Since: {LAST_MODIFIED}"),
    get("/all.rss", "If-Modified-Since: Wed, 08 Feb 2023 08:59:59 GMT"),
    get("/all.rss", "If-Modified-Since: not a date"),
    get("/all.rss", 'If-None-Match: "not-ours"', f"If-Modified-Since: {LAST_MODIFIED}"),
    get("/all.rss", "If-None-Match: *"),
    get("/all.atom", "Accept-Encoding: gzip"),
    get("/deadlines.ics"),
    get("/all.json", "User-Agent: a reader", "Accept: */*", "accept-encoding:   gzip  "),
]


@pytest.mark.parametrize("request_bytes", SAME_ANSWERS, ids=lambda r: r.split(b"\r\n")[0])
async def test_the_fast_path_answers_as_aiohttp_does(
    output_dir: Path, serve: Serve, request_bytes: bytes
) -> None:
    fast, plain = await both(output_dir, serve)
    head = request_bytes.startswith(b"HEAD")
    async with connect(fast) as one, connect(plain) as other:
        ours = await one.ask(request_bytes, head=head)
        theirs = await other.ask(request_bytes, head=head)
    assert ours.fast and not theirs.fast
    assert (ours.status, ours.headers, ours.body) == (theirs.status, theirs.headers, theirs.body)


async def test_a_poll_gets_304_for_each_of_its_tags(output_dir: Path, serve: Serve) -> None:
    server = await serve(output_dir)
    async with connect(server) as http:
        packed = await http.ask(get("/all.rss", "Accept-Encoding: gzip"))
        plain = await http.ask(get("/all.rss"))
        assert gzip.decompress(packed.body) == plain.body == RSS
        assert packed.headers["vary"] == plain.headers["vary"] == "Accept-Encoding"
        for tag in (packed.headers["etag"], plain.headers["etag"], "W/" + plain.headers["etag"]):
            poll = await http.ask(get("/all.rss", "Accept-Encoding: gzip", f"If-None-Match: {tag}"))
            assert poll.fast and poll.status == 304 and poll.body == b""
            assert poll.headers["etag"] == tag.removeprefix("W/")
            assert poll.headers["last-modified"] == LAST_MODIFIED
            assert poll.headers["cache-control"] == "public, max-age=300"
            assert poll.headers["x-content-type-options"] == "nosniff"
            assert "content-length" not in poll.headers
        head = await http.ask(get("/all.rss", method="HEAD"), head=True)
        assert head.fast and head.headers["content-length"] == str(len(RSS)) and head.body == b""


async def test_a_feed_republished_while_served(output_dir: Path, serve: Serve) -> None:
    server = await serve(output_dir)
    async with connect(server) as http:
        first = await http.ask(get("/all.rss", "Accept-Encoding: gzip"))
        newer = RSS.replace(b"Call for evidence 0", b"Call for evidence, updated")
        publish(output_dir / "all.rss", newer, mtime=2e9)
        poll = get("/all.rss", "Accept-Encoding: gzip", f"If-None-Match: {first.headers['etag']}")
        second = await http.ask(poll)
        assert second.fast and second.status == 200
        assert gzip.decompress(second.body) == newer
        assert second.headers["etag"] != first.headers["etag"]
        assert second.headers["last-modified"] == "Wed, 18 May 2033 03:33:20 GMT"
        again = await http.ask(
            get("/all.rss", "Accept-Encoding: gzip", f"If-None-Match: {second.headers['etag']}")
        )
        assert again.status == 304
        (output_dir / "all.rss").unlink()
        gone = await http.ask(get("/all.rss"))
        assert gone.status == 404 and not gone.fast  # aiohttp answers, on the same connection
        assert (await http.ask(get("/all.atom"))).status == 200


async def test_requests_split_and_pipelined(output_dir: Path, serve: Serve) -> None:
    server = await serve(output_dir)
    async with connect(server) as http:
        request = get("/all.rss", "Accept-Encoding: gzip")
        await http.send(request[:20])
        await asyncio.sleep(0)
        await http.send(request[20:-1])
        await asyncio.sleep(0)
        await http.send(request[-1:])
        first = await http.answer()
        assert first.fast and first.status == 200
        await http.send(get("/all.atom") + get("/all.json", method="HEAD") + get("/all.rss"))
        atom, json, rss = await http.answer(), await http.answer(head=True), await http.answer()
        assert (atom.status, json.status, rss.status) == (200, 200, 200)
        assert atom.headers["content-type"].startswith("application/atom+xml")
        assert json.body == b"" and rss.body == RSS


HANDED_OVER = [
    get("/healthz"),  # a route
    get("/unsubscribe"),  # a route with another method: 405
    get("/unsubscribe", "Content-Length: 5", method="POST") + b"token",
    get("/all.rss", "Content-Length: 0"),
    get("/all.rss", "Transfer-Encoding: chunked") + b"0\r\n\r\n",
    get("/all.rss", "Expect: 100-continue"),
    get("/all.rss", "Connection: Upgrade", "Upgrade: websocket"),
    get("/all.rss", 'If-None-Match: "a"', 'If-None-Match: "b"'),
    get("/%61ll.rss"),  # percent-encoded: aiohttp decodes
    get("/a/../all.rss"),
    get("/.tmp-all.rss"),
    get("/missing.rss"),
    get("/"),  # no index.html: the generated listing
    b"GET /all.rss HTTP/1.0\r\nHost: x\r\n\r\n",
    b"GET /all.rss HTTP/1.1\r\nHost: x\r\nX-Folded: a\r\n b\r\n\r\n",
    b"GET /all.rss HTTP/1.1\r\nHost: x\nX-Bare-LF: 1\r\n\r\n",
    b"GET /all.rss HTTP/1.1\r\nHost : x\r\n\r\n",
    b"GET /all.rss HTTP/1.1\r\nX-Long: " + b"a" * 9000 + b"\r\n\r\n",
    b"OPTIONS /all.rss HTTP/1.1\r\nHost: x\r\n\r\n",
]


@pytest.mark.parametrize("request_bytes", HANDED_OVER, ids=lambda r: r.split(b"\r\n")[0][:40])
async def test_everything_else_is_aiohttps(
    output_dir: Path, serve: Serve, request_bytes: bytes
) -> None:
    fast, plain = await both(output_dir, serve)
    async with connect(fast) as one, connect(plain) as other:
        warm = await one.ask(get("/all.atom"))  # the connection starts on the fast path
        ours = await one.ask(request_bytes)
        theirs = await other.ask(request_bytes)
        assert warm.fast and not ours.fast
        assert (ours.status, ours.headers, ours.body) == (
            theirs.status,
            theirs.headers,
            theirs.body,
        )
        # aiohttp keeps the connection, or closes it, as it would have.
        after, their_after = await one.ask_or_none(get()), await other.ask_or_none(get())
        assert (after is None) == (their_after is None)
        if after is not None:
            assert after.status == 200 and after.body == RSS and not after.fast


async def test_connection_close_is_honoured(output_dir: Path, serve: Serve) -> None:
    server = await serve(output_dir)
    async with connect(server) as http:
        answer = await http.ask(get("/all.rss", "Connection: close") + get("/all.atom"))
        assert answer.fast and answer.body == RSS and answer.headers["connection"] == "close"
        assert await http.closed()  # the pipelined second request is not answered


async def test_a_large_file_is_read_in_a_thread(serve: Serve, tmp_path: Path) -> None:
    big = b"<rss>" + b"x" * (LOAD_IN_THREAD_BYTES + 1000) + b"</rss>"
    publish(tmp_path / "big.rss", big)
    server = await serve(tmp_path)
    async with connect(server) as http:
        await http.send(get("/big.rss") + get("/big.rss", "Accept-Encoding: gzip"))
        first, second = await http.answer(), await http.answer()
        assert first.fast and first.body == big
        assert second.fast and gzip.decompress(second.body) == big
        head = await http.ask(get("/big.rss", method="HEAD"), head=True)
        assert head.headers["content-length"] == str(len(big))


async def test_requests_are_counted(output_dir: Path, serve: Serve) -> None:
    from feeds.metrics import HTTP_REQUESTS
    from feeds.serve.instrument import instrument

    def counted(app: web.Application) -> None:
        instrument(app)

    def files(code: int) -> int:
        return HTTP_REQUESTS._counts.get(("files", code), 0)

    server = await serve(output_dir, extra_routes=counted)
    before = files(200), files(304)
    async with connect(server) as http:
        tag = (await http.ask(get())).headers["etag"]
        poll = await http.ask(get("/all.rss", f"If-None-Match: {tag}"))
        assert poll.fast and poll.status == 304
    assert (files(200), files(304)) == (before[0] + 1, before[1] + 1)


async def test_idle_connections_are_closed_and_stop_closes_the_rest(
    output_dir: Path, serve: Serve
) -> None:
    server = await serve(output_dir)
    wire = server._wire_path
    assert wire is not None
    async with connect(server) as idle, connect(server) as busy:
        assert (await idle.ask(get())).fast and (await busy.ask(get())).fast
        port = idle.writer.get_extra_info("sockname")[1]
        (held,) = [c for c in wire.connections if c.transport.get_extra_info("peername")[1] == port]
        held.last_active -= KEEPALIVE_TIMEOUT + 1  # as if idle for longer than the timeout
        wire._sweep()
        assert await idle.closed()
        assert len(wire.connections) == 1
        assert (await busy.ask(get())).status == 200
        await server.stop()
        assert await busy.closed()


async def test_a_head_sent_a_byte_at_a_time_is_cut_off(output_dir: Path, serve: Serve) -> None:
    server = await serve(output_dir)
    wire = server._wire_path
    assert wire is not None
    async with connect(server) as slow:
        await slow.send(get()[:10])
        for _ in range(1000):  # let the server accept and read it
            if any(c.partial_since is not None for c in wire.connections):
                break
            await asyncio.sleep(0)
        (held,) = wire.connections
        assert held.partial_since is not None
        held.last_active += 1  # bytes keep coming ...
        held.partial_since -= KEEPALIVE_TIMEOUT + 1  # ... but the head began too long ago
        wire._sweep()
        assert await slow.closed()


async def test_made_up_paths_are_not_remembered(output_dir: Path, serve: Serve) -> None:
    server = await serve(output_dir)
    wire = server._wire_path
    assert wire is not None
    for n in range(5):
        async with connect(server) as http:  # a new connection: the fast path reads it first
            assert (await http.ask(get(f"/scan-{n}.php"))).status == 404
    async with connect(server) as http:
        assert (await http.ask(get("/all.rss"))).fast
    assert wire.paths == {b"/all.rss": "all.rss"}
    assert len(wire.heads) == 1  # the head of the one request for a file that is there


async def test_a_remembered_head_still_sees_the_file_change_and_go(
    output_dir: Path, serve: Serve
) -> None:
    server = await serve(output_dir)
    poll = get("/all.rss", "Accept-Encoding: gzip")
    async with connect(server) as http:
        first = await http.ask(poll)
        await asyncio.sleep(0)  # the next pass of the loop: the file is checked again
        publish(output_dir / "all.rss", RSS.replace(b"Home affairs", b"Home Affairs"))
        await asyncio.sleep(0)
        second = await http.ask(poll)
        assert first.fast and second.fast
        assert second.headers["etag"] != first.headers["etag"]
        (output_dir / "all.rss").unlink()
        await asyncio.sleep(0)
        gone = await http.ask(poll)
        assert gone.status == 404 and not gone.fast  # handed to aiohttp


async def test_the_date_header_comes_from_the_clock(output_dir: Path) -> None:
    clock = FixedClock(datetime(2024, 3, 9, 12, 30, 5, tzinfo=UTC))
    server = FeedServer(build_app(output_dir), clock=clock)
    await server.start()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(get())
        raw = await reader.readuntil(b"\r\n\r\n")
        writer.close()
        await writer.wait_closed()
    finally:
        await server.stop()
    assert b"\r\nDate: Sat, 09 Mar 2024 12:30:05 GMT\r\n" in raw
    assert b"\r\nServer:" not in raw  # the fast path answered


async def test_the_products_server_answers_files_on_the_fast_path(output_dir: Path) -> None:
    """`feed_server` (what `feedline serve` and the daemon run) has the request-body timeout
    middleware: it concerns only requests with a body, so files still take the fast path and
    a form post still goes through it (408 when its body is late: tests/faults)."""
    from config.schema import ServerSettings
    from feeds.serve.server import feed_server

    server = feed_server(output_dir, ServerSettings(), cache_max_age=300, extra_routes=add_routes)
    assert server.app.middlewares  # the body timeout
    await server.start()
    try:
        async with connect(server) as http:
            assert (await http.ask(get("/all.rss", "Accept-Encoding: gzip"))).fast
            posted = await http.ask(
                b"POST /all.rss HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nab"
            )
            assert posted.status == 405 and not posted.fast
    finally:
        await server.stop()
