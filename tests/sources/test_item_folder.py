"""The items reader: a folder of Markdown files with front matter."""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from config.schema import SourceSettings
from feeds.errors import SourceError
from feeds.sources.base import FetchState
from feeds.sources.item_folder import ItemFolderReader
from tests.sources.support import DATA


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    target = tmp_path / "items"
    shutil.copytree(DATA / "items", target)
    return target


def items_source(path: Path, **kw: object) -> SourceSettings:
    return SourceSettings(
        id="notes",
        kind="items",
        title="Notes",
        path=path,
        link="https://notes.example/news/",
        **kw,  # type: ignore[arg-type]
    )


async def test_reads_good_files_and_names_the_bad_ones(folder: Path) -> None:
    read = await ItemFolderReader().read(items_source(folder), FetchState())
    assert [e.title for e in read.entries] == [
        "Bridge inspections: new guidance",
        "Call for evidence on smart water meters",
    ]
    problems = {p.item: p.detail for p in read.problems}
    assert set(problems) == {"bad-date.md", "broken-yaml.md", "no-title.md"}
    assert "front matter is not valid YAML at line 3" in problems["broken-yaml.md"]
    assert "no `title`" in problems["no-title.md"]
    assert "'sometime soon' is not a full date" in problems["bad-date.md"]


async def test_entries_have_dates_links_and_sanitised_html(folder: Path) -> None:
    read = await ItemFolderReader().read(items_source(folder), FetchState())
    bridges, meters = read.entries
    assert bridges.published == datetime(2026, 2, 6, 11, 0, tzinfo=UTC)
    assert bridges.guid == "bridges-2026"
    assert bridges.link == "https://elsewhere.example/bridges"
    assert "<script" not in bridges.content
    assert meters.link == "https://notes.example/news/water-meters"
    assert meters.published == datetime(2026, 2, 11, 11, 0, tzinfo=UTC)
    assert meters.summary == "Views wanted on smart water meters."
    assert meters.content_is_html
    assert "<strong>call for evidence</strong> is open until 11 March 2026" in meters.content
    assert (
        '<a href="https://consult.example/water-meters" rel="noopener noreferrer">'
        "the consultation page</a>" in meters.content
    )
    assert "<em>share it</em>" in meters.content
    assert "<ul>\n<li>households</li>\n<li>utilities</li>\n</ul>" in meters.content


async def test_an_untouched_folder_is_unchanged_and_an_edit_is_seen(folder: Path) -> None:
    reader = ItemFolderReader()
    first = await reader.read(items_source(folder), FetchState())
    again = await reader.read(items_source(folder), first.state)
    assert again.unchanged
    assert again.entries == ()

    edited = folder / "no-title.md"
    edited.write_text("---\ntitle: Now it has one\n---\nBody.\n", encoding="utf-8")
    stat = edited.stat()
    os.utime(edited, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    third = await reader.read(items_source(folder), again.state)
    assert not third.unchanged
    assert "Now it has one" in [e.title for e in third.entries]


async def test_a_missing_folder_is_a_source_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="folder not found"):
        await ItemFolderReader().read(items_source(tmp_path / "nope"), FetchState())


async def test_a_file_over_the_limit_is_an_item_problem(folder: Path) -> None:
    (folder / "huge.md").write_text("---\ntitle: Huge\n---\n" + "x" * 3000, encoding="utf-8")
    read = await ItemFolderReader(max_file_bytes=2048).read(items_source(folder), FetchState())
    assert "huge.md" in {p.item for p in read.problems}
    assert len(read.entries) == 2


async def test_french_date_in_front_matter(folder: Path) -> None:
    (folder / "fr.md").write_text(
        "---\ntitle: Appel à contributions\ndate: 11 février 2026\n---\n"
        "La consultation est ouverte jusqu'au 11 mars 2026.\n",
        encoding="utf-8",
    )
    read = await ItemFolderReader().read(items_source(folder, language="fr"), FetchState())
    entry = next(e for e in read.entries if e.title == "Appel à contributions")
    assert entry.published == datetime(2026, 2, 11, 11, 0, tzinfo=UTC)
    assert "ouverte jusqu'au 11 mars 2026" in entry.content


async def test_a_mailto_link_is_an_item_problem_not_the_items_page(tmp_path: Path) -> None:
    (tmp_path / "press.md").write_text(
        "---\ntitle: Press office\ndate: 2024-03-01\nlink: mailto:press@example.org\n---\nHi\n"
    )
    read = await ItemFolderReader().read(items_source(tmp_path), FetchState())
    assert not read.entries
    [problem] = read.problems
    assert problem.detail == "link 'mailto:press@example.org' is not a web address"
