"""Dispatch of incidents: recommend units, assign (one winner), reassign, cancel; the case
lifecycle steps. The timeline and clocks live in ``timeline``, backup requests in ``backup``;
both are re-exported here, the one door other domains use.

An assignment is one transaction: the incident must be open and have no active assignment, the
unit must be available. The partial unique index ``uq_assignments_one_active`` settles a race
between two dispatchers (the second insert fails and gets 409 with who is assigned), and the
unit moves to en_route with a conditional UPDATE, so one unit cannot be sent to two incidents at
once either.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..core.audit import record
from ..core.errors import ConflictError, InvalidInputError, NotFoundError, PermissionDeniedError
from ..incidents import service as incidents_service
from ..incidents.service import Incident
from . import lifecycle
from .backup import acknowledge_backup, backup_read, list_backup, request_backup
from .casework import FILING_STEPS, first_steps, handling_units, is_filed, reported_between
from .models import Assignment, IncidentEvent, Unit, UnitPing
from .recommendation import current_shift, recommend
from .timeline import add_event, clocks, iso, timeline
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
    "FILING_STEPS",
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
    "first_steps",
    "get_roster",
    "get_unit",
    "handling_units",
    "is_filed",
    "is_lost_assignment_race",
    "lifecycle",
    "list_backup",
    "list_units",
    "pings_between",
    "put_roster",
    "recommend",
    "record_step",
    "reported_between",
    "request_backup",
    "timeline",
    "track",
    "unit_read",
]


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
        "assigned_at": iso(assignment.assigned_at),
        "assigned_by": assignment.assigned_by,
        "cancelled_at": iso(assignment.cancelled_at),
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
            f"{iso(previous.assigned_at)} (by {previous.assigned_by}).",
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
            add_event(
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
        add_event(
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
    event = add_event(
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
