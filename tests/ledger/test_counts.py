"""Every number the CLI prints about the ledger, on SQLite and on PostgreSQL.

`plan()` counts the rows it really inserted (RETURNING): an executemany's rowcount is -1 on
PostgreSQL, which once made `subscribers add` print "0 reminder(s) planned" there.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine, func, select

from feeds.store.tables import reminders
from scheduler.ledger.planning import insert_ignoring_duplicates, plan
from scheduler.ledger.subscribers import add_subscriber
from tests.foundation.helpers import run_cli, site_block, source_block, write_config
from tests.ledger.helpers import end_of_day, make_settings, store_deadline
from tests.support.db import postgres_schema_url, postgres_url_or_skip

NOW = datetime(2023, 1, 2, tzinfo=UTC)
BEFORE = NOW.isoformat()  # the seed page's deadline is still open
WEEK, DAY = timedelta(days=7), timedelta(days=1)


def stored_rows(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(reminders)).scalar_one())


def test_plan_counts_the_rows_it_created(engine: Engine, tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    store_deadline(engine, settings, end_of_day(date(2023, 2, 17)))
    store_deadline(engine, settings, end_of_day(date(2023, 3, 3)), title="Other", label="other")
    with engine.begin() as conn:
        for n in range(3):
            add_subscriber(conn, f"p{n}@example.org", NOW)
    with engine.begin() as conn:
        assert plan(conn, NOW, [WEEK, DAY]) == 2 * 3 * 2
    assert stored_rows(engine) == 12
    with engine.begin() as conn:
        assert plan(conn, NOW, [WEEK, DAY]) == 0  # nothing new: nothing counted
        assert plan(conn, NOW, [WEEK, DAY, timedelta(hours=3)]) == 2 * 3
    assert stored_rows(engine) == 18


def test_rows_another_daemon_inserted_first_are_not_counted(engine: Engine, tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    store_deadline(engine, settings, end_of_day(date(2023, 2, 17)))
    with engine.begin() as conn:
        add_subscriber(conn, "ana@example.org", NOW)
        assert plan(conn, NOW, [WEEK]) == 1
        template = dict(
            conn.execute(select(reminders).where(reminders.c.kind == "reminder")).one()._mapping
        )
    del template["id"]
    later = {**template, "offset_seconds": 3600, "due_at": template["due_at"] + WEEK}
    with engine.begin() as conn:  # the same row again (planned meanwhile elsewhere), one new
        assert insert_ignoring_duplicates(conn, [template, later]) == 1
    assert stored_rows(engine) == 2


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str | None]:
    """None (the SQLite file in data_dir) or a fresh PostgreSQL schema for the CLI."""
    if request.param == "sqlite":
        monkeypatch.delenv("FEEDLINE_DATABASE_URL", raising=False)
        yield None
        return
    base = postgres_url_or_skip()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    monkeypatch.setenv("FEEDLINE_DATABASE_URL", postgres_schema_url(base, schema))
    try:
        yield postgres_schema_url(base, schema)
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def test_the_cli_prints_the_right_numbers(
    tmp_path: Path, seed_page: Path, database_url: str | None
) -> None:
    shutil.copy(seed_page, tmp_path / "seed.txt")
    config = write_config(tmp_path, site_block() + source_block("home-affairs", "seed.txt"))
    assert run_cli("build", config=config).exit_code == 0  # 17 February and 18 March 2023
    added = run_cli("subscribers", "add", "ana@example.org", config=config, now=BEFORE)
    assert "added ana@example.org (4 reminder(s) planned)" in added.stdout, added.output
    again = run_cli("subscribers", "add", "ana@example.org", config=config, now=BEFORE)
    assert "updated ana@example.org (0 reminder(s) planned)" in again.stdout
    fewer = run_cli(
        "subscribers", "add", "bo@example.org", "--offsets", "1d", config=config, now=BEFORE
    )
    assert "added bo@example.org (2 reminder(s) planned)" in fewer.stdout
    (tmp_path / "people.csv").write_text(
        "email,sources,offsets\ncy@example.org,,7d;3h\nbroken,,\nbo@example.org,,1d\n"
    )
    imported = run_cli(
        "subscribers", "import", str(tmp_path / "people.csv"), config=config, now=BEFORE
    )
    assert "imported 1 new, 1 updated, 1 skipped" in imported.stdout
    dry = run_cli("remind", "--dry-run", config=config, now="2023-02-17T09:00:00+01:00")
    # 17 February: ana 7d expired, 1d sent; bo 1d sent; cy 7d sent (3h not yet due).
    assert "dry run: would send 3, expire 1; nothing was changed" in dry.stdout, dry.output
    sent = run_cli("remind", config=config, now="2023-02-17T09:00:00+01:00")
    expected = "sent 3, retried 0, failed 0, expired 1; next due: 2023-02-17T20:59:59+01:00"
    assert expected in sent.stdout
    late = run_cli("remind", config=config, now="2023-02-18T00:00:00+01:00")
    expected = "sent 0, retried 0, failed 0, expired 1; next due: 2023-03-11T23:59:59+01:00"
    assert expected in late.stdout
    if database_url is not None:
        engine = sa.create_engine(database_url)
        try:
            with engine.connect() as conn:
                by_status = dict(
                    conn.execute(
                        select(reminders.c.status, func.count()).group_by(reminders.c.status)
                    ).all()
                )
        finally:
            engine.dispose()
        assert by_status == {"sent": 3, "expired": 2, "pending": 5}


def test_planning_in_chunks_plans_everyone_once(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from scheduler.ledger import planning
    from scheduler.ledger.subscribers import DigestChoice, SubscriberStatus

    monkeypatch.setattr(planning, "PEOPLE_CHUNK", 2)
    settings = make_settings(tmp_path)
    store_deadline(engine, settings, end_of_day(date(2023, 2, 17)))
    with engine.begin() as conn:
        ids = [add_subscriber(conn, f"p{n}@example.org", NOW)[0].id for n in range(5)]
        add_subscriber(conn, "paused@example.org", NOW, status=SubscriberStatus.PAUSED)
        add_subscriber(conn, "digest@example.org", NOW, digest=DigestChoice.ONLY)
        ids += [add_subscriber(conn, f"q{n}@example.org", NOW)[0].id for n in range(2)]
    with engine.begin() as conn:
        assert plan(conn, NOW, [WEEK], subscriber_ids=ids[1:4]) == 3
        assert plan(conn, NOW, [WEEK]) == 7 - 3
        assert plan(conn, NOW, [WEEK, DAY]) == 7
    with engine.connect() as conn:
        people = conn.execute(select(reminders.c.subscriber_id).distinct()).scalars().all()
    assert sorted(people) == sorted(ids)
    assert stored_rows(engine) == 14
