"""Kind `feed`: an RSS, Atom or JSON Feed document at `url` (or `path`).

XML is checked before feedparser sees it: any `<!ENTITY` declaration or DOCTYPE internal subset
is refused (billion laughs, external entities), first by a text prefilter, then by a defusedxml
parse that forbids entities and external references. A DOCTYPE naming an external DTD alone
(old RSS 0.91 feeds) is allowed; nothing loads it.

feedparser's `bozo` flag: encoding and content-type remarks are ignored; a real parse error is
a `SourceError` unless feedparser's loose parser still recovered a feed with entries.
JSON Feed (versions 1 and 1.1) is read with `json`.
"""

from __future__ import annotations

import io
import json
import re
from calendar import timegm
from datetime import UTC, datetime
from typing import Any
from xml.etree.ElementTree import ParseError
from zoneinfo import ZoneInfo

import defusedxml  # type: ignore[import-untyped]
import defusedxml.ElementTree as safe_xml  # type: ignore[import-untyped]
import feedparser

from config.schema import SourceSettings
from feeds.errors import ItemError, SourceError
from feeds.fetch import Fetcher, FetchResult, load_source
from feeds.model import Entry
from feeds.sanitise import absolute_url, html_to_text, sanitise_html, text_to_html
from feeds.sources.base import FetchState, SourceRead
from feeds.text import collapse

# Also the types a feed is accepted as; `application/x-rss+xml` and `application/x-atom+xml` are
# what many servers send (Python's mimetypes, older Apache and IIS configurations).
ACCEPT_FEED = (
    "application/rss+xml, application/atom+xml, application/feed+json, application/rdf+xml, "
    "application/x-rss+xml;q=0.9, application/x-atom+xml;q=0.9, "
    "application/xml;q=0.9, text/xml;q=0.9, application/json;q=0.8, text/*;q=0.1"
)
JSON_FEED_VERSIONS = ("https://jsonfeed.org/version/1", "https://jsonfeed.org/version/1.1")
TITLE_FROM_TEXT = 80

_HOSTILE = re.compile(r"<!ENTITY|<!DOCTYPE[^>\[]*\[", re.IGNORECASE)


def refuse_hostile_xml(source_id: str, body: bytes, encoding: str) -> None:
    """Raise SourceError for entity declarations, DTD internal subsets, external entities."""
    head = body.decode(encoding, errors="replace")
    if _HOSTILE.search(head):
        raise SourceError(
            source_id, "refused XML with a DTD internal subset or entity declarations"
        )
    try:
        safe_xml.fromstring(body, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except defusedxml.EntitiesForbidden as exc:
        raise SourceError(
            source_id, f"refused XML: entity declaration {exc.name!r} (entity expansion risk)"
        ) from None
    except defusedxml.ExternalReferenceForbidden as exc:
        where = exc.sysid or exc.pubid
        raise SourceError(source_id, f"refused XML: external reference {where!r}") from None
    except defusedxml.DefusedXmlException as exc:
        raise SourceError(source_id, f"refused XML: {type(exc).__name__}") from None
    except ParseError:
        pass  # not well-formed: feedparser decides whether it is still a usable feed


def _is_json(result: FetchResult) -> bool:
    if result.content_type in ("application/feed+json", "application/json"):
        return True
    return result.body.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{")


def _title_from(text: str) -> str:
    text = collapse(text)
    if len(text) <= TITLE_FROM_TEXT:
        return text
    cut = text[:TITLE_FROM_TEXT].rsplit(" ", 1)[0]
    return cut + "…"


def _struct_time(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromtimestamp(timegm(value), tz=UTC)
    except (TypeError, ValueError, OverflowError):
        return None


def _xml_entry(source_id: str, raw: Any, base: str, index: int) -> Entry:
    link = absolute_url(raw.get("link"), base)
    entry_base = link or base
    content_html = ""
    for part in raw.get("content") or []:
        kind = str(part.get("type", ""))
        value = str(part.get("value", ""))
        content_html = sanitise_html(value, entry_base) if "html" in kind else text_to_html(value)
        if content_html:
            break
    summary_raw = str(raw.get("summary", "") or "")
    summary_kind = str((raw.get("summary_detail") or {}).get("type", "text/html"))
    summary_html = (
        sanitise_html(summary_raw, entry_base)
        if "html" in summary_kind
        else text_to_html(summary_raw)
    )
    content = content_html or summary_html
    title = str(raw.get("title", "") or "")
    title_kind = str((raw.get("title_detail") or {}).get("type", "text/plain"))
    title = collapse(html_to_text(title)) if "html" in title_kind else collapse(title)
    if not title:
        title = _title_from(collapse(html_to_text(content)))
    guid = raw.get("id") or None
    if not title:
        raise ItemError(source_id, str(guid or link or f"entry {index}"), "entry has no title")
    # dict.get: FeedParserDict maps a missing updated_parsed to published_parsed (and warns)
    updated = _struct_time(dict.get(raw, "updated_parsed"))
    published = _struct_time(dict.get(raw, "published_parsed")) or updated
    return Entry(
        title=title,
        content=content,
        content_is_html=bool(content),
        link=link,
        published=published,
        updated=updated,
        guid=str(guid) if guid else None,
        summary=collapse(html_to_text(summary_html)) or None,
    )


def parse_xml_feed(
    source_id: str, body: bytes, url: str, content_type: str | None
) -> tuple[list[Entry], list[ItemError]]:
    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type
    try:
        parsed = feedparser.parse(io.BytesIO(body), response_headers=headers)
    except Exception as exc:  # its loose parser crashes on some hostile bytes ("&#xD800;")
        raise SourceError(
            source_id, f"not a well-formed feed at {url}: {exc.__class__.__name__}: {exc}"
        ) from None
    version = parsed.get("version") or ""
    if parsed.get("bozo"):
        problem = parsed.get("bozo_exception")
        benign = isinstance(problem, feedparser.ThingsNobodyCaresAboutButMe)
        if not benign and not (version and parsed.entries):
            raise SourceError(source_id, f"not a well-formed feed at {url}: {problem}")
    if not version:
        raise SourceError(source_id, f"not an RSS, Atom or JSON feed at {url}")
    base = absolute_url(parsed.feed.get("link"), url) or url
    entries: list[Entry] = []
    problems: list[ItemError] = []
    for index, raw in enumerate(parsed.entries, start=1):
        try:
            entries.append(_xml_entry(source_id, raw, base, index))
        except ItemError as problem:
            problems.append(problem)
    return entries, problems


def _string(value: Any) -> str | None:
    """A JSON value where a string belongs: anything else (a list, a number) is absent."""
    return value if isinstance(value, str) else None


def _json_date(value: Any, zone: ZoneInfo) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)


def _json_item(source_id: str, item: Any, base: str, zone: ZoneInfo, index: int) -> Entry:
    if not isinstance(item, dict):
        raise ItemError(source_id, f"item {index}", "not a JSON object")
    guid = item.get("id")
    link = absolute_url(_string(item.get("url")) or _string(item.get("external_url")), base)
    label = str(guid or link or f"item {index}")
    entry_base = link or base
    html_body = item.get("content_html")
    text_body = item.get("content_text")
    if isinstance(html_body, str) and html_body.strip():
        content = sanitise_html(html_body, entry_base)
    elif isinstance(text_body, str):
        content = text_to_html(text_body)
    else:
        content = ""
    summary = item.get("summary")
    summary = collapse(summary) if isinstance(summary, str) else None
    title = item.get("title")
    title = collapse(title) if isinstance(title, str) else ""
    if not title:
        title = _title_from(summary or collapse(html_to_text(content)))
    if not title:
        raise ItemError(source_id, label, "item has no title, summary or text")
    if not content and summary:
        content = text_to_html(summary)
    return Entry(
        title=title,
        content=content,
        content_is_html=bool(content),
        link=link,
        published=_json_date(item.get("date_published"), zone),
        updated=_json_date(item.get("date_modified"), zone),
        guid=str(guid) if guid not in (None, "") else None,
        summary=summary or collapse(html_to_text(content)) or None,
    )


def parse_json_feed(
    source_id: str, body: bytes, url: str, zone: ZoneInfo
) -> tuple[list[Entry], list[ItemError]]:
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise SourceError(source_id, f"not valid JSON at {url}: {exc}") from None
    version = document.get("version") if isinstance(document, dict) else None
    if not isinstance(version, str) or version.rstrip("/") not in JSON_FEED_VERSIONS:
        raise SourceError(
            source_id, f"not a JSON Feed at {url} (version {version!r}, expected 1 or 1.1)"
        )
    items = document.get("items")
    if not isinstance(items, list):
        raise SourceError(source_id, f"JSON Feed at {url} has no `items` list")
    base = absolute_url(_string(document.get("home_page_url")), url) or url
    entries: list[Entry] = []
    problems: list[ItemError] = []
    for index, item in enumerate(items, start=1):
        try:
            entries.append(_json_item(source_id, item, base, zone, index))
        except ItemError as problem:
            problems.append(problem)
    return entries, problems


class FeedReader:
    """Reads kind `feed` sources through the shared `Fetcher` (or from `path`)."""

    def __init__(self, fetcher: Fetcher) -> None:
        self._fetcher = fetcher

    async def read(self, source: SourceSettings, previous: FetchState) -> SourceRead:
        if source.select is not None:  # `select.page`, for followed pages
            from feeds.sources.html_page import check_selectors  # html_page imports this module

            check_selectors(source)
        result = await load_source(self._fetcher, source, previous, accept=ACCEPT_FEED)
        if result.unchanged:
            return SourceRead(entries=(), state=result.state, unchanged=True)
        url = result.url if source.url is not None else source.page_link
        if _is_json(result):
            entries, problems = parse_json_feed(
                source.id, result.body, url, ZoneInfo(source.timezone)
            )
        else:
            refuse_hostile_xml(source.id, result.body, result.encoding)
            entries, problems = parse_xml_feed(source.id, result.body, url, result.content_type)
        return SourceRead(entries=tuple(entries), state=result.state, problems=tuple(problems))
