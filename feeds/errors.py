"""One exception base for feedline; subclasses carry data and build their own message.

Only the CLI turns these into user-facing lines (and exit codes).
"""

from __future__ import annotations


class FeedlineError(Exception):
    """Base of every error feedline raises on purpose."""


class SourceError(FeedlineError):
    """A source could not be read or parsed; the other sources still build."""

    def __init__(self, source_id: str, message: str, *, where: str | None = None) -> None:
        self.source_id = source_id
        self.where = where
        self.detail = message
        location = f"source {source_id!r}" + (f" ({where})" if where else "")
        super().__init__(f"{location}: {message}")


class ItemError(FeedlineError):
    """One item of a source is malformed; it is skipped and reported."""

    def __init__(self, source_id: str, item: str, message: str) -> None:
        self.source_id = source_id
        self.item = item
        self.detail = message
        super().__init__(f"source {source_id!r}, item {item!r}: {message}")


class StoreError(FeedlineError):
    """The database could not be opened or upgraded."""
