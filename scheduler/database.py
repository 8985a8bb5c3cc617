"""Opening the database: the engine, SQLite pragmas, and Alembic upgrades to head.

Alembic (a third of a second to import) is loaded only when the schema is behind: the head
revision is read from the migration files' text and the current one from `alembic_version`.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from config.errors import ConfigError
from config.schema import Settings
from feeds.errors import StoreError

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_REVISION = re.compile(r"^revision\s*=\s*[\"'](\w+)[\"']", re.MULTILINE)
_DOWN_REVISION = re.compile(r"^down_revision\s*=\s*(.*)$", re.MULTILINE)


def database_url(settings: Settings) -> str:
    if settings.site.database_url:
        return settings.site.database_url
    return f"sqlite:///{settings.site.data_dir / 'feedline.db'}"


def checked_database_url(settings: Settings) -> str:
    """`database_url`, refused as a ConfigError when SQLAlchemy cannot read it or knows no such
    database kind (the value is not repeated: it may hold a password)."""
    url = database_url(settings)
    try:
        make_url(url).get_dialect()
    except NoSuchModuleError:
        kind = url.partition(":")[0]
        raise ConfigError(
            f"unknown database kind {kind!r} (use postgresql+psycopg://... or sqlite:///PATH)",
            key="site.database_url (or FEEDLINE_DATABASE_URL)",
        ) from None
    except ArgumentError:
        raise ConfigError(
            "not a database URL (e.g. postgresql+psycopg://user@host/feedline)",
            key="site.database_url (or FEEDLINE_DATABASE_URL)",
        ) from None
    return url


def create_db_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, pool_pre_ping=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # let SQLAlchemy's BEGIN below take effect
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    # BEGIN IMMEDIATE: a writer takes the lock up front, so claims cannot interleave.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def alembic_config(url: str) -> AlembicConfig:
    from alembic.config import Config as AlembicConfig

    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def head_revision() -> str:
    """The newest migration: the one revision no other migration revises."""
    revisions: set[str] = set()
    revised: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        found = _REVISION.search(source)
        if found:
            revisions.add(found.group(1))
        down = _DOWN_REVISION.search(source)
        if down:
            revised.update(re.findall(r"[\"'](\w+)[\"']", down.group(1)))
    heads = revisions - revised
    if len(heads) != 1:
        raise StoreError(f"the migrations have {len(heads)} heads ({sorted(heads)}), not one")
    return heads.pop()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def upgrade(engine: Engine) -> None:
    """Create or upgrade the schema to the newest revision."""
    if current_revision(engine) == head_revision():
        return
    from alembic import command

    config = alembic_config(str(engine.url))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def open_database(settings: Settings) -> Engine:
    """The engine for the configured database, upgraded to head; StoreError when unusable
    (ConfigError when the URL is none)."""
    url = checked_database_url(settings)
    if url.startswith("sqlite:///"):
        try:
            settings.site.data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(
                f"cannot create data_dir {settings.site.data_dir}: {exc.strerror}"
            ) from None
    engine = create_db_engine(url)
    try:
        upgrade(engine)
    except SQLAlchemyError as exc:
        engine.dispose()
        raise StoreError(
            f"cannot open the database {engine.url!r}: {exc.__class__.__name__}: "
            f"{str(exc).splitlines()[0]}{_disk_full_note(url, settings)}"
        ) from None
    return engine


def _disk_full_note(url: str, settings: Settings) -> str:
    """SQLite says "disk I/O error" when its disk is full: say which disk, and that it is."""
    if not url.startswith("sqlite:///"):
        return ""
    try:
        free = shutil.disk_usage(settings.site.data_dir).free
    except OSError:
        return ""
    return f" (no space left on the disk of {settings.site.data_dir})" if free < 65536 else ""
