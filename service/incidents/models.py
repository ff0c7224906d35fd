"""The incidents table: a reported problem, where it is, and who answers for it.

The resolution (community, squad, key road) is stored with the incident, with the layer version
that made it, so activating another version does not change the answer for stored incidents.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from geoalchemy2 import WKBElement
from sqlalchemy import (
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from ..core.models import Base, geometry_column, utcnow

__all__ = [
    "CLOSED_STATUSES",
    "INCIDENT_SOURCES",
    "INCIDENT_STATUSES",
    "OPEN_STATUSES",
    "Incident",
]

INCIDENT_SOURCES: Final = ("daily_inspection", "complaint", "special_inspection", "patrol")
# Statuses are plain strings, so adding one needs no schema change. The case lifecycle
# (service.dispatch.lifecycle) uses accepted, dispatched, on_scene, handled, verified_closed and
# parked; filed, in_progress, closed and on_hold are the earlier names, still accepted as stored
# values.
INCIDENT_STATUSES: Final = (
    "reported",
    "accepted",
    "filed",
    "dispatched",
    "on_scene",
    "in_progress",
    "handled",
    "verified_closed",
    "closed",
    "rejected",
    "duplicate",
    "parked",
    "on_hold",
)
# Open311 "closed"; every other status (parked 挂账 included) is "open".
CLOSED_STATUSES: Final = frozenset({"closed", "verified_closed", "rejected", "duplicate"})
# Named, not "all but closed": an IN list walks ix_incidents_status_reported_at to the few
# open cases among a million closed ones, where NOT IN reads every row.
OPEN_STATUSES: Final = tuple(s for s in INCIDENT_STATUSES if s not in CLOSED_STATUSES)


class Incident(Base):
    """A reported problem with its location (WGS84, as submitted) and stored resolution.

    The public id (``QSH-2026-000123``) is derived from ``id`` and the year received, not stored;
    see :func:`service.incidents.service.public_id`.
    """

    __tablename__ = "incidents"
    __table_args__ = (
        Index("ix_incidents_occurred_at", "occurred_at"),
        Index("ix_incidents_category_status", "category", "status"),
        Index("ix_incidents_community_code", "community_code"),
        Index("ix_incidents_status_reported_at", "status", "reported_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    category: Mapped[str] = mapped_column(String(10))
    description: Mapped[str] = mapped_column(Text, default="")
    photo_urls: Mapped[list[str]] = mapped_column(default=list)
    address: Mapped[str | None] = mapped_column(String(500))
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    geom: Mapped[WKBElement] = mapped_column(geometry_column("POINT"))
    input_crs: Mapped[str] = mapped_column(String(10))
    input_lon: Mapped[float] = mapped_column(Float)
    input_lat: Mapped[float] = mapped_column(Float)
    occurred_at: Mapped[datetime]
    reported_at: Mapped[datetime]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
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
