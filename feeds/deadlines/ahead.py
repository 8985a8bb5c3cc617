"""A page's deadlines worked out ahead of storing it: a pure step, so it may run in a worker.

The store still decides which items it extracts (new ones, changed ones, all of them after a
settings change) and with which reference date. It takes a result from here only where this
step used the same inputs (the same text and the same reference), and works it out itself
otherwise; so using this never changes what is stored, only where the work was done.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from feeds.deadlines.cues import has_cue_word
from feeds.deadlines.extract import find_deadlines
from feeds.deadlines.reference import choose_reference
from feeds.model import Deadline

Reference = tuple[date, bool]  # the date year-less dates resolve from, and whether it is strong


@dataclass(frozen=True, slots=True)
class PageDeadlines:
    """What `work_out` found for the texts of one page."""

    with_cue: frozenset[str]  # the texts that may hold a deadline cue (`has_cue_word`)
    first_seen: date  # the first-seen date the page's reference was chosen with
    page_reference: Reference | None  # chosen only when an undated text had a cue
    found: Mapping[tuple[str, Reference], tuple[Deadline, ...]]

    def has_cue(self, text: str) -> bool:
        return text in self.with_cue

    def reference_for(self, first_seen: date) -> Reference | None:
        """The page's reference, if it was chosen with this first-seen date."""
        return self.page_reference if first_seen == self.first_seen else None

    def deadlines(self, text: str, reference: Reference) -> list[Deadline] | None:
        """The deadlines of `text` resolved from `reference`, or None if not worked out."""
        found = self.found.get((text, reference))
        return None if found is None else list(found)


def work_out(
    texts: Sequence[str],
    published: Sequence[date | None],
    first_seen: date,
    language: str,
    timezone: str,
) -> PageDeadlines:
    """The deadlines of every text with a cue word, as the store would find them.

    `published[i]` is the local publication date of `texts[i]` (None: undated, so the page's
    reference is chosen from all texts and `first_seen`, as the store does). A text whose
    extraction raises is left out: the store runs it again and reports the error with its item.
    """
    with_cue: set[str] = set()
    page_reference: Reference | None = None
    found: dict[tuple[str, Reference], tuple[Deadline, ...]] = {}
    for text, day in zip(texts, published, strict=True):
        # each text's cue test right before its extraction, which reads the same spans
        if text not in with_cue and not has_cue_word(text):
            continue
        with_cue.add(text)
        if day is not None:
            reference: Reference = (day, True)
        else:
            if page_reference is None:
                page_reference = choose_reference(
                    published=None, texts=texts, first_seen=first_seen, language=language
                )
            reference = page_reference
        try:
            deadlines = find_deadlines(
                text,
                reference=reference[0],
                timezone=timezone,
                language=language,
                reference_is_strong=reference[1],
            )
        except Exception:  # noqa: S112  (the store finds it again and reports it)
            continue
        found[(text, reference)] = tuple(deadlines)
    return PageDeadlines(frozenset(with_cue), first_seen, page_reference, found)


_WARM_UP_TEXT = (
    "The public consultation on river water quality is open until 17 February, "
    "5pm Brussels time. Responses must be received by 18 March 2024."
)


def warm_up(sources: Sequence[tuple[str, str]]) -> None:
    """Compile what `work_out` needs for these (language, timezone) pairs (~0.15 s each).

    A worker process runs this as soon as it starts, while the main process is still opening
    the database and reading the first pages.
    """
    for language, timezone in sorted(set(sources)):
        work_out([_WARM_UP_TEXT], [None], date(2024, 1, 1), language, timezone)
