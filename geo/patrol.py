"""Per-shift patrol planning: a team orienteering problem with time windows, solved by OR-Tools.

Shaped like PyVRP's ``solve()``: plain frozen dataclasses in (:class:`PatrolProblem` of
:class:`Unit` and :class:`Target`, :class:`PlanParams`), a frozen :class:`PatrolPlan` out, no I/O.
The problem and plan types are in :mod:`geo.patrolproblem` (re-exported here); the model and
the search live in :mod:`geo._toptw`.

Time and numbers
    All public times are float seconds (of the day, or from any origin the caller likes, as
    long as matrix, shifts and windows agree). They are converted to integer ticks exactly once,
    in :func:`_ticks`: ``ticks = ceil(seconds * time_scale)`` for durations, openings and shift
    starts, ``floor`` for closings and shift ends, so rounding can only make the integer model
    stricter than the float one and every plan stays feasible when re-timed in seconds. The
    default ``time_scale`` is the largest power of ten that keeps the horizon below 10^7 ticks
    (x100 for a day in seconds, x10^4 for Cordeau's 2-decimal distances, which stay exact).
    Priorities are rounded to 1/1000 for the objective only; reported prizes are the inputs.

Determinism
    OR-Tools stops on wall time, so two runs with the same seed can differ when the time limit
    is what stops the search. With ``PlanParams(solution_limit=...)`` the search stops after a
    fixed number of iterations (accepted solutions for the OR-Tools metaheuristics) and the
    plan is identical for the same seed and input, however loaded the machine (the time limit
    then only guards against runaway runs; a run it cuts short is not reproducible). Tests
    rely on this.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Set
from dataclasses import dataclass, replace

import numpy as np

from ._toptw import EngineInput, EngineResult, PlanParams, solve_engine
from .errors import InfeasiblePlanError
from .patrolproblem import (
    DROP_REASONS,
    Dropped,
    PatrolPlan,
    PatrolProblem,
    Target,
    Unit,
    UnitRoute,
    Visit,
)

__all__ = [
    "DROP_REASONS",
    "Dropped",
    "InfeasiblePlanError",
    "PatrolPlan",
    "PatrolProblem",
    "PlanParams",
    "Target",
    "Unit",
    "UnitRoute",
    "Visit",
    "plan_patrols",
    "replan",
]

_EPS = 1e-6


# ----------------------------------------------------------------------------- scaling


def _auto_scale(problem: PatrolProblem) -> float:
    horizon = max(abs(u.shift_end_s) for u in problem.units)
    scale = 1e6
    while scale > 1e-3 and horizon * scale > 1e7:
        scale /= 10
    return scale


def _ticks(seconds: float | np.ndarray, scale: float, *, up: bool) -> np.ndarray:
    """Seconds to int64 ticks; ``up`` rounds towards stricter (longer/later) values."""
    # Rounding to 6 decimals first keeps values already on the tick grid exact (12.34*100).
    x = np.round(np.asarray(seconds, dtype=float) * scale, 6)
    out = np.ceil(x) if up else np.floor(x)
    return np.where(np.isfinite(out), out, 0).astype(np.int64)


# ----------------------------------------------------------------------------- feasibility


def _alone(problem: PatrolProblem, target: Target) -> tuple[bool, str]:
    """Can any unit alone serve ``target``? If not, why (a :data:`DROP_REASONS` entry)."""
    reachable = in_window = False
    for u in problem.units:
        if target.units and u.unit_id not in target.units:
            continue
        m = problem.travel[u.matrix_key]
        for loc in target.locations:
            go, back = float(m[u.start, loc]), float(m[loc, u.end])
            if not (math.isfinite(go) and math.isfinite(back)):
                continue
            reachable = True
            arrive = u.shift_start_s + go
            for lo, hi in target.windows or ((u.shift_start_s, u.shift_end_s),):
                begin = max(arrive, lo)
                if begin > min(hi, u.shift_end_s) + _EPS:  # opens after the shift: missed
                    continue
                in_window = True
                if begin + target.dwell_s + back <= u.shift_end_s + _EPS:
                    return True, ""
    if not reachable:
        return False, "unreachable"
    return False, "window missed" if not in_window else "no time"


def _check_feasible(problem: PatrolProblem) -> None:
    if not problem.units:
        msg = "No unit on duty: add at least one Unit to the problem."
        raise InfeasiblePlanError(msg)
    for u in problem.units:
        leg = float(problem.travel[u.matrix_key][u.start, u.end])
        need = leg + u.break_s
        if not math.isfinite(leg) or u.shift_start_s + need > u.shift_end_s + _EPS:
            msg = (
                f"Unit {u.unit_id!r} cannot even go from its start {u.start} to its end "
                f"{u.end} within its shift ({need:.0f} s needed, "
                f"{u.shift_end_s - u.shift_start_s:.0f} s available); extend the shift "
                f"or change the stations."
            )
            raise InfeasiblePlanError(msg)
        if u.break_window is not None and (
            u.break_window[0] + u.break_s > u.shift_end_s or u.break_window[1] < u.shift_start_s
        ):
            msg = f"Unit {u.unit_id!r}: break_window {u.break_window} lies outside the shift."
            raise InfeasiblePlanError(msg)
    for t in problem.targets:
        if t.mandatory:
            ok, reason = _alone(problem, t)
            if not ok:
                msg = (
                    f"Mandatory target {t.target_id!r} cannot be served by any unit "
                    f"({reason}): widen its windows {list(t.windows)}, extend a shift or "
                    f"make it optional."
                )
                raise InfeasiblePlanError(msg)


# ----------------------------------------------------------------------------- model


@dataclass(frozen=True)
class _Nodes:
    target_of: list[int]  # node -> target index (-1 for unit starts/ends)
    loc: list[int]


def _engine_input(problem: PatrolProblem, scale: float) -> tuple[EngineInput, _Nodes]:
    units = problem.units
    target_of = [-1] * (2 * len(units))
    loc: list[int] = []
    for u in units:
        loc += [u.start, u.end]
    groups: list[tuple[list[int], int | None]] = []
    for ti, t in enumerate(problem.targets):
        members = []
        for location in t.locations:
            members.append(len(loc))
            target_of.append(ti)
            loc.append(location)
        prize = None if t.mandatory else round(t.priority * 1000)
        groups.append((members, prize))
    index = np.asarray(loc)
    keys = sorted({u.matrix_key for u in units})
    spots = np.asarray(
        [problem.targets[ti].spot if ti >= 0 else "" for ti in target_of], dtype=object
    )
    # Two visits of one spot are never consecutive in a route (not back to back).
    same_spot = (spots[:, None] == spots[None, :]) & (spots[:, None] != "")
    same_target = np.asarray(target_of)[:, None] == np.asarray(target_of)[None, :]
    transit = []
    for key in keys:
        sub = problem.travel[key][np.ix_(index, index)]
        ticks = _ticks(sub, scale, up=True)
        ticks[~np.isfinite(sub) | (same_spot & ~same_target)] = 10**12
        transit.append(ticks)
    position = {u.unit_id: k for k, u in enumerate(units)}
    allowed = [
        sorted(position[i] for i in problem.targets[ti].units) if ti >= 0 else []
        for ti in target_of
    ]
    dwell = np.zeros(len(loc), dtype=np.int64)
    windows: list[list[tuple[int, int]]] = [[] for _ in loc]
    for node, ti in enumerate(target_of):
        if ti < 0:
            continue
        t = problem.targets[ti]
        dwell[node] = int(_ticks(t.dwell_s, scale, up=True))
        windows[node] = [
            (int(_ticks(lo, scale, up=True)), int(_ticks(hi, scale, up=False)))
            for lo, hi in t.windows
        ]
        # A window that closes on the tick grid before it opens cannot be used; the engine
        # never performs a node whose windows are all unusable.
        windows[node] = [w for w in windows[node] if w[0] <= w[1]] or [(1, 0)] * bool(t.windows)
    breaks: list[tuple[int, int, int] | None] = []
    for u in units:
        if u.break_window is None:
            breaks.append(None)
            continue
        dur = int(_ticks(u.break_s, scale, up=True))
        lo = int(_ticks(u.break_window[0], scale, up=True))
        hi = int(_ticks(u.break_window[1], scale, up=False)) - dur
        breaks.append((lo, max(lo, hi), dur))
    data = EngineInput(
        transit=transit,
        dwell=dwell,
        windows=windows,
        unit_mode=[keys.index(u.matrix_key) for u in units],
        unit_start=[int(_ticks(u.shift_start_s, scale, up=True)) for u in units],
        unit_end=[int(_ticks(u.shift_end_s, scale, up=False)) for u in units],
        breaks=breaks,
        groups=groups,
        allowed=allowed,
        travel_weight=[u.travel_weight for u in units],
        min_visits=[
            (u.min_visits, int(_ticks(u.short_visit_cost_s, scale, up=True))) for u in units
        ],
    )
    return data, _Nodes(target_of, loc)


def _run(
    data: EngineInput,
    params: PlanParams,
    seed: int,
    on_progress: Callable[[float], None] | None = None,
) -> EngineResult:
    knobs = replace(
        params.knobs,
        first_solution=params.first_solution,
        metaheuristic=params.local_search,
        restarts=params.restarts,
    )
    return solve_engine(
        data,
        knobs=knobs,
        time_limit_s=params.time_limit_s,
        solution_limit=params.solution_limit,
        seed=seed,
        on_progress=on_progress,
    )


def _solve(
    data: EngineInput, params: PlanParams, on_progress: Callable[[float], None] | None
) -> EngineResult:
    if params.threads == 1:
        return _run(data, params, params.seed, on_progress)
    # Two searches in child processes: they cannot call back, so no progress is told.
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=2) as pool:
        jobs = [pool.submit(_run, data, params, params.seed * 2 + k) for k in range(2)]
        results = [j.result() for j in jobs]
    # Ties go to the first seed so threads=2 stays reproducible under a solution_limit.
    return min(results, key=lambda r: (r.objective < 0, r.objective))


# ----------------------------------------------------------------------------- extraction


def _time_route(
    problem: PatrolProblem,
    unit: Unit,
    targets: list[int],
    locs: list[int],
    break_after: int | None,
    start_s: float,
) -> UnitRoute:
    """Earliest-start schedule in float seconds for a fixed order of visits.

    ``break_after`` = number of visits done before the break (``None``: no break). Times are
    recomputed here rather than read from the solver so the plan is in exact seconds.
    """
    m = problem.travel[unit.matrix_key]
    t = start_s
    here = unit.start
    visits: list[Visit] = []
    travel = dwell = wait = prize = 0.0

    def take_break() -> None:
        nonlocal t, dwell
        assert unit.break_window is not None
        begin = max(t, unit.break_window[0])
        visits.append(
            Visit(f"break:{unit.unit_id}", here, "break", t, begin, begin + unit.break_s, 0.0)
        )
        dwell += unit.break_s
        t = begin + unit.break_s

    for k, (ti, loc) in enumerate(zip(targets, locs, strict=True)):
        if break_after == k:
            take_break()
        target = problem.targets[ti]
        leg = float(m[here, loc])
        arrive = t + leg
        begin = arrive
        if target.windows:
            opens = [lo for lo, hi in target.windows if arrive <= hi + _EPS]
            begin = max(arrive, min(opens)) if opens else arrive
        visits.append(
            Visit(
                target.target_id,
                loc,
                target.kind,
                arrive,
                begin,
                begin + target.dwell_s,
                target.priority,
            )
        )
        travel += leg
        dwell += target.dwell_s
        wait += begin - arrive
        prize += target.priority
        t = begin + target.dwell_s
        here = loc
    if break_after is not None and break_after >= len(targets):
        take_break()
    leg = float(m[here, unit.end])
    travel += leg
    return UnitRoute(unit.unit_id, tuple(visits), start_s, t + leg, travel, dwell, wait, prize)


def _drop_reason(problem: PatrolProblem, target: Target) -> str:
    ok, reason = _alone(problem, target)
    return "no time" if ok else reason


def _extract(
    problem: PatrolProblem, nodes: _Nodes, result: EngineResult, scale: float, started: float
) -> PatrolPlan:
    routes = []
    served: set[int] = set()
    for u, unit in enumerate(problem.units):
        seq = result.routes[u]
        targets = [nodes.target_of[n] for n in seq]
        served.update(targets)
        break_after = None
        tick = result.breaks[u]
        if unit.break_window is not None and tick is not None:
            # Place the break where the solver put it: after the last visit that began before.
            route = _time_route(
                problem, unit, targets, [nodes.loc[n] for n in seq], None, unit.shift_start_s
            )
            begins = [v.start_s for v in route.visits]
            break_after = sum(1 for b in begins if b * scale < tick)
        routes.append(
            _time_route(
                problem, unit, targets, [nodes.loc[n] for n in seq], break_after, unit.shift_start_s
            )
        )
    missing = [t for i, t in enumerate(problem.targets) if i not in served]
    lost = [t.target_id for t in missing if t.mandatory]
    if lost:
        msg = (
            f"Mandatory targets {lost} could not all be scheduled together (each fits alone); "
            f"add a unit, widen their windows or make some optional."
        )
        raise InfeasiblePlanError(msg)
    dropped = tuple(Dropped(t.target_id, _drop_reason(problem, t)) for t in missing)
    return PatrolPlan(
        tuple(routes),
        dropped,
        sum(r.prize for r in routes),
        result.status,
        time.perf_counter() - started,
    )


# ----------------------------------------------------------------------------- public


def plan_patrols(
    problem: PatrolProblem,
    *,
    params: PlanParams | None = None,
    on_progress: Callable[[float], None] | None = None,
) -> PatrolPlan:
    """Plan one shift: which unit visits which targets, in what order and when.

    Parameters
    ----------
    problem
        Units, targets and travel matrices.
    params
        Search settings; defaults to ``PlanParams()`` (10 s, seed 0, one thread).
    on_progress
        Told the share of the search budget used (0-1) after every search step, for a progress
        bar; not called with ``threads=2``.

    Returns
    -------
    PatrolPlan
        Routes with times, dropped targets with reasons, collected prize.

    Raises
    ------
    InfeasiblePlanError
        No unit on duty, a unit that cannot go from start to end within its shift, or a
        mandatory target that no unit can serve within its windows.
    """
    params = params or PlanParams()
    started = time.perf_counter()
    _check_feasible(problem)
    scale = params.time_scale or _auto_scale(problem)
    data, nodes = _engine_input(problem, scale)
    result = _solve(data, params, on_progress)
    if result.objective < 0:
        msg = f"OR-Tools found no plan ({result.status}); check shifts and mandatory targets."
        raise InfeasiblePlanError(msg)
    return _extract(problem, nodes, result, scale, started)


def replan(
    problem: PatrolProblem,
    plan: PatrolPlan,
    *,
    now_s: float,
    positions: Mapping[str, int],
    done: Set[str],
    removed_units: Set[str] = frozenset(),
    params: PlanParams | None = None,
) -> PatrolPlan:
    """Re-plan the rest of a shift from ``now_s``, keeping what is done.

    Each remaining unit starts at ``now_s`` from ``positions[unit_id]`` (a location index; by
    default where its last completed visit was, else its start). Targets in ``done`` are not
    planned again and their visits in ``plan`` are kept, first, in each unit's route (marked
    ``done``). Units in ``removed_units`` keep only their completed visits. A break whose start
    in ``plan`` is before ``now_s`` counts as taken.
    """
    kept: dict[str, list[Visit]] = {}
    for route in plan.routes:
        kept[route.unit_id] = [
            replace(v, done=True)
            for v in route.visits
            if v.target_id in done or (v.kind == "break" and v.start_s < now_s)
        ]
    units = []
    for u in problem.units:
        if u.unit_id in removed_units:
            continue
        here = positions.get(u.unit_id)
        if here is None:
            done_visits = [v for v in kept.get(u.unit_id, []) if v.kind != "break"]
            here = done_visits[-1].location if done_visits else u.start
        took_break = any(v.kind == "break" for v in kept.get(u.unit_id, []))
        window = u.break_window
        brk = u.break_s
        if window is not None and (took_break or max(window[0], now_s) + brk > window[1]):
            window, brk = None, 0.0
        elif window is not None:
            window = (max(window[0], now_s), window[1])
        units.append(
            replace(
                u,
                start=here,
                shift_start_s=max(now_s, u.shift_start_s),
                break_window=window,
                break_s=brk,
            )
        )
    rest = PatrolProblem(
        tuple(units), tuple(t for t in problem.targets if t.target_id not in done), problem.travel
    )
    fresh = plan_patrols(rest, params=params)
    routes = []
    for u in problem.units:
        old = tuple(kept.get(u.unit_id, []))
        prize_done = sum(v.prize for v in old)
        if u.unit_id in removed_units:
            routes.append(
                UnitRoute(u.unit_id, old, u.shift_start_s, now_s, 0.0, 0.0, 0.0, prize_done)
            )
            continue
        new = fresh.route(u.unit_id)
        routes.append(replace(new, visits=old + new.visits, prize=new.prize + prize_done))
    return PatrolPlan(
        tuple(routes), fresh.dropped, sum(r.prize for r in routes), fresh.status, fresh.wall_time_s
    )
