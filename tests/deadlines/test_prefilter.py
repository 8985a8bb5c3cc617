"""has_cue_word, the one-search prefilter: it must never miss a cue that CueSet.find sees."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from feeds.deadlines.cues import cues_for, has_cue_word
from feeds.deadlines.sentences import split_sentences

CASES_DIR = Path(__file__).resolve().parent.parent / "data" / "deadlines"
LANGUAGES = ("en", "fr", "de", "it", "es", "nl", "pt")

# At least one phrase for every cue pattern of every language (and a few case variants).
CUE_PHRASES = [
    "The deadline was extended to 5 May", "The consultation has been prolonged by two weeks",
    "it was postponed until", "the date was pushed back by a week to", "has been moved to",
    "The new closing date is", "revised deadline: 3 May", "feedback period 18 May - 15 June",
    "the consultation window", "public comment period", "commenting phase",
    "submission period", "response window", "review phase", "engagement period",
    "application window", "The survey runs from 1 to 5 May", "it ran between", "open from",
    "opened between", "live from", "held from", "by 30 November at the latest",
    "closing date", "close date", "end date", "final date", "last date", "due date",
    "submission date", "response date", "Deadline 3 May", "deadlines", "closes on", "closed",
    "closing at", "close by", "ends", "end on", "ended", "ending", "finishes", "finished",
    "finish", "expires", "expire", "expired", "no later than", "NOT LATER THAN",
    "on or before", "are due", "is due on", "were due", "was due by", "be due in",
    "responses are due", "comments welcome until", "submissions due", "applications is welcome",
    "entries due", "nominations welcome", "proposals are welcome", "feedback due",
    "views welcome", "until", "till", "up to and including", "through to", "by", "BY", "before",
    # fr
    "prolongée jusqu'au", "reportés au", "étendue jusqu’au", "période de consultation",
    "période de commentaires", "période de contribution", "ouverte du", "ouverts du",
    "se déroule du", "se déroulera du", "a lieu du", "aura lieu du", "court du",
    "au plus tard", "au plus tard le", "date limite", "date de clôture", "date butoir", "délai",
    "échéance", "clôturée", "se clôturera le", "prend fin", "se termine le", "se terminera",
    "s'achève", "s’achèvera", "ferme le", "fermera au", "jusqu'au", "jusqu’à", "avant le",
    "DATE LIMITE", "Échéance",
    # de
    "verlängert bis", "verlängert bis zum", "verlängert auf den", "Konsultationszeitraum",
    "Beteiligungsphase", "Einreichungsfrist", "Kommentierungszeitraum", "Einsendeschluss",
    "Abgabefrist", "Stichtag", "Fristende", "Bewerbungsschluss", "Anmeldeschluss",
    "Ende der Frist", "Ende der Konsultation", "Konsultationsfrist ist am", "Frist endet am",
    "endet am", "endete", "schließt", "SCHLIEẞT", "läuft aus", "läuft vom", "lief vom",
    "dauert vom", "spätestens", "spätestens bis zum", "bis", "läuft bis einschließlich",
    "bis Ende", "İS DUE", "ıs due", "cloſes",
    # en, added with the data files
    "comments received by", "at the latest on", "is open until", "have until",
    "are required by", "accepted through", "extension to", "final day", "from 3 May",
    "between 4th March", "open, 3 May", "re-opened from",
    # it
    "prorogata al", "periodo di consultazione", "termine", "scadenza", "data di scadenza",
    "scade", "si chiude", "entro il", "entro l’", "entro e non oltre il", "non oltre il",
    "fino al", "fino all’", "dal 3 marzo", "si è conclusa il", "aperta, 3 maggio",
    # es
    "ampliado hasta", "periodo de consulta", "plazo", "fecha límite", "fecha de cierre",
    "termina el", "finaliza el", "vence", "a más tardar", "hasta el", "hasta las 14:00 horas del",
    "antes del", "del 3 de marzo", "desde el 3", "finalizó el", "abierta, 3 de mayo",
    # nl
    "verlengd tot", "consultatieperiode", "sluitingsdatum", "termijn", "sluit", "eindigt",
    "uiterlijk op", "tot en met", "t/m", "tot", "van 3 mei", "liep tot", "vóór", "looptijd",
    # pt
    "prorrogado até", "período de consulta", "prazo", "data limite", "encerra em", "termina",
    "até o dia", "até", "desde 3", "entre os dias", "encerrou-se em", "aberta, 3 de maio",
]  # fmt: skip


def _any_cue(text: str) -> bool:
    return any(cues_for(language).find(text) for language in LANGUAGES)


@pytest.mark.parametrize("phrase", CUE_PHRASES)
def test_every_cue_passes_the_prefilter(phrase: str) -> None:
    for text in (phrase, f"Note: {phrase} 5 May.", f"({phrase})", f"x\n{phrase}\n"):
        assert _any_cue(text), f"not a cue phrase: {text!r}"
        assert has_cue_word(text), text


@pytest.mark.parametrize(
    "text",
    [
        "The Commissioner visited the port of Antwerp and saw new sensors.",
        "The funds represent a significant increase compared to the previous period.",
        "Ministers will meet again in Lyon; the agenda includes noise maps.",
        "A bypass, a lobby, nearby: a Bissau report was reported.",
        "",
    ],
)
def test_plain_news_is_dismissed(text: str) -> None:
    assert not _any_cue(text)
    assert not has_cue_word(text)


def test_never_misses_on_the_golden_inputs_and_their_pieces() -> None:
    rng = random.Random(7)
    checked = 0
    for case in sorted(CASES_DIR.iterdir()):
        if not (case / "input.txt").is_file():
            continue
        text = (case / "input.txt").read_text(encoding="utf-8")
        pieces = [text] + [s.text for s in split_sentences(text)]
        for _ in range(20):  # windows cut anywhere, even inside words
            start = rng.randrange(len(text) or 1)
            pieces.append(text[start : start + rng.randint(1, 80)])
        for piece in pieces:
            if _any_cue(piece):
                checked += 1
                assert has_cue_word(piece), piece
    assert checked > 100
