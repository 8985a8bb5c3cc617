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
from tests.faults.helpers import (
    DUE,
    by_status,
    delivered,
    fault_settings,
    many_subscribers,
    monitored_dispatcher,
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
    proxied: tuple[TcpProxy, Engine, str], tmp_path: Path, smtp_server: SmtpTestServer
) -> None:
    proxy, engine, _ = proxied
    settings = fault_settings(tmp_path)
    people = many_subscribers(engine, settings, 40)
    clock = FixedClock(DUE)
    handler = smtp_server.handler
    original = handler.handle_DATA

    async def cut_after_ten(*args: Any) -> str:
        reply = await original(*args)
        if len(handler.messages) == 10:
            proxy.cut()  # every database connection of the pass, mid-pass
        return reply

    handler.handle_DATA = cut_after_ten  # type: ignore[method-assign]
    first = monitored_dispatcher(engine, settings, smtp_server, clock, owner="first")
    with pytest.raises(SQLAlchemyError):
        await first.run_pass()
    await first.transport.close()
    assert 10 <= len(handler.messages) < 40
    clock.advance(settings.reminders.lease + timedelta(seconds=1))  # the claims run out
    second = monitored_dispatcher(engine, settings, smtp_server, clock, owner="second")
    summary = await second.run_pass()
    await second.transport.close()
    counts = Counter(delivered(smtp_server))
    assert sorted(counts) == people, "0 lost"
    duplicated = sum(counts.values()) - len(counts)
    assert duplicated <= 2, "at most the messages in flight (max_connections = 2)"
    assert by_status(engine)["sent"] == 40
    assert summary.sent + 10 >= 40


def test_connection_cut_mid_refresh_then_next_refresh_stores_once(
    proxied: tuple[TcpProxy, Engine, str], tmp_path: Path
) -> None:
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

    # Cut every connection while a build is running: the build fails with one clear line.
    import threading

    cutter = threading.Timer(0.05, proxy.cut)
    proxy.stop()  # unreachable at start of the build ...
    refused = run_cli("build", config=config)
    assert refused.exit_code in (1, 2), refused.output
    assert "Traceback" not in refused.output
    assert "cannot open the database" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    proxy.start()  # ... and back
    cutter.start()
    run_cli("build", config=config)  # may or may not be cut mid-way: either way no harm
    cutter.join()
    again = run_cli("build", config=config)
    assert again.exit_code == 0, again.output
    assert item_count() == 2, "nothing doubled"
    status = run_cli("status", config=config)
    assert status.exit_code == 0, status.output


def test_unreachable_at_start_is_one_line_for_every_command(
    proxied: tuple[TcpProxy, Engine, str], tmp_path: Path
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
