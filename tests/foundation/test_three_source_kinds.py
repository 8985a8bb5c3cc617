"""Issue 6's "done when": an html page and a feed over loopback HTTP, plus an items folder,
build merged valid feeds and every one of them yields its deadline."""

from __future__ import annotations

import functools
import json
import os
import shutil
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.foundation.helpers import run_cli, site_block, write_config
from tests.support.feedcheck import check_atom, check_rss
from tests.support.jsonfeed import check_json_feed

DATA = REPO / "tests" / "data" / "sources"
BASE = "http://127.0.0.1:8080/"


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def web_root(tmp_path: Path) -> Iterator[str]:
    root = tmp_path / "www"
    root.mkdir()
    shutil.copy(DATA / "ecl_newsroom.html", root / "newsroom.html")
    shutil.copy(DATA / "rss.xml", root / "feed.xml")
    handler = functools.partial(QuietHandler, directory=str(root))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def test_html_feed_and_items_sources_build_merged_feeds_with_deadlines(
    tmp_path: Path, web_root: str
) -> None:
    shutil.copytree(DATA / "items", tmp_path / "posts")
    config = write_config(
        tmp_path,
        site_block()
        + f"""
[[sources]]
id = "newsroom"
kind = "html"
url = "{web_root}newsroom.html"
title = "Newsroom"
[sources.select]
item = "article.ecl-content-item"
title = ".ecl-content-block__title a"
link = ".ecl-content-block__title a@href"
date = ".ecl-content-block__primary-meta-item"
summary = ".ecl-content-block__description"

[[sources]]
id = "harbour"
kind = "feed"
url = "{web_root}feed.xml"
title = "Harbour authority"

[[sources]]
id = "posts"
kind = "items"
path = "posts"
title = "Posts"
link = "https://posts.example.org/"

[fetch]
contact = "ops@example.org"
""",
    )
    result = run_cli("build", config=config)
    assert result.exit_code == 0, result.output
    for source_id in ("newsroom", "harbour", "posts"):
        assert f"{source_id}: " in result.stdout
    assert "bad-date.md" in result.stderr and "broken-yaml.md" in result.stderr  # reported
    public = tmp_path / "public"
    merged = check_rss((public / "all.rss").read_bytes(), BASE + "all.rss")
    check_atom((public / "all.atom").read_bytes(), BASE + "all.atom")
    check_json_feed((public / "all.json").read_bytes(), BASE + "all.json")
    links = {entry.link for entry in merged.entries}
    assert any(link.startswith(web_root) for link in links)  # relative links made absolute
    assert all("<script" not in entry.summary for entry in merged.entries)
    listing = json.loads(run_cli("deadlines", "--all", "--json", config=config).stdout)
    by_source = {row["source"] for row in listing}
    assert by_source == {"newsroom", "harbour", "posts"}
    assert {row["date"] for row in listing} == {"2026-03-11"}
    assert (public / "deadlines.ics").read_text().count("BEGIN:VEVENT") == len(listing)


def ecl_page(*titles: str) -> str:
    articles = "".join(
        f'<article class="ecl-content-item"><div class="ecl-content-block__title">'
        f'<a href="/news/{title.lower().replace(" ", "-")}_en">{title}</a></div>'
        f'<div class="ecl-content-block__description"><p>About {title.lower()}.</p></div>'
        "</article>"
        for title in titles
    )
    return f"<!doctype html><html><body><main>{articles}</main></body></html>"


def test_an_item_the_page_stops_listing_stays_in_the_feed(tmp_path: Path, web_root: str) -> None:
    root = tmp_path / "www"
    (root / "news.html").write_text(ecl_page("Older story", "Oldest story"))
    config = write_config(
        tmp_path,
        site_block()
        + f"""
[[sources]]
id = "newsroom"
kind = "html"
url = "{web_root}news.html"
title = "Newsroom"
[sources.select]
item = "article.ecl-content-item"
title = ".ecl-content-block__title a"
link = ".ecl-content-block__title a@href"
summary = ".ecl-content-block__description"
""",
    )
    assert run_cli("build", config=config, now="2026-02-01T09:00:00+00:00").exit_code == 0
    (root / "news.html").write_text(ecl_page("Newest story"))
    later = (root / "news.html").stat().st_mtime + 60  # http.server compares whole seconds
    os.utime(root / "news.html", (later, later))
    result = run_cli("build", config=config, now="2026-02-02T09:00:00+00:00")
    assert "newsroom: 1 items (1 new, 0 updated)" in result.stdout
    parsed = check_rss((tmp_path / "public" / "newsroom.rss").read_bytes(), BASE + "newsroom.rss")
    assert [e.title for e in parsed.entries] == ["Newest story", "Older story", "Oldest story"]
