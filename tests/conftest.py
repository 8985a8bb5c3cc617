"""Shared fixtures: a clock, a PostgreSQL database (or a clear skip), paths."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from feeds.clock import FixedClock

pytest_plugins = ["tests.support.smtp", "tests.support.db"]

REPO = Path(__file__).resolve().parent.parent
SEED_DIR = REPO.parent / "shared" / "seeds"
SEED_PAGE = SEED_DIR / "000_c9ecb59b33c2e381.txt"


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2023, 2, 8, 9, 0, tzinfo=UTC))


@pytest.fixture
def seed_page() -> Path:
    if not SEED_PAGE.is_file():
        if os.environ.get("CI") == "true":
            pytest.fail(f"seed page missing at {SEED_PAGE}: CI must have shared/ beside the repo")
        pytest.skip(f"seed page not found at {SEED_PAGE} (shared/ is not beside this checkout)")
    return SEED_PAGE
