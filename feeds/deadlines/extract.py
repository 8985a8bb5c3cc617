"""find_deadlines: cue first, then the date it governs, then its time, zone and label."""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from feeds import names
from feeds.clock import as_utc
from feeds.deadlines.caseless import Caseless
from feeds.deadlines.cues import (
    ANAPHORIC_START,
    PAST_TENSE,
    Cue,
    CueKind,
    cue_word_spans,
    cues_for,
    has_context,
    has_cue_word,
    has_something_to_respond_to,
    prefilter_text,
)
from feeds.deadlines.dates import DateGrammar, DateMention, grammar_for, is_relative, resolve
from feeds.deadlines.labels import clean_label, is_bare_label, label_for
from feeds.deadlines.layout import lay_out
from feeds.deadlines.reopening import (
    says_the_deadline_moved,
    superseded_by_a_move,
    told_in_the_past,
)
from feeds.deadlines.scoring import EXTENSION_WORDS, Candidate, SentenceFacts, candidates, facts
from feeds.deadlines.sentences import Sentence, split_sentences
from feeds.deadlines.structure import (
    item_name,
    may_hold,
    may_list,
    section_context,
    structural_cues,
)
from feeds.deadlines.times import END_OF_DAY, TimeMention, find_times, find_zone_word, zone_for
from feeds.deadlines.viewing import VIEWING, gives_way
from feeds.model import Deadline

_SHORT_SENTENCE_WORDS = 10
_GENERIC_LABELS = frozenset({"consultation", "Konsultation", "feedback period", "call"})
_FALLBACK_LABEL = {"de": "Konsultation"}
_AFTER_DATE_TO_TIME = re.compile(
    r"^[\s,(]*(?:(?:at|by|before|until|um|à|a|bis|-|–|@|alle(?:\s+ore)?|ore|a\s+las|om|às)\s*)?"
    r"(?:the\s+latest\s+)?$",
    re.IGNORECASE,
)
_TIME_THEN_DATE = re.compile(r"^\s*(?:on|,|le|am|el|il|op|no|em|del?)?\s*$", re.IGNORECASE)
_FUTURE = Caseless(
    r"(?<!\w)(?:will|shall|será|serão|sera|seront|sarà|saranno|wird|werden|zal|zullen)(?!\w)"
)
_CHECKED_ZONES: set[str] = set()  # zone names ZoneInfo accepted
STATED_MIDNIGHT = time(23, 59)
_NEARBY_YEAR_DAYS = 183  # a year-less date next to a full date is within half a year of it


@dataclass(frozen=True, slots=True)
class Considered:
    """A candidate as `feedline extract --explain` shows it: what was weighed and the outcome."""

    cue: str
    date_text: str
    date: date | None
    score: float
    reasons: tuple[str, ...]
    outcome: str  # "taken", or why it was refused


@dataclass(slots=True)
class Reading:
    """What `read_deadlines` found, and every candidate it weighed."""

    deadlines: list[Deadline]
    considered: list[Considered]


@dataclass(frozen=True, slots=True)
class _Found:
    deadline: Deadline
    kind: CueKind
    order: int
    considered: int = -1  # its entry in Reading.considered
    old: bool = False  # told in the past ("closed on", "were to be submitted by")
    sentence: str = ""  # the sentence it was read in


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
    return read_deadlines(
        text, reference=reference, timezone=timezone, language=language,
        reference_is_strong=reference_is_strong, explain=False,
    ).deadlines  # fmt: skip


def read_deadlines(
    text: str,
    *,
    reference: date,
    timezone: str,
    language: str = "en",
    reference_is_strong: bool = True,
    explain: bool = True,
) -> Reading:
    """`find_deadlines`, with every candidate weighed and why it was taken or refused
    (`explain=False` skips that account: the deadlines are the same)."""
    if timezone not in _CHECKED_ZONES:
        ZoneInfo(timezone)  # unknown zones fail here, before any work
        _CHECKED_ZONES.add(timezone)
    reading = Reading([], [])
    if not text:
        return reading
    cue_words = cue_word_spans(text)  # None (not ASCII): sentences are then tested one by one
    if not (has_cue_word(text) if cue_words is None else cue_words) and not _may_be_listing(text):
        return reading  # most paragraphs stop here (one or two regex searches)
    language = (language or "en").lower().split("-")[0].split("_")[0]
    # Month-first numerics ("4/30/2025") are an American English habit, not Brazil's.
    grammar = grammar_for(
        language, timezone.startswith("America/") and names.supported(language) == "en"
    )
    cues = cues_for(language)
    found: list[_Found] = []
    in_text: list[bool] = []  # whether the text has a consultation word (asked once)
    moved_text: list[bool] = []  # whether it says the deadline moved (asked once)
    for block_number, block in enumerate(lay_out(text)):
        sentences = split_sentences(block.text)
        row = block.quote is not None
        context = _Context(block.text, sentences, row=row, headed=block.heading)
        spans = cue_words if block_number == 0 else None
        seen: dict[tuple[int, int], int] = {}
        listing = may_list(text if block_number == 0 else block.text)  # lines, or a range
        for index in _sentences_to_read(sentences, spans, listing):
            sentence = sentences[index]
            sentence_cues = cues.find(sentence.text)
            shaped = listing and may_hold(sentence.text)  # a short dated line
            dates = grammar.find(sentence.text) if sentence_cues or shaped else []
            if not dates:
                continue
            if shaped:
                sentence_cues = _with_structural_cues(sentence_cues, sentence.text, dates,
                                                      language, context, index)  # fmt: skip
                if not sentence_cues:
                    continue
            times = find_times(sentence.text)
            quote = block.quote or text[sentence.start : sentence.end]
            sentence_facts = _FactsOnce(context, index, sentence.text)
            for cue in sentence_cues:
                weighed = candidates(sentence.text, cue, dates, sentence_facts)
                taken = False
                for candidate in weighed:
                    entry = len(reading.considered) if explain else -1
                    if explain:
                        reading.considered.append(_considered(sentence.text, candidate, reference))
                    if taken or not candidate.passes:
                        _refuse(
                            reading, entry, "a better candidate" if taken else "below threshold"
                        )
                        continue
                    if not reference_is_strong and is_relative(candidate.mention):
                        _refuse(reading, entry, "a relative day, and no date for the item")
                        continue
                    if not in_text:
                        in_text.append(has_something_to_respond_to(text))
                    if not in_text[0]:
                        _refuse(reading, entry, "nothing in the text to respond to")
                        return Reading([], reading.considered)
                    taken = True
                    key = (index, candidate.mention.start)
                    if not moved_text:
                        moved_text.append(says_the_deadline_moved(text))
                    old = moved_text[0] and _told_in_the_past(
                        sentence.text, cue, dates, candidate.mention
                    )
                    if key in seen:
                        _refuse(reading, entry, "the same date, found by another cue")
                        position = seen[key]
                        if candidate.extends:
                            found[position] = replace(found[position], kind=CueKind.EXTEND)
                        if found[position].old and not old:  # "... and now expires on"
                            found[position] = replace(found[position], old=False)
                        continue
                    deadline = _deadline(
                        sentences, index, cue, candidate.mention, times, dates, quote,
                        reference=reference, timezone=timezone, language=language,
                        reference_is_strong=reference_is_strong,
                    )  # fmt: skip
                    deadline = _named_item(deadline, context, index, candidate.mention.start)
                    kind = CueKind.EXTEND if candidate.extends else cue.kind
                    seen[key] = len(found)
                    found.append(_Found(deadline, kind, len(found), entry, old, sentence.text))
    kept = _apply_extensions(_merge_duplicates(found), text)
    if moved_text and moved_text[0]:
        moved = superseded_by_a_move(text, [(item.deadline.closes_at, item.old) for item in kept])
        kept = [item for i, item in enumerate(kept) if i not in moved]
    if len(kept) > 1:
        viewed = gives_way(
            [(item.deadline.closes_at, VIEWING.search(item.sentence) is not None) for item in kept]
        )
        kept = [item for i, item in enumerate(kept) if i not in viewed]
    if any(item.deadline.local_time is None for item in kept):
        kept = _with_standing_time(kept, text, grammar, timezone)
    orders = {item.order for item in kept}
    for item in found:
        if item.order not in orders and item.considered >= 0:
            _refuse(reading, item.considered, "superseded by an extension or a duplicate")
    reading.deadlines = [f.deadline for f in kept]
    return reading


def _told_in_the_past(
    text: str, cue: Cue, dates: Sequence[DateMention], mention: DateMention
) -> bool:
    """Whether the clause of `cue`, up to and with it (from the last date before it), tells
    its deadline in the past ("closed on 5 May and is reopened until 30 June": only the 5th)."""
    clause = max(text.rfind(mark, 0, cue.start) for mark in ",;:") + 1
    since = max([clause] + [d.end for d in dates if d.end <= cue.start])
    return told_in_the_past(text[since : max(cue.end, mention.start)])


class _FactsOnce:
    """A sentence's facts, worked out when a cue first has a candidate to score."""

    def __init__(self, context: _Context, index: int, text: str) -> None:
        self._args = (context, index, text)
        self._facts: SentenceFacts | None = None

    def __call__(self) -> SentenceFacts:
        if self._facts is None:
            self._facts = _facts(*self._args)
        return self._facts


def _named_item(deadline: Deadline, context: _Context, index: int, at: int) -> Deadline:
    """A deadline of a listed thing with only a generic label takes the thing's name
    (`River Plan`, `Lärmschutz`): one listing's consultations keep apart."""
    if deadline.label not in _GENERIC_LABELS and not is_bare_label(deadline.label):
        return deadline
    name = item_name(
        context.text, context.sentences, index, at, row=context.row, headed=context.headed
    )
    label = clean_label(name or "")
    if not label or label.casefold() == deadline.label.casefold():
        return deadline
    return replace(deadline, label=label)


def _may_be_listing(text: str) -> bool:
    """Whether a text without cue words may still state a period by its structure (a bare
    range under a consultation heading): it has lines or a range, and a consultation word."""
    return may_list(text) and has_context(text)


def _sentences_to_read(
    sentences: Sequence[Sentence], cue_words: Sequence[tuple[int, int]] | None, listing: bool
) -> list[int]:
    """The sentences with cue words, and (in a `listing`: a text with lines or a range) the
    short dated lines, which may have a structural cue."""
    indices = _sentences_with_cue_words(sentences, cue_words)
    if not listing:
        return indices
    shaped = [i for i, s in enumerate(sentences) if may_hold(s.text)]
    return sorted(set(indices).union(shaped)) if shaped else indices


def _with_structural_cues(
    found: list[Cue],
    text: str,
    dates: Sequence[DateMention],
    language: str,
    context: _Context,
    index: int,
) -> list[Cue]:
    """The sentence's cues and those its shape gives (not where a cue already stands)."""

    def in_context() -> bool:
        return context.in_sentence(index) or context.in_section(index)

    extra = [
        cue for cue in structural_cues(text, dates, language, in_context=in_context)
        if not any(c.start < cue.end and cue.start < c.end for c in found)
        and not any(c.start == cue.start == cue.end for c in found)
    ]  # fmt: skip
    return sorted([*found, *extra], key=lambda c: c.start) if extra else found


def _facts(context: _Context, index: int, text: str) -> SentenceFacts:
    """The sentence features every cue of the sentence shares."""
    sentences = context.sentences
    sentence = sentences[index]
    near = context.in_sentence(index) or context.in_section(index)
    if not near and index > 0 and ANAPHORIC_START.match(sentence.text):
        previous = sentences[index - 1]
        near = previous.paragraph == sentence.paragraph and context.in_sentence(index - 1)
    short = len(text.split()) <= _SHORT_SENTENCE_WORDS
    around = not near and any(
        0 <= other < len(sentences)
        and sentences[other].paragraph == sentence.paragraph
        and context.in_sentence(other)
        for other in (index - 1, index + 1)
    )
    return facts(text, has_context=near, short=short, context_around=around)


def _considered(text: str, candidate: Candidate, reference: date) -> Considered:
    mention = candidate.mention
    try:
        on: date | None = resolve(mention, reference)
    except ValueError:
        on = None
    return Considered(
        cue=text[candidate.cue.start : candidate.cue.end],
        date_text=text[mention.start : mention.end].rstrip("."),
        date=on,
        score=candidate.score,
        reasons=candidate.reasons,
        outcome="taken",
    )


def _refuse(reading: Reading, entry: int, why: str) -> None:
    if entry >= 0:
        reading.considered[entry] = replace(reading.considered[entry], outcome=f"refused: {why}")


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


class _Context:
    """Which sentences (and whether the text) speak of something one responds to; each
    sentence and the text are searched once, when first asked about."""

    def __init__(
        self, text: str, sentences: Sequence[Sentence], *, row: bool = False, headed: bool = False
    ) -> None:
        self.text = text
        self.sentences = sentences
        self.row = row  # a table row ...
        self.headed = headed  # ... whose first line is the heading the table stands under
        self._in_sentence: dict[int, bool] = {}
        self._in_text: bool | None = None
        self._in_section: list[bool] | None = None

    def in_sentence(self, index: int) -> bool:
        known = self._in_sentence.get(index)
        if known is None:
            known = self._in_sentence[index] = has_context(self.sentences[index].text)
        return known

    def in_section(self, index: int) -> bool:
        """Whether the sentence is a list item under a consultation heading."""
        if self._in_section is None:
            self._in_section = (
                section_context(
                    self.text, self.sentences, self.in_sentence, row=self.row, headed=self.headed
                )
                if "\n" in self.text
                else []
            )
        return bool(self._in_section) and self._in_section[index]

    def in_text(self) -> bool:
        """`has_context(text)`: true as soon as one sentence has it (a sentence is a piece
        of the text cut at spaces, quotes or brackets, so its match is the text's too)."""
        if self._in_text is None:
            self._in_text = any(self._in_sentence.values()) or has_context(self.text)
        return self._in_text


def _time_for(
    text: str,
    cue: Cue,
    mention: DateMention,
    times: Sequence[TimeMention],
    dates: Sequence[DateMention],
) -> TimeMention | None:
    before = [
        t for t in times
        if t.start >= cue.start and t.end <= mention.start and not _belongs_to(text, t, dates)
    ]  # fmt: skip
    if before:
        return before[-1]
    for t in times:
        if t.start >= mention.end and _AFTER_DATE_TO_TIME.match(text[mention.end : t.start]):
            return t
    for t in times:  # "at 5pm on Monday", "17h le 3 mars"
        if t.end <= mention.start and _TIME_THEN_DATE.match(text[t.end : mention.start]):
            return t
    return None


_STANDING_TIME = Caseless(
    r"(?:on|by|of)\s+the\s+(?:deadline|closing|due|final|last)\s+(?:date|day)|"
    r"(?:le\s+jour\s+de\s+la\s+date\s+limite|am\s+Tag\s+des\s+Fristablaufs)",
)
# A word every match of _STANDING_TIME holds, as `prefilter_text` folds the text: the quick
# test that spares most texts the search.
_STANDING_WORDS = ("deadline", "closing", "due", "final", "last", "limite", "fristablaufs")


def may_state_a_standing_time(text: str) -> bool:
    """False only where `_STANDING_TIME` cannot match (str searches, no regex)."""
    folded = prefilter_text(text)
    return any(word in folded for word in _STANDING_WORDS)


def _with_standing_time(
    found: list[_Found], text: str, grammar: DateGrammar, timezone: str
) -> list[_Found]:
    """A time stated once for every deadline ("no later than 5:00 p.m. on the deadline date")
    given to the deadlines that state none."""
    match = _STANDING_TIME.search(text) if may_state_a_standing_time(text) else None
    if match is None:
        return found
    sentence = next((s for s in split_sentences(text) if s.start <= match.start() < s.end), None)
    if sentence is None or grammar.find(sentence.text):
        return found
    clocks = [t for t in find_times(sentence.text) if t.at is not None or t.end_of_day]
    if not clocks:
        return found
    clock = clocks[0]
    at = STATED_MIDNIGHT if clock.end_of_day or clock.at is None else clock.at
    end = END_OF_DAY if clock.end_of_day or clock.at is None else clock.at
    result = []
    for item in found:
        d = item.deadline
        if d.local_time is not None:
            result.append(item)
            continue
        zone = zone_for(clock.zone_word or find_zone_word(sentence.text), timezone, d.local_date)
        closes_at = datetime.combine(d.local_date, end, tzinfo=ZoneInfo(zone))
        timed = replace(d, closes_at=as_utc(closes_at), local_time=at, timezone=zone, all_day=False)
        result.append(replace(item, deadline=timed))
    return result


def _belongs_to(text: str, clock: TimeMention, dates: Sequence[DateMention]) -> bool:
    """Whether a time is written right after another date ("3 février 2025 à 14h00")."""
    return any(
        d.end <= clock.start and _AFTER_DATE_TO_TIME.match(text[d.end : clock.start]) for d in dates
    )


def _resolved(
    mention: DateMention, dates: Sequence[DateMention], reference: date, *, past: bool
) -> date:
    """A year-less date next to a full date in its sentence takes the year that puts it
    nearest that date ("issued on August 5, 2016, with comments due on September 5");
    otherwise the first such date on or after the reference."""
    if mention.year is None and not is_relative(mention):
        full = [d for d in dates if d.year is not None and d.end <= mention.start]
        if full:
            anchor = full[-1].with_year(full[-1].year or reference.year)
            if anchor is not None:
                options = [mention.with_year(anchor.year + step) for step in (-1, 0, 1)]
                nearest = min(
                    (o for o in options if o is not None), key=lambda o: abs((o - anchor).days)
                )
                if abs((nearest - anchor).days) <= _NEARBY_YEAR_DAYS:
                    return nearest
    if past:
        resolved = resolve(mention, reference)
        earlier = mention.with_year(resolved.year - 1)
        if resolved > reference and earlier is not None:
            return earlier  # "the consultation closed on 5 March": the last 5 March so far
        return resolved
    return resolve(mention, reference)


def _deadline(
    sentences: Sequence[Sentence],
    index: int,
    cue: Cue,
    mention: DateMention,
    times: Sequence[TimeMention],
    dates: Sequence[DateMention],
    quote: str,
    *,
    reference: date,
    timezone: str,
    language: str,
    reference_is_strong: bool,
) -> Deadline:
    text = sentences[index].text
    told = max(cue.end, mention.start)  # "encerrou em", "realizada entre os últimos dias"
    past = (
        mention.year is None
        and PAST_TENSE.search(text, cue.start, told) is not None
        and _FUTURE.search(text, cue.start, told) is None
    )
    local_date = _resolved(mention, dates, reference, past=past)
    certain = mention.year is not None or reference_is_strong
    if mention.weekday is not None and local_date.weekday() != mention.weekday:
        certain = False
    clock = _time_for(text, cue, mention, times, dates)
    if cue.kind is CueKind.BEFORE and clock is None:
        certain = False  # "before 5 March": on the 5th, or by the end of the 4th?
    zone_word = clock.zone_word if clock else None
    if zone_word is None:
        zone_word = find_zone_word(text[mention.end : mention.end + 30])
    zone = zone_for(zone_word, timezone, local_date)
    # An explicit midnight (24:00, minuit) is a stated time: shown as 23:59, closing at the
    # end of the day; no time at all is an all-day deadline closing at the same instant.
    at = None if clock is None else (STATED_MIDNIGHT if clock.end_of_day else clock.at)
    end = END_OF_DAY if clock is None or clock.end_of_day or clock.at is None else clock.at
    closes_at = datetime.combine(local_date, end, tzinfo=ZoneInfo(zone))
    label = label_for(sentences, index, cue.start, fallback=_fallback_label(text, cue, language))
    return Deadline(
        closes_at=as_utc(closes_at),
        local_date=local_date,
        local_time=at,
        timezone=zone,
        label=label,
        evidence=quote,
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
        untimed = next((k for k in kept if _same_day_one_timed(k.deadline, item.deadline)), None)
        if twin is None and untimed is not None:
            # "fino al 15 novembre" then "fino alle ore 23:59 del 15 novembre": keep the time
            timed = item if untimed.deadline.local_time is None else untimed
            label = _better_label(untimed.deadline.label, item.deadline.label)
            kept[kept.index(untimed)] = replace(
                untimed, deadline=replace(timed.deadline, label=label)
            )
            continue
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
        if not item.old and twin in kept and twin.old:  # told in the present somewhere too
            position = kept.index(twin)
            kept[position] = replace(kept[position], old=False)
    return kept


def _same_day_one_timed(a: Deadline, b: Deadline) -> bool:
    """One deadline said twice, once with its time: the same day, zone and consultation."""
    return (
        a.local_date == b.local_date
        and a.timezone == b.timezone
        and (a.local_time is None) != (b.local_time is None)
        and (a.label == b.label or bool(_GENERIC_LABELS & {a.label, b.label}))
    )


def _better_label(first: str, second: str) -> str:
    return second if first in _GENERIC_LABELS and second not in _GENERIC_LABELS else first


def _same_moment(a: Deadline, b: Deadline) -> bool:
    return a.closes_at == b.closes_at and a.timezone == b.timezone


def _moved_once(found: list[_Found], text: str) -> list[_Found]:
    """A text that speaks of an extension and gives two dates for one consultation: the later
    is the one in force (no cue said which date is the new one)."""
    if len(found) != 2 or EXTENSION_WORDS.search(text) is None:
        return found
    labels = {f.deadline.label for f in found} - _GENERIC_LABELS
    if len(labels) > 1:
        return found
    return [max(found, key=lambda f: f.deadline.closes_at)]


def _apply_extensions(found: list[_Found], text: str | None = None) -> list[_Found]:
    """An extension supersedes the earlier date of the same consultation."""
    extensions = [f for f in found if f.kind is CueKind.EXTEND]
    if not extensions:
        return found if text is None else _moved_once(found, text)
    result = list(found)
    for extension in extensions:
        if extension not in result:
            continue  # a later extension superseded it
        others = [
            f for f in result
            if f.kind is not CueKind.EXTEND
            or (f is not extension and f.deadline.closes_at < extension.deadline.closes_at)
        ]  # fmt: skip
        label = extension.deadline.label
        if len({f.deadline.label for f in others} - _GENERIC_LABELS) <= 1:
            same = others  # one consultation: the extension moves its date
        else:
            same = [
                f for f in others
                if f.deadline.label == label or _GENERIC_LABELS & {f.deadline.label, label}
            ]  # fmt: skip
        if not same and label in _GENERIC_LABELS:
            labels = {f.deadline.label for f in others}
            if len(labels) == 1:
                same = others
                label = labels.pop()
        if not same and len(others) == 1 and len(extensions) == 1:
            same = others
            label = others[0].deadline.label if label in _GENERIC_LABELS else label
        for superseded in same:
            if superseded.deadline.closes_at < extension.deadline.closes_at:
                result.remove(superseded)
        if label != extension.deadline.label:
            position = result.index(extension)
            result[position] = replace(extension, deadline=replace(extension.deadline, label=label))
    return result
