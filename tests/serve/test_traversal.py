"""Nothing outside the output folder, whatever the request line says (raw bytes on a socket)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.serve.conftest import RSS, Serve, publish, raw_request

SECRET = b"root:x:0:0:the secret outside the output folder"


@pytest.fixture
def hostile_dir(output_dir: Path, tmp_path: Path) -> Path:
    """An output folder with links pointing out of it, beside a secret file and folder."""
    secret_dir = tmp_path / "secret"
    secret_dir.mkdir()
    (secret_dir / "passwd").write_bytes(SECRET)
    (tmp_path / "passwd").write_bytes(SECRET)
    os.symlink("/etc/passwd", output_dir / "etc-passwd.rss")
    os.symlink(tmp_path / "passwd", output_dir / "passwd")
    os.symlink(secret_dir, output_dir / "outside")
    os.symlink("../secret/passwd", output_dir / "relative.rss")
    os.symlink(output_dir / "all.rss", output_dir / "latest.rss")  # inside: allowed
    publish(output_dir / ".tmp-unfinished.rss", b"half a feed")
    publish(output_dir / ".htpasswd", SECRET)
    (output_dir / "sources").mkdir()
    publish(output_dir / "sources" / "home.rss", RSS)
    return output_dir


ATTACKS = [
    "/../passwd",
    "/../../../../../../etc/passwd",
    "/%2e%2e/passwd",
    "/%2E%2E/%2E%2E/%2E%2E/etc/passwd",
    "/%2e%2e%2fpasswd",
    "/..%2fpasswd",
    "/..%2Fsecret%2Fpasswd",
    "/sources/../../passwd",
    "/sources/%2e%2e/%2e%2e/passwd",
    "/%252e%252e/passwd",
    "/..\\passwd",
    "/%5c..%5cpasswd",
    "//etc/passwd",
    "/%2fetc%2fpasswd",
    "/etc/passwd",
    "/etc-passwd.rss",
    "/passwd",
    "/outside/passwd",
    "/relative.rss",
    "/all.rss%00.txt",
    "/.tmp-unfinished.rss",
    "/.htpasswd",
    "/sources/%2e./home.rss",
    "/./all.rss",
]


@pytest.mark.parametrize("target", ATTACKS)
async def test_traversal_is_404(serve: Serve, hostile_dir: Path, target: str) -> None:
    server = await serve(hostile_dir)
    request = f"GET {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    status, response = await raw_request(server.port, request.encode())
    assert status == 404, response[:200]
    assert b"root:" not in response
    assert b"half a feed" not in response


@pytest.mark.parametrize("target", ["/all.rss", "/latest.rss", "/sources/home.rss"])
async def test_links_inside_the_folder_are_served(
    serve: Serve, hostile_dir: Path, target: str
) -> None:
    server = await serve(hostile_dir)
    request = f"GET {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    status, response = await raw_request(server.port, request.encode())
    assert status == 200
    assert response.endswith(RSS)


async def test_a_link_swapped_to_point_outside_is_refused(serve: Serve, hostile_dir: Path) -> None:
    server = await serve(hostile_dir)
    request = b"GET /latest.rss HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    assert (await raw_request(server.port, request))[0] == 200  # cached now
    os.unlink(hostile_dir / "latest.rss")
    os.symlink("/etc/passwd", hostile_dir / "latest.rss")
    status, response = await raw_request(server.port, request)
    assert status == 404
    assert b"root:" not in response


async def test_listing_hides_dotfiles(serve: Serve, hostile_dir: Path) -> None:
    server = await serve(hostile_dir)
    request = b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    status, response = await raw_request(server.port, request)
    assert status == 200
    assert b"unfinished" not in response
    assert b"htpasswd" not in response


async def test_keep_alive(serve: Serve, output_dir: Path) -> None:
    server = await serve(output_dir)
    one = b"HEAD /all.rss HTTP/1.1\r\nHost: localhost\r\n\r\n"
    last = b"HEAD /all.json HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    _, response = await raw_request(server.port, one + one + last)
    assert response.count(b"HTTP/1.1 200 OK") == 3
