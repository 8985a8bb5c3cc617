"""feeds.opml (parsed with lxml), `feedline feeds --opml`, and the gzip sidecars of a build."""

from __future__ import annotations

import asyncio
import gzip
import os
from pathlib import Path

import httpx
from lxml import etree, html

from feeds.publish import write_with_sidecar
from tests.foundation.helpers import PAGE, run_cli, site_block, source_block, write_config
from tests.serve.conftest import RSS, Serve, publish

BASE = "http://127.0.0.1:8080/"


def build_site(tmp_path: Path) -> tuple[Path, Path]:
    (tmp_path / "river.txt").write_text(PAGE, encoding="utf-8")
    (tmp_path / "lake.txt").write_text(PAGE.replace("river", "lake"), encoding="utf-8")
    config = write_config(
        tmp_path,
        site_block() + source_block("river", "river.txt") + source_block("lake", "lake.txt"),
    )
    done = run_cli("build", "--quiet", config=config, now="2024-03-04T09:00:00+00:00")
    assert done.exit_code == 0, done.output
    return config, tmp_path / "public"


def test_opml_lists_every_feed_and_the_index_links_it(tmp_path: Path) -> None:
    config, out = build_site(tmp_path)
    document = etree.fromstring((out / "feeds.opml").read_bytes())
    assert document.tag == "opml" and document.get("version") == "2.0"
    assert document.findtext("head/title") == "Test site: feeds"
    outlines = document.findall("body/outline")
    found = {o.get("xmlUrl"): (o.get("title"), o.get("text"), o.get("htmlUrl")) for o in outlines}
    assert found == {
        BASE + "all.rss": ("Test site (all sources)", "Test site (all sources)", BASE),
        BASE + "river.rss": ("river news", "river news", "https://river.example.org/news"),
        BASE + "lake.rss": ("lake news", "lake news", "https://lake.example.org/news"),
    }
    assert all(o.get("type") == "rss" for o in outlines)
    for url in found:
        assert url is not None and (out / url.removeprefix(BASE)).is_file()
    index = html.fromstring((out / "index.html").read_bytes())
    assert index.xpath('//a[@href="feeds.opml"]')
    assert index.xpath('//link[@rel="outline"][@href="http://127.0.0.1:8080/feeds.opml"]')

    printed = run_cli("feeds", "--opml", config=config)
    assert printed.exit_code == 0
    assert printed.output.encode() == (out / "feeds.opml").read_bytes()
    listed = run_cli("feeds", config=config)
    assert "river news: http://127.0.0.1:8080/river.rss" in listed.output


async def test_opml_is_served_with_its_media_type(tmp_path: Path, serve: Serve) -> None:
    _, out = await asyncio.to_thread(build_site, tmp_path)  # the CLI runs its own loop
    server = await serve(out)
    async with httpx.AsyncClient(base_url=server.url) as http:
        response = await http.get("/feeds.opml")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/x-opml; charset=utf-8"
    assert response.content == (out / "feeds.opml").read_bytes()


def test_a_build_writes_a_sidecar_beside_each_feed_only_when_it_changes(tmp_path: Path) -> None:
    config, out = build_site(tmp_path)
    for name in ("all.rss", "all.atom", "all.json", "river.rss", "deadlines.ics", "index.html"):
        plain, packed = out / name, out / f"{name}.gz"
        assert gzip.decompress(packed.read_bytes()) == plain.read_bytes(), name
        assert packed.stat().st_mtime_ns == plain.stat().st_mtime_ns, name
    before = {p.name: p.stat().st_ino for p in out.iterdir()}
    done = run_cli("build", "--quiet", config=config, now="2024-03-04T09:00:00+00:00")
    assert done.exit_code == 0
    assert {p.name: p.stat().st_ino for p in out.iterdir()} == before  # nothing rewritten


def test_sidecar_follows_its_file(tmp_path: Path) -> None:
    feed = tmp_path / "all.rss"
    packed = tmp_path / "all.rss.gz"
    assert write_with_sidecar(feed, RSS) is True
    first = packed.stat().st_ino
    assert write_with_sidecar(feed, RSS) is False
    assert packed.stat().st_ino == first
    packed.unlink()  # e.g. the first build after an upgrade: the file stays, the sidecar comes
    inode = feed.stat().st_ino
    assert write_with_sidecar(feed, RSS) is False
    assert feed.stat().st_ino == inode and gzip.decompress(packed.read_bytes()) == RSS
    changed = RSS.replace(b"Call for evidence", b"Consultation")
    assert write_with_sidecar(feed, changed) is True
    assert gzip.decompress(packed.read_bytes()) == changed
    assert write_with_sidecar(feed, b"<rss/>") is True  # too small to gain: no stale sidecar
    assert not packed.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp-")]


async def test_server_sends_the_sidecar_as_it_is(output_dir: Path, serve: Serve) -> None:
    sidecar = gzip.compress(RSS, compresslevel=9, mtime=0)
    publish(output_dir / "all.rss.gz", sidecar)
    server = await serve(output_dir)
    async with httpx.AsyncClient(base_url=server.url) as http:
        response = await http.get("/all.rss", headers={"Accept-Encoding": "gzip"})
        async with http.stream("GET", "/all.rss", headers={"Accept-Encoding": "gzip"}) as raw:
            wire = b"".join([chunk async for chunk in raw.aiter_raw()])
    assert response.headers["content-encoding"] == "gzip"
    assert response.content == RSS
    assert wire == sidecar


async def test_server_ignores_a_sidecar_of_another_version(output_dir: Path, serve: Serve) -> None:
    stale = gzip.compress(RSS.replace(b"evidence", b"comments"), compresslevel=9, mtime=0)
    publish(output_dir / "all.rss.gz", stale)
    os.utime(output_dir / "all.rss.gz", ns=((output_dir / "all.rss").stat().st_mtime_ns,) * 2)
    server = await serve(output_dir)
    async with httpx.AsyncClient(base_url=server.url) as http:
        response = await http.get("/all.rss", headers={"Accept-Encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip"
    assert response.content == RSS  # compressed by the server, not the stale sidecar
