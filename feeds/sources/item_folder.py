"""Kind `items`: a folder of Markdown files, one item each, with YAML front matter.

    ---
    title: Call for evidence on ...
    date: 2026-02-11            # or "11 February 2026" in the source language; optional
    link: https://example.org/x # optional; relative links resolve against the source `link`
    summary: One line.          # optional
    id: any-stable-id           # optional guid
    ---
    Body in Markdown (CommonMark: paragraphs, lists, quotes, links, emphasis, code).

Only `*.md` directly in the folder are read, in name order. A file that does not parse (no
front matter, bad YAML, no title, bad date, over `[fetch] max_bytes`) is an `ItemError` naming
the file; the others still come. Files are read and decoded as every local file is
(feeds.sources.local). Unchanged detection hashes the names, sizes and modification
times of the files, so a refresh of an untouched folder reads no file.
"""

from __future__ import annotations

import asyncio
import re
from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from config.schema import SourceSettings
from feeds.errors import ItemError, SourceError
from feeds.model import Entry
from feeds.sanitise import absolute_url, http_url, sanitise_html, text_to_html
from feeds.sources.base import MAX_SOURCE_BYTES, FetchState, SourceRead, content_hash
from feeds.sources.decoding import decode_source_text
from feeds.sources.local import read_local_file
from feeds.sources.markdown import markdown_to_html
from feeds.sources.page_dates import parse_page_date
from feeds.text import collapse

_FRONT = re.compile(r"\A\ufeff?---[ \t]*\r?\n(.*?)\r?\n(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.S)


def _listing(folder: Path) -> list[tuple[Path, int, int]]:
    files = []
    for path in sorted(folder.glob("*.md")):
        if path.is_file():
            stat = path.stat()
            files.append((path, stat.st_size, stat.st_mtime_ns))
    return files


def _fingerprint(files: list[tuple[Path, int, int]]) -> str:
    text = "\n".join(f"{path.name}\t{size}\t{mtime}" for path, size, mtime in files)
    return content_hash(text.encode("utf-8", "surrogateescape"))


def _as_date(value: Any, source: SourceSettings, zone: ZoneInfo) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=zone)
    if isinstance(value, date):
        return datetime.combine(value, time(12, 0), tzinfo=zone)
    if isinstance(value, str):
        parsed = parse_page_date(value, source.language, zone)
        if parsed is not None:
            return parsed
    raise ValueError(f"date {value!r} is not a full date (e.g. 2026-02-11 or 11 February 2026)")


def parse_item_file(source: SourceSettings, name: str, text: str, zone: ZoneInfo) -> Entry:
    """One item from a file's text; raises ItemError naming the file."""
    match = _FRONT.match(text)
    if match is None:
        raise ItemError(source.id, name, "no front matter (start the file with a --- block)")
    try:
        meta = yaml.safe_load(match.group(1))
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" at line {where.line + 2}" if where is not None else ""
        raise ItemError(source.id, name, f"front matter is not valid YAML{line}") from None
    except ValueError as exc:  # PyYAML builds `date: 9999-99-99` as a date and fails (fuzzing)
        raise ItemError(source.id, name, f"front matter has an impossible value: {exc}") from None
    if not isinstance(meta, dict):
        raise ItemError(source.id, name, "front matter must be a mapping (key: value lines)")
    title = meta.get("title")
    if not isinstance(title, str | int | float) or not collapse(str(title)):
        raise ItemError(source.id, name, "front matter has no `title`")
    try:
        published = _as_date(meta.get("date"), source, zone)
        updated = _as_date(meta.get("updated"), source, zone)
    except ValueError as exc:
        raise ItemError(source.id, name, str(exc)) from None
    raw_link = meta.get("link")
    link = http_url(absolute_url(str(raw_link), source.page_link)) if raw_link else None
    if raw_link and link is None:
        raise ItemError(source.id, name, f"link {raw_link!r} is not a web address")
    base = link or source.page_link
    body = text[match.end() :]
    content = sanitise_html(markdown_to_html(body), base) if body.strip() else ""
    summary = meta.get("summary")
    summary_text = collapse(str(summary)) if summary is not None else None
    if not content and summary_text:
        content = text_to_html(summary_text)
    guid = meta.get("id")
    return Entry(
        title=collapse(str(title)),
        content=content,
        content_is_html=bool(content),
        link=link,
        published=published,
        updated=updated,
        guid=str(guid) if guid not in (None, "") else None,
        summary=summary_text or None,
    )


class ItemFolderReader:
    """Reads kind `items` sources (a folder of Markdown files with front matter)."""

    def __init__(self, max_file_bytes: int = MAX_SOURCE_BYTES) -> None:
        self._max = max_file_bytes

    async def read(self, source: SourceSettings, previous: FetchState) -> SourceRead:
        return await asyncio.to_thread(self._read, source, previous)

    def _read(self, source: SourceSettings, previous: FetchState) -> SourceRead:
        folder = source.path
        if folder is None:
            raise SourceError(source.id, "an items source needs `path` (a folder)")
        if not folder.is_dir():
            problem = "is a file, not a folder" if folder.exists() else "folder not found"
            raise SourceError(source.id, problem, where=str(folder))
        try:
            files = _listing(folder)
        except OSError as exc:
            raise SourceError(
                source.id, f"cannot list: {exc.strerror}", where=str(folder)
            ) from None
        state = FetchState(content_hash=_fingerprint(files))
        if previous.content_hash == state.content_hash:
            return SourceRead(entries=(), state=state, unchanged=True)
        zone = ZoneInfo(source.timezone)
        entries: list[Entry] = []
        problems: list[ItemError] = []
        for path, _size, _mtime in files:
            try:
                try:
                    local = read_local_file(source.id, path, FetchState(), max_bytes=self._max)
                    text = decode_source_text(
                        source.id, local.data, path.name, forced=source.encoding
                    )
                except SourceError as error:
                    raise ItemError(source.id, path.name, error.detail) from None
                entries.append(parse_item_file(source, path.name, text, zone))
            except ItemError as problem:
                problems.append(problem)
        return SourceRead(entries=tuple(entries), state=state, problems=tuple(problems))
