"""ORM models: layer versions with their features, incidents and the audit log.

Geometries are stored in EPSG:4326 with a spatial index on both databases (an R*Tree virtual table
on SpatiaLite, GiST on PostGIS). Times are timezone-aware and stored in UTC; SQLite has no
timezone type, so :class:`UTCDateTime` normalises on write and re-attaches UTC on read.

Layer versions follow MapIt's ``Generation``: every import is a new version, exactly one version is
active (a partial unique index enforces it), and each incident keeps the version that resolved
it, so activating a new version changes the answers for new incidents only.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar, Final

from geoalchemy2 import Geometry, WKBElement
from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

__all__ = [
    "CLOSED_STATUSES",
    "INCIDENT_SOURCES",
    "INCIDENT_STATUSES",
    "AuditLog",
    "Base",
    "Community",
    "Incident",
    "KeyRoad",
    "LayerVersion",
    "PatrolPlanRecord",
    "Place",
    "RoadSegment",
    "Squad",
    "Station",
    "UTCDateTime",
]

SRID: Final = 4326
INCIDENT_SOURCES: Final = ("daily_inspection", "complaint", "special_inspection", "patrol")
# Statuses are plain strings, so adding one needs no schema change. The case lifecycle
# (service.lifecycle) uses accepted, dispatched, on_scene, handled, verified_closed and parked;
# filed, in_progress, closed and on_hold are the earlier names, still accepted as stored values.
INCIDENT_STATUSES: Final = ("reported", "accepted", "filed", "dispatched", "on_scene",
                            "in_progress", "handled", "verified_closed", "closed", "rejected",
                            "duplicate", "parked", "on_hold")
# Open311 "closed"; every other status (parked 挂账 included) is "open".
CLOSED_STATUSES: Final = frozenset({"closed", "verified_closed", "rejected", "duplicate"})

JSONType = JSON().with_variant(JSONB(), "postgresql")


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware datetime stored in UTC on every database."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            msg = f"Refusing to store naive datetime {value!r}: give it a timezone."
            raise ValueError(msg)
        value = value.astimezone(UTC)
        # SQLite stores text; drop the zone so every row has the same (UTC) format and sorts.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None,
                             dialect: Dialect) -> datetime | None:  # noqa: ARG002
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _geometry(geometry_type: str) -> Geometry:
    return Geometry(geometry_type=geometry_type, srid=SRID, spatial_index=True)


def _now() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    """Declarative base of every jiedao table."""

    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(), dict[str, Any]: JSONType, list[str]: JSONType}


class LayerVersion(Base):
    """One imported layer pack; exactly one is active."""

    __tablename__ = "layer_versions"
    __table_args__ = (
        Index("uq_layer_versions_one_active", "active", unique=True,
              sqlite_where=text("active"), postgresql_where=text("active")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    version: Mapped[str] = mapped_column(String(100))
    label: Mapped[str] = mapped_column(String(201), unique=True)
    title: Mapped[str | None] = mapped_column(String(300))
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", default=dict)
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=_now)
    created_by: Mapped[str] = mapped_column(String(200))
    activated_at: Mapped[datetime | None]
    activated_by: Mapped[str | None] = mapped_column(String(200))


class _VersionedFeature:
    version_id: Mapped[int] = mapped_column(
        ForeignKey("layer_versions.id", ondelete="CASCADE"), index=True)


class Community(_VersionedFeature, Base):
    """A community polygon (社区) of one layer version."""

    __tablename__ = "communities"
    __table_args__ = (UniqueConstraint("version_id", "code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(20))
    name_zh: Mapped[str] = mapped_column(String(100))
    name_pinyin: Mapped[str | None] = mapped_column(String(100))
    name_en: Mapped[str | None] = mapped_column(String(200))
    aliases: Mapped[list[str]] = mapped_column(default=list)
    squad: Mapped[str] = mapped_column(String(50))
    geom: Mapped[WKBElement] = mapped_column(_geometry("MULTIPOLYGON"))


class Squad(_VersionedFeature, Base):
    """A patrol squad (巡查中队) of one layer version."""

    __tablename__ = "squads"
    __table_args__ = (UniqueConstraint("version_id", "code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(50))
    name_zh: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str | None] = mapped_column(String(200))
    base_station: Mapped[str | None] = mapped_column(String(50))


class KeyRoad(_VersionedFeature, Base):
    """A key road (重点路段) whose surface is the enforcement team's duty."""

    __tablename__ = "key_roads"
    __table_args__ = (UniqueConstraint("version_id", "road_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    road_id: Mapped[str] = mapped_column(String(50))
    name_zh: Mapped[str] = mapped_column(String(100))
    name_pinyin: Mapped[str | None] = mapped_column(String(100))
    road_class: Mapped[str | None] = mapped_column(String(50))
    squad: Mapped[str] = mapped_column(String(50))
    geom: Mapped[WKBElement] = mapped_column(_geometry("MULTILINESTRING"))


class Station(_VersionedFeature, Base):
    """A base: enforcement squad base, police station or backup base."""

    __tablename__ = "stations"
    __table_args__ = (UniqueConstraint("version_id", "code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(50))
    name_zh: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str | None] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(50))
    squad: Mapped[str | None] = mapped_column(String(50))
    geom: Mapped[WKBElement] = mapped_column(_geometry("POINT"))


class Place(_VersionedFeature, Base):
    """A named place (market, school, ...) that helps to read a location."""

    __tablename__ = "places"
    __table_args__ = (UniqueConstraint("version_id", "place_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    place_id: Mapped[str] = mapped_column(String(50))
    name_zh: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str | None] = mapped_column(String(50))
    community: Mapped[str | None] = mapped_column(String(20))
    geom: Mapped[WKBElement] = mapped_column(_geometry("POINT"))


class RoadSegment(_VersionedFeature, Base):
    """A piece of the road network used for routing (noded at intersections)."""

    __tablename__ = "road_segments"
    __table_args__ = (UniqueConstraint("version_id", "road_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    road_id: Mapped[str] = mapped_column(String(80))
    name_zh: Mapped[str | None] = mapped_column(String(100))
    road_class: Mapped[str] = mapped_column(String(20))
    oneway: Mapped[bool] = mapped_column(Boolean, default=False)
    key_road_id: Mapped[str | None] = mapped_column(String(50))
    geom: Mapped[WKBElement] = mapped_column(_geometry("MULTILINESTRING"))


class Incident(Base):
    """A reported problem with its location (WGS84, as submitted) and stored resolution.

    The public id (``QSH-2026-000123``) is derived from ``id`` and the year received, not stored;
    see :func:`service.crud.public_id`.
    """

    __tablename__ = "incidents"
    __table_args__ = (
        Index("ix_incidents_occurred_at", "occurred_at"),
        Index("ix_incidents_category_status", "category", "status"),
        Index("ix_incidents_community_code", "community_code"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    category: Mapped[str] = mapped_column(String(10))
    description: Mapped[str] = mapped_column(Text, default="")
    photo_urls: Mapped[list[str]] = mapped_column(default=list)
    address: Mapped[str | None] = mapped_column(String(500))
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    geom: Mapped[WKBElement] = mapped_column(_geometry("POINT"))
    input_crs: Mapped[str] = mapped_column(String(10))
    input_lon: Mapped[float] = mapped_column(Float)
    input_lat: Mapped[float] = mapped_column(Float)
    occurred_at: Mapped[datetime]
    reported_at: Mapped[datetime]
    received_at: Mapped[datetime] = mapped_column(default=_now)
    updated_at: Mapped[datetime] = mapped_column(default=_now)
    source: Mapped[str] = mapped_column(String(30))
    reporter: Mapped[str | None] = mapped_column(String(200))
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(30), default="reported")
    status_notes: Mapped[str | None] = mapped_column(Text)

    layer_version_id: Mapped[int] = mapped_column(ForeignKey("layer_versions.id"), index=True)
    community_code: Mapped[str] = mapped_column(String(20))
    community_name: Mapped[str] = mapped_column(String(100))
    community_squad: Mapped[str] = mapped_column(String(50))
    squad: Mapped[str] = mapped_column(String(50), index=True)
    key_road_id: Mapped[str | None] = mapped_column(String(50))
    key_road_name: Mapped[str | None] = mapped_column(String(100))
    key_road_m: Mapped[float | None] = mapped_column(Float)
    boundary_m: Mapped[float | None] = mapped_column(Float)
    near_boundary: Mapped[bool] = mapped_column(Boolean, default=False)
    # Always false for stored incidents today (points outside are refused); kept so a later
    # "accept and route to the locality" rule (属地兜底) needs no schema change.
    outside: Mapped[bool] = mapped_column(Boolean, default=False)
    nearest_community_code: Mapped[str | None] = mapped_column(String(20))

    created_by: Mapped[str] = mapped_column(String(200))
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    request_fingerprint: Mapped[str | None] = mapped_column(String(64))

    layer_version: Mapped[LayerVersion] = relationship()


class PatrolPlanRecord(Base):
    """A planned shift of one squad: the request, and the plan as the API returns it.

    Plans are documents read whole (briefings, GPX, the route map), so the plan is one JSON
    column; ``replan_of`` links a re-plan to the plan it replaces.
    """

    __tablename__ = "patrol_plans"
    __table_args__ = (Index("ix_patrol_plans_squad_date", "squad", "plan_date", "shift"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    squad: Mapped[str] = mapped_column(String(50))
    plan_date: Mapped[str] = mapped_column(String(10))
    shift: Mapped[str] = mapped_column(String(10))
    layer_version_id: Mapped[int] = mapped_column(ForeignKey("layer_versions.id"))
    replan_of: Mapped[int | None] = mapped_column(ForeignKey("patrol_plans.id"))
    created_at: Mapped[datetime] = mapped_column(default=_now)
    created_by: Mapped[str] = mapped_column(String(200))
    request: Mapped[dict[str, Any]] = mapped_column(default=dict)
    plan: Mapped[dict[str, Any]] = mapped_column(default=dict)


class AuditLog(Base):
    """One row per write: who did what to which entity."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_entity", "entity", "entity_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(default=_now)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(50))
    entity: Mapped[str] = mapped_column(String(50))
    entity_id: Mapped[str | None] = mapped_column(String(50))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


# The dispatch tables live in their own module; importing it here puts them in Base.metadata.
from . import dispatch_models as dispatch_models  # noqa: E402
