"""Database engines (SpatiaLite or PostGIS) and schema migration.

SpatiaLite needs a sqlite driver that can load extensions. Many Python builds cannot, so jiedao
uses ``sqlean.py`` for sqlite URLs, loads ``mod_spatialite`` on every new connection and
initialises the spatial metadata once per file. Transactions on SpatiaLite start with
``BEGIN IMMEDIATE``: the writer lock is taken up front, so concurrent writers wait for each other
(up to the busy timeout) instead of failing when a read lock cannot be upgraded. Sessions made
with ``make_sessionmaker(engine, readonly=True)`` begin without the lock (WAL lets them read
while a writer works).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final

import sqlean
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

__all__ = [
    "SpatiaLiteMissingError",
    "make_engine",
    "make_sessionmaker",
    "migrate",
    "unit_of_work",
]

# The migrations sit beside the domains (their env loads every table), not in core.
MIGRATIONS_DIR: Final = Path(__file__).resolve().parents[1] / "migrations"
_INSTALL_HINT: Final = "apt-get install libsqlite3-mod-spatialite"
_BUSY_TIMEOUT_S: Final = 30.0
_POOL_TIMEOUT_S: Final = 5.0
_CONNECT_TIMEOUT_S: Final = 3
READONLY_OPTION: Final = "jiedao_readonly"


class SpatiaLiteMissingError(RuntimeError):
    """The SpatiaLite extension could not be loaded into sqlite."""


def _load_spatialite(library: str) -> Any:
    def on_connect(dbapi_conn: Any, _record: Any) -> None:
        try:
            dbapi_conn.enable_load_extension(True)
            dbapi_conn.load_extension(library)
            dbapi_conn.enable_load_extension(False)
        except (sqlite3.OperationalError, sqlean.OperationalError, AttributeError) as exc:
            msg = (
                f"Cannot load the SpatiaLite extension {library!r} ({exc}). Install it: "
                f"{_INSTALL_HINT} (or set JIEDAO_SPATIALITE_LIBRARY to its path)."
            )
            raise SpatiaLiteMissingError(msg) from exc
        # Let SQLAlchemy's "begin" event issue BEGIN itself (the driver's implicit BEGIN is
        # DEFERRED and would defeat the lock taken below).
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        try:
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
            if cursor.execute("SELECT CheckSpatialMetaData()").fetchone()[0] < 1:
                cursor.execute("SELECT InitSpatialMetaData(1)")
        finally:
            cursor.close()

    return on_connect


def _begin(conn: Any) -> None:
    # Writers lock up front; read-only sessions (GET requests) take no lock and never wait.
    readonly = conn.get_execution_options().get(READONLY_OPTION, False)
    conn.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")


def make_engine(
    url: str,
    *,
    spatialite_library: str = "mod_spatialite",
    busy_timeout_s: float = _BUSY_TIMEOUT_S,
    pool_size: int = 5,
    max_overflow: int = 10,
    echo: bool = False,
) -> Engine:
    """Create an engine for a SpatiaLite file (``sqlite:///...``) or PostGIS server.

    Parameters
    ----------
    url
        ``sqlite:///path.sqlite`` or ``postgresql+psycopg://user@host/db``.
    spatialite_library
        Name or path of the SpatiaLite extension for sqlite URLs.
    busy_timeout_s
        How long a SpatiaLite transaction waits for the writer lock before it fails.
    pool_size, max_overflow
        Connections kept open, and made beyond them at busy times (SQLAlchemy's QueuePool).
    echo
        Log every SQL statement.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database in (None, "", ":memory:"):
            msg = (
                "An in-memory sqlite database is one database per connection; give a file "
                "path such as sqlite:///./var/jiedao.sqlite."
            )
            raise ValueError(msg)
        Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            module=sqlean,
            echo=echo,
            connect_args={"timeout": busy_timeout_s, "check_same_thread": False},
            pool_size=pool_size,
            max_overflow=max_overflow,
        )
        event.listen(engine, "connect", _load_spatialite(spatialite_library))
        event.listen(engine, "begin", _begin)
        return engine
    if parsed.get_backend_name() == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        # Bounded waits when PostgreSQL is away: a request fails over to a 503 within
        # seconds (no connection in the pool, or none made) instead of hanging its worker.
        return create_engine(
            parsed,
            echo=echo,
            pool_pre_ping=True,
            pool_size=pool_size,
            max_overflow=max_overflow,
            pool_timeout=_POOL_TIMEOUT_S,
            connect_args={"connect_timeout": _CONNECT_TIMEOUT_S},
        )
    msg = (
        f"Unsupported database {parsed.get_backend_name()!r}: use a sqlite:/// file "
        "(SpatiaLite) or a postgresql:// URL (PostGIS)."
    )
    raise ValueError(msg)


def make_sessionmaker(engine: Engine, *, readonly: bool = False) -> sessionmaker[Session]:
    """A session factory whose objects stay readable after commit.

    ``readonly`` sessions start SpatiaLite transactions without the writer lock, so reads never
    queue behind a long write; do not write through them (a write after a read can then fail
    with "database is locked" when another writer committed in between).
    """
    bind = engine.execution_options(**{READONLY_OPTION: True}) if readonly else engine
    return sessionmaker(bind=bind, expire_on_commit=False)


@contextmanager
def unit_of_work(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: a session in one transaction, committed when the block ends normally
    and rolled back on any error.

    The only place outside a request that commits: the CLI, start-up and background work open
    one of these; stores and services never commit, and a request's unit of work is
    :func:`service.core.deps.get_db`.
    """
    with factory() as session, session.begin():
        yield session


def alembic_config(engine: Engine | None = None) -> Config:
    """An Alembic configuration that runs from the installed package (no alembic.ini needed)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if engine is not None:
        config.set_main_option(
            "sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%")
        )
        config.attributes["engine"] = engine
    return config


def migrate(engine: Engine, revision: str = "head") -> None:
    """Upgrade the database schema to ``revision`` (the latest by default)."""
    command.upgrade(alembic_config(engine), revision)
