"""ORM models of dispatch: units, the duty roster, unit status and positions (AVL),
assignments, the incident timeline and backup requests.

Unit ids in the API are the
unit's ``code`` (``west-car-1``); foreign keys use the integer ``units.id``.

- ``units.status``/``status_at`` hold the current status; ``unit_status_events`` every change.
- ``units.last_*`` hold the newest position by device time; ``unit_positions`` the whole track.
  A ping is unique per (unit, device time), so a repeated ping is stored once.
- ``assignments`` has a partial unique index: at most one ``active`` assignment per incident,
  on both databases, so two dispatchers assigning at once cannot both win.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Final

from geoalchemy2 import WKBElement
from sqlalchemy import (
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from ..core.models import Base, geometry_column, utcnow

__all__ = [
    "SHIFT_NAMES",
    "TEAMS",
    "UNIT_MODES",
    "Assignment",
    "BackupRequest",
    "DutyRoster",
    "IncidentEvent",
    "Unit",
    "UnitPing",
    "UnitStatusEvent",
]

UNIT_MODES: Final = ("foot", "ebike", "car")
TEAMS: Final = ("patrol", "backup")
SHIFT_NAMES: Final = ("early", "late")
ASSIGNMENT_STATUSES: Final = ("active", "cancelled", "superseded", "completed")


class Unit(Base):
    """A patrol unit (or a unit of the backup team): its crew by role, never by name."""

    __tablename__ = "units"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(50), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    squad: Mapped[str] = mapped_column(String(50), index=True)
    mode: Mapped[str] = mapped_column(String(10))
    members: Mapped[dict[str, Any]] = mapped_column(default=dict)
    home_station: Mapped[str | None] = mapped_column(String(50))
    team: Mapped[str] = mapped_column(String(10), default="patrol")
    status: Mapped[str] = mapped_column(String(20), default="off_duty")
    status_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_at: Mapped[datetime | None]
    last_received_at: Mapped[datetime | None]
    last_lon: Mapped[float | None] = mapped_column(Float)
    last_lat: Mapped[float | None] = mapped_column(Float)
    last_accuracy_m: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200))


class DutyRoster(Base):
    """A unit on duty in one shift of one day."""

    __tablename__ = "duty_roster"
    __table_args__ = (UniqueConstraint("roster_date", "shift", "unit_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    roster_date: Mapped[date] = mapped_column(Date)
    shift: Mapped[str] = mapped_column(String(10))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200))


class UnitStatusEvent(Base):
    """One change of a unit's status: from what, to what, when, by whom and why."""

    __tablename__ = "unit_status_events"
    __table_args__ = (Index("ix_unit_status_events_unit_at", "unit_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    previous: Mapped[str | None] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(Text)


class UnitPing(Base):
    """One position report (AVL ping) of a unit, WGS84; ``at`` is the device's time."""

    __tablename__ = "unit_positions"
    __table_args__ = (UniqueConstraint("unit_id", "at", name="uq_unit_positions_unit_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    at: Mapped[datetime]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    geom: Mapped[WKBElement] = mapped_column(geometry_column("POINT"))
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    speed_mps: Mapped[float | None] = mapped_column(Float)


class Assignment(Base):
    """A unit sent to an incident; at most one active assignment per incident.

    It ends cancelled, superseded (reassigned) or completed (the case closed); ``cancelled_at``
    and ``cancelled_by`` record when and by whom it ended, whichever way.
    """

    __tablename__ = "assignments"
    __table_args__ = (
        Index(
            "uq_assignments_one_active",
            "incident_id",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
        Index("ix_assignments_unit_id", "unit_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    assigned_at: Mapped[datetime] = mapped_column(default=utcnow)
    assigned_by: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="active")
    cancelled_at: Mapped[datetime | None]
    cancelled_by: Mapped[str | None] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(Text)


class IncidentEvent(Base):
    """One step of an incident's timeline (立案, 派遣, 处置, 核查结案 ...): who and when."""

    __tablename__ = "incident_events"
    __table_args__ = (Index("ix_incident_events_incident_at", "incident_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"))
    step: Mapped[str] = mapped_column(String(30))
    status: Mapped[str | None] = mapped_column(String(30))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class BackupRequest(Base):
    """A call for the backup team and the police station (暴力抗法, public order)."""

    __tablename__ = "backup_requests"
    __table_args__ = (Index("ix_backup_requests_incident_id", "incident_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"))
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    requested_by: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(String(30))
    note: Mapped[str | None] = mapped_column(Text)
    alerted: Mapped[list[str]] = mapped_column(default=list)
    police_station: Mapped[str | None] = mapped_column(String(50))
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by: Mapped[str | None] = mapped_column(String(200))
