"""Scored (cue, date) candidates: every date a cue may govern, with the reasons for its score.

For each cue in a sentence the candidates are the date the cue governs grammatically (after
it, in its clause, or the end of the range after a period cue), the date written just before
it (`the 17 February deadline`, `30 April 2025 Survey closes`, `by 30 November at the
latest`), and the new date of an extension (`from 10 January to 10 February`). Each gets a
base score for how it is tied to the cue, then the sentence's features add or take away:
consultation words, event sign-ups, legal obligations, conditions, implausible years. The
best candidate at or above `THRESHOLD` is the cue's date; the others are kept, refused, for
`feedline extract --explain`. Weights are set by hand and measured on the corpora
(bench/accuracy_bench.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from feeds.deadlines.caseless import Caseless
from feeds.deadlines.cues import (
    ACTIONS,
    BLOCKERS,
    CLAUSE_START,
    DEADLINE_NOUNS,
    EVENT_REGISTRATION,
    EVENT_WORDS,
    HAPPENINGS,
    INSTRUMENTS,
    LAPSES,
    NOT_A_SUBMISSION,
    OBLIGATION,
    OTHER_DEADLINES,
    PROCESS,
    RECURRING,
    START_WORDS,
    SUBMISSION_BEFORE_BY,
    Cue,
    CueKind,
    context_at,
    has_context,
)
from feeds.deadlines.dates import DateMention, is_relative

THRESHOLD = 2.0

# How a candidate is tied to its cue (the base score).
GOVERNED = 3.0  # after the cue, in its clause
TRAILING = 3.0  # "by 30 November at the latest"
DATE_BEFORE_NOUN = 2.5  # "the 17 February deadline"
DATE_ABOVE_LABEL = 2.5  # a timeline: "30 April 2025  Survey closes"
EXTENSION_TO = 3.5  # "from 10 January to 10 February": the new date
PER_CHAR = 0.005  # the farther after the cue, the weaker
# What the sentence says around it.
CONTEXT = 1.0  # consultation words in the sentence (or the one it refers back to)
CONTEXT_AROUND = 0.5  # ... or in the sentence next to it, in the same paragraph
NO_CONTEXT = -3.0  # a weak cue ("until") or a long sentence without them
EVENT = -4.0  # signing up for an event
OBLIGATION_WORDS = -4.0  # "to comply by", "enters into force"
CONDITION = -3.0  # "if the consultation spans 15 July to 15 August": a rule, not a date
IMPLAUSIBLE_YEAR = -5.0  # placeholder dates (1970)
FIRST_PLAUSIBLE_YEAR = 1990
OLD_DATE = -5.0  # "extended from 14 February"
START = -3.0  # "starts no later than 5 May"
INSTRUMENT = -3.0  # "the Regulation expires on 31 December 2030"
ACTION = -3.0  # "grants will be awarded by 15 April": the authority's step, not a response
_ACTION_REACH = 50
_ACTION_WORDS_BEFORE_CUE = 2
_AUXILIARY_BEFORE = Caseless(
    r"(?<!\w)(?:be|been|being|is|are|was|were|sera|seront|sont|est|été|sarà|saranno|vengono|"
    r"verranno|viene|verrà|è|sono|será|serán|es|son|se|ser|serão|é|são|foi|foram|wird|werden|"
    r"worden|wurde|wurden|wordt|zijn)\s+(?:[^\W\d_]+\s+)?$"
)
_FINITE_ACTION = Caseless(r"(?:án|rá|rão|rà|ranno|ront|era|gibt)$")  # "se concederán"
_SUSPENDED = Caseless(
    r"suspended|paused|opgeschort|geschorst|ausgesetzt|unterbrochen|gehemmt|suspendue?s?|"
    r"suspendid[oa]s?|sospes[oaie]|suspens[oa]s?"
)
SPAN_OF_SOMETHING_ELSE = -1.5  # "the tour will start on 3 March and end on 17 April"
NOT_RECEIVED_FROM_PUBLIC = -3.0  # "the information received through 31 October"
INTERNAL = -3.0  # "the Consulta Interna nº 905, held from ... to ...": no public deadline
_START_REACH = 25
FAR_RELATIVE = -3.0  # "today"/"tomorrow" only counts right after its cue ("closes tomorrow")
RELATIVE_REACH = 20
LOOSE_MONTH_END = -3.0  # "the committees finish by the end of November": loose, not a deadline
SOMETHING_ELSE_DUE = -4.0  # "until 30 April, the deadline for the accounts report"
_OBJECT_REACH = 100  # how far after a deadline noun its object ("for sending the report") runs
_WORDS_BEFORE_NOUN = re.compile(r"(?:[^\W\d_]+[\s-]+){0,3}$")  # "the annual report deadline"
# A deadline noun in apposition to the date before it: "30 April, sendo esta a data limite".
_APPOSITION = re.compile(r"^\s*[,(–—-]\s*(?:[^\W\d_]+\s+){0,3}$")
_APPOSITION_REACH = 90  # the words in apposition and the noun itself
_APPOSITION_START = re.compile(r"\s*[,(–—-]")
_WORD_REST = re.compile(r"\w*")
_MODIFIER_GAP = re.compile(r"[\s-]*(?:[^\W\d_]+[\s-]+){0,2}")  # "tax reform consultation"
_WORDS_BEFORE_REACH = 40

_MAX_GAP = {CueKind.BY: 45, CueKind.BEFORE: 45}
_DEFAULT_MAX_GAP = 110
_WEAK_UNTIL_MAX_GAP = 45
_DATE_BEFORE_NOUN = re.compile(
    r"^(?:\s|'s|’s)*(?:(?:à|at|um|om|alle|ore|às)?\s*\d\d?(?:[:h.]\d\d)?\s*"
    r"(?:h|Uhr|uur|[ap]\.?m\.?)?\s+)?"  # "28 mai 2024 à 11h dépôt du dossier"
    r"(?:(?:die|der|the|la|le|el|il|de|het)\s+)?$"  # "am 4.1. die Frist ... abgelaufen ist"
)
_COPULA_BEFORE_NOUN = Caseless(
    r"^[\s,]*(?:qui|that|which|die|der|che|que|wat)?\s*(?:constitue|is|est|ist|è|es|marks?|"
    r"markiert|será?|wordt|sarà)\s+(?:la|the|le|die|il|el|de|a|o)?\s*(?:new\s+|nouvelle\s+)?$"
)
_DATE_ABOVE_LABEL = re.compile(  # perhaps with its time: "28 mai 2024 à 11h dépôt du dossier"
    r"^[\s:–-]*(?:(?:at|à|a|um|às|alle|ore|om|a\s+las)?\s*\d{1,2}(?:[:.h]\d\d)?\s*"
    r"(?:h|Uhr|uur|[ap]\.?m\.?)?\s+)?(?:[^\W\d_]+\s+){0,4}$",
    re.IGNORECASE,
)
# "At 5pm on Monday, the consultation period will come to an end": a date fronted before the
# clause of its cue (the sentence opens with it, then a comma and the cue's subject).
_FRONTED_OPENING = re.compile(
    r"^[\s\-•*–]*(?:(?:at|um|à|a\s+las|alle|om)\s+[\d:.]+\s*(?:[ap]\.?m\.?|h|Uhr|uur)?\s+)?"
    r"(?:on|by|am|le|el|il|op|no|em)?\s*$",
    re.IGNORECASE,
)
_FRONTED_BETWEEN = re.compile(r"^\s*,\s*(?:[^\W\d_]+\s+){0,6}$")
DATE_FRONTED = 2.5
_TIME_OR_PUNCTUATION = re.compile(
    r"^[\s,()]*(?:(?:at|à|um)?\s*[\d:.h]+\s*(?:[ap]\.?m\.?|Uhr)?)?[\s,()]*$"
)
_RANGE_WORD = re.compile(
    r"(?:^|\s)(?:to|until|till|through|-|–|—|au|bis|al|hasta|a|tot|até)\s", re.IGNORECASE
)
EXTENSION_WORDS = Caseless(
    r"extend|extension|pushed|postpone|moved|prolong|verlänger|verschoben|report[ée]|"
    r"prorog|prorrog|ampli|verleng|uitgesteld|adiad"
)
_FROM_TO = re.compile(
    r"^[\s,]*(?:to|until|till|au|bis(?:\s+zum)?|auf(?:\s+den)?|al|hasta|a|tot|naar|até|para)\s+$"
)
_END_WORD = Caseless(
    r"(?<!\w)(?:through|until|till|ends?|closes?|bis|jusqu['’]|hasta|fino|tot|até|endet|"
    r"termina|finaliza|sluit|scade|(?:runs?|running|ran)\s+(?:to|into))(?!\w)[\s\w,:.]{0,16}$"
)
_WAS_BEFORE = Caseless(
    r"(?<!\w)(?:originally|previously|initially|formerly|was|ursprünglich|bisher|zuvor|"
    r"initialement|précédemment|inicialmente|anteriormente|originalmente|inizialmente|"
    r"precedentemente|oorspronkelijk|eerder|aanvankelijk)(?!\w)"
)
# The old date named in the clause before the cue ("the original comment period closed on").
_WAS_BEFORE_CUE = Caseless(  # not "initial" ("the initial consultation runs until"), nor
    # "inicialmente" ("el plan aprobado inicialmente": a stage of Spanish planning)
    r"(?<!\w)(?:original(?:ly)?|previous(?:ly)?|initially|formerly|ursprünglich\w*|"
    r"bisherige\w*|initialement|précédemment|originalmente|anteriormente|inizialmente|"
    r"originari[oa]|precedentemente|oorspronkelijke?|aanvankelijke?|eerdere?)(?!\w)"
)
# "Deadline (extended from 5 October 2017)": the date an extension started from is the old one.
_EXTENDED_FROM = Caseless(
    r"(?<!\w)(?:extended|postponed|moved|pushed\s+back|prolonged|verlängert|verschoben|"
    r"report[ée]e?s?|prorog[ée]e?s?|prorogat[oaie]|prorrogad[oa]s?|ampliad[oa]s?|verlengd|"
    r"uitgesteld|adiad[oa]s?)\s+(?:from|vom|von|du|dal|dall['’]|del|de|van|desde)\s+"
    r"(?:the\s+|le\s+|il\s+|el\s+)?$"
)
_FROM = re.compile(r"\s*(?:from|du|vom|del|dal|van|de)\s", re.IGNORECASE)
_FROM_WORD = Caseless(r"(?<!\w)(?:from|du|vom|von|del|dal|dall['’]|van|vanaf|de|desde)(?!\w)")
# "plazo de treinta días (anuncio de fecha 28 de octubre)": the noun is a duration.
_DURATION_AFTER_NOUN = Caseless(
    r"\s*(?:of|de|von|di|van|da|du|d['’])\s+(?:\d+|[^\W\d_]+)(?:\s+[^\W\d_]+)?\s+"
    r"(?:days?|weeks?|months?|días|dias|jours|semaines|mois|semanas|meses|Tagen?|Wochen|"
    r"Monaten?|giorni|settimane|mesi|dagen|weken|maanden)(?!\w)"
)
# A noun cue's copula: "the closing date for the 23 July notice is 5 November".
_NOUN_COPULA = Caseless(
    r"\s(?:is|are|will\s+be|est|sera|ist|è|es|será|é|is\s+op)\s+"
    r"(?:on\s+|le\s+|am\s+|el\s+|o\s+dia\s+)?$"
)
_PARENTHESES = re.compile(r"\([^()]*\)")
_SUBMISSION_NOUN = Caseless(
    r"(?<!\w)(?:respons|comment|submission|views|feedback|evidence|proposal|applica|"
    r"nominat|entries|entry|bids?|tenders?|objection|representation|contribution|input|form)"
)
_CONDITION = Caseless(
    r"(?<!\w)(?:if|wenn|falls|cuando|quando|indien|sofern|qualora|au\s+cas\s+où|"
    r"en\s+caso\s+de|im\s+Fall|si\s+(?:la|le|les|l['’]|elle|il|ils|elles|vous|on|un|une|el|"
    r"los|las|usted))(?!\w)"
)
_NOW_OR_NEW = Caseless(
    r"(?<!\w)(?:now|new|revised|re-?opened|nouvelle|nouveau|neue[rn]?|nuev[oa]|nuov[oa]|"
    r"nieuwe|nov[oa])(?!\w)"
)


@dataclass(frozen=True, slots=True)
class Candidate:
    """One (cue, date) pair of a sentence, with its score and the reasons for it."""

    cue: Cue
    mention: DateMention
    score: float
    reasons: tuple[str, ...]
    extends: bool  # an extension's or a "now"/"new" date: it supersedes earlier ones

    @property
    def passes(self) -> bool:
        return self.score >= THRESHOLD


@dataclass(frozen=True, slots=True)
class SentenceFacts:
    """What the sentence says, worked out once for all its cues."""

    has_context: bool
    short: bool
    context_around: bool  # consultation words in the sentence before or after (same paragraph)
    event: bool
    obligation: bool
    lapse: bool  # a law or measure losing force ("quando perde a validade")


def facts(text: str, *, has_context: bool, short: bool, context_around: bool) -> SentenceFacts:
    return SentenceFacts(
        has_context=has_context,
        short=short,
        context_around=context_around,
        event=EVENT_REGISTRATION.search(text) is not None,
        obligation=OBLIGATION.search(text) is not None,
        lapse=LAPSES.search(text) is not None,
    )


def candidates(
    text: str, cue: Cue, dates: Sequence[DateMention], sentence_facts: Callable[[], SentenceFacts]
) -> list[Candidate]:
    """Every candidate of `cue` in the sentence `text`, best first (the sentence's facts are
    asked for only when there is a candidate to score)."""
    tied: list[tuple[DateMention, float, str]] = []
    governed = _governed_date(text, cue, dates)
    if governed is not None:
        gap = max(0, governed.start - cue.end)
        tied.append((governed, GOVERNED - PER_CHAR * gap, f"follows the cue ({gap} chars)"))
        later = _extension_to(text, governed, dates)
        if later is not None:
            tied.append((later, EXTENSION_TO, "the new date of an extension (from -> to)"))
    before = _date_before(text, cue, dates)
    if before is not None:
        tied.append(before)
    if not tied:
        return []
    sentence = sentence_facts()
    found = [_scored(text, cue, mention, base, why, sentence, dates) for mention, base, why in tied]
    return sorted(found, key=lambda c: -c.score)


def _scored(
    text: str,
    cue: Cue,
    mention: DateMention,
    base: float,
    why: str,
    sentence: SentenceFacts,
    dates: Sequence[DateMention],
) -> Candidate:
    score = base
    reasons = [f"{why} {base:+.2f}"]

    def add(weight: float, reason: str) -> None:
        nonlocal score
        score += weight
        reasons.append(f"{reason} {weight:+.1f}")

    if sentence.has_context:
        add(CONTEXT, "consultation words")
    elif sentence.context_around:
        add(CONTEXT_AROUND, "consultation words in the next or previous sentence")
    elif cue.needs_context:
        add(NO_CONTEXT, "weak cue without consultation words")
    elif not sentence.short and cue.kind not in _KINDS_THAT_STAND_ALONE:
        add(NO_CONTEXT, "long sentence without consultation words")
    clause = _clause_start(text, cue.start)
    before_cue = max(clause, cue.start - _START_REACH - 15)
    if cue.kind is CueKind.EXTEND and _FROM.match(text, cue.end, mention.start):
        add(OLD_DATE, "the old date of an extension ('extended from')")
    elif (
        _WAS_BEFORE.search(text, max(cue.end, mention.start - 30), mention.start)
        or _EXTENDED_FROM.search(text, max(cue.end, mention.start - 30), mention.start)
    ) or (
        cue.kind is not CueKind.EXTEND
        and mention.start > cue.start
        and _WAS_BEFORE_CUE.search(text, before_cue, cue.start)
    ):
        add(OLD_DATE, "the old date ('originally', 'previously')")
    if sentence.event:
        add(EVENT, "signing up for an event")
    if sentence.obligation:
        add(OBLIGATION_WORDS, "a legal obligation")
    if cue.kind in (CueKind.CLOSE, CueKind.PERIOD) and _is_event(
        text, clause, max(cue.end, mention.end)
    ):
        add(EVENT, "an event's date (conference, hearing, takes place)")
    if RECURRING.match(text, mention.end):
        add(CONDITION, "a date that comes back every year (a standing rule)")
    if _INTERNAL.search(text, max(0, cue.start - _INTERNAL_REACH), cue.start):
        add(INTERNAL, "an internal consultation: no one outside can respond")
    if sentence.lapse:
        add(INSTRUMENT, "a law or measure losing force")
    after_dates = max(
        [clause, cue.start - _ACTION_REACH] + [d.end for d in dates if d.end <= cue.start]
    )
    if (
        cue.kind in (CueKind.CLOSE, CueKind.BY, CueKind.BEFORE)
        and _action_before(text, after_dates, cue.start)
    ) or (
        cue.kind is CueKind.PERIOD
        and cue.needs_context
        and ACTIONS.search(text, mention.end, _clause_end(text, mention.end))
    ):
        add(ACTION, "something an authority does by then (awarded, approved)")
    if _RECEIVED.match(text, cue.start, cue.end) and not _SUBMISSION_NOUN.search(
        text, max(clause, cue.start - _START_REACH), cue.start
    ):
        add(NOT_RECEIVED_FROM_PUBLIC, "received, but not a response (no submission word)")
    if mention.start > cue.end and _CONDITION.search(text, clause, mention.start):
        add(CONDITION, "a condition (a rule, not a date)")
    since = max([clause, cue.start - _START_REACH] + [d.end for d in dates if d.end <= cue.start])
    if START_WORDS.search(text, since, cue.start):
        add(START, "a start verb before the cue")
    elif (
        cue.kind is CueKind.CLOSE
        and cue.needs_context
        and mention.start >= cue.end
        and START_WORDS.search(text, mention.end, _clause_end(text, mention.end))
    ):
        add(START, "a start verb after 'until' ('until 24 April no new ... start')")
    if (
        cue.kind is CueKind.CLOSE
        and not sentence.has_context
        and since > 0
        and START_WORDS.search(text, 0, since) is not None
    ):
        add(SPAN_OF_SOMETHING_ELSE, "the end of a span that starts earlier in the sentence")
    if (
        cue.kind is CueKind.CLOSE
        and INSTRUMENTS.search(text, clause, cue.start)
        and not has_context(text[clause : _clause_end(text, mention.end)])
    ):
        add(INSTRUMENT, "the end of a law or contract")
    relative = is_relative(mention)
    distance = mention.start - cue.end if mention.start >= cue.end else cue.start - mention.end
    if relative and distance > RELATIVE_REACH and why != _FRONTED_WHY:
        add(FAR_RELATIVE, "'today'/'tomorrow' far from the cue")
    if mention.month_end and not (
        cue.kind is CueKind.BY or (cue.kind is CueKind.CLOSE and cue.needs_context)
    ):
        add(LOOSE_MONTH_END, "'the end of June' after a cue other than 'until' or 'by'")
    if _due_for_something_else(text, cue, mention, dates):
        add(SOMETHING_ELSE_DUE, "the deadline of something else (a report, accounts, a tax)")
    if mention.year is not None and mention.year < FIRST_PLAUSIBLE_YEAR:
        add(IMPLAUSIBLE_YEAR, f"implausible year {mention.year}")
    extends = cue.kind is CueKind.EXTEND or "extension" in why
    if not extends and _NOW_OR_NEW.search(text, max(0, cue.start - 40), cue.end):
        extends = True
        reasons.append("says now/new: supersedes earlier dates")
    return Candidate(cue, mention, round(score, 3), tuple(reasons), extends)


_RECEIVED = Caseless(r"(?:received|accepted)\s")
_INTERNAL = Caseless(
    r"(?<!\w)(?:internal\s+consultation|consultation\s+interne|interne\s+(?:Konsultation|"
    r"Anhörung|consultatie)|consult[ao]\s+interna|consultazione\s+interna)(?!\w)"
)
_INTERNAL_REACH = 60


def _action_before(text: str, start: int, cue_start: int) -> bool:
    """Whether an authority's step governs the cue: its verb right before it, two words at
    most between, a participle after its auxiliary ("grants will be awarded by", "saranno
    assegnati entro"; not "the draft approved by the Board" nor "the consultation announced
    last week"); a suspension needs no auxiliary ("tijdelijk opgeschort tot")."""
    position = start
    while (match := ACTIONS.search(text, position, cue_start)) is not None:
        if len(text[match.end() : cue_start].split()) <= _ACTION_WORDS_BEFORE_CUE and (
            _SUSPENDED.fullmatch(match.group()) is not None
            or _FINITE_ACTION.search(match.group()) is not None
            or _AUXILIARY_BEFORE.search(text, max(0, match.start() - 30), match.start())
        ):
            return True
        position = match.end()
    return False


def _due_for_something_else(
    text: str, cue: Cue, mention: DateMention, dates: Sequence[DateMention]
) -> bool:
    """Whether a deadline noun names the date as the deadline of something no one sends in
    response to a consultation: the noun is the cue ("the deadline for filing the accounts is
    30 April"), or stands in apposition right after a date in a sentence without consultation
    words ("needed by 30 April, the deadline for the accounts report"); its object names such
    a thing before any consultation word."""
    if cue.kind is CueKind.NOUN and mention.start >= cue.end:
        # "the deadline for filing the accounts is 30 April", or what is due after its date:
        # "In scadenza il 2 maggio la presentazione del modello IVA"
        after = _after_date(text, mention, dates)
        return _object_is_something_else(
            text, cue.start, cue.end, mention.start
        ) or _object_is_something_else(text, mention.end, mention.end, after)
    if cue.kind is CueKind.NOUN:  # "31 January is the deadline for self assessment claims"
        return _object_is_something_else(text, cue.start, cue.end, _after_date(text, cue, dates))
    if not _APPOSITION_START.match(text, mention.end):
        return False  # most dates: no comma, bracket or dash after them
    noun = DEADLINE_NOUNS.search(text, mention.end, mention.end + _APPOSITION_REACH)
    if noun is None or not _APPOSITION.match(text[mention.end : noun.start()]):
        return False
    if context_at(text, 0, len(text), skip_handing_in=True) is not None:
        return False  # "comments are welcome until 30 April, also the deadline for the report"
    later = [d.start for d in dates if d.start >= noun.end()]
    end = min([noun.end() + _OBJECT_REACH, len(text), *later])
    if later and later[0] <= end:
        return False  # the noun names a date of its own after it
    return _object_is_something_else(text, noun.start(), noun.end(), end)


def _after_date(text: str, after: Cue | DateMention, dates: Sequence[DateMention]) -> int:
    """Where the words after a deadline noun or its date that may say what is due end: at the
    end of the clause (, : or a line break), the next date, or `_OBJECT_REACH` on."""
    later = [d.start for d in dates if d.start >= after.end]
    ends = [i for i in (text.find(mark, after.end) for mark in ",:\n") if i >= 0]
    return min([after.end + _OBJECT_REACH, len(text), *later[:1], *ends])


def _object_is_something_else(text: str, start: int, end: int, object_end: int) -> bool:
    """Whether the deadline noun at `start:end` is for something else: the nearest word that
    says what is due, in the three words before it or its complement up to the end of its
    sentence part (`object_end`, or ; and .), names a report or a payment, not a response
    (a word of handing in, "submitting the", "Abgabe des", says nothing of what is due), and
    does not just qualify a consultation word two words later at most ("the tax consultation")."""
    stops = [i for i in (text.find(mark, end, object_end) for mark in ";.") if i >= 0]
    object_end = min([object_end, *stops])
    since = max(_clause_start(text, start), start - _WORDS_BEFORE_REACH)
    words_before = _WORDS_BEFORE_NOUN.search(text, since, start)
    begin = start if words_before is None else words_before.start()
    other = OTHER_DEADLINES.search(text, begin, object_end)
    if other is None:
        return False
    consultation = context_at(text, begin, object_end, skip_handing_in=True)
    if consultation is None:
        return True
    if consultation < other.start():
        return False  # "the deadline for comments on the annual report"
    rest = _WORD_REST.match(text, other.end())
    word_end = other.end() if rest is None else rest.end()
    # "the VAT consultation", "Steuer-Konsultation": the thing only says which consultation
    return not (consultation <= word_end or _MODIFIER_GAP.fullmatch(text, word_end, consultation))


def _is_event(text: str, start: int, end: int) -> bool:
    """Whether the clause names an event; "takes place" is one unless the consultation itself
    is what takes place ("the consultation took place between 17 June and 28 July")."""
    position = start
    while (match := EVENT_WORDS.search(text, position, end)) is not None:
        if HAPPENINGS.fullmatch(match.group()) is None:
            return True
        if PROCESS.search(text, start, match.start()) is None:
            return True
        position = match.end()
    return False


def _clause_end(text: str, at: int) -> int:
    """Where the clause holding `at` ends: at the next , ; : or the end of the text."""
    ends = [i for i in (text.find(mark, at) for mark in ",;:") if i >= 0]
    return min(ends, default=len(text))


def _clause_start(text: str, at: int) -> int:
    """Where the clause holding `at` starts: after the last , ; : before it."""
    return max(text.rfind(mark, 0, at) for mark in ",;:") + 1


_FRONTED_WHY = "a date fronted before its clause"
_KINDS_THAT_STAND_ALONE = (CueKind.NOUN, CueKind.PERIOD, CueKind.EXTEND, CueKind.TRAILING)


def _date_before(
    text: str, cue: Cue, dates: Sequence[DateMention]
) -> tuple[DateMention, float, str] | None:
    earlier = [m for m in dates if m.end <= cue.start]
    if not earlier:
        return None
    last = earlier[-1]
    between = text[last.end : cue.start]
    if cue.kind is CueKind.TRAILING:
        if _TIME_OR_PUNCTUATION.match(between):
            return last, TRAILING, "just before 'at the latest'"
        return None
    if cue.kind is CueKind.NOUN and _DATE_BEFORE_NOUN.match(between):
        return last, DATE_BEFORE_NOUN, "written just before the noun"
    if cue.kind is CueKind.NOUN and _COPULA_BEFORE_NOUN.match(between):
        return last, DATE_BEFORE_NOUN, "named as the noun (a cleft: 'c'est le 12 juin qui ...')"
    if (
        cue.kind in (CueKind.CLOSE, CueKind.NOUN, CueKind.PERIOD)
        and len(earlier) == 1
        and not text[: last.start].strip(" \t\n-•*–")
        and _DATE_ABOVE_LABEL.match(between)
    ):
        return last, DATE_ABOVE_LABEL, "a date above its label"
    if (
        cue.kind in (CueKind.CLOSE, CueKind.NOUN)
        and len(earlier) == 1
        and _FRONTED_OPENING.match(text[: last.start])
        and _FRONTED_BETWEEN.match(between)
    ):
        return last, DATE_FRONTED, _FRONTED_WHY
    return None


def _governed_date(text: str, cue: Cue, dates: Sequence[DateMention]) -> DateMention | None:
    """The date the cue governs by the grammar of its clause (None: none does)."""
    if cue.kind is CueKind.BY:
        before = text[: cue.start]
        clause = CLAUSE_START.search(before)
        if SUBMISSION_BEFORE_BY.search(before) is None or (
            clause is not None and NOT_A_SUBMISSION.search(clause.group())
        ):
            return None
    if cue.kind in (CueKind.TRAILING,):
        return None
    max_gap = _MAX_GAP.get(cue.kind, _DEFAULT_MAX_GAP)
    if cue.kind is CueKind.CLOSE and cue.needs_context:
        max_gap = _WEAK_UNTIL_MAX_GAP
    if cue.kind is CueKind.NOUN and _DURATION_AFTER_NOUN.match(text, cue.end):
        return None  # "a period of thirty days": the noun names a duration, not a date
    checked_from = cue.end
    for position, mention in enumerate(dates):
        if mention.start < cue.end:
            continue
        gap = text[cue.end : mention.start]
        if len(gap) > max_gap or ";" in _PARENTHESES.sub("", gap):
            return None
        if BLOCKERS.search(text[checked_from : mention.start]):
            checked_from = mention.end
            continue
        if cue.kind is CueKind.NOUN:
            return _noun_date(text, cue.end, mention, dates[position + 1 :], cue.end + max_gap)
        if cue.kind is CueKind.PERIOD and not mention.is_range:
            end = _range_end(text, mention, dates[position + 1 :])
            if end is None and _END_WORD.search(gap):
                return mention  # "the comment period runs through February 28"
            return end
        if cue.kind is CueKind.EXTEND and not mention.is_range:  # "re-opened from C to D"
            return _range_end(text, mention, dates[position + 1 :]) or mention
        return mention
    return None


def _noun_date(
    text: str, cue_end: int, first: DateMention, later: Sequence[DateMention], reach: int
) -> DateMention:
    """The date a noun cue names: the first after it, or the end of the range it opens
    ("Plazo: del 11 ... al 24 de noviembre"), or the one after its copula when the first sits
    in the noun's complement ("the closing date for the 23 July notice is 5 November")."""
    if not first.is_range and _FROM_WORD.search(text, cue_end, first.start):
        # "PLAZO: DEL DIA 11 de NOVIEMBRE a las 00:00 horas AL DÍA 24 de NOVIEMBRE"
        return _range_end(text, first, later) or first
    if _NOUN_COPULA.search(text, cue_end, first.start):
        return first
    for mention in later:
        if mention.start > reach or ";" in _PARENTHESES.sub("", text[first.end : mention.start]):
            break
        if _NOUN_COPULA.search(text, first.end, mention.start):
            return mention
    return first


def _range_end(text: str, opening: DateMention, later: Sequence[DateMention]) -> DateMention | None:
    """ "from 9:30am on 1 February 2022 to 11:45pm on 29 March 2022": the second date."""
    if not later:
        return None
    between = text[opening.end : later[0].start]
    if len(between) <= 40 and (_RANGE_WORD.search(between) or between.strip() in "-–—"):
        return later[0]
    return None


def _extension_to(
    text: str, governed: DateMention, dates: Sequence[DateMention]
) -> DateMention | None:
    """ "pushed the deadline from Jan. 10, 2025, to Feb. 10, 2025": the date after "to"."""
    after = [m for m in dates if m.start >= governed.end]
    if not after or not _FROM_TO.match(text[governed.end : after[0].start]):
        return None
    if EXTENSION_WORDS.search(text) is None:
        return None
    return after[0]
