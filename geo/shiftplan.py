"""A squad's shift on the road network: targets from hot spots, key roads and tasks, solved.

:mod:`geo.patrol` solves an abstract team orienteering problem over a travel-time matrix; this
module is the field side. It places units, hot spots, mandatory tasks and key-road sweeps on a
:class:`~geo.roadgraph.RoadGraph`, builds one travel-time matrix per mode, adds the Koper-curve
revisits of the top hot spots, solves, and turns the answer back into stops with clock times,
path geometry along the streets and the key-road coverage.

A key-road sweep is a location with an entry and an exit: reaching it means arriving at one end
of the road piece, and leaving it means leaving from the other end, the piece itself being
driven (or walked) in between. Its reverse is an alternative location, closed to vehicles on a
one-way piece. Times are seconds from midnight of the plan's day.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Final

import numpy as np
import shapely
from numpy.typing import NDArray

from . import crs as geocrs
from .patrol import (
    InfeasiblePlanError,
    PatrolPlan,
    PatrolProblem,
    PlanParams,
    Target,
    Unit,
    plan_patrols,
)
from .roadgraph import MODES, RoadGraph, route, travel_time_matrix

__all__ = [
    "SHIFTS",
    "HotSpot",
    "PlannedStop",
    "ShiftParams",
    "ShiftPlan",
    "Sweep",
    "Task",
    "UnitOnDuty",
    "UnitPlan",
    "plan_shift",
]

HOUR: Final = 3600.0
# Default of ShiftParams.balance, measured on bench/field.py.
FIELD_SPAN_COST: Final = 2
# The plan's two shifts, seconds from midnight.
SHIFTS: Final[dict[str, tuple[float, float]]] = {
    "early": (7 * HOUR, 15 * HOUR),
    "late": (15 * HOUR, 23 * HOUR),
}
# A piece of key road counts as swept when this share of it lies under the day's paths.
_COVERED_SHARE: Final = 0.9
_PATH_TOLERANCE_M: Final = 3.0


@dataclass(frozen=True)
class ShiftParams:
    """How a shift is planned.

    Parameters
    ----------
    dwell_s
        Default stay at a hot spot: 12 minutes, inside the Koper curve's 10-15.
    revisit_every_s
        The top hot spots are to be visited once in every such period (Koper: every 2 hours).
    revisit_top
        How many of the highest-priority hot spots get revisits.
    sweep_mandatory
        Key-road sweeps must be done (an unreachable one is an error); else they carry
        ``sweep_priority`` and may be dropped.
    sweep_priority
        Prize of an optional sweep.
    balance
        Cost per second of the latest return to base, beside travel seconds: patrols want every
        unit out, so once the prizes are settled the work is spread over the units (0 = off).
    solver
        The OR-Tools search settings.
    """

    dwell_s: float = 12 * 60.0
    revisit_every_s: float = 2 * HOUR
    revisit_top: int = 1
    sweep_mandatory: bool = True
    sweep_priority: float = 10.0
    balance: int = FIELD_SPAN_COST
    solver: PlanParams = field(default_factory=lambda: PlanParams(time_limit_s=10.0))

    def __post_init__(self) -> None:
        if not (0 < self.dwell_s <= 4 * HOUR):
            msg = f"Expected dwell_s in (0, 14400] seconds, got {self.dwell_s!r}."
            raise ValueError(msg)
        if not self.revisit_every_s > 0:
            msg = f"Expected revisit_every_s > 0, got {self.revisit_every_s!r}."
            raise ValueError(msg)
        if self.revisit_top < 0 or self.sweep_priority < 0 or self.balance < 0:
            msg = "Expected revisit_top, sweep_priority and balance >= 0."
            raise ValueError(msg)


@dataclass(frozen=True)
class UnitOnDuty:
    """A unit on a shift: its mode, where it starts and ends (lon, lat), its meal break."""

    unit_id: str
    mode: str
    start: tuple[float, float]
    end: tuple[float, float]
    break_window: tuple[float, float] | None = None
    break_s: float = 0.0

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            msg = f"Unit {self.unit_id!r}: mode {self.mode!r} unknown; use one of {MODES}."
            raise ValueError(msg)


@dataclass(frozen=True)
class HotSpot:
    """A place to patrol: priority (the prize), when the problem occurs, how long to stay."""

    spot_id: str
    lon: float
    lat: float
    priority: float
    windows: tuple[tuple[float, float], ...] = ()
    dwell_s: float | None = None
    label: str = ""


@dataclass(frozen=True)
class Task:
    """A mandatory visit (a follow-up check, a scheduled inspection) inside its windows."""

    task_id: str
    lon: float
    lat: float
    dwell_s: float
    windows: tuple[tuple[float, float], ...] = ()
    label: str = ""


@dataclass(frozen=True)
class Sweep:
    """A key-road piece to travel at least once in the shift."""

    sweep_id: str
    road_id: str
    name: str
    geometry: shapely.LineString
    oneway: bool = False


@dataclass(frozen=True)
class PlannedStop:
    """One stop of a unit's route, with clock times in seconds from midnight."""

    target_id: str
    kind: str  # "hotspot", "revisit", "task", "sweep" or "break"
    label: str
    lon: float
    lat: float
    arrival_s: float
    start_s: float
    departure_s: float
    priority: float


@dataclass(frozen=True)
class UnitPlan:
    """A unit's shift: stops, the path along the streets, and the time and distance split."""

    unit_id: str
    mode: str
    stops: tuple[PlannedStop, ...]
    path: shapely.LineString
    distance_m: float
    travel_s: float
    dwell_s: float
    wait_s: float
    priority: float


@dataclass(frozen=True)
class ShiftPlan:
    """The squad's shift: unit plans, key-road coverage, targets left out and why."""

    shift: tuple[float, float]
    units: tuple[UnitPlan, ...]
    coverage: dict[str, float]  # sweep_id -> share of the piece under the day's paths
    dropped: tuple[tuple[str, str, str], ...]  # (target_id, kind, reason)
    objective: float
    solver_status: str
    wall_time_s: float

    @property
    def covered_share(self) -> float:
        """Share of key-road pieces swept (1.0 when there are none)."""
        if not self.coverage:
            return 1.0
        return sum(v >= _COVERED_SHARE for v in self.coverage.values()) / len(self.coverage)


@dataclass(frozen=True)
class _Location:
    entry: tuple[float, float]
    exit: tuple[float, float]
    sweep: int = -1  # index into sweeps when the location is a sweep
    reverse: bool = False


def _endpoints(line: shapely.LineString) -> tuple[tuple[float, float], tuple[float, float]]:
    coords = shapely.get_coordinates(line)
    return (float(coords[0, 0]), float(coords[0, 1])), (float(coords[-1, 0]), float(coords[-1, 1]))


def _windows(
    own: tuple[tuple[float, float], ...], shift: tuple[float, float]
) -> tuple[tuple[float, float], ...]:
    """A target's windows clipped to the shift (empty means any time in the shift)."""
    clipped = [(max(lo, shift[0]), min(hi, shift[1])) for lo, hi in own]
    return tuple((lo, hi) for lo, hi in clipped if lo <= hi) if own else ()


def _revisit_windows(
    own: tuple[tuple[float, float], ...], shift: tuple[float, float], every: float
) -> list[tuple[tuple[float, float], ...]]:
    """One window set per revisit period, each the period intersected with the spot's windows."""
    periods = []
    start = shift[0]
    while start < shift[1] - 1.0:
        period = (start, min(start + every, shift[1]))
        parts = own or (shift,)
        inside = tuple(
            (max(lo, period[0]), min(hi, period[1]))
            for lo, hi in parts
            if max(lo, period[0]) < min(hi, period[1])
        )
        if inside:
            periods.append(inside)
        start += every
    return periods


def _matrix(
    graph: RoadGraph,
    locations: Sequence[_Location],
    sweeps: Sequence[Sweep],
    mode: str,
    shift: str | float,
) -> NDArray[np.float64]:
    exits = np.asarray([loc.exit for loc in locations])
    entries = np.asarray([loc.entry for loc in locations])
    out_points = graph.snap(exits[:, 0], exits[:, 1], mode=mode)
    in_points = graph.snap(entries[:, 0], entries[:, 1], mode=mode)
    matrix = travel_time_matrix(graph, out_points, in_points, mode=mode, shift=shift)
    # Travelling the piece itself is part of reaching a sweep location.
    along = np.diag(travel_time_matrix(graph, in_points, out_points, mode=mode, shift=shift))
    is_sweep = np.asarray([loc.sweep >= 0 for loc in locations])
    matrix[:, is_sweep] += along[is_sweep]
    oneway_reverse = np.asarray([loc.reverse and sweeps[loc.sweep].oneway for loc in locations])
    if mode != "foot":
        matrix[:, oneway_reverse] = np.inf
    np.fill_diagonal(matrix, 0.0)
    return matrix


def plan_shift(
    graph: RoadGraph,
    *,
    units: Sequence[UnitOnDuty],
    shift: tuple[float, float],
    hotspots: Sequence[HotSpot] = (),
    sweeps: Sequence[Sweep] = (),
    tasks: Sequence[Task] = (),
    traffic: str | float = "early",
    params: ShiftParams | None = None,
) -> ShiftPlan:
    """Plan one squad's shift on ``graph``.

    Parameters
    ----------
    graph
        The road network (e.g. ``read_lines(pack/roads.geojson)``).
    units
        Units on duty; at least one.
    shift
        (start, end) in seconds from midnight, e.g. ``SHIFTS["late"]``.
    hotspots, sweeps, tasks
        Optional hot spots, key-road pieces to sweep, and mandatory tasks.
    traffic
        Shift name or factor for the road speeds (``graph.speeds.shift_factors``).
    params
        Dwell, revisits, sweep rule and solver settings.

    Raises
    ------
    InfeasiblePlanError
        No unit on duty, or a mandatory task or sweep no unit can do, named.
    """
    params = params or ShiftParams()
    if not units:
        msg = "No unit on duty: give at least one unit for the shift."
        raise InfeasiblePlanError(msg)
    locations: list[_Location] = []
    targets: list[Target] = []
    labels: dict[str, tuple[str, str, float, float]] = {}  # id -> kind, label, lon, lat

    def add_point(lon: float, lat: float) -> int:
        locations.append(_Location(entry=(lon, lat), exit=(lon, lat)))
        return len(locations) - 1

    unit_rows = []
    for u in units:
        start, end = add_point(*u.start), add_point(*u.end)
        unit_rows.append(
            Unit(
                unit_id=u.unit_id,
                start=start,
                end=end,
                shift_start_s=shift[0],
                shift_end_s=shift[1],
                matrix_key=u.mode,
                break_window=u.break_window,
                break_s=u.break_s,
            )
        )
    ranked = sorted(hotspots, key=lambda h: -h.priority)
    for rank, spot in enumerate(ranked):
        where = add_point(spot.lon, spot.lat)
        dwell = spot.dwell_s if spot.dwell_s is not None else params.dwell_s
        windows = _windows(spot.windows, shift)
        if rank < params.revisit_top:
            # Koper: a top spot is worth a stop in every period, so each period is a target.
            for k, period in enumerate(
                _revisit_windows(spot.windows, shift, params.revisit_every_s)
            ):
                tid = f"{spot.spot_id}#{k + 1}"
                targets.append(
                    Target(
                        tid,
                        where,
                        dwell_s=dwell,
                        priority=spot.priority,
                        windows=period,
                        kind="revisit",
                    )
                )
                labels[tid] = ("revisit", spot.label, spot.lon, spot.lat)
        else:
            targets.append(
                Target(
                    spot.spot_id,
                    where,
                    dwell_s=dwell,
                    priority=spot.priority,
                    windows=windows,
                    kind="hotspot",
                )
            )
            labels[spot.spot_id] = ("hotspot", spot.label, spot.lon, spot.lat)
    for task in tasks:
        where = add_point(task.lon, task.lat)
        targets.append(
            Target(
                task.task_id,
                where,
                dwell_s=task.dwell_s,
                priority=0.0,
                windows=_windows(task.windows, shift),
                mandatory=True,
                kind="task",
            )
        )
        labels[task.task_id] = ("task", task.label, task.lon, task.lat)
    for i, sweep in enumerate(sweeps):
        first, last = _endpoints(sweep.geometry)
        locations.append(_Location(entry=first, exit=last, sweep=i))
        locations.append(_Location(entry=last, exit=first, sweep=i, reverse=True))
        mid = sweep.geometry.interpolate(0.5, normalized=True)
        targets.append(
            Target(
                sweep.sweep_id,
                len(locations) - 2,
                priority=params.sweep_priority,
                mandatory=params.sweep_mandatory,
                kind="sweep",
                alternatives=(len(locations) - 1,),
            )
        )
        labels[sweep.sweep_id] = ("sweep", sweep.name, float(mid.x), float(mid.y))

    modes = sorted({u.mode for u in units})
    travel = {mode: _matrix(graph, locations, sweeps, mode, traffic) for mode in modes}
    problem = PatrolProblem(tuple(unit_rows), tuple(targets), travel)
    solver = replace(params.solver, knobs=replace(params.solver.knobs, span_cost=params.balance))
    plan = plan_patrols(problem, params=solver)
    return _assemble(graph, plan, units, unit_rows, locations, sweeps, labels, shift, traffic)


def _assemble(
    graph: RoadGraph,
    plan: PatrolPlan,
    units: Sequence[UnitOnDuty],
    unit_rows: Sequence[Unit],
    locations: Sequence[_Location],
    sweeps: Sequence[Sweep],
    labels: dict[str, tuple[str, str, float, float]],
    shift: tuple[float, float],
    traffic: str | float,
) -> ShiftPlan:
    unit_plans = []
    for u, row in zip(units, unit_rows, strict=True):
        r = plan.route(u.unit_id)
        stops: list[PlannedStop] = []
        legs: list[NDArray[np.float64]] = []
        distance = 0.0
        here = locations[row.start]
        for visit in (*r.visits, None):
            # None closes the route: the way back to the unit's end station.
            target = locations[visit.location if visit is not None else row.end]
            if visit is not None and visit.kind == "break":
                stops.append(
                    PlannedStop(
                        visit.target_id,
                        "break",
                        "meal break",
                        here.exit[0],
                        here.exit[1],
                        visit.arrival_s,
                        visit.start_s,
                        visit.departure_s,
                        0.0,
                    )
                )
                continue
            leg = _leg(graph, here.exit, target.entry, u.mode, traffic)
            if leg is not None:
                legs.append(shapely.get_coordinates(leg[0]))
                distance += leg[1]
            if target.sweep >= 0:
                piece = sweeps[target.sweep].geometry
                coords = shapely.get_coordinates(piece)
                legs.append(coords[::-1] if target.reverse else coords)
                distance += _metric_length(piece)
            if visit is not None:
                kind, label, lon, lat = labels[visit.target_id]
                stops.append(
                    PlannedStop(
                        visit.target_id,
                        kind,
                        label,
                        lon,
                        lat,
                        visit.arrival_s,
                        visit.start_s,
                        visit.departure_s,
                        visit.prize,
                    )
                )
            here = target
        path = (
            shapely.LineString(np.concatenate(legs))
            if legs and len(np.concatenate(legs)) >= 2
            else shapely.LineString()
        )
        unit_plans.append(
            UnitPlan(
                u.unit_id,
                u.mode,
                tuple(stops),
                path,
                distance,
                r.travel_s,
                r.dwell_s,
                r.wait_s,
                r.prize,
            )
        )
    dropped = tuple((d.target_id, labels[d.target_id][0], d.reason) for d in plan.dropped)
    return ShiftPlan(
        shift=shift,
        units=tuple(unit_plans),
        coverage=_coverage([p.path for p in unit_plans], sweeps),
        dropped=dropped,
        objective=plan.objective,
        solver_status=plan.status,
        wall_time_s=plan.wall_time_s,
    )


def _leg(
    graph: RoadGraph,
    origin: tuple[float, float],
    destination: tuple[float, float],
    mode: str,
    traffic: str | float,
) -> tuple[shapely.LineString, float] | None:
    if origin == destination:
        return None
    path = route(graph, origin, destination, mode=mode, shift=traffic)
    return path.geometry, path.length_m


def _metric_length(line: shapely.LineString) -> float:
    coords = shapely.get_coordinates(line)
    x, y = geocrs.to_metric(coords[:, 0], coords[:, 1])
    return float(np.hypot(np.diff(x), np.diff(y)).sum())


def _to_metric(geom: shapely.Geometry) -> shapely.Geometry:
    return shapely.transform(geom, lambda c: np.column_stack(geocrs.to_metric(c[:, 0], c[:, 1])))


def _coverage(paths: Sequence[shapely.LineString], sweeps: Sequence[Sweep]) -> dict[str, float]:
    """Share of each key-road piece that lies under some unit's path (within 3 m)."""
    drawn = [p for p in paths if not p.is_empty]
    if not sweeps:
        return {}
    if not drawn:
        return {s.sweep_id: 0.0 for s in sweeps}
    cover = shapely.buffer(_to_metric(shapely.union_all(drawn)), _PATH_TOLERANCE_M)
    shares = {}
    for sweep in sweeps:
        piece = _to_metric(sweep.geometry)
        length = float(shapely.length(piece))
        shares[sweep.sweep_id] = (
            float(shapely.length(shapely.intersection(piece, cover)) / length)
            if length > 0
            else 1.0
        )
    return shares
