"""Patrol plans: from a request and the database to a stored, re-plannable shift plan.

The spatial work is :func:`geo.shiftplan.plan_shift`; this module gathers its inputs (units and
their stations, the hot cells Gi* finds in the squad's recent incidents
(:mod:`service.hotspots.service`),
its key-road pieces, mandatory tasks), stores the result as a JSON document, and re-plans the
rest of a shift from given positions. Times in the document are ISO 8601 in Beijing time, the
squads' clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, time
from typing import Any, Final

import numpy as np
from sqlalchemy.orm import Session

from geo import crs as geocrs
from geo.dosage import DosageParams, PlannedVisit, patrol_dosage
from geo.roadgraph import RoadGraph
from geo.shift import PlanProgress
from geo.shiftplan import SHIFTS, HotSpot, ShiftPlan, Sweep

from ..core.audit import record
from ..core.errors import InvalidInputError, NotFoundError
from ..core.timezones import BEIJING
from ..dispatch import service as dispatch_service
from ..hotspots.service import planning_hotspots
from ..layers.service import ActiveLayer
from . import store
from .document import from_document, iso, plan_document, seconds_of
from .inputs import (
    DEFAULT_BREAKS,
    DEFAULT_ROSTER,
    chosen_hotspots,
    drawn_beats,
    key_road_sweeps,
    shift_params,
    solve,
    squad_area,
    squad_code,
    tasks_of,
    units_on_duty,
)
from .models import PatrolPlanRecord
from .schemas import PlanCreate, ReplanCreate

__all__ = [
    "DEFAULT_BREAKS",
    "DEFAULT_ROSTER",
    "PlanCreate",
    "PlanDraft",
    "ReplanCreate",
    "check_plan_request",
    "create_plan",
    "dosage",
    "draft_plan",
    "draft_replan",
    "get_plan",
    "list_plans",
    "plan_holding",
    "plan_objects",
    "replan",
    "save_plan",
]

# Planned stops whose visit a track can confirm (patrol legs and rides are on the way).
_DOSAGE_KINDS: Final = ("hotspot", "revisit", "task")


def check_plan_request(*, layer: ActiveLayer, request: PlanCreate) -> str:
    """Refuse at once what a plan of ``request`` would refuse only after reading its inputs
    (squad, units and stations, pins, drawn beats, task windows); the squad's code."""
    squad = squad_code(layer, request.squad)
    units = units_on_duty(layer, squad, request.shift, request.units)
    chosen_hotspots([], units, request)
    drawn_beats(request, units, squad_area(layer, squad))
    tasks_of(request)
    return squad


def draft_plan(
    *,
    session: Session,
    layer: ActiveLayer,
    network: RoadGraph,
    request: PlanCreate,
    actor: str,
    on_progress: PlanProgress | None = None,
) -> PlanDraft:
    """Plan a squad's shift, read through ``session`` (read-only is enough), not stored.

    ``on_progress`` is told the share done and the phase as the solve proceeds.
    """
    squad = squad_code(layer, request.squad)
    shift = SHIFTS[request.shift]
    hotspots, source = planning_hotspots(
        session,
        layer,
        squad=squad,
        day=request.date,
        window=shift,
        days=request.hotspot_days,
        top=request.max_hotspots,
    )
    sweeps = key_road_sweeps(layer, squad) if request.sweep_key_roads else []
    stored_request = request.model_dump(mode="json")
    units = units_on_duty(layer, squad, request.shift, request.units)
    hotspots = chosen_hotspots(hotspots, units, request)
    area = squad_area(layer, squad)
    plan = solve(
        network,
        units=units,
        shift=shift,
        hotspots=hotspots,
        sweeps=sweeps,
        tasks=tasks_of(request),
        area=area,
        pins=request.pin_hotspots,
        drawn_beats=drawn_beats(request, units, area),
        traffic=request.shift,
        params=shift_params(request, stored_request),
        on_progress=on_progress,
    )
    document = plan_document(
        plan,
        day=request.date,
        squad=squad,
        squad_name=layer.squad_names.get(squad, squad),
        shift=request.shift,
        hotspots=hotspots,
        sweeps=sweeps,
        layer=layer,
    )
    document["hotspot_source"] = source
    document["drawn_beats"] = sorted(request.beats)
    row = PatrolPlanRecord(
        squad=squad,
        plan_date=request.date.isoformat(),
        shift=request.shift,
        layer_version_id=layer.version_id,
        created_by=actor,
        request=stored_request,
        plan=document,
    )
    detail = {
        "squad": squad,
        "date": row.plan_date,
        "shift": row.shift,
        "objective": plan.objective,
    }
    return PlanDraft(row=row, action="plan", detail=detail)


def create_plan(
    *,
    session: Session,
    layer: ActiveLayer,
    network: RoadGraph,
    request: PlanCreate,
    actor: str,
    store: Session | None = None,
) -> PatrolPlanRecord:
    """Plan a squad's shift and store it, in the caller's transaction.

    Its inputs are read through ``session``, the plan is written through ``store`` (default
    ``session``): with a read-only ``session``, the solve holds no writer lock.
    """
    draft = draft_plan(session=session, layer=layer, network=network, request=request, actor=actor)
    return save_plan(store or session, draft)


def get_plan(*, session: Session, plan_id: int) -> PatrolPlanRecord:
    """One stored plan; :class:`NotFoundError` names the id."""
    row = store.get(session, plan_id)
    if row is None:
        raise NotFoundError(
            "plan_id",
            f"No patrol plan {plan_id}.",
            "list plans with GET /plans or create one with POST /plans.",
        )
    return row


@dataclass(frozen=True)
class PlanDraft:
    """A solved plan not yet stored, and what its audit record says."""

    row: PatrolPlanRecord
    action: str
    detail: dict[str, Any]


def save_plan(writer: Session, draft: PlanDraft) -> PatrolPlanRecord:
    """Store ``draft`` and its audit record in ``writer``'s unit of work."""
    writer.add(draft.row)
    writer.flush()
    record(
        writer,
        actor=draft.row.created_by,
        action=draft.action,
        entity="patrol_plan",
        entity_id=draft.row.id,
        detail=draft.detail,
    )
    return draft.row


def replan(
    *,
    session: Session,
    layer: ActiveLayer,
    network: RoadGraph,
    previous: PatrolPlanRecord,
    request: ReplanCreate,
    actor: str,
    store: Session | None = None,
) -> PatrolPlanRecord:
    """Re-plan the rest of ``previous``'s shift from ``request.now``, keeping what is done.

    Reads through ``session``, writes through ``store`` (default ``session``), as
    :func:`create_plan`.
    """
    draft = draft_replan(
        session=session,
        layer=layer,
        network=network,
        previous=previous,
        request=request,
        actor=actor,
    )
    return save_plan(store or session, draft)


def draft_replan(
    *,
    session: Session,
    layer: ActiveLayer,
    network: RoadGraph,
    previous: PatrolPlanRecord,
    request: ReplanCreate,
    actor: str,
    on_progress: PlanProgress | None = None,
) -> PlanDraft:
    """The re-plan of :func:`replan`, solved through the read-only ``session`` and not stored:
    a caller that must also write (an assignment) solves first and takes the writer lock
    after. ``on_progress`` as in :func:`draft_plan`."""
    stored = dict(previous.request)
    original = PlanCreate.model_validate(stored)
    day = original.date
    now = request.now.astimezone(BEIJING)
    now_s = (now - datetime.combine(day, time(), tzinfo=BEIJING)).total_seconds()
    start_s, end_s = SHIFTS[original.shift]
    if not start_s <= now_s < end_s - 60:
        raise InvalidInputError(
            "now",
            f"{now.isoformat()} is not inside the shift "
            f"{previous.plan['shift_start']} - {previous.plan['shift_end']}.",
            "give a time within the plan's shift.",
        )
    units = units_on_duty(layer, previous.squad, original.shift, original.units)
    known = {u.unit_id for u in units}
    for unit_id in [*request.positions, *request.removed_units]:
        if unit_id not in known:
            raise InvalidInputError(
                "positions",
                f"No unit {unit_id!r} in plan {previous.id}.",
                f"use the plan's unit ids: {', '.join(sorted(known))}.",
            )
    old_units = {u["unit_id"]: u for u in previous.plan["units"]}
    done_ids = (
        set(request.done)
        if request.done is not None
        else {
            s["target_id"]
            for u in old_units.values()
            for s in u["stops"]
            if datetime.fromisoformat(s["departure"]) <= now
        }
    )
    kept: dict[str, list[dict[str, Any]]] = {}
    moved = []
    for unit in units:
        old_stops = old_units.get(unit.unit_id, {}).get("stops", [])
        finished = [
            dict(s, done=True)
            for s in old_stops
            if s["target_id"] in done_ids
            or (s["kind"] == "break" and datetime.fromisoformat(s["start"]) <= now)
        ]
        kept[unit.unit_id] = finished
        if unit.unit_id in request.removed_units:
            continue
        if unit.unit_id in request.positions:
            where = request.positions[unit.unit_id]
            lon, lat = geocrs.to_wgs84([where.lon], [where.lat], source=where.crs)
            here = (float(lon[0]), float(lat[0]))
        else:
            last = [s for s in finished if s["kind"] != "break"]
            here = (last[-1]["lon"], last[-1]["lat"]) if last else unit.start
        window = unit.break_window
        took_break = any(s["kind"] == "break" for s in finished)
        if window is not None and (took_break or max(window[0], now_s) + unit.break_s > window[1]):
            window = None
        elif window is not None:
            window = (max(window[0], now_s), window[1])
        moved.append(
            replace(unit, start=here, break_window=window, break_s=unit.break_s if window else 0.0)
        )
    if not moved:
        raise InvalidInputError(
            "removed_units",
            "Every unit of the plan is removed.",
            "keep at least one unit, or plan the shift anew.",
        )
    chosen, source = planning_hotspots(
        session,
        layer,
        squad=previous.squad,
        day=day,
        window=(now_s, end_s),
        days=original.hotspot_days,
        top=original.max_hotspots,
    )
    # Presence visits are named by their period (spot#HHMM), so the ones done are skipped and
    # the spot keeps its visits in the periods still to come.
    hotspots = chosen
    # A key road swept once per shift and done is left out with its pieces; a busy one is swept
    # again in the periods to come (its done rounds are skipped).
    sweeps = [
        s
        for s in (key_road_sweeps(layer, previous.squad) if original.sweep_key_roads else [])
        if s.road_id not in done_ids
    ]
    tasks = tasks_of(original)
    area = squad_area(layer, previous.squad)
    on_duty = {m.unit_id for m in moved}
    drawn = drawn_beats(original, units, area)
    plan = solve(
        network,
        units=moved,
        shift=(now_s, end_s),
        hotspots=hotspots,
        sweeps=sweeps,
        tasks=tasks,
        area=area,
        pins={s: u for s, u in original.pin_hotspots.items() if u in on_duty},
        drawn_beats={u: outline for u, outline in drawn.items() if u in on_duty},
        skip=frozenset(done_ids),
        traffic=original.shift,
        params=shift_params(request, stored),
        on_progress=on_progress,
    )
    document = plan_document(
        plan,
        day=day,
        squad=previous.squad,
        squad_name=previous.plan.get("squad_name", previous.squad),
        shift=original.shift,
        hotspots=hotspots,
        sweeps=sweeps,
        layer=layer,
        kept=kept,
    )
    document["shift_start"] = previous.plan["shift_start"]
    document["replanned_at"] = now.isoformat()
    document["hotspot_source"] = source
    document["removed_units"] = sorted(request.removed_units)
    document["drawn_beats"] = sorted(original.beats)
    for unit in previous.plan["units"]:
        if unit["unit_id"] in request.removed_units:
            document["units"].append(
                {**unit, "stops": kept[unit["unit_id"]], "path": [], "removed": True}
            )
    row = PatrolPlanRecord(
        squad=previous.squad,
        plan_date=previous.plan_date,
        shift=previous.shift,
        layer_version_id=layer.version_id,
        replan_of=previous.id,
        created_by=actor,
        request=stored,
        plan=document,
    )
    detail = {
        "replan_of": previous.id,
        "now": now.isoformat(),
        "removed_units": sorted(request.removed_units),
    }
    return PlanDraft(row=row, action="replan", detail=detail)


def plan_objects(
    document: Mapping[str, Any], layer: ActiveLayer
) -> tuple[ShiftPlan, list[HotSpot], list[Sweep]]:
    """A stored plan document back as :mod:`geo.shiftplan` objects, for the route map."""
    return from_document(document, pieces=key_road_sweeps(layer, document["squad"]))


def dosage(
    *, session: Session, row: PatrolPlanRecord, params: DosageParams | None = None
) -> dict[str, Any]:
    """Which planned stops the units' tracks actually visited ("close the loop")."""
    params = params or DosageParams()
    day = date.fromisoformat(row.plan_date)
    start = datetime.fromisoformat(row.plan["shift_start"])
    end = datetime.fromisoformat(row.plan["shift_end"])
    units = []
    for unit in row.plan["units"]:
        visits = [
            PlannedVisit(
                s["target_id"],
                s["lon"],
                s["lat"],
                seconds_of(day, s["departure"]) - seconds_of(day, s["start"]),
                start_s=seconds_of(day, s["start"]),
            )
            for s in unit["stops"]
            if s["kind"] in _DOSAGE_KINDS
        ]
        pings = dispatch_service.pings_between(session, unit["unit_id"], start=start, end=end)
        frame = patrol_dosage(
            visits,
            [seconds_of(day, p.at.isoformat()) for p in pings],
            [p.lon for p in pings],
            [p.lat for p in pings],
            params=params,
        )
        stops = [
            {
                "target_id": tid,
                "visited": bool(r.visited),
                "stay_s": round(r.stay_s),
                "arrived": None if np.isnan(r.arrived_s) else iso(day, r.arrived_s),
                "closest_m": None if np.isnan(r.closest_m) else round(r.closest_m, 1),
            }
            for tid, r in frame.iterrows()
        ]
        visited = sum(s["visited"] for s in stops)
        units.append(
            {
                "unit_id": unit["unit_id"],
                "pings": len(pings),
                "planned": len(stops),
                "visited": visited,
                "share": visited / len(stops) if stops else None,
                "stops": stops,
            }
        )
    planned = sum(u["planned"] for u in units)
    return {
        "plan_id": row.id,
        "radius_m": params.radius_m,
        "min_share": params.min_share,
        "share": sum(u["visited"] for u in units) / planned if planned else None,
        "units": units,
    }


def list_plans(
    session: Session, *, squad: str | None, day: str | None, limit: int
) -> list[PatrolPlanRecord]:
    """Stored plans, newest first, of one squad and day when given."""
    return store.newest(session, squad=squad, day=day, limit=limit)


def plan_holding(
    session: Session, *, squad: str, unit_code: str, day: datetime, shift: str
) -> PatrolPlanRecord | None:
    """The newest plan of ``squad`` for ``day``'s ``shift`` (Beijing time) that routes
    ``unit_code`` (and has not removed it), or None."""
    plan = store.newest_for_shift(
        session, squad=squad, day=day.astimezone(BEIJING).date().isoformat(), shift=shift
    )
    if plan is None:
        return None
    on_plan = {u["unit_id"] for u in plan.plan.get("units", []) if not u.get("removed")}
    return plan if unit_code in on_plan else None
