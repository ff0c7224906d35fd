"""Patrol plans: from a request and the database to a stored, re-plannable shift plan.

The spatial work is :func:`geo.shiftplan.plan_shift`; this module gathers its inputs (units and
their stations, the hot cells Gi* finds in the squad's recent incidents
(:mod:`service.hotspots.service`),
its key-road pieces, mandatory tasks), stores the result as a JSON document, and re-plans the
rest of a shift from given positions. Times in the document are ISO 8601 in Beijing time, the
squads' clock.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time
from typing import Any, Final

import numpy as np
import shapely
from sqlalchemy.orm import Session

from geo import crs as geocrs
from geo.beats import BEAT_MODES, BeatError
from geo.dosage import DosageParams, PlannedVisit, patrol_dosage
from geo.patrol import PlanParams
from geo.roadgraph import RoadGraph
from geo.shiftplan import (
    SHIFTS,
    HotSpot,
    ShiftParams,
    ShiftPlan,
    Sweep,
    Task,
    UnitOnDuty,
)

from ..core.audit import record
from ..core.errors import InvalidInputError, NotFoundError
from ..core.timezones import BEIJING
from ..dispatch import service as dispatch_service
from ..hotspots.service import planning_hotspots, study_area
from ..layers.service import ActiveLayer
from . import solver, store
from .document import from_document, iso, plan_document, seconds_of
from .models import PatrolPlanRecord
from .schemas import PlanCreate, ReplanCreate, UnitIn

__all__ = [
    "PlanCreate",
    "PlanDraft",
    "ReplanCreate",
    "create_plan",
    "dosage",
    "draft_replan",
    "get_plan",
    "list_plans",
    "plan_holding",
    "plan_objects",
    "replan",
    "save_plan",
]

# The standard roster of a squad's shift when the request names no units.
DEFAULT_ROSTER: Final = (("foot", 2), ("ebike", 1), ("car", 1))
# Meal breaks inside each shift (window, minutes).
DEFAULT_BREAKS: Final = {"early": (time(11, 30), time(13, 0)), "late": (time(17, 30), time(19, 0))}
# Planned stops whose visit a track can confirm (patrol legs and rides are on the way).
_DOSAGE_KINDS: Final = ("hotspot", "revisit", "task")


def _seconds(moment: time) -> float:
    return moment.hour * 3600.0 + moment.minute * 60.0 + moment.second


def _squad_code(layer: ActiveLayer, text: str) -> str:
    squads = layer.pack.squads
    for row in squads.itertuples(index=False):
        names = {str(row.code), str(row.name_zh), str(row.name_en or "")}
        if text in names or text.lower() in {n.lower() for n in names}:
            return str(row.code)
    known = ", ".join(f"{r.code} ({r.name_zh})" for r in squads.itertuples(index=False))
    raise InvalidInputError(
        "squad", f"No squad {text!r} in layer {layer.label}.", f"use one of {known}."
    )


def _station(layer: ActiveLayer, code: str, field: str) -> tuple[float, float]:
    stations = layer.pack.stations
    match = stations[stations["code"].astype(str) == code]
    if match.empty:
        known = ", ".join(map(str, stations["code"]))
        raise InvalidInputError(
            field, f"No station {code!r} in layer {layer.label}.", f"use one of {known}."
        )
    point = match.geometry.iloc[0]
    return float(point.x), float(point.y)


def _units(
    layer: ActiveLayer, squad: str, shift: str, units: Sequence[UnitIn] | None
) -> list[UnitOnDuty]:
    base_code = layer.pack.squads.set_index("code")["base_station"].get(squad)
    if units is None:
        units = [
            UnitIn(unit_id=f"{squad}-{mode}-{k + 1}", mode=mode)
            for mode, count in DEFAULT_ROSTER
            for k in range(count)
        ]
        units = [
            u.model_copy(
                update={
                    "break_start": DEFAULT_BREAKS[shift][0],
                    "break_end": DEFAULT_BREAKS[shift][1],
                }
            )
            for u in units
        ]
    result = []
    for i, unit in enumerate(units):
        start_code = unit.start_station or base_code
        if not start_code:
            raise InvalidInputError(
                f"units[{i}].start_station",
                f"Squad {squad} has no base station to start from.",
                "name the unit's start_station.",
            )
        start = _station(layer, str(start_code), f"units[{i}].start_station")
        end = (
            _station(layer, unit.end_station, f"units[{i}].end_station")
            if unit.end_station
            else start
        )
        window = None
        if unit.break_start is not None and unit.break_end is not None and unit.break_minutes:
            window = (_seconds(unit.break_start), _seconds(unit.break_end))
        result.append(
            UnitOnDuty(
                unit.unit_id,
                unit.mode,
                start,
                end,
                break_window=window,
                break_s=unit.break_minutes * 60.0 if window else 0.0,
            )
        )
    return result


def _sweeps(layer: ActiveLayer, squad: str) -> list[Sweep]:
    roads = layer.pack.roads
    if roads is None:
        return []
    keys = layer.pack.key_roads
    names = dict(zip(keys["road_id"].astype(str), keys["name_zh"].astype(str), strict=True))
    mine = set(keys[keys["squad"].astype(str) == squad]["road_id"].astype(str))
    return [
        Sweep(
            str(r.road_id),
            str(r.key_road_id),
            names.get(str(r.key_road_id), ""),
            r.geometry,
            bool(r.oneway),
        )
        for r in roads.itertuples(index=False)
        if str(r.key_road_id) in mine
    ]


def _chosen(
    hotspots: Sequence[HotSpot], units: Sequence[UnitOnDuty], request: PlanCreate
) -> list[HotSpot]:
    """The hot spots less the excluded ones; a pin must name a unit on duty."""
    on_duty = {u.unit_id for u in units}
    for spot, unit in request.pin_hotspots.items():
        if unit not in on_duty:
            raise InvalidInputError(
                f"pin_hotspots.{spot}",
                f"Unit {unit!r} is not on duty in this plan.",
                f"pin the spot to one of {', '.join(sorted(on_duty))}.",
            )
    excluded = set(request.exclude_hotspots)
    return [h for h in hotspots if h.spot_id not in excluded]


def _drawn_beats(
    request: PlanCreate, units: Sequence[UnitOnDuty], area: shapely.Geometry
) -> dict[str, shapely.Geometry]:
    """The beats drawn by hand, as WGS84 polygons: each for a foot or e-bike unit on duty, a
    simple outline over the squad's area."""
    modes = {u.unit_id: u.mode for u in units}
    beats: dict[str, shapely.Geometry] = {}
    for unit_id, beat in request.beats.items():
        field = f"beats.{unit_id}"
        if modes.get(unit_id) not in BEAT_MODES:
            walkers = sorted(u for u, m in modes.items() if m in BEAT_MODES)
            raise InvalidInputError(
                field,
                f"Unit {unit_id!r} is not a foot or e-bike unit on duty in this plan.",
                f"draw beats for {', '.join(walkers) or 'foot or e-bike units'} "
                "(cars cover the whole area).",
            )
        corners = []
        for point in beat.outline:
            lon, lat = geocrs.to_wgs84([point.lon], [point.lat], source=point.crs)
            corners.append((float(lon[0]), float(lat[0])))
        outline = shapely.Polygon(corners)
        if not outline.is_valid or outline.area == 0:
            raise InvalidInputError(
                field,
                f"The beat drawn for {unit_id} is not a simple outline: "
                f"{shapely.is_valid_reason(outline)}.",
                "draw it again, its edges not crossing each other.",
            )
        if not outline.intersects(area):
            raise InvalidInputError(
                field,
                f"The beat drawn for {unit_id} lies outside the squad's area.",
                "draw it over the squad's communities.",
            )
        beats[unit_id] = outline
    return beats


def _solve(network: RoadGraph, **options: Any) -> ShiftPlan:
    """:func:`solver.solve`; a drawn beat the planner cannot use is a 422 naming it."""
    try:
        return solver.solve(network, **options)
    except BeatError as exc:
        raise InvalidInputError(
            f"beats.{exc.unit_id}",
            exc.message,
            "draw the beat again over the streets the unit should patrol, or remove it.",
        ) from None


def _area(layer: ActiveLayer, squad: str) -> shapely.Geometry:
    """The squad's communities as one area, cut into the units' beats."""
    return shapely.union_all(study_area(layer, squad=squad).geometry.to_numpy())


def _tasks(request: PlanCreate) -> list[Task]:
    tasks = []
    for i, task in enumerate(request.tasks):
        lon, lat = geocrs.to_wgs84(
            [task.location.lon], [task.location.lat], source=task.location.crs
        )
        windows: tuple[tuple[float, float], ...] = ()
        if task.window_start is not None or task.window_end is not None:
            lo = _seconds(task.window_start) if task.window_start else 0.0
            hi = _seconds(task.window_end) if task.window_end else 24 * 3600.0
            if lo > hi:
                raise InvalidInputError(
                    f"tasks[{i}].window_end",
                    "The window ends before it starts.",
                    "give window_start before window_end.",
                )
            windows = ((lo, hi),)
        tasks.append(
            Task(
                task.task_id,
                float(lon[0]),
                float(lat[0]),
                dwell_s=task.dwell_minutes * 60.0,
                windows=windows,
                label=task.note,
            )
        )
    return tasks


def _params(request: PlanCreate | ReplanCreate, stored: Mapping[str, Any]) -> ShiftParams:
    return ShiftParams(
        revisit_every_s=float(stored.get("revisit_every_hours", 2.0)) * 3600.0,
        sweep_mandatory=bool(stored.get("sweep_key_roads", True)),
        solver=PlanParams(
            time_limit_s=request.time_limit_s,
            solution_limit=request.solution_limit,
            seed=int(stored.get("seed", 0)),
        ),
    )


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
    squad = _squad_code(layer, request.squad)
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
    sweeps = _sweeps(layer, squad) if request.sweep_key_roads else []
    stored_request = request.model_dump(mode="json")
    units = _units(layer, squad, request.shift, request.units)
    hotspots = _chosen(hotspots, units, request)
    area = _area(layer, squad)
    plan = _solve(
        network,
        units=units,
        shift=shift,
        hotspots=hotspots,
        sweeps=sweeps,
        tasks=_tasks(request),
        area=area,
        pins=request.pin_hotspots,
        drawn_beats=_drawn_beats(request, units, area),
        traffic=request.shift,
        params=_params(request, stored_request),
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
    return save_plan(store or session, PlanDraft(row=row, action="plan", detail=detail))


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
) -> PlanDraft:
    """The re-plan of :func:`replan`, solved through the read-only ``session`` and not stored:
    a caller that must also write (an assignment) solves first and takes the writer lock
    after."""
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
    units = _units(layer, previous.squad, original.shift, original.units)
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
        for s in (_sweeps(layer, previous.squad) if original.sweep_key_roads else [])
        if s.road_id not in done_ids
    ]
    tasks = _tasks(original)
    area = _area(layer, previous.squad)
    on_duty = {m.unit_id for m in moved}
    drawn = _drawn_beats(original, units, area)
    plan = _solve(
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
        params=_params(request, stored),
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
    return from_document(document, pieces=_sweeps(layer, document["squad"]))


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
