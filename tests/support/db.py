"""Database fixtures: a real SQLite file, and real PostgreSQL in a throwaway schema."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from scheduler.database import create_db_engine, upgrade

POSTGRES_URL = os.environ.get(
    "FEEDLINE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


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


def sqlite_engine(folder: Path) -> Engine:
    engine = create_db_engine(f"sqlite:///{folder / 'feedline.db'}")
    upgrade(engine)
    return engine


def postgres_schema_url(base_url: str, schema: str) -> str:
    return f"{base_url}?options=-csearch_path%3D{schema}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A migrated database of each kind (PostgreSQL: a fresh schema, dropped afterwards)."""
    if request.param == "sqlite":
        db = sqlite_engine(tmp_path)
        yield db
        db.dispose()
        return
    base = postgres_url_or_skip()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    db = create_db_engine(postgres_schema_url(base, schema))
    try:
        upgrade(db)
        yield db
    finally:
        db.dispose()
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def postgres_url() -> str:
    return postgres_url_or_skip()
