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
* Search: a first solution from an insertion heuristic, then OR-Tools' iterated local search
  (ruin and recreate) or guided local search with the operators that add, remove and swap
  optional visits switched on; see ``SearchKnobs`` for the measured choices.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from ortools.constraint_solver import pywrapcp, routing_enums_pb2
from ortools.util import optional_boolean_pb2

__all__ = ["EngineInput", "EngineResult", "SearchKnobs", "solve_engine"]

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
    """

    transit: list[np.ndarray]
    dwell: np.ndarray
    windows: list[list[tuple[int, int]]]
    unit_mode: list[int]
    unit_start: list[int]
    unit_end: list[int]
    breaks: list[tuple[int, int, int] | None]
    groups: list[tuple[list[int], int | None]]
    fixed_starts: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class SearchKnobs:
    """Search settings; defaults are the measured best on the TOP/TOPTW benchmarks."""

    first_solution: str = "PARALLEL_CHEAPEST_INSERTION"
    metaheuristic: str = "ILS"  # "ILS" or a LocalSearchMetaheuristic name
    gls_lambda: float = 0.1
    sisr_removed: int = 10
    sisr_max_sequence: int = 10
    annealing: tuple[float, float] = (100.0, 0.01)
    extra_operators: tuple[str, ...] = (
        "use_relocate_and_make_active",
        "use_exchange_and_make_active",
        "use_extended_swap_active",
        "use_node_pair_swap_active",
    )
    disabled_operators: tuple[str, ...] = ()
    restarts: int = 1
    travel_cost: bool = True


@dataclass(frozen=True)
class EngineResult:
    """Routes as node ids between start and end, plus the break start tick per unit."""

    routes: list[list[int]]
    breaks: list[int | None]
    objective: int
    status: str
    solutions: int


def _prize_factor(data: EngineInput) -> int:
    """Weight of one prize unit: more than any total travel, so prize is maximised first."""
    return int(sum(e - s for s, e in zip(data.unit_start, data.unit_end, strict=True))) + 1


def _build(data: EngineInput, knobs: SearchKnobs) -> tuple[
        pywrapcp.RoutingIndexManager, pywrapcp.RoutingModel, pywrapcp.RoutingDimension, list]:
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
    cost_callbacks: list[int] = []
    for travel in data.transit:
        with_dwell = np.minimum(travel + dwell[:, None], UNREACHABLE)
        time_callbacks.append(routing.RegisterTransitMatrix(with_dwell.tolist()))
        cost_callbacks.append(routing.RegisterTransitMatrix(travel.tolist()))
    horizon = max(data.unit_end)
    routing.AddDimensionWithVehicleTransits(
        [time_callbacks[m] for m in data.unit_mode], horizon, horizon, False, "Time")
    dim = routing.GetDimensionOrDie("Time")
    for u in range(units):
        if knobs.travel_cost:
            routing.SetArcCostEvaluatorOfVehicle(cost_callbacks[data.unit_mode[u]], u)
        start_var = dim.CumulVar(routing.Start(u))
        start_var.SetRange(data.unit_start[u], data.unit_end[u])
        dim.CumulVar(routing.End(u)).SetRange(data.unit_start[u], data.unit_end[u])
        # Starting as early as possible is the natural plan; a later start would only ever be
        # chosen to dodge a window, which waiting already allows.
        dim.SetCumulVarSoftUpperBound(routing.Start(u), data.unit_start[u], 0)
    for node in range(2 * units, nodes):
        wins = data.windows[node]
        if not wins:
            continue
        var = dim.CumulVar(manager.NodeToIndex(node))
        lo = min(w[0] for w in wins)
        hi = max(w[1] for w in wins)
        var.SetRange(lo, hi)
        ordered = sorted(wins)
        for (_, c1), (o2, _) in zip(ordered, ordered[1:], strict=False):
            if o2 > c1 + 1:
                var.RemoveInterval(c1 + 1, o2 - 1)

    factor = _prize_factor(data)
    total_penalty = sum(p * factor for _, p in data.groups if p is not None)
    for members, penalty in data.groups:
        # Mandatory targets get a penalty above every prize together: the solver still returns
        # a plan when they do not fit, and the caller names the ones left out.
        cost = total_penalty + factor if penalty is None else penalty * factor
        routing.AddDisjunction([manager.NodeToIndex(n) for n in members], cost, 1)

    solver = routing.solver()
    intervals: list = []
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


def _parameters(knobs: SearchKnobs, time_limit_s: float, solution_limit: int | None,
                seed: int) -> object:
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = getattr(
        routing_enums_pb2.FirstSolutionStrategy, knobs.first_solution)
    ops = params.local_search_operators
    for name in knobs.extra_operators:
        setattr(ops, name, optional_boolean_pb2.BOOL_TRUE)
    for name in knobs.disabled_operators:
        setattr(ops, name, optional_boolean_pb2.BOOL_FALSE)
    if knobs.metaheuristic == "ILS":
        params.use_iterated_local_search = True
        params.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GREEDY_DESCENT
        ils = params.iterated_local_search_parameters
        ils.perturbation_strategy = 1  # RUIN_AND_RECREATE
        ils.improve_perturbed_solution = True
        rr = ils.ruin_recreate_parameters
        del rr.ruin_strategies[:]
        sisr = rr.ruin_strategies.add().sisr
        sisr.max_removed_sequence_size = knobs.sisr_max_sequence
        sisr.avg_num_removed_visits = knobs.sisr_removed
        sisr.bypass_factor = 0.01
        rr.ruin_composition_strategy = 3  # RUN_ONE_RANDOMLY
        rr.recreate_strategy.heuristic = routing_enums_pb2.FirstSolutionStrategy.LOCAL_CHEAPEST_INSERTION
        sa = ils.reference_solution_acceptance_strategy.simulated_annealing
        sa.cooling_schedule_strategy = 1  # EXPONENTIAL
        sa.initial_temperature, sa.final_temperature = knobs.annealing
        sa.automatic_temperatures = False
    else:
        params.local_search_metaheuristic = getattr(
            routing_enums_pb2.LocalSearchMetaheuristic, knobs.metaheuristic)
        params.guided_local_search_lambda_coefficient = knobs.gls_lambda
    params.time_limit.FromMilliseconds(max(1, int(time_limit_s * 1000)))
    if solution_limit is not None:
        params.solution_limit = solution_limit
    params.log_search = False
    del seed
    return params


def solve_engine(data: EngineInput, *, knobs: SearchKnobs, time_limit_s: float,
                 solution_limit: int | None, seed: int) -> EngineResult:
    """Build and solve the model; restarts split the budget and the best plan wins."""
    deadline = time.perf_counter() + time_limit_s
    best: EngineResult | None = None
    restarts = max(1, knobs.restarts)
    for r in range(restarts):
        left = deadline - time.perf_counter()
        if left <= 0.05 and best is not None:
            break
        budget = left / (restarts - r)
        manager, routing, dim, intervals = _build(data, knobs)
        routing.solver().ReSeed(seed * 7919 + r)
        params = _parameters(knobs, budget, solution_limit, seed)
        solution = routing.SolveWithParameters(params)
        status = routing_enums_pb2.RoutingSearchStatus.Value.Name(routing.status())
        if solution is None:
            if best is None:
                best = EngineResult([[] for _ in data.unit_mode], [None] * len(data.unit_mode),
                                    -1, status, 0)
            continue
        routes: list[list[int]] = []
        for u in range(len(data.unit_mode)):
            index = routing.Start(u)
            seq: list[int] = []
            index = solution.Value(routing.NextVar(index))
            while not routing.IsEnd(index):
                seq.append(manager.IndexToNode(index))
                index = solution.Value(routing.NextVar(index))
            routes.append(seq)
        breaks = [None if iv is None else int(solution.StartValue(iv)) for iv in intervals]
        result = EngineResult(routes, breaks, int(solution.ObjectiveValue()), status,
                              int(routing.solver().Solutions()))
        if best is None or best.objective < 0 or result.objective < best.objective:
            best = result
    assert best is not None
    return best


def route_order_key(routes: Sequence[Sequence[int]]) -> tuple[tuple[int, ...], ...]:
    """Canonical form of a set of routes, for determinism checks."""
    return tuple(tuple(r) for r in routes)
