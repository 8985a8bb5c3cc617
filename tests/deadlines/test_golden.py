"""Golden cases: tests/data/deadlines/<case>/input.txt + expected.json (+ meta.json)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from feeds.deadlines import choose_reference, deadline_to_json, find_deadlines

CASES_DIR = Path(__file__).resolve().parent.parent / "data" / "deadlines"
CASES = sorted(p.name for p in CASES_DIR.iterdir() if (p / "input.txt").is_file())


def _load(name: str) -> tuple[str, dict[str, Any], list[dict[str, Any]]]:
    case = CASES_DIR / name
    text = (case / "input.txt").read_text(encoding="utf-8")
    meta_path = case / "meta.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.is_file() else {}
    expected = json.loads((case / "expected.json").read_text(encoding="utf-8"))
    return text, meta, expected


def _extract(text: str, meta: dict[str, Any]) -> list[dict[str, Any]]:
    published = date.fromisoformat(meta["published"]) if "published" in meta else None
    first_seen = date.fromisoformat(meta.get("first_seen", "2024-01-01"))
    reference, strong = choose_reference(published=published, texts=[text], first_seen=first_seen)
    strong = meta.get("reference_is_strong", strong)
    found = find_deadlines(
        text,
        reference=reference,
        timezone=meta.get("timezone", "Europe/Brussels"),
        language=meta.get("lang", "en"),
        reference_is_strong=strong,
    )
    return [deadline_to_json(d) for d in found]


def test_enough_cases() -> None:
    negatives = [name for name in CASES if _load(name)[2] == []]
    assert len(CASES) >= 70
    assert len(negatives) >= 18


@pytest.mark.parametrize("name", CASES)
def test_golden_case(name: str) -> None:
    text, meta, expected = _load(name)
    actual = _extract(text, meta)
    for found in actual:
        assert found["evidence"] in text  # evidence is quoted from the input, never invented
    without_evidence = [{k: v for k, v in d.items() if k != "evidence"} for d in actual]
    wanted = [{k: v for k, v in d.items() if k != "evidence"} for d in expected]
    assert without_evidence == wanted
    for found, want in zip(actual, expected, strict=True):
        assert want["evidence"] in found["evidence"] or found["evidence"] in want["evidence"]
