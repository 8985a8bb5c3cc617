"""`feedline extract --explain`: every candidate weighed, why it was taken or refused."""

from __future__ import annotations

import json
from datetime import date

from feeds.deadlines.extract import read_deadlines
from feeds.deadlines.jsonio import deadline_to_json


def explain_text(
    text: str, *, reference: date, timezone: str, language: str, reference_is_strong: bool
) -> str:
    """A readable account: one block per candidate, then the deadlines as JSON (last line)."""
    reading = read_deadlines(
        text, reference=reference, timezone=timezone, language=language,
        reference_is_strong=reference_is_strong,
    )  # fmt: skip
    strength = "strong" if reference_is_strong else "weak"
    lines = [f"reference date {reference.isoformat()} ({strength})"]
    if not reading.considered:
        lines.append("no candidate: no cue with a date in the text")
    for number, c in enumerate(reading.considered, start=1):
        on = c.date.isoformat() if c.date else "?"
        lines.append(
            f"{number}. cue {c.cue!r} -> {c.date_text!r} ({on}): score {c.score:.2f}, {c.outcome}"
        )
        lines.extend(f"     {reason}" for reason in c.reasons)
    result = [deadline_to_json(d) for d in reading.deadlines]
    lines.append(json.dumps(result, ensure_ascii=False))
    return "\n".join(lines) + "\n"
