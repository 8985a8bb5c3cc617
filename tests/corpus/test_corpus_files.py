"""The project's real-world deadline corpus (tests/data/corpus/*.jsonl) stays well formed.

Two layers: the shared checker (../shared/corpus/check_corpus.py, beside the checkout) run on
every file, and this module's own checks, which need nothing outside the repository.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any
from zoneinfo import available_timezones

import pytest

REPO = Path(__file__).resolve().parents[2]
CORPUS_DIR = REPO / "tests" / "data" / "corpus"
CORPUS_FILES = sorted(CORPUS_DIR.glob("*.jsonl"))
SHARED_CHECKER = Path("..") / "shared" / "corpus" / "check_corpus.py"

REQUIRED = (
    "id",
    "source",
    "title",
    "publisher",
    "published",
    "published_basis",
    "lang",
    "text",
    "text_origin",
    "deadlines",
    "non_deadline_dates",
    "tags",
    "hard_cases",
    "notes",
)
STATUSES = {"operative", "closed_per_text", "superseded", "conflicting"}
CONFIDENCES = {"high", "medium", "low"}
LANGS = {"en", "fr", "de", "it", "es", "nl", "pt"}
PUBLISHED_RE = re.compile(r"^\d{4}-\d{2}(-\d{2})?$")
TIME_RE = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
ZONES = available_timezones()


def occurrences(text: str, sub: str) -> int:
    """How often sub occurs in text, overlapping occurrences included."""
    count, at = 0, text.find(sub)
    while at != -1:
        count += 1
        at = text.find(sub, at + 1)
    return count


def surface_problems(where: str, text: str, item: dict[str, Any], key: str) -> list[str]:
    surface = item.get(key)
    if not isinstance(surface, str) or not surface.strip():
        return [f"{where}: {key} must be a non-empty string"]
    found = occurrences(text, surface)
    if found == 0:
        return [f"{where}: {key} {surface!r} is not in text"]
    occurrence = item.get("surface_occurrence", 0) if key == "surface" else 0
    if not isinstance(occurrence, int) or not 0 <= occurrence < found:
        return [f"{where}: surface_occurrence {occurrence!r} but {surface!r} occurs {found}x"]
    return []


def deadline_problems(where: str, text: str, deadline: dict[str, Any]) -> list[str]:
    problems = surface_problems(where, text, deadline, "surface")
    try:
        dt.date.fromisoformat(deadline.get("date", ""))
    except (TypeError, ValueError):
        problems.append(f"{where}: date {deadline.get('date')!r} is not ISO YYYY-MM-DD")
    if deadline.get("status") not in STATUSES:
        problems.append(f"{where}: status {deadline.get('status')!r} not in {sorted(STATUSES)}")
    if deadline.get("confidence") not in CONFIDENCES:
        problems.append(f"{where}: confidence {deadline.get('confidence')!r} unknown")
    time = deadline.get("time")
    if time is not None:
        if not isinstance(time, str) or not TIME_RE.match(time):
            problems.append(f"{where}: time {time!r} is not HH:MM")
        problems += surface_problems(where, text, deadline, "time_surface")
    zone = deadline.get("tz")
    if zone is not None and zone not in ZONES:
        problems.append(f"{where}: tz {zone!r} is not an IANA zone")
    return problems


def record_problems(where: str, record: dict[str, Any]) -> list[str]:
    """Every way one corpus record breaks the schema of ../shared/corpus/README.md."""
    missing = [key for key in REQUIRED if key not in record]
    if missing:
        return [f"{where}: missing fields {missing}"]
    text = record["text"]
    if not isinstance(text, str) or not text.strip():
        return [f"{where}: text must be a non-empty string"]
    problems: list[str] = []
    if record["lang"] not in LANGS:
        problems.append(f"{where}: lang {record['lang']!r} not in {sorted(LANGS)}")
    published = record["published"]
    if published is not None and not PUBLISHED_RE.match(str(published)):
        problems.append(f"{where}: published {published!r} is not YYYY-MM(-DD) or null")
    if record["source"] not in record["text_origin"]:
        problems.append(f"{where}: text_origin does not name the source")
    for index, deadline in enumerate(record["deadlines"]):
        problems += deadline_problems(f"{where} deadline[{index}]", text, deadline)
    for index, other in enumerate(record["non_deadline_dates"]):
        if other.get("surface") is not None:
            problems += surface_problems(f"{where} non_deadline[{index}]", text, other, "surface")
    negative = "no_deadline_negative" in record["hard_cases"]
    if negative == bool(record["deadlines"]):
        problems.append(f"{where}: no_deadline_negative must be set exactly when no deadlines")
    return problems


def load(path: Path) -> list[dict[str, Any]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def test_corpus_files_exist() -> None:
    assert CORPUS_FILES, f"no *.jsonl corpus files in {CORPUS_DIR}"


@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda path: path.name)
def test_shared_checker_accepts(path: Path) -> None:
    if not (REPO / SHARED_CHECKER).is_file():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{SHARED_CHECKER} missing: CI must have shared/ beside the repo")
        pytest.skip(f"{SHARED_CHECKER} not found (shared/ is not beside this checkout)")
    run = subprocess.run(
        [sys.executable, str(SHARED_CHECKER), str(path.relative_to(REPO)), "-q"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr


@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda path: path.name)
def test_records_follow_the_schema(path: Path) -> None:
    problems = [
        problem
        for number, record in enumerate(load(path), 1)
        for problem in record_problems(f"{path.name} line {number}", record)
    ]
    assert problems == []


def test_ids_are_unique_across_files() -> None:
    ids = Counter(record["id"] for path in CORPUS_FILES for record in load(path))
    assert [rid for rid, count in ids.items() if count > 1] == []


def test_schema_check_rejects_a_broken_record() -> None:
    record = load(CORPUS_FILES[0])[0]
    moved = [dict(deadline, surface="31 Smarch 2099") for deadline in record["deadlines"]]
    broken = dict(record, deadlines=moved)
    broken["hard_cases"] = [h for h in record["hard_cases"] if h != "no_deadline_negative"]
    if not broken["deadlines"]:
        broken["deadlines"] = [{"date": "2099-13-01", "status": "open", "surface": "x"}]
    assert record_problems("broken", broken)
