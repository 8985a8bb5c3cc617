"""Labels: a short noun phrase for what closes ("call for evidence on corruption")."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from feeds.deadlines.caseless import Caseless, group_of
from feeds.deadlines.cues import ANAPHORIC_START
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
# Where a topic ends: the verb after the subject ("... on corruption stays open until"), a
# relative clause, a time or place phrase, punctuation, a line break, an address or a link.
_SUBJECT_VERBS_EN = (
    r"is|are|was|were|will|would|has|have|had|been|being|does|did|"
    r"closes?|closed|closing|opens?|opened|runs?|ran|running|remains?|remained|stays?|stayed|"
    r"ends?|ended|expires?|expired|finish(?:es|ed)?|conclude[sd]?|continues?|continued|"
    r"lasts?|lasted|goes|went|starts?|started|begins?|began|kicks|kicked|"
    r"can|could|may|might|must|should|shall|needs?|"
    r"asks|seeks|sought|invites|invited|sets|covers|includes|explores|proposes|looks|considers|"
    r"focuses|examines|wants|gives|gathers|aims?|accepts|accepted|welcomes|receives|received|"
    r"requires|offers|allows|published|issued|announced|adopted|dated|launched"
)
_SUBJECT_VERBS_FR = (
    r"est|sont|sera|seront|était|étaient|devait|doit|doivent|peut|peuvent|a|ont|avait|aura|"
    r"reste|restera|restent|demeure|demeurera|court|courra|dure|durera|prend|prendra|"
    r"débute|commence|ferme|fermera|ouverte?s?|se|s['’]"
)
_SUBJECT_VERBS_DE = (
    r"ist|sind|war|waren|wird|werden|wurde|wurden|bleibt|bleiben|läuft|laufen|lief|dauert|"
    r"endet|endete|schließt|findet|geht|steht|startet|beginnt|hat|haben|kann|können|muss|müssen|"
    r"soll|sollen|noch"
)
_STOP_WORDS = (
    rf"{_SUBJECT_VERBS_EN}|{_SUBJECT_VERBS_FR}|{_SUBJECT_VERBS_DE}|"
    r"which|that|who|where|when|until|itself|also|now|still|currently|"
    r"till|by|from|before|after|asking|seeking|inviting|in\s+the|in\s+a|"
    r"with\s+a|with\s+the|and\s+key|and\s+the|and\s+a|as\s+well|at|on\s+\d|no\s+later|"
    r"jusqu|avant|au\s+plus|qui|dont|bis|die|der|das"
)
_STOP_MARKS = r",;:.!?()\[\]<>{}|\"“”–—"
_TOPIC_STOP = re.compile(
    rf"\s+(?:{_STOP_WORDS})\b"
    r"|[\r\n\x85\u2028\u2029]|[^\s@]*@|\S*(?:https?:|www\.)"
    rf"|[{_STOP_MARKS}]|\s-\s|\s\d"
)
# The same stops for text without an address or a link: then every stop opens with a space or
# a mark, a class the regex engine skips ahead to (what follows is checked looking back).
_TOPIC_STOP_PLAIN = re.compile(
    rf"[\s{_STOP_MARKS}](?:(?<=[\r\n\x85\u2028\u2029{_STOP_MARKS}])"
    rf"|(?<=\s)(?:\s*(?:{_STOP_WORDS})\b|-\s|\d))"
)
_HEAD = Caseless(
    rf"(?<!\w)(?P<mod>{_MODIFIERS})(?:(?P<strong>{_STRONG_HEADS})|(?P<weak>{_WEAK_HEADS}))(?!\w)"
    r"(?P<post>\s+(?:publique|ciblée|en\s+ligne|européenne|ouverte))?"
    r"(?P<topic>)"
)
_TOPIC_LEAD = Caseless(rf"\s+{_TOPIC_START}\s+(?!the\s+(?:public|views|deadline)\b)")
_ANAPHORIC = Caseless(
    r"(?:this|that|these|those|the\s+(?:first|second|third|latter|former|same|other)|"
    r"cette|ce|diese[rsn]?|die\s+zweite)\s+$"
)
_DROP_MODIFIERS = Caseless(
    r"^(?:(?:first|second|third|latter|former|two|both|erste[nr]?|zweite[nr]?)\s+)+"
)
_TRAILING_FILLER = Caseless(
    r"(?:\s+(?:the|a|an|and|or|of|to|for|on|in|with|le|la|les|des|du|de|et|der|die|das|und))+$"
)
_NOT_A_TOPIC = Caseless(r"(?:the\s+)?(?:public|views|people|you|us|everyone|all|them)")
_MAX_TOPIC_WORDS = 12
_MAX_LABEL_CHARS = 90
_ORDINAL_RANK = {
    "first": 1, "erste": 1, "ersten": 1, "erster": 1, "erstes": 1, "premier": 1, "première": 1,
    "second": 2, "zweite": 2, "zweiten": 2, "zweiter": 2, "zweites": 2, "deuxième": 2,
    "seconde": 2, "third": 3, "dritte": 3, "dritten": 3, "dritter": 3, "troisième": 3,
}  # fmt: skip
_ORDINAL = Caseless(rf"(?<!\w)(?:{'|'.join(_ORDINAL_RANK)})(?!\w)")
# A sentence about one of several things: "The second call will ...", "The first is on ...".
_ORDINAL_SUBJECT = Caseless(
    rf"^\W*(?:the|la|le|die|der|das)\s+(?P<ordinal>{'|'.join(_ORDINAL_RANK)})(?!\w)"
)
# Capitalised words just before a head: "the EU Anti-trafficking Directive consultation".
_PROPER_BEFORE = re.compile(r"(?<![\w'’-])(?:[A-Z][\w'’-]*\s+){1,4}$")
_DETERMINERS = frozenset(
    {
        "the", "this", "that", "these", "those", "a", "an", "our", "its", "their", "your", "his",
        "her", "my", "all", "both", "two", "le", "la", "les", "l", "un", "une", "des", "ce",
        "cette", "ces", "der", "die", "das", "den", "dem", "ein", "eine", "diese", "dieser",
        "dieses",
    }
)  # fmt: skip
# A topic stated before the head: "The first is on corruption with a call for evidence".
_FRONTED_TOPIC = Caseless(
    r"\b(?:is|are|was|were|will\s+be)\s+(?P<prep>on|about|into|concerning|regarding)\s+"
    r"(?P<topic>[^,;:.()]{1,80}?)\s+(?:with|through|via|by\s+way\s+of)\s+(?:a|an|the|its|their)"
    r"\s+$"
)
# A topic stated after the subject: "The second consultation is about bus fares".
_STATED_TOPIC = Caseless(
    r"\b(?:(?:is|are|was|will\s+be)\s+(?P<prep>on|about|into|concerning|regarding)|concerns|"
    r"covers|deals\s+with|focuses\s+on|looks\s+at)\s+"
)
# A purpose stated for a call: "... to provide access to security-related information ...".
_PURPOSE = Caseless(
    r"\bto\s+(?:provide|give|improve|ensure|enable|support|facilitate|strengthen|address|"
    r"tackle|reduce|protect|prevent|combat|fight|modernise|modernize|simplify|harmonise|"
    r"harmonize|boost|promote|expand|secure|guarantee|regulate|reform)\s+"
)
_LEADING_ARTICLES = Caseless(
    r"^(?:(?:the|this|that|these|those|a|an|le|la|les|l['’]|un|une|ce|cette|ces|"
    r"der|die|das|den|dem|ein|eine|diese[rsnm]?)(?:\s+|(?<=['’])))+"
)
_ADDRESS_OR_LINK = re.compile(r"[^\s@]*@\S*|\S*(?:https?:|www\.)\S*|\S+\.(?:com|net|org)\b\S*")
_BARE = Caseless(rf"(?:{_MODIFIERS})(?:{_STRONG_HEADS}|{_WEAK_HEADS})")
_INVITATION = Caseless(
    r"(?<!\w)(?:(?:are|is|we['’]re)\s+consulting|consults|have\s+your\s+say|"
    r"(?:seek(?:s|ing)?|want(?:s)?|invit(?:es?|ing)|request(?:s|ing)?)\s+(?:your\s+|the\s+)?"
    r"(?:public\s+)?(?:views|comments?|feedback|input|evidence|submissions)|"
    r"(?:views|comments|feedback)\s+(?:are\s+)?(?:sought|invited|requested))\s+(?:on|about)\s+"
)
_LINE_BREAK = re.compile(r"[\r\n\x85\u2028\u2029]")
_HEADER_FIELD = re.compile(r"\s*\b[\w-]+\s*:.*$")  # "Bcc: ...", "To: ...", and anything after
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u200b-\u200f\u202a-\u202e\ufeff]+")
_SENTENCE_START = re.compile(r"(?:^|[:|•\"“(]|\s[-–—])\s*$")


@dataclass(frozen=True, slots=True)
class _Phrase:
    start: int
    label: str
    strong: bool
    descriptive: bool  # has a topic or a compound head ("call for evidence")
    has_topic: bool
    anaphoric: bool
    ordinal: int | None = None  # "the second consultation": which of several earlier ones
    end: int = 0  # where the phrase (with its topic) ends


@lru_cache(maxsize=256)
def _head_matches(text: str) -> tuple[re.Match[str], ...]:
    """The head phrases of a sentence, found once: a sentence is read up to the cue, as a
    whole and as an earlier sentence of later deadlines."""
    return tuple(_HEAD.finditer(text))


def _phrases(text: str, *, limit: int | None = None) -> list[_Phrase]:
    found = []
    for m in _head_matches(text):
        if limit is not None and m.start() >= limit:
            break
        strong = group_of(text, m, "strong")
        head = " ".join((strong or group_of(text, m, "weak") or "").split())
        raw_modifiers = " ".join((group_of(text, m, "mod") or "").split())
        modifiers = _DROP_MODIFIERS.remove(raw_modifiers)
        post = group_of(text, m, "post")
        if post:
            head += re.sub(r"\s+", " ", post)
        lead = _TOPIC_LEAD.match(text, m.end())
        topic_start = lead.end() if lead else m.end()
        topic_end = len(text) if limit is None else max(limit, topic_start)
        topic = _topic(text[topic_start:topic_end]) if lead else ""
        preposition = text[m.end() : topic_start].strip()
        if not topic and strong:
            fronted = _FRONTED_TOPIC.search(text, max(0, m.start() - 120), m.start())
            if fronted:
                topic = _topic(group_of(text, fronted, "topic"))
                preposition = (group_of(text, fronted, "prep") or "").lower()
        proper = _proper_words(text, m.start(), head)
        common = _common_words(modifiers, head)
        label = f"{proper} {common}" if proper else common
        if topic:
            label = f"{label} {preposition} {topic}"
        anaphoric = bool(_ANAPHORIC.search(text[max(0, m.start() - 20) : m.start()]))
        ordinal = _ORDINAL.search(f"{text[max(0, m.start() - 12) : m.start()]} {raw_modifiers}")
        rank = _ORDINAL_RANK[ordinal.group().lower()] if ordinal else None
        found.append(
            _Phrase(
                m.start(),
                label,
                strong=bool(strong),
                descriptive=bool(topic) or " " in head or bool(proper),
                has_topic=bool(topic),
                anaphoric=anaphoric and not topic,
                ordinal=rank,
                end=topic_start + len(topic) if topic and lead else m.end(),
            )
        )
    return found


def _proper_words(text: str, start: int, head: str) -> str:
    """Names and acronyms right before the head ("EU Anti-trafficking Directive"), if any."""
    if _is_german_head(head):
        return ""  # every German noun is capitalised: not a sign of a name
    before = _PROPER_BEFORE.search(text, max(0, start - 80), start)
    if before is None:
        return ""
    words = before.group().split()
    offset = before.start()
    kept: list[str] = []
    for position, word in enumerate(words):
        if word.lower() in _DETERMINERS or word.endswith(("'s", "’s", "'", "’")):
            kept = []
            continue
        at_start = position == 0 and _SENTENCE_START.search(text, 0, offset) is not None
        if at_start and not _is_acronym(word):
            continue
        kept.append(word)
    return " ".join(kept)


_GERMAN_HEADS = (
    "Konsultation", "Anhörung", "Befragung", "Umfrage", "Ausschreibung", "Aufruf", "Wettbewerb",
    "verfahren", "Stellungnahmen", "Bewerbungen", "Einreichungen", "Anmeldungen", "Vorschläge",
)  # fmt: skip
_GERMAN_HEAD = Caseless(rf"(?:{'|'.join(_GERMAN_HEADS)})$")
_GERMAN_ENDINGS = tuple(head.lower() for head in _GERMAN_HEADS)


def _is_german_head(word: str) -> bool:
    """Whether `word` ends with a German head noun (its capitals say nothing of a name)."""
    if word.isascii() and not word.endswith("\n"):  # what the pattern does, as a str method
        return word.lower().endswith(_GERMAN_ENDINGS)
    return _GERMAN_HEAD.search(word) is not None


def _is_acronym(word: str) -> bool:
    return len(word) >= 2 and word[0].isupper() and word[1].isupper()


@lru_cache(maxsize=1024)
def _common_words(modifiers: str, head: str) -> str:
    """The modifiers and head in common case (a small vocabulary: worked out once each)."""
    return " ".join(_common_case(w) for w in f"{modifiers} {head}".split())


def _common_case(word: str) -> str:
    """Heads and modifiers are common words ("Public Consultation" -> "public consultation");
    acronyms, German nouns and "European" keep their capitals."""
    if _is_acronym(word) or _is_german_head(word) or word.startswith("Europ"):
        return word
    return word.lower()


def _topic(raw: str | None) -> str:
    if not raw:
        return ""
    plain = "@" not in raw and "http" not in raw and "www." not in raw
    stop = (_TOPIC_STOP_PLAIN if plain else _TOPIC_STOP).search(raw)  # only its start is read
    topic = raw[: stop.start()] if stop else raw
    words = topic.split()
    if len(words) > _MAX_TOPIC_WORDS:
        if stop is not None and len(words) > _MAX_TOPIC_WORDS + 8:
            return ""  # a run-on clause, not a topic
        words = words[:_MAX_TOPIC_WORDS]  # a long name: keep its head, cut at a word
    topic = _TRAILING_FILLER.remove(" ".join(words))
    if not topic or topic.lower() in {"the", "a", "an", "it", "this", "you", "your", "all"}:
        return ""
    if _NOT_A_TOPIC.fullmatch(topic):
        return ""
    return topic


def label_for(sentences: Sequence[Sentence], index: int, cue_start: int, *, fallback: str) -> str:
    """The label of the deadline whose cue starts at `cue_start` in sentence `index`.

    The nearest subject before the cue; a bare or anaphoric one ("This call", "the
    consultation") is resolved to the nearest preceding descriptive phrase when there is one,
    an ordinal one ("the second consultation") to the sentence that introduced "the second".
    The result is fit for a mail subject: one line, no addresses or links, at most 90 chars.
    """
    label = _label(sentences, index, cue_start, fallback=fallback)
    if _BARE.fullmatch(label):
        invited = _invited_topic(sentences, index)
        if invited is not None:
            label = f"{label} on {invited}"
    return clean_label(label) or fallback


def is_bare_label(label: str) -> bool:
    """Whether a label is only a head and its modifiers ("public consultation", "open
    consultations"), naming no topic."""
    return _BARE.fullmatch(label) is not None


def _invited_topic(sentences: Sequence[Sentence], index: int) -> str | None:
    """ "We are consulting on X", "Have your say on X", "invites comment on X": X."""
    paragraph = sentences[index].paragraph
    text = sentences[index].text
    # "This consultation closes ..." or a bare "Feedback period ..." line may follow the
    # paragraph that says what it is about; anything else stays within its own paragraph.
    crosses = ANAPHORIC_START.match(text) is not None or len(text.split()) <= 10
    for earlier in range(index, max(-1, index - 3), -1):
        sentence = sentences[earlier]
        if sentence.paragraph != paragraph and not crosses:
            return None
        invited = _INVITATION.search(sentence.text)
        if invited is not None:
            topic = _topic(sentence.text[invited.end() :])
            if topic:
                return topic
    return None


def _label(sentences: Sequence[Sentence], index: int, cue_start: int, *, fallback: str) -> str:
    text = sentences[index].text
    before = _phrases(text, limit=cue_start)
    strong_before = [p for p in before if p.strong]
    candidates = [  # not a head inside another's topic ("consultation on the review of ...")
        p for p in strong_before if not any(q.start < p.start < q.end for q in strong_before)
    ] or before
    found_anywhere: list[list[_Phrase]] = []

    def phrases_anywhere() -> list[_Phrase]:  # the whole sentence, read only when needed
        if not found_anywhere:
            found_anywhere.append(_phrases(text))
        return found_anywhere[0]

    def descriptive_anywhere() -> list[_Phrase]:
        return [p for p in phrases_anywhere() if p.strong and p.descriptive]

    if not candidates:
        anywhere = phrases_anywhere()
        descriptive = descriptive_anywhere()
        if descriptive:
            return descriptive[0].label
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
    if chosen.ordinal is not None and chosen.strong:
        introduced = _by_ordinal(sentences, index, chosen)
        if introduced is not None:
            return introduced
    if not chosen.strong:
        descriptive = descriptive_anywhere()
        if descriptive:
            return descriptive[0].label
        earlier = _look_back(sentences, index, head=None)
        return earlier if earlier is not None else chosen.label
    earlier = _look_back(sentences, index, head=_head_word(chosen.label))
    if earlier is None and chosen.anaphoric:
        earlier = _look_back(sentences, index, head=None)
    if earlier is not None:
        return earlier
    if chosen.descriptive:
        return chosen.label
    after = [p for p in descriptive_anywhere() if p.start > cue_start]
    return after[0].label if after else chosen.label


def _by_ordinal(sentences: Sequence[Sentence], index: int, chosen: _Phrase) -> str | None:
    """ "the second public consultation": what the sentence starting "The second ..." said."""
    paragraph = sentences[index].paragraph
    for earlier in range(index - 1, max(-1, index - 4), -1):
        sentence = sentences[earlier]
        if sentence.paragraph != paragraph:
            return None
        subject = _ORDINAL_SUBJECT.match(sentence.text)
        if subject is None or _ORDINAL_RANK[subject.group("ordinal").lower()] != chosen.ordinal:
            continue
        described = [p for p in _phrases(sentence.text) if p.strong and p.has_topic]
        if described:
            return described[0].label
        stated = _STATED_TOPIC.search(sentence.text, subject.end())
        if stated is not None:
            topic = _topic(sentence.text[stated.end() :])
            if topic:
                return f"{chosen.label} {(stated.group('prep') or 'on').lower()} {topic}"
        purposes = list(_PURPOSE.finditer(sentence.text, subject.end()))
        if purposes:
            topic = _topic(sentence.text[purposes[-1].end() :])
            if topic:
                return f"{chosen.label} on {topic}"
        return None
    return None


def clean_label(label: str) -> str:
    """One short line: cut at a line break, a header-like field, an address or a link; no
    leading article; at most 90 characters, cut at a word boundary. Empty if nothing is left."""
    label = _LINE_BREAK.split(label, maxsplit=1)[0]
    # Each pattern needs a character most labels lack: test for it before searching.
    header = _HEADER_FIELD.search(label) if ":" in label else None
    if header is not None:
        label = label[: header.start()]
    has_address_mark = "@" in label or ":" in label or "." in label
    address = _ADDRESS_OR_LINK.search(label) if has_address_mark else None
    if address is not None:
        label = label[: address.start()]
    if not label.isprintable():  # every _UNPRINTABLE character is one isprintable() refuses
        label = _UNPRINTABLE.sub(" ", label)
    label = " ".join(label.split())
    label = _LEADING_ARTICLES.remove(label)
    if len(label) > _MAX_LABEL_CHARS:
        head = label[: _MAX_LABEL_CHARS + 1]
        label = head.rsplit(" ", 1)[0] if " " in head else head[:_MAX_LABEL_CHARS]
    return _TRAILING_FILLER.remove(label).rstrip(" ,;:-–—(")


def _head_word(label: str) -> str:
    return label.split()[-1].lower()


def _look_back(
    sentences: Sequence[Sentence], index: int, *, head: str | None, descriptive_only: bool = True
) -> str | None:
    """The nearest descriptive phrase in the three sentences before (with `head`, if given)."""
    for earlier in range(index - 1, max(-1, index - 4), -1):
        text = sentences[earlier].text
        if head is not None and head.isascii() and head not in text.lower():
            continue  # a label's words are the sentence's: none of them can be `head`
        phrases = [
            p for p in _phrases(text) if p.strong and (p.descriptive or not descriptive_only)
        ]
        if head is not None:
            phrases = [p for p in phrases if p.has_topic and head in p.label.lower().split()]
        if phrases:
            return phrases[-1].label
    return None
