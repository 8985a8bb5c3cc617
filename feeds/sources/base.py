"""The source seam: a reader turns one configured source into `Entry` values.

Readers do no storage. They get the state remembered from the previous read (HTTP validators,
a hash of the bytes) and say `unchanged=True` when there is nothing new to process, so a
no-change refresh costs almost nothing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Protocol

from config.schema import FetchSettings, SourceSettings
from feeds.errors import ItemError
from feeds.model import Entry

MAX_SOURCE_BYTES = FetchSettings().max_bytes
"""The default of `[fetch] max_bytes`: the one size limit of fetched bodies and local files."""


@dataclass(frozen=True, slots=True)
class FetchState:
    """What a source remembers between reads (stored per source)."""

    etag: str | None = None
    last_modified: str | None = None
    content_hash: str | None = None


@dataclass(frozen=True, slots=True)
class SourceRead:
    """The outcome of reading a source that did not fail as a whole."""

    entries: tuple[Entry, ...]
    state: FetchState
    unchanged: bool = False
    problems: tuple[ItemError, ...] = field(default_factory=tuple)


class SourceReader(Protocol):
    """Reads one source. Raises `SourceError` when the source as a whole cannot be used."""

    async def read(self, source: SourceSettings, previous: FetchState) -> SourceRead: ...


def content_hash(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()
