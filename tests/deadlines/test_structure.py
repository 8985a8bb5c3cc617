"""Deadlines a page states by its structure (issue 11): a heading above a range, a timeline's
date above its label, lists of consultations with status words, tables (a header over two
date cells, the table's heading), start and end labels, lettered list items. Every example is
invented, in the shape real notices take, in the seven languages."""

from __future__ import annotations

from datetime import date

import pytest

from feeds.deadlines import find_deadlines
from feeds.deadlines.layout import lay_out
from feeds.deadlines.sentences import split_sentences

PUBLISHED = date(2025, 2, 1)


def _dates(text: str, lang: str) -> list[str]:
    found = find_deadlines(text, reference=PUBLISHED, timezone="Europe/Brussels", language=lang)
    return sorted({d.local_date.isoformat() for d in found})


@pytest.mark.parametrize(
    ("lang", "text", "want"),
    [
        # a heading that names a consultation, a bare range under it (or after it on its line)
        ("en", "Public consultation on the bus network\n\n2 March 2025 – 9 April 2025",
         ["2025-04-09"]),
        ("de", "Online-Beteiligung zum Radverkehrskonzept\n2.2. - 14.3.2025", ["2025-03-14"]),
        ("fr", "Consultation publique\nDocuments\nConsultation publique 13/11 au 4/12/2025",
         ["2025-12-04"]),
        ("fr", "Consultation publique sur le plan vélo\n\ndu 3 mars au 14 avril 2025",
         ["2025-04-14"]),
        ("it", "Consultazione pubblica sul piano del traffico\n\n3 marzo - 14 aprile 2025",
         ["2025-04-14"]),
        ("es", "Consulta pública sobre el plan de movilidad\n\n3 de marzo - 14 de abril de 2025",
         ["2025-04-14"]),
        ("nl", "Inspraak over het verkeersplan\n\n3 maart - 14 april 2025", ["2025-04-14"]),
        ("pt", "Consulta pública sobre o plano de mobilidade\n\n3 de março a 14 de abril de 2025",
         ["2025-04-14"]),
        # a timeline: each date above its label
        ("en", "Key dates\n\n06 May → 07 June 2025\nConsultation period\nTell us your views.\n\n"
               "30 June 2025\nHearings", ["2025-06-07"]),
        ("en", "Key dates\n\n22 November 2024 → 31 January 2025\nFirst public consultation\n\n"
               "18 May 2025\nReport to Council", ["2025-01-31"]),
        ("en", "Timeline\n\n3 March 2025\nConsultation opens\n\n14 April 2025\n"
               "Consultation closes\n\n30 May 2025\nDecision", ["2025-04-14"]),
        ("es", "Calendario\n\n3 de marzo de 2025\nApertura de la consulta\n\n14 de abril de 2025\n"
               "Cierre de la consulta", ["2025-04-14"]),
        ("pt", "Cronograma\n\n3 de março de 2025\nAbertura da consulta\n\n14 de abril de 2025\n"
               "Encerramento da consulta", ["2025-04-14"]),
        # lists of consultations, with status words before or after the range
        ("de", "Konsultationen\n- Lärmschutz (laufend, 2.2. - 28.4.2025)\n"
               "- Wasserrecht (abgeschlossen, 23.01 - 28.02.2025)", ["2025-02-28", "2025-04-28"]),
        ("it", "Consultazioni\n- Piano del traffico (aperta, 03.03.2025 - 14.04.2025)\n"
               "- Illuminazione (chiusa, 06.01.2025 - 14.02.2025)", ["2025-02-14", "2025-04-14"]),
        ("nl", "Consultaties\n- Verkeersplan (open, 3 maart - 14 april 2025)\n"
               "- Verlichting (gesloten, 6 januari - 14 februari 2025)",
         ["2025-02-14", "2025-04-14"]),
        ("de", "Vernehmlassungen\nÄnderung des Energiegesetzes 2.2. - 28.4.2025 offen\n"
               "Revision der Bauordnung 23.01 - 28.02.2025 abgeschlossen",
         ["2025-02-28", "2025-04-28"]),
        ("de", "Laufende Konsultationen\nWasserstrategie: 12.03. - 30.04.2025\n"
               "Abfallplan: 01.03. - 15.04.2025", ["2025-04-15", "2025-04-30"]),
        # tables: the heading they stand under, a header over two date cells, end columns
        ("en", "Public comment periods\nProject | Comment period\n"
               "North Mine | 3 March 2025 | 14 April 2025\n"
               "South Mine | 10 March 2025 | 21 April 2025", ["2025-04-14", "2025-04-21"]),
        ("en", "Project | Details | Comment Period\n"
               "Lake Road | Submit a comment | Mon, Oct 6, 2025 | Wed, Nov 5", ["2025-11-05"]),
        ("de", "Konsultationen\nThema | Beginn | Ende\nLärmschutz | 03.03.2025 | 14.04.2025",
         ["2025-04-14"]),
        ("pt", "Consultas públicas\nTema | Início | Fim\nPlano de mobilidade | 03/03/2025 | "
               "14/04/2025", ["2025-04-14"]),
        # a one-day step of a schedule is no period; handing something in on one day is
        ("es", "Cronograma de la convocatoria\nEtapa | Fecha de inicio | Fecha de fin\n"
               "Publicación | 02/03/2025 | 02/03/2025\nConsultas | 03/03/2025 | 10/03/2025\n"
               "Presentación de propuestas | 20/03/2025 | 20/03/2025\n"
               "Evaluación | 25/03/2025 | 25/03/2025", ["2025-03-10", "2025-03-20"]),
        # what a page's text makes of tables and lists: blank lines between rows, bullets
        ("en", "Open consultations\n\nScheme | Opens | Closes\n\nRiver Plan | 3 March 2025 | "
               "14 April 2025\n\nPark Plan | 10 March 2025 | 21 April 2025",
         ["2025-04-14", "2025-04-21"]),
        ("en", "Key dates\n- 06 May → 07 June 2025\n- Consultation period\n- 30 June 2025\n"
               "- Hearings", ["2025-06-07"]),
        ("es", "Convocatoria de ayudas\n\nPlazo de presentación\n\n\n\nDel 3 al 28 de marzo de "
               "2025.", ["2025-03-28"]),
        # empty cells keep their column; a revised deadline replaces its own row's only
        ("en", "Open consultations\nScheme | Opens | Deadline | Revised deadline\n"
               "River Plan | 03-Feb-25 | 14-Mar-25 | \nLake Plan | 03-Feb-25 | 14-Mar-25 | "
               "11-Apr-25", ["2025-03-14", "2025-04-11"]),
        ("en", "Open consultations\n| Scheme | Opens | Closes |\n|---|---|---|\n"
               "| River Plan |  | 14 March 2025 |", ["2025-03-14"]),
        # forms: a status line, start and end fields, in each language
        ("it", "Consultazione\nStato: aperta\nApertura: 3 marzo 2025\nChiusura: 14 aprile 2025",
         ["2025-04-14"]),
        ("nl", "Consultatie\nStatus: open\nOpening: 3 maart 2025\nSluiting: 14 april 2025",
         ["2025-04-14"]),
        ("fr", "Consultation\nStatut : ouverte\nOuverture : 3 mars 2025\nClôture : 14 avril 2025",
         ["2025-04-14"]),
        ("nl", "Terinzagelegging\nTermijn: 3 maart 2025 tot en met 14 april 2025", ["2025-04-14"]),
        # a title with a worded range
        ("fr", "Consultation publique 13/11 au 4/12/2025", ["2025-12-04"]),
        # start and end labels: the end
        ("en", "Consultation on parking\nStart date\n1 May 2025\nEnd date\n30 June 2025",
         ["2025-06-30"]),
        ("de", "Konsultation zum Parken\nBeginn: 1. Mai 2025\nEnde: 30. Juni 2025",
         ["2025-06-30"]),
        ("it", "Consultazione sul parcheggio\nData di inizio: 1 maggio 2025\n"
               "Data di fine: 30 giugno 2025", ["2025-06-30"]),
        ("pt", "Consulta pública sobre estacionamento\nData de início: 1 de maio de 2025\n"
               "Data de fim: 30 de junho de 2025", ["2025-06-30"]),
        # what is handed in by the date, as a label or in a timeline (with its time)
        ("fr", "Appel à projets\n\nCalendrier\n28 mai 2025 à 11h dépôt des dossiers de "
               "candidature", ["2025-05-28"]),
        ("fr", "Appel à projets\nDépôt des dossiers : 28 mai 2025", ["2025-05-28"]),
        ("fr", "Calendrier de l'appel\nOuverture de la plateforme en ligne pour les porteurs\n"
               "12 juin 2025 à 12h dépôt des candidatures", ["2025-06-12"]),
        # ... and a hard-wrapped sentence still joins its date
        ("fr", "Les contributions à la consultation sont attendues jusqu'au\n14 avril 2025.",
         ["2025-04-14"]),
        ("pt", "Edital de apoio\nInscrições: 3 a 28 de março de 2025", ["2025-03-28"]),
        # a year-less numeric range ends with its dot, not a sentence's
        ("de", "Konsultationen\n• Lärmschutz: 28.10. - 30.11.", ["2025-11-30"]),
        # cards: a status line between the title and the range
        ("en", "Parking consultation\nOpen\n3 March 2025 - 14 April 2025", ["2025-04-14"]),
        ("nl", "Lopende consultaties\n\nVerkeersplan Oost\n3 maart 2025 - 14 april 2025\n\n"
               "Groenplan\n10 maart 2025 - 21 april 2025", ["2025-04-14", "2025-04-21"]),
        # a label over a range with times inside it: the end
        ("es", "Consulta pública\nPLAZO: DEL DIA 3 de MARZO a las 00:00 horas AL DÍA 14 de ABRIL "
               "a las 23:59 horas.", ["2025-04-14"]),
    ],
)  # fmt: skip
def test_structure_states_the_deadline(lang: str, text: str, want: list[str]) -> None:
    assert _dates(text, lang) == want


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        # a date under a consultation heading is a dateline, not a deadline
        ("en", "Public consultation on noise\n12 March 2025\nThe council published its plan."),
        # ranges with nothing to respond to, or under an events heading
        ("en", "Annual report 2024\nFinancial year 1 April 2024 – 31 March 2025"),
        ("en", "Consultation events\nWorkshop 3 – 5 March 2025\nHearing 10 – 11 March 2025"),
        ("fr", "Exposition au musée\n\ndu 3 mars au 14 avril 2025"),
        # a range of something else: a financial year, a validity, a timetable, a week
        ("en", "Consultation on the budget\nBudget period 1 April 2025 – 31 March 2026"),
        ("de", "Beteiligung\nGültigkeit: 01.01.2025 - 31.12.2025"),
        ("en", "Planning applications\nWeek 3 March – 9 March 2025"),
        ("de", "Konsultation\n\nDie Verordnung gilt vom 1.1.2025 - 31.12.2027."),
        # running text is not a listing line
        ("de", "Konsultation zum Haushalt\n\nDas Haushaltsjahr läuft vom 01.01.2025 - 31.12.2025 "
               "und wurde im Rat beraten, wie jedes Jahr üblich ist."),
    ],
)  # fmt: skip
def test_structure_invents_no_deadline(lang: str, text: str) -> None:
    assert _dates(text, lang) == []


def test_a_section_ends_at_an_events_heading() -> None:
    text = (
        "Open consultations\n- Parking charges (open, 3 March – 14 April 2025)\n\n"
        "Upcoming events\n- Farmers market 3–5 May 2025\n- Summer fair 12 – 14 June 2025"
    )
    assert _dates(text, "en") == ["2025-04-14"]


def test_a_timeline_label_belongs_to_the_date_above_it() -> None:
    joined = lay_out("3 March 2025\nConsultation opens\n\n14 April 2025\nConsultation closes")[0]
    assert joined.text == "3 March 2025 Consultation opens\n\n14 April 2025 Consultation closes"
    labels_first = lay_out("Start date\n1 May 2025\nEnd date\n30 June 2025")[0]
    assert labels_first.text == "Start date 1 May 2025\nEnd date 30 June 2025"
    # without blank lines, the page's first join says which way it goes
    dates_first = lay_out("3 March 2025\nSurvey opens\n14 April 2025\nSurvey closes")[0]
    assert dates_first.text == "3 March 2025 Survey opens\n14 April 2025 Survey closes"
    closing_first = lay_out("Closing date\n14 April 2025\nOpening date\n3 March 2025")[0]
    assert closing_first.text == "Closing date 14 April 2025\nOpening date 3 March 2025"


def test_a_table_row_is_read_under_the_table_heading() -> None:
    blocks = lay_out("Open consultations\nScheme | Closes\nRiver Plan | 14 April 2025")
    assert blocks[1].text == "Open consultations\nRiver Plan\nCloses: 14 April 2025"
    assert blocks[1].quote == "River Plan | 14 April 2025"


def test_lettered_items_after_an_introduction_are_sentences_of_their_own() -> None:
    text = "The period is longer:\na. by three weeks in summer;\nb) by two weeks at Christmas."
    assert [s.text for s in split_sentences(text)] == [
        "The period is longer:",
        "a. by three weeks in summer;",
        "b) by two weeks at Christmas.",
    ]
    # a sentence that runs on into its items stays one sentence
    running = "The period is longer if the consultation\na. covers the summer;"
    assert len(split_sentences(running)) == 1


@pytest.mark.parametrize(
    ("lang", "text", "labels"),
    [
        ("de", "Konsultationen\n- Lärmschutz (laufend, 2.2. - 28.4.2025)\n"
               "- Wasserrecht (abgeschlossen, 23.01 - 28.02.2025)", ["Lärmschutz", "Wasserrecht"]),
        ("en", "Open consultations\nScheme | Opens | Closes\nRiver Plan | 3 March 2025 | "
               "14 April 2025", ["River Plan"]),
        ("nl", "Lopende consultaties\n\nVerkeersplan Oost\n3 maart 2025 - 14 april 2025",
         ["Verkeersplan Oost"]),
        ("en", "Key dates\n\n22 November 2024 → 31 January 2025\nFirst public consultation",
         ["First public consultation"]),
        # a field's label is no name ("Durée :"), nor is what follows the range ("inclus")
        ("fr", "Enquête publique\nDurée : du lundi 3 mars 2025 au lundi 14 avril 2025 inclus",
         ["enquête publique"]),
        # a label that is a cue stays the deadline's own label
        ("en", "Feedback period 18 May 2025 - 15 June 2025", ["feedback period"]),
    ],
)  # fmt: skip
def test_a_listed_thing_is_named_by_its_item(lang: str, text: str, labels: list[str]) -> None:
    found = find_deadlines(text, reference=PUBLISHED, timezone="Europe/Brussels", language=lang)
    assert [d.label for d in found] == labels
