"""The fast paths of feeds.text give exactly what the general definitions give."""

from __future__ import annotations

import random
import re
import unicodedata

import pytest

from feeds.text import clean_line, has_control, normalise_title

_ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ufffe\uffff]")
_SPACE = re.compile(r"[ \t\u00a0\u2000-\u200b\u202f\u205f\u3000]+")


def reference_clean_line(text: str) -> str:
    return _SPACE.sub(" ", _ILLEGAL_XML.sub("", text)).strip()


def reference_normalise_title(title: str) -> str:
    folded = unicodedata.normalize("NFKD", title.casefold())
    ascii_only = "".join(ch for ch in folded if not unicodedata.combining(ch))
    return re.sub(r"[^0-9a-z]+", "-", ascii_only).strip("-")


SAMPLES = [
    "",
    " ",
    "Commission adopts report on port security in Riga, session 12",
    "  leading and trailing  ",
    "double  space and\ttab\t\tand  \t mixed",
    "Ministers meet\u00a0in Lisbon\u2003today\u200b.",
    "ideographic\u3000space and narrow\u202fno-break\u205fmath",
    "Café déjà vu – naïve résumé",
    "Ångström Ærø Øresund ß straße",
    "東京で会議 2023年",
    "Консультация открыта",
    "ﬁnal ﬂow ligatures ﬃ",
    "½ ² ™ © € → ★ 🙂",
    "ſhare İstanbul ıi K Å",
    "bell\x07 vertical\x0btab form\x0cfeed nel\x85 c1\x9f del\x7f",
    "noncharacters \ufffe\uffff here",
    "Ünïcödé   with \t runs\u00a0\u00a0of  spaces",
    "punctuation!!! ...and--dashes__and/slashes",
    "UPPER lower MiXeD 123 456",
    "e\u0301 combining acute, a\u0308 combining diaeresis",
]
_ALPHABET = list("aZ09 .-_\t\n\u00a0\u2000\u200b\u3000\x00\x0b\x1f\x7f\x85\x9féÅß東ﬁ½ſİ\u0301🙂")


def _random_texts(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choices(_ALPHABET, k=rng.randint(0, 25))) for _ in range(count)]


@pytest.mark.parametrize("text", SAMPLES)
def test_clean_line_matches_the_general_definition(text: str) -> None:
    assert clean_line(text) == reference_clean_line(text)


@pytest.mark.parametrize("text", SAMPLES)
def test_normalise_title_matches_the_general_definition(text: str) -> None:
    assert normalise_title(text) == reference_normalise_title(text)


@pytest.mark.parametrize("code", range(0x100))
def test_has_control_matches_the_general_definition_per_character(code: int) -> None:
    for text in (chr(code), f"plain {chr(code)} text", f"é {chr(code)}"):
        assert has_control(text) == bool(_ILLEGAL_XML.search(text))


def test_fast_paths_match_on_random_text() -> None:
    for text in _random_texts(5_000, seed=11):
        assert has_control(text) == bool(_ILLEGAL_XML.search(text)), repr(text)
        assert clean_line(text) == reference_clean_line(text), repr(text)
        assert normalise_title(text) == reference_normalise_title(text), repr(text)


def test_examples() -> None:
    assert normalise_title("Café – Déjà Vu!") == "cafe-deja-vu"
    assert normalise_title("ﬁnal call") == "final-call"
    assert normalise_title("東京 2023") == "2023"
    assert clean_line("  a \u00a0 b\tc\x07 ") == "a b c"
