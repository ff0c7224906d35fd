"""Iterated local search for the patrol model, OR-Tools doing the descents.

Private to :mod:`geo._toptw`, which builds the routing model; this module searches it. Each
step ruins the current plan (SISR strings of visits around a random visit) and recreates it:

* by vectorised insertion (:mod:`geo._insertion`) when the model allows it (no meal breaks,
  prize and travel only): milliseconds a step, so hundreds of steps where descents allowed
  tens; an OR-Tools greedy descent polishes every new best and every ``polish_every``-th plan
  (2-opt, relocate, cross, swap-active: the reordering insertion cannot do);
* otherwise by pushing a few unvisited nodes in (:func:`_fill`) and one OR-Tools descent.

Plans are accepted by a threshold on the collected prize that falls geometrically over the
budget (the iteration budget under a ``solution_limit``, so that the run is reproducible).
Every descent's routes go to a route pool whose best recombination (CP-SAT set packing) is
tried at checkpoints and at the end.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from ortools.constraint_solver import pywrapcp

from ._insertion import Inserter
from ._routepool import RoutePool

if TYPE_CHECKING:
    from ._toptw import EngineInput, SearchKnobs

__all__ = ["SearchOutcome", "iterated_search", "routes_of"]


@dataclass(frozen=True)
class SearchOutcome:
    """The best assignment found, its objective and the steps taken."""

    assignment: Any
    objective: int
    iterations: int


def routes_of(
    routing: pywrapcp.RoutingModel, manager: pywrapcp.RoutingIndexManager, solution: Any, units: int
) -> list[list[int]]:
    routes: list[list[int]] = []
    for u in range(units):
        seq: list[int] = []
        index = solution.Value(routing.NextVar(routing.Start(u)))
        while not routing.IsEnd(index):
            seq.append(manager.IndexToNode(index))
            index = solution.Value(routing.NextVar(index))
        routes.append(seq)
    return routes


def _ruin(
    routes: list[list[int]], near: np.ndarray, rng: np.random.Generator, knobs: SearchKnobs
) -> list[list[int]]:
    """SISR-style ruin: drop strings of visits around a random visit and its neighbours.

    Removing spatially close visits from several routes frees a region that the re-insertion
    (OR-Tools' make-active and insertion operators) can fill differently: the move that plain
    local search on a prize objective cannot make in one step.
    """
    where = {n: (r, k) for r, route in enumerate(routes) for k, n in enumerate(route)}
    if not where:
        return routes
    visited = list(where)
    budget = int(rng.integers(1, max(2, min(knobs.sisr_removed, len(visited))) + 1))
    seed_node = visited[int(rng.integers(len(visited)))]
    removed: set[int] = set()
    touched: set[int] = set()
    for other in near[seed_node]:
        if len(removed) >= budget:
            break
        if other not in where or where[other][0] in touched:
            continue
        r, k = where[other]
        touched.add(r)
        length = int(rng.integers(1, min(knobs.sisr_max_sequence, len(routes[r])) + 1))
        first = max(0, min(k - int(rng.integers(length)), len(routes[r]) - length))
        removed.update(routes[r][first : first + length])
    return [[n for n in route if n not in removed] for route in routes]


def _schedule_ok(data: EngineInput, unit: int, route: list[int]) -> bool:
    """Earliest-start feasibility of one route in ticks (windows, shift end; no breaks)."""
    travel = data.transit[data.unit_mode[unit]]
    t = data.unit_start[unit]
    here = 2 * unit
    for node in route:
        t += int(data.dwell[here]) + int(travel[here, node])
        wins = data.windows[node]
        if wins:
            starts = [max(t, lo) for lo, hi in wins if t <= hi]
            if not starts:
                return False
            t = min(starts)
        here = node
    t += int(data.dwell[here]) + int(travel[here, 2 * unit + 1])
    return t <= data.unit_end[unit]


def _fill(
    data: EngineInput,
    routes: list[list[int]],
    candidates: list[int],
    rng: np.random.Generator,
    tries: int,
) -> list[list[int]]:
    """Insert up to ``tries`` random unvisited nodes at their cheapest feasible position.

    The perturbation step of the ILS: OR-Tools' descent would otherwise put the ruined visits
    straight back and return to the same local optimum. Visits pushed in here (chosen near the
    ruined area) move the search to a different basin; the descent then repairs and improves.
    """
    if any(b is not None for b in data.breaks):
        return routes  # break intervals are not modelled here; let the descent do the work
    routes = [list(r) for r in routes]
    # One node per disjunction: a sweep already done in one direction is not added again in
    # the other (the model would reject the whole assignment).
    served = {data.group_of.get(n) for r in routes for n in r}
    for node in rng.permutation(candidates)[:tries]:
        group = data.group_of.get(int(node))
        if group is not None and group in served:
            continue
        best: tuple[int, int, int] | None = None
        for u, route in enumerate(routes):
            if not data.may_visit(u, int(node)):
                continue
            travel = data.transit[data.unit_mode[u]]
            path = [2 * u, *route, 2 * u + 1]
            for k in range(len(path) - 1):
                a, b = path[k], path[k + 1]
                delta = int(travel[a, node] + travel[node, b] - travel[a, b])
                if best is not None and delta >= best[0]:
                    continue
                if _schedule_ok(data, u, [*route[:k], int(node), *route[k:]]):
                    best = (delta, u, k)
        if best is not None:
            routes[best[1]].insert(best[2], int(node))
            served.add(group)
    return routes


def _assignment_of(
    routing: pywrapcp.RoutingModel, manager: pywrapcp.RoutingIndexManager, routes: list[list[int]]
) -> Any:
    """The routes as a starting assignment for the descent, without solving anything.

    Not ``ReadAssignmentFromRoutes``: it restores the routes by a search under the model's
    objective, which with a span cost goes on improving cumul values until the time limit
    (seconds to the whole budget per call, so the clock decided how many iterations ran). The
    descent restores the routes itself. The vehicle variables are set too: when the units' arc
    costs differ the model keeps them in its assignment, and stale ones from the previous
    solve would contradict these routes and fail the descent.
    """
    indices = [[manager.NodeToIndex(n) for n in route] for route in routes]
    assignment = routing.solver().Assignment()
    if not routing.RoutesToAssignment(indices, True, True, assignment):
        return None
    vehicle_of = {}
    for u in range(routing.vehicles()):
        index = routing.Start(u)
        while not routing.IsEnd(index):
            vehicle_of[index] = u
            index = assignment.Value(routing.NextVar(index))
        vehicle_of[index] = u
    for index in range(routing.Size() + routing.vehicles()):
        var = routing.VehicleVar(index)
        assignment.Add(var)
        assignment.SetValue(var, vehicle_of.get(index, -1))
    return assignment


def _packed(
    routing: pywrapcp.RoutingModel,
    manager: pywrapcp.RoutingIndexManager,
    descent: Any,
    pool: RoutePool,
    deadline: float,
    knobs: SearchKnobs,
    seed: int,
) -> Any:
    """The pool's best recombination, checked and polished by one descent (None if none)."""
    routes = pool.best(deterministic_s=knobs.pool_work_s, seed=seed)
    if routes is None:
        return None
    partial = _assignment_of(routing, manager, routes)
    if partial is None:
        return None
    descent.time_limit.FromMilliseconds(max(1, int((deadline - time.perf_counter()) * 1000)))
    return routing.SolveFromAssignmentWithParameters(partial, descent)


def _ruin_centre(ruined: list[list[int]], before: list[list[int]]) -> int:
    """A removed node (the centre of the ruin), or the first start node if none was removed."""
    kept = {n for r in ruined for n in r}
    for route in before:
        for n in route:
            if n not in kept:
                return n
    return 0


def _uses_insertion(data: EngineInput, knobs: SearchKnobs) -> bool:
    """Whether the vectorised insertion can recreate the plans of this model.

    It models neither breaks nor span and visit-floor costs.
    """
    return (
        knobs.insertion
        and not knobs.span_cost
        and all(b is None for b in data.breaks)
        and not any(count for count, _ in data.min_visits)
    )


class _Search:
    """The state of one iterated local search over a built routing model."""

    def __init__(
        self,
        data: EngineInput,
        knobs: SearchKnobs,
        *,
        manager: pywrapcp.RoutingIndexManager,
        routing: pywrapcp.RoutingModel,
        descent: Any,
        first: Any,
        prize_factor: int,
        deadline: float,
        solution_limit: int | None,
        seed: int,
        on_progress: Callable[[float], None] | None = None,
    ) -> None:
        self.data, self.knobs = data, knobs
        self.on_progress = on_progress
        self.manager, self.routing, self.descent = manager, routing, descent
        self.units = len(data.unit_mode)
        self.factor = prize_factor
        self.deadline, self.solution_limit, self.seed = deadline, solution_limit, seed
        self.rng = np.random.default_rng(seed)
        # Routes are copied out of every assignment: OR-Tools reuses its solution objects
        # between solves, so keeping an assignment as "current" would follow the last descent.
        self.current = routes_of(routing, manager, first, self.units)
        self.pool = RoutePool(data) if knobs.route_pool else None
        if self.pool is not None:
            self.pool.add(self.current)
        self.best_obj = self.current_obj = int(first.ObjectiveValue())
        self.best = routing.solver().Assignment(first)
        prizes = [p for _, p in data.groups if p is not None]
        self.mean_prize = float(np.mean(prizes)) if prizes else 1.0
        travel = data.transit[0]
        self.near = np.argsort(travel + travel.T, axis=1)[:, 1:]
        self.inserter = Inserter(data) if _uses_insertion(data, knobs) else None
        self.temperatures = knobs.insertion_annealing if self.inserter else knobs.annealing
        targets = len(data.dwell) - 2 * self.units
        self.polish_every = knobs.polish_every or max(1, round(targets / knobs.polish_targets))
        self.iterations = 0
        self.began = time.perf_counter()
        self.span = max(1e-3, deadline - self.began)
        reserve = knobs.pool_reserve * self.span if self.pool is not None else 0.0
        self.search_until = deadline - reserve
        self.checkpoints = sorted(knobs.pool_checkpoints)

    def progress(self) -> float:
        """Share of the budget used: iterations under a solution_limit, else the clock."""
        if self.solution_limit is not None:
            return self.iterations / self.solution_limit
        return (time.perf_counter() - self.began) / self.span

    def share_done(self) -> float:
        """For a progress bar: the budget used, whichever of steps and clock ends it first."""
        clock = (time.perf_counter() - self.began) / self.span
        return min(1.0, max(self.progress(), clock))

    def accepts(self, objective: int) -> bool:
        """Threshold acceptance in prize units, the threshold falling over the budget."""
        start, end = self.temperatures
        temperature = start * (end / start) ** min(1.0, self.progress())
        threshold = temperature * self.mean_prize * self.factor * float(self.rng.random())
        return bool(objective <= self.current_obj + threshold)

    def take_best(self, assignment: Any) -> None:
        """Keep ``assignment`` as the best if it is, and go on from it."""
        objective = int(assignment.ObjectiveValue())
        if objective < self.best_obj:
            self.best_obj = self.current_obj = objective
            self.best = self.routing.solver().Assignment(assignment)
            self.current = routes_of(self.routing, self.manager, assignment, self.units)

    def recreate(self, routes: list[list[int]]) -> list[list[int]] | None:
        """The ruined routes refilled, or None when only a descent should judge this step."""
        knobs = self.knobs
        if self.inserter is not None:
            filled = self.inserter.fill(routes, rng=self.rng, noise=knobs.insertion_noise)
            if filled is None:
                return None
            objective = self.inserter.cost(filled, self.factor)
            if objective >= self.best_obj and self.iterations % self.polish_every:
                # Not a new best and not a polishing step: judged as it is, no descent.
                if self.accepts(objective):
                    self.current, self.current_obj = filled, objective
                return None
            return filled
        if knobs.fill > 0:
            kept = {n for r in routes for n in r}
            gone = {n for r in self.current for n in r} - kept
            candidates = [
                int(n)
                for n in self.near[_ruin_centre(routes, self.current)][: 4 * knobs.sisr_removed]
                if n >= 2 * self.units and n not in kept and n not in gone
            ]
            return _fill(self.data, routes, candidates, self.rng, knobs.fill)
        return routes

    def descend(self, routes: list[list[int]]) -> None:
        """One OR-Tools descent from ``routes``, then acceptance, best and the pool."""
        routing, manager = self.routing, self.manager
        partial = _assignment_of(routing, manager, routes)
        if partial is None:
            return
        # The time limit is a cap under a solution_limit too: a descent still running at the
        # deadline is cut, and the loop ends.
        left = self.deadline - time.perf_counter()
        self.descent.time_limit.FromMilliseconds(max(1, int(left * 1000)))
        found = routing.SolveFromAssignmentWithParameters(partial, self.descent)
        if found is None:
            return
        found_routes = routes_of(routing, manager, found, self.units)
        if self.pool is not None:
            self.pool.add(found_routes)
        objective = int(found.ObjectiveValue())
        accepted = self.accepts(objective)
        if objective < self.best_obj:
            self.best_obj = objective
            self.best = routing.solver().Assignment(found)
        if accepted:
            self.current, self.current_obj = found_routes, objective
        if self.pool is not None and self.checkpoints and self.progress() >= self.checkpoints[0]:
            # At each checkpoint the search goes on from the best recombination so far.
            self.checkpoints.pop(0)
            packed = _packed(
                routing, manager, self.descent, self.pool, self.search_until, self.knobs, self.seed
            )
            if packed is not None:
                self.take_best(packed)

    def run(self) -> SearchOutcome:
        while time.perf_counter() < self.search_until:
            if self.solution_limit is not None and self.iterations >= self.solution_limit:
                break
            self.iterations += 1
            routes = self.recreate(_ruin(self.current, self.near, self.rng, self.knobs))
            if routes is not None:
                self.descend(routes)
            if self.on_progress is not None:
                self.on_progress(self.share_done())
        if self.pool is not None and len(self.pool):
            packed = _packed(
                self.routing,
                self.manager,
                self.descent,
                self.pool,
                self.deadline,
                self.knobs,
                self.seed,
            )
            if packed is not None and int(packed.ObjectiveValue()) < self.best_obj:
                self.best_obj = int(packed.ObjectiveValue())
                self.best = self.routing.solver().Assignment(packed)
        return SearchOutcome(self.best, self.best_obj, self.iterations)


def iterated_search(
    data: EngineInput,
    knobs: SearchKnobs,
    *,
    manager: pywrapcp.RoutingIndexManager,
    routing: pywrapcp.RoutingModel,
    descent: Any,
    first: Any,
    prize_factor: int,
    deadline: float,
    solution_limit: int | None,
    seed: int,
    on_progress: Callable[[float], None] | None = None,
) -> SearchOutcome:
    """Improve ``first`` (an assignment of ``routing``) until the deadline or the step budget.

    ``descent`` holds the greedy-descent search parameters every step's descent uses;
    ``on_progress`` is told the share of the budget used after every step.
    """
    return _Search(
        data,
        knobs,
        manager=manager,
        routing=routing,
        descent=descent,
        first=first,
        prize_factor=prize_factor,
        deadline=deadline,
        solution_limit=solution_limit,
        seed=seed,
        on_progress=on_progress,
    ).run()
