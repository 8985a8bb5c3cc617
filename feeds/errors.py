"""One exception base for feedline; subclasses carry data and build their own message.

Only the CLI turns these into user-facing lines (and exit codes).
"""

from __future__ import annotations

from config.errors import ConfigError, FeedlineError

__all__ = ["ConfigError", "FeedlineError", "ItemError", "SourceError", "StoreError"]


class SourceError(FeedlineError):
    """A source could not be read or parsed; the other sources still build."""

    def __init__(self, source_id: str, message: str, *, where: str | None = None) -> None:
        self.source_id = source_id
        self.where = where
        self.detail = message
        location = f"source {source_id!r}" + (f" ({where})" if where else "")
        super().__init__(f"{location}: {message}")

    def __reduce__(self) -> tuple[object, tuple[str, str, str | None]]:
        # Errors cross to and from worker processes (feeds.work) by pickle.
        return _source_error, (self.source_id, self.detail, self.where)


def _source_error(source_id: str, message: str, where: str | None) -> SourceError:
    return SourceError(source_id, message, where=where)


class HttpStatusError(SourceError):
    """The server answered with an HTTP error status (kept in `status`)."""

    def __init__(self, source_id: str, message: str, *, status: int) -> None:
        super().__init__(source_id, message)
        self.status = status


class RefusedURL(SourceError):
    """A URL that feedline will not fetch: another site, an internal address, robots.txt."""


class ItemError(FeedlineError):
    """One item of a source is malformed; it is skipped and reported."""

    def __init__(self, source_id: str, item: str, message: str) -> None:
        self.source_id = source_id
        self.item = item
        self.detail = message
        super().__init__(f"source {source_id!r}, item {item!r}: {message}")

    def __reduce__(self) -> tuple[type[ItemError], tuple[str, str, str]]:
        return ItemError, (self.source_id, self.item, self.detail)


class StoreError(FeedlineError):
    """The database could not be opened or upgraded."""
