"""Reading a local page file with the size limit, encoding check and unchanged detection."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from feeds.errors import SourceError
from feeds.sources.base import MAX_SOURCE_BYTES, FetchState, content_hash


@dataclass(frozen=True, slots=True)
class LocalText:
    text: str
    state: FetchState
    unchanged: bool


def read_local_text(
    source_id: str, path: Path, previous: FetchState, *, encoding: str | None = None
) -> LocalText:
    """Read `path` as text; raise SourceError with a clear reason for any user mistake."""
    try:
        size = path.stat().st_size
        if size > MAX_SOURCE_BYTES:
            raise SourceError(
                source_id,
                f"file is {size:,} bytes, over the {MAX_SOURCE_BYTES:,} byte limit",
                where=str(path),
            )
        data = path.read_bytes()
    except FileNotFoundError:
        raise SourceError(source_id, "file not found", where=str(path)) from None
    except IsADirectoryError:
        raise SourceError(source_id, "is a folder, not a file", where=str(path)) from None
    except PermissionError:
        raise SourceError(source_id, "permission denied", where=str(path)) from None
    except OSError as exc:
        raise SourceError(source_id, f"cannot read: {exc.strerror}", where=str(path)) from None
    digest = content_hash(data)
    state = FetchState(content_hash=digest)
    try:
        text = data.decode(encoding or "utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SourceError(
            source_id,
            f"not valid {encoding or 'UTF-8'} text (byte {exc.start}); "
            "save it as UTF-8 or set `encoding` for this source",
            where=str(path),
        ) from None
    except LookupError:
        raise SourceError(source_id, f"unknown encoding {encoding!r}", where=str(path)) from None
    if not text.strip():
        raise SourceError(source_id, "the page is empty", where=str(path))
    return LocalText(text, state, unchanged=digest == previous.content_hash)
