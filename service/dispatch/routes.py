"""Dispatch of one incident: its recommended units, assignments (assign, reassign, cancel),
case steps, timeline, clocks and backup requests; and the backup request queue. Units and the
roster are in ``unit_routes``.

When a unit is assigned and a stored plan of its squad for today's current shift holds it, the
plan is re-planned from the assignment time without the unit (issue 4 §3), in a savepoint of
the same unit of work: if the re-plan fails, the assignment stands and the answer says why in
``replan_error``.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy.orm import Session

from ..auth import service as auth_service
from ..auth.service import Principal, require
from ..core.deps import NowDep, ReadSessionDep, SessionDep, SettingsDep
from ..core.errors import ERROR_RESPONSES, InvalidInputError, NotFoundError, errors
from ..core.schemas import RowId
from ..core.timezones import BEIJING
from ..incidents import service as incidents_service
from ..incidents.service import Incident, IntakeDep
from ..layers.service import ActiveLayer, LayerDep, NetworkCache, NetworkDep
from ..plans import service as plans_service
from . import lifecycle, service
from .schemas import (
    AssignmentCancelled,
    AssignmentCreate,
    AssignmentCreated,
    AssignmentRead,
    BackupCreate,
    BackupRead,
    Clocks,
    EventCreate,
    Recommendations,
    StepRecorded,
    Timeline,
)

__all__ = ["backup_router", "router"]

log = logging.getLogger(__name__)

router = APIRouter(prefix="/incidents", tags=["dispatch"], responses=ERROR_RESPONSES)
backup_router = APIRouter(prefix="/backup", tags=["dispatch"], responses=ERROR_RESPONSES)
_MODES = ("foot", "ebike", "car")


def _as(permission: str) -> Any:
    # The route's rule, declared beside it: Annotated[Principal, _as("units:read")].
    return Depends(require(permission))


# -- one incident ---------------------------------------------------------------------------


def _incident(session: Session, principal: Principal, incident_id: str, prefix: str) -> Incident:
    return incidents_service.get_visible_incident(session, principal, incident_id, prefix=prefix)


@router.get("/{incident_id}/recommendations", response_model=Recommendations, responses=errors(404))
def recommendations(
    principal: Annotated[Principal, _as("units:read")],
    incident_id: str,
    session: SessionDep,
    network: NetworkDep,
    intake: IntakeDep,
    settings: SettingsDep,
    now: NowDep,
    modes: Annotated[
        str | None, Query(description="Comma-separated modes to keep, e.g. car,ebike.")
    ] = None,
    top: Annotated[int, Query(ge=1, le=50)] = 10,
) -> dict[str, Any]:
    """Available units with a known position, ranked by road travel time on the active
    layer's network: own squad first (both squads when urgent or none of its own is free);
    a position older than the stale limit is used but flagged."""
    incident = _incident(session, principal, incident_id, intake.id_prefix)
    wanted = None
    if modes:
        wanted = [m.strip() for m in modes.split(",") if m.strip()]
        unknown = sorted(set(wanted) - set(_MODES))
        if unknown or not wanted:
            raise InvalidInputError(
                "modes",
                f"Unknown mode(s) {', '.join(unknown) or modes!r}.",
                f"use some of {', '.join(_MODES)}, comma-separated.",
            )
    rows = service.recommend(
        session,
        incident,
        network=network,
        now=now,
        stale_after_s=settings.stale_after_s,
        modes=wanted,
        top=top,
    )
    return {
        "incident": incidents_service.public_id(incident, prefix=intake.id_prefix),
        "squad": incident.squad,
        "urgent": incident.urgent,
        "stale_after_s": settings.stale_after_s,
        "units": rows,
    }


def _draft_replan(
    read: Session,
    layer: ActiveLayer,
    unit_code: str,
    now: datetime,
    actor: str,
    time_limit_s: float,
    network_cache: NetworkCache,
) -> tuple[int | None, plans_service.PlanDraft | None, str | None]:
    """(plan to re-plan, its re-plan without the unit from now, error), solved through the
    read-only session: the assignment takes the writer lock only after the solve.

    ``(None, None, None)`` when the unit is on no plan of the current shift or is not
    available (the assignment answers why).
    """
    shift = service.current_shift(now)
    unit = service.get_unit(read, unit_code)  # 404 before any solve
    if shift is None or unit.status != "available":
        return None, None, None
    plan = plans_service.plan_holding(
        read, squad=unit.squad, unit_code=unit.code, day=now, shift=shift
    )
    if plan is None:
        return None, None, None
    try:
        draft = plans_service.draft_replan(
            session=read,
            layer=layer,
            network=network_cache.get(layer),
            previous=plan,
            request=plans_service.ReplanCreate(
                now=now, removed_units=[unit.code], time_limit_s=time_limit_s
            ),
            actor=actor,
        )
    except Exception as exc:  # the assignment stands whatever the planner says
        log.warning("Re-plan of plan %s after assigning %s failed: %s", plan.id, unit.code, exc)
        return plan.id, None, f"{type(exc).__name__}: {exc}"
    return plan.id, draft, None


@router.post(
    "/{incident_id}/assignments",
    status_code=201,
    response_model=AssignmentCreated,
    responses=errors(404, 409),
)
def assign(
    incident_id: str,
    body: AssignmentCreate,
    request: Request,
    read: ReadSessionDep,
    session: SessionDep,
    layer: LayerDep,
    intake: IntakeDep,
    settings: SettingsDep,
    principal: Annotated[Principal, _as("dispatch:assign")],
    now: NowDep,
    response: Response,
) -> dict[str, Any]:
    """Send a unit: one transaction (incident open and not assigned, unit available), so
    of two dispatchers assigning at once exactly one wins and the other gets 409 with the
    current assignment. ``replace: true`` reassigns (the old unit is freed). The unit's shift
    plan is then re-planned without it (``replanned_plan_id``, or ``replan_error``)."""
    who = principal.name
    # Read and solve first, write after: the writer lock is held for the assignment and the
    # plan's storing, not for the re-plan's seconds of search.
    _incident(read, principal, incident_id, intake.id_prefix)  # 404 before any solve
    plan_id, draft, error = _draft_replan(
        read,
        layer,
        body.unit_id,
        now,
        who,
        settings.replan_time_limit_s,
        request.app.state.network_cache,
    )
    incident = _incident(session, principal, incident_id, intake.id_prefix)
    assignment, unit, previous = service.assign(
        session,
        incident,
        body.unit_id,
        actor=who,
        now=now,
        replace=body.replace,
        reason=body.reason,
    )
    answer = service.assignment_read(session, assignment)
    answer["incident"] = incidents_service.public_id(incident, prefix=intake.id_prefix)
    answer["incident_status"] = incident.status
    answer["unit_status"] = unit.status
    answer["superseded"] = (
        service.assignment_read(session, previous) if previous is not None else None
    )
    new_id = plans_service.save_plan(session, draft).id if draft is not None else None
    answer.update(replanned_from_plan_id=plan_id, replanned_plan_id=new_id, replan_error=error)
    response.headers["Location"] = f"/incidents/{incident_id}/assignments/{assignment.id}"
    return answer


@router.get(
    "/{incident_id}/assignments", response_model=list[AssignmentRead], responses=errors(404)
)
def list_assignments(
    incident_id: str,
    session: SessionDep,
    intake: IntakeDep,
    principal: Annotated[Principal, _as("incidents:read")],
) -> list[dict[str, Any]]:
    """Every assignment of the incident, oldest first (active, superseded, cancelled,
    completed)."""
    incident = _incident(session, principal, incident_id, intake.id_prefix)
    return [
        service.assignment_read(session, a) for a in service.assignments_of(session, incident.id)
    ]


@router.delete(
    "/{incident_id}/assignments/{assignment_id}",
    response_model=AssignmentCancelled,
    responses=errors(404, 409),
)
def cancel_assignment(
    incident_id: str,
    assignment_id: RowId,
    session: SessionDep,
    intake: IntakeDep,
    principal: Annotated[Principal, _as("dispatch:assign")],
    now: NowDep,
    reason: Annotated[str | None, Query(max_length=500)] = None,
) -> dict[str, Any]:
    """Cancel the active assignment: the unit is available again."""
    incident = _incident(session, principal, incident_id, intake.id_prefix)
    assignment = service.cancel_assignment(
        session, incident, assignment_id, actor=principal.name, now=now, reason=reason
    )
    answer = service.assignment_read(session, assignment)
    answer["incident_status"] = incident.status
    return answer


@router.post(
    "/{incident_id}/events",
    status_code=201,
    response_model=StepRecorded,
    responses=errors(404, 409),
)
def record_step(
    incident_id: str,
    body: EventCreate,
    session: SessionDep,
    intake: IntakeDep,
    principal: Annotated[Principal, _as("cases:step")],
    now: NowDep,
) -> dict[str, Any]:
    """Record a lifecycle step (accepted 立案, rejected, duplicate, on_scene, handled 处置,
    verified_closed 核查结案, reopened 返工, parked 挂账, unparked). A step the lifecycle does not
    allow gets 409 naming the rule; verified_closed must come from someone other than whoever
    recorded handled (403). On scene and handled: the dispatcher or the case team; the rest:
    the case team."""
    auth_service.require_step(principal, body.step)
    incident = _incident(session, principal, incident_id, intake.id_prefix)
    original = None
    if body.duplicate_of is not None:
        try:
            original = _incident(session, principal, body.duplicate_of, intake.id_prefix)
        except NotFoundError as exc:
            raise InvalidInputError("duplicate_of", exc.message, exc.fix) from None
    event = service.record_step(
        session,
        incident,
        body.step,
        actor=principal.name,
        now=now,
        note=body.note,
        duplicate_of=original,
    )
    return {
        "incident": incidents_service.public_id(incident, prefix=intake.id_prefix),
        "step": event.step,
        "status": incident.status,
        "at": event.at.astimezone(BEIJING).isoformat(),
        "actor": event.actor,
        "note": event.note,
        "detail": dict(event.detail),
    }


@router.get("/{incident_id}/timeline", response_model=Timeline, responses=errors(404))
def timeline(
    incident_id: str,
    session: SessionDep,
    intake: IntakeDep,
    principal: Annotated[Principal, _as("incidents:read")],
) -> dict[str, Any]:
    """Every step of the case with who and when, oldest first; ``next_steps`` are the steps
    ``POST /incidents/{id}/events`` accepts now (dispatch goes through an assignment)."""
    incident = _incident(session, principal, incident_id, intake.id_prefix)
    return {
        "incident": incidents_service.public_id(incident, prefix=intake.id_prefix),
        "status": incident.status,
        "events": service.timeline(session, incident),
        "next_steps": [s for s in lifecycle.allowed_steps(incident.status) if s != "dispatched"],
    }


@router.get("/{incident_id}/clocks", response_model=Clocks, responses=errors(404))
def clocks(
    incident_id: str,
    session: SessionDep,
    intake: IntakeDep,
    settings: SettingsDep,
    now: NowDep,
    principal: Annotated[Principal, _as("incidents:read")],
) -> dict[str, Any]:
    """The case's clocks: due time from the category's limit in working hours (counted from
    立案, or from the report until then), overdue, working hours left; the 15-minute report
    rule and the dispatch and arrival delays, flagged late for urgent cases past
    ``JIEDAO_URGENT_DISPATCH_LIMIT_S`` / ``JIEDAO_URGENT_ARRIVAL_LIMIT_S``."""
    incident = _incident(session, principal, incident_id, intake.id_prefix)
    calendar = settings.working_calendar()
    return {
        "incident": incidents_service.public_id(incident, prefix=intake.id_prefix),
        "status": incident.status,
        **service.clocks(
            session,
            incident,
            calendar=calendar,
            now=now,
            dispatch_limit_s=settings.urgent_dispatch_limit_s,
            arrival_limit_s=settings.urgent_arrival_limit_s,
        ),
    }


@router.post(
    "/{incident_id}/backup", status_code=201, response_model=BackupRead, responses=errors(404, 409)
)
def request_backup(
    incident_id: str,
    body: BackupCreate,
    session: SessionDep,
    layer: LayerDep,
    intake: IntakeDep,
    principal: Annotated[Principal, _as("backup:request")],
    now: NowDep,
) -> dict[str, Any]:
    """Call for backup (暴力抗法 violent obstruction, or public order): alerts the backup team
    and the police station of the layer."""
    incident = _incident(session, principal, incident_id, intake.id_prefix)
    row = service.request_backup(
        session,
        incident,
        reason=body.reason,
        note=body.note,
        actor=principal.name,
        now=now,
        layer=layer,
    )
    return service.backup_read(session, row, now=now)


@backup_router.post("/{backup_id}/ack", response_model=BackupRead, responses=errors(404, 409))
def acknowledge(
    backup_id: RowId,
    session: SessionDep,
    principal: Annotated[Principal, _as("backup:ack")],
    now: NowDep,
) -> dict[str, Any]:
    """Acknowledge a backup request (stops its clock)."""
    row = service.acknowledge_backup(session, backup_id, actor=principal.name, now=now)
    return service.backup_read(session, row, now=now)


@backup_router.get("", response_model=list[BackupRead])
def list_backup(
    session: SessionDep,
    _principal: Annotated[Principal, _as("backup:read")],
    now: NowDep,
    open: Annotated[bool, Query(description="Only unacknowledged requests.")] = False,
) -> list[dict[str, Any]]:
    """Backup requests, oldest first, with the seconds each has waited."""
    return [
        service.backup_read(session, r, now=now)
        for r in service.list_backup(session, open_only=open)
    ]
