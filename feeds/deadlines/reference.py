"""The reference date that year-less dates ("17 February") are resolved from."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from feeds.deadlines.dates import grammar_for

_LANGUAGES = ("en", "fr", "de")


def latest_full_date(texts: Sequence[str]) -> date | None:
    """The latest date written with its year in `texts` (a page is written on or after it)."""
    latest: date | None = None
    for text in texts:
        for language in _LANGUAGES:
            for mention in grammar_for(language).find(text):
                if mention.year is None:
                    continue
                written = mention.with_year(mention.year)
                if written is not None and (latest is None or written > latest):
                    latest = written
    return latest


def choose_reference(
    *, published: date | None, texts: Sequence[str], first_seen: date
) -> tuple[date, bool]:
    """The best reference and whether it is strong.

    The item's publication date (strong); else the latest full date written in the item or on
    its page, if it is not after the day the item was first seen (strong); else first_seen
    (weak: deadlines resolved from it are flagged uncertain).
    """
    if published is not None:
        return published, True
    latest = latest_full_date(texts)
    if latest is not None and latest <= first_seen:
        return latest, True
    return first_seen, False
