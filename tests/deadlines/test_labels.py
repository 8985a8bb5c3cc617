"""Labels fit for a mail subject: one line, no addresses or links, no leading article, short."""

from __future__ import annotations

from datetime import date

import pytest

from feeds.deadlines import find_deadlines
from feeds.deadlines.labels import clean_label


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("consultation on rivers\u2028Bcc: evil@example.net", "consultation on rivers"),
        ("consultation on rivers\r\nSubject: win", "consultation on rivers"),
        ("consultation on rivers\x85more", "consultation on rivers"),
        ("survey on parks Bcc: a@b.example", "survey on parks"),
        ("survey on parks evil@example.net", "survey on parks"),
        ("survey on parks see https://example.org/x", "survey on parks see"),
        ("the consultation on bus fares", "consultation on bus fares"),
        ("la consultation sur les quais", "consultation sur les quais"),
        ("die Konsultation zur Wasserstrategie", "Konsultation zur Wasserstrategie"),
        (
            "EU Anti-trafficking Directive consultation",
            "EU Anti-trafficking Directive consultation",
        ),
        ("consultation\ton  tabs", "consultation on tabs"),
    ],
)
def test_clean_label(raw: str, clean: str) -> None:
    assert clean_label(raw) == clean


def test_clean_label_caps_at_a_word_boundary() -> None:
    long = "consultation on " + " ".join(["wastewater"] * 20)
    cleaned = clean_label(long)
    assert len(cleaned) <= 90
    assert cleaned.endswith("wastewater")
    assert long.startswith(cleaned)


@pytest.mark.parametrize(
    ("language", "text", "label"),
    [
        ("en", "The call for evidence on ferry safety closes on 3 May 2024.",
         "call for evidence on ferry safety"),
        ("en", "The call for evidence on ferry safety will close on 3 May 2024.",
         "call for evidence on ferry safety"),
        ("en", "The consultation on ferry safety is open until 3 May 2024.",
         "consultation on ferry safety"),
        ("en", "The consultation on ferry safety runs until 3 May 2024.",
         "consultation on ferry safety"),
        ("en", "Comments on ferry safety can be submitted until 3 May 2024.",
         "comments on ferry safety"),
        ("fr", "La consultation sur la sécurité des ferries se termine le 3 mai 2024.",
         "consultation sur la sécurité des ferries"),
        ("fr", "La consultation sur la sécurité des ferries s'achève le 3 mai 2024.",
         "consultation sur la sécurité des ferries"),
        ("fr", "La consultation sur la sécurité des ferries restera ouverte jusqu'au 3 mai 2024.",
         "consultation sur la sécurité des ferries"),
        ("de", "Die Konsultation zur Fährsicherheit läuft bis zum 3. Mai 2024.",
         "Konsultation zur Fährsicherheit"),
        ("de", "Die Konsultation zur Fährsicherheit endet am 3. Mai 2024.",
         "Konsultation zur Fährsicherheit"),
    ],
)  # fmt: skip
def test_verb_ends_the_subject(language: str, text: str, label: str) -> None:
    found = find_deadlines(
        text, reference=date(2024, 4, 1), timezone="Europe/Brussels", language=language
    )
    assert [d.label for d in found] == [label]
