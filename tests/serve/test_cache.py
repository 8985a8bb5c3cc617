"""The in-memory file cache: one stat per hit (per pass of the event loop), a new entry per file
version, bounded size."""

from __future__ import annotations

import asyncio
import gzip
import os
from pathlib import Path

from feeds.serve.cache import LOAD_IN_THREAD, FileCache, build_entry
from tests.serve.conftest import MTIME, RSS, publish


async def next_pass() -> None:
    """Let the event loop run one pass (what separates two requests a client sends in turn)."""
    await asyncio.sleep(0)


async def test_requests_of_one_pass_share_one_check(output_dir: Path) -> None:
    cache = FileCache(str(output_dir), cache_max_age=300)
    old = await cache.get("all.rss")
    publish(output_dir / "all.rss", RSS + b"\n")
    assert cache.lookup("all.rss") is old  # read in the same pass: as if they came together
    await next_pass()
    new = cache.lookup("all.rss")
    assert new is not old and new is not None and not isinstance(new, type(LOAD_IN_THREAD))
    assert new.plain.body == RSS + b"\n"


async def test_a_hit_returns_the_same_entry(output_dir: Path) -> None:
    cache = FileCache(str(output_dir), cache_max_age=300)
    first = await cache.get("all.rss")
    assert first is not None
    assert await cache.get("all.rss") is first
    assert first.gzip is not None
    assert gzip.decompress(first.gzip.body) == first.plain.body == RSS
    assert first.last_modified == int(MTIME)


async def test_a_new_version_is_loaded_once(output_dir: Path) -> None:
    cache = FileCache(str(output_dir), cache_max_age=300)
    old = await cache.get("all.rss")
    publish(output_dir / "all.rss", RSS + b"\n")
    await next_pass()
    new = await cache.get("all.rss")
    assert new is not None
    assert old is not None
    assert new is not old
    assert new.plain.etag != old.plain.etag
    assert await cache.get("all.rss") is new


async def test_touching_a_file_in_place_reloads_it(output_dir: Path) -> None:
    cache = FileCache(str(output_dir), cache_max_age=300)
    old = await cache.get("all.rss")
    os.utime(output_dir / "all.rss", (MTIME + 60, MTIME + 60))
    await next_pass()
    new = await cache.get("all.rss")
    assert new is not None
    assert old is not None
    assert new is not old
    assert new.plain.etag == old.plain.etag  # same bytes, same strong validator
    assert new.last_modified == old.last_modified + 60


async def test_deleted_files_are_forgotten(output_dir: Path) -> None:
    cache = FileCache(str(output_dir), cache_max_age=300)
    assert await cache.get("all.rss") is not None
    (output_dir / "all.rss").unlink()
    await next_pass()
    assert await cache.get("all.rss") is None
    assert await cache.get("missing.rss") is None


async def test_least_recently_used_entries_go_first(tmp_path: Path) -> None:
    for name in ("a.rss", "b.rss", "c.rss"):
        publish(tmp_path / name, os.urandom(1000))  # incompressible: 1000 bytes each
    cache = FileCache(str(tmp_path), cache_max_age=300, max_bytes=2500)
    a = await cache.get("a.rss")
    b = await cache.get("b.rss")
    assert await cache.get("a.rss") is a
    await cache.get("c.rss")  # over budget: b is the least recently used
    assert await cache.get("a.rss") is a
    assert await cache.get("b.rss") is not b


async def test_big_files_are_served_but_not_kept(tmp_path: Path) -> None:
    publish(tmp_path / "big.bin", b"x" * 5000)
    cache = FileCache(str(tmp_path), cache_max_age=300, max_file_bytes=4000)
    first = await cache.get("big.bin")
    assert first is not None
    assert first.plain.body == b"x" * 5000
    assert await cache.get("big.bin") is not first


async def test_folders_are_not_files(output_dir: Path) -> None:
    (output_dir / "sources").mkdir()
    cache = FileCache(str(output_dir), cache_max_age=300)
    assert await cache.get("sources") is None


def test_entry_headers() -> None:
    entry = build_entry("all.atom", b"<feed/>" * 100, mtime=MTIME, cache_max_age=5)
    assert entry.gzip is not None
    assert entry.plain.headers["Content-Type"] == "application/atom+xml; charset=utf-8"
    assert entry.gzip.headers["Content-Encoding"] == "gzip"
    assert entry.gzip.etag.startswith(entry.plain.etag[:-1] + "-gz")
    assert entry.not_modified[entry.gzip.etag]["ETag"] == entry.gzip.etag
    assert "Content-Type" not in entry.not_modified[entry.plain.etag]
    assert entry.plain.headers["Cache-Control"] == "public, max-age=5"
    unknown = build_entry("blob", b"\x00" * 1000, mtime=MTIME, cache_max_age=5)
    assert unknown.gzip is None
    assert unknown.plain.headers["Content-Type"] == "application/octet-stream"
