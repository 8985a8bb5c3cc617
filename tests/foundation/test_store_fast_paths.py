"""The store's cheaper steps write what the general ones wrote, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.dialects import postgresql, sqlite

from feeds.identity import tag_uri_prefix
from feeds.model import Entry
from feeds.store.bulk import insert_rows
from feeds.store.items import fingerprint
from feeds.store.types import UTCDateTime
from feeds.text import normalise_title

BRUSSELS = ZoneInfo("Europe/Brussels")
VALUES = [
    datetime(2024, 3, 5, 10, 0, tzinfo=UTC),
    datetime(2024, 3, 5, 10, 0, 0, 250_000, tzinfo=UTC),
    datetime(1, 1, 1, 0, 0, 0, 1, tzinfo=UTC),
    datetime(999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
    datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
    datetime(2024, 3, 5, 10, 0, tzinfo=timezone(timedelta(0))),  # UTC, but not the singleton
    datetime(2024, 3, 5, 11, 30, 15, 123_456, tzinfo=BRUSSELS),
    datetime(2023, 10, 29, 2, 30, fold=1, tzinfo=BRUSSELS),  # the repeated hour
    datetime(2024, 3, 1, 9, tzinfo=timezone(timedelta(hours=-5))),
]


def reference_sqlite_text(value: datetime) -> str:
    """What SQLAlchemy's own SQLite DATETIME writes for the naive UTC value."""
    process = sqlite.DATETIME().bind_processor(sqlite.dialect())
    assert process is not None
    text: str = process(value.astimezone(UTC).replace(tzinfo=None))
    return text


@pytest.mark.parametrize("value", VALUES, ids=str)
def test_sqlite_text_is_what_the_datetime_processor_writes(value: datetime) -> None:
    dialect = sqlite.dialect()
    process = UTCDateTime().dialect_impl(dialect).bind_processor(dialect)
    assert process is not None
    assert process(value) == reference_sqlite_text(value)


def test_bind_refuses_naive_and_passes_none() -> None:
    for dialect in (sqlite.dialect(), postgresql.dialect()):
        process = UTCDateTime().dialect_impl(dialect).bind_processor(dialect)
        assert process is not None
        assert process(None) is None
        with pytest.raises(ValueError, match="naive datetime"):
            process(datetime(2024, 3, 5, 10, 0))


def test_postgresql_gets_aware_utc() -> None:
    dialect = postgresql.dialect()
    process = UTCDateTime().dialect_impl(dialect).bind_processor(dialect)
    assert process is not None
    for value in VALUES:
        bound = process(value)
        assert bound == value.astimezone(UTC) and bound.tzinfo == UTC


def test_values_round_trip_as_aware_utc(engine: Engine) -> None:
    table = sa.Table("utc_round_trip", sa.MetaData(), sa.Column("at", UTCDateTime))
    table.create(engine)
    try:
        with engine.begin() as conn:
            conn.execute(table.insert(), [{"at": value} for value in VALUES])
            back = [row.at for row in conn.execute(sa.select(table.c.at))]
            if engine.dialect.name == "sqlite":
                raw = [row[0] for row in conn.exec_driver_sql("SELECT at FROM utc_round_trip")]
                assert raw == [reference_sqlite_text(value) for value in VALUES]
        assert back == [value.astimezone(UTC) for value in VALUES]
        assert all(value.tzinfo == UTC for value in back)
    finally:
        table.drop(engine)


def reference_fingerprint(entry: Entry, link: str) -> str:
    digest = hashlib.blake2b(digest_size=16)
    for part in (entry.title, entry.content, link, str(entry.published), str(entry.updated)):
        digest.update(part.encode("utf-8", "surrogatepass"))
        digest.update(b"\x00")
    return digest.hexdigest()


@pytest.mark.parametrize(
    "entry",
    [
        Entry("Title", "Body."),
        Entry("", ""),
        Entry("Café ﬁnal 東京", "<p>html</p>", content_is_html=True),
        Entry("lone \ud800 surrogate", "nul \x00 inside"),
        Entry(
            "Dated",
            "Body",
            published=datetime(2024, 3, 1, 9, tzinfo=BRUSSELS),
            updated=datetime(2024, 3, 2, tzinfo=UTC),
        ),
    ],
    ids=lambda entry: entry.title,
)
def test_fingerprint_is_the_part_by_part_digest(entry: Entry) -> None:
    for link in ("https://river.example.org/news#title", ""):
        assert fingerprint(entry, link) == reference_fingerprint(entry, link)


def test_tag_uri_prefix_and_title_key_make_the_item_id() -> None:
    prefix = tag_uri_prefix("https://River.example.org/news?x=1", date(2024, 3, 5), "river")
    assert prefix + normalise_title("First title") == (
        "tag:river.example.org,2024-03-05:river/first-title"
    )
    assert tag_uri_prefix("file:///pages/news.txt", date(2024, 3, 5), "local") == (
        "tag:feedline.invalid,2024-03-05:local/"
    )


def test_insert_rows_writes_what_sqlalchemys_insert_writes(engine: Engine) -> None:
    """The driver-level executemany stores the same values as conn.execute(insert(...))."""
    metadata = sa.MetaData()
    columns = [
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("flag", sa.Boolean, nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("same_at", UTCDateTime, nullable=False),
        sa.Column("again_at", UTCDateTime, nullable=False),
        sa.Column("note", sa.Text),
    ]
    fast = sa.Table("bulk_fast", metadata, *columns)
    general = sa.Table("bulk_general", metadata, *(c._copy() for c in columns))
    metadata.create_all(engine)
    # Column order differs from the table's, "same_at" holds one value throughout (done once).
    # "again_at" repeats "at" (converted once for both).
    names = ("at", "id", "note", "flag", "same_at", "again_at")
    now = datetime(2024, 3, 5, 10, 0, tzinfo=UTC)
    rows = [(value, f"row-{n}", None if n % 2 else "café ✓", n % 3 == 0, now, value)
            for n, value in enumerate(VALUES)]  # fmt: skip
    try:
        with engine.begin() as conn:
            insert_rows(conn, fast, names, rows)
            conn.execute(general.insert(), [dict(zip(names, row, strict=True)) for row in rows])
            insert_rows(conn, fast, names, [])  # nothing to do
            order = [
                fast.c.id,
                fast.c.flag,
                fast.c.at,
                fast.c.same_at,
                fast.c.again_at,
                fast.c.note,
            ]
            got = conn.execute(sa.select(*order).order_by(fast.c.id)).all()
            want = conn.execute(
                sa.select(*(general.c[c.name] for c in order)).order_by(general.c.id)
            ).all()
            if engine.dialect.name == "sqlite":
                raw_fast = conn.exec_driver_sql("SELECT * FROM bulk_fast ORDER BY id").all()
                raw_general = conn.exec_driver_sql("SELECT * FROM bulk_general ORDER BY id").all()
                assert raw_fast == raw_general
        assert got == want and len(got) == len(VALUES)
        assert {row.at for row in got} == {value.astimezone(UTC) for value in VALUES}
    finally:
        metadata.drop_all(engine)


def test_insert_rows_refuses_a_naive_datetime(engine: Engine) -> None:
    table = sa.Table("bulk_naive", sa.MetaData(), sa.Column("at", UTCDateTime))
    table.create(engine)
    try:
        with engine.begin() as conn, pytest.raises(ValueError, match="naive datetime"):
            insert_rows(conn, table, ("at",), [(datetime(2024, 3, 5, 10, 0),)])
    finally:
        table.drop(engine)
