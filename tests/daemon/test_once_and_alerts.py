"""`feedline once` for cron, operator alerts after repeated failures, and `feedline status`."""

from __future__ import annotations

import email
import email.policy
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.foundation.helpers import PAGE, run_cli, site_block, source_block, write_config
from tests.support.db import postgres_schema_url, postgres_url_or_skip


def config_with_alerts(tmp_path: Path) -> Path:
    (tmp_path / "good.txt").write_text(PAGE)
    (tmp_path / "flaky.txt").write_text(PAGE.replace("river", "lake"))
    return write_config(
        tmp_path,
        site_block()
        + source_block("good", "good.txt")
        + source_block("flaky", "flaky.txt")
        + '[alerts]\nafter_failures = 3\noperator = "ops@example.org"\n',
    )


def outbox_subjects(tmp_path: Path) -> list[str]:
    subjects = []
    for path in sorted((tmp_path / "outbox").glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        subjects.append(str(message["Subject"]))
    return subjects


def test_once_exit_codes_alert_once_and_recovery(tmp_path: Path) -> None:
    config = config_with_alerts(tmp_path)
    first = run_cli("once", config=config, now="2024-03-01T10:00:00+00:00")
    assert first.exit_code == 0, first.output
    assert "reminders: sent 0" in first.stdout
    (tmp_path / "flaky.txt").unlink()
    for minute in range(1, 6):
        result = run_cli("once", config=config, now=f"2024-03-01T10:{minute:02d}:00+00:00")
        assert result.exit_code == 1
        assert "flaky: FAILED" in result.stderr and "file not found" in result.stderr
    assert outbox_subjects(tmp_path) == ["feedline: source flaky has failed 3 times"]
    status = run_cli("status", config=config, now="2024-03-01T11:30:00+00:00")
    assert status.exit_code == 1
    assert "source flaky" in status.stdout and "file not found" in status.stdout
    (tmp_path / "flaky.txt").write_text(PAGE)
    recovered = run_cli("once", config=config, now="2024-03-01T11:40:00+00:00")
    assert recovered.exit_code == 0
    assert outbox_subjects(tmp_path)[-1] == "feedline: source flaky has recovered"
    assert len(outbox_subjects(tmp_path)) == 2
    assert run_cli("status", config=config, now="2024-03-01T11:41:00+00:00").exit_code == 0
    alert = sorted((tmp_path / "outbox").glob("*.eml"))[0].read_text()
    assert "To: ops@example.org" in alert


def test_status_json(tmp_path: Path) -> None:
    config = config_with_alerts(tmp_path)
    run_cli("once", config=config, now="2024-03-01T10:00:00+00:00")
    result = run_cli("status", "--json", config=config, now="2024-03-01T10:01:00+00:00")
    assert result.exit_code == 0
    assert '"status": "ok"' in result.stdout


def test_a_taken_port_is_a_one_line_error(tmp_path: Path) -> None:
    import socket

    from tests.foundation.helpers import PAGE as page

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        (tmp_path / "p.txt").write_text(page)
        config = write_config(
            tmp_path,
            site_block() + source_block("river", "p.txt") + f"[server]\nport = {port}\n",
        )
        result = run_cli("run", config=config)
    assert result.exit_code == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.output


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def site_database(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    """[site] keys for a store of each kind (PostgreSQL: a fresh schema, dropped afterwards)."""
    if request.param == "sqlite":
        yield {}
        return
    base = postgres_url_or_skip()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield {"database_url": f'"{postgres_schema_url(base, schema)}"'}
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def test_status_output_and_exit_codes_on_each_database(
    tmp_path: Path, site_database: dict[str, str]
) -> None:
    (tmp_path / "good.txt").write_text(PAGE)
    body = site_block(**site_database) + source_block("good", "good.txt")
    config = write_config(tmp_path, body + source_block("gone", "gone.txt"))
    assert run_cli("once", config=config, now="2024-03-01T10:00:00+00:00").exit_code == 1
    failing = run_cli("status", config=config, now="2024-03-01T10:05:00+00:00")
    assert failing.exit_code == 1
    lines = failing.stdout.splitlines()
    assert lines[:3] == [
        "status: failing",
        "  problem: source gone failing for longer than 1:00:00",
        "source good: last success 2024-03-01T11:00:00+01:00, 0 failure(s) in a row",
    ]
    assert lines[3].startswith("source gone: last success never, 1 failure(s) in a row; last")
    assert lines[4:] == [
        "mail: ok, 0 failure(s) in a row",
        "reminders: 0 pending, 0 sent, 0 failed; next due none",
    ]
    as_json = run_cli("status", "--json", config=config, now="2024-03-01T10:05:00+00:00")
    assert as_json.exit_code == 1
    assert json.loads(as_json.stdout)["sources"][0]["last_success"] == "2024-03-01T10:00:00+00:00"
    write_config(tmp_path, body)  # the failing source removed: all well
    healthy = run_cli("status", config=config, now="2024-03-01T10:06:00+00:00")
    assert healthy.exit_code == 0
    assert healthy.stdout.splitlines()[0] == "status: ok"


def test_once_and_build_skip_a_source_a_daemon_is_refreshing(
    tmp_path: Path, site_database: dict[str, str]
) -> None:
    """`once` and `build` take the daemons' per-source refresh lease: a source held by a
    daemon is left to it; the others are refreshed and released with their next due time."""
    from config.loading import load_settings
    from feeds.clock import FixedClock
    from feeds.store.tables import items, sources
    from scheduler.database import open_database
    from scheduler.refresh_lease import RefreshLeases

    (tmp_path / "river.txt").write_text(PAGE)
    (tmp_path / "lake.txt").write_text(PAGE.replace("river", "lake"))
    body = site_block(**site_database) + source_block("river", "river.txt")
    config = write_config(tmp_path, body + source_block("lake", "lake.txt", every='"1h"'))
    engine = open_database(load_settings(config).settings)

    def state() -> dict[str, tuple[str | None, str | None, int]]:
        with engine.connect() as conn:
            rows = conn.execute(select_sources).all()
            counts = dict(
                conn.execute(
                    sa.select(items.c.source_id, sa.func.count()).group_by(items.c.source_id)
                ).all()
            )
        return {
            row.id: (row.lease_owner, row.refresh_due and row.refresh_due.isoformat(),
                     counts.get(row.id, 0))
            for row in rows
        }  # fmt: skip

    select_sources = sa.select(sources.c.id, sources.c.lease_owner, sources.c.refresh_due)
    try:
        first = run_cli("once", config=config, now="2024-03-01T10:00:00+00:00")
        assert first.exit_code == 0, first.output
        assert "skipped" not in first.stdout
        stored = state()
        assert stored["river"][:2] == (None, "2024-03-01T10:30:00+00:00")  # the default 30m
        assert stored["lake"][:2] == (None, "2024-03-01T11:00:00+00:00")
        assert stored["river"][2] > 0

        # A daemon is refreshing "river" now; both pages gained an item meanwhile.
        daemon = RefreshLeases(
            engine, FixedClock(datetime(2024, 3, 1, 10, 5, tzinfo=UTC)), LEASE, "daemon-1"
        )
        assert daemon.take("river").taken is False  # not due yet: 10:30
        assert daemon.take("river", at_start=True).taken
        for name in ("river", "lake"):
            page = tmp_path / f"{name}.txt"
            news = EXTRA.replace("NAME", name) + "Navigation path"
            page.write_text(page.read_text().replace("Navigation path", news))
        for command, minute, lake in (("build", 5, "3 items (1 new"), ("once", 7, "unchanged")):
            result = run_cli(command, config=config, now=f"2024-03-01T10:{minute:02d}:00+00:00")
            assert result.exit_code == 0, result.output
            assert "river: skipped, being refreshed by daemon-1" in result.stdout
            assert f"lake: {lake}" in result.stdout
            after = state()
            assert after["river"] == ("daemon-1", *stored["river"][1:])  # untouched
            assert after["lake"] == (None, f"2024-03-01T11:{minute:02d}:00+00:00", 3)
        assert daemon.release("river", datetime(2024, 3, 1, 10, 30, tzinfo=UTC))
        freed = run_cli("build", config=config, now="2024-03-01T10:08:00+00:00")
        assert "skipped" not in freed.stdout
        assert "river: 3 items (1 new, 0 updated)" in freed.stdout
        assert state()["river"] == (None, "2024-03-01T10:38:00+00:00", 3)
    finally:
        engine.dispose()


LEASE = timedelta(minutes=2)
EXTRA = """NAME basin report published

The ministry published a report on the NAME basin. Comments are welcome until 30 June 2031.

\u00a0

"""
