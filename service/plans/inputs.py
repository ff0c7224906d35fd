"""A plan request's inputs: units on duty and their stations, key-road pieces, hot spots kept,
drawn beats, mandatory tasks, search settings; and the solve that takes them.

Shared by the first plan of a shift and its re-plans (:mod:`service.plans.service`) and by the
plan jobs (:mod:`service.plans.jobs`). Each refusal names the request field to fix.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import time
from typing import Any, Final

import shapely

from geo import crs as geocrs
from geo.beats import BEAT_MODES, BeatError
from geo.patrol import PlanParams
from geo.roadgraph import RoadGraph
from geo.shift import PlanProgress
from geo.shiftplan import HotSpot, ShiftParams, ShiftPlan, Sweep, Task, UnitOnDuty

from ..core.errors import InvalidInputError
from ..hotspots.service import study_area
from ..layers.service import ActiveLayer
from . import solver
from .schemas import PlanCreate, ReplanCreate, UnitIn

__all__ = [
    "DEFAULT_BREAKS",
    "DEFAULT_ROSTER",
    "chosen_hotspots",
    "drawn_beats",
    "key_road_sweeps",
    "shift_params",
    "solve",
    "squad_area",
    "squad_code",
    "tasks_of",
    "units_on_duty",
]

# The standard roster of a squad's shift when the request names no units.
DEFAULT_ROSTER: Final = (("foot", 2), ("ebike", 1), ("car", 1))
# Meal breaks inside each shift (window, minutes).
DEFAULT_BREAKS: Final = {"early": (time(11, 30), time(13, 0)), "late": (time(17, 30), time(19, 0))}


def _seconds(moment: time) -> float:
    return moment.hour * 3600.0 + moment.minute * 60.0 + moment.second


def squad_code(layer: ActiveLayer, text: str) -> str:
    """The code of the squad ``text`` names (code, Chinese or English name, any case)."""
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


def units_on_duty(
    layer: ActiveLayer, squad: str, shift: str, units: Sequence[UnitIn] | None
) -> list[UnitOnDuty]:
    """The units on duty: the request's, or the squad's standard roster (two on foot, an e-bike,
    a car) with the shift's meal break; each starts at its station (default the squad's base)."""
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


def key_road_sweeps(layer: ActiveLayer, squad: str) -> list[Sweep]:
    """The pieces of the squad's key roads, each to be swept."""
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


def chosen_hotspots(
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


def drawn_beats(
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


def solve(
    network: RoadGraph, *, on_progress: PlanProgress | None = None, **options: Any
) -> ShiftPlan:
    """:func:`solver.solve`; a drawn beat the planner cannot use is a 422 naming it."""
    try:
        return solver.solve(network, on_progress=on_progress, **options)
    except BeatError as exc:
        raise InvalidInputError(
            f"beats.{exc.unit_id}",
            exc.message,
            "draw the beat again over the streets the unit should patrol, or remove it.",
        ) from None


def squad_area(layer: ActiveLayer, squad: str) -> shapely.Geometry:
    """The squad's communities as one area, cut into the units' beats."""
    return shapely.union_all(study_area(layer, squad=squad).geometry.to_numpy())


def tasks_of(request: PlanCreate) -> list[Task]:
    """The request's mandatory tasks, in WGS84, their windows in seconds from midnight."""
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


def shift_params(request: PlanCreate | ReplanCreate, stored: Mapping[str, Any]) -> ShiftParams:
    """The planner's settings: the search limits of ``request``, the rest of the first plan's
    ``stored`` request (a re-plan keeps its seed and revisit period)."""
    return ShiftParams(
        revisit_every_s=float(stored.get("revisit_every_hours", 2.0)) * 3600.0,
        sweep_mandatory=bool(stored.get("sweep_key_roads", True)),
        solver=PlanParams(
            time_limit_s=request.time_limit_s,
            solution_limit=request.solution_limit,
            seed=int(stored.get("seed", 0)),
        ),
    )
