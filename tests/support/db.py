"""Database fixtures: a real SQLite file, and real PostgreSQL in a throwaway schema."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from scheduler.database import create_db_engine, upgrade
from tests.conftest import postgres_url_or_skip


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
