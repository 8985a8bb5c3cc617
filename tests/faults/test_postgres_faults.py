"""PostgreSQL connections cut mid-pass and mid-refresh through a loopback TCP proxy the test
controls, and the server unreachable at start: clear errors, retries, nothing lost or doubled.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from feeds.clock import FixedClock
from feeds.store.tables import items, reminders
from scheduler.database import create_db_engine, upgrade
from scheduler.ledger.dispatch import in_flight_bound
from tests.faults.conftest import Reliability
from tests.faults.helpers import (
    DUE,
    by_status,
    delivered,
    fault_settings,
    many_subscribers,
    monitored_dispatcher,
    tally,
)
from tests.faults.proxy import TcpProxy
from tests.foundation.helpers import run_cli, site_block, source_block, write_config
from tests.support.db import postgres_schema_url, postgres_url_or_skip
from tests.support.smtp import SmtpTestServer

pytestmark = pytest.mark.postgres


@pytest.fixture
def proxied() -> Iterator[tuple[TcpProxy, Engine, str]]:
    """A fresh schema, an engine that reaches PostgreSQL only through the proxy."""
    base = postgres_url_or_skip()
    url = make_url(base)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    proxy.start()
    via = url.set(port=proxy.port).render_as_string(hide_password=False)
    proxied_url = postgres_schema_url(via, schema)
    engine = create_db_engine(proxied_url)
    upgrade(engine)
    try:
        yield proxy, engine, proxied_url
    finally:
        engine.dispose()
        proxy.close()
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


async def test_connection_cut_mid_pass_loses_nothing(
    proxied: tuple[TcpProxy, Engine, str],
    tmp_path: Path,
    smtp_server: SmtpTestServer,
    reliability: Reliability,
) -> None:
    proxy, engine, _ = proxied
    settings = fault_settings(tmp_path)
    people = many_subscribers(engine, settings, reliability.size(40, 1000))
    count = len(people)
    clock = FixedClock(DUE)
    handler = smtp_server.handler
    original = handler.handle_DATA

    cuts: list[int] = []

    async def cut_after_ten(*args: Any) -> str:
        reply = await original(*args)
        if len(handler.messages) >= 10 and not cuts:
            cuts.append(proxy.cut())  # every database connection of the pass, mid-pass
        return reply

    handler.handle_DATA = cut_after_ten  # type: ignore[method-assign]
    first = monitored_dispatcher(engine, settings, smtp_server, clock, owner="first")
    with pytest.raises(SQLAlchemyError):
        await first.run_pass()
    await first.transport.close()
    assert 10 <= len(handler.messages) < count
    clock.advance(settings.reminders.lease + timedelta(seconds=1))  # the claims run out
    second = monitored_dispatcher(engine, settings, smtp_server, clock, owner="second")
    summary = await second.run_pass()
    await second.transport.close()
    counts = Counter(delivered(smtp_server))
    assert sorted(counts) == people, "0 lost"
    duplicated = sum(counts.values()) - len(counts)
    # in flight: one per connection (a message is completed once the previous is marked)
    assert duplicated <= in_flight_bound(2), "at most the messages in flight (2 connections)"
    assert by_status(engine)["sent"] == count
    assert summary.sent >= 1, "the second sender finished what the cut pass held"
    reliability.record(
        "PostgreSQL connections cut mid-pass (proxy)",
        f"{count:,} reminders, cut after 10",
        *tally(people, smtp_server),
        "the pass fails with the database error; the claims come back after the lease and "
        "another sender finishes; duplicates at most the messages in flight",
        bound=in_flight_bound(2),
    )


async def test_connection_cut_mid_refresh_then_next_refresh_stores_once(
    proxied: tuple[TcpProxy, Engine, str], tmp_path: Path, reliability: Reliability
) -> None:
    from config.loading import load_settings
    from scheduler.wiring import build_app

    proxy, engine, url = proxied
    page = tmp_path / "page.txt"
    page.write_text(
        "News\n\nConsultation on river water quality\n\nThe consultation is open until "
        "30 April 2024.\n\nMinister visits flood defences\n\nOn 2 March 2024 the minister "
        "visited.\n"
    )
    config = write_config(
        tmp_path,
        site_block(database_url=f'"{url}"') + source_block("river", "page.txt"),
    )

    def item_count() -> int:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(items)).scalar_one())

    proxy.stop()  # unreachable at the start of a build: one clear line
    refused = await asyncio.to_thread(run_cli, "build", config=config)
    assert refused.exit_code == 1, refused.output
    assert "Traceback" not in refused.output
    assert refused.stderr.strip().startswith("feedline: error: cannot open the database")
    assert len(refused.stderr.strip().splitlines()) == 1
    proxy.start()
    cuts: list[int] = []

    def cut_while_storing(conn: Any, changes: Any) -> None:
        if not cuts:  # inside the transaction that stores the items and their deadlines
            cuts.append(proxy.cut())

    clock = FixedClock(DUE)
    async with build_app(
        load_settings(config), clock, on_deadlines=cut_while_storing, workers=False
    ) as app:
        first = await app.refresher.refresh()
        assert cuts and [o.status for o in first.outcomes] == ["failed"]
        assert "could not store its items" in str(first.outcomes[0].error)
        assert item_count() == 0, "rolled back"
        second = await app.refresher.refresh()
        assert [o.status for o in second.outcomes] == ["ok"]
    assert item_count() == 2, "stored once"
    again = await asyncio.to_thread(run_cli, "build", config=config)
    assert again.exit_code == 0, again.output
    assert item_count() == 2, "nothing doubled"
    status = await asyncio.to_thread(run_cli, "status", config=config)
    assert status.exit_code == 0, status.output
    reliability.record(
        "PostgreSQL unreachable at a build, then cut mid-refresh (proxy)",
        "3 builds, 2 items",
        2 - item_count(),
        0,
        "one-line 'cannot open the database' error; the cut refresh rolls back and fails "
        "the source; the next one stores each item once",
    )


def test_unreachable_at_start_is_one_line_for_every_command(
    proxied: tuple[TcpProxy, Engine, str], tmp_path: Path, reliability: Reliability
) -> None:
    proxy, _, url = proxied
    config = write_config(
        tmp_path, site_block(database_url=f'"{url}"') + source_block("river", "page.txt")
    )
    proxy.stop()
    for args in (("status",), ("remind",), ("subscribers", "list"), ("once",)):
        result = run_cli(*args, config=config)
        assert result.exit_code == 1, (args, result.output)
        assert "Traceback" not in result.output
        lines = result.stderr.strip().splitlines()
        assert lines[-1].startswith("feedline: error: cannot open the database"), lines
    reliability.record(
        "PostgreSQL unreachable at start",
        "status, remind, subscribers list, once",
        0,
        0,
        "each: exit 1, one line 'cannot open the database ...', no traceback",
    )


async def test_database_back_after_a_failed_pass_resumes(
    proxied: tuple[TcpProxy, Engine, str], tmp_path: Path, smtp_server: SmtpTestServer
) -> None:
    proxy, engine, _ = proxied
    settings = fault_settings(tmp_path)
    people = many_subscribers(engine, settings, 5)
    clock = FixedClock(DUE)
    dispatcher = monitored_dispatcher(engine, settings, smtp_server, clock)
    proxy.stop()
    with pytest.raises(SQLAlchemyError):
        await dispatcher.run_pass()
    assert smtp_server.handler.messages == []
    proxy.start()
    await asyncio.sleep(0)
    summary = await dispatcher.run_pass()  # pool_pre_ping replaces the dead connections
    await dispatcher.transport.close()
    assert summary.sent == 5 and sorted(delivered(smtp_server)) == people
    with engine.connect() as conn:
        assert conn.execute(select(func.max(reminders.c.attempts))).scalar_one() == 1
