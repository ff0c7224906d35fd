"""The declarative base every table of every domain derives from, and its column types.

Geometries are stored in EPSG:4326 with a spatial index on both databases (an R*Tree virtual table
on SpatiaLite, GiST on PostGIS). Times are timezone-aware and stored in UTC; SQLite has no
timezone type, so :class:`UTCDateTime` normalises on write and re-attaches UTC on read.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar, Final

from geoalchemy2 import Geometry
from sqlalchemy import JSON, DateTime, Dialect, TypeDecorator
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase

__all__ = ["SRID", "Base", "UTCDateTime", "geometry_column", "utcnow"]

SRID: Final = 4326

JSONType = JSON().with_variant(JSONB(), "postgresql")


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware datetime stored in UTC on every database."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Refuse naive datetimes; store UTC (without a zone on SQLite, so rows sort)."""
        if value is None:
            return None
        if value.tzinfo is None:
            msg = f"Refusing to store naive datetime {value!r}: give it a timezone."
            raise ValueError(msg)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(
        self,
        value: datetime | None,
        dialect: Dialect,  # noqa: ARG002
    ) -> datetime | None:
        """Re-attach UTC to what the database returns."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def geometry_column(geometry_type: str) -> Geometry:
    """A WGS84 geometry column of ``geometry_type`` with a spatial index."""
    return Geometry(geometry_type=geometry_type, srid=SRID, spatial_index=True)


def utcnow() -> datetime:
    """The current time in UTC (the default of every timestamp column)."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    """Declarative base of every jiedao table."""

    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSONType,
        list[str]: JSONType,
    }
