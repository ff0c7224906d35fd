"""OR-Tools model and search for the team orienteering problem with time windows.

Private engine behind :mod:`geo.patrol`. It works on integer ticks only: the public module scales
seconds to ticks once, at the matrix boundary, and this module never sees a float time.

Model (why each piece is there):

* One routing node per unit start, per unit end and per target location; a target with
  alternative locations becomes one node per location joined in a single disjunction of
  cardinality one, so exactly one direction of a road sweep can be chosen.
* Objective = ``prize_factor * (scaled prize of every dropped target) + travel ticks``. The factor
  exceeds any possible total travel, so the search maximises the collected prize first and only
  breaks ties by travel time (the shorter plan leaves more slack for re-planning).
* A "Time" dimension over transit = dwell at the origin + travel, with slack (waiting) and a hard
  horizon per unit: windows bound the start of service, shift bounds the route.
* Search: a first solution from an insertion heuristic and OR-Tools' greedy descent, then the
  iterated local search of :mod:`geo._ils` (ruin and recreate, OR-Tools descents, a route pool
  recombined by CP-SAT). Measured against GLS, SA, tabu and OR-Tools' own ILS setting: see
  ``SearchKnobs`` and the benchmark notes in ``bench/toptw.py``.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

import numpy as np
from ortools.constraint_solver import pywrapcp, routing_enums_pb2
from ortools.util import optional_boolean_pb2

from ._ils import iterated_search, routes_of

__all__ = ["EngineInput", "EngineResult", "PlanParams", "SearchKnobs", "solve_engine"]

# An int that stands for "cannot travel": larger than any horizon, small enough that sums of a
# few hundred of them stay inside int64.
UNREACHABLE = 10**12


@dataclass(frozen=True)
class EngineInput:
    """Integer routing data; node ``2u`` / ``2u+1`` are unit ``u``'s start / end.

    Attributes
    ----------
    transit
        Per mode, node x node travel ticks (``UNREACHABLE`` where there is no path).
    dwell
        Service ticks per node.
    windows
        Per node, the allowed start-of-service intervals (inclusive ticks); empty = anywhere.
    unit_mode, unit_start, unit_end
        Mode index and earliest start / latest end tick per unit.
    breaks
        Per unit ``(earliest start, latest start, duration)`` ticks or ``None``.
    groups
        Disjunctions: node ids and the penalty for visiting none (``None`` = mandatory).
    allowed
        Per node, the units that may visit it (empty or missing = any unit): a hot spot of a
        foot patrol's beat is for that patrol and the cars.
    travel_weight
        Per unit, the weight of its travel in the cost that breaks ties between equal prizes
        (missing = 1): a foot patrol walking its beat costs less than a car's time.
    min_visits
        Per unit, ``(count, cost)``: each visit short of ``count`` costs ``cost`` ticks, a soft
        floor that keeps every unit in the work (cheap beside a span cost, which made the
        descents with meal breaks twenty times slower).
    """

    transit: list[np.ndarray]
    dwell: np.ndarray
    windows: list[list[tuple[int, int]]]
    unit_mode: list[int]
    unit_start: list[int]
    unit_end: list[int]
    breaks: list[tuple[int, int, int] | None]
    groups: list[tuple[list[int], int | None]]
    allowed: list[list[int]] = field(default_factory=list)
    travel_weight: list[float] = field(default_factory=list)
    min_visits: list[tuple[int, int]] = field(default_factory=list)

    def weight_of(self, unit: int) -> float:
        """The weight of ``unit``'s travel ticks in the tie-breaking cost (default 1)."""
        return self.travel_weight[unit] if unit < len(self.travel_weight) else 1.0

    @cached_property
    def group_of(self) -> dict[int, int]:
        """Node -> the index of its disjunction in ``groups``."""
        return {n: g for g, (members, _) in enumerate(self.groups) for n in members}

    def may_visit(self, unit: int, node: int) -> bool:
        """Whether ``unit`` may visit ``node``."""
        return node >= len(self.allowed) or not self.allowed[node] or unit in self.allowed[node]


@dataclass(frozen=True)
class SearchKnobs:
    """Search settings; defaults are the measured best on the TOP/TOPTW benchmarks."""

    first_solution: str = "PARALLEL_CHEAPEST_INSERTION"
    metaheuristic: str = "ILS"  # "ILS" or a LocalSearchMetaheuristic name
    gls_lambda: float = 0.1
    sisr_removed: int = 10
    sisr_max_sequence: int = 10
    annealing: tuple[float, float] = (1.0, 0.01)
    # Measured: relocate_and_make_active / exchange_and_make_active / extended_swap_active
    # enlarge every descent (O(n^2) more neighbours) and lost 5-25 % on pr06 at 3 s.
    extra_operators: tuple[str, ...] = ()
    disabled_operators: tuple[str, ...] = ()
    # The descent is the cost of every ILS iteration: this set (no exchange, no LNS, no chain
    # operators) halves it on pr06 (288 nodes) and scored 5.8 % vs 6.9 % mean gap at 5 s.
    only_operators: tuple[str, ...] = (
        "use_relocate",
        "use_cross",
        "use_two_opt",
        "use_or_opt",
        "use_make_active",
        "use_make_inactive",
        "use_swap_active",
    )
    # Unvisited nodes pushed into the ruined plan before each descent (see _fill): without
    # them the descent mostly restores the previous optimum (mean gap 5.9 % -> 4.7 % at 5 s).
    fill: int = 8
    restarts: int = 1
    # Zero arc cost (prize only) leaves the descent blind on plateaus: 9.5 % -> 12.9 % (pr01).
    travel_cost: bool = True
    # Recombine the routes of every descent by set packing (CP-SAT) at the end; see
    # geo._routepool. Its budget is deterministic ("seconds" of CP-SAT's work measure), and
    # under a wall clock it is kept back from the search.
    route_pool: bool = True
    pool_work_s: float = 1.0
    pool_reserve: float = 0.05
    # Shares of the search after which it goes on from the pool's best recombination.
    pool_checkpoints: tuple[float, ...] = (0.5,)
    # Cost per tick of the latest route end (all units start together, so this spreads the work
    # over the units instead of leaving some idle). 0 for the literature: it scores prize only.
    span_cost: int = 0
    # Recreate by vectorised insertion (geo._insertion) when the model allows it, with an
    # OR-Tools descent on every new best and on every ``polish_every``-th plan; 0 = one per
    # ``polish_targets`` targets (a descent's cost grows with the model; the fills' less).
    insertion: bool = True
    polish_every: int = 0
    polish_targets: int = 25
    insertion_noise: float = 0.3
    # Its threshold schedule: with hundreds of cheap steps instead of tens of descents, a
    # hotter start explores more (mean gap on six large Cordeau instances 3.9 % -> 1.6-2.5 %).
    insertion_annealing: tuple[float, float] = (3.0, 0.01)


_FIRST_SOLUTIONS = (
    "AUTOMATIC",
    "PARALLEL_CHEAPEST_INSERTION",
    "LOCAL_CHEAPEST_INSERTION",
    "SEQUENTIAL_CHEAPEST_INSERTION",
    "BEST_INSERTION",
    "SAVINGS",
    "PATH_CHEAPEST_ARC",
    "GLOBAL_CHEAPEST_ARC",
    "ALL_UNPERFORMED",
)
_LOCAL_SEARCHES = (
    "ILS",
    "AUTOMATIC",
    "GUIDED_LOCAL_SEARCH",
    "SIMULATED_ANNEALING",
    "TABU_SEARCH",
    "GREEDY_DESCENT",
)


@dataclass(frozen=True)
class PlanParams:
    """Search settings for :func:`plan_patrols`.

    Parameters
    ----------
    time_limit_s
        Wall-clock budget of the search; with a ``solution_limit``, a safety cap.
    seed
        Seed of the randomised ruin-and-recreate steps and of the restarts.
    threads
        1 or 2: with 2, two searches with different seeds run in separate processes and the
        better plan wins (OR-Tools routing itself is single-threaded).
    solution_limit
        Work budget that makes the result reproducible (see :mod:`geo.patrol`): the number of
        ruin-and-recreate iterations for ``"ILS"``, of accepted solutions otherwise.
    first_solution
        OR-Tools first-solution strategy name.
    local_search
        ``"ILS"`` (iterated local search with ruin and recreate, the default) or an OR-Tools
        local-search metaheuristic name.
    restarts
        Independent searches that split the budget; the best plan is returned.
    time_scale
        Integer ticks per second; ``None`` picks a power of ten automatically.
    knobs
        Finer search settings (:class:`SearchKnobs`); the defaults are the measured best.
    """

    time_limit_s: float = 10.0
    seed: int = 0
    threads: int = 1
    solution_limit: int | None = None
    first_solution: str = "PARALLEL_CHEAPEST_INSERTION"
    local_search: str = "ILS"
    restarts: int = 1
    time_scale: float | None = None
    knobs: SearchKnobs = field(default_factory=SearchKnobs)

    def __post_init__(self) -> None:
        if not (self.time_limit_s > 0 and math.isfinite(self.time_limit_s)):
            msg = f"Expected time_limit_s > 0, got {self.time_limit_s}; pass e.g. 10.0."
            raise ValueError(msg)
        if self.threads not in (1, 2):
            msg = f"Expected threads in {{1, 2}}, got {self.threads}."
            raise ValueError(msg)
        if self.solution_limit is not None and self.solution_limit < 1:
            msg = f"Expected solution_limit >= 1 or None, got {self.solution_limit}."
            raise ValueError(msg)
        if self.first_solution not in _FIRST_SOLUTIONS:
            msg = f"Expected first_solution in {_FIRST_SOLUTIONS}, got {self.first_solution!r}."
            raise ValueError(msg)
        if self.local_search not in _LOCAL_SEARCHES:
            msg = f"Expected local_search in {_LOCAL_SEARCHES}, got {self.local_search!r}."
            raise ValueError(msg)
        if self.restarts < 1:
            msg = f"Expected restarts >= 1, got {self.restarts}."
            raise ValueError(msg)
        if self.time_scale is not None and not self.time_scale > 0:
            msg = f"Expected time_scale > 0 or None, got {self.time_scale}."
            raise ValueError(msg)


@dataclass(frozen=True)
class EngineResult:
    """Routes as node ids between start and end, plus the break start tick per unit."""

    routes: list[list[int]]
    breaks: list[int | None]
    objective: int
    status: str
    solutions: int


def _prize_factor(data: EngineInput, knobs: SearchKnobs | None = None) -> int:
    """Weight of one prize unit, so that the prize is maximised first.

    It exceeds any total travel (and span cost).
    """
    # Weighted travel (travel_weight above 1) must stay below one prize unit too.
    heaviest = max([1.0, *data.travel_weight])
    travel = int(heaviest * sum(e - s for s, e in zip(data.unit_start, data.unit_end, strict=True)))
    span = (knobs.span_cost if knobs else 0) * (max(data.unit_end) - min(data.unit_start))
    floors = sum(count * cost for count, cost in data.min_visits)
    return travel + span + floors + 1


def _build(
    data: EngineInput, knobs: SearchKnobs
) -> tuple[
    pywrapcp.RoutingIndexManager, pywrapcp.RoutingModel, pywrapcp.RoutingDimension, list[Any]
]:
    units = len(data.unit_mode)
    nodes = len(data.dwell)
    starts = [2 * u for u in range(units)]
    ends = [2 * u + 1 for u in range(units)]
    manager = pywrapcp.RoutingIndexManager(nodes, units, starts, ends)
    routing = pywrapcp.RoutingModel(manager)

    # Matrices are registered in C++ (RegisterTransitMatrix): a Python callback would be called
    # millions of times per second of search and dominate the run time.
    dwell = data.dwell.astype(np.int64)
    time_callbacks: list[int] = []
    cost_callbacks: dict[tuple[int, float], int] = {}
    for travel in data.transit:
        with_dwell = np.minimum(travel + dwell[:, None], UNREACHABLE)
        time_callbacks.append(routing.RegisterTransitMatrix(with_dwell.tolist()))
    for u in range(units):
        key = (data.unit_mode[u], data.weight_of(u))
        if key not in cost_callbacks:
            weighted = np.ceil(data.transit[key[0]] * key[1]).astype(np.int64)
            cost_callbacks[key] = routing.RegisterTransitMatrix(weighted.tolist())
    horizon = max(data.unit_end)
    routing.AddDimensionWithVehicleTransits(
        [time_callbacks[m] for m in data.unit_mode], horizon, horizon, False, "Time"
    )
    dim = routing.GetDimensionOrDie("Time")
    if knobs.span_cost:
        dim.SetGlobalSpanCostCoefficient(knobs.span_cost)
    for u in range(units):
        if knobs.travel_cost:
            routing.SetArcCostEvaluatorOfVehicle(
                cost_callbacks[data.unit_mode[u], data.weight_of(u)], u
            )
        start_var = dim.CumulVar(routing.Start(u))
        start_var.SetRange(data.unit_start[u], data.unit_end[u])
        dim.CumulVar(routing.End(u)).SetRange(data.unit_start[u], data.unit_end[u])
    for node in range(2 * units, nodes):
        wins = data.windows[node]
        if not wins:
            continue
        index = manager.NodeToIndex(node)
        # Clip to the horizon: a window after every shift would empty the cumul's domain and
        # fail the whole model; a node with no usable window is simply never performed.
        usable = [(max(0, o), min(horizon, c)) for o, c in wins if max(0, o) <= min(horizon, c)]
        if not usable:
            routing.ActiveVar(index).SetValue(0)
            continue
        var = dim.CumulVar(index)
        var.SetRange(min(w[0] for w in usable), max(w[1] for w in usable))
        ordered = sorted(usable)
        for (_, c1), (o2, _) in itertools.pairwise(ordered):
            if o2 > c1 + 1:
                var.RemoveInterval(c1 + 1, o2 - 1)

    if any(count for count, _ in data.min_visits):
        is_target = [0 if node < 2 * units else 1 for node in range(nodes)]
        visits = routing.RegisterUnaryTransitVector(is_target)
        routing.AddDimension(visits, 0, nodes, True, "Visits")
        count_dim = routing.GetDimensionOrDie("Visits")
        for u, (count, cost) in enumerate(data.min_visits):
            if count:
                count_dim.SetCumulVarSoftLowerBound(routing.End(u), count, cost)
                # Else an empty route is "unused" and its end's soft bound is never charged.
                routing.SetVehicleUsedWhenEmpty(True, u)
    for node, units_allowed in enumerate(data.allowed):
        if units_allowed and node >= 2 * units:
            # -1 keeps the node optional (unperformed); 9.15's SWIG wrapper of
            # SetAllowedVehiclesForIndex takes no Python list, so the variable is restricted.
            routing.VehicleVar(manager.NodeToIndex(node)).SetValues([-1, *units_allowed])

    factor = _prize_factor(data, knobs)
    total_penalty = sum(p * factor for _, p in data.groups if p is not None)
    for members, penalty in data.groups:
        # Mandatory targets get a penalty above every prize together: the solver still returns
        # a plan when they do not fit, and the caller names the ones left out.
        cost = total_penalty + factor if penalty is None else penalty * factor
        routing.AddDisjunction([manager.NodeToIndex(n) for n in members], cost, 1)

    solver = routing.solver()
    intervals: list[Any] = []
    for u in range(units):
        spec = data.breaks[u]
        if spec is None:
            intervals.append(None)
            continue
        lo, hi, duration = spec
        interval = solver.FixedDurationIntervalVar(lo, hi, duration, False, f"break{u}")
        dim.SetBreakIntervalsOfVehicle([interval], u, [int(x) for x in dwell])
        intervals.append(interval)
    return manager, routing, dim, intervals


def _parameters(
    knobs: SearchKnobs, time_limit_s: float, solution_limit: int | None, seed: int
) -> Any:
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = getattr(
        routing_enums_pb2.FirstSolutionStrategy, knobs.first_solution
    )
    ops = params.local_search_operators
    if knobs.only_operators:
        for desc in ops.DESCRIPTOR.fields:
            setattr(ops, desc.name, optional_boolean_pb2.BOOL_FALSE)
    for name in knobs.only_operators:
        setattr(ops, name, optional_boolean_pb2.BOOL_TRUE)
    for name in knobs.extra_operators:
        setattr(ops, name, optional_boolean_pb2.BOOL_TRUE)
    for name in knobs.disabled_operators:
        setattr(ops, name, optional_boolean_pb2.BOOL_FALSE)
    if knobs.metaheuristic != "ILS":
        params.local_search_metaheuristic = getattr(
            routing_enums_pb2.LocalSearchMetaheuristic, knobs.metaheuristic
        )
        params.guided_local_search_lambda_coefficient = knobs.gls_lambda
    params.time_limit.FromMilliseconds(max(1, int(time_limit_s * 1000)))
    if solution_limit is not None:
        params.solution_limit = solution_limit
    params.log_search = False
    del seed
    return params


def _search(
    data: EngineInput,
    knobs: SearchKnobs,
    deadline: float,
    solution_limit: int | None,
    seed: int,
    on_progress: Callable[[float], None] | None = None,
) -> EngineResult:
    manager, routing, _, intervals = _build(data, knobs)
    units = len(data.unit_mode)
    if knobs.metaheuristic != "ILS":
        params = _parameters(knobs, deadline - time.perf_counter(), solution_limit, seed)
        solution = routing.SolveWithParameters(params)
        steps = 1
    else:
        descent = _parameters(
            replace(knobs, metaheuristic="GREEDY_DESCENT"),
            max(0.01, deadline - time.perf_counter()),
            None,
            seed,
        )
        solution = routing.SolveWithParameters(descent)
        # From a ruined plan that the model rejects, OR-Tools would fall back to CP-SAT on small
        # models (a solve that only the time limit may end); the step is skipped instead.
        descent.fallback_to_cp_sat_size_threshold = 0
    status = routing_enums_pb2.RoutingSearchStatus.Value.Name(routing.status())
    if solution is None:
        return EngineResult([[] for _ in range(units)], [None] * units, -1, status, 0)
    objective = int(solution.ObjectiveValue())
    if knobs.metaheuristic == "ILS":
        outcome = iterated_search(
            data,
            knobs,
            manager=manager,
            routing=routing,
            descent=descent,
            first=solution,
            prize_factor=_prize_factor(data, knobs),
            deadline=deadline,
            solution_limit=solution_limit,
            seed=seed,
            on_progress=on_progress,
        )
        solution, objective, steps = outcome.assignment, outcome.objective, outcome.iterations
    return EngineResult(
        routes_of(routing, manager, solution, units),
        [None if iv is None else int(solution.StartValue(iv)) for iv in intervals],
        objective,
        status,
        steps,
    )


def _restart_share(
    on_progress: Callable[[float], None], *, done: int, of: int
) -> Callable[[float], None]:
    return lambda share: on_progress((done + share) / of)


def solve_engine(
    data: EngineInput,
    *,
    knobs: SearchKnobs,
    time_limit_s: float,
    solution_limit: int | None,
    seed: int,
    on_progress: Callable[[float], None] | None = None,
) -> EngineResult:
    """Build and solve the model; restarts split the budget and the best plan wins.

    ``on_progress`` is told the share of the whole budget used, after each search step.
    """
    deadline = time.perf_counter() + time_limit_s
    best: EngineResult | None = None
    restarts = max(1, knobs.restarts)
    for r in range(restarts):
        left = deadline - time.perf_counter()
        if left <= 0.05 and best is not None:
            break
        report = None
        if on_progress is not None:
            report = _restart_share(on_progress, done=r, of=restarts)
        result = _search(
            data,
            knobs,
            time.perf_counter() + left / (restarts - r),
            solution_limit,
            seed * 7919 + r,
            report,
        )
        if best is None or best.objective < 0 or 0 <= result.objective < best.objective:
            best = result
    assert best is not None
    return best
