"""output_dir and data_dir on a small filesystem that fills up (a tmpfs the test mounts).

The last good feeds stay intact, the error is one line naming the path, and the next build
after space returns succeeds. Mounting needs root: CI runs as root and must run this; outside
CI it is skipped with the reason when mounting is not allowed.
"""

from __future__ import annotations

import errno
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import feedparser
import pytest
from lxml import etree

from tests.faults.conftest import Reliability
from tests.foundation.helpers import run_cli, site_block, source_block, write_config

PAGE = (
    "News\n\nConsultation on river water quality\n\nThe consultation is open until "
    "30 April 2024.\n\n"
)
MORE = "Call for evidence on flood defences\n\nSend your evidence by 12 May 2024.\n\n"


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        reason = f"cannot mount a tmpfs: {done.stderr.strip() or done.returncode}"
        if os.environ.get("CI") == "true":
            pytest.fail(reason + " (CI=true runs as root: this test must run)")
        pytest.skip(reason)
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def fill(disk: Path) -> Path:
    """Write a file until the filesystem is full; returns it (delete it to free the space)."""
    filler = disk / "filler"
    with filler.open("wb") as handle:
        try:
            while True:
                handle.write(b"\0" * 65536)
                handle.flush()
        except OSError as error:
            if error.errno != errno.ENOSPC:
                raise
    return filler


def feeds_of(public: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(public.glob("*.*")) if p.is_file()}


@pytest.mark.parametrize("on_disk", ["output_dir", "output_dir+data_dir"])
def test_full_disk_keeps_the_last_good_feeds_and_recovers(
    small_disk: Path, on_disk: str, reliability: Reliability
) -> None:
    folder = small_disk.parent
    (folder / "page.txt").write_text(PAGE)
    data_dir = small_disk / "data" if "data_dir" in on_disk else folder / "data"
    config = write_config(
        folder,
        site_block(output_dir=f'"{small_disk / "public"}"', data_dir=f'"{data_dir}"')
        + source_block("river", "page.txt"),
    )
    assert run_cli("build", config=config).exit_code == 0
    good = feeds_of(small_disk / "public")
    assert "river.rss" in good or any(name.endswith(".rss") for name in good)
    filler = fill(small_disk)
    (folder / "page.txt").write_text(PAGE + MORE)
    for _ in range(2):  # a second try on the still-full disk must not make it worse
        full = run_cli("build", config=config)
        assert full.exit_code == 1, full.output
        assert "Traceback" not in full.output
        errors = [line for line in full.stderr.splitlines() if "error" in line.lower()]
        assert errors, full.stderr
        assert any(str(small_disk) in line for line in errors), errors
        assert any(
            "No space left on device" in line or "no space left on the disk" in line
            for line in errors
        ), errors
    assert feeds_of(small_disk / "public") == good, "the last good feeds are intact"
    for name, data in good.items():
        if name.endswith((".rss", ".atom")):
            etree.fromstring(data)
            assert not feedparser.parse(data).bozo, name
    assert run_cli("status", config=config).exit_code in (0, 1)  # the database still opens
    filler.unlink()
    back = run_cli("build", config=config)
    assert back.exit_code == 0, back.output
    rss = [data for name, data in feeds_of(small_disk / "public").items() if name.endswith(".rss")]
    assert any(b"flood defences" in data for data in rss)
    reliability.record(
        f"Disk full ({on_disk} on a 4 MB tmpfs)",
        "2 builds on the full disk, 1 after",
        0,
        0,
        "exit 1, one line naming the path; last good feeds byte-identical; the build after "
        "space returns publishes the new item",
    )
