"""Invented notices in the seven languages, one sentence or two each, as a sweep over the
association rules (issue 11): what a reader would take as the closing date, with its time."""

from __future__ import annotations

from datetime import date

import pytest

from feeds.deadlines import find_deadlines

PUBLISHED = date(2025, 2, 1)  # a Saturday


def _found(text: str, lang: str) -> list[str]:
    found = find_deadlines(text, reference=PUBLISHED, timezone="Europe/Brussels", language=lang)
    return [
        d.local_date.isoformat()
        + ("" if d.local_time is None else " " + d.local_time.isoformat("minutes"))
        for d in found
    ]


DATES = [
    (
        "en",
        "The consultation opened on 3 March 2025 and will close on 28 April 2025.",
        ["2025-04-28"],
    ),
    (
        "en",
        (
            "Following requests, we have extended the deadline for responses to 30 May "
            "2025. The original deadline was 16 May 2025."
        ),
        ["2025-05-30"],
    ),
    ("en", "The consultation closed on 16 May 2025. We received 300 responses.", ["2025-05-16"]),
    ("en", "Have your say on the bus plan by the end of June.", ["2025-06-30"]),
    ("en", "Responses are invited by midnight on 4 April 2025.", ["2025-04-04"]),
    ("en", "The survey is open until 11:59pm on Sunday 6 April 2025.", ["2025-04-06"]),
    (
        "en",
        "The new rules will apply from 1 July 2025. The consultation closes on 2 May 2025.",
        ["2025-05-02"],
    ),
    ("en", "If you want to comment, please do so before 5pm on 9 May 2025.", ["2025-05-09"]),
    (
        "en",
        (
            "Applications for the grant scheme must be submitted by 12 noon on 14 "
            "March 2025. Grants will be awarded by 30 April 2025."
        ),
        ["2025-03-14"],
    ),
    (
        "en",
        "The consultation period has been extended until 20 June 2025 (previously 6 June 2025).",
        ["2025-06-20"],
    ),
    ("fr", "La consultation publique est ouverte du 3 mars au 4 avril 2025.", ["2025-04-04"]),
    (
        "fr",
        "Les contributions peuvent être déposées jusqu'au 15 mai 2025 à minuit.",
        ["2025-05-15"],
    ),
    ("fr", "L'enquête publique se déroulera du 2 au 30 juin 2025 inclus.", ["2025-06-30"]),
    ("de", "Die Konsultation läuft bis zum 30. Juni 2025.", ["2025-06-30"]),
    (
        "de",
        (
            "Stellungnahmen können bis 15. Mai 2025 eingereicht werden. Die Frist "
            "wurde bis 30. Mai 2025 verlängert."
        ),
        ["2025-05-30"],
    ),
    ("de", "Die Verordnung tritt am 1. Juli 2025 in Kraft.", []),
    ("it", "La consultazione pubblica è aperta fino al 30 aprile 2025.", ["2025-04-30"]),
    (
        "it",
        "Le domande devono essere presentate entro le ore 12:00 del 15 maggio 2025.",
        ["2025-05-15"],
    ),
    (
        "es",
        "El plazo de presentación de alegaciones finaliza el 30 de abril de 2025.",
        ["2025-04-30"],
    ),
    (
        "es",
        "Se amplía el plazo de la consulta pública hasta el 15 de mayo de 2025.",
        ["2025-05-15"],
    ),
    ("es", "La consulta pública estará abierta del 1 al 31 de marzo de 2025.", ["2025-03-31"]),
    ("es", "Si la solicitud se presenta después del 30 de abril, no será admitida.", []),
    ("nl", "U kunt reageren tot en met 14 mei 2025.", ["2025-05-14"]),
    ("nl", "De zienswijzetermijn loopt van 3 maart tot en met 14 april 2025.", ["2025-04-14"]),
    ("pt", "As contribuições podem ser enviadas até 30 de junho de 2025.", ["2025-06-30"]),
    ("pt", "O prazo da consulta pública foi prorrogado até 15 de julho de 2025.", ["2025-07-15"]),
    ("pt", "A consulta pública decorre de 2 a 30 de maio de 2025.", ["2025-05-30"]),
    (
        "en",
        "The hearing will take place on 5 May 2025. Written comments are due by 19 May 2025.",
        ["2025-05-19"],
    ),
    ("en", "The consultation took place from 1 March to 30 April 2024.", ["2024-04-30"]),
    ("en", "Public consultation: 3 February 2025 - 14 March 2025", ["2025-03-14"]),
    ("en", "The agency is reopening the comment period until June 9, 2025.", ["2025-06-09"]),
    (
        "en",
        "The comment period, which ended on May 1, 2025, is reopened until June 9, 2025.",
        ["2025-06-09"],
    ),
    (
        "fr",
        "Consultation sur le plan vélo. La date limite initialement fixée au 15 mai 2025 est "
        "reportée au 30 mai 2025.",
        ["2025-05-30"],
    ),
    (
        "it",
        "Consultazione sul piano. Il termine, inizialmente fissato al 15 maggio, è prorogato al "
        "31 maggio 2025.",
        ["2025-05-31"],
    ),
    (
        "es",
        "Consulta sobre el plan. El plazo, que vencía el 15 de mayo, se ha ampliado hasta el 30 "
        "de mayo de 2025.",
        ["2025-05-30"],
    ),
    (
        "de",
        "Konsultation zum Lärmplan. Die ursprünglich bis 15. Mai laufende Frist wurde bis 30. Mai "
        "2025 verlängert.",
        ["2025-05-30"],
    ),
    (
        "nl",
        "Consultatie over het plan. De termijn is verlengd tot 30 mei 2025; eerder was dat 15 mei "
        "2025.",
        ["2025-05-30"],
    ),
]


@pytest.mark.parametrize(("lang", "text", "want"), DATES)
def test_the_closing_date(lang: str, text: str, want: list[str]) -> None:
    assert [found.split()[0] for found in _found(text, lang)] == want


NOT_DEADLINES = [
    ("en", "The council will decide on the plan by 30 June 2025, after the consultation ended."),
    (
        "en",
        (
            "The new bus timetable starts on 3 March 2025. A consultation on fares is "
            "planned for the autumn."
        ),
    ),
    (
        "en",
        (
            "Roadworks on the High Street will end on 14 March 2025, the council said in "
            "response to questions."
        ),
    ),
    ("en", "The exhibition runs until 30 April 2025 at the museum."),
    (
        "en",
        (
            "The offer is valid until 31 March 2025. Comments about the service can be "
            "sent any time."
        ),
    ),
    ("en", "The consultation report, published on 3 March 2025, summarises 400 responses."),
    ("en", "Registration for the public meeting closes on 10 March 2025."),
    (
        "en",
        (
            "The minister said the review would be completed before the end of the year "
            "and responses would be published."
        ),
    ),
    (
        "fr",
        (
            "Les travaux se termineront le 30 avril 2025, a indiqué la mairie, qui a "
            "répondu aux questions."
        ),
    ),
    (
        "fr",
        ("L'exposition est ouverte jusqu'au 30 avril 2025. Une consultation aura lieu plus tard."),
    ),
    (
        "fr",
        (
            "Le ministre a annoncé le 3 mars 2025 que les résultats de la consultation "
            "seront publiés en juin."
        ),
    ),
    ("de", "Die Bauarbeiten dauern bis zum 30. April 2025, teilte die Stadt auf Anfrage mit."),
    ("de", "Die Ausstellung ist bis 30. April 2025 geöffnet. Eine Beteiligung ist später geplant."),
    ("de", "Das Gesetz gilt bis zum 31. Dezember 2026; eine Konsultation zur Verlängerung folgt."),
    (
        "it",
        (
            "I lavori termineranno entro il 30 aprile 2025, ha comunicato il Comune "
            "rispondendo alle domande."
        ),
    ),
    ("it", "La mostra resterà aperta fino al 30 aprile 2025."),
    ("es", "Las obras finalizarán el 30 de abril de 2025, según respondió el Ayuntamiento."),
    ("es", "La exposición estará abierta hasta el 30 de abril de 2025."),
    ("nl", "De werkzaamheden duren tot 30 april 2025, aldus de gemeente in een reactie."),
    ("nl", "De tentoonstelling is te zien tot en met 30 april 2025."),
    ("pt", "As obras terminam em 30 de abril de 2025, respondeu a prefeitura."),
    ("pt", "A exposição fica aberta até 30 de abril de 2025."),
    (
        "en",
        (
            "London, 3 March 2025 - The council published the results of its "
            "consultation on parking, which closed in January."
        ),
    ),
    ("en", "The licence expires on 31 December 2026. The consultation on its renewal is now open."),
    ("en", "The new service starts no later than 1 September 2025, following the consultation."),
    ("en", "The consultation workshop will be held on 12 March 2025 at the town hall."),
    ("en", "Under the Act, councils must consult for at least 28 days before 1 April each year."),
    ("en", "The Regulation applies until 31 December 2030; the Commission consults on its review."),
    (
        "en",
        "Businesses have until 30 June 2025 to comply with the new rules, after the consultation.",
    ),
    ("fr", "Le règlement expire le 31 décembre 2027. Une consultation sur sa révision est prévue."),
    ("fr", "La réunion publique de concertation aura lieu le 12 mars 2025 à 18h."),
    ("de", "Die Informationsveranstaltung zur Beteiligung findet am 12. März 2025 statt."),
    ("de", "Die Genehmigung gilt bis 31. Dezember 2027. Eine Anhörung ist geplant."),
    ("es", "La jornada de participación se celebrará el 12 de marzo de 2025."),
    ("it", "Il convegno sulla consultazione si terrà il 12 marzo 2025."),
    ("nl", "De informatiebijeenkomst over de inspraak vindt plaats op 12 maart 2025."),
    ("pt", "A audiência pública sobre a consulta será realizada no dia 12 de março de 2025."),
    (
        "pt",
        (
            "O contrato de concessão termina em 31 de dezembro de 2030; a consulta "
            "pública avalia a renovação."
        ),
    ),
    ("en", "Results of the consultation will be published by 30 June 2025."),
    ("en", "The consultation was suspended until 1 April 2025 because of the election."),
    ("es", "Las ayudas se concederán antes del 30 de junio de 2025, tras la convocatoria."),
]


@pytest.mark.parametrize(("lang", "text"), NOT_DEADLINES)
def test_no_deadline(lang: str, text: str) -> None:
    assert _found(text, lang) == []


WITH_TIMES = [
    (
        "en",
        ("Responses must be received by noon on 14 March 2025 for the consultation."),
        ["2025-03-14 12:00"],
    ),
    ("en", "The consultation closes at midnight on 14 March 2025.", ["2025-03-14 23:59"]),
    ("fr", "La consultation est ouverte jusqu'au 14 mars 2025 à minuit.", ["2025-03-14 23:59"]),
    ("de", "Die Beteiligung endet am 14. März 2025 um Mitternacht.", ["2025-03-14 23:59"]),
    ("it", "La consultazione si chiude il 14 marzo 2025 alle ore 24:00.", ["2025-03-14 23:59"]),
    (
        "es",
        ("La consulta pública finaliza el 14 de marzo de 2025 a medianoche."),
        ["2025-03-14 23:59"],
    ),
    (
        "nl",
        ("U kunt tot 14 maart 2025 om middernacht reageren op de consultatie."),
        ["2025-03-14 23:59"],
    ),
    (
        "pt",
        ("As contribuições à consulta podem ser enviadas até às 23h59 do dia 14 de março de 2025."),
        ["2025-03-14 23:59"],
    ),
    ("pt", "A consulta pública termina à meia-noite de 14 de março de 2025.", ["2025-03-14 23:59"]),
    (
        "en",
        ("The survey closes on 14 March 2025. There is no time limit on the day."),
        ["2025-03-14"],
    ),
    ("de", "Stellungnahmen zur Konsultation bis 14.03.2025, 12:00 Uhr.", ["2025-03-14 12:00"]),
    (
        "nl",
        ("Reageren op de consultatie kan tot en met vrijdag 14 maart 2025, 17.00 uur."),
        ["2025-03-14 17:00"],
    ),
    (
        "en",
        ("Comments on the draft approved by the Board must be received by 5 May 2025."),
        ["2025-05-05"],
    ),
    ("en", "Grants will be awarded by 30 April 2025.", []),
    (
        "en",
        ("Responses to the consultation announced last week are due by 5 May 2025."),
        ["2025-05-05"],
    ),
    (
        "it",
        ("Le osservazioni sul piano approvato dalla Giunta vanno inviate entro il 5 maggio 2025."),
        ["2025-05-05"],
    ),
    (
        "es",
        (
            "Las alegaciones al plan aprobado inicialmente podrán presentarse hasta el 5 "
            "de mayo de 2025."
        ),
        ["2025-05-05"],
    ),
    (
        "pt",
        (
            "As contribuições sobre a minuta aprovada pelo conselho podem ser enviadas até "
            "5 de maio de 2025."
        ),
        ["2025-05-05"],
    ),
    (
        "fr",
        ("Les observations sur le projet adopté par le conseil sont reçues jusqu'au 5 mai 2025."),
        ["2025-05-05"],
    ),
    (
        "de",
        ("Stellungnahmen zum beschlossenen Entwurf können bis 5. Mai 2025 abgegeben werden."),
        ["2025-05-05"],
    ),
    (
        "nl",
        ("Zienswijzen op het vastgestelde ontwerp kunt u tot 5 mei 2025 indienen."),
        ["2025-05-05"],
    ),
    (
        "de",
        (
            "Die öffentliche Auslegung findet vom 3. März bis 4. April 2025 statt. "
            "Einwendungen können bis zum 18. April 2025 erhoben werden."
        ),
        ["2025-04-18"],
    ),
    (
        "fr",
        ("La consultation, close le 5 mai 2025, est rouverte jusqu'au 30 juin 2025."),
        ["2025-06-30"],
    ),
    (
        "fr",
        ("La consultation s'est achevée le 5 mai 2025. Merci pour vos contributions."),
        ["2025-05-05"],
    ),
    (
        "de",
        ("Die Beteiligung endete am 5. Mai 2025. Sie wird bis zum 30. Juni 2025 wiedereröffnet."),
        ["2025-06-30"],
    ),
    (
        "es",
        ("La consulta, que cerró el 5 de mayo de 2025, se reabre hasta el 30 de junio de 2025."),
        ["2025-06-30"],
    ),
    (
        "it",
        ("La consultazione, chiusa il 5 maggio 2025, è riaperta fino al 30 giugno 2025."),
        ["2025-06-30"],
    ),
    (
        "nl",
        ("De consultatie sloot op 5 mei 2025 en wordt heropend tot 30 juni 2025."),
        ["2025-06-30"],
    ),
    (
        "pt",
        (
            "A consulta pública, encerrada em 5 de maio de 2025, foi reaberta até 30 de "
            "junho de 2025."
        ),
        ["2025-06-30"],
    ),
    (
        "en",
        (
            "The plans can be inspected at the civic centre until 14 March 2025. "
            "Representations must be made by 28 March 2025."
        ),
        ["2025-03-28"],
    ),
    (
        "nl",
        (
            "Het ontwerp ligt ter inzage van 3 maart tot en met 14 april 2025. Zienswijzen "
            "kunt u tot en met 14 april 2025 indienen."
        ),
        ["2025-04-14"],
    ),
    (
        "fr",
        (
            "Le dossier est consultable en mairie du 3 au 31 mars 2025. Les observations "
            "peuvent être déposées jusqu'au 31 mars 2025."
        ),
        ["2025-03-31"],
    ),
    (
        "en",
        ("Applications open on 3 March 2025 and close on 28 March 2025 at noon."),
        ["2025-03-28 12:00"],
    ),
    ("en", "Consultation: 3 March 2025 – 28 March 2025", ["2025-03-28"]),
    ("en", "The consultation will close at 23:59 on 28 March 2025.", ["2025-03-28 23:59"]),
    ("de", "Stellungnahmen bitte bis spätestens 28. März 2025, 12 Uhr.", ["2025-03-28 12:00"]),
    ("en", "We extended the survey by two weeks. It now closes on 28 March 2025.", ["2025-03-28"]),
    (
        "en",
        "Last chance to have your say: the consultation on the library closes at midnight today.",
        ["2025-02-01 23:59"],
    ),
    ("en", "The consultation closes tomorrow at 5pm.", ["2025-02-02 17:00"]),
    (
        "en",
        (
            "Brussels, 28 January 2025. The Commission has launched a consultation on "
            "water reuse, open until 25 April 2025."
        ),
        ["2025-04-25"],
    ),
    (
        "en",
        "Comments must be received by 11:59 p.m. Eastern Time on March 3, 2025.",
        ["2025-03-03 23:59"],
    ),
    (
        "en",
        (
            "The deadline for comments on the proposed rule was extended from February "
            "10, 2025 to March 12, 2025."
        ),
        ["2025-03-12"],
    ),
    (
        "en",
        "The call for evidence ran from 3 January to 31 January 2025 and is now closed.",
        ["2025-01-31"],
    ),
    (
        "en",
        (
            "We will publish a summary of responses by 30 June 2025. The consultation "
            "closed on 20 January 2025."
        ),
        ["2025-01-20"],
    ),
    (
        "en",
        "Register for the webinar by 10 March 2025. Comments on the plan are due 31 March 2025.",
        ["2025-03-31"],
    ),
    ("fr", "La concertation préalable s'est tenue du 6 janvier au 7 février 2025.", ["2025-02-07"]),
    (
        "fr",
        "Paris, le 3 février 2025 – La consultation est ouverte jusqu'au 3 mars 2025 à 12h.",
        ["2025-03-03 12:00"],
    ),
    (
        "fr",
        (
            "La période de consultation, prolongée jusqu'au 21 mars 2025, permet à "
            "chacun de donner son avis."
        ),
        ["2025-03-21"],
    ),
    (
        "de",
        (
            "Berlin, 3. Februar 2025. Die Beteiligung läuft bis einschließlich 3. März "
            "2025, 24:00 Uhr."
        ),
        ["2025-03-03 23:59"],
    ),
    (
        "de",
        "Die Frist zur Stellungnahme wurde vom 14. Februar auf den 28. Februar 2025 verlängert.",
        ["2025-02-28"],
    ),
    (
        "de",
        "Einwendungen sind spätestens zwei Wochen nach Ablauf der Auslegungsfrist zu erheben.",
        [],
    ),
    (
        "it",
        (
            "Roma, 3 febbraio 2025 - La consultazione resterà aperta fino alle ore "
            "18:00 del 3 marzo 2025."
        ),
        ["2025-03-03 18:00"],
    ),
    (
        "it",
        "Il termine per la presentazione delle osservazioni scade il 3 marzo 2025.",
        ["2025-03-03"],
    ),
    (
        "es",
        (
            "Madrid, 3 de febrero de 2025. El plazo para presentar alegaciones "
            "finaliza el 3 de marzo de 2025 a las 14:00 horas."
        ),
        ["2025-03-03 14:00"],
    ),
    ("es", "La consulta estuvo abierta del 1 al 15 de enero de 2025.", ["2025-01-15"]),
    (
        "nl",
        "Den Haag, 3 februari 2025. U kunt tot en met 3 maart 2025 uw zienswijze indienen.",
        ["2025-03-03"],
    ),
    ("nl", "De termijn voor zienswijzen is verlengd tot 17 maart 2025.", ["2025-03-17"]),
    (
        "pt",
        (
            "Lisboa, 3 de fevereiro de 2025 – A consulta pública decorre até às 23h59 "
            "de 3 de março de 2025."
        ),
        ["2025-03-03 23:59"],
    ),
    ("pt", "O prazo de envio de contribuições termina amanhã.", ["2025-02-02"]),
]


@pytest.mark.parametrize(("lang", "text", "want"), WITH_TIMES)
def test_the_closing_date_and_time(lang: str, text: str, want: list[str]) -> None:
    assert _found(text, lang) == want
