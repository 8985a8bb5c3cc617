"""Bad input: a clear line naming the source (and item); other sources still build; exit 1."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.foundation.helpers import PAGE, run_cli, site_block, source_block, write_config
from tests.support.feedcheck import check_rss

BASE = "http://127.0.0.1:8080/"


def two_sources(tmp_path: Path) -> Path:
    (tmp_path / "good.txt").write_text(PAGE)
    (tmp_path / "bad.txt").write_text(PAGE)
    return write_config(
        tmp_path, site_block() + source_block("good", "good.txt") + source_block("bad", "bad.txt")
    )


def break_bad(tmp_path: Path, how: str) -> None:
    bad = tmp_path / "bad.txt"
    if how == "missing":
        bad.unlink()
    elif how == "unreadable":
        bad.unlink()
        bad.mkdir()
    elif how == "empty":
        bad.write_text("  \n\n")
    elif how == "oversized":
        bad.write_text("Title line\n\n" + "x" * 5_000_001)
    elif how == "no items":
        bad.write_text("skip to main content\nNewsroom\n")


@pytest.mark.parametrize(
    ("how", "message"),
    [
        ("missing", "file not found"),
        ("unreadable", "is a folder"),
        ("empty", "the page is empty"),
        ("oversized", "over the 5,000,000 byte limit (`[fetch] max_bytes`)"),
        ("no items", "no news items found"),
    ],
)
def test_a_failing_source_keeps_its_last_good_feed_and_others_build(
    tmp_path: Path, how: str, message: str
) -> None:
    config = two_sources(tmp_path)
    assert run_cli("build", config=config).exit_code == 0
    good_feed = (tmp_path / "public" / "bad.rss").read_bytes()
    break_bad(tmp_path, how)
    (tmp_path / "good.txt").write_text(PAGE.replace("Anyone may respond.", "Reply online."))
    result = run_cli("build", config=config)
    assert result.exit_code == 1
    failure_lines = [line for line in result.stderr.splitlines() if "FAILED" in line]
    assert len(failure_lines) == 1
    assert "source 'bad'" in failure_lines[0] and message in failure_lines[0]
    assert "bad.txt" in failure_lines[0]
    assert "Traceback" not in result.output
    assert "good: 2 items (0 new, 1 updated)" in result.stdout
    assert (tmp_path / "public" / "bad.rss").read_bytes() == good_feed
    check_rss((tmp_path / "public" / "all.rss").read_bytes(), BASE + "all.rss")


def test_paragraph_without_title_is_skipped_and_reported(tmp_path: Path) -> None:
    (tmp_path / "p.txt").write_text(
        "This paragraph stands alone without any title line above it, which is odd.\n\n" + PAGE
    )
    config = write_config(tmp_path, site_block() + source_block("river", "p.txt"))
    result = run_cli("build", config=config)
    assert result.exit_code == 0
    assert "warning: source 'river', item 'This paragraph stands alone" in result.stderr
    assert "paragraph with no title line" in result.stderr
    assert "river: 2 items" in result.stdout


def test_control_characters_are_removed_and_reported(tmp_path: Path) -> None:
    (tmp_path / "p.txt").write_text(PAGE.replace("Anyone may", "Anyone\x07 may\x1b"))
    config = write_config(tmp_path, site_block() + source_block("river", "p.txt"))
    result = run_cli("build", config=config)
    assert result.exit_code == 0
    assert "control characters removed" in result.stderr
    assert "item 'Ministry opens a consultation on river water quality'" in result.stderr
    data = (tmp_path / "public" / "river.rss").read_bytes()
    check_rss(data, BASE + "river.rss")
    assert b"\x07" not in data and b"\x1b" not in data


def test_unwritable_data_dir_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "p.txt").write_text(PAGE)
    (tmp_path / "blocked").write_text("a file where a folder should be")
    config = write_config(
        tmp_path, site_block(data_dir='"blocked/data"') + source_block("river", "p.txt")
    )
    result = run_cli("build", config=config)
    assert result.exit_code == 1
    assert "data_dir" in result.stderr and "Traceback" not in result.output


def test_unwritable_output_dir_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "p.txt").write_text(PAGE)
    (tmp_path / "blocked").write_text("a file where the output folder should be")
    config = write_config(
        tmp_path, site_block(output_dir='"blocked"') + source_block("river", "p.txt")
    )
    result = run_cli("build", config=config)
    assert result.exit_code == 1
    assert "cannot write" in result.stderr and "output_dir" in result.stderr
    assert "Traceback" not in result.output


def test_a_database_refusing_a_source_fails_only_that_source(tmp_path: Path) -> None:
    config = two_sources(tmp_path)
    assert run_cli("build", config=config).exit_code == 0
    last_good = (tmp_path / "public" / "bad.rss").read_bytes()
    # A real database error while storing one source: a trigger refuses its new items.
    with sqlite3.connect(tmp_path / "data" / "feedline.db") as db:
        db.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON items WHEN NEW.source_id = 'bad' "
            "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
        )
    newer = PAGE.replace(
        "Ministry opens", "New item on bridges\n\nIt opened today.\n\nMinistry opens"
    )
    (tmp_path / "bad.txt").write_text(newer)
    (tmp_path / "good.txt").write_text(newer)
    result = run_cli("build", config=config)
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "bad: FAILED: source 'bad': could not store its items: IntegrityError: "
        "(sqlite3.IntegrityError) refused by the test"
    ]
    assert (tmp_path / "public" / "bad.rss").read_bytes() == last_good
    good = check_rss((tmp_path / "public" / "good.rss").read_bytes(), BASE + "good.rss")
    assert "New item on bridges" in [e.title for e in good.entries]
