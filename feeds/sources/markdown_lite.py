"""A small Markdown subset to HTML for item bodies: paragraphs, `-`/`*`/`1.` lists,
`>` quotes, `[text](url)` links, `**strong**`, `*em*`/`_em_`, hard line breaks (two spaces).

Everything else stays literal text. The output is meant to go through `sanitise` afterwards.
"""

from __future__ import annotations

import html
import re

_LINK = re.compile(r"\[([^\]\n]+)\]\(\s*([^)\s]+)\s*\)")
_STRONG = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*|__(?=\S)(.+?)(?<=\S)__")
_EM = re.compile(r"(?<![\w*])\*(?=\S)(.+?)(?<=\S)\*(?!\*)|(?<!\w)_(?=\S)(.+?)(?<=\S)_(?!\w)")
_BULLET = re.compile(r"^\s{0,3}[-*+]\s+(.*)$")
_NUMBERED = re.compile(r"^\s{0,3}\d{1,9}[.)]\s+(.*)$")
_QUOTE = re.compile(r"^\s{0,3}>\s?(.*)$")


def inline(text: str) -> str:
    """Escape `text` and apply links, strong and emphasis."""
    out = html.escape(text, quote=False)

    def link(match: re.Match[str]) -> str:
        href = html.escape(html.unescape(match.group(2)), quote=True)
        return f'<a href="{href}">{match.group(1)}</a>'

    out = _LINK.sub(link, out)
    out = _STRONG.sub(lambda m: f"<strong>{m.group(1) or m.group(2)}</strong>", out)
    out = _EM.sub(lambda m: f"<em>{m.group(1) or m.group(2)}</em>", out)
    return out


def _lines_html(lines: list[str]) -> str:
    parts = []
    for index, line in enumerate(lines):
        brk = line.endswith("  ") and index < len(lines) - 1
        parts.append(inline(line.strip()) + ("<br>" if brk else ""))
    return "\n".join(parts)


def _block(lines: list[str]) -> str:
    if all(_QUOTE.match(line) for line in lines):
        inner = [m.group(1) for line in lines if (m := _QUOTE.match(line))]
        return f"<blockquote>{to_html(chr(10).join(inner))}</blockquote>"
    for pattern, tag in ((_BULLET, "ul"), (_NUMBERED, "ol")):
        if pattern.match(lines[0]):
            items: list[list[str]] = []
            for line in lines:
                match = pattern.match(line)
                if match:
                    items.append([match.group(1)])
                elif items:
                    items[-1].append(line.strip())
            body = "".join(f"<li>{_lines_html(item)}</li>" for item in items)
            return f"<{tag}>{body}</{tag}>"
    return f"<p>{_lines_html(lines)}</p>"


def to_html(text: str) -> str:
    """The HTML of a Markdown-lite text (blocks separated by blank lines)."""
    blocks: list[list[str]] = [[]]
    for line in text.replace("\r\n", "\n").split("\n"):
        if line.strip():
            blocks[-1].append(line.rstrip("\n"))
        elif blocks[-1]:
            blocks.append([])
    return "\n".join(_block(block) for block in blocks if block)
