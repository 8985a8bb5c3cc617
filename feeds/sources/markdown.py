"""CommonMark for both Markdown kinds (`markdown` pages and `items` folders), by markdown-it-py.

One parser (the CommonMark preset, built on first use) turns Markdown into HTML; the HTML
then goes through the one sanitiser policy (feeds.sanitise), so raw HTML in a file is allowed
by the parser and cut down to the allow-list like any page's HTML.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

from markdown_it import MarkdownIt
from markdown_it.token import Token

from feeds.sanitise import html_to_text
from feeds.text import collapse


@cache
def parser() -> MarkdownIt:
    return MarkdownIt("commonmark")


def markdown_to_html(text: str) -> str:
    """The HTML of a CommonMark text (not yet sanitised)."""
    return str(parser().render(text))


def blocks_to_html(tokens: Sequence[Token]) -> str:
    """The HTML of some of a parsed document's tokens (whole blocks)."""
    md = parser()
    return str(md.renderer.render(list(tokens), md.options, {}))


def inline_text(tokens: Sequence[Token]) -> str:
    """The plain text of inline tokens on one line: `*11 février 2026*` -> 11 février 2026."""
    return collapse(html_to_text(blocks_to_html(tokens)))


def top_level_blocks(tokens: Sequence[Token]) -> list[list[Token]]:
    """The document's top-level blocks, each as the run of tokens from its opening token to
    its closing one (a paragraph is [paragraph_open, inline, paragraph_close])."""
    blocks: list[list[Token]] = []
    depth = 0
    for token in tokens:
        if depth == 0:
            blocks.append([])
        blocks[-1].append(token)
        depth += token.nesting
    return blocks


def only_link(block: Sequence[Token]) -> tuple[str, list[Token]] | None:
    """(href, the link's text tokens) when a heading or paragraph is one link and nothing
    else (`## [Title](https://...)`, `[Read more](https://...)`)."""
    if len(block) != 3 or block[1].type != "inline":
        return None
    children = block[1].children or []
    if len(children) < 2 or children[0].type != "link_open" or children[-1].type != "link_close":
        return None
    if any(child.type == "link_open" for child in children[1:-1]):
        return None
    return str(children[0].attrs.get("href", "")), children[1:-1]
