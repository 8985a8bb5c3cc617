"""`feedline build`: valid feeds from pages, stable ids, history, byte-identical rebuilds."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from scheduler.cli import cli
from tests.conftest import REPO
from tests.foundation.helpers import PAGE, run_cli, site_block, source_block, write_config
from tests.support.feedcheck import check_atom, check_rss
from tests.support.jsonfeed import check_json_feed

BASE = "http://127.0.0.1:8080/"
SEED_TITLES = [
    "First meeting of the CERIS expert group takes place in Brussels",
    "Commissioner Johansson visits EU-funded security research project",
    "Migration and Home Affairs Funds: €10.7 billion now available to all Member States",
    "Public consultations open on security and corruption",
    "Commissioner Johansson and Youth talk fighting organised crime",
    "Progress on Anti-Trafficking – new rules proposed",
    "Special European Council: main highlights on Ukraine and migration",
    "A step up to counter drug trafficking",
]


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def test_build_with_no_config_writes_valid_feeds_of_the_sample(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "FEEDLINE_CONFIG"}
    done = subprocess.run(
        [sys.executable, "-m", "scheduler", "build"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "home-affairs: 8 items (8 new, 0 updated)" in done.stdout
    public = tmp_path / "public"
    rss = check_rss((public / "home-affairs.rss").read_bytes(), BASE + "home-affairs.rss")
    assert len(rss.entries) == 8
    check_atom((public / "all.atom").read_bytes(), BASE + "all.atom")
    assert (tmp_path / "data" / "feedline.db").is_file()
    check_json_feed((public / "all.json").read_bytes(), BASE + "all.json")


def test_seed_page_gives_its_eight_headlines(tmp_path: Path, seed_page: Path) -> None:
    shutil.copy(seed_page, tmp_path / "seed.txt")
    config = write_config(tmp_path, site_block() + source_block("home-affairs", "seed.txt"))
    result = run_cli("build", config=config)
    assert result.exit_code == 0, result.output
    for name in ("home-affairs.rss", "all.rss"):
        parsed = check_rss((tmp_path / "public" / name).read_bytes(), BASE + name)
        assert [e.title for e in parsed.entries] == SEED_TITLES
        assert all(len(e.summary) > 100 for e in parsed.entries)
    atom = check_atom(
        (tmp_path / "public" / "home-affairs.atom").read_bytes(), BASE + "home-affairs.atom"
    )
    assert [e.title for e in atom.entries] == SEED_TITLES
    assert "CERIS" in atom.entries[0].content[0].value


def test_rebuild_without_change_leaves_every_file_byte_identical(tmp_path: Path) -> None:
    (tmp_path / "p.txt").write_text(PAGE)
    config = write_config(tmp_path, site_block() + source_block("river", "p.txt"))
    assert run_cli("build", config=config, now="2024-03-05T10:00:00+00:00").exit_code == 0
    before = snapshot(tmp_path / "public")
    mtimes = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "public").iterdir()}
    # Minutes later (a day later the index's countdown has moved on and it is rewritten:
    # tests/web/test_index.py); feeds never depend on the current time.
    result = run_cli("build", config=config, now="2024-03-05T10:05:00+00:00")
    assert result.exit_code == 0
    assert "river: unchanged" in result.stdout and "no file changed" in result.stdout
    assert snapshot(tmp_path / "public") == before
    assert {p.name: p.stat().st_mtime_ns for p in (tmp_path / "public").iterdir()} == mtimes


def test_changed_paragraph_updates_the_item_and_removed_items_stay(tmp_path: Path) -> None:
    page = tmp_path / "p.txt"
    page.write_text(PAGE)
    config = write_config(tmp_path, site_block() + source_block("river", "p.txt"))
    run_cli("build", config=config, now="2024-03-05T10:00:00+00:00")
    first = check_rss((tmp_path / "public" / "river.rss").read_bytes(), BASE + "river.rss")
    ids = {e.title: e.id for e in first.entries}
    edited = PAGE.replace("Anyone may respond.", "Anyone may respond online.")
    edited = edited.replace("Minister visits flood defences", "New bridge opens")
    page.write_text(edited)
    result = run_cli("build", config=config, now="2024-03-07T10:00:00+00:00")
    assert "river: 2 items (1 new, 1 updated)" in result.stdout
    second = check_rss((tmp_path / "public" / "river.rss").read_bytes(), BASE + "river.rss")
    by_title = {e.title: e for e in second.entries}
    consultation = "Ministry opens a consultation on river water quality"
    assert by_title[consultation].id == ids[consultation]
    assert "online" in by_title[consultation].summary
    assert "Minister visits flood defences" in by_title  # gone from the page, kept in the feed
    assert second.entries[0].title == "New bridge opens"  # newest first
    atom = check_atom((tmp_path / "public" / "river.atom").read_bytes(), BASE + "river.atom")
    updated = {e.title: e.updated for e in atom.entries}
    assert updated[consultation].startswith("2024-03-07")


def test_item_count_is_capped(tmp_path: Path) -> None:
    blocks = [f"Item number {n} title\n\nParagraph {n} about a topic." for n in range(30)]
    (tmp_path / "p.txt").write_text("\n\n".join(blocks))
    config = write_config(tmp_path, site_block(max_items="10") + source_block("many", "p.txt"))
    assert run_cli("build", config=config).exit_code == 0
    parsed = check_rss(
        (tmp_path / "public" / "many.rss").read_bytes(), BASE + "many.rss", max_items=10
    )
    assert [e.title for e in parsed.entries] == [f"Item number {n} title" for n in range(10)]


def test_markdown_source_with_dates_and_links(tmp_path: Path) -> None:
    (tmp_path / "news.md").write_text(
        "# News\n\n## [Older item](https://ex.org/older)\n*1 March 2024*\n\nFirst text.\n\n"
        "## Newer item\nDate: 2024-03-10\n\nSecond text, open until 30 April 2024.\n\n"
        "Link: https://ex.org/newer\n"
    )
    config = write_config(tmp_path, site_block() + source_block("md", "news.md", kind="markdown"))
    assert run_cli("build", config=config).exit_code == 0
    parsed = check_rss((tmp_path / "public" / "md.rss").read_bytes(), BASE + "md.rss")
    assert [(e.title, e.link) for e in parsed.entries] == [
        ("Newer item", "https://ex.org/newer"),
        ("Older item", "https://ex.org/older"),
    ]
    assert parsed.entries[0].published.startswith("Sun, 10 Mar 2024")


def test_version_and_package_entry_point() -> None:
    result = run_cli("--version")
    assert result.exit_code == 0 and result.output.startswith("feedline, version ")
    assert (REPO / "scheduler" / "__main__.py").is_file()


def test_override_adds_a_deadline_to_an_item_without_one(tmp_path: Path) -> None:
    (tmp_path / "p.txt").write_text(PAGE)
    config = write_config(
        tmp_path,
        site_block()
        + source_block("river", "p.txt")
        + '[[overrides]]\ntitle_contains = "flood defences"\naction = "add"\n'
        'date = 2024-05-15\ntime = 12:00:00\nlabel = "flood plan comments"\n'
        '[[overrides]]\ntitle_contains = "river water quality"\naction = "suppress"\n',
    )
    assert run_cli("build", config=config, now="2024-03-05T10:00:00+00:00").exit_code == 0
    listing = json.loads(run_cli("deadlines", "--all", "--json", config=config).stdout)
    assert [(row["label"], row["closes_at"], row["origin"]) for row in listing] == [
        ("flood plan comments", "2024-05-15T12:00:00+02:00", "override")
    ]


def test_a_settings_change_rerenders_though_the_page_did_not_change(tmp_path: Path) -> None:
    (tmp_path / "p.txt").write_text(PAGE)
    config = write_config(tmp_path, site_block() + source_block("river", "p.txt"))
    assert run_cli("build", config=config).exit_code == 0
    config.write_text(config.read_text().replace('title = "river news"', 'title = "Rivers"'))
    result = run_cli("build", config=config)
    assert "river: 2 items (0 new, 0 updated)" in result.stdout
    parsed = check_rss((tmp_path / "public" / "river.rss").read_bytes(), BASE + "river.rss")
    assert parsed.feed.title == "Rivers"
    (tmp_path / "public" / "river.atom").unlink()  # a deleted file is written again
    assert "river: 2 items" in run_cli("build", config=config).stdout
    assert (tmp_path / "public" / "river.atom").is_file()


def test_config_option_after_the_command_works_too(tmp_path: Path) -> None:
    (tmp_path / "page.txt").write_text(PAGE, encoding="utf-8")
    config = write_config(tmp_path, site_block() + source_block("river", "page.txt"))
    result = CliRunner().invoke(cli, ["build", "--config", str(config)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "public" / "river.rss").is_file()
    # The option nearest the command wins over the one before it.
    elsewhere = tmp_path / "other"
    elsewhere.mkdir()
    wrong = write_config(elsewhere, "[site]\nnot_a_key = 1\n")
    result = CliRunner().invoke(
        cli, ["--config", str(wrong), "config", "check", "--config", str(config)]
    )
    assert result.exit_code == 0, result.output


def test_two_sources_listing_the_same_url_keep_one_item_and_say_so(tmp_path: Path) -> None:
    page = "# News\n\n## [Shared item](https://ex.org/shared)\n*1 March 2024*\n\nSame text.\n"
    (tmp_path / "a.md").write_text(page, encoding="utf-8")
    (tmp_path / "b.md").write_text(page, encoding="utf-8")
    body = site_block() + source_block("a", "a.md", kind="markdown")
    config = write_config(tmp_path, body + source_block("b", "b.md", kind="markdown"))
    result = run_cli("build", config=config)
    assert result.exit_code == 0, result.output
    assert "source 'b', item 'Shared item': skipped: source 'a' already has this item" in (
        result.stderr
    )
    public = tmp_path / "public"
    assert len(check_rss((public / "a.rss").read_bytes(), BASE + "a.rss").entries) == 1
    assert check_rss((public / "b.rss").read_bytes(), BASE + "b.rss").entries == []
    merged = check_atom((public / "all.atom").read_bytes(), BASE + "all.atom")
    assert [e.link for e in merged.entries] == ["https://ex.org/shared"]
    assert run_cli("build", config=config).exit_code == 0  # and again: no crash, no duplicate
