"""Both Markdown kinds go through CommonMark (markdown-it-py), then the one sanitiser."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from config.schema import SourceSettings
from feeds.sources.base import FetchState
from feeds.sources.item_folder import ItemFolderReader
from feeds.sources.markdown_page import MarkdownPageReader, parse_markdown_page

BRUSSELS = ZoneInfo("Europe/Brussels")
BODY = (
    "See [the notice](https://en.example.org/wiki/Water_(meters)) and"
    " \\*not emphasis\\* or \\[not a link\\].\n\n"
    "- first\n  - nested one\n  - nested two\n- second\n\n"
    "1. step\n2. step\n\n"
    "<script>alert(1)</script>\n"
)


def page(body: str, *, date_line: str = "*11 February 2026*", title: str = "Water meters") -> str:
    return f"# Newsroom\n\nIntro that is not an item.\n\n## {title}\n\n{date_line}\n\n{body}"


def only(text: str, **kw: str) -> str:
    entries, problems = parse_markdown_page("news", text, "Europe/Brussels", **kw)
    assert problems == []
    [entry] = entries
    return entry.content


@pytest.fixture(params=["markdown", "items"])
def rendered(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """BODY as each Markdown kind renders it."""
    return _render(request.param, tmp_path, BODY)


def _render(kind: str, tmp_path: Path, body: str) -> str:
    if kind == "markdown":
        return only(page(body))
    folder = tmp_path / "items"
    folder.mkdir()
    (folder / "a.md").write_text(f"---\ntitle: Water meters\n---\n{body}", encoding="utf-8")
    source = SourceSettings(
        id="notes", kind="items", title="N", path=folder, link="https://notes.example/"
    )
    read = ItemFolderReader()._read(source, FetchState())
    assert read.problems == ()
    return read.entries[0].content


def test_links_keep_parentheses_in_the_url(rendered: str) -> None:
    assert 'href="https://en.example.org/wiki/Water_(meters)"' in rendered


def test_escapes_are_consumed_not_shown(rendered: str) -> None:
    assert "*not emphasis* or [not a link]." in rendered
    assert "\\" not in rendered
    assert "<em>" not in rendered


def test_nested_lists_stay_nested(rendered: str) -> None:
    assert "<ul>\n<li>first\n<ul>\n<li>nested one</li>\n<li>nested two</li>\n</ul>\n</li>" in (
        rendered
    )
    assert "<ol>\n<li>step</li>\n<li>step</li>\n</ol>" in rendered


def test_raw_html_is_sanitised(rendered: str) -> None:
    assert "<script" not in rendered
    assert "alert" not in rendered


def test_date_line_in_the_source_language() -> None:
    entries, _ = parse_markdown_page(
        "news", page("Body.", date_line="*11 février 2026*"), "Europe/Brussels", language="fr"
    )
    assert entries[0].published == datetime(2026, 2, 11, 12, 0, tzinfo=BRUSSELS)
    assert "février" not in entries[0].content


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("Date: 2023-01-17", datetime(2023, 1, 17, 12, 0, tzinfo=BRUSSELS)),
        ("_17 January 2023_", datetime(2023, 1, 17, 12, 0, tzinfo=BRUSSELS)),
        ("January 17, 2023", datetime(2023, 1, 17, 12, 0, tzinfo=BRUSSELS)),
    ],
)
def test_date_line_shapes(line: str, expected: datetime) -> None:
    entries, _ = parse_markdown_page("news", page("Body.", date_line=line), "Europe/Brussels")
    assert entries[0].published == expected


def test_a_sentence_with_a_date_is_body_not_a_date_line() -> None:
    text = page("More.", date_line="Meeting on 11 February 2026.")
    entries, _ = parse_markdown_page("news", text, "Europe/Brussels")
    assert entries[0].published is None
    assert "<p>Meeting on 11 February 2026.</p>" in entries[0].content


def test_linked_titles_link_lines_and_relative_links() -> None:
    text = (
        "## [Harbour fees](https://port.example/fees_(2026))\n\nBody [form](/form).\n\n"
        "## Bridges\n\nBody.\n\nLink: <https://port.example/bridges>\n"
        "## [Weirs](/weirs)\n\nBody.\n"
    )
    entries, problems = parse_markdown_page(
        "news", text, "Europe/Brussels", base="https://port.example/news"
    )
    assert problems == []
    assert [(e.title, e.link) for e in entries] == [
        ("Harbour fees", "https://port.example/fees_(2026)"),
        ("Bridges", "https://port.example/bridges"),
        ("Weirs", "https://port.example/weirs"),
    ]
    assert 'href="https://port.example/form"' in entries[0].content
    assert "Link:" not in entries[1].content


def test_headings_inside_code_blocks_are_not_items() -> None:
    text = "## One\n\n```\n## not an item\n```\n\n## Two\n\nBody.\n"
    entries, _ = parse_markdown_page("news", text, "Europe/Brussels")
    assert [e.title for e in entries] == ["One", "Two"]
    assert "## not an item" in entries[0].content


async def test_reader_uses_the_source_language(tmp_path: Path) -> None:
    path = tmp_path / "news.md"
    path.write_text(page("Texte.", date_line="*11 février 2026*"), encoding="utf-8")
    source = SourceSettings(
        id="fr", kind="markdown", title="Actualités", path=path, link="https://fr.example/",
        language="fr",
    )  # fmt: skip
    read = await MarkdownPageReader().read(source, FetchState())
    assert read.entries[0].published == datetime(2026, 2, 11, 12, 0, tzinfo=BRUSSELS)
