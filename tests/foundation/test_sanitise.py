"""The one sanitiser policy (feeds/sanitise.py): what survives, what goes, that it is alone."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from feeds.model import Item
from feeds.render.display import item_html
from feeds.sanitise import absolute_url, html_to_text, sanitise_html, text_to_html

ROOT = Path(__file__).resolve().parents[2]


def test_scripts_styles_and_handlers_go_with_their_content() -> None:
    dirty = (
        '<p onclick="x()">Open <script>alert(1)</script><style>p{}</style>'
        '<a href="javascript:alert(1)">here</a> <img src=x onerror=y></p>'
    )
    assert sanitise_html(dirty) == '<p>Open <a rel="noopener noreferrer">here</a> </p>'


def test_links_become_absolute_against_the_base_and_get_rel() -> None:
    out = sanitise_html(
        '<a href="/consult/1" title="Have your say">respond</a>', "https://x.example/n/"
    )
    assert out == (
        '<a href="https://x.example/consult/1" title="Have your say" '
        'rel="noopener noreferrer">respond</a>'
    )


def test_structure_kept_is_one_allow_list() -> None:
    html = "<h2>T</h2><ul><li><em>a</em></li></ul><pre><code>x</code></pre><div><b>b</b></div>"
    assert (
        sanitise_html(html)
        == "<h2>T</h2><ul><li><em>a</em></li></ul><pre><code>x</code></pre><b>b</b>"
    )


def test_absolute_url_refuses_other_schemes_and_bare_fragments() -> None:
    assert absolute_url("data:text/html,x", "https://x.example/") is None
    assert absolute_url("#top", None) is None
    assert absolute_url("mailto:a@x.example", None) == "mailto:a@x.example"
    assert absolute_url("page", None) is None  # relative without a base cannot be resolved


def test_html_to_text_keeps_paragraphs_and_line_breaks() -> None:
    html = (
        "<p>First\n  paragraph &amp; more.</p><script>var x</script>"
        "<p>Deadline:<br>17 March</p><table><tr><td>Opens</td><td>1 May</td></tr></table>"
    )
    assert html_to_text(html) == "First paragraph & more.\n\nDeadline:\n17 March\n\nOpens\n1 May"


def test_html_to_text_breaks_at_every_kind_of_block() -> None:
    html = '<header>Newsroom</header><p>One<BR class="x">two</p><hr/><figure>F</figure>tail'
    assert html_to_text(html) == "Newsroom\n\nOne\ntwo\n\nF\n\ntail"


def test_text_to_html_escapes_and_splits_paragraphs() -> None:
    assert text_to_html("a < b\n\n  c  d ") == "<p>a &lt; b</p><p>c d</p>"


def test_renderers_use_the_same_policy() -> None:
    at = datetime(2026, 2, 1, tzinfo=UTC)
    body = '<p>x<iframe src="https://evil.example/">y</iframe></p>'
    item = Item("i", "s", "T", "https://x.example/1", body, True, at, at, at)
    assert item_html(item) == "<p>x</p>"


def test_no_other_module_runs_its_own_sanitiser() -> None:
    users = [
        path.relative_to(ROOT).as_posix()
        for folder in ("feeds", "scheduler", "config")
        for path in (ROOT / folder).rglob("*.py")
        if re.search(r"^\s*(?:import nh3|from nh3 )", path.read_text(encoding="utf-8"), re.M)
    ]
    assert users == ["feeds/sanitise.py"]
