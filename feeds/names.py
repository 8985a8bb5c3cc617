"""The one table of month and weekday names: CLDR's, through babel, for every supported language.

Everything that reads or writes a month or weekday name goes through here: the deadline
grammar, page and Markdown date lines, and every closing-time display. Display uses the wide
names as CLDR writes them; reading also accepts the abbreviated forms (with and without their
dot), the stand-alone forms, and the same words without accents ("fevrier", "marz"), because
real pages write them so. babel is imported on first use, so commands that show no date never
pay for it.
"""

from __future__ import annotations

import unicodedata
from functools import cache

LANGUAGES: tuple[str, ...] = ("en", "fr", "de", "it", "es", "nl", "pt")

# Spellings real pages use that CLDR does not list (old or regional forms, common short forms).
_EXTRA_MONTHS: dict[str, dict[str, int]] = {
    "en": {"sept": 9, "jun": 6, "jul": 7},
    "fr": {"fév": 2, "juil": 7, "déc": 12},
    "de": {"jänner": 1, "jän": 1, "feber": 2, "mär": 3, "maerz": 3, "sep": 9},
    "it": {"sett": 9},
    "es": {"setiembre": 9, "sep": 9, "set": 9},
    "nl": {"sept": 9},
    "pt": {"marco": 3},
}
_EXTRA_WEEKDAYS: dict[str, dict[str, int]] = {
    "en": {"tues": 1, "weds": 2, "thur": 3, "thurs": 3},
    "de": {"sonnabend": 5},
    "pt": {"segunda": 0, "terça": 1, "quarta": 2, "quinta": 3, "sexta": 4},
}


def supported(language: str) -> str:
    """The table's language for a BCP 47 tag ("fr-BE" -> "fr"); English when not supported."""
    base = language.split("-", 1)[0].split("_", 1)[0].lower()
    return base if base in LANGUAGES else "en"


@cache
def month_names(language: str) -> tuple[str, ...]:
    """January..December as written in running text in `language` (CLDR wide, format context)."""
    from babel.dates import get_month_names

    names = get_month_names("wide", context="format", locale=supported(language))
    return tuple(names[m] for m in range(1, 13))


@cache
def weekday_names(language: str) -> tuple[str, ...]:
    """Monday..Sunday in `language` (CLDR wide, format context); index = date.weekday()."""
    from babel.dates import get_day_names

    names = get_day_names("wide", context="format", locale=supported(language))
    return tuple(names[d] for d in range(7))


def fold(word: str) -> str:
    """Lower case without accents or a trailing dot: how the reading tables are keyed."""
    decomposed = unicodedata.normalize("NFKD", word.lower().rstrip("."))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@cache
def month_lookup(language: str) -> dict[str, int]:
    """Every spelling of a month in `language` -> 1..12, keyed by `fold`."""
    from babel.dates import get_month_names

    lang = supported(language)
    table: dict[str, int] = {}
    for width in ("wide", "abbreviated"):
        for context in ("format", "stand-alone"):
            for number, name in get_month_names(width, context=context, locale=lang).items():
                table[fold(name)] = number
    for name, number in _EXTRA_MONTHS.get(lang, {}).items():
        table[fold(name)] = number
    return table


@cache
def weekday_lookup(language: str) -> dict[str, int]:
    """Every spelling of a weekday in `language` -> 0 (Monday)..6, keyed by `fold`."""
    from babel.dates import get_day_names

    lang = supported(language)
    table: dict[str, int] = {}
    for width in ("wide", "abbreviated"):
        for context in ("format", "stand-alone"):
            for number, name in get_day_names(width, context=context, locale=lang).items():
                table[fold(name)] = number
    for name, number in _EXTRA_WEEKDAYS.get(lang, {}).items():
        table[fold(name)] = number
    return table


def month_spellings(language: str) -> tuple[str, ...]:
    """The surface spellings (with accents, without dots) that a pattern should match, longest
    first so an alternation prefers "septembre" to "sept"."""
    from babel.dates import get_month_names

    lang = supported(language)
    words: set[str] = set(_EXTRA_MONTHS.get(lang, {}))
    for width in ("wide", "abbreviated"):
        for context in ("format", "stand-alone"):
            words.update(
                n.rstrip(".") for n in get_month_names(width, context=context, locale=lang).values()
            )
    accentless = {fold(w) for w in words}
    return tuple(sorted(words | accentless, key=lambda w: (-len(w), w)))


def weekday_spellings(language: str) -> tuple[str, ...]:
    """The surface spellings of the weekdays in `language` (with and without accents, without
    dots), longest first, like `month_spellings`."""
    from babel.dates import get_day_names

    lang = supported(language)
    words: set[str] = set(_EXTRA_WEEKDAYS.get(lang, {}))
    for width in ("wide", "abbreviated"):
        for context in ("format", "stand-alone"):
            words.update(
                n.rstrip(".") for n in get_day_names(width, context=context, locale=lang).values()
            )
    accentless = {fold(w) for w in words}
    return tuple(sorted(words | accentless, key=lambda w: (-len(w), w)))
