"""What may be shown: the one sanitiser policy for the whole project.

Every piece of text that came from a page and is shown again goes through here:

- item HTML: `sanitise_html` keeps one allow-list of tags and attributes (nh3), drops scripts
  and styles with their content, makes links absolute and marks them `rel="noopener
  noreferrer"`; readers call it with the page's base URL, renderers again without one;
- HTML as text: `html_to_text` (paragraphs kept as blank-line-separated blocks, line breaks as
  single newlines, everything else folded), and its inverse for plain text, `text_to_html`;
- one-line text for mail headers and calendar properties (`one_line`, `header_text`) and the
  links a message may carry (`http_url`, `mailto_url`).
"""

from __future__ import annotations

import html
import re
import unicodedata
from urllib.parse import quote, urljoin, urlsplit

import nh3

from feeds.text import collapse

ALLOWED_TAGS = frozenset(
    {
        "p", "br", "a", "em", "strong", "b", "i", "code", "pre", "blockquote",
        "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6",
    }
)  # fmt: skip
ALLOWED_ATTRIBUTES: dict[str, frozenset[str]] = {"a": frozenset({"href", "title"})}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
DROP_WITH_CONTENT = frozenset({"script", "style", "template", "noscript", "iframe", "object"})
LINK_REL = "noopener noreferrer"
HEADER_MAX = 150

# Where html_to_text breaks lines (after whitespace is folded): after a block a blank line, after
# a table cell or at a <br> a newline. Plain replacement strings: no Python call per match.
_BLOCK_END = re.compile(
    r"</(?:p|li|div|blockquote|pre|h[1-6]|tr|table|ul|ol|dl|dd|dt|section|article|header"
    r"|footer|nav|main|aside|figure|figcaption|address) ?>|<hr\b[^>]*>",
    re.I,
)
_LINE_END = re.compile(r"</t[dh] ?>|<br\b[^>]*>", re.I)
# Only what needs rewriting: a lone plain space is already folded (far fewer matches).
_HTML_SPACE = re.compile(r"[ \t\r\n\f]{2,}|[\t\r\n\f]")
_INLINE_SPACE = re.compile(r"[^\S\n]{2,}|[^\S\n ]")
_PARAGRAPH_BREAK = re.compile(r" ?\n\s*\n\s*")
_LINE_BREAK = re.compile(r" \n ?|\n ")
_BLANK_LINE_SPLIT = re.compile(r"\n\s*\n")
_BLANKS = re.compile(r"\s+")
_ASCII_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def absolute_url(link: str | None, base: str | None) -> str | None:
    """`link` resolved against `base`; None for empty links and schemes other than
    http, https and mailto (so `javascript:` and relative links without a base are gone)."""
    if link is None:
        return None
    # As browsers do (WHATWG URL): tabs and line breaks dropped, controls and spaces at the
    # ends trimmed; other controls percent-encoded. A raw control in a link made lxml refuse
    # the whole feed (found by bench/fuzz_bench.py).
    link = _URL_BREAKS.sub("", link).strip(_URL_TRIM)
    if not link or (link.startswith("#") and not base):
        return None
    try:
        resolved = urljoin(base, link) if base else link
        if urlsplit(resolved).scheme.lower() not in URL_SCHEMES:
            return None
    except ValueError:  # e.g. "http://[::1" (an unclosed IPv6 address)
        return None
    return _URL_CONTROL.sub(lambda found: quote(found.group()), resolved)


_URL_BREAKS = re.compile("[\t\n\r]")
_URL_TRIM = "".join(map(chr, range(0x21))) + "\x7f"
_URL_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\ufffe\uffff]")


def sanitise_html(fragment: str, base: str | None = None) -> str:
    """`fragment` reduced to the allow-list; links absolute against `base`."""

    def rewrite(tag: str, attribute: str, value: str) -> str | None:
        if tag == "a" and attribute == "href":
            return absolute_url(value, base)
        return value

    cleaned = nh3.clean(
        fragment,
        tags=set(ALLOWED_TAGS),
        clean_content_tags=set(DROP_WITH_CONTENT),
        attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        attribute_filter=rewrite,
        link_rel=LINK_REL,
        url_schemes=set(URL_SCHEMES),
    )
    return cleaned.strip()


def html_to_text(fragment: str) -> str:
    """The text of an HTML fragment: tags dropped (scripts and styles with their content),
    entities decoded; each block a paragraph separated by a blank line, `<br>` a newline,
    a table cell a line of its row's block, other whitespace folded to one space.

    `collapse(html_to_text(x))` is the same text on one line (titles, summaries)."""
    folded = _HTML_SPACE.sub(" ", fragment)
    marked = _LINE_END.sub("\n", _BLOCK_END.sub("\n\n", folded))
    bare = nh3.clean(marked, tags=set(), clean_content_tags=set(DROP_WITH_CONTENT))
    text = _INLINE_SPACE.sub(" ", html.unescape(bare))
    return _LINE_BREAK.sub("\n", _PARAGRAPH_BREAK.sub("\n\n", text)).strip()


def _folded(block: str) -> str:
    """`collapse(block)`; a printable ASCII block without double spaces needs only a strip."""
    if block.isascii() and block.isprintable() and "  " not in block:
        return block.strip()
    return collapse(block)


def text_to_html(text: str) -> str:
    """Plain text as safe HTML: one `<p>` per blank-line-separated block, spaces folded."""
    blocks = (_folded(block) for block in _BLANK_LINE_SPLIT.split(text))
    return "".join(f"<p>{html.escape(block, quote=False)}</p>" for block in blocks if block)


def one_line(text: str) -> str:
    """Every run of whitespace (incl. CR, LF, TAB, U+2028, U+2029, U+0085) becomes one space;
    control and format characters (Cc, Cf, Cs, Co, Cn except spaces) are dropped."""
    if text.isascii():  # fast path: the only controls are C0 and DEL
        return _BLANKS.sub(" ", _ASCII_CONTROL.sub(" ", text)).strip()
    kept = "".join(
        char if not unicodedata.category(char).startswith("C") else " "
        for char in text
        if char.isspace() or unicodedata.category(char) not in ("Cf", "Cs", "Co", "Cn")
    )
    return _BLANKS.sub(" ", kept).strip()


def header_text(text: str, *, limit: int = HEADER_MAX) -> str:
    """A single-line header value of at most `limit` characters (an ellipsis marks a cut)."""
    line = one_line(text)
    if len(line) <= limit:
        return line
    return line[: limit - 1].rstrip() + "…"


def http_url(url: str | None) -> str | None:
    """`url` if it is an absolute http(s) URL without blanks or control characters, else None."""
    if not url or url != one_line(url) or " " in url:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return url


def mailto_url(url: str | None) -> str | None:
    """`url` if it is a `mailto:` URL without blanks, angle brackets or control characters."""
    if not url or url != one_line(url) or any(char in url for char in " <>,"):
        return None
    if not url.lower().startswith("mailto:") or "@" not in url:
        return None
    return url
