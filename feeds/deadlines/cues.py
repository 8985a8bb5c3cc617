"""Deadline cues: the words that say a date is a closing date ("open until", "closes on").

A cue is found first; the date it governs must follow it in the same clause (or be the end of
a range right after a period cue). Paragraphs without any cue word are dismissed by one
compiled prefilter search.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from functools import cache

from feeds.deadlines.caseless import Caseless


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


_EN: list[tuple[CueKind, bool, str]] = [
    (CueKind.EXTEND, False, r"(?:extended|prolonged|postponed|pushed\s+back|moved)"
     r"(?:\s+(?:by\s+[\w\s-]{1,20}?))?(?:\s+(?:to|until|till|through))?"),
    (CueKind.EXTEND, False, r"(?:new|revised|extended)\s+(?:closing\s+date|deadline)"
     r"(?:\s+(?:is|will\s+be|of|:))?"),
    (CueKind.PERIOD, False, r"(?:feedback|consultation|comment(?:ing)?|submission|response|"
     r"review|engagement|application|public\s+comment)\s+(?:period|window|phase)"),
    (CueKind.PERIOD, True, r"\b(?:runs?|ran|running|open|opened|live|held)\s+(?:from|between)"),
    (CueKind.TRAILING, False, r"at\s+the\s+latest"),
    (CueKind.NOUN, False, r"(?:closing|close|end|final|last|due|submission|response)\s+date"),
    (CueKind.NOUN, False, r"deadlines?"),
    (CueKind.CLOSE, False, r"(?:clos(?:es|ed|ing)|close|ends?|ended|ending|finish(?:es|ed)?|"
     r"expires?|expired)(?:\s+(?:at|on|by))?"),
    (CueKind.CLOSE, False, r"(?:no|not)\s+later\s+than"),
    (CueKind.CLOSE, False, r"on\s+or\s+before"),
    (CueKind.CLOSE, False, r"(?:are|is|were|was|be)\s+due(?:\s+(?:on|by|at|in))?"),
    (CueKind.CLOSE, True, r"(?:responses|comments|submissions|applications|entries|nominations|"
     r"proposals|feedback|views)\s+(?:(?:are|is)\s+)?(?:due|welcome)(?:\s+(?:on|by|until))?"),
    (CueKind.CLOSE, True, r"(?:until|till|up\s+to\s+and\s+including|through\s+to)"),
    (CueKind.BY, True, r"by"),
    (CueKind.BEFORE, True, r"before"),
]  # fmt: skip

_FR: list[tuple[CueKind, bool, str]] = [
    (CueKind.EXTEND, False, r"(?:prolong[ée]e?s?|report[ée]e?s?|étendue?s?)\s+(?:jusqu['’]au|au)"),
    (CueKind.PERIOD, False, r"période\s+de\s+(?:consultation|commentaires|contribution)"),
    (CueKind.PERIOD, True, r"(?:ouverte?s?|se\s+déroule(?:ra)?|a\s+lieu|aura\s+lieu|court)\s+du"),
    (CueKind.TRAILING, False, r"au\s+plus\s+tard(?!\s+le)"),
    (CueKind.NOUN, False, r"(?:date\s+(?:limite|de\s+clôture|butoir)|délai|échéance)"),
    (CueKind.CLOSE, False, r"(?:clôtur[ée]e?s?|se\s+clôtur\w*|prend\s+fin|se\s+termine\w*|"
     r"s['’]achève\w*|ferme\w*)(?:\s+(?:le|au))?"),
    (CueKind.CLOSE, False, r"au\s+plus\s+tard(?:\s+le)?"),
    (CueKind.CLOSE, True, r"jusqu['’](?:au|à)"),
    (CueKind.BEFORE, True, r"avant\s+le"),
]  # fmt: skip

_DE: list[tuple[CueKind, bool, str]] = [
    (CueKind.EXTEND, False, r"verlängert\s+(?:bis(?:\s+zum)?|auf\s+den)"),
    (CueKind.PERIOD, False, r"(?:Konsultations|Beteiligungs|Einreichungs|Kommentierungs)"
     r"(?:zeitraum|phase|frist)"),
    (CueKind.NOUN, False, r"(?:Einsendeschluss|Abgabefrist|Stichtag|Fristende|Bewerbungsschluss|"
     r"Anmeldeschluss|Ende\s+der\s+(?:Frist|Konsultation)|\w*[Ff]rist)(?:\s+(?:ist|endet))?"
     r"(?:\s+(?:am|der|den))?"),
    (CueKind.CLOSE, False, r"(?:endet|endete|schließt|läuft\s+aus)(?:\s+am)?"),
    (CueKind.PERIOD, True, r"(?:läuft|lief|dauert)\s+vom"),
    (CueKind.CLOSE, False, r"spätestens(?:\s+(?:am|bis(?:\s+zum)?))?"),
    (CueKind.CLOSE, True, r"(?:läuft\s+)?bis(?:\s+(?:zum|einschließlich|Ende))?"),
]  # fmt: skip


def _compile(entries: list[tuple[CueKind, bool, str]]) -> Caseless:
    body = "|".join(f"(?P<c{i}>{pattern})" for i, (_, _, pattern) in enumerate(entries))
    return Caseless(rf"(?<!\w)(?:{body})(?!\w)")


class CueSet:
    """The cue patterns of one language (plus English, which notices mix in)."""

    def __init__(self, language: str) -> None:
        extra = {"fr": _FR, "de": _DE}.get(language, [])
        self.entries = extra + _EN
        self.pattern = _compile(self.entries)

    def find(self, sentence: str) -> list[Cue]:
        cues = []
        for m in self.pattern.finditer(sentence):
            index = int((m.lastgroup or "c0")[1:])
            kind, needs_context, _ = self.entries[index]
            cues.append(Cue(m.start(), m.end(), kind, needs_context))
        return cues


@cache
def cues_for(language: str) -> CueSet:
    return CueSet(language)


def _lowercase_pattern(pattern: str) -> re.Pattern[str]:
    """Compile for lower-cased text: ~3x faster than re.IGNORECASE on long alternations."""
    if re.search(r"\\[SWDB]", pattern):
        raise ValueError("an upper-case escape would change meaning when lower-cased")
    return re.compile(pattern.lower())


# The prefilter: for every cue of every language, a fragment that any match of the cue must
# contain, written for case-folded text and starting at the beginning of a word (one literal
# letter first). `tests/deadlines/test_prefilter.py` checks it never misses what `find` sees.
_IS = r"(?:period|window|phase)(?!\w)"
_DUE_OR_WELCOME = r"\s+(?:(?:are|is)\s+)?(?:due|welcome)(?!\w)"
_FR_UNTIL = r"\s+(?:jusqu['’]au|au)(?!\w)"
_PREFILTER_FRAGMENTS: list[str] = [
    # en: EXTEND
    r"extended(?!\w)", r"prolonged(?!\w)", r"postponed(?!\w)", r"pushed\s+back(?!\w)",
    r"moved(?!\w)",  # "new/revised closing date|deadline": see "closing" and "deadline"
    # en: PERIOD ("public comment period" contains "comment period")
    rf"feedback\s+{_IS}", rf"consultation\s+{_IS}", rf"comment(?:ing)?\s+{_IS}",
    r"submission\s+(?:period|window|phase|date)(?!\w)",
    r"response\s+(?:period|window|phase|date)(?!\w)",
    rf"review\s+{_IS}", rf"engagement\s+{_IS}", rf"application\s+{_IS}",
    r"runs?\s+(?:from|between)(?!\w)", r"ran\s+(?:from|between)(?!\w)",
    r"running\s+(?:from|between)(?!\w)", r"open(?:ed)?\s+(?:from|between)(?!\w)",
    r"live\s+(?:from|between)(?!\w)", r"held\s+(?:from|between)(?!\w)",
    # en: TRAILING, NOUN ("closing/close/end date": see CLOSE)
    r"at\s+the\s+latest(?!\w)", r"final\s+date(?!\w)", r"last\s+date(?!\w)",
    r"due\s+date(?!\w)", r"deadlines?(?!\w)",
    # en: CLOSE ("on or before": see "before")
    r"clos(?:es|ed|ing|e)(?!\w)", r"end(?:s|ed|ing)?(?!\w)", r"finish(?:es|ed)?(?!\w)",
    r"expire[sd]?(?!\w)", r"not?\s+later\s+than(?!\w)",
    r"are\s+due(?!\w)", r"is\s+due(?!\w)", r"were\s+due(?!\w)", r"was\s+due(?!\w)",
    r"be\s+due(?!\w)",
    *(
        rf"{noun}{_DUE_OR_WELCOME}"
        for noun in (
            "responses", "comments", "submissions", "applications", "entries", "nominations",
            "proposals", "feedback", "views",
        )
    ),
    r"until(?!\w)", r"till(?!\w)", r"up\s+to\s+and\s+including(?!\w)",
    r"through\s+to(?!\w)", r"by(?!\w)", r"before(?!\w)",
    # fr
    rf"prolong[ée]e?s?{_FR_UNTIL}", rf"report[ée]e?s?{_FR_UNTIL}", rf"étendue?s?{_FR_UNTIL}",
    r"période\s+de\s+(?:consultation|commentaires|contribution)(?!\w)",
    r"ouverte?s?\s+du(?!\w)", r"se\s+déroule(?:ra)?\s+du(?!\w)", r"a\s+lieu\s+du(?!\w)",
    r"aura\s+lieu\s+du(?!\w)", r"court\s+du(?!\w)", r"au\s+plus\s+tard(?!\w)",
    r"date\s+(?:limite|de\s+clôture|butoir)(?!\w)", r"délai(?!\w)", r"échéance(?!\w)",
    r"clôtur", r"prend\s+fin(?!\w)", r"termine", r"achève", r"ferme", r"jusqu['’](?:au|à)",
    r"avant\s+le(?!\w)",
    # de ("…frist" anywhere in a word: see has_cue_word)
    r"verlängert\s+(?:bis|auf\s+den)(?!\w)",
    r"konsultations(?:zeitraum|phase)(?!\w)", r"beteiligungs(?:zeitraum|phase)(?!\w)",
    r"einreichungs(?:zeitraum|phase)(?!\w)", r"kommentierungs(?:zeitraum|phase)(?!\w)",
    r"einsendeschluss(?!\w)", r"stichtag(?!\w)", r"bewerbungsschluss(?!\w)",
    r"anmeldeschluss(?!\w)", r"ende\s+der\s+konsultation(?!\w)", r"endete?(?!\w)",
    r"schliesst(?!\w)", r"läuft\s+(?:aus|vom)(?!\w)", r"lief\s+vom(?!\w)",
    r"dauert\s+vom(?!\w)", r"spätestens(?!\w)", r"bis(?!\w)",
]  # fmt: skip


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
        re.escape(first) + "(?:" + "|".join(rests) + ")" for first, rests in by_first.items()
    )
    return re.compile(rf"[^a-z0-9_](?:{branches})")


_PREFILTER = _word_start_pattern(_PREFILTER_FRAGMENTS)


def prefilter_text(text: str) -> str:
    """`text` as the prefilter reads it: case-folded like re.IGNORECASE folds (İ, ı are i)."""
    folded = text.casefold()
    if not folded.isascii():
        folded = folded.replace("i\u0307", "i").replace("ı", "i")
    return folded


def has_cue_word(text: str) -> bool:
    """The quick test: could `text` hold a deadline cue at all? (microseconds per paragraph)

    Never false where `CueSet.find` of any language finds a cue; one regex search.
    """
    folded = prefilter_text(text)
    return "frist" in folded or _PREFILTER.search(" " + folded) is not None


def cue_word_spans(text: str) -> list[tuple[int, int]] | None:
    """Where ASCII `text` may hold a cue word: the spans of the prefilter's matches, found by
    one search of the whole text. A sentence of the text (a piece cut at spaces, quotes or
    brackets) passes `has_cue_word` only if it overlaps one of them. None for other text,
    whose folded form may not keep the text's offsets."""
    if not text.isascii():
        return None
    folded = text.lower()  # casefold() of ASCII
    # A match's first character is the one before the word (the padding space for the first).
    spans = [(m.start(), m.end() - 1) for m in _PREFILTER.finditer(" " + folded)]
    at = folded.find("frist")
    while at >= 0:
        spans.append((at, at + len("frist")))
        at = folded.find("frist", at + 1)
    return spans


# Words that make a sentence about something one responds to (a consultation, a call, ...).
_CONTEXT = _lowercase_pattern(
    r"consult|call\s+for\s+(?:evidence|input|views|comment|proposal|application|tender|contribution|"
    r"expression|nomination|submission|paper|idea|participant|expert|interest|information)|"
    r"feedback|comment|submission|submit|respon[ds]|views\b|survey|"
    r"questionnaire|have\s+your\s+say|applica|apply|tender|nominat|proposal|evidence|inquiry|"
    r"review|expressions?\s+of\s+interest|entries|register|registration|input|contribution|"
    r"petition|objection|representation|competition|contest|"
    r"avis|observations|candidat|appel|enquête|contribu|répon|dossier|"
    r"Konsultation|Stellungnahme|Anhörung|Beteiligung|Befragung|Umfrage|Bewerbung|Einreich|"
    r"Vorschläge|Rückmeld|Eingaben|Einwendung|Kommentar|Anmeld|Wettbewerb|Teilnahme|Einsend|"
    r"Begutacht"
)


def has_context(text: str) -> bool:
    """Whether `text` speaks of something one responds to (a consultation, a call, ...)."""
    return _CONTEXT.search(text.lower()) is not None


# For "by": the submission word or verb the "by" belongs to, in the same clause before it.
CLAUSE_START = re.compile(r"[^.;:]*$")
_SUBMISSION_NOUNS = (
    r"(?:respons|comment|submission|views|feedback|evidence|proposal|applica|nominat|entries|"
    r"expressions?\s+of\s+interest|questionnaire|survey|contribution|input|tender|bid|"
    r"representation|objection|form)\w*"
)
SUBMISSION_BEFORE_BY = Caseless(
    # a verb of responding: "submit your views by", "please respond by", "return the form by"
    r"(?:(?<!\w)(?:respond|submit|send|return|reply|apply|register|lodge|comment|nominate|"
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
    r"publish|announce|report|decid|decision|outcome|summary|review(?:ed)?\s+by|consider|"
    r"analys|organis|organiz|led\b|chair|host|prepared|funded|supported",
)
# Words between a cue and a date that show the date is about something else.
BLOCKERS = Caseless(
    r"publish|launch|opened|\bopens?\s+on|start|began|begin|held|took\s+place|visit|meeting|"
    r"webinar|workshop|hearing|event|conference|since|after|following|announced|"
    r"member\s+states|comply|transpos|into\s+force|"
    r"lancé|ouverte?\s+le|publié|Sitzung|veröffentlicht|gestartet|seit",
)
# Legal obligations with a date ("businesses have until ... to comply") are not consultations.
OBLIGATION = Caseless(
    r"\bto\s+(?:comply|transpose|implement|apply\s+the\s+rules)\b|\benters?\s+into\s+force\b",
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
    r"^\s*(?:it|this|that|these|those|both|the\s+(?:first|second|third|latter|former|"
    r"same|other)|elle|celle-ci|cette|ces|sie|diese[rs]?|es)\b",
)
