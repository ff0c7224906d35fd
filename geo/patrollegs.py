"""Patrol legs: the time between a unit's targets goes to patrolling its beat, not waiting.

After the search has fixed each unit's targets and their times, every gap (from a departure to
the start of the next visit, to the meal break, or to the return at the shift's end) longer than
the trip itself is filled with legs to waypoints: street points of the unit's beat drawn at
random, weighted by incident density, among those from which the next stop can still be reached
in time. The draw is seeded per unit, so a plan is reproducible, while the order of the legs is
not something an offender could learn. No visit moves: every start time of the solved plan is
kept, so every window and the meal break still hold.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from .patrol import PatrolPlan, PatrolProblem, Unit, UnitRoute, Visit

__all__ = ["PATROL_KIND", "PatrolLegParams", "Waypoints", "add_patrol_legs"]

PATROL_KIND = "patrol"
_ANY_MOVE_S = 30.0


@dataclass(frozen=True)
class PatrolLegParams:
    """How gaps are filled.

    Parameters
    ----------
    min_leg_s
        A gap with less spare time than this (beyond the direct trip) is left as waiting.
    shortest_leg_s
        Waypoints closer than this are not drawn: a leg is a walk, not a step.
    seed
        Seed of the waypoint draws (one stream per unit).
    """

    min_leg_s: float = 300.0
    shortest_leg_s: float = 180.0
    seed: int = 0

    def __post_init__(self) -> None:
        if not (self.min_leg_s > 0 and 0 <= self.shortest_leg_s <= self.min_leg_s):
            msg = (
                "Expected min_leg_s > 0 and 0 <= shortest_leg_s <= min_leg_s, got "
                f"{self.min_leg_s}, {self.shortest_leg_s}."
            )
            raise ValueError(msg)


@dataclass(frozen=True)
class Waypoints:
    """A unit's patrol waypoints: location indices of the problem's matrices and weights."""

    locations: NDArray[np.intp]
    weights: NDArray[np.float64]

    def __post_init__(self) -> None:
        if len(self.locations) != len(self.weights) or (self.weights < 0).any():
            msg = "Waypoints need one weight >= 0 per location."
            raise ValueError(msg)


def _legs(
    matrix: NDArray[np.float64],
    waypoints: Waypoints,
    *,
    origin: int,
    leave_s: float,
    destination: int,
    arrive_by_s: float,
    rng: np.random.Generator,
    params: PatrolLegParams,
    tag: str,
) -> list[Visit]:
    """Patrol visits from ``origin`` at ``leave_s`` that still reach ``destination`` in time."""
    legs: list[Visit] = []
    here, t = origin, leave_s
    go = matrix[:, waypoints.locations]
    back = matrix[waypoints.locations, destination]
    while arrive_by_s - t - matrix[here, destination] >= params.min_leg_s:
        reach = (t + go[here] + back <= arrive_by_s) & (waypoints.locations != here)
        fits = reach & (go[here] >= params.shortest_leg_s)
        if not fits.any():
            # A small beat on a fast mode: the farthest waypoint in reach, if it is a real move.
            ahead = np.where(reach, go[here], -1.0)
            if ahead.max() < _ANY_MOVE_S:
                break
            fits = ahead == ahead.max()
        # Denser streets first, and longer legs: a patrol is a walk along the beat, not a
        # string of hops (weight times the leg's length).
        weight = np.where(fits, waypoints.weights * go[here], 0.0)
        if weight.sum() <= 0:
            weight = fits.astype(float)
        pick = int(rng.choice(len(weight), p=weight / weight.sum()))
        where = int(waypoints.locations[pick])
        t += float(go[here, pick])
        legs.append(Visit(f"{tag}:{len(legs) + 1}", where, PATROL_KIND, t, t, t, 0.0))
        here = where
    return legs


def _fill_route(
    route: UnitRoute,
    unit: Unit,
    matrix: NDArray[np.float64],
    waypoints: Waypoints,
    rng: np.random.Generator,
    params: PatrolLegParams,
) -> UnitRoute:
    visits: list[Visit] = []
    here, t = unit.start, route.start_s
    travel = wait = 0.0

    def fill(destination: int, arrive_by: float) -> tuple[int, float]:
        nonlocal travel
        legs = _legs(
            matrix,
            waypoints,
            origin=here,
            leave_s=t,
            destination=destination,
            arrive_by_s=arrive_by,
            rng=rng,
            params=params,
            tag=f"patrol:{unit.unit_id}:{round(t)}",
        )
        spot, now = here, t
        for leg in legs:
            travel += float(matrix[spot, leg.location])
            spot, now = leg.location, leg.arrival_s
        visits.extend(legs)
        return spot, now

    for visit in route.visits:
        # A meal break is taken where the unit is, so a patrol before it comes back there.
        target = here if visit.kind == "break" else visit.location
        here, t = fill(target, visit.start_s)
        leg = float(matrix[here, target])
        arrival = t + leg
        travel += leg
        wait += visit.start_s - arrival
        visits.append(replace(visit, location=target, arrival_s=arrival))
        here, t = target, visit.departure_s
    here, t = fill(unit.end, unit.shift_end_s)
    leg = float(matrix[here, unit.end])
    return replace(
        route,
        visits=tuple(visits),
        end_s=t + leg,
        travel_s=travel + leg,
        wait_s=wait,
    )


def add_patrol_legs(
    problem: PatrolProblem,
    plan: PatrolPlan,
    *,
    waypoints: Mapping[str, Waypoints],
    params: PatrolLegParams | None = None,
) -> PatrolPlan:
    """``plan`` with patrol legs in every gap of the units that have ``waypoints``."""
    params = params or PatrolLegParams()
    routes = []
    for index, unit in enumerate(problem.units):
        route = plan.route(unit.unit_id)
        points = waypoints.get(unit.unit_id)
        if points is None or not len(points.locations):
            routes.append(route)
            continue
        rng = np.random.default_rng([params.seed, index])
        routes.append(
            _fill_route(route, unit, problem.travel[unit.matrix_key], points, rng, params)
        )
    return replace(plan, routes=tuple(routes))
