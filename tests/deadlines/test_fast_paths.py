"""Fast paths of the extractor give exactly what the general path gives.

`Caseless` patterns (a lower-cased pattern on lower-cased ASCII text) against re.IGNORECASE,
and the label helpers' quick tests against the plain regex searches, on varied inputs: the
golden inputs, their sentences, windows cut anywhere, and case variants of all of them.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from feeds.deadlines import (
    cues,
    extract,
    find_deadlines,
    labels,
    reference,
    reopening,
    scoring,
    sentences,
    structure,
    times,
    viewing,
)
from feeds.deadlines.caseless import Caseless, lowered
from feeds.deadlines.cues import cues_for
from feeds.deadlines.dates import grammar_for
from feeds.deadlines.sentences import split_sentences
from feeds.deadlines.starts import (
    factored,
    first_chars,
    matches_at_starts,
    may_be_empty,
    split_alternatives,
    with_factored_lead,
)

CASES_DIR = Path(__file__).resolve().parent.parent / "data" / "deadlines"
EXTRA = [
    "The Consultation On River Water Quality CLOSES ON 5 MAY. Register for the WEBINAR now.",
    "Responses by 5pm; the EU-wide Call for Evidence on noise is open until 3 March.",
    "BY 30 NOVEMBER AT THE LATEST. The first is on tolls with a call for views.",
    "Die Konsultation endet am 3. Mai. La consultation publique est ouverte jusqu'au 4 mai.",
    "Kelvin \u212a, long s \u017f, dotless \u0131, dotted \u0130: case folds that are not ASCII",
    "comments welcome until 1 June (email a@b.example or see www.example.org/x)",
    "",
]


def _corpus() -> list[str]:
    rng = random.Random(11)
    texts = list(EXTRA)
    for case in sorted(CASES_DIR.iterdir()):
        if (case / "input.txt").is_file():
            text = (case / "input.txt").read_text(encoding="utf-8")
            texts += [text] + [s.text for s in split_sentences(text)]
            for _ in range(5):
                start = rng.randrange(len(text) or 1)
                texts.append(text[start : start + rng.randint(1, 120)])
    variants = [f(t) for t in texts for f in (str.upper, str.title, str.swapcase)]
    return texts + variants


CORPUS = _corpus()


def _caseless_patterns() -> Iterator[tuple[str, Caseless]]:
    for module in (cues, labels, extract, reopening, scoring, structure, viewing):
        for name, value in vars(module).items():
            if isinstance(value, Caseless):
                yield f"{module.__name__}.{name}", value
    for language in ("en", "fr", "de"):
        yield f"cues {language}", cues.cues_for(language).pattern


CASELESS = dict(_caseless_patterns())


def _spans(m: re.Match[str] | None) -> object:
    if m is None:
        return None
    return [m.span(group) for group in range(len(m.groups()) + 1)], m.lastgroup


def test_every_caseless_pattern_is_checked() -> None:
    assert len(CASELESS) >= 50


@pytest.mark.parametrize("name", sorted(CASELESS))
def test_caseless_matches_what_ignorecase_matches(name: str) -> None:
    pattern = CASELESS[name]
    general = pattern.general
    ascii_texts = [t for t in CORPUS if t.isascii()]
    assert len(ascii_texts) > 300
    for text in CORPUS:
        middle = len(text) // 2
        assert _spans(pattern.search(text)) == _spans(general.search(text)), text
        assert _spans(pattern.search(text, middle)) == _spans(general.search(text, middle))
        assert _spans(pattern.search(text, 0, middle)) == _spans(general.search(text, 0, middle))
        assert _spans(pattern.match(text, middle)) == _spans(general.match(text, middle))
        assert _spans(pattern.fullmatch(text)) == _spans(general.fullmatch(text))
        assert [_spans(m) for m in pattern.finditer(text)] == [
            _spans(m) for m in general.finditer(text)
        ]
        assert pattern.remove(text) == general.sub("", text, count=1)


def test_lowered_keeps_escapes_and_group_names() -> None:
    assert lowered(r"(?P<Ord>First)\W+(?P=Ord)[A-Z]\s") == r"(?P<Ord>first)\W+(?P=Ord)[a-z]\s"


@pytest.mark.parametrize("pattern", [r"\x41BC", r"(?-i:ET)", "\u017fix", "\u212aey"])
def test_lowered_refuses_what_would_change_meaning(pattern: str) -> None:
    with pytest.raises(ValueError):
        lowered(pattern)


LABELS = [
    *CORPUS,
    "consultation on rivers\u200b\u2028more",
    "survey\u00a0on parks",
    "a: b",
    "the survey on parks.",
    "Stakeholder-Konsultation",
    "Bürgerbeteiligungsverfahren\n",
    "Aufruf",
]


def _clean_label_in_full(label: str) -> str:
    """clean_label as it reads without its quick tests."""
    label = labels._LINE_BREAK.split(label, maxsplit=1)[0]
    header = labels._HEADER_FIELD.search(label)
    if header is not None:
        label = label[: header.start()]
    address = labels._ADDRESS_OR_LINK.search(label)
    if address is not None:
        label = label[: address.start()]
    label = " ".join(labels._UNPRINTABLE.sub(" ", label).split())
    label = labels._LEADING_ARTICLES.general.sub("", label)
    if len(label) > labels._MAX_LABEL_CHARS:
        head = label[: labels._MAX_LABEL_CHARS + 1]
        label = head.rsplit(" ", 1)[0] if " " in head else head[: labels._MAX_LABEL_CHARS]
    return labels._TRAILING_FILLER.general.sub("", label).rstrip(" ,;:-–—(")


def test_clean_label_quick_tests_change_nothing() -> None:
    for label in LABELS:
        assert labels.clean_label(label) == _clean_label_in_full(label), label


def test_unprintable_characters_are_all_refused_by_isprintable() -> None:
    unprintable = [chr(c) for c in range(0x3000) if labels._UNPRINTABLE.fullmatch(chr(c))]
    assert len(unprintable) > 70
    assert not any(c.isprintable() for c in unprintable)


def test_german_head_test_is_the_pattern() -> None:
    words = [w for text in LABELS for w in text.split()]
    words += ["Konsultation", "KONSULTATION", "Beteiligungsverfahren", "Verfahren\n", "aufruf"]
    for word in words:
        assert labels._is_german_head(word) == bool(labels._GERMAN_HEAD.general.search(word))


def test_look_back_skips_only_sentences_that_cannot_hold_the_head() -> None:
    def look_back_in_full(sentences: list[labels.Sentence], index: int, head: str) -> str | None:
        for earlier in range(index - 1, max(-1, index - 4), -1):
            phrases = [
                p
                for p in labels._phrases(sentences[earlier].text)
                if p.strong and p.descriptive and p.has_topic and head in p.label.lower().split()
            ]
            if phrases:
                return phrases[-1].label
        return None

    checked = 0
    for text in CORPUS:
        sentences = split_sentences(text)
        for index in range(1, len(sentences)):
            for head in ("consultation", "call", "survey", "konsultation", "enquête", "review"):
                expected = look_back_in_full(sentences, index, head)
                assert labels._look_back(sentences, index, head=head) == expected
                checked += expected is not None
    assert checked > 20


GATED = [
    "Deadline: 5 May 2023.",  # a cue and a date, nothing one responds to: not a deadline
    "Deadline: 5 May 2023. Have your say.",
    "Deadline 5 May 2023 for the call\nFor evidence see below.",  # context only across lines
    "It closes on 5\nMay 2023. The consultation is open.",
    "The survey closes on Friday.",  # no date at all
    "Tender documents: deadline 12/05/2023, 17:00 CET.",
]


def test_find_deadlines_needs_no_whole_text_gates() -> None:
    """The whole-text date search and context test it once ran first change nothing."""
    checked = 0
    for text in [*GATED, *CORPUS]:
        for language, zone in (("en", "Europe/Brussels"), ("fr", "Europe/Paris"),
                               ("de", "Europe/Berlin"), ("en", "America/New_York")):  # fmt: skip
            found = find_deadlines(text, reference=date(2023, 2, 7), timezone=zone,
                                   language=language)  # fmt: skip
            grammar = grammar_for(language, zone.startswith("America/"))
            if grammar.pattern.search(text) is None or not cues.has_context(text):
                assert found == [], text
            checked += bool(found)
    assert checked > 200


_OLD_BOUNDARY = re.compile(
    r"(?<=[.!?])[\"'”’)]*\s+(?=[\"'“‘(]?[A-ZÀ-ÖØ-Þ0-9])|\n\s*\n|\n(?=\s*[^a-z\s])"
    rf"|(?<=[:;,.])\n(?=[ \t]*(?:{sentences._MARK}))"  # a lettered list item: "a) ", "b. "
)


def _split_in_full(text: str) -> list[tuple[int, int, str, int]]:
    """split_sentences as it was written before its boundary search was reordered."""
    found: list[tuple[int, int, str, int]] = []
    start = paragraph = 0

    def append(end: int) -> None:
        chunk = text[start:end]
        stripped = chunk.strip()
        if stripped:
            offset = start + chunk.index(stripped)
            found.append((offset, offset + len(stripped), stripped, paragraph))

    for m in _OLD_BOUNDARY.finditer(text):
        before = text[max(0, m.start() - 12) : m.start()]
        if "\n" not in m.group() and (
            sentences._ABBREVIATION_BEFORE.search(before)
            or (
                sentences._NUMBER_BEFORE.search(before)
                and sentences._MONTH_AFTER.match(text, m.end())
            )
        ):
            continue
        append(m.start())
        if m.group().count("\n") >= 2:
            paragraph += 1
        start = m.end()
    append(len(text))
    return found


def test_split_sentences_finds_the_boundaries_it_always_found() -> None:
    rng = random.Random(3)
    alphabet = "ab AZ9é.!?\"'”’)“‘(\n\n \t\u00a0\u2028Mr.e.g.18. März No.2"
    texts = CORPUS + ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
                      for _ in range(20_000)]  # fmt: skip
    for text in texts:
        expected = _split_in_full(text)
        assert [(s.start, s.end, s.text, s.paragraph) for s in split_sentences(text)] == expected


@pytest.mark.parametrize("language", ["en", "fr", "de", "it", "es", "nl", "pt"])
def test_cues_are_tried_only_by_the_letter_a_word_starts_with(language: str) -> None:
    cue_set = cues_for(language)
    assert cue_set._starts is not None  # the dispatch is in use, not the whole alternation
    matched = 0
    for text in [*CORPUS, "Frist: 3. Mai; Einsendefrist 4. Mai. t/m 5 mei, dell’ 8"]:
        expected = [(m.span(), m.lastgroup) for m in cue_set.pattern.finditer(text)]
        assert [(m.span(), m.lastgroup) for m in cue_set._matches(text)] == expected, text
        matched += len(expected)
    assert matched > 200


def test_first_chars_of_patterns() -> None:
    assert first_chars(r"(?<!\w)(?:ab|c[de]?)x*") == frozenset("ac")
    assert first_chars(r"(?:on\s+)?by") == frozenset("ob")
    assert first_chars(r"\w*frist") is None  # any word character
    assert first_chars("a?") is None  # may be empty
    assert may_be_empty("a?") and not may_be_empty("a?b")


@pytest.mark.parametrize(("language", "month_first"), [("en", False), ("en", True), ("fr", False),
                                                       ("de", False), ("nl", False)])  # fmt: skip
def test_dates_are_tried_only_where_one_can_start(language: str, month_first: bool) -> None:
    grammar = grammar_for(language, month_first)
    extra = ["x17 May, /17 May, 17.05.2023, .5 May, \u0661\u0667 May 2023", "Mardi 3 mai, MAY 4"]
    matched = 0
    for text in [*CORPUS, *extra]:
        expected = [m.span() for m in grammar.pattern.finditer(text)]
        assert [m.span() for m in grammar._matches(text)] == expected, text
        matched += len(expected)
    assert matched > 500


def test_cue_word_spans_cover_every_sentence_with_a_cue_word() -> None:
    rng = random.Random(5)
    words = ["by", "until", "ends", "closing", "frist", "Abgabefrist", "x", "(by", '"till"', "-"]
    glue = [" ", "  ", ". ", "! ", ".\n\n", "\n", ', "', "). "]
    texts = [t for t in CORPUS if t.isascii()]
    texts += ["".join(rng.choice(words) + rng.choice(glue) for _ in range(rng.randint(1, 12)))
              for _ in range(3000)]  # fmt: skip
    checked = 0
    for text in texts:
        spans = cues.cue_word_spans(text)
        assert spans is not None
        assert bool(spans) == cues.has_cue_word(text)
        sentences = split_sentences(text)
        picked = extract._sentences_with_cue_words(sentences, spans)
        assert picked == [
            i for i, s in enumerate(sentences) if any(a < s.end and b > s.start for a, b in spans)
        ]
        for index, sentence in enumerate(sentences):
            if cues.has_cue_word(sentence.text):
                checked += 1
                assert index in picked, text
    assert checked > 1000
    assert cues.cue_word_spans("Frist endet am 3. Mai, spätestens") is None  # not ASCII


def test_topic_stop_without_addresses_stops_where_the_full_pattern_stops() -> None:
    rng = random.Random(9)
    pieces = ["is", " ", "  ", "\n", "on 5", " - ", "x@y", "www.", "http:", "s'", "(", "—",
              "closes", "bis", "which", "in the", "Ab", "7", "ß", "\u2028", "and key"]  # fmt: skip
    raws = [text[start:] for text in CORPUS for start in range(0, len(text), 7)]
    raws += ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 10))) for _ in range(5000)]
    plain = 0
    for raw in raws:
        if "@" in raw or "http" in raw or "www." in raw:
            continue
        plain += 1
        expected = labels._TOPIC_STOP.search(raw)
        found = labels._TOPIC_STOP_PLAIN.search(raw)
        assert (found and found.start()) == (expected and expected.start()), raw
    assert plain > 5000


TIMES = [
    "by 5pm, 17:30 CET, 9.30am (AEDT), 12 noon, midnight, 24:00 Uhr, 18h30, 1700 hrs, 11:59 p.m.",
    "NOON Brussels time; MIDDAY; Mittag; Mitternacht; minuit; 12 Uhr mittags; a5pm; :5pm; 1.5pm",
    "24 h, 24h00, 23.59 Uhr, 0930 hours, \u0661\u0667:\u0663\u0660 (digits of another script)",
]


def test_times_are_tried_only_where_one_can_start() -> None:
    matched = 0
    for text in [*TIMES, *CORPUS]:
        expected = [m.span() for m in times.TIME_PATTERN.finditer(text)]
        found = matches_at_starts(times.TIME_PATTERN, times._TIME_START, text)
        assert [m.span() for m in found] == expected, text
        matched += len(expected)
    assert matched > 50


def test_only_n_and_m_match_n_or_m_without_regard_to_case() -> None:
    every = "".join(chr(c) for c in range(0x110000) if not 0xD800 <= c < 0xE000)
    assert sorted(set(re.findall("(?i:[nm])", every))) == ["M", "N", "m", "n"]


def _year_tokens_in_full(page: str) -> set[tuple[int, int, str]]:
    """The year tokens latest_full_date reads, found as it found them before."""
    tokens = set()
    for pattern in (re.compile(r"20\d\d(?!\w)"), re.compile(r"19\d\d(?!\w)")):
        for m in pattern.finditer(page):
            if m.start() and page[m.start() - 1].isspace():
                tokens.add((m.start(), m.end(), " "))
    for m in re.finditer(r"[/.\-]\d\d(?:\d\d)?(?!\w)", page):
        digits = m.group()[1:]
        if len(digits) == 2 or m.group()[0] == "-" or digits[:2] in ("19", "20"):
            tokens.add((m.start() + 1, m.end(), m.group()[0]))
    return tokens


def test_year_tokens_are_the_ones_found_before() -> None:
    rng = random.Random(13)
    pieces = ["2023", "1999", "19", "20", "23", " ", "\n", "\t", "/", ".", "-", "x", "5", "\x00"]
    pages = ["\x00".join(CORPUS[i : i + 40]) for i in range(0, len(CORPUS), 40)]
    pages += ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 30))) for _ in range(5000)]
    found_any = 0
    for page in pages:
        tokens = set(reference._year_tokens(page))
        assert tokens == _year_tokens_in_full(page), page
        found_any += bool(tokens)
    assert found_any > 1000


def test_a_grammar_is_compiled_once_whether_or_not_the_order_flag_is_passed() -> None:
    # The reference date and the extractor ask for the same grammar in these two ways.
    assert grammar_for("fr") is grammar_for("fr", False)
    assert grammar_for("fr", True) is not grammar_for("fr")
    assert grammar_for("fr", True).month_first_numeric


def test_split_alternatives_splits_only_at_the_top_level() -> None:
    assert split_alternatives(r"a|b(?:c|d)|[|(]e|\|f") == ["a", "b(?:c|d)", "[|(]e", "\\|f"]
    assert split_alternatives(r"[]|]x|y|[^]|]z") == ["[]|]x", "y", "[^]|]z"]
    assert split_alternatives("abc") == ["abc"]


def test_factored_groups_alternatives_by_their_letters() -> None:
    assert factored(["consult", "concert", "call", "x?y"]) == "c(?:on(?:sult|cert)|all)|x?y"
    assert factored(["ab", "a", "b+"]) == "a(?:b|)|b+"  # a quantified letter is no prefix
    assert factored(["ab", "ac", "[x]", "ad", "ae"]) == "a(?:b|c)|[x]|a(?:d|e)"  # order kept
    for words in (["ab", "abc", "a"], ["abc", "a", "ab"], ["a", "abc"]):
        first, expected = re.match(factored(words), "abc"), re.match("|".join(words), "abc")
        assert first is not None and expected is not None and first.group() == expected.group()
    assert factored(["(x)a", "(y)a"]) == "(x)a|(y)a"  # numbered groups stay in their order


def _factored_cases() -> Iterator[tuple[str, list[str]]]:
    """Alternations the extractor factors: the prefilter's, per first letter, and others."""
    fragments: dict[str, list[str]] = {}
    for fragment in cues._every_language("prefilter"):
        fragments.setdefault(fragment[0], []).append(fragment[1:])
    for first, rests in sorted(fragments.items()):
        yield f"prefilter {first}", rests
    context = [w.lower() for w in cues._every_language("context") if w[:1].isalpha()]
    yield "context", context
    yield "cue words", [w.lower() for w in cues._every_language("blockers") if w[:1].isalpha()]
    yield "overlapping", ["en", "ending", "end", "e[n]d", "endless", "clos", "closing", "c", "cl"]


def test_factored_matches_what_the_plain_alternation_matches() -> None:
    matched = 0
    for name, alternatives in _factored_cases():
        plain = re.compile("|".join(alternatives))
        fast = re.compile(factored(alternatives))
        for text in CORPUS:
            folded = cues.prefilter_text(text)
            for subject in (folded, " " + folded):
                expected = [_spans(m) for m in plain.finditer(subject)]
                assert [_spans(m) for m in fast.finditer(subject)] == expected, (name, text)
                matched += len(expected)
    assert matched > 1000


def test_has_context_is_the_plain_alternation() -> None:
    plain = re.compile("|".join(cues._every_language("context")).lower())
    found = 0
    for text in CORPUS:
        assert cues.has_context(text) == (plain.search(text.lower()) is not None), text
        found += cues.has_context(text)
    assert 100 < found < len(CORPUS)


def test_with_factored_lead_factors_only_a_leading_alternation() -> None:
    assert with_factored_lead(r"(?<!\w)(?:ends|ended|x)(?!\w)") == r"(?<!\w)(?:end(?:s|ed)|x)(?!\w)"
    assert with_factored_lead(r"(?:ab|ac)\w*") == r"(?:a(?:b|c))\w*"
    assert with_factored_lead("ab|ac") == "a(?:b|c)"
    for same in (r"x(?:ab|ac)", r"(?:ab|ac", r"(?P<n>ab|ac)", r"(a)|(b)\1"):
        assert with_factored_lead(same) == same


def test_the_standing_time_quick_test_never_misses() -> None:
    extra = [
        "Submit BY THE DEADLINE DATE",
        "on the laſt day",
        "by the cloſing date",
        "am Tag des Fristablaufſ",
        "x",
    ]
    stated = 0
    for text in [*CORPUS, *extra]:
        if extract._STANDING_TIME.search(text) is not None:
            assert extract.may_state_a_standing_time(text), text
            stated += 1
    assert stated >= 3
    assert not extract.may_state_a_standing_time("The consultation is open until 3 May.")
