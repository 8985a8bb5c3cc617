"""Deadline cues: the words that say a date is a closing date ("open until", "closes on").

A cue is found first; the date it governs must follow it in the same clause (or be the end of
a range right after a period cue). Paragraphs without any cue word are dismissed by one
compiled prefilter search.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from pathlib import Path

from feeds.deadlines.caseless import Caseless, lowered
from feeds.deadlines.starts import factored, first_chars, may_be_empty
from feeds.names import LANGUAGES, supported


class CueKind(StrEnum):
    CLOSE = "close"  # a verb or phrase that closes: "closes on", "open until", "no later than"
    NOUN = "noun"  # "deadline", "closing date", "Frist", "date limite": may stand in a heading
    BY = "by"  # "responses by", "submit ... by": needs a submission word before it
    BEFORE = "before"  # bare "before": the day itself is uncertain (on it, or the day before?)
    PERIOD = "period"  # "feedback period 18 May - 15 June": only a range counts (its end)
    EXTEND = "extend"  # "has been extended to 31 March": supersedes the earlier date
    TRAILING = "trailing"  # "by 30 November at the latest": the date comes just before


@dataclass(frozen=True, slots=True)
class Cue:
    start: int
    end: int
    kind: CueKind
    needs_context: bool  # weak cues ("until", "bis") need a consultation word in the sentence


_CUE_WORDS_DIR = Path(__file__).with_name("cue_words")


@dataclass(frozen=True, slots=True)
class CueWords:
    """One language's data file (cue_words/<language>.toml): its cues and word lists."""

    cues: tuple[tuple[CueKind, bool, str], ...]
    prefilter: tuple[str, ...]
    context: tuple[str, ...]
    blockers: tuple[str, ...]
    events: tuple[str, ...]
    today: tuple[str, ...]
    starts: tuple[str, ...]
    instruments: tuple[str, ...]
    past: tuple[str, ...]
    tomorrow: tuple[str, ...]
    actions: tuple[str, ...]
    lapses: tuple[str, ...]
    happenings: tuple[str, ...]
    recurring: tuple[str, ...]
    other_deadlines: tuple[str, ...]
    handing_in: tuple[str, ...]
    lookalikes: tuple[str, ...]


@cache
def cue_words(language: str) -> CueWords:
    """The cue words of `language` (one of feeds.names.LANGUAGES), read once."""
    path = _CUE_WORDS_DIR / f"{language}.toml"
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    words = data.get("words", {})
    return CueWords(
        cues=tuple(
            (CueKind(entry["kind"]), bool(entry.get("weak", False)), entry["pattern"])
            for entry in data.get("cue", [])
        ),
        prefilter=tuple(words.get("prefilter", ())),
        context=tuple(words.get("context", ())),
        blockers=tuple(words.get("blockers", ())),
        events=tuple(words.get("events", ())),
        today=tuple(words.get("today", ())),
        starts=tuple(words.get("starts", ())),
        instruments=tuple(words.get("instruments", ())),
        past=tuple(words.get("past", ())),
        tomorrow=tuple(words.get("tomorrow", ())),
        actions=tuple(words.get("actions", ())),
        lapses=tuple(words.get("lapses", ())),
        happenings=tuple(words.get("happenings", ())),
        recurring=tuple(words.get("recurring", ())),
        other_deadlines=tuple(words.get("other_deadlines", ())),
        handing_in=tuple(words.get("handing_in", ())),
        lookalikes=tuple(words.get("lookalikes", ())),
    )


def _every_language(field: str) -> list[str]:
    return [w for language in LANGUAGES for w in getattr(cue_words(language), field)]


def _cue_pattern(entries: Iterable[tuple[int, str]]) -> str:
    """One alternation of cue patterns, each in a group named after its index (c0, c1, ...)."""
    body = "|".join(f"(?P<c{i}>{pattern})" for i, pattern in entries)
    return rf"(?<!\w)(?:{body})(?:(?<=['’])|(?!\w))"  # "fino all’8 ottobre"


class CueSet:
    """The cue patterns of one language (plus English, which notices mix in).

    On ASCII text the alternation is not tried whole at every word: each cue is tried only
    where a word starts with a letter its matches can start with (one smaller alternation per
    letter, the cues in their order, so the same cue wins), which finds what `finditer` of the
    whole alternation finds (tests/deadlines/test_fast_paths.py compares the two).
    """

    def __init__(self, language: str) -> None:
        own = cue_words(language).cues if language != "en" else ()
        self.entries = list(own + cue_words("en").cues)
        self.pattern = Caseless(_cue_pattern((i, p) for i, (_, _, p) in enumerate(self.entries)))
        self._by_first: dict[str, re.Pattern[str]] = {}
        self._anywhere: re.Pattern[str] | None = None  # cues that may start with any letter
        self._starts: re.Pattern[str] | None = None  # None: no dispatch, whole alternation
        patterns = [lowered(p) for _, _, p in self.entries]
        if any(may_be_empty(p) for p in patterns):
            return  # an empty match would change where finditer goes on
        firsts = [first_chars(p) for p in patterns]
        pairs = list(enumerate(zip(patterns, firsts, strict=True)))
        chars = sorted(set().union(*(f for f in firsts if f is not None)))
        for char in chars:
            chosen = [(i, p) for i, (p, f) in pairs if f is None or char in f]
            self._by_first[char] = re.compile(_cue_pattern(chosen))
        anywhere = [(i, p) for i, (p, f) in pairs if f is None]
        if anywhere:
            self._anywhere = re.compile(_cue_pattern(anywhere))
            self._starts = re.compile(r"(?<!\w)")
        else:
            self._starts = re.compile("[" + "".join(map(re.escape, chars)) + r"](?<!\w.)")

    def _matches(self, sentence: str) -> list[re.Match[str]]:
        """`self.pattern.finditer(sentence)`."""
        if self._starts is None or not sentence.isascii():
            return self.pattern.finditer(sentence)
        text = sentence.lower()
        found = []
        position = 0
        end = len(text)  # no cue is empty, so none starts at the end
        while position < end and (start := self._starts.search(text, position)) is not None:
            at = start.start()
            pattern = self._by_first.get(text[at : at + 1], self._anywhere)
            m = None if pattern is None else pattern.match(text, at)
            if m is None:
                position = at + 1
            else:
                found.append(m)
                position = m.end()
        return found

    def find(self, sentence: str) -> list[Cue]:
        cues = []
        for m in self._matches(sentence):
            index = int((m.lastgroup or "c0")[1:])
            kind, needs_context, _ = self.entries[index]
            cues.append(Cue(m.start(), m.end(), kind, needs_context))
        return cues


@cache
def cues_for(language: str) -> CueSet:
    return CueSet(supported(language))


def _lowercase_pattern(pattern: str) -> re.Pattern[str]:
    """Compile for lower-cased text: ~3x faster than re.IGNORECASE on long alternations."""
    if re.search(r"\\[SWDB]", pattern):
        raise ValueError("an upper-case escape would change meaning when lower-cased")
    return re.compile(pattern.lower())


# The prefilter: for every cue of every language, a fragment that any match of the cue must
# contain (the data files' `prefilter` lists), written for case-folded text and starting at
# the beginning of a word (one literal letter first). `tests/deadlines/test_prefilter.py`
# checks it never misses what `find` sees.


def _word_start_pattern(fragments: list[str]) -> re.Pattern[str]:
    """One search for all fragments, each only where a word starts.

    The pattern opens with a plain character class (a byte map, so the regex engine skips the
    letters between words cheaply) and then branches on the fragment's first letter. A
    non-ASCII letter also counts as "not a letter" here: an extra try, never a miss.
    """
    by_first: dict[str, list[str]] = {}
    for fragment in fragments:
        first = fragment[0]
        if not first.isalpha() or first != first.casefold() or fragment[1:2] in "?*+{":
            raise ValueError(f"prefilter fragment must start with a literal letter: {fragment}")
        by_first.setdefault(first, []).append(fragment[1:])
    branches = "|".join(
        re.escape(first) + "(?:" + factored(rests) + ")" for first, rests in by_first.items()
    )
    return re.compile(rf"[^a-z0-9_](?:{branches})")


_PREFILTER = _word_start_pattern(_every_language("prefilter"))


def prefilter_text(text: str) -> str:
    """`text` as the prefilter reads it: case-folded like re.IGNORECASE folds (İ, ı are i)."""
    folded = text.casefold()
    if not folded.isascii():
        folded = folded.replace("i\u0307", "i").replace("ı", "i")
    return folded


def has_cue_word(text: str) -> bool:
    """The quick test: could `text` hold a deadline cue at all? (microseconds per paragraph)

    Never false where `CueSet.find` of any language finds a cue; one regex search. An ASCII
    text that passes keeps its `cue_word_spans` (the search goes on from its first match),
    which `find_deadlines` of the same text reads next instead of searching again.
    """
    folded = prefilter_text(text)
    padded = " " + folded
    first = _PREFILTER.search(padded)
    if first is None:
        return "frist" in folded
    if text.isascii():
        _remember_spans(text, folded, padded, first)
    return True


# The last ASCII text with cue word spans, and its spans: a build asks `has_cue_word` of every
# text and then `find_deadlines` of each that passes, which starts with the same spans. The
# pair is replaced whole, so a thread reading it sees one text's own spans.
_last_spans: tuple[str, tuple[tuple[int, int], ...]] = ("", ())


def cue_word_spans(text: str) -> list[tuple[int, int]] | None:
    """Where ASCII `text` may hold a cue word: the spans of the prefilter's matches, found by
    one search of the whole text. A sentence of the text (a piece cut at spaces, quotes or
    brackets) passes `has_cue_word` only if it overlaps one of them. None for other text,
    whose folded form may not keep the text's offsets."""
    global _last_spans
    if not text.isascii():
        return None
    last_text, last = _last_spans
    if last_text is text:
        return list(last)
    folded = text.casefold()  # lower() of ASCII (and a little faster)
    padded = " " + folded
    first = _PREFILTER.search(padded)
    if first is None and "frist" not in folded:
        _last_spans = (text, ())
        return []
    return _remember_spans(text, folded, padded, first)


def _remember_spans(
    text: str, folded: str, padded: str, first: re.Match[str] | None
) -> list[tuple[int, int]]:
    """The spans of ASCII `text` from the prefilter's first match on, kept in `_last_spans`."""
    global _last_spans
    # A match's first character is the one before the word (the padding space for the first).
    spans = [] if first is None else [(first.start(), first.end() - 1)]
    if first is not None:
        spans += [(m.start(), m.end() - 1) for m in _PREFILTER.finditer(padded, first.end())]
    at = folded.find("frist")
    while at >= 0:
        spans.append((at, at + len("frist")))
        at = folded.find("frist", at + 1)
    _last_spans = (text, tuple(spans))
    return spans


def _any_word_pattern(words: list[str]) -> re.Pattern[str]:
    """`_lowercase_pattern` of the alternation of `words`, for a yes/no search only: the words
    that start with a letter come first, grouped by their letters (`starts.factored`), which
    makes the search several times faster; the order of a yes/no search's words is free."""
    _lowercase_pattern("|".join(words))  # the same checks
    lowered_words = [word.lower() for word in words]
    plain = [word for word in lowered_words if word[:1].isalpha()]
    others = [word for word in lowered_words if not word[:1].isalpha()]
    return re.compile("|".join([factored(plain), *others]))


# Words that make a sentence about something one responds to (a consultation, a call, ...).
_CONTEXT = _any_word_pattern(_every_language("context"))


# Words that hold a consultation word but speak of nothing one responds to: a body's name
# ("commission consultative", "Consultative Committee"), "registered" as an adjective.
_LOOKALIKES = _lowercase_pattern("|".join(_every_language("lookalikes")))
_LOOKALIKE_REACH = 40  # longer than the part of a lookalike before its consultation word


_WORD_START = re.compile(r"(?<!\w)\w")


def _consultation_words(lowered: str) -> Iterator[re.Match[str]]:
    """The consultation words of lower-cased `lowered`, leaving out those inside a lookalike
    (tried only at the word starts just before a consultation word found, so most texts pay
    little for it; every lookalike starts a word)."""
    for m in _CONTEXT.finditer(lowered):
        at = m.start()
        if not any(
            (look := _LOOKALIKES.match(lowered, word.start())) is not None and look.end() > at
            for word in _WORD_START.finditer(lowered, max(0, at - _LOOKALIKE_REACH), at + 1)
        ):
            yield m


def has_context(text: str) -> bool:
    """Whether `text` speaks of something one responds to (a consultation, a call, ...)."""
    return next(_consultation_words(text.lower()), None) is not None


def has_something_to_respond_to(text: str) -> bool:
    """`has_context(text)`, unless its only consultation words are words of handing in
    ("submit", "Abgabe", "registre") and it names a report, tax or payment: a notice about
    filing a tax return or a report, where nothing is open for responses."""
    found = False
    for m in _consultation_words(text.lower()):
        if not _in_handing_in(text, m.start()):
            return True  # most texts: their first consultation word is one
        found = True
    return found and OTHER_DEADLINES.search(text) is None


def context_at(text: str, start: int, end: int, *, skip_handing_in: bool = False) -> int | None:
    """Where the first consultation word of `text[start:end]` starts (None: there is none),
    not counting, with `skip_handing_in`, those inside a word of handing in."""
    part = text[start:end]
    for m in _consultation_words(part.lower()):
        if not skip_handing_in or not _in_handing_in(part, m.start()):
            return start + m.start()
    return None


_SKIP_REACH = 50  # longer than a match of HANDING_IN ("apply for a three-month extension")
_WORD = re.compile(r"[^\W\d_]+")
_PREFIX = 3  # every HANDING_IN entry starts with a word of at least this many letters


def _first_letters(pattern: str) -> str:
    letters = re.match(r"[^\W\d_]*", lowered(pattern))
    prefix = "" if letters is None else letters.group()[:_PREFIX]
    if len(prefix) < _PREFIX:
        raise ValueError(f"handing_in entry must start with {_PREFIX} letters: {pattern}")
    return prefix


_HANDING_IN_STARTS = frozenset(_first_letters(p) for p in _every_language("handing_in"))


def _in_handing_in(text: str, at: int) -> bool:
    """Whether a word of handing in covers position `at` of `text` (the regex is tried only
    at the words before it that start like one)."""
    since = max(0, at - _SKIP_REACH)
    near = text[since : at + _SKIP_REACH]
    for word in _WORD.finditer(near.lower()):
        if word.start() > at - since:
            break
        if word.group()[:_PREFIX] in _HANDING_IN_STARTS:
            m = HANDING_IN.match(near, word.start())
            if m is not None and since + m.start() <= at < since + m.end():
                return True
    return False


# For "by": the submission word or verb the "by" belongs to, in the same clause before it.
CLAUSE_START = re.compile(r"[^.;:]*$")
_SUBMISSION_NOUNS = (
    r"(?:respons|comment|submission|views|feedback|evidence|proposal|applica|nominat|entries|"
    r"expressions?\s+of\s+interest|questionnaire|survey|contribution|input|tender|bid|"
    r"representation|objection|form)\w*"
)
SUBMISSION_BEFORE_BY = Caseless(
    # a verb of responding: "submit your views by", "please respond by", "return the form by"
    r"(?:(?<!\w)(?:respond|receive|book|submit|send|return|reply|apply|register|lodge|comment|nominate|"
    r"provide|share|complete|fill|upload|file|e-?mail|post|write|object|raise|feed\s+back|"
    r"let\s+us\s+know|"
    r"contribute|enter|have\s+your\s+say|give\s+(?:us\s+)?your\s+views|tell\s+us|"
    r"get\s+in\s+touch|reach\s+us|take\s+part|welcome|invite|request)\w*[^.;:]{0,60}"
    # a submission noun then a passive or state verb: "comments must be received by"
    rf"|{_SUBMISSION_NOUNS}(?:\s+[^\s.;:]+){{0,8}}?\s+(?:received|submitted|sent|returned|"
    r"lodged|made|provided|completed|emailed|posted|uploaded|invited|requested|accepted|sought|"
    r"welcome|due|close|reach\s+\w+)(?:\s+[^\s.;:]+){0,4}?"
    # a submission noun right before "by": "Responses by 5pm on 22 September"
    rf"|(?:^|[:–-])\s*(?:[^\s.;:]+\s+){{0,2}}?{_SUBMISSION_NOUNS}(?:\s+(?:please|due))?)\s*$",
)
# A clause between the submission word and "by" that is about something else being done.
NOT_A_SUBMISSION = Caseless(
    r"publish|announce|report|decid|decision|outcome|summary|review(?:ed)?\s+by|consider(?!ation)|"
    r"analys|organis|organiz|led\b|chair|host|prepared|funded|supported",
)
# Words between a cue and a date that show the date is about something else.
BLOCKERS = Caseless("|".join(_every_language("blockers")))
# Words that make the date of their clause an event's ("the conference ended on 5 May").
EVENT_WORDS = Caseless("|".join(_every_language("events")))
# A cue in the past tense: a year-less date it governs is the last such date so far.
PAST_TENSE = Caseless(r"(?<!\w)(?:" + "|".join(_every_language("past")) + r")(?!\w)")
# A start verb right before a cue ("starts no later than"); a law or contract whose end it is.
START_WORDS = Caseless(r"(?<!\w)(?:" + "|".join(_every_language("starts")) + r")(?!\w)")
INSTRUMENTS = Caseless(r"(?<!\w)(?:" + "|".join(_every_language("instruments")) + r")(?!\w)")
# What an authority does by a date ("grants will be awarded by"): no one responds to it.
ACTIONS = Caseless(r"(?<!\w)(?:" + "|".join(_every_language("actions")) + r")(?!\w)")
# A law or measure losing force ("when it lapses"): its date is no deadline, whatever the words.
LAPSES = Caseless(r"(?<!\w)(?:" + "|".join(_every_language("lapses")) + r")(?!\w)")
# A date that comes back every year ("before 1 April each year"): a standing rule.
RECURRING = Caseless(r"[\s,]*(?:" + "|".join(_every_language("recurring")) + r")(?!\w)")


def _words_or_word_ends(entries: list[str]) -> str:
    """One pattern for word-list entries matched where a word starts; an entry written with a
    leading \\w* may also end a compound ("Jahresbericht") and is searched anywhere (without
    the \\w*, which would be tried at every position)."""
    ends = [e[3:] for e in entries if e.startswith(r"\w*")]
    starts = [e for e in entries if not e.startswith(r"\w*")]
    pattern = r"(?<!\w)(?:" + "|".join(starts) + ")"
    return pattern + ("|(?:" + "|".join(ends) + ")" if ends else "")


# Things with deadlines of their own that no one sends in response ("the accounts report").
OTHER_DEADLINES = Caseless(_words_or_word_ends(_every_language("other_deadlines")))
# Words of handing in ("submitting the", "Abgabe des"): the object after them says what is due.
HANDING_IN = Caseless(r"(?<!\w)(?:" + "|".join(_every_language("handing_in")) + r")")
# The deadline nouns of every language ("deadline", "data limite", "Frist"): what they name.
DEADLINE_NOUNS = Caseless(
    _cue_pattern(
        enumerate(
            pattern
            for language in LANGUAGES
            for kind, _, pattern in cue_words(language).cues
            if kind is CueKind.NOUN
        )
    )
)
# Verbs of taking place: an event's, unless their subject is the consultation itself.
HAPPENINGS = Caseless(r"(?:" + "|".join(_every_language("happenings")) + r")")
# The words of a consultation process itself (the subject of "took place between ...").
PROCESS = Caseless(
    r"consult|concertation|enquête|inquiry|survey|questionnaire|befragung|beteiligung|"
    r"vernehmlassung|inspraak|raadpleging|call\s+for|appel\s+à|convocatoria|bando"
)
# Legal obligations with a date ("businesses have until ... to comply") are not consultations.
OBLIGATION = Caseless(
    r"\bto\s+(?:comply|transpose|implement|apply\s+the\s+rules)\b|\benters?\s+into\s+force\b|"
    r"\bentr(?:a|ará|e|era)\s+en\s+(?:vigor|vigueur)\b|\bin\s+Kraft\s+(?:tritt|treten)\b|"
    r"\btritt\s+[\w\s]{0,40}in\s+Kraft\b|\bentr(?:a|erà)\s+in\s+vigore\b|"
    r"\btreedt\s+[\w\s]{0,40}in\s+werking\b|\bentra(?:rá)?\s+em\s+vigor\b",
)
# Signing up for an event is not responding to a consultation.
EVENT_REGISTRATION = Caseless(
    r"(?:regist|sign\s+up|book|inscri|anmeld)\w*[^.;]{0,40}?"
    r"(?:webinar|event|workshop|conference|meeting|seminar|session|hearing|"
    r"webinaire|atelier|réunion|Veranstaltung|Tagung|Workshop|Sitzung)"
    r"|(?:webinar|event|workshop|conference|meeting|seminar|session|hearing|"
    r"webinaire|atelier|réunion|Veranstaltung|Tagung|Sitzung)\w*[^.;]{0,40}?"
    r"(?:regist|sign\s+up|book|inscri|anmeld)",
)
# Subjects that refer back to an earlier sentence ("It", "This call", "The second consultation").
ANAPHORIC_START = Caseless(
    r"^\s*(?:it|this|that|these|those|both|they|the\s+(?:first|second|third|latter|former|"
    r"same|other)|elle|elles|ils|celle-ci|cette|ces|sie|diese[rs]?|es|essa|esta|ellos|zij|"
    r"deze|eles|elas)\b",
)
