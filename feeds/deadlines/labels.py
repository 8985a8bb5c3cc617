"""Labels: a short noun phrase for what closes ("call for evidence on corruption")."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from feeds.deadlines.sentences import Sentence

_CALL_OBJECTS = (
    r"evidence|input|inputs|views|comments|proposals|applications|tenders|contributions|"
    r"expressions\s+of\s+interest|nominations|submissions|papers|ideas|information|"
    r"interest|projects|participants|experts|feedback|data"
)
_STRONG_HEADS = (
    rf"call\s+for\s+(?:{_CALL_OBJECTS})|calls?\s+for\s+(?:{_CALL_OBJECTS})|"
    r"(?:public\s+)?comment\s+period|feedback\s+period|consultation\s+period|"
    r"consultation\s+(?:paper|document)|consultations?|"
    r"call|survey|questionnaire|inquiry|review|petition|tenders?|competition|grant\s+round|"
    r"funding\s+round|programme|program|discussion\s+paper|grant\s+scheme|scheme|"
    r"green\s+paper|white\s+paper|"
    r"appel\s+à\s+(?:contributions|candidatures|propositions|commentaires|projets|"
    r"manifestations\s+d['’]intérêt)|enquête\s+publique|enquête|"
    r"[\w-]*(?:Konsultation|Anhörung|Befragung|Umfrage|Beteiligungsverfahren|Ausschreibung|"
    r"Wettbewerb)|Aufruf"
)
_WEAK_HEADS = (
    r"applications|application\s+round|submissions|responses|comments|nominations|entries|"
    r"expressions\s+of\s+interest|feedback|views|proposals|registration|"
    r"contributions|candidatures|commentaires|Stellungnahmen|Bewerbungen|Einreichungen|"
    r"Anmeldungen|Vorschläge"
)
_MODIFIERS = (
    r"(?:(?:public|open|targeted|online|stakeholder|formal|informal|technical|new|draft|joint|"
    r"national|statutory|further|follow-up|initial|final|full|short|EU-wide|European|"
    r"first|second|third|latter|former|related|separate|two|both|"
    r"publique|ciblée|européenne|öffentliche[nr]?|zweite[nr]?|erste[nr]?)\s+)*"
)
_TOPIC_START = (
    r"(?:on|into|about|regarding|concerning|in\s+relation\s+to|relating\s+to|for|of|to|"
    r"sur|relative\s+à|relatif\s+à|concernant|portant\s+sur|pour|zu[mr]?|über|für)"
)
_TOPIC_STOP = re.compile(
    r"\s+(?:is|are|was|were|will|would|has|have|had|closes?|closed|closing|opens?|opened|runs?|"
    r"remains?|ends?|ended|can|may|might|must|should|shall|which|that|who|where|when|until|"
    r"asks|seeks|invites|sets|covers|includes|explores|proposes|looks|considers|focuses|"
    r"examines|wants|gives|gathers|aims|runs|lasts|published|issued|announced|adopted|dated|"
    r"itself|also|now|still|currently|stays|"
    r"till|by|from|before|after|asking|seeking|inviting|aims?|launched|in\s+the|in\s+a|"
    r"with\s+a|with\s+the|and\s+key|and\s+the|and\s+a|as\s+well|at|on\s+\d|no\s+later|"
    r"est|sont|sera|était|devait|doit|doivent|a|avait|se|jusqu|avant|au\s+plus|qui|dont|"
    r"ist|sind|wird|läuft|endet|bis|die|der|"
    r"das|noch)\b"
    r"|[,;:.!?()\[\]\"“”–—]|\s-\s|\s\d"
)
_HEAD = re.compile(
    rf"(?<!\w)(?P<mod>{_MODIFIERS})(?:(?P<strong>{_STRONG_HEADS})|(?P<weak>{_WEAK_HEADS}))(?!\w)"
    r"(?P<post>\s+(?:publique|ciblée|en\s+ligne|européenne|ouverte))?"
    r"(?P<topic>)",
    re.IGNORECASE,
)
_TOPIC_LEAD = re.compile(
    rf"\s+{_TOPIC_START}\s+(?!the\s+(?:public|views|deadline)\b)", re.IGNORECASE
)
_ANAPHORIC = re.compile(
    r"(?:this|that|these|those|the\s+(?:first|second|third|latter|former|same|other)|"
    r"cette|ce|diese[rsn]?|die\s+zweite)\s+$",
    re.IGNORECASE,
)
_DROP_MODIFIERS = re.compile(
    r"^(?:(?:first|second|third|latter|former|two|both|erste[nr]?|zweite[nr]?)\s+)+",
    re.IGNORECASE,
)
_TRAILING_FILLER = re.compile(
    r"(?:\s+(?:the|a|an|and|or|of|to|for|on|in|with|le|la|les|des|du|de|et|der|die|das|und))+$",
    re.IGNORECASE,
)
_MAX_TOPIC_WORDS = 9


@dataclass(frozen=True, slots=True)
class _Phrase:
    start: int
    label: str
    strong: bool
    descriptive: bool  # has a topic or a compound head ("call for evidence")
    has_topic: bool
    anaphoric: bool


def _phrases(text: str, *, limit: int | None = None) -> list[_Phrase]:
    found = []
    for m in _HEAD.finditer(text):
        if limit is not None and m.start() >= limit:
            break
        head = re.sub(r"\s+", " ", (m.group("strong") or m.group("weak"))).strip()
        modifiers = _DROP_MODIFIERS.sub("", re.sub(r"\s+", " ", m.group("mod")).strip())
        head += re.sub(r"\s+", " ", m.group("post") or "")
        lead = _TOPIC_LEAD.match(text, m.end()) if m.group("strong") else None
        topic_start = lead.end() if lead else m.end()
        topic_end = len(text) if limit is None else max(limit, topic_start)
        topic = _topic(text[topic_start:topic_end]) if lead else ""
        words = [w for w in (modifiers, head) if w]
        label = " ".join(words)
        if topic:
            preposition = text[m.end() : topic_start]
            label = f"{label} {preposition.strip()} {topic}"
        first = label.split()[0]
        if not first.isupper() and not _GERMAN_HEAD.search(first):
            label = label[0].lower() + label[1:]
        anaphoric = bool(_ANAPHORIC.search(text[max(0, m.start() - 20) : m.start()]))
        found.append(
            _Phrase(
                m.start(),
                label,
                strong=bool(m.group("strong")),
                descriptive=bool(topic) or " " in head,
                has_topic=bool(topic),
                anaphoric=anaphoric and not topic,
            )
        )
    return found


_GERMAN_HEAD = re.compile(
    r"(?:Konsultation|Anhörung|Befragung|Umfrage|Ausschreibung|Aufruf|Wettbewerb|verfahren|"
    r"Stellungnahmen|Bewerbungen|Einreichungen|Anmeldungen|Vorschläge)$",
    re.IGNORECASE,
)


def _topic(raw: str | None) -> str:
    if not raw:
        return ""
    stop = _TOPIC_STOP.search(raw)
    topic = raw[: stop.start()] if stop else raw
    words = topic.split()
    if len(words) > _MAX_TOPIC_WORDS:
        return ""
    topic = _TRAILING_FILLER.sub("", " ".join(words))
    if not topic or topic.lower() in {"the", "a", "an", "it", "this", "you", "your", "all"}:
        return ""
    if re.fullmatch(r"(?:the\s+)?(?:public|views|people|you|us|everyone|all|them)", topic, re.I):
        return ""
    return topic


def label_for(sentences: Sequence[Sentence], index: int, cue_start: int, *, fallback: str) -> str:
    """The label of the deadline whose cue starts at `cue_start` in sentence `index`.

    The nearest subject before the cue; a bare or anaphoric one ("This call", "the
    consultation") is resolved to the nearest preceding descriptive phrase when there is one.
    """
    text = sentences[index].text
    before = _phrases(text, limit=cue_start)
    candidates = [p for p in before if p.strong] or before
    anywhere = _phrases(text)
    descriptive_anywhere = [p for p in anywhere if p.strong and p.descriptive]
    if not candidates:
        if descriptive_anywhere:
            return descriptive_anywhere[0].label
        strong = [p for p in anywhere if p.strong]
        if strong:
            return strong[0].label
        earlier = _look_back(sentences, index, head=None)
        if earlier is None and not anywhere:
            earlier = _look_back(sentences, index, head=None, descriptive_only=False)
        if earlier is not None:
            return earlier
        return anywhere[0].label if anywhere else fallback
    chosen = candidates[-1]
    if chosen.has_topic:
        return chosen.label
    if not chosen.strong:
        if descriptive_anywhere:
            return descriptive_anywhere[0].label
        earlier = _look_back(sentences, index, head=None)
        return earlier if earlier is not None else chosen.label
    earlier = _look_back(sentences, index, head=_head_word(chosen.label))
    if earlier is None and chosen.anaphoric:
        earlier = _look_back(sentences, index, head=None)
    if earlier is not None:
        return earlier
    if chosen.descriptive:
        return chosen.label
    after = [p for p in descriptive_anywhere if p.start > cue_start]
    return after[0].label if after else chosen.label


def _head_word(label: str) -> str:
    return label.split()[-1].lower()


def _look_back(
    sentences: Sequence[Sentence], index: int, *, head: str | None, descriptive_only: bool = True
) -> str | None:
    """The nearest descriptive phrase in the three sentences before (with `head`, if given)."""
    for earlier in range(index - 1, max(-1, index - 4), -1):
        phrases = [
            p
            for p in _phrases(sentences[earlier].text)
            if p.strong and (p.descriptive or not descriptive_only)
        ]
        if head is not None:
            phrases = [p for p in phrases if p.has_topic and head in p.label.lower().split()]
        if phrases:
            return phrases[-1].label
    return None
