"""Which date a cue governs (issue 11, the association side), each class in invented examples:
cue vocabulary, word order, reopenings and extensions, negatives, relative days, times."""

from __future__ import annotations

from datetime import date

import pytest

from feeds.deadlines import find_deadlines

PUBLISHED = date(2025, 1, 15)


def _dates(text: str, lang: str = "en", published: date = PUBLISHED) -> list[str]:
    found = find_deadlines(text, reference=published, timezone="Europe/Brussels", language=lang)
    return [d.local_date.isoformat() for d in found]


@pytest.mark.parametrize(
    ("text", "lang", "want"),
    [
        # a passive submission verb after a long subject; "we must receive your comments by"
        (
            "Comments on the draft noise action plan for the northern ring road and its junctions "
            "must be received by March 3 at 5 p.m.",
            "en",
            ["2025-03-03"],
        ),
        (
            "To ensure consideration, we must receive your written comments by May 2, 2025.",
            "en",
            ["2025-05-02"],
        ),
        # "would extend the comment period to"
        (
            "The present closing date is 3 March 2025. This notice would extend the comment period "
            "to 14 April 2025.",
            "en",
            ["2025-04-14"],
        ),
        # "will run to" with a time before the date
        ("The consultation period will run to 5pm, 20 March 2025.", "en", ["2025-03-20"]),
        # a noun cue that opens a range names its end
        (
            "Solicitudes de plazas.\nPLAZO: DEL DIA 3 de MARZO a las 09:00 horas AL DÍA 21 de "
            "MARZO a las 14:00 horas.",
            "es",
            ["2025-03-21"],
        ),
        # a noun cue whose complement holds another date: the one after its copula
        (
            "The comment closing date for the 12 December 2024 proposal (Docket 7; 88 FR 1) is "
            "February 20, 2025.",
            "en",
            ["2025-02-20"],
        ),
    ],
)
def test_cue_vocabulary_and_complements(text: str, lang: str, want: list[str]) -> None:
    assert _dates(text, lang) == want


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        # a rule that takes effect after a step is no deadline
        (
            "The consultation is the last step before the new charging rules take effect from "
            "1 April 2025.",
            "en",
        ),
        # a noun naming a duration; the date in brackets is the notice's
        (
            "Tras su exposición pública por plazo de veinte días (anuncio de fecha 3 de febrero de "
            "2025), el Pleno del 10 de marzo de 2025 aprobó el texto.",
            "es",
        ),
        # a suspension of consultations, and its end
        (
            "Door de maatregelen worden alle lopende openbare onderzoeken opgeschort tot 24/04.",
            "nl",
        ),
        ("Der Fristenstillstand für Volksbegehren endet am 31. Mai 2025.", "de"),
        # what an authority does by a date; a measure that lapses
        ("I contributi saranno assegnati entro il 15 aprile.", "it"),
        ("A proposta precisa ser sancionada até 11 de outubro, quando perde a validade.", "pt"),
        # a condition in a standing rule
        (
            "Le délai est allongé de trois semaines si la consultation couvre la période allant du "
            "15 juillet au 15 août.",
            "fr",
        ),
        # consultations that started before a date, a vote that takes place
        ("Para consultas iniciadas até 11 de abril de 2025, use o sistema antigo.", "pt"),
        ("A votação das propostas acontecerá de 15 a 26 de junho.", "pt"),
        # information received up to a date, in a permit notice
        (
            "The draft permit is based on the application and the additional information received "
            "through October 31, 2024. Comments may be submitted within 30 days.",
            "en",
        ),
        # after a date, the date of a first postponement
        (
            "È la seconda proroga, a 24 ore dalla scadenza prevista, dopo un primo differimento il "
            "25 ottobre.",
            "it",
        ),
        # the end of a tour that starts earlier in the sentence, no consultation words in it
        (
            "Les auditions sont publiques. L'agenda débutera le lundi 3 mars 2025 à Lyon et se "
            "terminera à Lille le jeudi 17 avril 2025.",
            "fr",
        ),
        # what the authority does during a range
        ("Entre os dias 3 e 7 de novembro serão consolidadas as emendas da minuta.", "pt"),
        # a standing rule that comes back every year
        (
            "Under the Act, councils must consult for at least 28 days before 1 April each year.",
            "en",
        ),
        # the end of a law or contract, with the consultation in another clause
        (
            "The Regulation applies until 31 December 2030; the Commission consults on its review.",
            "en",
        ),
        (
            "O contrato de concessão termina em 31 de dezembro de 2030; a consulta pública avalia "
            "a renovação.",
            "pt",
        ),
        # grants the authority will award
        ("Las ayudas se concederán antes del 30 de junio de 2025, tras la convocatoria.", "es"),
        # an internal consultation: no one outside can respond
        (
            "Considerando as contribuições da Consulta Interna nº 12, realizada no período de 3 "
            "de março de 2025 a 17 de março de 2025, resolve:",
            "pt",
        ),
    ],
)
def test_dates_that_are_not_deadlines(text: str, lang: str) -> None:
    assert _dates(text, lang) == []


@pytest.mark.parametrize(
    ("text", "lang", "want"),
    [
        # a date named, in apposition, the deadline of a report: not the consultation's end
        (
            "Consulta pública sobre a tarifa de saneamento. A redução do prazo justifica-se:\n"
            "a) os ajustamentos têm de estar fechados até 15 de maio de 2025, sendo esta a data "
            "limite para o envio do relatório de contas pelas operadoras;\nb) dez dias úteis "
            "bastam.",
            "pt",
            [],
        ),
        (
            "Die Anhörung zum Entgeltkatalog läuft zehn Arbeitstage. Bis zum 30. April 2025, der "
            "Frist für die Abgabe des Jahresberichts, melden die Netzbetreiber ihre Zahlen.",
            "de",
            [],
        ),
        # a deadline noun whose object is a report (after a word of handing in); the
        # consultation's own date is kept
        (
            "Consultation on the water charges scheme. The deadline for submitting the annual "
            "accounts report is 31 March 2025. Responses by 10 April 2025.",
            "en",
            ["2025-04-10"],
        ),
        (
            "Consultation sur le tarif. La date limite pour le dépôt du rapport annuel est fixée "
            "au 31 mars 2025.",
            "fr",
            [],
        ),
        # the response comes first: the report is only what one comments on
        ("The deadline for submissions on the draft annual report is 12 May 2025.", "en",
         ["2025-05-12"]),
        (
            "Consultation sur le tarif. La date limite pour le dépôt des contributions sur le "
            "rapport annuel est fixée au 31 mars 2025.",
            "fr",
            ["2025-03-31"],
        ),
        (
            "Until 5 May 2025, the deadline for the annual report, you can send us your views.",
            "en",
            ["2025-05-05"],
        ),
        # the report or tax only says which consultation it is
        ("The deadline for the VAT consultation is 5 May 2025.", "en", ["2025-05-05"]),
        ("Die Frist für die Steuer-Konsultation endet am 5. Mai 2025.", "de", ["2025-05-05"]),
        # the date comes first, what is due after its noun ("31 January is the deadline for")
        (
            "The consultation on parking charges closes on 10 January 2026.\n\nTax dates: 31 "
            "January 2026 is the deadline for self assessment claims and elections.",
            "en",
            ["2026-01-10"],
        ),
        (
            "The consultation on parking charges closes on 10 January 2026.\n\nTax dates: 31 "
            "January 2026 is the deadline for responses to the survey on the tax office.",
            "en",
            ["2026-01-10", "2026-01-31"],
        ),
        # what is due named after the date, or in the words before the noun
        (
            "Osservazioni sul piano del traffico entro il 30 maggio 2025.\n\n- In scadenza il "
            "16 giugno 2025 la presentazione della dichiarazione IVA.",
            "it",
            ["2025-05-30"],
        ),
        (
            "Osservazioni sul piano del traffico entro il 30 maggio 2025.\n\n- Dichiarazione IVA "
            "annuale in scadenza al 16 giugno 2025.",
            "it",
            ["2025-05-30"],
        ),
        (
            "Osservazioni sul piano del traffico entro il 30 maggio 2025.\n\n- In scadenza il "
            "16 giugno 2025 le domande di contributo per i negozi.",
            "it",
            ["2025-05-30", "2025-06-16"],
        ),
        # the date is the consultation's in its own clause; the report's deadline falls with it
        (
            "Comments on the tariff review are welcome until 30 April 2025, which is also the "
            "deadline for the annual accounts report.",
            "en",
            ["2025-04-30"],
        ),
    ],
)  # fmt: skip
def test_a_deadline_of_something_else_is_not_the_consultations(
    text: str, lang: str, want: list[str]
) -> None:
    assert _dates(text, lang) == want


@pytest.mark.parametrize(
    ("text", "lang", "want"),
    [
        # only words of handing in, about a tax return or a report: nothing to respond to
        (
            "Companies must submit their annual tax return by 31 January 2026. A return "
            "submitted late costs a penalty.",
            "en",
            [],
        ),
        ("Die Abgabefrist für die Steuererklärung 2024 endet am 31. Juli 2025.", "de", []),
        (
            "La déclaration annuelle des rejets est à transmettre avant le 15 mars 2025 ; le "
            "registre national est public.",
            "fr",
            [],
        ),
        # asking for more time for a return is no application
        (
            "Lukt de aangifte niet op tijd? U kunt tot 1 mei 2025 uitstel aanvragen.",
            "nl",
            [],
        ),
        (
            "U kunt tot 1 mei 2025 subsidie aanvragen voor isolatie; de betaling volgt later.",
            "nl",
            ["2025-05-01"],
        ),
        (
            "File your annual return by 31 January 2026; you can apply for a three-month "
            "extension.",
            "en",
            [],
        ),
        # a tax notice (avis d'impôt) is no opinion; a taxpayer is no contribution
        (
            "La date limite pour déposer votre déclaration est le jeudi 20 mai 2025. L'avis "
            "d'impôt arrive en juillet.",
            "fr",
            [],
        ),
        ("Donnez votre avis sur le projet jusqu'au 20 mai 2025.", "fr", ["2025-05-20"]),
        ("Os contribuintes têm até 30 de junho de 2025 para entregar o IRS.", "pt", []),
        ("Les contribuables ont jusqu'au 5 juin 2025 pour déclarer leurs revenus.", "fr", []),
        ("As contribuições podem ser enviadas até 30 de junho de 2025.", "pt", ["2025-06-30"]),
        # a response or a call is named too: its deadline stays
        ("Submit your views on the draft tax strategy by 31 January 2026.", "en", ["2026-01-31"]),
        (
            "Applications for the grant must be submitted by 5 May 2025; the fee is £10.",
            "en",
            ["2025-05-05"],
        ),
    ],
)
def test_a_notice_about_filing_a_return_has_no_deadline(
    text: str, lang: str, want: list[str]
) -> None:
    assert _dates(text, lang) == want


@pytest.mark.parametrize(
    ("text", "lang", "want"),
    [
        # a body whose name holds a consultation word is no consultation
        (
            "The operator sends its yearly report to the council before 1 June. The Consultative "
            "Committee on Local Services reads it too.",
            "en",
            [],
        ),
        (
            "Le délégataire remet son rapport avant le 30 septembre. Le comité consultatif des "
            "usagers en prend connaissance.",
            "fr",
            [],
        ),
        (
            "Der Betreiber legt den Bericht bis zum 30. Juni 2025 vor. Der Beteiligungsbeirat "
            "erhält eine Kopie.",
            "de",
            [],
        ),
        (
            "La relazione è trasmessa entro il 30 giugno 2025. La Consulta comunale per "
            "l'ambiente ne prende atto.",
            "it",
            [],
        ),
        (
            "El informe se remite antes del 30 de junio de 2025. El consejo consultivo lo examina.",
            "es",
            [],
        ),
        ("O relatório é enviado até 30 de junho de 2025. O conselho consultivo analisa-o.", "pt",
         []),
        # ... unless it asks for responses itself
        (
            "The Consultative Committee invites comments on its draft plan until 30 May 2025.",
            "en",
            ["2025-05-30"],
        ),
        (
            "Le comité consultatif lance une consultation publique jusqu'au 30 mai 2025.",
            "fr",
            ["2025-05-30"],
        ),
        # "registered" as an adjective is no registration; registering is
        ("Every registered charity must send its annual return by 31 January 2026.", "en", []),
        (
            "The company's registered office moves on 1 March 2025; accounts are due by 31 March "
            "2025.",
            "en",
            [],
        ),
        ("Register for the call by 30 April 2025.", "en", ["2025-04-30"]),
        (
            "If you have registered your interest in the call, you can apply until 30 April 2025.",
            "en",
            ["2025-04-30"],
        ),
        (
            "Participants must be registered by 30 April 2025 to submit a proposal.",
            "en",
            ["2025-04-30"],
        ),
    ],
)  # fmt: skip
def test_words_that_only_look_like_consultation_words(
    text: str, lang: str, want: list[str]
) -> None:
    assert _dates(text, lang) == want


@pytest.mark.parametrize(
    ("text", "want"),
    [
        # the date an extension started from is the old one, whatever the cue
        ("Have your say on the plan: deadline (extended from 5 March 2025) to send comments.", []),
        (
            "Consultation on the plan. Responses by 19 March 2025 (deadline extended from 5 March "
            "2025).",
            ["2025-03-19"],
        ),
    ],
)
def test_the_date_an_extension_started_from_is_old(text: str, want: list[str]) -> None:
    assert _dates(text) == want


def test_lists_of_the_consultation_taking_place_keep_its_end() -> None:
    text = (
        "The first round of consultation on the wind farm took place between 2 June 2024 and "
        "14 July 2024. It has now closed."
    )
    assert _dates(text) == ["2024-07-14"]
    assert _dates("The conference took place between 2 June 2024 and 4 June 2024.") == []


@pytest.mark.parametrize(
    ("text", "want"),
    [
        # a reopening: the old closing dates, told in the past, are superseded
        (
            "ACTION: Proposed rule; reopening of comment period.\nThe agency reopens the comment "
            "period. We asked for comments until January 9, 2025, and then accepted comments until "
            "February 3, 2025. Comments must be received on or before March 31, 2025.",
            ["2025-03-31"],
        ),
        (
            "ACTION: Extension of the public comment period.\nComments were to be submitted on or "
            "before February 2, 2025. The agency is extending the comment period; comments must be "
            "received on or before March 4, 2025.",
            ["2025-03-04"],
        ),
        (
            "The original comment period closed January 10, 2025. The agency is reopening the "
            "comment period; the comment closing date is February 24, 2025.",
            ["2025-02-24"],
        ),
        # reopened with no new date given: the old one is no longer the deadline
        (
            "The comment period on the proposed rule closed on January 5, 2025. The agency is "
            "reopening the public comment period for an additional 15 days.",
            [],
        ),
        # no move of the deadline: a closed consultation stays a (closed) deadline
        (
            "The consultation on the bus network closed on January 5, 2025. Thank you for your "
            "comments.",
            ["2025-01-05"],
        ),
        # an extension word that is not about the deadline
        ("Mine Life Extension | Submit a comment | closes 3 March 2025", ["2025-03-03"]),
    ],
)
def test_reopenings_supersede_the_old_dates(text: str, want: list[str]) -> None:
    assert _dates(text) == want


@pytest.mark.parametrize(
    ("text", "lang", "published", "want"),
    [
        # the end of a month after "until": its last day
        (
            "A consulta sobre o plano recebe contributos até final deste mês de outubro.",
            "pt",
            date(2025, 10, 6),
            ["2025-10-31"],
        ),
        (
            "A Câmara aceita, até ao final do mês, propostas para o orçamento participativo.",
            "pt",
            date(2025, 3, 4),
            ["2025-03-31"],
        ),
        (
            "Stellungnahmen zur Konsultation sind bis Ende März möglich.",
            "de",
            date(2025, 2, 1),
            ["2025-03-31"],
        ),
        # ... but not after a verb of something else ending
        (
            "The inquiry committees are due to finish by the end of November.",
            "en",
            date(2025, 7, 1),
            [],
        ),
        # a weekday with its date in brackets: the date
        (
            "O prazo para contribuições será estendido até a próxima segunda-feira (23/3).",
            "pt",
            date(2026, 3, 13),
            ["2026-03-23"],
        ),
        # "el próximo día 17": the next 17th
        (
            "El plazo de información pública del plan termina el próximo día 17.",
            "es",
            date(2025, 2, 8),
            ["2025-02-17"],
        ),
    ],
)
def test_relative_and_loose_dates(text: str, lang: str, published: date, want: list[str]) -> None:
    assert _dates(text, lang, published) == want


def test_a_relative_day_needs_the_items_date() -> None:
    text = "El plazo para inscribirse en la consulta vence el lunes."
    weak = find_deadlines(
        text, reference=PUBLISHED, timezone="Europe/Madrid", language="es",
        reference_is_strong=False,
    )  # fmt: skip
    assert weak == []
    assert _dates(text, "es") == ["2025-01-20"]


@pytest.mark.parametrize(
    ("text", "lang", "published", "want"),
    [
        # German verb-final: the date before "die Frist", the verb at the end
        (
            "Nachdem am 04.01.2025 die Frist für Stellungnahmen abgelaufen ist, ordnet die Behörde "
            "die Einwendungen.",
            "de",
            date(2025, 1, 10),
            ["2025-01-04"],
        ),
        # a consultation heading followed by its range
        (
            "Consultation publique 13/01 au 4/02/2025\n\nSommaire",
            "fr",
            date(2025, 1, 13),
            ["2025-02-04"],
        ),
        # a past consultation, year-less: the last such date so far
        (
            "O caderno reúne as contribuições recebidas na consulta pública realizada entre os "
            "últimos dias 29 de dezembro e 3 de janeiro.",
            "pt",
            date(2025, 1, 20),
            ["2025-01-03"],
        ),
        # ... but a future "será encerrado" is not past
        (
            "O prazo para contribuições agora será encerrado em 9 de fevereiro.",
            "pt",
            date(2025, 1, 31),
            ["2025-02-09"],
        ),
        # "until ... no new ones start" is not a deadline
        (
            "Tot 24 april 2025 starten er geen nieuwe openbare onderzoeken.",
            "nl",
            date(2025, 3, 25),
            [],
        ),
    ],
)
def test_word_order_and_labels(text: str, lang: str, published: date, want: list[str]) -> None:
    assert _dates(text, lang, published) == want


def _timed(text: str, lang: str, published: date) -> list[tuple[str, str | None]]:
    found = find_deadlines(text, reference=published, timezone="Europe/Brussels", language=lang)
    return [
        (
            d.local_date.isoformat(),
            None if d.local_time is None else d.local_time.isoformat("minutes"),
        )
        for d in found
    ]


@pytest.mark.parametrize(
    ("text", "lang", "published", "want"),
    [
        # a fronted date with its time before it ("At 5pm on Monday, ..."), against the item date
        (
            "At 5pm on Monday, the consultation period will come to an end.",
            "en",
            date(2025, 1, 17),
            [("2025-01-20", "17:00")],
        ),
        # a timeline line: date, time, then its label
        (
            "Calendrier\n28 mai 2025 à 11h dépôt du dossier de candidature",
            "fr",
            date(2025, 5, 1),
            [("2025-05-28", "11:00")],
        ),
        # one date said twice, once with its time: the copy with the time
        (
            "Per le domande c'è tempo fino al 15 novembre. Il bando è prorogato fino alle "
            "ore 23:59 del 15 novembre 2025.",
            "it",
            date(2025, 11, 1),
            [("2025-11-15", "23:59")],
        ),
    ],
)
def test_times_kept(text: str, lang: str, published: date, want: list[tuple[str, str]]) -> None:
    assert _timed(text, lang, published) == want


def test_the_public_analysing_a_draft_is_a_deadline() -> None:
    text = "A minuta da consulta poderá ser analisada pela população até o dia 2 de julho."
    assert _dates(text, "pt", date(2025, 4, 1)) == ["2025-07-02"]


def test_booking_a_slot_to_speak_is_a_deadline() -> None:
    text = (
        "Anyone who wants to speak can book a speaking slot with the contact by March 13, 2025. "
        "Walk-in registration is possible on the day."
    )
    assert _dates(text) == ["2025-03-13"]


def test_a_viewing_period_gives_way_to_the_response_deadline() -> None:
    both = (
        "Planfeststellungsverfahren Ortsumgehung\n\nDie Unterlagen können vom 3.03.2025 bis "
        "einschließlich 2.04.2025 in den Gemeinden eingesehen werden.\n\n"
        "Die Einwendungsfrist endet am 16.04.2025."
    )
    assert _dates(both, "de") == ["2025-04-16"]
    alone = (
        "Planfeststellungsverfahren Ortsumgehung\n\nDie Unterlagen zur Anhörung können vom "
        "3.03.2025 bis einschließlich 2.04.2025 eingesehen werden."
    )
    assert _dates(alone, "de") == ["2025-04-02"]
