"""Dispatch of one incident: recommended units, assignments (assign, reassign, cancel), case
steps and timeline, clocks, backup requests; and the backup request queue.

When a unit is assigned and a stored plan of its squad for today's current shift holds it, the
plan is re-planned from the assignment time without the unit (issue 4 §3). The re-plan runs
after the assignment is committed, in the same request: if it fails, the assignment stands and
the answer says why in ``replan_error``.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from ... import crud, lifecycle, planning
from ...crud import dispatch as crud_dispatch
from ...crud.errors import InvalidInputError
from ...dispatch_models import Assignment, Unit
from ...dispatch_schemas import AssignmentCreate, BackupCreate, EventCreate
from ...layerstore import ActiveLayer
from ...models import Incident, PatrolPlanRecord
from ...schemas import ErrorResponse, ReplanCreate
from ...timezones import BEIJING
from ...workcalendar import WorkingCalendar
from ..deps import (
    ActorDep,
    IntakeDep,
    LayerDep,
    NetworkDep,
    NowDep,
    SessionDep,
    SettingsDep,
)

__all__ = ["backup_router", "router"]

log = logging.getLogger(__name__)

router = APIRouter(prefix="/incidents", tags=["dispatch"])
backup_router = APIRouter(prefix="/backup", tags=["dispatch"])
_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse} for code in (404, 409, 422, 503)}
_MODES = ("foot", "ebike", "car")


def _incident(session: Session, incident_id: str, prefix: str) -> Incident:
    return crud.get_incident(session=session, incident_id=incident_id, prefix=prefix)


@router.get("/{incident_id}/recommendations", responses=_ERRORS)
def recommendations(incident_id: str, session: SessionDep, network: NetworkDep,
                    intake: IntakeDep, settings: SettingsDep, now: NowDep,
                    modes: Annotated[str | None, Query(
                        description="Comma-separated modes to keep, e.g. car,ebike.")] = None,
                    top: Annotated[int, Query(ge=1, le=50)] = 10) -> dict[str, Any]:
    """Available units with a known position, ranked by road travel time on the active
    layer's network: own squad first (both squads when urgent or none of its own is free);
    a position older than the stale limit is used but flagged."""
    incident = _incident(session, incident_id, intake.id_prefix)
    wanted = None
    if modes:
        wanted = [m.strip() for m in modes.split(",") if m.strip()]
        unknown = sorted(set(wanted) - set(_MODES))
        if unknown or not wanted:
            raise InvalidInputError("modes", f"Unknown mode(s) {', '.join(unknown) or modes!r}.",
                                    f"use some of {', '.join(_MODES)}, comma-separated.")
    rows = crud_dispatch.recommend(session, incident, network=network, now=now,
                                   stale_after_s=settings.stale_after_s, modes=wanted, top=top)
    return {"incident": crud.public_id(incident, prefix=intake.id_prefix),
            "squad": incident.squad, "urgent": incident.urgent,
            "stale_after_s": settings.stale_after_s, "units": rows}


def _plan_for(session: Session, unit: Unit, now: Any) -> PatrolPlanRecord | None:
    shift = crud_dispatch.current_shift(now)
    if shift is None:
        return None
    day = now.astimezone(BEIJING).date().isoformat()
    plan = session.scalar(select(PatrolPlanRecord).where(
        PatrolPlanRecord.squad == unit.squad, PatrolPlanRecord.plan_date == day,
        PatrolPlanRecord.shift == shift).order_by(PatrolPlanRecord.id.desc()).limit(1))
    if plan is None:
        return None
    on_plan = {u["unit_id"] for u in plan.plan.get("units", []) if not u.get("removed")}
    return plan if unit.code in on_plan else None


def _replan(request: Request, session: Session, layer: ActiveLayer, unit: Unit, now: Any,
            actor: str, time_limit_s: float) -> tuple[int | None, int | None, str | None]:
    """(plan re-planned, new plan id, error): the unit's shift plan without it, from now."""
    plan = _plan_for(session, unit, now)
    if plan is None:
        return None, None, None
    try:
        network = request.app.state.network_cache.get(layer)
        row = planning.replan(session=session, layer=layer, network=network, previous=plan,
                              request=ReplanCreate(now=now, removed_units=[unit.code],
                                                   time_limit_s=time_limit_s),
                              actor=actor)
        session.commit()
    except Exception as exc:  # the assignment stands whatever the planner says
        session.rollback()
        log.warning("Re-plan of plan %s after assigning %s failed: %s", plan.id, unit.code,
                    exc)
        return plan.id, None, f"{type(exc).__name__}: {exc}"
    return plan.id, row.id, None


@router.post("/{incident_id}/assignments", status_code=201, responses=_ERRORS)
def assign(incident_id: str, body: AssignmentCreate, request: Request, session: SessionDep,
           layer: LayerDep, intake: IntakeDep, settings: SettingsDep, actor: ActorDep,
           now: NowDep, response: Response) -> dict[str, Any]:
    """Send a unit: one transaction (incident open and not assigned, unit available), so
    of two dispatchers assigning at once exactly one wins and the other gets 409 with the
    current assignment. ``replace: true`` reassigns (the old unit is freed). The unit's shift
    plan is then re-planned without it (``replanned_plan_id``, or ``replan_error``)."""
    incident = _incident(session, incident_id, intake.id_prefix)
    who = actor or "anonymous"
    assignment, unit, previous = crud_dispatch.assign(
        session, incident, body.unit_id, actor=who, now=now, replace=body.replace,
        reason=body.reason)
    answer = crud_dispatch.assignment_read(session, assignment)
    answer["incident"] = crud.public_id(incident, prefix=intake.id_prefix)
    answer["incident_status"] = incident.status
    answer["unit_status"] = unit.status
    answer["superseded"] = (crud_dispatch.assignment_read(session, previous)
                            if previous is not None else None)
    plan_id, new_id, error = _replan(request, session, layer, unit, now, who,
                                     settings.replan_time_limit_s)
    answer.update(replanned_from_plan_id=plan_id, replanned_plan_id=new_id, replan_error=error)
    response.headers["Location"] = f"/incidents/{incident_id}/assignments/{assignment.id}"
    return answer


@router.get("/{incident_id}/assignments", responses=_ERRORS)
def list_assignments(incident_id: str, session: SessionDep, intake: IntakeDep
                     ) -> list[dict[str, Any]]:
    """Every assignment of the incident, oldest first (active, superseded, cancelled,
    completed)."""
    incident = _incident(session, incident_id, intake.id_prefix)
    rows = session.scalars(select(Assignment).where(Assignment.incident_id == incident.id)
                           .order_by(Assignment.id))
    return [crud_dispatch.assignment_read(session, a) for a in rows]


@router.delete("/{incident_id}/assignments/{assignment_id}", responses=_ERRORS)
def cancel_assignment(incident_id: str, assignment_id: int, session: SessionDep,
                      intake: IntakeDep, actor: ActorDep, now: NowDep,
                      reason: Annotated[str | None, Query(max_length=500)] = None
                      ) -> dict[str, Any]:
    """Cancel the active assignment: the unit is available again."""
    incident = _incident(session, incident_id, intake.id_prefix)
    assignment = crud_dispatch.cancel_assignment(session, incident, assignment_id,
                                                 actor=actor or "anonymous", now=now,
                                                 reason=reason)
    answer = crud_dispatch.assignment_read(session, assignment)
    answer["incident_status"] = incident.status
    return answer


@router.post("/{incident_id}/events", status_code=201, responses=_ERRORS)
def record_step(incident_id: str, body: EventCreate, session: SessionDep, intake: IntakeDep,
                actor: ActorDep, now: NowDep) -> dict[str, Any]:
    """Record a lifecycle step (accepted 立案, rejected, duplicate, on_scene, handled 处置,
    verified_closed 核查结案, reopened 返工, parked 挂账, unparked). A step the lifecycle does not
    allow gets 409 naming the rule; verified_closed must come from someone other than whoever
    recorded handled."""
    incident = _incident(session, incident_id, intake.id_prefix)
    original = None
    if body.duplicate_of is not None:
        try:
            original = _incident(session, body.duplicate_of, intake.id_prefix)
        except crud.NotFoundError as exc:
            raise InvalidInputError("duplicate_of", exc.message, exc.fix) from None
    event = crud_dispatch.record_step(session, incident, body.step, actor=actor or "anonymous",
                                      now=now, note=body.note, duplicate_of=original)
    return {"incident": crud.public_id(incident, prefix=intake.id_prefix), "step": event.step,
            "status": incident.status, "at": event.at.astimezone(BEIJING).isoformat(),
            "actor": event.actor, "note": event.note, "detail": dict(event.detail)}


@router.get("/{incident_id}/timeline", responses=_ERRORS)
def timeline(incident_id: str, session: SessionDep, intake: IntakeDep) -> dict[str, Any]:
    """Every step of the case with who and when, oldest first; ``next_steps`` are the steps
    ``POST /incidents/{id}/events`` accepts now (dispatch goes through an assignment)."""
    incident = _incident(session, incident_id, intake.id_prefix)
    return {"incident": crud.public_id(incident, prefix=intake.id_prefix),
            "status": incident.status, "events": crud_dispatch.timeline(session, incident),
            "next_steps": [s for s in lifecycle.allowed_steps(incident.status)
                           if s != "dispatched"]}


@router.get("/{incident_id}/clocks", responses=_ERRORS)
def clocks(incident_id: str, session: SessionDep, intake: IntakeDep, settings: SettingsDep,
           now: NowDep) -> dict[str, Any]:
    """The case's clocks: due time from the category's limit in working hours (counted from
    立案, or from the report until then), overdue, working hours left; the 15-minute report
    rule and the dispatch and arrival delays, flagged late for urgent cases past
    ``JIEDAO_URGENT_DISPATCH_LIMIT_S`` / ``JIEDAO_URGENT_ARRIVAL_LIMIT_S``."""
    incident = _incident(session, incident_id, intake.id_prefix)
    calendar = WorkingCalendar(start=settings.workday_start, end=settings.workday_end)
    return {"incident": crud.public_id(incident, prefix=intake.id_prefix),
            "status": incident.status,
            **crud_dispatch.clocks(session, incident, calendar=calendar, now=now,
                                   dispatch_limit_s=settings.urgent_dispatch_limit_s,
                                   arrival_limit_s=settings.urgent_arrival_limit_s)}


@router.post("/{incident_id}/backup", status_code=201, responses=_ERRORS)
def request_backup(incident_id: str, body: BackupCreate, session: SessionDep,
                   layer: LayerDep, intake: IntakeDep, actor: ActorDep, now: NowDep
                   ) -> dict[str, Any]:
    """Call for backup (暴力抗法 violent obstruction, or public order): alerts the backup team
    and the police station of the layer."""
    incident = _incident(session, incident_id, intake.id_prefix)
    row = crud_dispatch.request_backup(session, incident, reason=body.reason, note=body.note,
                                       actor=actor or "anonymous", now=now, layer=layer)
    return crud_dispatch.backup_read(session, row, now=now)


@backup_router.post("/{backup_id}/ack", responses=_ERRORS)
def acknowledge(backup_id: int, session: SessionDep, actor: ActorDep, now: NowDep
                ) -> dict[str, Any]:
    """Acknowledge a backup request (stops its clock)."""
    row = crud_dispatch.acknowledge_backup(session, backup_id, actor=actor or "anonymous",
                                           now=now)
    return crud_dispatch.backup_read(session, row, now=now)


@backup_router.get("", responses=_ERRORS)
def list_backup(session: SessionDep, now: NowDep,
                open: Annotated[bool, Query(description="Only unacknowledged requests.")] = False
                ) -> list[dict[str, Any]]:
    """Backup requests, oldest first, with the seconds each has waited."""
    return [crud_dispatch.backup_read(session, r, now=now)
            for r in crud_dispatch.list_backup(session, open_only=open)]
