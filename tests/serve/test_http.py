"""The server over a real loopback socket with httpx: types, validators, gzip, HEAD, methods."""

from __future__ import annotations

import gzip
from pathlib import Path

import httpx
import pytest

from tests.serve.conftest import MTIME, RSS, Serve, publish

LAST_MODIFIED = "Wed, 08 Feb 2023 09:00:00 GMT"
IDENTITY = {"Accept-Encoding": "identity"}
GZIP = {"Accept-Encoding": "gzip"}


@pytest.mark.parametrize(
    ("name", "content_type"),
    [
        ("feed.rss", "application/rss+xml; charset=utf-8"),
        ("feed.atom", "application/atom+xml; charset=utf-8"),
        ("feed.json", "application/feed+json; charset=utf-8"),
        ("deadlines.ics", "text/calendar; charset=utf-8"),
        ("page.html", "text/html; charset=utf-8"),
        ("style.css", "text/css; charset=utf-8"),
        ("robots.txt", "text/plain; charset=utf-8"),
        ("sitemap.xml", "application/xml; charset=utf-8"),
        ("blob.weird", "application/octet-stream"),
    ],
)
async def test_content_types(serve: Serve, tmp_path: Path, name: str, content_type: str) -> None:
    publish(tmp_path / name, b"x" * 1000)
    server = await serve(tmp_path)
    async with httpx.AsyncClient(base_url=server.url) as http:
        response = await http.get(f"/{name}", headers=IDENTITY)
    assert response.status_code == 200
    assert response.headers["content-type"] == content_type
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "public, max-age=300"
    assert response.content == b"x" * 1000


async def test_full_response_headers(client: httpx.AsyncClient) -> None:
    response = await client.get("/all.rss", headers=IDENTITY)
    assert response.status_code == 200
    assert response.content == RSS
    assert response.headers["content-length"] == str(len(RSS))
    assert response.headers["last-modified"] == LAST_MODIFIED
    assert response.headers["vary"] == "Accept-Encoding"
    assert "content-encoding" not in response.headers
    etag = response.headers["etag"]
    assert etag.startswith('"')
    assert etag.endswith('"')


async def test_cache_max_age_from_settings(serve: Serve, output_dir: Path) -> None:
    server = await serve(output_dir, cache_max_age=60)
    async with httpx.AsyncClient(base_url=server.url) as http:
        response = await http.get("/all.rss")
    assert response.headers["cache-control"] == "public, max-age=60"


async def test_etag_is_stable_for_the_same_bytes(serve: Serve, output_dir: Path) -> None:
    first = await serve(output_dir)
    second = await serve(output_dir)  # a restarted server: no shared memory
    async with httpx.AsyncClient() as http:
        a = await http.get(first.url + "all.rss", headers=IDENTITY)
        publish(output_dir / "all.rss", RSS, mtime=MTIME + 3600)  # same bytes, new file
        b = await http.get(first.url + "all.rss", headers=IDENTITY)
        c = await http.get(second.url + "all.rss", headers=IDENTITY)
    assert a.headers["etag"] == b.headers["etag"] == c.headers["etag"]
    assert b.headers["last-modified"] == "Wed, 08 Feb 2023 10:00:00 GMT"


async def test_atomic_replace_changes_etag_and_body(
    client: httpx.AsyncClient, output_dir: Path
) -> None:
    before = await client.get("/all.rss", headers=IDENTITY)
    changed = RSS.replace(b"Call for evidence 0<", b"Call for evidence zero<")
    publish(output_dir / "all.rss", changed)  # same mtime: the inode tells the new version
    after = await client.get("/all.rss", headers=IDENTITY)
    assert after.content == changed
    assert after.headers["etag"] != before.headers["etag"]
    stale = await client.get(
        "/all.rss", headers={**IDENTITY, "If-None-Match": before.headers["etag"]}
    )
    assert stale.status_code == 200
    assert stale.content == changed


async def test_if_none_match(client: httpx.AsyncClient) -> None:
    first = await client.get("/all.rss", headers=IDENTITY)
    etag = first.headers["etag"]
    for header in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        response = await client.get("/all.rss", headers={**IDENTITY, "If-None-Match": header})
        assert response.status_code == 304, header
        assert response.content == b""
        assert response.headers["etag"] == etag
        assert response.headers["cache-control"] == "public, max-age=300"
        assert response.headers["vary"] == "Accept-Encoding"
        assert "content-length" not in response.headers
    miss = await client.get("/all.rss", headers={**IDENTITY, "If-None-Match": '"nope"'})
    assert miss.status_code == 200
    assert miss.content == RSS


@pytest.mark.parametrize(
    "since",
    [LAST_MODIFIED, "Wed, 08 Feb 2023 09:00:01 GMT", "Fri, 01 Jan 2100 00:00:00 GMT"],
)
async def test_if_modified_since_equal_or_later(client: httpx.AsyncClient, since: str) -> None:
    response = await client.get("/all.rss", headers={"If-Modified-Since": since})
    assert response.status_code == 304
    assert response.content == b""
    assert response.headers["last-modified"] == LAST_MODIFIED


@pytest.mark.parametrize(
    "since", ["Wed, 08 Feb 2023 08:59:59 GMT", "garbage", "", "Mon, 99 Foo 2023 25:61:00 XYZ"]
)
async def test_if_modified_since_earlier_or_garbage(client: httpx.AsyncClient, since: str) -> None:
    response = await client.get("/all.rss", headers={**IDENTITY, "If-Modified-Since": since})
    assert response.status_code == 200
    assert response.content == RSS


async def test_if_none_match_takes_precedence(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/all.rss",
        headers={**IDENTITY, "If-None-Match": '"stale"', "If-Modified-Since": LAST_MODIFIED},
    )
    assert response.status_code == 200


async def test_gzip(client: httpx.AsyncClient) -> None:
    plain = await client.get("/all.rss", headers=IDENTITY)
    async with client.stream("GET", "/all.rss", headers=GZIP) as response:
        raw = b"".join([chunk async for chunk in response.aiter_raw()])
    assert response.status_code == 200
    assert response.headers["content-encoding"] == "gzip"
    assert response.headers["vary"] == "Accept-Encoding"
    assert response.headers["content-type"] == "application/rss+xml; charset=utf-8"
    assert int(response.headers["content-length"]) == len(raw) < len(RSS)
    assert gzip.decompress(raw) == RSS
    packed_etag = response.headers["etag"]
    assert packed_etag.startswith(plain.headers["etag"][:-1] + "-gz")

    again = await client.get("/all.rss", headers={**GZIP, "If-None-Match": packed_etag})
    assert again.status_code == 304
    assert again.headers["etag"] == packed_etag
    refused = await client.get("/all.rss", headers={"Accept-Encoding": "gzip;q=0"})
    assert "content-encoding" not in refused.headers
    assert refused.content == RSS


async def test_small_files_are_not_compressed(client: httpx.AsyncClient) -> None:
    response = await client.get("/all.json", headers=GZIP)
    assert "content-encoding" not in response.headers
    assert "vary" not in response.headers


async def test_head_has_the_headers_of_get_and_no_body(client: httpx.AsyncClient) -> None:
    for headers in (IDENTITY, GZIP):
        get = await client.get("/all.rss", headers=headers)
        head = await client.head("/all.rss", headers=headers)
        assert head.status_code == 200
        assert head.content == b""
        for name in get.headers:
            if name != "date":
                assert head.headers[name] == get.headers[name], name
    conditional = await client.head("/all.rss", headers={"If-None-Match": "*"})
    assert conditional.status_code == 304


async def test_unknown_path_is_404(client: httpx.AsyncClient) -> None:
    for path in ("/nope.rss", "/sources/", "/all.rss/x", "/.tmp-all.rss"):
        response = await client.get(path)
        assert response.status_code == 404, path
        assert response.headers["x-content-type-options"] == "nosniff"


async def test_post_to_a_file_is_405(client: httpx.AsyncClient) -> None:
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        response = await client.request(method, "/all.rss")
        assert response.status_code == 405, method
        assert response.headers["allow"] == "GET, HEAD"
    assert (await client.post("/nope.rss")).status_code == 404


async def test_root_serves_the_published_index(serve: Serve, output_dir: Path) -> None:
    page = b"<!doctype html><title>Published index</title>" + b" " * 500
    publish(output_dir / "index.html", page)
    server = await serve(output_dir)
    async with httpx.AsyncClient(base_url=server.url) as http:
        response = await http.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.content == page
    assert "etag" in response.headers


async def test_root_lists_feeds_without_an_index(client: httpx.AsyncClient) -> None:
    response = await client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    page = response.text
    link = '<link rel="alternate" type="application/rss+xml" title="all.rss" href="all.rss">'
    assert link in page
    assert 'type="application/atom+xml"' in page
    assert 'type="application/feed+json"' in page
    assert 'href="deadlines.ics"' in page
    assert ".tmp-" not in page
    again = await client.get("/", headers={"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304


async def test_missing_output_folder_is_404(serve: Serve, tmp_path: Path) -> None:
    server = await serve(tmp_path / "not-yet")
    async with httpx.AsyncClient(base_url=server.url) as http:
        assert (await http.get("/all.rss")).status_code == 404
        assert (await http.get("/")).status_code == 200  # an empty listing
