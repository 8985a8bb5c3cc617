"""find_deadlines: cue first, then the date it governs, then its time, zone and label."""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from zoneinfo import ZoneInfo

from feeds.clock import as_utc
from feeds.deadlines.cues import (
    ANAPHORIC_START,
    BLOCKERS,
    CLAUSE_START,
    EVENT_REGISTRATION,
    NOT_A_SUBMISSION,
    OBLIGATION,
    SUBMISSION_BEFORE_BY,
    Cue,
    CueKind,
    cue_word_spans,
    cues_for,
    has_context,
    has_cue_word,
)
from feeds.deadlines.dates import DateMention, grammar_for, resolve
from feeds.deadlines.labels import label_for
from feeds.deadlines.sentences import Sentence, split_sentences
from feeds.deadlines.times import END_OF_DAY, TimeMention, find_times, find_zone_word, zone_for
from feeds.model import Deadline

_MAX_GAP = {CueKind.BY: 45, CueKind.BEFORE: 45}
_DEFAULT_MAX_GAP = 110
_WEAK_UNTIL_MAX_GAP = 45
_SHORT_SENTENCE_WORDS = 10
_GENERIC_LABELS = frozenset({"consultation", "Konsultation", "feedback period", "call"})
_FALLBACK_LABEL = {"de": "Konsultation"}
_AFTER_DATE_TO_TIME = re.compile(
    r"^[\s,(]*(?:(?:at|by|before|until|um|à|a|bis|-|–)\s*)?(?:the\s+latest\s+)?$", re.IGNORECASE
)
_DATE_BEFORE_NOUN = re.compile(r"^(?:\s|'s|’s)*$")
_TIME_OR_PUNCTUATION = re.compile(
    r"^[\s,()]*(?:(?:at|à|um)?\s*[\d:.h]+\s*(?:[ap]\.?m\.?|Uhr)?)?[\s,()]*$"
)
_CHECKED_ZONES: set[str] = set()  # zone names ZoneInfo accepted
_RANGE_WORD = re.compile(r"(?:^|\s)(?:to|until|till|through|-|–|—|au|bis)\s", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class _Found:
    deadline: Deadline
    kind: CueKind
    order: int


def find_deadlines(
    text: str,
    *,
    reference: date,
    timezone: str,
    language: str = "en",
    reference_is_strong: bool = True,
) -> list[Deadline]:
    """Closing dates stated in `text`, in the order written (extensions replace what they move).

    `reference` resolves year-less dates (the first such date on or after it); when it is weak
    (`reference_is_strong=False`) those deadlines come back with `certain=False`.
    """
    if timezone not in _CHECKED_ZONES:
        ZoneInfo(timezone)  # unknown zones fail here, before any work
        _CHECKED_ZONES.add(timezone)
    if not text:
        return []
    cue_words = cue_word_spans(text)  # None (not ASCII): sentences are then tested one by one
    if not (has_cue_word(text) if cue_words is None else cue_words):
        return []  # most paragraphs stop here (one regex search)
    language = (language or "en").lower().split("-")[0].split("_")[0]
    grammar = grammar_for(language, timezone.startswith("America/"))
    cues = cues_for(language)
    sentences = split_sentences(text)
    context = _Context(text, sentences)
    found: list[_Found] = []
    seen: dict[tuple[int, int], int] = {}
    # A date is only ever read in a sentence with a cue word, and a text without any date has
    # none in its sentences either: no whole-text date search is needed.
    for index in _sentences_with_cue_words(sentences, cue_words):
        sentence = sentences[index]
        sentence_cues = cues.find(sentence.text)
        dates = grammar.find(sentence.text) if sentence_cues else []
        if not dates:
            continue
        times = find_times(sentence.text)
        for cue in sentence_cues:
            mention = _governed_date(sentence.text, cue, dates)
            if mention is None or not _has_context(context, index, cue):
                continue
            if EVENT_REGISTRATION.search(sentence.text) or OBLIGATION.search(sentence.text):
                continue
            if not context.in_text():
                return []  # nothing in the text is something one responds to
            key = (index, mention.start)
            if key in seen:
                if cue.kind is CueKind.EXTEND:
                    position = seen[key]
                    found[position] = replace(found[position], kind=CueKind.EXTEND)
                continue
            deadline = _deadline(
                sentences, index, cue, mention, times,
                reference=reference, timezone=timezone, language=language,
                reference_is_strong=reference_is_strong,
            )  # fmt: skip
            seen[key] = len(found)
            found.append(_Found(deadline, cue.kind, len(found)))
    return [f.deadline for f in _apply_extensions(_merge_duplicates(found))]


def _sentences_with_cue_words(
    sentences: Sequence[Sentence], cue_words: Sequence[tuple[int, int]] | None
) -> list[int]:
    """The indices of the sentences that may hold a cue (the quick test spares the others the
    full cue patterns): those `has_cue_word` passes, or, given the text's cue word spans,
    those a span overlaps (never fewer)."""
    if cue_words is None:
        return [i for i, sentence in enumerate(sentences) if has_cue_word(sentence.text)]
    starts = [sentence.start for sentence in sentences]
    ends = [sentence.end for sentence in sentences]  # sentences follow each other: both sorted
    overlapped: set[int] = set()
    for start, end in cue_words:
        overlapped.update(range(bisect_right(ends, start), bisect_left(starts, end)))
    return sorted(overlapped)


def _governed_date(text: str, cue: Cue, dates: Sequence[DateMention]) -> DateMention | None:
    if cue.kind is CueKind.BY:
        before = text[: cue.start]
        clause = CLAUSE_START.search(before)
        if SUBMISSION_BEFORE_BY.search(before) is None or (
            clause is not None and NOT_A_SUBMISSION.search(clause.group())
        ):
            return None
    if cue.kind is CueKind.NOUN:
        for mention in dates:
            if mention.end <= cue.start and _DATE_BEFORE_NOUN.match(text[mention.end : cue.start]):
                return mention  # "the 17 February deadline"
    if cue.kind is CueKind.TRAILING:
        earlier = [m for m in dates if m.end <= cue.start]
        if earlier and _TIME_OR_PUNCTUATION.match(text[earlier[-1].end : cue.start]):
            return earlier[-1]  # "by 30 November 2022 at the latest"
        return None
    max_gap = _MAX_GAP.get(cue.kind, _DEFAULT_MAX_GAP)
    if cue.kind is CueKind.CLOSE and cue.needs_context:
        max_gap = _WEAK_UNTIL_MAX_GAP
    checked_from = cue.end
    for position, mention in enumerate(dates):
        if mention.start < cue.end:
            continue
        gap = text[cue.end : mention.start]
        if len(gap) > max_gap or ";" in gap:
            return None
        if BLOCKERS.search(text[checked_from : mention.start]):
            checked_from = mention.end
            continue
        if cue.kind is CueKind.PERIOD and not mention.is_range:
            return _range_end(text, mention, dates[position + 1 :])
        return mention
    return None


def _range_end(text: str, opening: DateMention, later: Sequence[DateMention]) -> DateMention | None:
    """ "from 9:30am on 1 February 2022 to 11:45pm on 29 March 2022": the second date."""
    if not later:
        return None
    between = text[opening.end : later[0].start]
    if len(between) <= 40 and _RANGE_WORD.search(between):
        return later[0]
    return None


class _Context:
    """Which sentences (and whether the text) speak of something one responds to; each
    sentence and the text are searched once, when first asked about."""

    def __init__(self, text: str, sentences: Sequence[Sentence]) -> None:
        self.text = text
        self.sentences = sentences
        self._in_sentence: dict[int, bool] = {}
        self._in_text: bool | None = None

    def in_sentence(self, index: int) -> bool:
        known = self._in_sentence.get(index)
        if known is None:
            known = self._in_sentence[index] = has_context(self.sentences[index].text)
        return known

    def in_text(self) -> bool:
        """`has_context(text)`: true as soon as one sentence has it (a sentence is a piece
        of the text cut at spaces, quotes or brackets, so its match is the text's too)."""
        if self._in_text is None:
            self._in_text = any(self._in_sentence.values()) or has_context(self.text)
        return self._in_text


def _has_context(context: _Context, index: int, cue: Cue) -> bool:
    sentences = context.sentences
    sentence = sentences[index]
    if context.in_sentence(index):
        return True
    if index > 0 and ANAPHORIC_START.match(sentence.text):
        previous = sentences[index - 1]
        if previous.paragraph == sentence.paragraph and context.in_sentence(index - 1):
            return True
    if cue.needs_context:
        return False
    short = len(sentence.text.split()) <= _SHORT_SENTENCE_WORDS
    return short or cue.kind in (CueKind.NOUN, CueKind.PERIOD, CueKind.EXTEND, CueKind.TRAILING)


def _time_for(
    text: str, cue: Cue, mention: DateMention, times: Sequence[TimeMention]
) -> TimeMention | None:
    before = [t for t in times if t.start >= cue.start and t.end <= mention.start]
    if before:
        return before[-1]
    for t in times:
        if t.start >= mention.end and _AFTER_DATE_TO_TIME.match(text[mention.end : t.start]):
            return t
    return None


def _deadline(
    sentences: Sequence[Sentence],
    index: int,
    cue: Cue,
    mention: DateMention,
    times: Sequence[TimeMention],
    *,
    reference: date,
    timezone: str,
    language: str,
    reference_is_strong: bool,
) -> Deadline:
    text = sentences[index].text
    local_date = resolve(mention, reference)
    certain = mention.year is not None or reference_is_strong
    if mention.weekday is not None and local_date.weekday() != mention.weekday:
        certain = False
    clock = _time_for(text, cue, mention, times)
    if cue.kind is CueKind.BEFORE and clock is None:
        certain = False  # "before 5 March": on the 5th, or by the end of the 4th?
    zone_word = clock.zone_word if clock else None
    if zone_word is None:
        zone_word = find_zone_word(text[mention.end : mention.end + 30])
    zone = zone_for(zone_word, timezone, local_date)
    at = None if clock is None or clock.end_of_day else clock.at
    closes_at = datetime.combine(local_date, at or END_OF_DAY, tzinfo=ZoneInfo(zone))
    label = label_for(sentences, index, cue.start, fallback=_fallback_label(text, cue, language))
    return Deadline(
        closes_at=as_utc(closes_at),
        local_date=local_date,
        local_time=at,
        timezone=zone,
        label=label,
        evidence=text,
        certain=certain,
        all_day=at is None,
    )


def _fallback_label(text: str, cue: Cue, language: str) -> str:
    if cue.kind is CueKind.PERIOD:
        phrase = re.match(r"[^\W\d_]+\s+(?:period|window|phase)", text[cue.start : cue.end])
        if phrase:
            return phrase.group().lower()
    return _FALLBACK_LABEL.get(language, "consultation")


def _merge_duplicates(found: list[_Found]) -> list[_Found]:
    """One deadline said twice (a heading and the body) is one deadline."""
    kept: list[_Found] = []
    for item in found:
        twin = next((k for k in kept if _same_moment(k.deadline, item.deadline)), None)
        if twin is None:
            kept.append(item)
            continue
        if twin.deadline.label in _GENERIC_LABELS and item.deadline.label not in _GENERIC_LABELS:
            kept[kept.index(twin)] = replace(twin, deadline=replace(
                twin.deadline, label=item.deadline.label))  # fmt: skip
        elif (
            item.deadline.label not in _GENERIC_LABELS
            and item.deadline.label != twin.deadline.label
        ):
            kept.append(item)
        if item.kind is CueKind.EXTEND and twin in kept:
            position = kept.index(twin)
            kept[position] = replace(kept[position], kind=CueKind.EXTEND)
    return kept


def _same_moment(a: Deadline, b: Deadline) -> bool:
    return a.closes_at == b.closes_at and a.timezone == b.timezone


def _apply_extensions(found: list[_Found]) -> list[_Found]:
    """An extension supersedes the earlier date of the same consultation."""
    extensions = [f for f in found if f.kind is CueKind.EXTEND]
    if not extensions:
        return found
    result = list(found)
    for extension in extensions:
        others = [f for f in result if f.kind is not CueKind.EXTEND]
        label = extension.deadline.label
        same = [f for f in others if f.deadline.label == label]
        if not same and label in _GENERIC_LABELS:
            labels = {f.deadline.label for f in others}
            if len(labels) == 1:
                same = others
                label = labels.pop()
        if not same and len(others) == 1 and len(extensions) == 1:
            same = others
            label = others[0].deadline.label if label in _GENERIC_LABELS else label
        for superseded in same:
            result.remove(superseded)
        if label != extension.deadline.label:
            position = result.index(extension)
            result[position] = replace(extension, deadline=replace(extension.deadline, label=label))
    return result
