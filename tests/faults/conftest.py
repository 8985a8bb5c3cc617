"""The fault suite's sizes and its figures.

Every scenario runs small in the suite (CI) and large under `bench/reliability_bench.py`
(`FEEDLINE_RELIABILITY=full`); each records one row, fault | size tried | lost | duplicated |
other outcome, and the duplicates the ledger allows, to the JSON-lines file named by
`FEEDLINE_RELIABILITY_OUT` (when set), which the bench turns into the table of
docs/reliability.md.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pytest

T = TypeVar("T")


@dataclass(frozen=True)
class Reliability:
    full: bool
    out: Path | None

    def size(self, short: T, full: T) -> T:
        """`short` in the suite, `full` under the reliability bench."""
        return full if self.full else short

    def record(
        self, fault: str, size: str, lost: int, duplicated: int, other: str, bound: int = 0
    ) -> None:
        """One row; `bound` is the most duplicates the ledger allows for this fault (0 unless
        a sender died with messages in flight)."""
        if self.out is None:
            return
        row = {"fault": fault, "size": size, "lost": lost, "duplicated": duplicated}
        row |= {"other": other, "bound": bound}
        with self.out.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(row) + "\n")


@pytest.fixture(scope="session")
def reliability() -> Reliability:
    out = os.environ.get("FEEDLINE_RELIABILITY_OUT")
    return Reliability(
        full=os.environ.get("FEEDLINE_RELIABILITY") == "full", out=Path(out) if out else None
    )
