"""The one local-file reader: every kind that reads a file from disk comes through here.

One size limit (`[fetch] max_bytes`, the same as for fetched bodies), hash-based unchanged
detection, clear one-line errors naming the file, and the one decode policy
(feeds.sources.decoding) for the readers that want text.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from feeds.errors import SourceError
from feeds.sources.base import MAX_SOURCE_BYTES, FetchState, content_hash
from feeds.sources.decoding import decode_source_text


@dataclass(frozen=True, slots=True)
class LocalFile:
    data: bytes
    uri: str
    state: FetchState
    unchanged: bool


@dataclass(frozen=True, slots=True)
class LocalText:
    text: str
    state: FetchState
    unchanged: bool


def read_local_file(
    source_id: str, path: Path, previous: FetchState, *, max_bytes: int = MAX_SOURCE_BYTES
) -> LocalFile:
    """Read `path`'s bytes; raise SourceError with a clear reason for any user mistake."""
    try:
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)
        uri = path.resolve().as_uri()
    except FileNotFoundError:
        raise SourceError(source_id, "file not found", where=str(path)) from None
    except IsADirectoryError:
        raise SourceError(source_id, "is a folder, not a file", where=str(path)) from None
    except PermissionError:
        raise SourceError(source_id, "permission denied", where=str(path)) from None
    except OSError as exc:
        raise SourceError(
            source_id, f"cannot read: {exc.strerror or exc}", where=str(path)
        ) from None
    if len(data) > max_bytes:
        raise SourceError(
            source_id,
            f"file is over the {max_bytes:,} byte limit (`[fetch] max_bytes`)",
            where=str(path),
        )
    digest = content_hash(data)
    return LocalFile(data, uri, FetchState(content_hash=digest), digest == previous.content_hash)


def read_local_text(
    source_id: str,
    path: Path,
    previous: FetchState,
    *,
    encoding: str | None = None,
    max_bytes: int = MAX_SOURCE_BYTES,
) -> LocalText:
    """Read `path` as text (`encoding` forces one); empty pages are an error."""
    local = read_local_file(source_id, path, previous, max_bytes=max_bytes)
    if local.unchanged:
        return LocalText("", local.state, unchanged=True)
    text = decode_source_text(source_id, local.data, str(path), forced=encoding)
    if not text.strip():
        raise SourceError(source_id, "the page is empty", where=str(path))
    return LocalText(text, local.state, unchanged=False)
