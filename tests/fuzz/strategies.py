"""Hostile and broken inputs for every source kind, extract, the config loader, tokens and
CSV imports (hypothesis strategies, shared with bench/fuzz_bench.py)."""

from __future__ import annotations

import json
from xml.sax.saxutils import escape

from hypothesis import strategies as st

#: Pieces real pages have, and pieces that broke parsers elsewhere.
FRAGMENTS = [
    "The consultation is open until 30 April 2024.",
    "Closes on 12/05/2024 at 23:59 CET",
    "Deadline: 1 March",
    "Feedback period 2 February 2024 - 1 March 2024",
    "no later than midnight Brussels time on 5 June",
    "Call for evidence on corruption",
    "De consultatie sluit op 3 mei 2024.",
    "Ende der Beteiligung: 31.12.2024",
    "29 February 2023",
    "31 April 2024",
    "9999-99-99",
    "\x00\x01\x02\x1b\x7f",
    "\x85\x9f",
    "\ufeff\u200b\u202e\u2028\u2029",
    "\ufffe\uffff",
    "<script>alert(1)</script>",
    "]]>",
    "&amp;&#0;&#xD800;&bogus;",
    "😀" * 20,
    "a" * 3000,
    "\r\n\r",
    "\t\t  \u00a0",
    "# heading",
    "* bullet",
    "[link](javascript:alert(1))",
    "---",
    "http://[::1]/x",
]

# Any character a decoded page can hold (lone surrogates cannot come out of a decoder).
CHARS = st.characters(blacklist_categories=["Cs"])
words = st.one_of(st.text(CHARS, max_size=80), st.sampled_from(FRAGMENTS))
lines = st.lists(words, max_size=25)


@st.composite
def page_text(draw: st.DrawFn) -> str:
    parts = draw(lines)
    gaps = draw(st.lists(st.sampled_from(["\n", "\n\n", "\r\n", " ", "\n\n\n"]), min_size=1))
    return "".join(part + gaps[n % len(gaps)] for n, part in enumerate(parts))


def _maybe_escaped(draw: st.DrawFn, text: str) -> str:
    return escape(text) if draw(st.booleans()) else text


@st.composite
def html_page(draw: st.DrawFn) -> str:
    items = []
    for _ in range(draw(st.integers(0, 6))):
        title = _maybe_escaped(draw, draw(words))
        href = draw(
            st.one_of(st.sampled_from(["/a", "https://x.org/b", "", "javascript:x"]), words)
        )
        when = draw(st.one_of(st.sampled_from(["2024-03-01", "2024-13-45T99:00", ""]), words))
        body = _maybe_escaped(draw, draw(words))
        items.append(
            f'<div class="item"><h2><a href="{escape(href, {chr(34): "&quot;"})}">{title}</a>'
            f'</h2><time datetime="{escape(when, {chr(34): "&quot;"})}">{body}</time>'
            f"<p>{body}</p></div>"
        )
    noise = draw(st.text(CHARS, max_size=200))
    return draw(st.sampled_from(["", "<html><body>", "<base href='/x/'>"])) + noise + "".join(items)


@st.composite
def xml_feed(draw: st.DrawFn) -> bytes:
    entries = []
    for _ in range(draw(st.integers(0, 5))):
        fields = {
            name: _maybe_escaped(draw, draw(words))
            for name in ("title", "link", "description", "pubDate", "guid")
        }
        entries.append("<item>" + "".join(f"<{k}>{v}</{k}>" for k, v in fields.items()) + "</item>")
    text = (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>T</title>'
        "<link>https://fuzz.example.org/</link><description>D</description>"
        + "".join(entries)
        + draw(st.sampled_from(["</channel></rss>", "</channel>", ""]))
    )
    data = text.encode("utf-8", "surrogatepass")
    if draw(st.booleans()):
        cut = draw(st.integers(0, len(data)))
        data = data[:cut] + draw(st.binary(max_size=40)) + data[cut:]
    return data


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), words),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(words, children, max_size=4),
    max_leaves=12,
)


@st.composite
def json_feed(draw: st.DrawFn) -> bytes:
    item_keys = st.sampled_from(
        ["id", "url", "title", "content_html", "content_text", "summary", "date_published"]
    )
    entries = draw(
        st.lists(st.dictionaries(item_keys, st.one_of(words, json_values), max_size=7), max_size=5)
    )
    document = {"version": "https://jsonfeed.org/version/1.1", "title": "T", "items": entries}
    if draw(st.booleans()):
        document = draw(st.dictionaries(words, json_values, max_size=4)) | document
    data = json.dumps(document).encode()
    if draw(st.integers(0, 9)) == 0:
        data = data[: draw(st.integers(0, len(data)))]
    return data


@st.composite
def item_file(draw: st.DrawFn) -> str:
    head = "\n".join(
        f"{key}: {draw(words)}"
        for key in draw(st.lists(st.sampled_from(["title", "date", "link", "updated"]), max_size=4))
    )
    return draw(st.sampled_from(["---\n", "", "+++\n"])) + head + "\n---\n" + draw(page_text())


@st.composite
def config_text(draw: st.DrawFn) -> str:
    sections = [
        '[site]\nbase_url = "{v}"\n',
        '[[sources]]\nid = "{v}"\nkind = "text"\npath = "p.txt"\ntitle = "t"\nlink = "{v}"\n',
        '[mail]\nfailing_after = "{v}"\n',
        '[server]\nport = {v}\nidle_timeout = "{v}"\n',
        '[reminders]\noffsets = ["{v}"]\n',
        "{v}\n",
        "[{v}]\n",
    ]
    chosen = draw(st.lists(st.sampled_from(sections), max_size=5))
    values = st.one_of(words, st.sampled_from(["7d", "-1s", "0", "1e999", "99999", "x = 1"]))
    return "".join(part.replace("{v}", draw(values).replace('"', "'")) for part in chosen)


tokens = st.one_of(
    st.text(CHARS, max_size=120),
    st.from_regex(r"[A-Za-z0-9_\-]{0,80}={0,2}", fullmatch=True),
)


@st.composite
def csv_text(draw: st.DrawFn) -> str:
    header = draw(st.sampled_from(["email,sources,offsets", "email", "e-mail", "", "email,x"]))
    rows = draw(
        st.lists(
            st.lists(
                st.one_of(words, st.sampled_from(["a@example.org", "river", "7d,1d", '"'])),
                max_size=4,
            ),
            max_size=8,
        )
    )
    return header + "\n" + "\n".join(",".join(row) for row in rows) + "\n"


PATHS = ["/", "/healthz", "/metrics", "/subscribe", "/confirm", "/manage", "/unsubscribe",
         "/all.rss", "/deadlines/x.ics", "/feeds.opml", "/../etc/passwd", "/%2e%2e/",
         "//x"]  # fmt: skip
url_chars = st.text(
    st.characters(min_codepoint=0x21, max_codepoint=0x7E, blacklist_characters="#"), max_size=60
)


@st.composite
def http_request(draw: st.DrawFn) -> bytes:
    method = draw(st.sampled_from(["GET", "POST", "HEAD", "PUT", "OPTIONS", "GET"]))
    path = draw(st.sampled_from(PATHS)) + draw(st.sampled_from(["", "?", "?token=", "/"]))
    path += draw(url_chars)
    names = st.sampled_from(
        ["Cookie", "If-None-Match", "If-Modified-Since", "Accept", "Accept-Encoding", "Range",
         "Content-Type", "X-Forwarded-For", "Origin", "Referer"]
    )  # fmt: skip
    values = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=80)
    headers = draw(st.lists(st.tuples(names, values), max_size=6))
    form_keys = st.sampled_from(["email", "csrf", "token", "sources", "offsets", "action", "x"])
    body = "&".join(
        f"{k}={v}" for k, v in draw(st.lists(st.tuples(form_keys, url_chars), max_size=6))
    ).encode()
    if method == "POST" and draw(st.booleans()):
        headers.append(("Content-Type", "application/x-www-form-urlencoded"))
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in headers]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body
