"""Fuzz targets shared by the property tests (tests/fuzz) and bench/fuzz_bench.py.

Each target takes one generated input and returns the feed files it led to (or nothing).
It raises only on a *crash*: an exception that is not one of the documented refusals
(SourceError/ItemError from a reader, ConfigError from the loader, BadToken, SubscriberError).
`feed_problems` then says which output feeds lxml cannot parse or feedparser flags.
"""

from __future__ import annotations

import contextlib
import json
import tempfile
from collections.abc import Sequence
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

import feedparser
from lxml import etree
from sqlalchemy import Engine, delete

from config.errors import ConfigError
from config.schema import SourceSettings
from feeds.deadlines.extract import find_deadlines
from feeds.errors import ItemError, SourceError
from feeds.follow.page import read_item_page
from feeds.model import Entry
from feeds.publish_site import render_feed_files
from feeds.render.feed_xml import FeedInfo
from feeds.sources.feed import parse_json_feed, parse_xml_feed
from feeds.sources.html_page import parse_html_page
from feeds.sources.item_folder import parse_item_file
from feeds.sources.markdown_page import parse_markdown_page
from feeds.sources.text_page import parse_text_page
from feeds.store.items import newest_items, upsert_entries
from feeds.store.tables import items

NOW = datetime(2024, 3, 1, 9, tzinfo=UTC)
ZONE = "Europe/Brussels"
REFUSALS: tuple[type[BaseException], ...] = (SourceError, ItemError)


def source(kind: str = "html") -> SourceSettings:
    values: dict[str, object] = {
        "id": "fuzz",
        "kind": kind,
        "title": "Fuzz news",
        "link": "https://fuzz.example.org/news",
        "timezone": ZONE,
    }
    if kind in ("html", "feed"):
        values["url"] = "https://fuzz.example.org/news"
    else:
        values["path"] = "page.txt"
    if kind == "html":
        values["select"] = {
            "item": ".item",
            "title": "h2",
            "link": "a@href",
            "date": "time@datetime",
            "summary": "p",
        }
    return SourceSettings.model_validate(values)


@cache
def _engine() -> Engine:
    from scheduler.database import create_db_engine, upgrade

    folder = Path(tempfile.mkdtemp(prefix="feedline-fuzz-"))
    engine = create_db_engine(f"sqlite:///{folder / 'fuzz.db'}")
    upgrade(engine)
    return engine


INFO = FeedInfo(
    title="Fuzz news",
    self_url_base="https://feeds.example.org/",
    page_link="https://fuzz.example.org/news",
    description="Fuzz news",
    language="en",
    author="Fuzz",
)


def render(src: SourceSettings, entries: Sequence[Entry]) -> dict[str, bytes]:
    """Store the entries as a refresh does and render the source's three feeds."""
    engine = _engine()
    with engine.begin() as conn:
        conn.execute(delete(items))
        upsert_entries(conn, src, list(entries), NOW)
    with engine.connect() as conn:
        stored = newest_items(conn, [src.id], 100)
    return render_feed_files(INFO, stored, src.id)


def feed_problems(files: dict[str, bytes]) -> list[str]:
    problems = []
    for name, data in files.items():
        if name.endswith((".rss", ".atom")):
            try:
                etree.fromstring(data)
            except etree.XMLSyntaxError as error:
                problems.append(f"{name}: lxml: {error}")
                continue
            parsed = feedparser.parse(data)
            if parsed.bozo:
                problems.append(f"{name}: feedparser: {parsed.bozo_exception}")
        elif name.endswith(".json"):
            try:
                json.loads(data)
            except ValueError as error:
                problems.append(f"{name}: json: {error}")
    return problems


def _read(src: SourceSettings, parse: object) -> dict[str, bytes]:
    try:
        entries, _problems = parse()  # type: ignore[operator]
    except REFUSALS:
        return {}
    return render(src, entries) if entries else {}


# Targets ---------------------------------------------------------------------------------
def text_page(text: str) -> dict[str, bytes]:
    return _read(source("text"), lambda: parse_text_page("fuzz", text))


def markdown_page(text: str) -> dict[str, bytes]:
    src = source("markdown")
    return _read(src, lambda: parse_markdown_page("fuzz", text, ZONE))


def html_page(html: str) -> dict[str, bytes]:
    src = source("html")
    return _read(src, lambda: parse_html_page(src, html, "https://fuzz.example.org/news"))


def xml_feed(body: bytes) -> dict[str, bytes]:
    src = source("feed")
    url = "https://fuzz.example.org/feed"
    return _read(src, lambda: parse_xml_feed("fuzz", body, url, "application/rss+xml"))


def json_feed(body: bytes) -> dict[str, bytes]:
    src = source("feed")
    url = "https://fuzz.example.org/feed.json"
    return _read(src, lambda: parse_json_feed("fuzz", body, url, ZoneInfo(ZONE)))


def item_file(text: str) -> dict[str, bytes]:
    src = source("items")

    def parse() -> tuple[list[Entry], list[ItemError]]:
        return [parse_item_file(src, "2024-03-01-item.md", text, ZoneInfo(ZONE))], []

    return _read(src, parse)


def followed_page(html: str) -> dict[str, bytes]:
    page = read_item_page(html, "https://fuzz.example.org/item/1", None, ZONE, date(2024, 3, 1))
    if not page.content:
        return {}
    entry = Entry("Followed item", page.content, content_is_html=True, link="https://x.org/1")
    return render(source("html"), [entry])


def extract(text: str) -> dict[str, bytes]:
    for deadline in find_deadlines(text, reference=date(2024, 3, 1), timezone=ZONE):
        assert deadline.closes_at.tzinfo is not None
    return {}


def config_text(text: str) -> dict[str, bytes]:
    from config.loading import load_settings

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "feedline.toml"
        path.write_text(text, encoding="utf-8")
        with contextlib.suppress(ConfigError):
            load_settings(path, env={})
    return {}


def token(text: str) -> dict[str, bytes]:
    from scheduler.tokens import BadToken, Purpose, form_token_ok, read_subscriber_token

    key = b"k" * 32
    for purpose in Purpose:
        with contextlib.suppress(BadToken):
            read_subscriber_token(key, purpose, text)
    form_token_ok(key, "subscribe", "session", text)
    return {}


def csv_import(text: str) -> dict[str, bytes]:
    from scheduler.ledger.subscribers import SubscriberError, read_import_file

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "people.csv"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        with contextlib.suppress(SubscriberError):
            read_import_file(path, ["river", "fuzz"])
    return {}


# HTTP routes: a real server on loopback (its own thread), raw requests over a socket --------
class _Site:
    def __init__(self) -> None:
        import asyncio
        import threading

        self.loop = asyncio.new_event_loop()
        self.port = 0
        ready = threading.Event()
        thread = threading.Thread(target=self._run, args=(ready,), daemon=True)
        thread.start()
        ready.wait(30)

    def _run(self, ready: object) -> None:
        import asyncio

        from config.schema import Settings
        from feeds.clock import FixedClock
        from feeds.serve.app import build_app
        from feeds.serve.server import FeedServer
        from scheduler.web import DaemonRoutes

        folder = Path(tempfile.mkdtemp(prefix="feedline-fuzz-http-"))
        (folder / "public").mkdir()
        (folder / "public" / "all.rss").write_bytes(b"<rss/>")
        settings = Settings.model_validate(
            {
                "site": {"data_dir": str(folder / "data"), "output_dir": str(folder / "public")},
                "sources": [
                    {"id": "river", "kind": "text", "path": "p.txt", "title": "River",
                     "link": "https://river.example.org/"}
                ],
                "mail": {"file": {"dir": str(folder / "outbox")}},
            }
        )  # fmt: skip
        routes = DaemonRoutes(settings, _engine(), FixedClock(NOW), b"k" * 32)

        async def main() -> None:
            app = build_app(folder / "public", extra_routes=routes.add_to, max_body_size=65536)
            server = FeedServer(app)
            await server.start("127.0.0.1", 0)
            self.port = server.port
            ready.set()  # type: ignore[attr-defined]
            await asyncio.Event().wait()

        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(main())


@cache
def _site() -> _Site:
    return _Site()


def http_request(request: bytes) -> dict[str, bytes]:
    """Send raw bytes; a 5xx answer (or no answer at all) is a crash."""
    import socket

    with socket.create_connection(("127.0.0.1", _site().port), timeout=10) as conn:
        conn.sendall(request)
        head = b""
        while b"\r\n" not in head:
            chunk = conn.recv(4096)
            if not chunk:
                break
            head += chunk
    status_line = head.split(b"\r\n", 1)[0]
    parts = status_line.split(b" ")
    if len(parts) < 2 or not parts[1].isdigit():
        raise AssertionError(f"no HTTP answer: {head[:200]!r}")
    if int(parts[1]) >= 500:
        raise AssertionError(f"server error: {status_line!r}")
    return {}
