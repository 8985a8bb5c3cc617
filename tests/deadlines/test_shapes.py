"""The shapes real notices take (issue 11), each in an invented example: layouts, word order,
languages, extensions, relative days, times, and the dates that are not deadlines."""

from __future__ import annotations

from datetime import date

import pytest

from feeds.deadlines import deadline_to_json, find_deadlines
from feeds.deadlines.layout import lay_out

PUBLISHED = date(2025, 1, 15)


def _dates(text: str, lang: str = "en", published: date = PUBLISHED) -> list[str]:
    found = find_deadlines(text, reference=published, timezone="Europe/Brussels", language=lang)
    return [d.local_date.isoformat() for d in found]


@pytest.mark.parametrize(
    ("text", "lang", "want"),
    [
        # layouts: a label above its value, a timeline, a hard wrap, a table with its header
        ("Consultation on fees\nComment window\n\n2 March 2025 – 9 April 2025", "en",
         ["2025-04-09"]),
        ("Consultation on the river plan\n30 April 2025\n\nSurvey closes", "en", ["2025-04-30"]),
        ("Consultation on parking. Comments are due: April \n7, 2025", "en", ["2025-04-07"]),
        ("Konsultationen\nStellungnahmen können bis zum\nFreitag, 29.09.2017\nan uns gehen.",
         "de", ["2017-09-29"]),
        ("Consultations\nScheme | Opens | Deadline | Revised deadline\n"
         "River Plan | 03-Feb-25 | 14-Mar-25 | 11-Apr-25", "en", ["2025-04-11"]),
        # numeric ranges with status words, partial numerics
        ("Konsultation zur Lärmschutzverordnung (offen, 03.02.2025 - 28.04.2025)", "de",
         ["2025-04-28"]),
        ("Die Vernehmlassungsfrist endet am 9. Mai 2025.", "de", ["2025-05-09"]),
        ("Konsultation zum Lärmplan. Fristablauf: 15.05.25", "de", ["2025-05-15"]),
        # cue vocabulary and context
        ("Comments will be accepted through May 9, 2025.", "en", ["2025-05-09"]),
        ("ESMA will consider all comments received by 20 February 2025.", "en", ["2025-02-20"]),
        ("The consultation on noise maps opened last week. They have until 4 July.", "en",
         ["2025-07-04"]),
        ("Date limite : 14 oct. 2025. Les contributions sont attendues en ligne.", "fr",
         ["2025-10-14"]),
        # word order: the date before its cue, clefts, verb-final clauses, start and end labels
        ("Between 4th March and 29th April 2025, the Board will hold a consultation.", "en",
         ["2025-04-29"]),
        ("Pour la consultation, c'est le 12 juin qui constitue la date limite.", "fr",
         ["2025-06-12"]),
        ("Wir danken für die Stellungnahmen zur Konsultation, die vom 3. März bis zum "
         "28. April lief.", "de", ["2025-04-28"]),
        ("Start Date 1 May 2025 End Date 30 June 2025 Consultation", "en", ["2025-06-30"]),
        # extensions: the new date only
        ("The agency pushed the comment deadline from Jan. 10, 2025, to Feb. 10, 2025.", "en",
         ["2025-02-10"]),
        ("Comments on the plan were due on 5 March 2025. The deadline has been extended to "
         "2 April 2025.", "en", ["2025-04-02"]),
        # languages
        ("La consultazione pubblica resta aperta fino al 12 maggio 2025.", "it", ["2025-05-12"]),
        ("Le osservazioni vanno inviate entro il 30 giugno 2025.", "it", ["2025-06-30"]),
        ("Las alegaciones podrán presentarse hasta el 3 de marzo.", "es", ["2025-03-03"]),
        ("El plazo de la consulta pública finaliza el 8 de diciembre de 2025.", "es",
         ["2025-12-08"]),
        ("Op de consultatie reageren kan tot en met 14 mei.", "nl", ["2025-05-14"]),
        ("Zienswijzen kunnen worden ingediend van 3-2-2025 tot 17-3-2025.", "nl",
         ["2025-03-17"]),
        ("A consulta pública recebe contribuições até 30 de junho.", "pt", ["2025-06-30"]),
        ("Consulta pública: Martes, 3 de March de 2025 es la fecha límite.", "es",
         ["2025-03-03"]),
    ],
)  # fmt: skip
def test_real_world_shapes(text: str, lang: str, want: list[str]) -> None:
    assert _dates(text, lang) == want


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("The Regulation expires on 31 December 2030. A consultation on it closed.", "en"),
        ("The consultation found that the new service starts no later than 1 March 2026.", "en"),
        (
            "Die Mindestfrist der Vernehmlassung verlängert sich, wenn sie die Zeit vom 15. Juli "
            "bis zum 15. August umfasst.",
            "de",
        ),
        ("The conference ended on 5 May 2023 with a call for closer cooperation.", "en"),
        ("Consultation timeline\nStep | Date\nConsultation close date | 26-February-1970", "en"),
        ("Doors close at 6pm and the consultation desk reopens tomorrow.", "en"),
        ("The funds are to be used between 2021 and 2027 after the consultation.", "en"),
    ],
)
def test_dates_that_are_not_deadlines(text: str, lang: str) -> None:
    assert _dates(text, lang) == []


def test_relative_days_count_from_the_item_date() -> None:
    assert _dates("Responses to the consultation are due by midnight today.") == ["2025-01-15"]
    assert _dates("Comments on the draft plan close tomorrow at 5pm.") == ["2025-01-16"]
    assert _dates("Comments on the plan are welcome until next Friday.") == ["2025-01-17"]


def test_explicit_midnight_is_a_stated_time_and_no_time_is_all_day() -> None:
    text = "The consultation closes at midnight on 3 March 2025. Replies close on 10 March 2025."
    found = [
        deadline_to_json(d)
        for d in find_deadlines(text, reference=PUBLISHED, timezone="Europe/Brussels")
    ]
    assert [(d["date"], d["time"], d["closes_at"]) for d in found] == [
        ("2025-03-03", "23:59", "2025-03-03T23:59:59+01:00"),
        ("2025-03-10", None, "2025-03-10T23:59:59+01:00"),
    ]


def test_a_time_stated_once_applies_to_every_deadline_without_one() -> None:
    text = (
        "Comments must be submitted no later than 5:00 p.m. on the deadline date.\n\n"
        "Notice | Deadline\nCall for comments on radio rules | 1 October 2015\n"
        "Call for comments on captions | 22 October 2015"
    )
    found = find_deadlines(text, reference=date(2015, 9, 1), timezone="America/Vancouver")
    assert [(d.local_date.isoformat(), d.local_time) for d in found] == [
        ("2015-10-01", __import__("datetime").time(17, 0)),
        ("2015-10-22", __import__("datetime").time(17, 0)),
    ]
    assert found[0].evidence == "Call for comments on radio rules | 1 October 2015"


def test_a_year_less_date_takes_the_year_of_a_full_date_beside_it() -> None:
    text = "The paper was issued on August 5, 2016, with comments due on September 5."
    assert _dates(text, published=date(2016, 9, 24)) == ["2016-09-05"]


def test_the_layout_pass_keeps_offsets_and_reads_tables_by_row() -> None:
    text = "Deadline:\n5 May 2025\n\nA | B\nx | 1 June 2025"
    main, row = lay_out(text)
    assert len(main.text) == len(text)
    assert main.text.startswith("Deadline: 5 May 2025")
    assert row.text == "x\nB: 1 June 2025"
    assert row.quote == "x | 1 June 2025"


@pytest.mark.parametrize(
    ("text", "lang", "want"),
    [
        ("Le proposte di consultazione devono pervenire entro le ore 12 del 28 febbraio 2025.",
         "it", ("2025-02-28", "12:00")),
        ("Las alegaciones se presentarán hasta las 14:00 horas del 28 de febrero de 2025.", "es",
         ("2025-02-28", "14:00")),
        ("As contribuições da consulta podem ser enviadas até às 18h do dia 28 de fevereiro de "
         "2025.", "pt", ("2025-02-28", "18:00")),
        ("Reageren op de consultatie kan tot 28 februari 2025, 17.00 uur.", "nl",
         ("2025-02-28", "17:00")),
        ("Ce registre d'enquête est ouvert du lundi 3 février 2025 à 14h00 au vendredi 7 mars "
         "2025 à 12h00.", "fr", ("2025-03-07", "12:00")),
    ],
)  # fmt: skip
def test_times_in_each_language(text: str, lang: str, want: tuple[str, str]) -> None:
    found = [
        deadline_to_json(d)
        for d in find_deadlines(
            text, reference=PUBLISHED, timezone="Europe/Brussels", language=lang
        )
    ]
    assert [(d["date"], d["time"]) for d in found] == [want]


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("The consultation originally ran from 3 February to 28 February 2025. It has been "
         "re-opened from 10 March to 31 March 2025.", "en"),
        ("Comments were due 14 February 2025. In response to requests, the comment period is "
         "extended until 31 March 2025.", "en"),
        ("Written comments are invited until 31 March 2025 (extended from 14 February 2025).",
         "en"),
        ("Die Frist zur Stellungnahme wurde vom 14. Februar 2025 auf den 31. März 2025 "
         "verlängert.", "de"),
        ("La date limite de la consultation, initialement fixée au 14 février 2025, est reportée "
         "au 31 mars 2025.", "fr"),
        ("Il termine per le osservazioni, previsto per il 14 febbraio 2025, è prorogato al "
         "31 marzo 2025.", "it"),
    ],
)  # fmt: skip
def test_an_extension_supersedes_the_old_date(text: str, lang: str) -> None:
    assert _dates(text, lang) == ["2025-03-31"]


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Key dates\n- 3 February 2025: consultation opens\n- 28 February 2025: consultation "
         "closes\n- May 2025: report", "en"),
        ("Zeitplan\n03.02.2025 Beginn der Beteiligung\n28.02.2025 Ende der Beteiligung", "de"),
        ("Calendrier\n3 février 2025 : ouverture de la consultation\n28 février 2025 : clôture "
         "de la consultation", "fr"),
        ("Planning\n3 februari 2025: start consultatie\n28 februari 2025: sluiting consultatie",
         "nl"),
    ],
)  # fmt: skip
def test_a_timeline_of_dated_lines(text: str, lang: str) -> None:
    assert _dates(text, lang) == ["2025-02-28"]
