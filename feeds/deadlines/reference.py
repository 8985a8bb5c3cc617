"""The reference date that year-less dates ("17 February") are resolved from."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from feeds.deadlines.cues import cues_for
from feeds.deadlines.dates import grammar_for

_LANGUAGES = ("en", "fr", "de")
_CUE_REACH = 60  # a full date this close after a deadline cue is a closing date, not a dateline


def latest_full_date(texts: Sequence[str], *, not_after: date | None = None) -> date | None:
    """The latest date written with its year in `texts` (a page is written on or after it).

    Closing dates ("open until 17 April 2023") are skipped: they say when something ends, not
    when the page was written; so are dates after `not_after` (the day the page was read).
    """
    latest: date | None = None
    for text in texts:
        for language in _LANGUAGES:
            cue_ends = [cue.end for cue in cues_for(language).find(text)]
            for mention in grammar_for(language).find(text):
                if mention.year is None:
                    continue
                if any(0 <= mention.start - end <= _CUE_REACH for end in cue_ends):
                    continue
                written = mention.with_year(mention.year)
                if written is None or (not_after is not None and written > not_after):
                    continue
                if latest is None or written > latest:
                    latest = written
    return latest


def choose_reference(
    *, published: date | None, texts: Sequence[str], first_seen: date
) -> tuple[date, bool]:
    """The best reference and whether it is strong.

    The item's publication date (strong); else the latest full date written in the item or on
    its page, not counting closing dates nor dates after first_seen (strong enough); else
    first_seen (weak: deadlines resolved from it are flagged uncertain).
    """
    if published is not None:
        return published, True
    latest = latest_full_date(texts, not_after=first_seen)
    if latest is not None:
        return latest, True
    return first_seen, False
