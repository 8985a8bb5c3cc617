"""Viewing periods: the documents of a planning notice can be inspected from one date to
another ("können vom 14.08. bis 13.09. eingesehen werden", "ter inzage van ... tot ..."), and
objections or comments are often due later. When a text gives both, the response deadline is
the deadline and the end of the viewing period is not; when it gives only the viewing period,
that period is the best reading of when responses close, and it stays.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from feeds.deadlines.caseless import Caseless

VIEWING = Caseless(
    r"(?<!\w)(?:eingesehen|einsehbar|zur\s+Einsicht(?:nahme)?|öffentliche\s+Auslegung|ausgelegt|"
    r"ter\s*inzage|in\s+te\s+zien|"
    r"ingezien|(?:available|open)\s+for\s+inspection|inspected|consultables?|consultée?s?|"
    r"in\s+visione|consultabil[ei]|examinad[oa]s?|disponíve(?:l|is)\s+para\s+consulta)(?!\w)"
)


def gives_way(deadlines: Sequence[tuple[datetime, bool]]) -> set[int]:
    """Of (closes at, in a viewing sentence) pairs, the viewing ends a later response deadline
    of the same text replaces."""
    responses = [at for at, viewing in deadlines if not viewing]
    if not responses or len(responses) == len(deadlines):
        return set()
    latest = max(responses)
    return {i for i, (at, viewing) in enumerate(deadlines) if viewing and at < latest}
