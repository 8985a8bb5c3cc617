"""Shared fixtures: a clock, a PostgreSQL database (or a clear skip), paths."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from feeds.clock import FixedClock

pytest_plugins = ["tests.support.smtp"]

REPO = Path(__file__).resolve().parent.parent
SEED_DIR = REPO.parent / "shared" / "seeds"
SEED_PAGE = SEED_DIR / "000_c9ecb59b33c2e381.txt"
POSTGRES_URL = os.environ.get(
    "FEEDLINE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


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


def postgres_url_or_skip() -> str:
    """The test PostgreSQL URL; skip with a reason outside CI, fail loudly in CI."""
    import sqlalchemy as sa

    try:
        engine = sa.create_engine(POSTGRES_URL)
        with engine.connect() as conn:
            conn.execute(sa.text("select 1"))
        engine.dispose()
    except Exception as exc:
        message = f"PostgreSQL not reachable at {POSTGRES_URL}: {exc.__class__.__name__}: {exc}"
        if os.environ.get("CI") == "true":
            pytest.fail(message + " (CI=true: PostgreSQL tests must run)")
        pytest.skip(message)
    return POSTGRES_URL


@pytest.fixture
def postgres_url() -> str:
    return postgres_url_or_skip()
