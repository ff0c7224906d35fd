"""Tables of the layers domain: layer versions and their features.

Layer versions follow MapIt's ``Generation``: every import is a new version, exactly one version is
active (a partial unique index enforces it), and each incident keeps the version that resolved
it, so activating a new version changes the answers for new incidents only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from geoalchemy2 import WKBElement
from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from ..core.models import Base, geometry_column, utcnow

__all__ = ["Community", "KeyRoad", "LayerVersion", "Place", "RoadSegment", "Squad", "Station"]


class LayerVersion(Base):
    """One imported layer pack; exactly one is active."""

    __tablename__ = "layer_versions"
    __table_args__ = (
        Index(
            "uq_layer_versions_one_active",
            "active",
            unique=True,
            sqlite_where=text("active"),
            postgresql_where=text("active"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    version: Mapped[str] = mapped_column(String(100))
    label: Mapped[str] = mapped_column(String(201), unique=True)
    title: Mapped[str | None] = mapped_column(String(300))
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", default=dict)
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200))
    activated_at: Mapped[datetime | None]
    activated_by: Mapped[str | None] = mapped_column(String(200))


class _VersionedFeature:
    version_id: Mapped[int] = mapped_column(
        ForeignKey("layer_versions.id", ondelete="CASCADE"), index=True
    )


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
    geom: Mapped[WKBElement] = mapped_column(geometry_column("MULTIPOLYGON"))


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
    geom: Mapped[WKBElement] = mapped_column(geometry_column("MULTILINESTRING"))


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
    geom: Mapped[WKBElement] = mapped_column(geometry_column("POINT"))


class Place(_VersionedFeature, Base):
    """A named place (market, school, ...) that helps to read a location."""

    __tablename__ = "places"
    __table_args__ = (UniqueConstraint("version_id", "place_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    place_id: Mapped[str] = mapped_column(String(50))
    name_zh: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str | None] = mapped_column(String(50))
    community: Mapped[str | None] = mapped_column(String(20))
    geom: Mapped[WKBElement] = mapped_column(geometry_column("POINT"))


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
    geom: Mapped[WKBElement] = mapped_column(geometry_column("MULTILINESTRING"))
