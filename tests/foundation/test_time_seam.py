"""Time is read in one place: `feeds.clock.SystemClock`. Everything else is handed a Clock."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import REPO

PACKAGES = ("config", "feeds", "scheduler")
CLOCK = REPO / "feeds" / "clock.py"
#: Calls that read the wall clock (monotonic timers measure intervals and are allowed).
WALL_CLOCK = {
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("datetime", "today"),
    ("date", "today"),
    ("time", "time"),
}


def wall_clock_reads(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        owner = node.func.value
        name = owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", None)
        if (name, node.func.attr) in WALL_CLOCK:
            found.append(f"{path.relative_to(REPO)}:{node.lineno}: {name}.{node.func.attr}()")
    return found


def test_only_the_system_clock_reads_the_time() -> None:
    reads = [
        read
        for package in PACKAGES
        for path in sorted((REPO / package).rglob("*.py"))
        if path != CLOCK
        for read in wall_clock_reads(path)
    ]
    assert reads == []


def test_the_scan_finds_a_read() -> None:
    assert wall_clock_reads(CLOCK) == ["feeds/clock.py:19: datetime.now()"]
