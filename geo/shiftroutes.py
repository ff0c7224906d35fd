"""From a solved shift to routes on the streets: stops with clock times, paths, coverage.

Private to :mod:`geo.shiftplan`. A key-road sweep is a location with an entry and an exit:
reaching it means arriving at one end of the road piece, and leaving it means leaving from the
other end, the piece itself being driven (or walked) in between. Its reverse is an alternative
location, closed to vehicles on a one-way piece.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import shapely
from numpy.typing import NDArray

from . import crs as geocrs
from .beats import Beat
from .patrol import PatrolPlan, Unit
from .patrollegs import PATROL_KIND
from .roadgraph import RoadGraph
from .shift import PlannedStop, ShiftPlan, Sweep, UnitOnDuty, UnitPlan
from .travel import route, travel_time_matrix

__all__ = ["Location", "assemble", "endpoints", "location_matrix"]

_PATH_TOLERANCE_M: Final = 3.0


@dataclass(frozen=True)
class Location:
    """A place the units go: where it is entered and left (the two ends of a sweep)."""

    entry: tuple[float, float]
    exit: tuple[float, float]
    sweep: int = -1  # index into sweeps when the location is a sweep
    reverse: bool = False


def endpoints(line: shapely.LineString) -> tuple[tuple[float, float], tuple[float, float]]:
    """The first and last points of ``line``."""
    coords = shapely.get_coordinates(line)
    return (float(coords[0, 0]), float(coords[0, 1])), (float(coords[-1, 0]), float(coords[-1, 1]))


def location_matrix(
    graph: RoadGraph,
    locations: Sequence[Location],
    sweeps: Sequence[Sweep],
    mode: str,
    shift: str | float,
) -> NDArray[np.float64]:
    """Travel seconds from each location's exit to each one's entry (plus the piece itself for
    a sweep), ``inf`` against a one-way piece for vehicles."""
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


def assemble(
    graph: RoadGraph,
    plan: PatrolPlan,
    units: Sequence[UnitOnDuty],
    unit_rows: Sequence[Unit],
    locations: Sequence[Location],
    sweeps: Sequence[Sweep],
    labels: dict[str, tuple[str, str, float, float]],
    shift: tuple[float, float],
    traffic: str | float,
    *,
    pieces: Sequence[Sweep],
    starts: Sequence[int],
    ends: Sequence[int],
    transfers: Mapping[str, tuple[float, float]],
    beats: Mapping[str, Beat],
) -> ShiftPlan:
    """The solved ``plan`` as stops with clock times and paths along the streets, per unit.

    ``transfers`` gives each unit's car seconds to and from its beat (0 when it walks);
    ``starts`` and ``ends`` are its stations' locations; ``sweeps`` are the swept roads and
    ``pieces`` the key-road pieces whose coverage is measured.
    """
    unit_plans = []
    for u, row, start, end in zip(units, unit_rows, starts, ends, strict=True):
        r = plan.route(u.unit_id)
        stops: list[PlannedStop] = []
        legs: list[NDArray[np.float64]] = []
        distance = 0.0
        out_s, back_s = transfers[u.unit_id]

        here = locations[start]
        if out_s:
            stop, leg = _transfer(
                graph, u.unit_id, here, locations[row.start], "out", row.shift_start_s, traffic
            )
            stops.append(stop)
            if leg is not None:
                legs.append(shapely.get_coordinates(leg[0]))
                distance += leg[1]
            here = locations[row.start]
        for visit in (*r.visits, None):
            # None closes the route: the way back to the unit's end (its beat or station).
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
                if visit.kind == PATROL_KIND:
                    kind, label, lon, lat = PATROL_KIND, "巡逻 patrol", *target.entry
                else:
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
        returned = r.end_s
        if back_s:
            stop, leg = _transfer(graph, u.unit_id, here, locations[end], "back", r.end_s, traffic)
            stops.append(stop)
            if leg is not None:
                legs.append(shapely.get_coordinates(leg[0]))
                distance += leg[1]
            returned = r.end_s + back_s
        path = (
            shapely.LineString(np.concatenate(legs))
            if legs and len(np.concatenate(legs)) >= 2
            else shapely.LineString()
        )
        beat = beats.get(u.unit_id)
        unit_plans.append(
            UnitPlan(
                u.unit_id,
                u.mode,
                tuple(stops),
                path,
                distance,
                r.travel_s + out_s + back_s,
                r.dwell_s,
                r.wait_s,
                r.prize,
                start_s=shift[0],
                return_s=returned,
                break_s=sum(s.departure_s - s.start_s for s in stops if s.kind == "break"),
                beat=beat.outline if beat is not None else None,
            )
        )
    dropped = tuple((d.target_id, labels[d.target_id][0], d.reason) for d in plan.dropped)
    return ShiftPlan(
        shift=shift,
        units=tuple(unit_plans),
        coverage=_coverage([p.path for p in unit_plans], pieces),
        dropped=dropped,
        objective=plan.objective,
        solver_status=plan.status,
        wall_time_s=plan.wall_time_s,
    )


_TRANSFER_LABELS: Final = {
    "out": "车辆送达巡区 drop-off at the beat",
    "back": "车辆接回 pick-up at the beat",
}


def _transfer(
    graph: RoadGraph,
    unit_id: str,
    origin: Location,
    destination: Location,
    kind: str,
    at: float,
    traffic: str | float,
) -> tuple[PlannedStop, tuple[shapely.LineString, float] | None]:
    """A drop-off (``"out"``) or pick-up (``"back"``) by car: its stop at the beat and path."""
    beat = destination if kind == "out" else origin
    stop = PlannedStop(
        f"transfer:{unit_id}:{kind}",
        "transfer",
        _TRANSFER_LABELS[kind],
        beat.entry[0],
        beat.entry[1],
        at,
        at,
        at,
        0.0,
    )
    return stop, _leg(graph, origin.exit, destination.entry, "car", traffic)


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


def _coverage(paths: Sequence[shapely.LineString], sweeps: Sequence[Sweep]) -> dict[str, float]:
    """Share of each key-road piece that lies under some unit's path (within 3 m)."""
    drawn = [p for p in paths if not p.is_empty]
    if not sweeps:
        return {}
    if not drawn:
        return {s.sweep_id: 0.0 for s in sweeps}
    cover = shapely.buffer(geocrs.geometry_to_metric(shapely.union_all(drawn)), _PATH_TOLERANCE_M)
    shares = {}
    for sweep in sweeps:
        piece = geocrs.geometry_to_metric(sweep.geometry)
        length = float(shapely.length(piece))
        shares[sweep.sweep_id] = (
            float(shapely.length(shapely.intersection(piece, cover)) / length)
            if length > 0
            else 1.0
        )
    return shares
