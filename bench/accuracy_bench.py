"""Deadline accuracy on real notices: precision, recall and F1 per corpus and language.

Run: .venv/bin/python bench/accuracy_bench.py [EXTRA.jsonl ...]

Corpora: the golden cases (tests/data/deadlines), the shared development corpus
(../shared/corpus/deadlines-dev.jsonl, skipped with a note when absent), the project corpus
(tests/data/corpus/*.jsonl, whatever files exist) and any files given as arguments (a
held-out set). Scored like ../shared/corpus/score.py: a date found is right when it is an
operative or closed_per_text deadline of the notice, a superseded date found is wrong, a
conflicting one is neither. Also: closing times right where the truth states one, dates
invented in notices without a deadline, and speed (notices per second). Side by side, the
named baseline "latest date": every notice's latest full date taken as its deadline.
"""

from __future__ import annotations

import json
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from feeds.deadlines import choose_reference, deadline_to_json, find_deadlines
from feeds.deadlines.dates import grammar_for, resolve

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "data" / "deadlines"
DEV = ROOT.parent / "shared" / "corpus" / "deadlines-dev.jsonl"
PROJECT = ROOT / "tests" / "data" / "corpus"
DEFAULT_ZONE = "Europe/Brussels"


@dataclass(frozen=True, slots=True)
class Notice:
    text: str
    lang: str
    published: date | None
    timezone: str
    want: frozenset[str]  # operative and closed_per_text dates
    either: frozenset[str]  # conflicting dates: neither right nor wrong
    times: dict[str, str]  # date -> HH:MM where the truth states a time
    negative: bool  # a notice without any deadline
    first_seen: date | None = None  # golden cases fix it (the day a build saw the item)


@dataclass(slots=True)
class Tally:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    def add(self, tp: int, fp: int, fn: int) -> None:
        self.tp += tp
        self.fp += fp
        self.fn += fn

    @property
    def f1(self) -> float:
        return 2 * self.tp / (2 * self.tp + self.fp + self.fn) if self.tp else 0.0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0


@dataclass(slots=True)
class Score:
    total: Tally = field(default_factory=Tally)
    languages: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    deadlines: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    times_right: int = 0
    times_stated: int = 0
    invented: int = 0
    seconds: float = 0.0


def _golden() -> Iterator[Notice]:
    for case in sorted(GOLDEN.iterdir()):
        if not (case / "input.txt").is_file():
            continue
        meta_path = case / "meta.json"
        meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.is_file() else {}
        expected = json.loads((case / "expected.json").read_text(encoding="utf-8"))
        published = meta.get("published")
        yield Notice(
            text=(case / "input.txt").read_text(encoding="utf-8"),
            lang=meta.get("lang", "en"),
            published=date.fromisoformat(published) if published else None,
            timezone=meta.get("timezone", DEFAULT_ZONE),
            want=frozenset(d["date"] for d in expected),
            either=frozenset(),
            times={d["date"]: d["time"][:5] for d in expected if d.get("time")},
            negative=not expected,
            first_seen=date.fromisoformat(meta.get("first_seen", "2024-01-01")),
        )


def _jsonl(path: Path) -> Iterator[Notice]:
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        record: dict[str, Any] = json.loads(line)
        deadlines = record.get("deadlines", [])
        published = record.get("published")
        if published and len(published) == 7:
            published += "-01"
        zone = next((d["tz"] for d in deadlines if d.get("tz")), None) or DEFAULT_ZONE
        counted = [d for d in deadlines if d["status"] in ("operative", "closed_per_text")]
        yield Notice(
            text=record["text"],
            lang=record.get("lang", "en").split("+")[0],
            published=date.fromisoformat(published) if published else None,
            timezone=zone,
            want=frozenset(d["date"] for d in counted),
            either=frozenset(d["date"] for d in deadlines if d["status"] == "conflicting"),
            times={d["date"]: d["time"] for d in deadlines if d.get("time")},
            negative=not deadlines,
        )


def _found(notice: Notice, today: date) -> dict[str, str | None]:
    reference, strong = choose_reference(
        published=notice.published, texts=[notice.text], first_seen=notice.first_seen or today,
        language=notice.lang,
    )  # fmt: skip
    found = find_deadlines(
        notice.text, reference=reference, timezone=notice.timezone, language=notice.lang,
        reference_is_strong=strong,
    )  # fmt: skip
    out: dict[str, str | None] = {}
    for d in map(deadline_to_json, found):
        out.setdefault(d["date"], d["time"])
    return out


def _latest_date(notice: Notice, today: date) -> dict[str, str | None]:
    """The baseline: the notice's latest written date, as its only deadline."""
    reference = notice.published or today
    dates = [resolve(m, reference) for m in grammar_for(notice.lang).find(notice.text)]
    return {max(dates).isoformat(): None} if dates else {}


def score(notices: list[Notice], reader: Any, today: date) -> Score:
    result = Score()
    start = time.perf_counter()
    outputs = [reader(n, today) for n in notices]
    result.seconds = time.perf_counter() - start
    for notice, got in zip(notices, outputs, strict=True):
        days = set(got)
        tp = len(notice.want & days)
        fn = len(notice.want - days)
        fp = len(days - notice.want - notice.either)
        result.total.add(tp, fp, fn)
        result.languages[notice.lang].add(tp, fp, fn)
        result.deadlines[notice.lang] += len(notice.want)
        if notice.negative:
            result.invented += fp
        for day, stated in notice.times.items():
            if day in got:
                result.times_stated += 1
                result.times_right += (got[day] or "")[:5] == stated
    return result


def _line(name: str, s: Score, count: int) -> str:
    t = s.total
    times = f"{s.times_right}/{s.times_stated}" if s.times_stated else "-"
    rate = count / s.seconds if s.seconds else 0.0
    return (
        f"  {name:<13} P {t.precision:.3f}  R {t.recall:.3f}  F1 {t.f1:.3f}  "
        f"(tp {t.tp} fp {t.fp} fn {t.fn})  times {times}  invented in negatives "
        f"{s.invented}  {rate:,.0f} notices/s"
    )


def main(extra: list[str]) -> None:
    today = date.today()
    corpora: list[tuple[str, list[Notice]]] = [("golden", list(_golden()))]
    if DEV.is_file():
        corpora.append(("shared dev", list(_jsonl(DEV))))
    else:
        print(f"note: {DEV} not found; the shared dev corpus is skipped")
    project = sorted(PROJECT.glob("*.jsonl")) if PROJECT.is_dir() else []
    if project:
        corpora.append(("project", [n for p in project for n in _jsonl(p)]))
    else:
        print(f"note: no {PROJECT}/*.jsonl yet; the project corpus is skipped")
    if extra:
        corpora.append(("extra", [n for p in extra for n in _jsonl(Path(p))]))
    _jsonl_warm = corpora[0][1][:5]
    score(_jsonl_warm, _found, today)  # compile the grammars before timing
    for name, notices in corpora:
        deadlines = sum(len(n.want) for n in notices)
        negatives = sum(n.negative for n in notices)
        print(f"{name}: {len(notices)} notices, {deadlines} deadlines, {negatives} negatives")
        ours = score(notices, _found, today)
        base = score(notices, _latest_date, today)
        print(_line("feedline", ours, len(notices)))
        print(_line("latest date", base, len(notices)))
        per_language = "  ".join(
            f"{lang} {tally.f1:.2f} ({ours.deadlines[lang]})"
            for lang, tally in sorted(ours.languages.items())
        )
        print(f"  by language (F1, deadlines): {per_language}")


if __name__ == "__main__":
    main(sys.argv[1:])
