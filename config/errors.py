"""The one exception base of feedline, and the configuration error (exit status 2).

They live here, at the bottom of the import order (config <- feeds <- scheduler), so that the
settings loader can raise a `FeedlineError` too; `feeds.errors` re-exports both.
"""

from __future__ import annotations


class FeedlineError(Exception):
    """Base of every error feedline raises on purpose."""


class ConfigError(FeedlineError):
    """A configuration problem: one line naming where (file, key) and what is wrong.

    The CLI exits 2 on any of them, wherever they are found (loading the settings, building the
    mail transport, reading the signing key).
    """

    def __init__(self, message: str, *, file: str | None = None, key: str | None = None) -> None:
        self.file = file
        self.key = key
        self.message = message
        where = ": ".join(part for part in (file, key) if part)
        super().__init__(f"{where}: {message}" if where else message)
