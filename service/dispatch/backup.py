"""Backup requests: a squad on a case alerts the backup team and the police station, and one
of them acknowledges (once), with the acknowledgement clock."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..core.audit import record
from ..core.errors import ConflictError, NotFoundError
from ..incidents.service import Incident
from ..layers.service import ActiveLayer
from . import lifecycle
from .models import BackupRequest, Unit
from .timeline import add_event, iso

__all__ = ["acknowledge_backup", "backup_read", "list_backup", "request_backup"]

_BACKUP_ALERTS: Final = ("backup_team", "police_station")


def backup_read(session: Session, row: BackupRequest, *, now: datetime) -> dict[str, Any]:
    """A backup request with its acknowledgement clock."""
    end = row.acknowledged_at or now
    return {
        "id": row.id,
        "incident_number": row.incident_id,
        "reason": row.reason,
        "note": row.note,
        "requested_at": iso(row.requested_at),
        "requested_by": row.requested_by,
        "alerted": list(row.alerted),
        "police_station": row.police_station,
        "backup_units": [
            u.code
            for u in session.scalars(select(Unit).where(Unit.team == "backup").order_by(Unit.code))
        ],
        "acknowledged_at": iso(row.acknowledged_at),
        "acknowledged_by": row.acknowledged_by,
        "open": row.acknowledged_at is None,
        "waiting_s" if row.acknowledged_at is None else "acknowledged_after_s": round(
            (end - row.requested_at).total_seconds(), 1
        ),
    }


def request_backup(
    session: Session,
    incident: Incident,
    *,
    reason: str,
    note: str | None,
    actor: str,
    now: datetime,
    layer: ActiveLayer,
) -> BackupRequest:
    """Alert the backup team and the police station for ``incident``."""
    if lifecycle.canonical(incident.status) in lifecycle.FINAL:
        raise ConflictError(
            None,
            f"Incident {incident.id} is {incident.status}.",
            "backup is for open cases; report a new incident.",
        )
    stations = layer.pack.stations
    police = stations[stations["kind"].astype(str) == "police_station"]
    station = str(police["code"].iloc[0]) if len(police) else None
    row = BackupRequest(
        incident_id=incident.id,
        requested_at=now,
        requested_by=actor,
        reason=reason,
        note=note,
        alerted=list(_BACKUP_ALERTS),
        police_station=station,
    )
    session.add(row)
    session.flush()
    add_event(
        session,
        incident,
        "backup_requested",
        actor=actor,
        at=now,
        status=incident.status,
        note=note,
        detail={"backup_request_id": row.id, "reason": reason, "police_station": station},
    )
    record(
        session,
        actor=actor,
        action="backup_request",
        entity="incident",
        entity_id=incident.id,
        detail={"backup_request_id": row.id, "reason": reason},
    )
    return row


def acknowledge_backup(
    session: Session, backup_id: int, *, actor: str, now: datetime
) -> BackupRequest:
    """Acknowledge a backup request (once)."""
    row = session.get(BackupRequest, backup_id)
    if row is None:
        raise NotFoundError(
            "backup_id", f"No backup request {backup_id}.", "GET /backup lists them."
        )
    if row.acknowledged_at is not None:
        raise ConflictError(
            "backup_id",
            f"Backup request {backup_id} was acknowledged by "
            f"{row.acknowledged_by} at {iso(row.acknowledged_at)}.",
            "nothing to do.",
        )
    changed = session.execute(
        update(BackupRequest)
        .where(BackupRequest.id == backup_id, BackupRequest.acknowledged_at.is_(None))
        .values(acknowledged_at=now, acknowledged_by=actor)
        .execution_options(synchronize_session=False)
    )
    if changed.rowcount != 1:  # type: ignore[attr-defined]
        raise ConflictError(
            "backup_id", f"Backup request {backup_id} was acknowledged meanwhile.", "nothing to do."
        )
    incident = session.get(Incident, row.incident_id)
    assert incident is not None
    add_event(
        session,
        incident,
        "backup_acknowledged",
        actor=actor,
        at=now,
        status=incident.status,
        detail={"backup_request_id": backup_id},
    )
    record(session, actor=actor, action="backup_ack", entity="backup_request", entity_id=backup_id)
    session.flush()
    session.refresh(row)
    return row


def list_backup(session: Session, *, open_only: bool) -> list[BackupRequest]:
    """Backup requests, oldest first; ``open_only`` keeps the unacknowledged ones."""
    query = select(BackupRequest).order_by(BackupRequest.requested_at, BackupRequest.id)
    if open_only:
        query = query.where(BackupRequest.acknowledged_at.is_(None))
    return list(session.scalars(query))
