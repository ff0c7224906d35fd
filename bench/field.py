"""Benchmark: the field scenario on the bundled Qingshuihe network.

Two squads, four units each (two on foot, one e-bike, one patrol car), 150 targets per squad
(hot spots ranked from a seeded demo month, the top three revisited every two hours, plus every
key-road piece of the squad to sweep). Both squads are planned at once, one process each (the
machine's two cores), and the script prints the wall time for both, each squad's collected
priority, the share of targets served and the key-road coverage.

    OMP_NUM_THREADS=1 python bench/field.py [--time-limit 8] [--shift late] [--seed 0]
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from concurrent.futures import ProcessPoolExecutor

import geopandas as gpd

from geo.hotspots import RankParams, rank_hotspots
from geo.jurisdiction import Jurisdiction
from geo.patrol import PlanParams
from geo.roadgraph import read_lines
from geo.shiftplan import SHIFTS, ShiftParams, ShiftPlan, Sweep, UnitOnDuty, plan_shift
from layers import bundled_pack_path, read_pack
from service.incidents.demo import generate_demo_incidents

ROSTER = (("foot", 2), ("ebike", 1), ("car", 1))
TARGETS = 150


def plan_squad(
    squad: str, shift: str, time_limit: float, seed: int
) -> tuple[ShiftPlan, int, float]:
    """Plan one squad; returns the plan, its number of targets and its planning seconds."""
    pack = read_pack()
    network = read_lines(bundled_pack_path() / "roads.geojson")
    roads = gpd.read_file(bundled_pack_path() / "roads.geojson")
    keys = set(pack.key_roads[pack.key_roads["squad"] == squad]["road_id"])
    sweeps = [
        Sweep(r.road_id, r.key_road_id, r.name_zh, r.geometry, bool(r.oneway))
        for r in roads.itertuples()
        if r.key_road_id in keys
    ]
    incidents = generate_demo_incidents(
        pack, start=dt.date(2026, 11, 1), days=28, seed=seed, daily_mean=120.0
    )
    where = Jurisdiction.build(pack.communities, pack.key_roads).resolve(
        incidents["lon"], incidents["lat"]
    )
    mine = incidents[(where["squad"] == squad).to_numpy()]
    local = mine["occurred_at"].dt.tz_convert("Asia/Shanghai")
    seconds = (local.dt.hour * 3600 + local.dt.minute * 60).to_numpy()
    revisits = 3 * 4  # three top spots, one visit per two-hour period of an eight-hour shift
    spots = rank_hotspots(
        mine["lon"],
        mine["lat"],
        seconds,
        shift=SHIFTS[shift],
        labels=mine["category"],
        params=RankParams(cell_m=75.0, top=TARGETS - len(sweeps) - revisits + 3, min_count=1.0),
    )
    base = pack.stations.set_index("code").geometry[
        pack.squads.set_index("code")["base_station"][squad]
    ]
    units = [
        UnitOnDuty(
            f"{squad}-{mode}-{k + 1}",
            mode,
            (base.x, base.y),
            (base.x, base.y),
            break_window=(17.5 * 3600, 19 * 3600) if shift == "late" else (11.5 * 3600, 13 * 3600),
            break_s=1800,
        )
        for mode, count in ROSTER
        for k in range(count)
    ]
    # Planning time: matrices, search and path assembly, not the data preparation above.
    started = time.perf_counter()
    plan = plan_shift(
        network,
        units=units,
        shift=SHIFTS[shift],
        hotspots=spots,
        sweeps=sweeps,
        traffic=shift,
        params=ShiftParams(revisit_top=3, solver=PlanParams(time_limit_s=time_limit, seed=seed)),
    )
    targets = len(spots) - 3 + revisits + len(sweeps)
    return plan, targets, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time-limit", type=float, default=8.0)
    parser.add_argument("--shift", default="late", choices=sorted(SHIFTS))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    with ProcessPoolExecutor(2) as pool:
        jobs = {
            squad: pool.submit(plan_squad, squad, args.shift, args.time_limit, args.seed)
            for squad in ("west", "east")
        }
        results = {squad: job.result() for squad, job in jobs.items()}
    wall = max(seconds for _, _, seconds in results.values())
    print(
        f"field scenario, {args.shift} shift, solver budget {args.time_limit:g} s per squad, "
        f"both squads in parallel: planning took {wall:.1f} s for both"
    )
    print(
        f"{'squad':6} {'targets':>8} {'served':>7} {'priority':>9} {'key roads':>10} "
        f"{'planning s':>10}  stops per unit"
    )
    for squad, (plan, targets, seconds) in results.items():
        served = targets - len(plan.dropped)
        stops = ", ".join(f"{u.unit_id.split('-', 1)[1]} {len(u.stops)}" for u in plan.units)
        print(
            f"{squad:6} {targets:8d} {served / targets:7.0%} {plan.objective:9.0f} "
            f"{plan.covered_share:10.0%} {seconds:10.1f}  {stops}"
        )


if __name__ == "__main__":
    main()
