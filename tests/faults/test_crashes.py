"""SIGKILL at random moments during reminders (SQLite, one sender; PostgreSQL, three) and
during builds. Short in the suite; bench/reliability_bench.py runs 100 kills in 10,000."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from scheduler.database import create_db_engine, upgrade
from scheduler.ledger.dispatch import in_flight_bound
from tests.faults.conftest import Reliability
from tests.faults.crashes import kill_during_builds, kill_during_reminders
from tests.support.db import postgres_schema_url, postgres_url_or_skip

pytestmark = pytest.mark.slow
MAX_CONNECTIONS = 4


def test_sigkill_during_reminders_on_sqlite(tmp_path: Path, reliability: Reliability) -> None:
    count, kills = reliability.size((300, 5), (10_000, 100))
    (tmp_path / "data").mkdir()
    engine = create_db_engine(f"sqlite:///{tmp_path / 'data' / 'feedline.db'}")
    upgrade(engine)
    outcome = kill_during_reminders(
        tmp_path,
        engine,
        count=count,
        kills=kills,
        senders=1,
        database_url=None,
        max_per_second=reliability.size(40, 150),
        pause=(0.0, 0.6),
        timeout=reliability.size(1800.0, 3600.0),
    )
    engine.dispose()
    reliability.record(
        "SIGKILL during reminders (SQLite, 1 sender)",
        f"{outcome.reminders:,} reminders, {outcome.kills} kills",
        outcome.lost,
        outcome.duplicated,
        f"{outcome.kills_mid_send} kills while messages flowed; {outcome.seconds:.0f} s; "
        + ", ".join(f"{k}: {v}" for k, v in outcome.other.items()),
        bound=outcome.kills * in_flight_bound(MAX_CONNECTIONS),
    )
    assert outcome.kills == kills
    assert outcome.lost == 0
    assert outcome.duplicated <= outcome.kills * in_flight_bound(MAX_CONNECTIONS)


@pytest.mark.postgres
def test_sigkill_during_reminders_on_postgres_three_senders(
    tmp_path: Path, reliability: Reliability
) -> None:
    count, kills = reliability.size((300, 5), (10_000, 100))
    base = postgres_url_or_skip()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = postgres_schema_url(base, schema)
    engine = create_db_engine(url)
    try:
        upgrade(engine)
        outcome = kill_during_reminders(
            tmp_path,
            engine,
            count=count,
            kills=kills,
            senders=3,
            database_url=url,
            max_per_second=reliability.size(10, 60),
            pause=(0.0, 0.6),
            timeout=reliability.size(1800.0, 3600.0),
        )
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
    reliability.record(
        "SIGKILL during reminders (PostgreSQL, 3 senders)",
        f"{outcome.reminders:,} reminders, {outcome.kills} kills",
        outcome.lost,
        outcome.duplicated,
        f"{outcome.kills_mid_send} kills while messages flowed; {outcome.seconds:.0f} s; "
        + ", ".join(f"{k}: {v}" for k, v in outcome.other.items()),
        bound=outcome.kills * in_flight_bound(MAX_CONNECTIONS),
    )
    assert outcome.kills == kills
    assert outcome.lost == 0
    assert outcome.duplicated <= outcome.kills * in_flight_bound(MAX_CONNECTIONS)


def test_sigkill_during_builds(tmp_path: Path, reliability: Reliability) -> None:
    kills, items = reliability.size((4, 20), (30, 60))
    (tmp_path / "data").mkdir()
    engine = create_db_engine(f"sqlite:///{tmp_path / 'data' / 'feedline.db'}")
    outcome = kill_during_builds(tmp_path, engine, kills=kills, items=items)
    engine.dispose()
    reliability.record(
        "SIGKILL during builds (SQLite)",
        f"{outcome.kills} kills, {items}+ items",
        outcome.items_lost,
        outcome.items_doubled,
        f"truncated feeds {outcome.truncated}, database unusable {outcome.unusable}, "
        f"next build {'ok' if outcome.final_build_ok else 'FAILED'}",
    )
    assert outcome.truncated == 0
    assert outcome.unusable == 0
    assert outcome.final_build_ok
    assert outcome.items_lost == 0 and outcome.items_doubled == 0
