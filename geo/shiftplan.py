"""A squad's shift on the road network: every unit out for the whole shift, hot spots every period.

:mod:`geo.patrol` solves an abstract team orienteering problem over a travel-time matrix; this
module is the field side. It places units, hot spots, mandatory tasks and key-road sweeps on a
:class:`~geo.roadgraph.RoadGraph` and builds a plan a squad leader can sign:

* each foot and e-bike unit gets a beat (:mod:`geo.beats`) and the hot spots in it, shared with
  the cars, which cover the whole area and the key roads; a foot unit whose beat is a long walk
  from its station is driven there and collected at the end;
* each hot spot is visited, for a Koper stay, in every period it is hot
  (:mod:`geo.shifttargets`), never twice in a row by the same unit; the busiest key roads are
  swept every period, the others once per shift;
* the search (:mod:`geo.patrol`) places the visits; the time left goes to patrol legs along the
  beat (:mod:`geo.patrollegs`), so units patrol until they return at the shift's end;
* the answer comes back as stops with clock times, paths along the streets, key-road coverage
  and the figures of :mod:`geo.planmetrics`.

A key-road sweep is a location with an entry and an exit: reaching it means arriving at one end
of the road piece, and leaving it means leaving from the other end, the piece itself being
driven (or walked) in between. Its reverse is an alternative location, closed to vehicles on a
one-way piece. Times are seconds from midnight of the plan's day.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass, field, replace
from typing import Final

import numpy as np
import shapely
from numpy.typing import NDArray

from . import crs as geocrs
from .beats import Beat, BeatParams, density, draw_beats, street_points
from .patrol import (
    InfeasiblePlanError,
    PatrolProblem,
    PlanParams,
    Target,
    Unit,
    plan_patrols,
)
from .patrollegs import PatrolLegParams, Waypoints, add_patrol_legs
from .planmetrics import PlanMetrics
from .roadgraph import MODES, RoadGraph
from .shift import (
    HOUR,
    PLAN_PHASES,
    SHIFTS,
    HotSpot,
    PhaseProgress,
    PlannedStop,
    PlanProgress,
    ShiftPlan,
    Sweep,
    Task,
    UnitOnDuty,
    UnitPlan,
)
from .shiftroutes import Location, assemble, endpoints, location_matrix
from .shifttargets import busiest_sweeps, hot_periods, period_id, shift_periods, visits_that_fit

__all__ = [
    "PLAN_PHASES",
    "SHIFTS",
    "Beat",
    "HotSpot",
    "PlanMetrics",
    "PlanProgress",
    "PlannedStop",
    "ShiftParams",
    "ShiftPlan",
    "Sweep",
    "Task",
    "UnitOnDuty",
    "UnitPlan",
    "plan_shift",
]

# Default of ShiftParams.balance. Patrol legs now keep every unit out for the whole shift, and a
# span cost beside the meal breaks made each descent 20 times slower (bench/field.py, west late:
# 10.8 s against 0.6 s for the search).
FIELD_SPAN_COST: Final = 0
# Patrol waypoints drawn per beat (twice as many over a car's whole area).
_WAYPOINTS: Final = 24


@dataclass(frozen=True)
class ShiftParams:
    """How a shift is planned.

    Parameters
    ----------
    dwell_s
        Default stay at a hot spot: 12 minutes, inside the Koper curve's 10-15.
    revisit_every_s
        Length of a presence period: a hot spot is visited once in every period it is hot
        (Koper: every 1-2 hours).
    hot_share
        A spot is hot in a period holding this share of an even spread of its incidents.
    presence_share
        Share of the units' working time that presence visits may fill; the spots beyond it (the
        lowest ranked) are left to the patrol legs, and said so.
    busy_roads
        How many key-road pieces, those with the most hot-spot weight near them, are swept in
        every period rather than once per shift.
    sweep_mandatory
        Key-road sweeps must be done (an unreachable one is an error); else they carry
        ``sweep_priority`` and may be dropped.
    sweep_priority
        Prize of an optional sweep (a busy piece's sweep in a period counts twice that).
    dropoff_walk_s
        A foot unit whose walk between station and beat is longer than this is driven.
    travel_weights
        Weight of a unit's travel seconds, per mode, when the search breaks ties between plans
        of equal prize: the hot spots of a beat go to its foot patrol first, then to the
        e-bike, and the car keeps its time for the rest of the area and the key roads.
    min_targets, short_target_cost_s
        Each unit should have at least ``min_targets`` targets (fewer when there are not so
        many); each one short costs as much as this much more travel in the search.
    balance
        Cost per second of the latest return to base, beside travel seconds, to spread the
        targets over the units (0 = off, the default: the patrol legs fill every shift).
    beats, legs
        How beats are drawn and gaps filled with patrol legs.
    solver
        The OR-Tools search settings; its seed also seeds the beats and the legs.
    """

    dwell_s: float = 12 * 60.0
    revisit_every_s: float = 2 * HOUR
    hot_share: float = 0.5
    presence_share: float = 0.55
    busy_roads: int = 2
    sweep_mandatory: bool = True
    sweep_priority: float = 10.0
    dropoff_walk_s: float = 15 * 60.0
    travel_weights: Mapping[str, float] = field(
        default_factory=lambda: {"foot": 0.3, "ebike": 0.6, "car": 1.0}
    )
    min_targets: int = 4
    short_target_cost_s: float = 20 * 60.0
    balance: int = FIELD_SPAN_COST
    beats: BeatParams = field(default_factory=BeatParams)
    legs: PatrolLegParams = field(default_factory=PatrolLegParams)
    solver: PlanParams = field(default_factory=lambda: PlanParams(time_limit_s=10.0))

    def __post_init__(self) -> None:
        if not (0 < self.dwell_s <= 4 * HOUR):
            msg = f"Expected dwell_s in (0, 14400] seconds, got {self.dwell_s!r}."
            raise ValueError(msg)
        if not self.revisit_every_s > 0:
            msg = f"Expected revisit_every_s > 0, got {self.revisit_every_s!r}."
            raise ValueError(msg)
        if not (0 <= self.hot_share <= 1 and 0 <= self.presence_share <= 1):
            msg = "Expected hot_share and presence_share in [0, 1]."
            raise ValueError(msg)
        if self.busy_roads < 0 or self.sweep_priority < 0 or self.balance < 0:
            msg = "Expected busy_roads, sweep_priority and balance >= 0."
            raise ValueError(msg)
        if set(self.travel_weights) != set(MODES) or not all(
            0 <= w <= 10 for w in self.travel_weights.values()
        ):
            msg = f"Expected travel_weights in [0, 10] for each of {MODES}."
            raise ValueError(msg)
        if self.min_targets < 0 or self.short_target_cost_s < 0:
            msg = "Expected min_targets and short_target_cost_s >= 0."
            raise ValueError(msg)
        if not self.dropoff_walk_s > 0:
            msg = f"Expected dropoff_walk_s > 0, got {self.dropoff_walk_s!r}."
            raise ValueError(msg)


def _windows(
    own: tuple[tuple[float, float], ...], shift: tuple[float, float]
) -> tuple[tuple[float, float], ...]:
    """A target's windows clipped to the shift (empty means any time in the shift)."""
    clipped = [(max(lo, shift[0]), min(hi, shift[1])) for lo, hi in own]
    return tuple((lo, hi) for lo, hi in clipped if lo <= hi) if own else ()


def _clock(seconds: float) -> str:
    minutes = round(seconds / 60.0)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _check_meals(units: Sequence[UnitOnDuty], shift: tuple[float, float]) -> None:
    for u in units:
        if u.break_window is None:
            continue
        lo, hi = u.break_window
        if lo < shift[0] or hi > shift[1] or hi - lo < u.break_s:
            msg = (
                f"Unit {u.unit_id!r}: its meal window {_clock(lo)}-{_clock(hi)} does not hold "
                f"its {u.break_s / 60:.0f}-minute meal inside the shift "
                f"{_clock(shift[0])}-{_clock(shift[1])}; move the window inside the shift."
            )
            raise InfeasiblePlanError(msg)


def _default_area(
    units: Sequence[UnitOnDuty], spots: Sequence[HotSpot], sweeps: Sequence[Sweep]
) -> shapely.Geometry:
    """Without the squad's area: the hull of its stations, hot spots and key roads, 300 m wide."""
    parts: list[shapely.Geometry] = [shapely.Point(u.start) for u in units]
    parts += [shapely.Point(h.lon, h.lat) for h in spots]
    parts += [s.geometry for s in sweeps]
    hull = geocrs.geometry_to_metric(shapely.convex_hull(shapely.union_all(parts)))
    return geocrs.geometry_from_metric(shapely.buffer(hull, 300.0))


def _roads(pieces: Sequence[Sweep]) -> list[Sweep]:
    """The key-road pieces joined into one sweep per road (more where a road has gaps)."""
    groups: dict[tuple[str, bool], list[Sweep]] = {}
    for piece in pieces:
        groups.setdefault((piece.road_id, piece.oneway), []).append(piece)
    # A road with both one-way and two-way pieces names its one-way sweeps apart.
    mixed = len(groups) != len({road for road, _ in groups})
    roads = []
    for (road_id, oneway), members in groups.items():
        merged = shapely.line_merge(
            shapely.union_all([m.geometry for m in members]), directed=oneway
        )
        parts = list(getattr(merged, "geoms", [merged]))
        tag = "-oneway" if mixed and oneway else ""
        for k, part in enumerate(parts):
            sweep_id = f"{road_id}{tag}" + (f"~{k + 1}" if len(parts) > 1 else "")
            roads.append(Sweep(sweep_id, road_id, members[0].name, part, oneway))
    return roads


def _visitors(owners: Sequence[str], vehicles: tuple[str, ...]) -> tuple[str, ...]:
    """Who may visit a spot: the vehicles and the foot units whose beats hold it (``()``, any
    unit, when there are neither)."""
    return (*(o for o in owners if o not in vehicles), *vehicles)


def plan_shift(
    graph: RoadGraph,
    *,
    units: Sequence[UnitOnDuty],
    shift: tuple[float, float],
    hotspots: Sequence[HotSpot] = (),
    sweeps: Sequence[Sweep] = (),
    tasks: Sequence[Task] = (),
    area: shapely.Geometry | None = None,
    skip: Set[str] = frozenset(),
    pins: Mapping[str, str] | None = None,
    drawn_beats: Mapping[str, shapely.Geometry] | None = None,
    traffic: str | float = "early",
    params: ShiftParams | None = None,
    on_progress: PlanProgress | None = None,
) -> ShiftPlan:
    """Plan one squad's shift on ``graph``.

    Parameters
    ----------
    graph
        The road network (e.g. ``read_lines(pack/roads.geojson)``).
    units
        Units on duty; at least one.
    shift
        (start, end) in seconds from midnight, e.g. ``SHIFTS["late"]``, or the rest of it.
    hotspots, sweeps, tasks
        Optional hot spots (best first by priority), key-road pieces and mandatory tasks. The
        pieces of one key road are swept as one (target id: its ``road_id``), and their
        coverage is measured piece by piece.
    area
        The squad's area (WGS84), cut into beats; default: the hull of stations, hot spots and
        key roads.
    skip
        Target ids already done (a re-plan): ``spot#HHMM`` presence visits, sweeps, tasks.
    pins
        Hot spot id -> the unit that makes all its visits (the squad leader's choice).
    drawn_beats
        Unit id -> the outline (WGS84) of the beat the squad leader drew for that foot or
        e-bike unit; the other beats are drawn around what is left.
    traffic
        Shift name or factor for the road speeds (``graph.speeds.shift_factors``).
    params
        Dwell, periods, capacity, sweep rule, beats, legs and solver settings.
    on_progress
        Told ``(share, phase)`` as the plan proceeds: the share of the work done (0-1, never
        falling) and the phase of :data:`PLAN_PHASES` it is in.

    Raises
    ------
    InfeasiblePlanError
        No unit on duty, a meal window outside the shift, or a mandatory task or sweep no unit
        can do, named.
    """
    params = params or ShiftParams()
    tell = PhaseProgress(on_progress)
    if not units:
        msg = "No unit on duty: give at least one unit for the shift."
        raise InfeasiblePlanError(msg)
    _check_meals(units, shift)
    pins = dict(pins or {})
    unknown = set(pins.values()) - {u.unit_id for u in units}
    if unknown:
        msg = (
            f"Hot spots pinned to units not on duty: {sorted(unknown)}; pin them to a unit on duty."
        )
        raise ValueError(msg)
    seed = params.solver.seed
    tell("inputs", 0.0)
    locations: list[Location] = []
    targets: list[Target] = []
    labels: dict[str, tuple[str, str, float, float]] = {}  # id -> kind, label, lon, lat

    def add_point(lon: float, lat: float) -> int:
        locations.append(Location(entry=(lon, lat), exit=(lon, lat)))
        return len(locations) - 1

    starts = [add_point(*u.start) for u in units]
    ends = [add_point(*u.end) for u in units]
    ranked = sorted(hotspots, key=lambda h: -h.priority)
    spots_lonlat = np.asarray([[h.lon, h.lat] for h in ranked], dtype=float).reshape(-1, 2)
    spot_weights = np.asarray([h.priority for h in ranked], dtype=float)
    area = area if area is not None else _default_area(units, ranked, sweeps)
    pieces, sweeps = sweeps, _roads(sweeps)
    # Presence: each spot in every period it is hot, as many spots as the squad can stay at.
    periods = shift_periods(shift, period_s=params.revisit_every_s)
    hot = [
        hot_periods(
            periods,
            profile=h.profile,
            windows=_windows(h.windows, shift),
            hot_share=params.hot_share,
        )
        for h in ranked
    ]
    working = sum(shift[1] - shift[0] - u.break_s for u in units)
    fit = visits_that_fit(
        [len(p) for p in hot],
        working_s=working,
        dwell_s=params.dwell_s,
        share=params.presence_share,
    )
    beats = draw_beats(
        graph,
        area=area,
        units=[(u.unit_id, u.mode, u.start) for u in units],
        spots_lonlat=spots_lonlat,
        spot_visits=np.asarray(
            [len(p) if r < fit else 0 for r, p in enumerate(hot)], dtype=np.int64
        ),
        drawn=drawn_beats,
        params=replace(params.beats, seed=seed),
    )
    beat_of = {b.unit_id: b for b in beats}
    # Vehicles go anywhere in the area; a foot unit stays on its beat.
    vehicles = tuple(u.unit_id for u in units if u.mode != "foot")
    # A spot whose visits fell to two beats is either's.
    owners: list[list[str]] = [[] for _ in ranked]
    for beat in beats:
        for index in beat.spots:
            owners[index].append(beat.unit_id)
    left_out = []
    presence: list[str] = []
    for rank, (spot, spot_periods) in enumerate(zip(ranked, hot, strict=True)):
        labels[spot.spot_id] = ("hotspot", spot.name or spot.label, spot.lon, spot.lat)
        if rank >= fit:
            left_out.append(
                (spot.spot_id, "hotspot", "patrol legs only: more hot spots than units to stay")
            )
            continue
        where = add_point(spot.lon, spot.lat)
        dwell = spot.dwell_s if spot.dwell_s is not None else params.dwell_s
        for period in spot_periods:
            tid = f"{spot.spot_id}#{period_id(period)}"
            if period[1] - period[0] < dwell or tid in skip:
                continue
            targets.append(
                Target(
                    tid,
                    where,
                    dwell_s=dwell,
                    priority=spot.priority,
                    windows=((period[0], period[1] - dwell),),
                    kind="hotspot",
                    units=(pins[spot.spot_id],)
                    if spot.spot_id in pins
                    else _visitors(owners[rank], vehicles),
                    spot=spot.spot_id,
                )
            )
            labels[tid] = ("hotspot", spot.name or spot.label, spot.lon, spot.lat)
            presence.append(tid)
    for task in tasks:
        if task.task_id in skip:
            continue
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
    busy = set(
        busiest_sweeps(
            [s.geometry for s in sweeps],
            spots_lonlat=spots_lonlat,
            spot_weights=spot_weights,
            top=params.busy_roads,
        )
    )
    for i, sweep in enumerate(sweeps):
        first, last = endpoints(sweep.geometry)
        locations.append(Location(entry=first, exit=last, sweep=i))
        locations.append(Location(entry=last, exit=first, sweep=i, reverse=True))
        mid = sweep.geometry.interpolate(0.5, normalized=True)
        rounds: list[tuple[str, tuple[tuple[float, float], ...]]] = (
            [(f"{sweep.sweep_id}#{period_id(p)}", (p,)) for p in periods] if i in busy else []
        )
        for tid, windows in rounds or [(sweep.sweep_id, ())]:
            if tid in skip:
                continue
            targets.append(
                Target(
                    tid,
                    len(locations) - 2,
                    priority=params.sweep_priority * (2 if rounds else 1),
                    windows=windows,
                    mandatory=params.sweep_mandatory and not rounds,
                    kind="sweep",
                    alternatives=(len(locations) - 1,),
                    units=vehicles,  # foot units walk their beats
                    spot=sweep.sweep_id if rounds else "",
                )
            )
            labels[tid] = ("sweep", sweep.name, float(mid.x), float(mid.y))

    waypoint_rows = {
        uid: ([add_point(float(lon), float(lat)) for lon, lat in points], weight)
        for uid, (points, weight) in _waypoints(
            graph,
            units,
            beats=beat_of,
            area=area,
            spots_lonlat=spots_lonlat,
            spot_weights=spot_weights,
            params=params,
        ).items()
    }
    anchors = {b.unit_id: add_point(*b.anchor) for b in beats}

    modes = sorted({u.mode for u in units})
    travel = {mode: location_matrix(graph, locations, sweeps, mode, traffic) for mode in modes}
    unit_rows, transfers = _unit_rows(
        graph,
        units,
        starts=starts,
        ends=ends,
        anchors=anchors,
        locations=locations,
        travel=travel,
        shift=shift,
        traffic=traffic,
        walk_limit_s=params.dropoff_walk_s,
        weights=params.travel_weights,
        floor=(
            min(params.min_targets, len(targets) // max(1, len(units))),
            params.short_target_cost_s,
        ),
    )
    problem = PatrolProblem(tuple(unit_rows), tuple(targets), travel)
    solver = replace(params.solver, knobs=replace(params.solver.knobs, span_cost=params.balance))
    tell("search", 0.0)
    plan = plan_patrols(problem, params=solver, on_progress=lambda share: tell("search", share))
    tell("legs", 0.0)
    plan = add_patrol_legs(
        problem,
        plan,
        waypoints={
            uid: Waypoints(np.asarray(points, dtype=np.intp), weight)
            for uid, (points, weight) in waypoint_rows.items()
        },
        params=replace(params.legs, seed=seed),
    )
    assembled = assemble(
        graph,
        plan,
        units,
        unit_rows,
        locations,
        sweeps,
        labels,
        shift,
        traffic,
        pieces=pieces,
        starts=starts,
        ends=ends,
        transfers=transfers,
        beats=beat_of,
    )
    tell("done", 1.0)
    return replace(assembled, dropped=assembled.dropped + tuple(left_out), presence=tuple(presence))


def _waypoints(
    graph: RoadGraph,
    units: Sequence[UnitOnDuty],
    *,
    beats: Mapping[str, Beat],
    area: shapely.Geometry,
    spots_lonlat: NDArray[np.float64],
    spot_weights: NDArray[np.float64],
    params: ShiftParams,
) -> dict[str, tuple[NDArray[np.float64], NDArray[np.float64]]]:
    """Per unit, patrol waypoints (lon, lat rows) and their weights: street points of its beat
    (of the whole area for a car), drawn by incident density with the plan's seed."""
    rng = np.random.default_rng([params.solver.seed, 1])
    whole_lonlat, whole_xy = street_points(graph, area, spacing_m=params.beats.spacing_m)
    spots_xy = np.column_stack(geocrs.to_metric(spots_lonlat[:, 0], spots_lonlat[:, 1]))
    chosen = {}
    for u in units:
        own = beats.get(u.unit_id)
        if own is not None:
            pool = own.points
            pool_xy = np.column_stack(geocrs.to_metric(pool[:, 0], pool[:, 1]))
        else:
            pool, pool_xy = whole_lonlat, whole_xy
        if not len(pool):
            continue
        weight = density(
            pool_xy,
            spots_xy=spots_xy.reshape(-1, 2),
            spot_weights=spot_weights,
            spread_m=params.beats.spread_m,
        )
        size = min(len(pool), _WAYPOINTS if own is not None else 2 * _WAYPOINTS)
        pick = np.sort(rng.choice(len(pool), size=size, replace=False, p=weight / weight.sum()))
        chosen[u.unit_id] = (pool[pick], weight[pick])
    return chosen


def _unit_rows(
    graph: RoadGraph,
    units: Sequence[UnitOnDuty],
    *,
    starts: Sequence[int],
    ends: Sequence[int],
    anchors: Mapping[str, int],
    locations: Sequence[Location],
    travel: Mapping[str, NDArray[np.float64]],
    shift: tuple[float, float],
    traffic: str | float,
    walk_limit_s: float,
    weights: Mapping[str, float],
    floor: tuple[int, float],
) -> tuple[list[Unit], dict[str, tuple[float, float]]]:
    """The solver's units, a foot unit far from its beat starting and ending at the beat; with
    the car seconds of its drop-off and pick-up (0 when it walks)."""
    rows = []
    transfers: dict[str, tuple[float, float]] = {}
    for u, start, end in zip(units, starts, ends, strict=True):
        out_s = back_s = 0.0
        first, last = start, end
        anchor = anchors.get(u.unit_id)
        if u.mode == "foot" and anchor is not None:
            walk = travel["foot"]
            ride = location_matrix(
                graph, [locations[start], locations[anchor], locations[end]], (), "car", traffic
            )
            if walk[start, anchor] > walk_limit_s and np.isfinite(ride[0, 1]):
                out_s, first = float(ride[0, 1]), anchor
            if walk[anchor, end] > walk_limit_s and np.isfinite(ride[1, 2]):
                back_s, last = float(ride[1, 2]), anchor
        transfers[u.unit_id] = (out_s, back_s)
        rows.append(
            Unit(
                unit_id=u.unit_id,
                start=first,
                end=last,
                shift_start_s=shift[0] + out_s,
                shift_end_s=shift[1] - back_s,
                matrix_key=u.mode,
                break_window=u.break_window,
                break_s=u.break_s,
                travel_weight=weights[u.mode],
                min_visits=floor[0],
                short_visit_cost_s=floor[1],
            )
        )
    return rows, transfers
