"""Dispatch of incidents: recommend units, assign (one winner), reassign, cancel; the case
lifecycle and its timeline; clocks; backup requests.

An assignment is one transaction: the incident must be open and have no active assignment, the
unit must be available. The partial unique index ``uq_assignments_one_active`` settles a race
between two dispatchers (the second insert fails and gets 409 with who is assigned), and the
unit moves to en_route with a conditional UPDATE, so one unit cannot be sent to two incidents at
once either.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from geo.dispatch import RecommendParams, UnitPosition, recommend_units
from geo.roadgraph import RoadGraph

from ..core.audit import record
from ..core.calendar import WorkingCalendar
from ..core.errors import ConflictError, InvalidInputError, NotFoundError, PermissionDeniedError
from ..core.timezones import BEIJING
from ..incidents import service as incidents_service
from ..incidents.service import Incident, get_category
from ..layers.service import ActiveLayer
from . import lifecycle
from .models import Assignment, BackupRequest, IncidentEvent, Unit, UnitPing
from .units import (
    IntakeResult,
    add_pings,
    change_status,
    create_unit,
    get_roster,
    get_unit,
    list_units,
    put_roster,
    track,
    unit_read,
)

__all__ = [
    "AssignmentConflictError",
    "IntakeResult",
    "acknowledge_backup",
    "active_assignment",
    "add_pings",
    "assign",
    "assignment_read",
    "assignments_of",
    "backup_read",
    "cancel_assignment",
    "change_status",
    "clocks",
    "create_unit",
    "current_shift",
    "get_roster",
    "get_unit",
    "is_lost_assignment_race",
    "list_backup",
    "list_units",
    "pings_between",
    "put_roster",
    "recommend",
    "record_step",
    "request_backup",
    "timeline",
    "track",
    "unit_read",
]

_REPORT_RULE_S: Final = 15 * 60.0  # big cases reported within 15 minutes of the event
_BACKUP_ALERTS: Final = ("backup_team", "police_station")


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(BEIJING).isoformat()


def current_shift(now: datetime) -> str | None:
    """The squads' shift at ``now`` (Beijing time): early 07-15, late 15-23, else None."""
    hour = now.astimezone(BEIJING).hour
    if 7 <= hour < 15:
        return "early"
    if 15 <= hour < 23:
        return "late"
    return None


def is_lost_assignment_race(exc: IntegrityError) -> bool:
    """Whether ``exc`` is the one-active-assignment index refusing a second active assignment
    of an incident: the only integrity error that means "another dispatcher won"."""
    text = str(exc.orig)
    return "uq_assignments_one_active" in text or "assignments.incident_id" in text


class AssignmentConflictError(ConflictError):
    """A 409 whose answer carries the current state (who is assigned, since when)."""

    def __init__(self, field: str | None, message: str, fix: str, current: dict[str, Any]) -> None:
        super().__init__(field, message, fix)
        self.current = current


# -- recommend ------------------------------------------------------------------------------


def recommend(
    session: Session,
    incident: Incident,
    *,
    network: RoadGraph,
    now: datetime,
    stale_after_s: float,
    modes: Sequence[str] | None = None,
    top: int = 10,
) -> list[dict[str, Any]]:
    """Available units with a known position, ranked by road travel time to ``incident``."""
    # Plain columns, not ORM objects: this runs for every incident a dispatcher opens.
    units = session.execute(
        select(Unit.code, Unit.squad, Unit.mode, Unit.last_lon, Unit.last_lat, Unit.last_at).where(
            Unit.status == "available",
            Unit.last_lon.is_not(None),
            Unit.last_lat.is_not(None),
            Unit.last_at.is_not(None),
        )
    ).all()
    positions = [
        UnitPosition(
            u.code,
            u.squad,
            u.mode,
            float(u.last_lon),
            float(u.last_lat),
            max(0.0, (now - u.last_at).total_seconds()),
        )
        for u in units
    ]
    params = RecommendParams(
        stale_after_s=stale_after_s,
        top=top,
        modes=tuple(modes) if modes else RecommendParams().modes,
    )
    frame = recommend_units(
        network,
        positions,
        lon=incident.lon,
        lat=incident.lat,
        squad=incident.squad,
        urgent=incident.urgent,
        shift=current_shift(now) or "late",
        params=params,
    )
    rows = []
    for row in frame.to_dict("records"):
        rows.append(
            {
                "unit_id": str(row["unit_id"]),
                "squad": str(row["squad"]),
                "mode": str(row["mode"]),
                "eta_s": round(float(row["eta_s"]), 1),
                "distance_m": round(float(row["distance_m"]), 1),
                "stale": bool(row["stale"]),
                "own_squad": bool(row["own_squad"]),
                "position_age_s": round(float(row["position_age_s"]), 1),
            }
        )
    return rows


# -- assign ---------------------------------------------------------------------------------


def active_assignment(session: Session, incident_id: int) -> Assignment | None:
    """The incident's active assignment, if any."""
    return session.scalar(
        select(Assignment).where(
            Assignment.incident_id == incident_id, Assignment.status == "active"
        )
    )


def assignment_read(session: Session, assignment: Assignment) -> dict[str, Any]:
    """An assignment as the API returns it."""
    code = session.scalar(select(Unit.code).where(Unit.id == assignment.unit_id))
    return {
        "id": assignment.id,
        "incident_number": assignment.incident_id,
        "unit_id": code,
        "status": assignment.status,
        "assigned_at": _iso(assignment.assigned_at),
        "assigned_by": assignment.assigned_by,
        "cancelled_at": _iso(assignment.cancelled_at),
        "cancelled_by": assignment.cancelled_by,
        "reason": assignment.reason,
    }


def _current_state(session: Session, incident_id: int) -> dict[str, Any]:
    status = incidents_service.stored_status(session, incident_id)
    active = active_assignment(session, incident_id)
    return {
        "incident_status": status,
        "assignment": assignment_read(session, active) if active is not None else None,
    }


def _conflict(
    session: Session, incident_id: int, message: str, fix: str, *, field: str | None = None
) -> AssignmentConflictError:
    return AssignmentConflictError(field, message, fix, _current_state(session, incident_id))


def _event(
    session: Session,
    incident: Incident,
    step: str,
    *,
    actor: str,
    at: datetime,
    status: str | None = None,
    note: str | None = None,
    detail: dict[str, Any] | None = None,
) -> IncidentEvent:
    event = IncidentEvent(
        incident_id=incident.id,
        step=step,
        status=status,
        at=at,
        actor=actor,
        note=note,
        detail=detail or {},
    )
    session.add(event)
    return event


def _set_incident_status(
    session: Session, incident: Incident, expected: str, status: str, at: datetime
) -> None:
    if not incidents_service.set_status(session, incident, expected=expected, status=status, at=at):
        raise _conflict(
            session,
            incident.id,
            f"Incident {incident.id} changed meanwhile.",
            "reload the incident and try again.",
        )


def _free_unit(session: Session, unit_id: int, *, actor: str, at: datetime, reason: str) -> None:
    """Make the unit of an assignment that just ended available, unless it is on another case
    (sent on from this one) or not on a case at all (on a break, off duty)."""
    unit = session.get(Unit, unit_id)
    if unit is None or unit.status not in ("en_route", "on_scene", "returning"):
        return
    elsewhere = session.scalar(
        select(Assignment.id)
        .where(Assignment.unit_id == unit_id, Assignment.status == "active")
        .limit(1)
    )
    if elsewhere is None:
        change_status(session, unit, "available", actor=actor, now=at, reason=reason)


def assign(
    session: Session,
    incident: Incident,
    unit_code: str,
    *,
    actor: str,
    now: datetime,
    replace: bool = False,
    reason: str | None = None,
) -> tuple[Assignment, Unit, Assignment | None]:
    """Send ``unit_code`` to ``incident`` in the caller's unit of work.

    Returns the assignment, the unit and the
    assignment it superseded (``replace``).

    Raises :class:`AssignmentConflictError` (409, with the current state) when the incident is
    closed or already assigned (without ``replace``), when the unit is not available, or when a
    concurrent request won.
    """
    if lifecycle.canonical(incident.status) in lifecycle.FINAL:
        raise _conflict(
            session,
            incident.id,
            f"Incident {incident.id} is {incident.status}; a closed case cannot be assigned.",
            "reopen it (step reopened) or report a new incident.",
        )
    if lifecycle.canonical(incident.status) == "parked":
        raise _conflict(
            session,
            incident.id,
            f"Incident {incident.id} is parked (挂账).",
            "unpark it first (POST /incidents/{id}/events step unparked).",
        )
    unit = get_unit(session, unit_code)
    previous = active_assignment(session, incident.id)
    if previous is not None and not replace:
        who = session.scalar(select(Unit.code).where(Unit.id == previous.unit_id))
        raise _conflict(
            session,
            incident.id,
            f"Incident {incident.id} is already assigned to {who} since "
            f"{_iso(previous.assigned_at)} (by {previous.assigned_by}).",
            "send replace: true to reassign it, or cancel the assignment first.",
        )
    if previous is not None and previous.unit_id == unit.id:
        raise _conflict(
            session,
            incident.id,
            f"Unit {unit.code} is already assigned to incident {incident.id}.",
            "pick another unit to reassign.",
            field="unit_id",
        )
    if unit.status != "available":
        raise _conflict(
            session,
            incident.id,
            f"Unit {unit.code} is {unit.status}, not available.",
            "pick an available unit (GET /incidents/{id}/recommendations lists them).",
            field="unit_id",
        )
    status_before = incident.status
    try:
        # A savepoint: when anything below refuses, none of it stays in the unit of work, and
        # the 409 reports the state as stored.
        with session.begin_nested():
            if previous is not None:
                superseded = session.execute(
                    update(Assignment)
                    .where(Assignment.id == previous.id, Assignment.status == "active")
                    .values(
                        status="superseded",
                        cancelled_at=now,
                        cancelled_by=actor,
                        reason=reason or "reassigned",
                    )
                    .execution_options(synchronize_session=False)
                )
                if superseded.rowcount != 1:  # type: ignore[attr-defined]
                    raise _conflict(
                        session,
                        incident.id,
                        "The assignment changed meanwhile.",
                        "reload the incident and try again.",
                    )
                session.refresh(previous)
                _free_unit(
                    session,
                    previous.unit_id,
                    actor=actor,
                    at=now,
                    reason=f"reassigned away from incident {incident.id}",
                )
            assignment = Assignment(
                incident_id=incident.id,
                unit_id=unit.id,
                assigned_at=now,
                assigned_by=actor,
                status="active",
                reason=reason,
            )
            session.add(assignment)
            session.flush()
            change_status(
                session,
                unit,
                "en_route",
                actor=actor,
                now=now,
                reason=f"assigned to incident {incident.id}",
            )
            if lifecycle.canonical(status_before) in ("reported", "accepted"):
                _set_incident_status(session, incident, status_before, "dispatched", now)
            _event(
                session,
                incident,
                "reassigned" if previous is not None else "dispatched",
                actor=actor,
                at=now,
                status=incident.status,
                note=reason,
                detail={
                    "assignment_id": assignment.id,
                    "unit_id": unit.code,
                    "replaces": previous.id if previous is not None else None,
                },
            )
            record(
                session,
                actor=actor,
                action="assign",
                entity="incident",
                entity_id=incident.id,
                before={"status": status_before},
                after={"status": incident.status, "unit_id": unit.code},
                at=now,
                detail={
                    "unit_id": unit.code,
                    "assignment_id": assignment.id,
                    "replaces": previous.id if previous is not None else None,
                },
            )
    except IntegrityError as exc:
        if not is_lost_assignment_race(exc):
            raise  # not the race: logged and answered as a server error
        # Another dispatcher's assignment committed first (the one-active index).
        raise _conflict(
            session,
            incident.id,
            f"Incident {incident.id} was assigned by another dispatcher just now.",
            "see the current assignment; send replace: true to reassign.",
        ) from None
    except ConflictError as exc:
        if isinstance(exc, AssignmentConflictError):
            exc.current = _current_state(session, incident.id)
            raise
        raise _conflict(session, incident.id, exc.message, exc.fix, field=exc.field) from None
    return assignment, unit, previous


def cancel_assignment(
    session: Session,
    incident: Incident,
    assignment_id: int,
    *,
    actor: str,
    now: datetime,
    reason: str | None = None,
) -> Assignment:
    """Cancel the incident's active assignment ``assignment_id`` and free the unit.

    The incident goes back to accepted (or reported, when it never was) unless it is past the
    scene.
    """
    assignment = session.get(Assignment, assignment_id)
    if assignment is None or assignment.incident_id != incident.id:
        raise NotFoundError(
            "assignment_id",
            f"No assignment {assignment_id} on incident {incident.id}.",
            "GET /incidents/{id}/timeline lists them.",
        )
    if assignment.status != "active":
        raise _conflict(
            session,
            incident.id,
            f"Assignment {assignment_id} is already {assignment.status}.",
            "nothing to cancel.",
        )
    with session.begin_nested():
        changed = session.execute(
            update(Assignment)
            .where(Assignment.id == assignment.id, Assignment.status == "active")
            .values(status="cancelled", cancelled_at=now, cancelled_by=actor, reason=reason)
            .execution_options(synchronize_session=False)
        )
        if changed.rowcount != 1:  # type: ignore[attr-defined]
            raise _conflict(
                session, incident.id, "The assignment changed meanwhile.", "reload the incident."
            )
        _free_unit(
            session,
            assignment.unit_id,
            actor=actor,
            at=now,
            reason=f"assignment to incident {incident.id} cancelled",
        )
        if lifecycle.canonical(incident.status) in ("dispatched", "on_scene"):
            accepted = session.scalar(
                select(IncidentEvent.id).where(
                    IncidentEvent.incident_id == incident.id, IncidentEvent.step == "accepted"
                )
            )
            _set_incident_status(
                session,
                incident,
                incident.status,
                "accepted" if accepted is not None else "reported",
                now,
            )
        code = session.scalar(select(Unit.code).where(Unit.id == assignment.unit_id))
        _event(
            session,
            incident,
            "assignment_cancelled",
            actor=actor,
            at=now,
            status=incident.status,
            note=reason,
            detail={"assignment_id": assignment.id, "unit_id": code},
        )
        record(
            session,
            actor=actor,
            action="cancel_assignment",
            entity="incident",
            entity_id=incident.id,
            before={"assignment": "active", "unit_id": code},
            after={"assignment": "cancelled", "status": incident.status},
            detail={"assignment_id": assignment.id},
            at=now,
        )
    session.refresh(assignment)
    return assignment


# -- lifecycle ------------------------------------------------------------------------------


def _last_event(session: Session, incident_id: int, step: str) -> IncidentEvent | None:
    return session.scalar(
        select(IncidentEvent)
        .where(IncidentEvent.incident_id == incident_id, IncidentEvent.step == step)
        .order_by(IncidentEvent.at.desc(), IncidentEvent.id.desc())
        .limit(1)
    )


def record_step(
    session: Session,
    incident: Incident,
    step: str,
    *,
    actor: str,
    now: datetime,
    note: str | None = None,
    duplicate_of: Incident | None = None,
) -> IncidentEvent:
    """Apply a lifecycle step to ``incident`` and record it.

    Raises :class:`ConflictError` naming the rule broken (a step not allowed from the current
    status, the handler verifying their own work) and :class:`InvalidInputError` for a missing
    reason or original.
    """
    handled = _last_event(session, incident.id, "handled")
    parked = _last_event(session, incident.id, "parked")
    if duplicate_of is not None and duplicate_of.id == incident.id:
        raise InvalidInputError(
            "duplicate_of",
            "An incident cannot duplicate itself.",
            "give the id of the original report.",
        )
    context = lifecycle.Context(
        actor=actor,
        note=note,
        duplicate_of=duplicate_of.id if duplicate_of else None,
        handled_by=handled.actor if handled is not None else None,
        parked_from=(parked.detail.get("from") if parked is not None else None),
    )
    try:
        status = lifecycle.apply(incident.status, step, context)
    except lifecycle.LifecycleError as exc:
        fix = (
            f"allowed next steps: {', '.join(exc.allowed)}."
            if exc.allowed
            else "the case is closed; report a new incident."
            if exc.rule == "transition"
            else ""
        )
        if exc.rule == "verifier_differs_from_handler":
            # The separation of duties is a permission, not a conflict of state: 403.
            raise PermissionDeniedError(
                exc.field,
                f"{exc} (rule: {exc.rule})",
                "ask another case-team member to verify and close the case.",
                permission="cases:verify_other",
            ) from None
        if exc.rule == "park_needs_reason":
            fix = "give the reason in note (e.g. waiting for the owner department)."
        elif exc.rule == "duplicate_needs_original":
            fix = "give duplicate_of: the id of the original report."
        error_type = (
            InvalidInputError
            if exc.rule in ("park_needs_reason", "duplicate_needs_original")
            else ConflictError
        )
        raise error_type(exc.field, f"{exc} (rule: {exc.rule})", fix) from None
    detail: dict[str, Any] = {"from": incident.status}
    if duplicate_of is not None:
        detail["duplicate_of"] = duplicate_of.id
    before = incident.status
    _set_incident_status(session, incident, before, status, now)
    if step == "duplicate":
        incident.status_notes = f"duplicate of {duplicate_of.id if duplicate_of else '?'}"
    event = _event(
        session, incident, step, actor=actor, at=now, status=status, note=note, detail=detail
    )
    active = active_assignment(session, incident.id)
    if active is not None and (step == "parked" or lifecycle.canonical(status) in lifecycle.FINAL):
        # Closed, the assignment is done; parked (挂账), it is called off until the case comes
        # back. Either way the unit is free for the next case (cancelled_at/by: when it ended).
        on_hold = step == "parked"
        active.status = "cancelled" if on_hold else "completed"
        active.cancelled_at, active.cancelled_by = now, actor
        active.reason = f"case parked: {note}" if on_hold else active.reason or f"case {step}"
        _free_unit(
            session, active.unit_id, actor=actor, at=now, reason=f"incident {incident.id} {step}"
        )
    elif active is not None and step in ("on_scene", "handled"):
        unit = session.get(Unit, active.unit_id)
        wanted = "on_scene" if step == "on_scene" else "returning"
        if unit is not None and unit.status in ("en_route", "on_scene") and unit.status != wanted:
            change_status(
                session, unit, wanted, actor=actor, now=now, reason=f"incident {incident.id} {step}"
            )
    record(
        session,
        actor=actor,
        action=step,
        entity="incident",
        entity_id=incident.id,
        before={"status": before},
        after={"status": incident.status},
        detail=detail,
        at=now,
    )
    return event


def timeline(session: Session, incident: Incident) -> list[dict[str, Any]]:
    """Every step of the incident, oldest first, starting with the report itself."""
    events = [
        {
            "step": "reported",
            "status": "reported",
            "at": _iso(incident.reported_at),
            "actor": incident.created_by,
            "note": None,
            "detail": {
                "occurred_at": _iso(incident.occurred_at),
                "received_at": _iso(incident.received_at),
            },
        }
    ]
    for e in session.scalars(
        select(IncidentEvent)
        .where(IncidentEvent.incident_id == incident.id)
        .order_by(IncidentEvent.at, IncidentEvent.id)
    ):
        events.append(
            {
                "step": e.step,
                "status": e.status,
                "at": _iso(e.at),
                "actor": e.actor,
                "note": e.note,
                "detail": dict(e.detail),
            }
        )
    return events


# -- clocks ---------------------------------------------------------------------------------


def clocks(
    session: Session,
    incident: Incident,
    *,
    calendar: WorkingCalendar,
    now: datetime,
    dispatch_limit_s: float,
    arrival_limit_s: float,
) -> dict[str, Any]:
    """Time limit, due time, overdue and working hours left; the urgent-case delays.

    An urgent case is flagged late when its dispatch (from the report) or its arrival (from the
    dispatch) took, or has been waiting, longer than the limits; other cases are not flagged.
    """
    steps: dict[str, datetime] = {}
    for step, at in session.execute(
        select(IncidentEvent.step, IncidentEvent.at)
        .where(IncidentEvent.incident_id == incident.id)
        .order_by(IncidentEvent.at, IncidentEvent.id)
    ):
        steps.setdefault(step, at)  # the first time each step happened
    limit = get_category(incident.category).time_limit_hours
    accepted = steps.get("accepted")
    start = accepted or incident.reported_at
    due = calendar.add_working_hours(start, limit)
    closed = lifecycle.canonical(incident.status) in lifecycle.FINAL
    closed_at = None
    if closed:
        closed_at = max(
            (
                at
                for step, at in steps.items()
                if step in ("verified_closed", "rejected", "duplicate")
            ),
            default=incident.updated_at,
        )
    end = closed_at or now
    report_delay = (incident.reported_at - incident.occurred_at).total_seconds()
    dispatched = steps.get("dispatched")
    on_scene = steps.get("on_scene")
    # Waiting counts too: an urgent case not yet dispatched after the limit is already late.
    dispatch_s = (
        None
        if closed and dispatched is None
        else ((dispatched or now) - incident.reported_at).total_seconds()
    )
    arrival_s = (
        None
        if dispatched is None or (closed and on_scene is None)
        else ((on_scene or now) - dispatched).total_seconds()
    )
    return {
        "time_limit_hours": limit,
        "clock_starts": "accepted" if accepted else "reported",
        "started_at": _iso(start),
        "due_at": _iso(due),
        "closed_at": _iso(closed_at),
        "overdue": end > due,
        "remaining_working_hours": None
        if closed
        else round(calendar.working_hours_between(now, due), 2),
        "working_hours_used": round(calendar.working_hours_between(start, end), 2),
        "calendar": {
            "start": calendar.start.isoformat("minutes"),
            "end": calendar.end.isoformat("minutes"),
        },
        "urgent": incident.urgent,
        "report_delay_s": round(report_delay, 1),
        "report_within_15_min": report_delay <= _REPORT_RULE_S,
        "dispatch_delay_s": None
        if dispatched is None
        else round((dispatched - incident.reported_at).total_seconds(), 1),
        "arrival_delay_s": None
        if dispatched is None or on_scene is None
        else round((on_scene - dispatched).total_seconds(), 1),
        "waiting_for_dispatch_s": None
        if dispatched is not None or closed
        else round((now - incident.reported_at).total_seconds(), 1),
        "dispatch_limit_s": dispatch_limit_s,
        "arrival_limit_s": arrival_limit_s,
        "dispatch_late": incident.urgent
        and dispatch_s is not None
        and dispatch_s > dispatch_limit_s,
        "arrival_late": incident.urgent and arrival_s is not None and arrival_s > arrival_limit_s,
    }


# -- backup ---------------------------------------------------------------------------------


def backup_read(session: Session, row: BackupRequest, *, now: datetime) -> dict[str, Any]:
    """A backup request with its acknowledgement clock."""
    end = row.acknowledged_at or now
    return {
        "id": row.id,
        "incident_number": row.incident_id,
        "reason": row.reason,
        "note": row.note,
        "requested_at": _iso(row.requested_at),
        "requested_by": row.requested_by,
        "alerted": list(row.alerted),
        "police_station": row.police_station,
        "backup_units": [
            u.code
            for u in session.scalars(select(Unit).where(Unit.team == "backup").order_by(Unit.code))
        ],
        "acknowledged_at": _iso(row.acknowledged_at),
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
    _event(
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
            f"{row.acknowledged_by} at {_iso(row.acknowledged_at)}.",
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
    _event(
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


def assignments_of(session: Session, incident_id: int) -> list[Assignment]:
    """Every assignment of an incident, oldest first."""
    return list(
        session.scalars(
            select(Assignment).where(Assignment.incident_id == incident_id).order_by(Assignment.id)
        )
    )


def pings_between(session: Session, unit_code: str, *, start: datetime, end: datetime) -> list[Any]:
    """``(at, lon, lat)`` of a unit's pings with start <= at <= end (device time)."""
    return list(
        session.execute(
            select(UnitPing.at, UnitPing.lon, UnitPing.lat)
            .join(Unit, Unit.id == UnitPing.unit_id)
            .where(Unit.code == unit_code, UnitPing.at >= start, UnitPing.at <= end)
        ).all()
    )
