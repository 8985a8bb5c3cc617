"""Old dates in notices that move a deadline: a reopening or an extension supersedes the
deadline the text tells in the past ("the comment period closed on 23 October", "we asked for
comments until 19 January", "comments were to be submitted by 29 March").

Only a text that says the deadline itself moved counts (an extension or reopening word near a
deadline word); in it, a deadline told in the past is superseded by any later deadline, or,
when none is given, by the reopening the text announces ("NMFS is reopening the comment period
for 15 days": the new date is not stated, the old one is no longer the deadline).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from feeds.deadlines.caseless import Caseless
from feeds.deadlines.cues import PAST_TENSE

_MOVE = (
    r"(?:extend|extension|pushed\s+back|postpon|prolong|verlänger|verschoben|report[ée]|prorog|"
    r"prorrog|amplia|amplía|ampliación|verleng|uitgesteld|adiad|re-?open|réouv|rouvert|"
    r"wiedereröffn|reabert|reabr|riapert|riapr|heropen)\w*"
)
_DEADLINE = (
    r"(?:deadline|period|closing\s+date|comment|consultation|plazo|prazo|délai|date\s+limite|"
    r"frist|\w+frist|termine|scadenza|termijn|consulta|consultazione|konsultation|vernehmlassung|"
    r"enquête|inspraak|beteiligung|auslegung|survey|befragung|umfrage)\w*"
)
_MOVE_WORD = Caseless(_MOVE)  # the quick test first (no look-behind: the engine skips ahead)
_MOVED = Caseless(
    rf"(?<!\w){_MOVE}[^.;|\n]{{0,60}}?{_DEADLINE}|(?<!\w){_DEADLINE}[^.;|\n]{{0,60}}?{_MOVE}"
)


# A verb that moves or reopens says it by itself ("Sie wird bis zum 30. Juni wiedereröffnet").
_MOVED_VERB = Caseless(
    r"(?<!\w)(?:re-?opened|re-?opens|re-?opening|extended|extends|extending|postponed|"
    r"wiedereröffnet|verlängert|verschoben|rouverte?s?|prolongée?s?|reportée?s?|"
    r"reabiert[oa]s?|reabre|ampliad[oa]s?|amplía|prorrogad[oa]s?|riapert[oa]|prorogat[oa]|"
    r"heropend|verlengd|uitgesteld|reabert[oa]|adiad[oa])(?!\w)"
)


def says_the_deadline_moved(text: str) -> bool:
    """Whether the text says the deadline itself moved: a verb that moves or reopens, or an
    extension word near a deadline word (not "the Mine Life Extension | Submit a comment")."""
    if _MOVE_WORD.search(text) is None:
        return False
    return _MOVED_VERB.search(text) is not None or _MOVED.search(text) is not None


# ... and announces it now: the old date is superseded even when the new one is not stated.
MOVING_NOW = Caseless(
    r"(?<!\w)(?:(?:is|are)\s+(?:re-?opening|extending)|re-?opens|extends|will\s+(?:re-?open|"
    r"extend)|(?:notice\s+of\s+)?(?:re-?opening|extension)\s+of\s+(?:the\s+)?(?:public\s+)?"
    r"comment\s+period)(?!\w)"
)
# A deadline told in the past, in the clause of its cue.
_TOLD_IN_THE_PAST = Caseless(
    r"(?<!\w)(?:were\s+to\s+be|was\s+to\s+be|asked\s+for|(?<!be\s)accepted|original(?:ly)?|"
    r"previous(?:ly)?|initially|formerly|ursprünglich\w*|initialement|"
    r"originalmente|inizialmente|oorspronkelijk\w*|aanvankelijk\w*)(?!\w)"
)


def told_in_the_past(clause: str) -> bool:
    """Whether the clause of a cue (up to and with the cue) tells its deadline in the past."""
    return PAST_TENSE.search(clause) is not None or _TOLD_IN_THE_PAST.search(clause) is not None


def superseded_by_a_move(text: str, deadlines: Sequence[tuple[datetime, bool]]) -> set[int]:
    """Of (closes at, told in the past) pairs, the indices a move of the deadline supersedes."""
    if not any(old for _, old in deadlines) or not says_the_deadline_moved(text):
        return set()
    current = [at for at, old in deadlines if not old]
    if not current:
        if MOVING_NOW.search(text) is None:
            return set()
        return set(range(len(deadlines)))
    latest = max(current)
    return {i for i, (at, old) in enumerate(deadlines) if old and at < latest}
