"""Three measured choices of the reminder send path, each side by side with what it replaced.

    .venv/bin/python bench/send_path_bench.py [--marks 2000] [--messages 3000] [--batches 200]

1. DATA body: `wire_form` (scheduler/mail/smtp_transport.py: four counts in C, the bytes as
   they are when already in wire form) against what aiosmtplib's `data()` does to every
   message (`normalize_message_line_endings`, then the dot-doubling substitution), on real
   ledger messages (filled from a `MessageTemplate`). CPU per message, best of 5.
2. "Sent" marks on PostgreSQL, four rows each, one at a time, autocommit, on a fresh schema of
   FEEDLINE_BENCH_POSTGRES_URL: client CPU per mark (this process: the loop, threads
   included) and wall time per mark, for
   - SQLAlchemy's statement (`claims.mark_sent_many`) in a thread, awaited from the loop
     (the code before);
   - psycopg's own async connection on the loop, the same prepared text;
   - `PostgresMarker` (scheduler/ledger/postgres_marks.py): psycopg's libpq layer driven
     from the loop (the code now).
   The rows are real ledger rows (the reminders table after migrations), re-claimed between
   rounds, so every mark updates four rows and the lease check holds.
3. A claimed batch's statements on PostgreSQL (`expire_moot`'s two UPDATEs, then the rows'
   and their deadlines' reads, for 200 claimed rows), the ids bound as an expanding IN (one
   parameter per id: the code before) against one array parameter, `= ANY` (`claims.among_ids`:
   the code now). Client CPU and wall time per batch, medians, the two forms interleaved.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

POSTGRES_URL = os.environ.get(
    "FEEDLINE_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
NOW = datetime(2023, 2, 11, 9, 0, tzinfo=UTC)


def wire_part(count: int) -> None:
    from aiosmtplib.protocol import PERIOD_REGEX, normalize_message_line_endings

    from feeds.clock import FixedClock
    from scheduler.mail.message import message_id_for
    from scheduler.mail.smtp_transport import wire_form
    from scheduler.mail.template import MessageTemplate
    from tests.mail.conftest import make_reminder

    template = MessageTemplate(make_reminder())
    clock = FixedClock(NOW)
    bodies = [
        template.render(
            f"p{n}@example.org",
            message_id_for(str(n), "example.org"),
            f"https://x.example/u?t={n:032d}",
            clock=clock,
        ).data
        for n in range(count)
    ]

    def library() -> None:
        for data in bodies:
            PERIOD_REGEX.sub(b"..", normalize_message_line_endings(data))

    def ours() -> None:
        for data in bodies:
            wire_form(data)

    size = sum(map(len, bodies)) / len(bodies)
    print(f"1. DATA body, {count} ledger messages of {size:,.0f} bytes, CPU us per message")
    figures = {}
    for name, run in (("aiosmtplib data() processing", library), ("wire_form", ours)):
        best = min(_cpu(run) for _ in range(5))
        figures[name] = best / count * 1e6
        print(f"   {name:<32} {figures[name]:8.1f}")
    ratio = figures["wire_form"] / figures["aiosmtplib data() processing"]
    print(f"   wire_form / aiosmtplib: {ratio:.3f}x")


def _cpu(run: Callable[[], None]) -> float:
    began = time.process_time()
    run()
    return time.process_time() - began


def marks_part(marks: int) -> None:
    import psycopg
    import sqlalchemy as sa

    from scheduler.database import create_db_engine, upgrade
    from scheduler.ledger import claims
    from scheduler.ledger.postgres_marks import PostgresMarker

    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    engine = create_db_engine(url)
    try:
        upgrade(engine)
        row_ids = _ledger_rows(engine, marks * 4)
        groups = [row_ids[n : n + 4] for n in range(0, len(row_ids), 4)]
        print(f"\n2. sent marks on PostgreSQL, {len(groups)} marks of 4 rows, one at a time")
        print(f"   {'path':<44} {'CPU us/mark':>11} {'wall us/mark':>12}")

        async def thread_path() -> tuple[float, float]:
            pool = ThreadPoolExecutor(max_workers=1)
            conn = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            loop = asyncio.get_running_loop()

            def mark(group: list[int]) -> None:
                claims.mark_sent_many(conn, _sent(group), "bench", NOW)

            try:
                return await _timed(groups, lambda group: loop.run_in_executor(pool, mark, group))
            finally:
                pool.shutdown()
                conn.close()

        async def psycopg_async_path() -> tuple[float, float]:
            args, kwargs = engine.dialect.create_connect_args(engine.url)
            connection = await psycopg.AsyncConnection.connect(
                *args, **kwargs, autocommit=True, prepare_threshold=0
            )
            text = claims.POSTGRES_MARK_SENT
            for n in range(6, 0, -1):
                text = text.replace(f"${n}", "%s")
            cursor = connection.cursor()

            async def mark(group: list[int]) -> None:
                params = claims.postgres_mark_sent_params(_sent(group), "bench", NOW)
                values = [p.decode() if p is not None else None for p in params]
                order = _placeholder_order(claims.POSTGRES_MARK_SENT)
                await cursor.execute(text, [values[n - 1] for n in order], prepare=True)
                await cursor.fetchall()

            try:
                return await _timed(groups, mark)
            finally:
                await connection.close()

        async def marker_path() -> tuple[float, float]:
            marker = PostgresMarker(engine)
            try:
                return await _timed(groups, lambda group: marker.mark(_sent(group), "bench", NOW))
            finally:
                marker.close()

        for name, path in (
            ("SQLAlchemy statement in a thread (before)", thread_path),
            ("psycopg AsyncConnection on the loop", psycopg_async_path),
            ("PostgresMarker: psycopg.pq on the loop (now)", marker_path),
        ):
            _reclaim(engine, row_ids)
            cpu, wall = asyncio.run(path())
            print(f"   {name:<44} {cpu / len(groups) * 1e6:11.0f} {wall / len(groups) * 1e6:12.0f}")
            with engine.connect() as conn:
                marked = conn.execute(
                    sa.text("SELECT count(*) FROM reminders WHERE status = 'sent'")
                ).scalar_one()
            if marked != len(row_ids):
                raise SystemExit(f"{name}: {marked} rows marked, not {len(row_ids)}")
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def batch_part(batches: int) -> None:
    import statistics

    import sqlalchemy as sa

    from scheduler.database import create_db_engine, upgrade
    from scheduler.ledger import claims, compose

    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    engine = create_db_engine(f"{POSTGRES_URL}?options=-csearch_path%3D{schema}")
    try:
        upgrade(engine)
        row_ids = _ledger_rows(engine, 200)
        _reclaim(engine, row_ids)
        with engine.begin() as conn:  # the plans a ledger gets once autovacuum has been by
            conn.execute(sa.text("ANALYZE reminders"))
        values = {"ids": row_ids, "owner": "bench", "now": NOW}
        forms = {  # the dialect whose form `among_ids` gives
            "expanding IN, a parameter per id (before)": "sqlite",
            "= ANY(array) (now)": "postgresql",
        }
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in forms}
        with engine.connect() as conn:

            def batch(form: str) -> None:
                with conn.begin():
                    for statement in claims._expire_statements(form):
                        if list(conn.execute(statement, values)):
                            raise SystemExit("a bench row was expired")
                rows_query, deadlines_query = compose._queries(form)
                with conn.begin():
                    rows = list(conn.execute(rows_query, {"ids": row_ids}))
                    ids = sorted({row.deadline_id for row in rows})
                    list(conn.execute(deadlines_query, {"ids": ids}))
                if len(rows) != len(row_ids):
                    raise SystemExit(f"{form}: read {len(rows)} rows, not {len(row_ids)}")

            for _ in range(batches):
                for name, form in forms.items():
                    began, cpu = time.perf_counter(), time.process_time()
                    batch(form)
                    times[name].append((time.process_time() - cpu, time.perf_counter() - began))
        print(f"\n3. a claimed batch's statements on PostgreSQL, 200 rows, {batches} batches each")
        print(f"   {'ids bound as':<44} {'CPU us/batch':>12} {'wall us/batch':>13}")
        for name, runs in times.items():
            cpu = statistics.median(c for c, _ in runs) * 1e6
            wall = statistics.median(w for _, w in runs) * 1e6
            print(f"   {name:<44} {cpu:12.0f} {wall:13.0f}")
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _placeholder_order(text: str) -> list[int]:
    """The $n numbers in the order they appear (psycopg's %s are positional)."""
    import re

    return [int(n) for n in re.findall(r"\$(\d+)", text)]


async def _timed(
    groups: list[list[int]], mark: Callable[[list[int]], Awaitable[Any]]
) -> tuple[float, float]:
    began, cpu = time.perf_counter(), time.process_time()
    for group in groups:
        await mark(group)
    return time.process_time() - cpu, time.perf_counter() - began


def _sent(group: list[int]) -> list[tuple[int, str]]:
    return [(row_id, f"<{row_id}.bench@example.org>") for row_id in group]


def _ledger_rows(engine: Any, count: int) -> list[int]:
    """`count` reminder rows of one deadline (one subscriber each), planned."""
    import sqlalchemy as sa

    from scheduler.ledger.planning import plan
    from scheduler.ledger.subscribers import add_subscriber
    from tests.ledger.helpers import make_settings, store_deadline

    store_deadline(engine, make_settings(Path("/tmp")), NOW + timedelta(days=6))
    with engine.begin() as conn:
        for n in range(count):
            add_subscriber(conn, f"p{n:06d}@example.org", NOW - timedelta(days=30))
        plan(conn, NOW - timedelta(days=30), [timedelta(days=7)])
    with engine.connect() as conn:
        return [row[0] for row in conn.execute(sa.text("SELECT id FROM reminders ORDER BY id"))]


def _reclaim(engine: Any, row_ids: list[int]) -> None:
    import sqlalchemy as sa

    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "UPDATE reminders SET status = 'sending', lease_owner = 'bench',"
                " lease_until = :until, message_id = NULL, sent_at = NULL WHERE id = ANY(:ids)"
            ),
            {"until": NOW + timedelta(hours=1), "ids": row_ids},
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--marks", type=int, default=2000)
    parser.add_argument("--batches", type=int, default=200)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    print(f"send_path_bench: python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    wire_part(args.messages)
    if not args.no_postgres:
        marks_part(args.marks)
        batch_part(args.batches)


if __name__ == "__main__":
    main()
