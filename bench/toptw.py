"""Benchmark: the patrol planner on TOP (Chao sets 1-6) and TOPTW (Cordeau pr01-pr10, m = 1..4).

Runs :func:`geo.patrol.plan_patrols` (OR-Tools) and optionally PyVRP and VROOM at the same wall
time, one thread each; every solution is re-checked by the independent checker in
``bench/_instances.py``. Prints per set: instances, mean and worst gap to the best-known score,
share accepted by the checker, and the geometric-mean score ratio against the other solvers.

    python bench/toptw.py --set chao --time-limit 10 --jobs 2
    python bench/toptw.py --set cordeau --solvers ortools,pyvrp,vroom --instances 'pr0*-m2'

Results also go to a CSV in /tmp (``--csv``), never into the repository; ``--reuse`` joins the
rows of solvers run earlier (e.g. PyVRP/VROOM) into the head-to-head table.

Model choices measured while tuning (mean gap to BKS on 6 Cordeau + 2 Chao instances at 3-5 s,
one thread; noise between runs is about +-1 point):

=====================================================  ==========
OR-Tools default search (AUTOMATIC, GLS off)            10.4 % (pr01-m2 only)
GLS, AUTOMATIC first solution, travel cost              9.4 %
GLS + relocate/exchange_and_make_active, extended swap  15.9 %
GLS, PARALLEL_CHEAPEST_INSERTION first solution         15.5 %
GLS, zero arc cost (prize only)                         12.9 % (pr01-m2)
SIMULATED_ANNEALING / TABU_SEARCH                       no better than GLS
OR-Tools' own ``use_iterated_local_search``             never perturbs here (greedy end)
Python-driven ILS (SISR ruin + OR-Tools descent)        6.2-6.9 %
  + lean operator set (no exchange/LNS/chain ops)       5.8 %
  + span cost instead of / with travel cost             7.7 % / 6.0 %
  + push 8 unvisited nodes into the ruin ("fill")       4.7 %
=====================================================  ==========

Tried since on pr02-m2, pr03-m3, pr06-m2, pr09-m4 at 5 s (the default scores 6.6 % there):
descents on the touched routes plus the 40-80 unvisited nodes nearest the ruin (2-3x more
iterations) 6.8-9.5 %; a prize-operators-only descent before each full one 7.1 %; OR-Tools'
multi-armed-bandit operator order 8.4 %; ``optimization_step`` 6.5-9.7 %; a prize factor near the
arc scale 6.2 % with ILS and 18.6 % with GLS; OR-Tools' own ruin-and-recreate ILS never leaves the
first local optimum here. Two seeds on both cores (``--threads 2``) scored 3.6 / 5.7 / 4.7 % on
every second instance of m = 2 / 3 / 4 at 10 s, no better than one.

Tried on pr02-pr09, m = 3 and 4, at 10 s (the default scores 5.6 % there): OR-Tools'
``ls_operator_neighbors_ratio`` 0.1 (min 10) makes each descent about 10x slower, 14.6 %;
``use_cp`` off in the descents runs 30x more iterations, but every descent from a partial
assignment then fails (18.5 %, the first solution only). The default search runs 20-40
descents in 10 s on the 288-customer instances (about 0.3 s each) and 100-400 on pr01/pr07:
the descent's cost, not the settings, is what holds the large instances back.

So the recreate step changed (``geo._insertion``, now the default): a vectorised
cheapest-ratio insertion with per-visit slack costs about 2 ms on pr06-m4 against 73 ms for a
descent, so 10 s hold about 1,900 steps instead of 30, with a descent on every new best and on
every ``targets / 25``-th step. All 40 Cordeau instances at 10 s, 2 jobs (mean gap %):

===================================  =====  =====  =====  =====  ================
                                     m = 1  m = 2  m = 3  m = 4  ratio to PyVRP
descent at every step (before)       2.30   4.66   5.74   5.87   0.980
insertion, threshold start 1.0       1.98   1.43   1.98   2.56   0.994
insertion, threshold start 3.0       1.29   1.77   1.35   2.10   0.998
  + descent every targets/25 steps   1.63   0.93   1.97   2.59   0.996
PyVRP at 10 s (same run)             1.30   1.23   1.22   1.87   1
===================================  =====  =====  =====  =====  ================

Tried with insertion on six large instances (noise between seeds about +-1 point): a descent
every 5 / 20 / 50 / 100 / 200 steps or only on new bests (no clear winner above 5, 5 is
worse); SISR ruins of 5 or 20 visits (no better than 10); threshold starts 0.3, 5 and 10 (worse
than 3); going back to the best plan after 300 or 1,000 steps without a new best (no better);
ratio noise 0 / 0.2 / 0.3 / 0.5 (0 gets stuck: pr10-m1 at 5.9 % under every other setting).
On Chao (every third instance) insertion scored set means 0.31 / 0.27 / 0 / 1.33 / 0.78 / 0 %
against 0 / 0.27 / 0 / 2.12 / 0.84 / 0 % for a descent at every step; p5.3.e (BKS 110) is 95
for OR-Tools, PyVRP and VROOM alike: the BKS route does not fit Tmax 8.3 once distances are
rounded up to the 0.001 grid.
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import statistics
import sys
import time
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._instances import Instance, check, gap_percent, load_set
from geo._toptw import SearchKnobs
from geo.patrol import InfeasiblePlanError, PatrolProblem, PlanParams, Target, Unit, plan_patrols

# Integer scale for the comparators (OR-Tools picks its own, see geo.patrol): Cordeau distances
# are on a 0.01 grid, Chao's are real numbers and are rounded up on a 0.001 grid.
_SCALE = {"cordeau": 100, "chao": 1000}


@dataclass
class Row:
    instance: str
    family: str
    solver: str
    score: float
    bks: float | None
    gap: float
    accepted: bool
    problem: str
    seconds: float


def to_problem(inst: Instance) -> PatrolProblem:
    """The instance as a patrol problem: one unit per route, one target per customer."""
    units = tuple(
        Unit(f"v{k}", inst.start, inst.end, float(inst.open_[inst.start]), inst.tmax)
        for k in range(inst.vehicles)
    )
    targets = []
    for i in inst.customers():
        windows = (
            ((float(inst.open_[i]), float(inst.close[i])),) if inst.family == "cordeau" else ()
        )
        targets.append(
            Target(
                str(i),
                i,
                dwell_s=float(inst.service[i]),
                priority=float(inst.score[i]),
                windows=windows,
            )
        )
    return PatrolProblem(units, tuple(targets), {"default": inst.distances()})


# PlanParams.threads for the OR-Tools runs: 2 = two seeds on both cores, the better plan wins.
ORTOOLS_THREADS = 1
# SearchKnobs overrides from --knobs (e.g. "insertion=0,polish_every=10"), for experiments.
KNOBS: dict[str, object] = {}


def run_ortools(
    inst: Instance, seconds: float, seed: int, *, route_pool: bool = True
) -> list[list[int]]:
    params = PlanParams(
        time_limit_s=seconds,
        seed=seed,
        threads=ORTOOLS_THREADS,
        knobs=SearchKnobs(**{"route_pool": route_pool, **KNOBS}),  # type: ignore[arg-type]
    )
    try:
        plan = plan_patrols(to_problem(inst), params=params)
    except InfeasiblePlanError:
        # 22 Chao instances (BKS 0) have Tmax < d(start, end): the planner refuses such units
        # by design; the literature's answer is the empty solution, which the checker scores.
        if inst.tmax < float(inst.distances()[inst.start, inst.end]):
            return []
        raise
    return [[int(v.target_id) for v in r.visits if v.kind != "break"] for r in plan.routes]


def _int_matrix(inst: Instance) -> np.ndarray:
    scale = _SCALE[inst.family]
    return np.ceil(np.round(inst.distances() * scale, 6)).astype(np.int64)


def run_pyvrp(inst: Instance, seconds: float, seed: int) -> list[list[int]]:
    import pyvrp
    from pyvrp.stop import MaxRuntime

    scale = _SCALE[inst.family]
    dist = _int_matrix(inst)
    tmax = math.floor(inst.tmax * scale + 1e-9)
    # Prizes dominate distance (lexicographic: score first), as in our own model.
    factor = int(inst.vehicles * tmax) + 1
    model = pyvrp.Model()
    locs = [model.add_location(float(x), float(y)) for x, y in inst.xy]
    start = model.add_depot(locs[inst.start], tw_early=0, tw_late=tmax)
    end = (
        start
        if inst.end == inst.start
        else model.add_depot(locs[inst.end], tw_early=0, tw_late=tmax)
    )
    model.add_vehicle_type(
        num_available=inst.vehicles, start_depot=start, end_depot=end, tw_early=0, tw_late=tmax
    )
    clients = inst.customers()
    for i in clients:
        model.add_client(
            locs[i],
            service_duration=round(inst.service[i] * scale),
            tw_early=math.ceil(inst.open_[i] * scale - 1e-9),
            tw_late=math.floor(inst.close[i] * scale + 1e-9),
            prize=round(inst.score[i]) * factor,
            required=False,
        )
    for a in range(inst.n):
        for b in range(inst.n):
            if a != b:
                model.add_edge(locs[a], locs[b], int(dist[a, b]), int(dist[a, b]))
    result = model.solve(stop=MaxRuntime(seconds), seed=seed, display=False)
    routes = []
    for route in result.best.routes():
        routes.append([clients[a.idx] for a in route if a.is_client()])
    return routes


def run_vroom(inst: Instance, seconds: float, seed: int) -> list[list[int]]:
    import vroom

    del seed  # VROOM is deterministic
    scale = _SCALE[inst.family]
    dist = _int_matrix(inst)
    tmax = math.floor(inst.tmax * scale + 1e-9)
    problem = vroom.Input()
    problem.set_durations_matrix(profile="car", matrix_input=dist)
    for k in range(inst.vehicles):
        problem.add_vehicle(
            vroom.Vehicle(
                k + 1,
                start=inst.start,
                end=inst.end,
                profile="car",
                time_window=vroom.TimeWindow(0, tmax),
            )
        )
    # VROOM priorities are ints 0..100: scale by the largest score; the checker rescores.
    top = float(inst.score.max()) or 1.0
    for i in inst.customers():
        windows = [
            vroom.TimeWindow(
                math.ceil(inst.open_[i] * scale - 1e-9), math.floor(inst.close[i] * scale + 1e-9)
            )
        ]
        problem.add_job(
            vroom.Job(
                i,
                location=i,
                default_service=round(inst.service[i] * scale),
                priority=round(100 * inst.score[i] / top),
                time_windows=windows,
            )
        )
    solution = problem.solve(exploration_level=5, nb_threads=1, timeout=timedelta(seconds=seconds))
    frame = solution.routes
    routes = []
    for _, group in frame.groupby("vehicle_id"):
        routes.append(
            [int(j) for j, kind in zip(group["id"], group["type"], strict=True) if kind == "job"]
        )
    return routes


def run_ortools_without_pool(inst: Instance, seconds: float, seed: int) -> list[list[int]]:
    """The planner without its route pool (geo._routepool): the pool's own baseline."""
    return run_ortools(inst, seconds, seed, route_pool=False)


RUNNERS = {
    "ortools": run_ortools,
    "ortools-nopool": run_ortools_without_pool,
    "pyvrp": run_pyvrp,
    "vroom": run_vroom,
}


def run_one(args: tuple[Instance, str, float, int]) -> Row:
    inst, solver, seconds, seed = args
    started = time.perf_counter()
    try:
        routes = RUNNERS[solver](inst, seconds, seed)
    except Exception as exc:  # a crash counts as a rejected solution, not a crashed benchmark
        return Row(
            inst.name,
            inst.family,
            solver,
            0.0,
            inst.bks,
            gap_percent(inst, 0.0),
            False,
            f"{type(exc).__name__}: {exc}",
            time.perf_counter() - started,
        )
    elapsed = time.perf_counter() - started
    result = check(inst, routes)
    score = result.score if result.ok else 0.0
    return Row(
        inst.name,
        inst.family,
        solver,
        score,
        inst.bks,
        gap_percent(inst, score),
        result.ok,
        result.problem,
        elapsed,
    )


def group_of(row: Row) -> str:
    if row.family == "chao":
        return "chao set " + row.instance.split(".")[0][1:]
    return "cordeau m=" + row.instance.rsplit("m", 1)[1]


def report(rows: list[Row], solvers: list[str]) -> None:
    by: dict[tuple[str, str], list[Row]] = defaultdict(list)
    for row in rows:
        by[group_of(row), row.solver].append(row)
    groups = sorted({g for g, _ in by})
    print(
        f"\n{'set':16} {'solver':8} {'n':>4} {'mean gap %':>10} {'worst %':>8} "
        f"{'checker ok':>10} {'mean s':>7}"
    )
    for g in groups:
        for s in solvers:
            rs = by.get((g, s), [])
            if not rs:
                continue
            gaps = [r.gap for r in rs if not math.isnan(r.gap)]
            print(
                f"{g:16} {s:8} {len(rs):4d} {statistics.fmean(gaps):10.2f} "
                f"{max(gaps):8.2f} {sum(r.accepted for r in rs) / len(rs):10.0%} "
                f"{statistics.fmean(r.seconds for r in rs):7.1f}"
            )
    others = [s for s in solvers if s != "ortools"]
    if "ortools" not in solvers or not others:
        return
    print(f"\n{'set':16} " + " ".join(f"{'ortools/' + s:>15}" for s in others))
    for g in [*groups, "all"]:
        cells = []
        for s in others:
            ours = {
                r.instance: r.score
                for r in rows
                if r.solver == "ortools" and (g == "all" or group_of(r) == g)
            }
            theirs = {
                r.instance: r.score
                for r in rows
                if r.solver == s and (g == "all" or group_of(r) == g)
            }
            # Instances where both score 0 (p1.2.a) carry no information; skip them.
            logs = [
                math.log(ours[k] / theirs[k])
                for k in ours
                if k in theirs and ours[k] > 0 and theirs[k] > 0
            ]
            cells.append(f"{math.exp(statistics.fmean(logs)):15.4f}" if logs else f"{'-':>15}")
        print(f"{g:16} " + " ".join(cells))


def _parse_knobs(text: str) -> dict[str, object]:
    """``name=value,...`` as SearchKnobs fields, each value parsed as the field's default is."""
    defaults = SearchKnobs()
    out: dict[str, object] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, _, value = item.partition("=")
        if not hasattr(defaults, name):
            raise SystemExit(f"--knobs: {name!r} is not a SearchKnobs field")
        kind = type(getattr(defaults, name))
        if kind is tuple:  # e.g. annealing=1.0:0.01
            out[name] = tuple(float(v) for v in value.split(":"))
        else:
            out[name] = bool(int(value)) if kind is bool else kind(value)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", choices=["chao", "cordeau", "all"], default="cordeau")
    parser.add_argument("--time-limit", type=float, default=10.0)
    parser.add_argument("--instances", nargs="*", default=[], help="name globs, e.g. p4.3.*")
    parser.add_argument("--every", type=int, default=1, help="take every k-th instance")
    parser.add_argument("--jobs", type=int, default=1, help="parallel processes (<= 2 here)")
    parser.add_argument("--solvers", default="ortools")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--threads",
        type=int,
        choices=[1, 2],
        default=1,
        help="OR-Tools on both cores (two seeds); run with --jobs 1",
    )
    parser.add_argument("--knobs", default="", help="SearchKnobs overrides: name=value,...")
    parser.add_argument("--csv", default=f"/tmp/toptw_{os.getpid()}.csv")
    parser.add_argument(
        "--reuse",
        nargs="*",
        default=[],
        help="earlier CSVs whose rows of other solvers join the head-to-head",
    )
    args = parser.parse_args()

    global ORTOOLS_THREADS
    ORTOOLS_THREADS = args.threads
    KNOBS.update(_parse_knobs(args.knobs))
    if args.threads == 2 and args.jobs > 1:
        parser.error("--threads 2 already uses both cores: pass --jobs 1")
    families = ["chao", "cordeau"] if args.set == "all" else [args.set]
    instances = [i for f in families for i in load_set(f, args.instances)][:: args.every]
    solvers = [s.strip() for s in args.solvers.split(",") if s.strip()]
    work = [(inst, s, args.time_limit, args.seed) for inst in instances for s in solvers]
    print(
        f"{len(instances)} instances x {solvers} at {args.time_limit} s, {args.jobs} job(s)",
        flush=True,
    )
    rows: list[Row] = []
    with open(args.csv, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(Row.__dataclass_fields__)
        if args.jobs > 1:
            with ProcessPoolExecutor(max_workers=args.jobs) as pool:
                results = pool.map(run_one, work)
                for row in results:
                    rows.append(row)
                    writer.writerow(row.__dict__.values())
                    handle.flush()
                    print(
                        f"{row.instance:12} {row.solver:8} {row.score:7.0f} "
                        f"bks {row.bks} gap {row.gap:6.2f}% ok={row.accepted} "
                        f"{row.problem}",
                        flush=True,
                    )
        else:
            for item in work:
                row = run_one(item)
                rows.append(row)
                writer.writerow(row.__dict__.values())
                handle.flush()
                print(
                    f"{row.instance:12} {row.solver:8} {row.score:7.0f} bks {row.bks} "
                    f"gap {row.gap:6.2f}% ok={row.accepted} {row.problem}",
                    flush=True,
                )
    names = {inst.name for inst in instances}
    for path in args.reuse:
        with open(path, newline="") as handle:
            for rec in csv.DictReader(handle):
                if rec["instance"] in names and rec["solver"] not in solvers:
                    rows.append(
                        Row(
                            rec["instance"],
                            rec["family"],
                            rec["solver"],
                            float(rec["score"]),
                            float(rec["bks"]) if rec["bks"] else None,
                            float(rec["gap"]),
                            rec["accepted"] == "True",
                            rec["problem"],
                            float(rec["seconds"]),
                        )
                    )
    shown = solvers + sorted({r.solver for r in rows} - set(solvers))
    report(rows, shown)
    print(f"\nCSV: {args.csv}")


if __name__ == "__main__":
    main()
