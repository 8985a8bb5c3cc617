"""Polite HTTP fetching for sources: one shared aiohttp session, conditional GET, bounded bodies.

`Fetcher.get` either returns a `FetchResult` or raises `SourceError` with a one-line message.
Transient failures (connect errors, timeouts, 5xx, 429) are retried with exponential backoff;
the sleeps go through an injectable callable so tests never wait. `read_local` gives a local
file the same size limit and hash-based unchanged detection.
"""

from __future__ import annotations

import asyncio
import email.utils
import importlib.metadata
import socket
import ssl
import urllib.request
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any, Literal, Protocol
from urllib.parse import urlsplit

import aiohttp
import certifi
from yarl import URL

from config.schema import FetchSettings, SourceSettings
from feeds.clock import SystemClock
from feeds.errors import HttpStatusError, SourceError
from feeds.sources.base import FetchState, content_hash
from feeds.sources.decoding import choose_encoding, decode_text
from feeds.sources.local import read_local_file
from feeds.sources.sniff import media_type_and_charset

Sleep = Callable[[float], Awaitable[None]]


class Guard(Protocol):
    """Checks each request of a fetch (the first and every redirect); raises to refuse it."""

    async def check(self, url: str) -> None:
        """Before the request is sent."""

    def check_peer(self, url: str, address: str) -> None:
        """As a new connection is opened for `url`, with the address it is about to connect
        to (whatever an earlier DNS answer said); when it raises, nothing is sent."""


BACKOFF_BASE = 1.0
"""First retry delay in seconds; doubles per attempt."""
BACKOFF_CAP = 30.0
"""Longest delay between attempts, including an honoured Retry-After."""
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
CHUNK = 64 * 1024
MAX_HEADER = 16 * 1024


def _version() -> str:
    try:
        return importlib.metadata.version("feedline")
    except importlib.metadata.PackageNotFoundError:
        return "0"


def user_agent(contact: str | None) -> str:
    """`feedline/<version> (+<contact>)`, so site operators know whom to ask."""
    base = f"feedline/{_version()}"
    return f"{base} (+{contact})" if contact else base


def _host(url: str) -> str:
    try:
        return urlsplit(url).hostname or url
    except ValueError:
        return url


def format_size(n: int) -> str:
    for unit, size in (("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if n >= size:
            return f"{n / size:.1f}".rstrip("0").rstrip(".") + f" {unit}"
    return f"{n} bytes"


@dataclass(frozen=True, slots=True)
class FetchResult:
    """A successful fetch. `status` is "not_modified" on a 304 (empty body) or when the body
    hashes the same as last time (body present, nothing new to parse)."""

    status: Literal["ok", "not_modified"]
    body: bytes
    url: str
    encoding: str
    content_type: str | None
    state: FetchState

    @property
    def unchanged(self) -> bool:
        return self.status == "not_modified"

    def text(self, forced: str | None = None) -> str:
        """The body as text (feeds.sources.decoding); `forced` is the source's `encoding`."""
        return decode_text(self.body, forced=forced, declared=self.encoding)


def accepts(accept: str, media_type: str) -> bool:
    """Whether `media_type` matches one of the ranges of an Accept header (q > 0)."""
    for part in accept.split(","):
        pieces = [p.strip() for p in part.split(";")]
        wanted = pieces[0].lower()
        if any(p.replace(" ", "") in ("q=0", "q=0.0", "q=0.00", "q=0.000") for p in pieces[1:]):
            continue
        if wanted in ("*/*", media_type):
            return True
        if wanted.endswith("/*") and media_type.startswith(wanted[:-1]):
            return True
    return False


def _expected(accept: str) -> str:
    types = [p.split(";")[0].strip() for p in accept.split(",")]
    return " or ".join(t for t in types if t)


def _caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    seen: BaseException | None = exc
    for _ in range(10):
        if seen is None:
            return False
        if isinstance(seen, kind):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


class _Retry(Exception):
    """An attempt failed in a way worth retrying."""

    def __init__(self, message: str, delay: float | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.delay = delay


@cache
def _verifying_context() -> ssl.SSLContext:
    """One per process: loading the CA certificates takes tens of milliseconds."""
    return ssl.create_default_context(cafile=certifi.where())


_CONNECTING: ContextVar[tuple[Guard, str] | None] = ContextVar("feedline_guard", default=None)
"""The guard of the request being sent, and its URL, as the connection for it is opened."""


def _guarded_socket(addr_info: tuple[Any, ...]) -> socket.socket:
    """The socket of a new connection, once the guard (if any) accepts the address that it
    will connect to: the address actually used, whatever an earlier DNS answer said."""
    family, kind, proto, _, address = addr_info
    held = _CONNECTING.get()
    if held is not None:
        guard, url = held
        guard.check_peer(url, str(address[0]))
    return socket.socket(family=family, type=kind, proto=proto)


def _retry_after(value: str | None, now: datetime) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


class Fetcher:
    """Fetches source URLs politely. Share one per process; `await fetcher.aclose()` at the end.

    At most `settings.concurrency` requests are in flight at once; backoff sleeps do not hold
    a slot.
    """

    def __init__(
        self,
        settings: FetchSettings,
        *,
        sleep: Sleep = asyncio.sleep,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self.settings = settings
        self._sleep = sleep
        self._now = now or SystemClock().now
        self._slots = asyncio.Semaphore(settings.concurrency)
        # Made on first use (in the running loop), so a site of local files never pays for it.
        self._session: aiohttp.ClientSession | None = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            tls: ssl.SSLContext | bool = _verifying_context() if self.settings.verify_tls else False
            self._session = aiohttp.ClientSession(
                headers={"User-Agent": user_agent(self.settings.contact)},
                connector=aiohttp.TCPConnector(
                    limit=max(self.settings.concurrency, 1) * 2,
                    ssl=tls,
                    socket_factory=_guarded_socket,
                ),
                timeout=aiohttp.ClientTimeout(total=None),  # asyncio.timeout bounds each attempt
                # Long headers (a big Content-Security-Policy, cookies) as h11 accepted them.
                max_line_size=MAX_HEADER,
                max_field_size=MAX_HEADER,
                # HTTP(S)_PROXY / NO_PROXY are honoured when set; otherwise the environment
                # is not consulted (aiohttp would look up ~/.netrc in a thread per request).
                trust_env=bool(urllib.request.getproxies_environment()),
            )
        return self._session

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def get(
        self,
        url: str,
        previous: FetchState,
        *,
        accept: str,
        source_id: str | None = None,
        guard: Guard | None = None,
    ) -> FetchResult:
        """GET `url` conditionally; raise `SourceError` (for `source_id`, default the host)
        on any failure. `accept` is sent as the Accept header and also checked against the
        answer's Content-Type. `guard` checks the URL of every request, redirects included."""
        source_id = source_id or _host(url)
        attempts = self.settings.retries + 1
        for attempt in range(attempts):
            try:
                async with self._slots:
                    return await self._attempt(source_id, url, previous, accept, guard)
            except _Retry as retry:
                if attempt + 1 >= attempts:
                    tries = f" (after {attempts} attempts)" if attempts > 1 else ""
                    raise SourceError(source_id, retry.message + tries) from None
                delay = min(BACKOFF_BASE * 2**attempt, BACKOFF_CAP)
                if retry.delay is not None:
                    if retry.delay > BACKOFF_CAP:
                        raise SourceError(
                            source_id,
                            f"{retry.message}; asked to retry after {retry.delay:.0f}s "
                            f"(longer than {BACKOFF_CAP:.0f}s)",
                        ) from None
                    delay = max(delay, retry.delay)
                await self._sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _attempt(
        self, source_id: str, url: str, previous: FetchState, accept: str, guard: Guard | None
    ) -> FetchResult:
        headers = {"Accept": accept}
        if previous.etag:
            headers["If-None-Match"] = previous.etag
        if previous.last_modified:
            headers["If-Modified-Since"] = previous.last_modified
        timeout = self.settings.timeout
        self._http()  # made before the clock starts: loading the CA certificates takes a while
        try:
            async with asyncio.timeout(timeout):
                return await self._follow(source_id, url, headers, previous, accept, guard)
        except TimeoutError:
            raise _Retry(f"timed out after {timeout:g}s fetching {url}") from None
        except aiohttp.ClientConnectorCertificateError as exc:
            raise SourceError(
                source_id, f"TLS certificate verification failed for {url}: {exc}"
            ) from None
        except aiohttp.ClientConnectorError as exc:
            raise _Retry(f"cannot connect to {url}: {exc or type(exc).__name__}") from None
        except aiohttp.InvalidURL as exc:
            raise SourceError(source_id, f"invalid URL {url!r}: {exc}") from None
        except (aiohttp.ClientError, OSError) as exc:
            raise _Retry(f"connection failed fetching {url}: {exc or type(exc).__name__}") from None

    async def _follow(
        self,
        source_id: str,
        url: str,
        headers: dict[str, str],
        previous: FetchState,
        accept: str,
        guard: Guard | None,
    ) -> FetchResult:
        """GET `url`, following redirects: the guard checks every request before it is sent,
        and the address of each new connection before it is opened (`_guarded_socket`)."""
        try:
            target = URL(url)
        except ValueError as exc:
            raise SourceError(source_id, f"invalid URL {url!r}: {exc}") from None
        for hop in range(self.settings.max_redirects + 1):
            if target.scheme not in ("http", "https"):
                raise SourceError(source_id, f"not an http(s) URL: {target}")
            if guard is not None:
                await guard.check(str(target))
            connecting = _CONNECTING.set((guard, str(target)) if guard is not None else None)
            try:
                async with self._http().get(
                    target, headers=headers, allow_redirects=False
                ) as response:
                    location = response.headers.get("Location")
                    if response.status in REDIRECT_STATUSES and location:
                        if hop == self.settings.max_redirects:
                            break
                        try:
                            target = response.url.join(URL(location))
                        except ValueError:
                            raise SourceError(
                                source_id, f"invalid redirect to {location!r} from {target}"
                            ) from None
                        continue
                    return await self._receive(source_id, response, previous, accept)
            finally:
                _CONNECTING.reset(connecting)
        raise SourceError(
            source_id, f"too many redirects (more than {self.settings.max_redirects}) from {url}"
        )

    async def _receive(
        self, source_id: str, response: aiohttp.ClientResponse, previous: FetchState, accept: str
    ) -> FetchResult:
        final = str(response.url)
        status = response.status
        if status == 304:
            await response.read()  # empty; finishing it keeps the connection alive for reuse
            state = FetchState(
                etag=response.headers.get("ETag") or previous.etag,
                last_modified=response.headers.get("Last-Modified") or previous.last_modified,
                content_hash=previous.content_hash,
            )
            return FetchResult("not_modified", b"", final, "utf-8", None, state)
        if status in RETRY_STATUSES:
            delay = _retry_after(response.headers.get("Retry-After"), self._now())
            raise _Retry(f"HTTP {status} from {final}", delay)
        if not 200 <= status < 300:
            reason = f" {response.reason}" if response.reason else ""
            raise HttpStatusError(source_id, f"HTTP {status}{reason} from {final}", status=status)
        media_type, charset = media_type_and_charset(response.headers.get("Content-Type"))
        if media_type and not accepts(accept, media_type):
            raise SourceError(
                source_id, f"expected {_expected(accept)}, got {media_type} from {final}"
            )
        limit = self.settings.max_bytes
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > limit:
            raise SourceError(source_id, f"body larger than {format_size(limit)} at {final}")
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.content.iter_chunked(CHUNK):
            size += len(chunk)
            if size > limit:
                raise SourceError(source_id, f"body larger than {format_size(limit)} at {final}")
            chunks.append(chunk)
        body = b"".join(chunks)
        digest = content_hash(body)
        state = FetchState(
            etag=response.headers.get("ETag"),
            last_modified=response.headers.get("Last-Modified"),
            content_hash=digest,
        )
        same = previous.content_hash is not None and previous.content_hash == digest
        return FetchResult(
            "not_modified" if same else "ok",
            body,
            final,
            choose_encoding(body, charset),
            media_type,
            state,
        )


async def read_local(
    source_id: str, path: Path, previous: FetchState, *, max_bytes: int
) -> FetchResult:
    """A local file as a fetch result (feeds.sources.local: the one local-file reader)."""
    local = await asyncio.to_thread(read_local_file, source_id, path, previous, max_bytes=max_bytes)
    status: Literal["ok", "not_modified"] = "not_modified" if local.unchanged else "ok"
    encoding = choose_encoding(local.data)
    return FetchResult(status, local.data, local.uri, encoding, None, local.state)


async def load_source(
    fetcher: Fetcher, source: SourceSettings, previous: FetchState, *, accept: str
) -> FetchResult:
    """A source's bytes: fetched from its `url`, else read from its `path` (same limits)."""
    if source.url is not None:
        return await fetcher.get(str(source.url), previous, accept=accept, source_id=source.id)
    assert source.path is not None  # the schema requires url or path
    return await read_local(source.id, source.path, previous, max_bytes=fetcher.settings.max_bytes)
