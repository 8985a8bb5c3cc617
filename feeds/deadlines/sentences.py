"""Split running text into sentences, keeping offsets; careful with "p.m.", "e.d.t.", "No."."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Sentence:
    start: int
    end: int
    text: str
    paragraph: int


_BOUNDARY = re.compile(
    r"(?<=[.!?])[\"'”’)]*\s+(?=[\"'“‘(]?[A-ZÀ-ÖØ-Þ0-9])|\n\s*\n|\n(?=\s*[^a-z\s])"
)
_ABBREVIATION_BEFORE = re.compile(
    r"(?:\b(?:[A-Za-z]\.){1,4}|\b(?:Mr|Mrs|Ms|Dr|Prof|No|Nos|Art|Arts|St|Sr|Jr|vs|approx|ca|Co|"
    r"Inc|Ltd|Dept|Gov|Reg|para|paras|p|pp|cf|e\.g|i\.e|etc|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|"
    r"Sept|Oct|Nov|Dec|Nr|Abs|bzw|ggf|z\.B|Mme|Mlle|M)\.)$"
)
_NUMBER_BEFORE = re.compile(r"\b\d{1,2}\.$")
# German ordinal days: "am 18. März" is one sentence.
_MONTH_AFTER = re.compile(
    r"(?:Januar|Jänner|Februar|März|April|Mai|Juni|Juli|August|September|Oktober|November|"
    r"Dezember|Jan|Feb|Mär|Apr|Jun|Jul|Aug|Sep|Sept|Okt|Nov|Dez)\b"
)


def split_sentences(text: str) -> list[Sentence]:
    """Sentences with their offsets in `text`; paragraph numbers count blank-line breaks."""
    sentences: list[Sentence] = []
    start = 0
    paragraph = 0
    for m in _BOUNDARY.finditer(text):
        before = text[max(0, m.start() - 12) : m.start()]
        if "\n" not in m.group() and (
            _ABBREVIATION_BEFORE.search(before)
            or (_NUMBER_BEFORE.search(before) and _MONTH_AFTER.match(text, m.end()))
        ):
            continue
        _append(sentences, text, start, m.start(), paragraph)
        if "\n" in m.group() and m.group().count("\n") >= 2:
            paragraph += 1
        start = m.end()
    _append(sentences, text, start, len(text), paragraph)
    return sentences


def _append(sentences: list[Sentence], text: str, start: int, end: int, paragraph: int) -> None:
    chunk = text[start:end]
    stripped = chunk.strip()
    if stripped:
        offset = start + chunk.index(stripped)
        sentences.append(Sentence(offset, offset + len(stripped), stripped, paragraph))
