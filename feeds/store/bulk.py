"""Many rows in one driver-level executemany.

`conn.execute(insert(table), rows)` builds and type-processes each row's parameters in
SQLAlchemy's general path (about half the time of storing a fresh source of 1,000 items). Here
the statement is compiled once by SQLAlchemy for the connection's dialect, each value still goes
through its column type's bind processor (so UTC datetimes are stored exactly as elsewhere), and
the rows go to the driver's executemany in one call.

`ignore_duplicates=True` makes it INSERT ... ON CONFLICT DO NOTHING (SQLite and PostgreSQL):
a row another transaction stored first (another daemon reading the same item at the same
instant) is left as it is instead of failing the whole transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection, Insert, Table, insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.types import TypeEngine


def insert_ignoring_duplicates(conn: Connection, table: Table) -> Insert:
    """INSERT ... ON CONFLICT DO NOTHING in the connection's dialect."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    return sqlite.insert(table).on_conflict_do_nothing()


def insert_rows(
    conn: Connection,
    table: Table,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    ignore_duplicates: bool = False,
) -> int:
    """Insert `rows` (values in the order of `columns`) into `table`; the rows inserted."""
    if not rows:
        return 0
    dialect = conn.dialect
    statement = insert_ignoring_duplicates(conn, table) if ignore_duplicates else insert(table)
    compiled = statement.compile(dialect=dialect, column_keys=list(columns))
    names = list(columns)
    # Column by column: each type's processor mapped over a whole column; once for a column
    # that holds one value throughout ("now"), and not again for a column equal to one
    # already converted with the same type ("updated" is "published" for new undated items).
    values: list[Sequence[Any]] = []
    done: list[tuple[str, tuple[Any, ...], Sequence[Any]]] = []
    for name, column in zip(names, zip(*rows, strict=True), strict=True):
        kind: TypeEngine[Any] = table.c[name].type
        process: Callable[[Any], Any] | None = kind.dialect_impl(dialect).bind_processor(dialect)
        if process is None:
            values.append(column)
            continue
        same_type = f"{type(kind).__qualname__}:{kind!r}"  # the same type, the same arguments
        same = next((out for t, col, out in done if t == same_type and col == column), None)
        if same is not None:
            values.append(same)
        elif column.count(column[0]) == len(column):
            values.append([process(column[0])] * len(column))
        else:
            values.append(list(map(process, column)))
        done.append((same_type, column, values[-1]))
    if compiled.positiontup is not None:  # qmark/format: values in the statement's order
        values = [values[names.index(name)] for name in compiled.positiontup]
        params: list[Any] = list(zip(*values, strict=True))
    else:  # named/pyformat: the bind names are the column keys
        params = [dict(zip(names, row, strict=True)) for row in zip(*values, strict=True)]
    result = conn.exec_driver_sql(compiled.string, params)
    return len(rows) if result.rowcount < 0 else result.rowcount
