"""Benchmark: the presentation steps of a refresh, each beside its baseline in the same run.

    .venv/bin/python bench/presentation_bench.py [--items 2000] [--rounds 5]

- Markdown item bodies to HTML: markdown-it-py (CommonMark, what feedline uses) against mistune
  3 (also CommonMark-ish; measured only when it is installed: `pip install mistune`).
- HTML to text for extraction: `feeds.sanitise.html_to_text` against the regex-and-nh3
  function it replaced (display's old `html_to_text`, kept below as the baseline).
- Plain text items to HTML (text sources, at render): `text_to_html` against display's old
  `paragraphs_html` (which did not fold spaces).
- Decoding a page: UTF-8 bytes (the common case: one strict decode) against undeclared
  windows-1252 bytes (charset-normalizer detection).

Figures are the best of `rounds` runs (the machine is shared and noisy), per item.
"""

from __future__ import annotations

import argparse
import html
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

import nh3

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from feeds.sanitise import html_to_text, text_to_html
from feeds.sources.decoding import decode_text
from feeds.sources.markdown import markdown_to_html

BODY = """The **call for evidence** on river water quality is open until 17 March, 17:00
Brussels time. See [the consultation page](https://example.org/consult/river_(2026)) and
*share it* with anyone concerned.

- households
- utilities
  - water boards
  - farms

> Responses must be received by the deadline.

1. Read the notice.
2. Answer the questionnaire.
"""
PAGE = (
    "<html><head><title>Actualités</title></head><body>"
    + "<p>La Commission a lancé une consultation publique sur la qualité de l'eau. Les "
    "réponses sont attendues jusqu'au 17 février. Déjà, plusieurs États membres ont exprimé "
    "leur intérêt. Où trouver les documents ? À Bruxelles.</p>" * 30 + "</body></html>"
)


def old_html_to_text(fragment: str) -> str:
    """The baseline: feeds/render/display.py's html_to_text before this change."""
    blocks = re.sub(r"(?i)</(?:p|li|h\d|blockquote)>|<br\s*/?>", "\n\n", fragment)
    stripped = nh3.clean(blocks, tags=set())
    return re.sub(r"\n{3,}", "\n\n", html.unescape(stripped)).strip()


def old_paragraphs_html(text: str) -> str:
    """The baseline: feeds/render/display.py's paragraphs_html before this change."""
    return "".join(
        f"<p>{html.escape(p, quote=False)}</p>" for p in re.split(r"\n\s*\n", text) if p.strip()
    )


def best(run: Callable[[], object], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def row(name: str, seconds: float, count: int, baseline: float | None) -> None:
    per = seconds / count * 1e6
    ratio = f"{seconds / baseline:.2f}x the baseline" if baseline else "baseline"
    print(f"  {name:<44} {per:9.1f} µs per item   {ratio}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    bodies = [BODY.replace("17 March", f"{1 + i % 28} March") for i in range(args.items)]

    print(f"Markdown body to HTML ({args.items} bodies of {len(BODY)} characters)")
    try:
        import mistune
    except ImportError:
        mistune = None
    ours = best(lambda: [markdown_to_html(b) for b in bodies], args.rounds)
    if mistune is not None:
        render = mistune.create_markdown(escape=False)
        theirs = best(lambda: [render(b) for b in bodies], args.rounds)
        row(f"mistune {mistune.__version__}", theirs, args.items, None)
        row("markdown-it-py (CommonMark preset)", ours, args.items, theirs)
    else:
        row("markdown-it-py (CommonMark preset)", ours, args.items, None)
        print("  (mistune not installed: no baseline)")

    fragments = [markdown_to_html(b) for b in bodies]
    print(f"HTML to text ({args.items} fragments)")
    old = best(lambda: [old_html_to_text(f) for f in fragments], args.rounds)
    new = best(lambda: [html_to_text(f) for f in fragments], args.rounds)
    row("old display.html_to_text", old, args.items, None)
    row("feeds.sanitise.html_to_text", new, args.items, old)

    texts = [
        f"Title {i}\n\n" + " ".join(["word"] * 90) + "\n\nSecond paragraph."
        for i in range(args.items)
    ]
    print(f"Plain text item to HTML ({args.items} items of {len(texts[0])} characters)")
    old = best(lambda: [old_paragraphs_html(t) for t in texts], args.rounds)
    new = best(lambda: [text_to_html(t) for t in texts], args.rounds)
    row("old display.paragraphs_html", old, args.items, None)
    row("feeds.sanitise.text_to_html", new, args.items, old)

    pages = max(args.items // 20, 1)
    utf8 = PAGE.encode("utf-8")
    legacy = PAGE.encode("cp1252")
    assert decode_text(legacy) == PAGE
    print(f"Decoding a {len(utf8) // 1000} kB page ({pages} pages)")
    plain = best(lambda: [decode_text(utf8) for _ in range(pages)], args.rounds)
    detect = best(lambda: [decode_text(legacy) for _ in range(pages)], args.rounds)
    row("UTF-8, undeclared", plain, pages, None)
    row("windows-1252, undeclared (detection)", detect, pages, plain)


if __name__ == "__main__":
    main()
