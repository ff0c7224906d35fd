"""Alembic environment: runs on the engine handed over by :func:`service.core.db.migrate`.

Spatial columns and indexes go through GeoAlchemy2's Alembic helpers, so one migration creates
R*Tree indexes on SpatiaLite and GiST indexes on PostGIS.
"""

from __future__ import annotations

from alembic import context
from geoalchemy2 import alembic_helpers
from sqlalchemy import Engine

from service.core.db import make_engine
from service.tables import Base

config = context.config
target_metadata = Base.metadata


def _include_object(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    # Never touch tables we do not model (SpatiaLite's and PostGIS's own metadata tables).
    if type_ == "table" and reflected and compare_to is None:
        return False
    return bool(
        alembic_helpers.include_object(  # type: ignore[no-untyped-call]
            obj, name, type_, reflected, compare_to
        )
    )


def _engine() -> Engine:
    engine = config.attributes.get("engine")
    if isinstance(engine, Engine):
        return engine
    # Run from the alembic command line: build the engine from the configured URL.
    return make_engine(config.get_main_option("sqlalchemy.url") or "")


def run_migrations_offline() -> None:
    """Emit SQL for the configured URL without connecting."""
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_item=alembic_helpers.render_item,
        include_object=_include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Upgrade through a live connection, in one transaction."""
    with _engine().connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_item=alembic_helpers.render_item,
            include_object=_include_object,
            process_revision_directives=alembic_helpers.writer,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
