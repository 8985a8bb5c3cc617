"""Deadline extraction speed: feedline's cue-first extractor against dateparser.search_dates.

Run: .venv/bin/python bench/extract_bench.py   (no arguments; fixed random seed)

10,000 synthetic newsroom paragraphs (about 10% state a closing date). Our extractor runs on
all of them; the dateparser baseline (search_dates on every paragraph, English, DMY) runs on
a 500-paragraph sample and its rate is extrapolated. choose_reference is timed as a build
calls it: once per page, here 10 pages of 1,000 paragraphs (target: < 20 ms per page).
"""

from __future__ import annotations

import random
import time
import warnings
from datetime import date, datetime

from feeds.deadlines import choose_reference, find_deadlines

SEED = 20230207
PARAGRAPHS = 10_000
BASELINE_SAMPLE = 500
PAGE = 1_000  # paragraphs per page for choose_reference
REFERENCE = date(2023, 2, 7)

MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]  # fmt: skip
PLACES = ["Antwerp", "Brussels", "Vienna", "Tallinn", "Lisbon", "Gdansk", "Lyon", "Bari"]
TOPICS = ["drug precursors", "port security", "border data", "cyber resilience",
          "water reuse", "rail freight", "youth mobility", "noise maps", "air quality"]  # fmt: skip

NEWS = [
    "On {d} {m} {y}, the Commissioner visited the port of {p}, where she saw a demonstration "
    "of new sensors for {t}.",
    "{P}, {d} {m} {y} - The Commission today adopted a report on {t} and presented it to the "
    "ministers meeting in {p}.",
    "The funds are to be used between 2021 and 2027 and represent a significant increase "
    "compared to the previous period; Regulation (EU) 2021/1147 sets the rules.",
    "The expert group met for the first time on {d} {m} in {p} and discussed its mandate on {t}. "
    "Members agreed on the rules of procedure.",
    "The Special European Council on {d} and {d2} {m} reiterated its support, and leaders "
    "discussed {t} with the President.",
    "Ministers will meet again in {p} in the autumn. The agenda includes {t}, budget questions "
    "and the follow-up to COM(2023) 234.",
    "More than {n} people took part in the campaign on {t}, which ran in {p} and online during "
    "the summer.",
    "The new online service starts on {d} {m} {y} and will be available to all residents of {p}.",
]
DEADLINES = [
    "The call for evidence on {t} is open until {d} {m}. Stakeholders can reply online.",
    "The public consultation on {t} closes at 5pm on {d} {m} {y}.",
    "Comments must be received on or before {m} {d}, {y}.",
    "Responses to the consultation on {t} are welcome until midnight Brussels time on {d} {m}.",
    "Feedback period {d} {m} {y} - {d2} {m} {y}",
]


def _paragraphs(rng: random.Random) -> list[str]:
    out = []
    for _ in range(PARAGRAPHS):
        is_deadline = rng.random() < 0.10
        template = rng.choice(DEADLINES if is_deadline else NEWS)
        day = rng.randint(1, 26)
        values = {
            "d": day, "d2": day + 2, "m": rng.choice(MONTHS), "y": rng.choice([2023, 2024]),
            "p": rng.choice(PLACES), "P": rng.choice(PLACES).upper(), "t": rng.choice(TOPICS),
            "n": rng.randint(100, 9000),
        }  # fmt: skip
        text = template.format(**values)
        if rng.random() < 0.5:  # pad with a neutral sentence or two
            text += " " + rng.choice(NEWS).format(**values)
        out.append(text)
    return out


def _ours(paragraphs: list[str]) -> tuple[float, int, int]:
    start = time.perf_counter()
    found = hits = 0
    for p in paragraphs:
        result = find_deadlines(p, reference=REFERENCE, timezone="Europe/Brussels")
        found += len(result)
        hits += bool(result)
    return time.perf_counter() - start, found, hits


def _reference(paragraphs: list[str]) -> tuple[float, float, int]:
    """choose_reference once per page of PAGE paragraphs: (total s, slowest page s, strong)."""
    total = slowest = 0.0
    strong = 0
    for first in range(0, len(paragraphs), PAGE):
        page = paragraphs[first : first + PAGE]
        start = time.perf_counter()
        _, is_strong = choose_reference(published=None, texts=page, first_seen=REFERENCE)
        spent = time.perf_counter() - start
        total += spent
        slowest = max(slowest, spent)
        strong += is_strong
    return total, slowest, strong


def _baseline(paragraphs: list[str]) -> tuple[float, int]:
    from dateparser.search import search_dates

    settings = {
        "DATE_ORDER": "DMY",
        "PREFER_DATES_FROM": "future",
        "REQUIRE_PARTS": ["day", "month"],
        "RELATIVE_BASE": datetime(2023, 2, 7),
    }
    search_dates("warm up on 1 March 2023", languages=["en"], settings=settings)
    start = time.perf_counter()
    found = 0
    for p in paragraphs:
        found += len(search_dates(p, languages=["en"], settings=settings) or [])
    return time.perf_counter() - start, found


def main() -> None:
    warnings.simplefilter("ignore")
    rng = random.Random(SEED)
    paragraphs = _paragraphs(rng)
    markers = ("open until", "closes at", "on or before", "welcome until", "Feedback period")
    expected = sum(any(k in p for k in markers) for p in paragraphs)
    # Warm up on a paragraph with a deadline, so the one-time costs (compiling the grammar,
    # loading the CLDR names) are not timed; paragraphs[0] may have no cue at all.
    warm = next(p for p in paragraphs if any(k in p for k in markers))
    find_deadlines(warm, reference=REFERENCE, timezone="Europe/Brussels")
    ours_s, ours_found, ours_hits = _ours(paragraphs)
    # warm up on a whole page: the first page would otherwise pay the one-time compile of the
    # cue patterns of en, fr and de (about 60 ms), which a build pays once per process
    choose_reference(published=None, texts=paragraphs[:PAGE], first_seen=REFERENCE)
    ref_s, ref_slowest, ref_strong = _reference(paragraphs)
    pages = len(paragraphs) // PAGE
    sample = random.Random(SEED + 1).sample(paragraphs, BASELINE_SAMPLE)
    base_s, base_found = _baseline(sample)
    ours_rate = len(paragraphs) / ours_s
    base_rate = len(sample) / base_s
    print(f"{len(paragraphs):,} paragraphs, {expected:,} with a closing date (seed {SEED})")
    print()
    print(f"{'extractor':<44}{'paragraphs':>11}{'seconds':>10}{'para/s':>10}")
    print(f"{'feedline find_deadlines (cue-first regex)':<44}{len(paragraphs):>11,}"
          f"{ours_s:>10.3f}{ours_rate:>10,.0f}")  # fmt: skip
    print(f"{'dateparser search_dates (baseline, sample)':<44}{len(sample):>11,}"
          f"{base_s:>10.3f}{base_rate:>10,.0f}")  # fmt: skip
    print(f"{'dateparser, extrapolated to all':<44}{len(paragraphs):>11,}"
          f"{len(paragraphs) / base_rate:>10.1f}{base_rate:>10,.0f}")  # fmt: skip
    print(f"{'feedline choose_reference (per page of 1,000)':<44}{len(paragraphs):>11,}"
          f"{ref_s:>10.3f}{len(paragraphs) / ref_s:>10,.0f}")  # fmt: skip
    print()
    print(f"choose_reference: {pages} pages, {ref_s / pages * 1000:.1f} ms per page on average, "
          f"slowest {ref_slowest * 1000:.1f} ms ({ref_strong} strong); target < 20 ms per page: "
          f"{'met' if ref_slowest < 0.020 else 'NOT met'}")  # fmt: skip
    print(f"speed-up: {ours_rate / base_rate:,.0f}x; target >= 10,000 para/s (issue 11): "
          f"{'met' if ours_rate >= 10_000 else 'NOT met'}")  # fmt: skip
    print(
        f"feedline: {ours_found:,} deadlines in {ours_hits:,} paragraphs "
        f"(expected {expected:,} paragraphs); dateparser: {base_found:,} dates of any kind "
        f"in the {len(sample)}-paragraph sample (no cue, so no notion of a deadline)"
    )


if __name__ == "__main__":
    main()
