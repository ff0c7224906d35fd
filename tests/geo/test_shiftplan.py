"""Shift plans on the bundled Qingshuihe network: stops, times, paths, sweeps and revisits."""

import itertools
import os
import subprocess
import sys

import geopandas as gpd
import numpy as np
import pytest
import shapely

from geo import crs
from geo.patrol import InfeasiblePlanError, PlanParams
from geo.roadgraph import read_lines
from geo.shiftplan import SHIFTS, HotSpot, ShiftParams, Sweep, Task, UnitOnDuty, plan_shift
from layers import bundled_pack_path, read_pack

# Plans stop after solution_limit iterations, never on the clock (the 60 s is a safety cap that
# no test comes near), so every test gets the same plan on a loaded machine.
FAST = ShiftParams(solver=PlanParams(time_limit_s=60.0, solution_limit=200))
# With a meal break and the span cost (ShiftParams.balance) an OR-Tools descent can take
# seconds: three iterations keep that test short.
WITH_BREAK = ShiftParams(solver=PlanParams(time_limit_s=60.0, solution_limit=3))


@pytest.fixture(scope="module")
def network():
    return read_lines(bundled_pack_path() / "roads.geojson")


@pytest.fixture(scope="module")
def east():
    pack = read_pack()
    roads = gpd.read_file(bundled_pack_path() / "roads.geojson")
    base = pack.stations.set_index("code").geometry["qsh-zfd-sq2"]
    keys = pack.key_roads[pack.key_roads["squad"] == "east"]["road_id"]
    sweeps = [
        Sweep(r.road_id, r.key_road_id, r.name_zh, r.geometry, bool(r.oneway))
        for r in roads[roads["key_road_id"].isin(keys)].itertuples()
    ]
    codes = pack.communities[pack.communities["squad"] == "east"]["code"]
    places = pack.places[pack.places["community"].isin(codes)]
    spots = [
        HotSpot(f"h{i}", p.x, p.y, priority=float(10 + i), label=name)
        for i, (p, name) in enumerate(zip(places.geometry, places["name_zh"], strict=True))
    ]
    return (base.x, base.y), sweeps, spots


def _metres(a, b):
    x, y = crs.to_metric([a[0], b[0]], [a[1], b[1]])
    return float(np.hypot(x[1] - x[0], y[1] - y[0]))


def test_a_late_shift_sweeps_every_key_road_and_keeps_its_times(network, east):
    base, sweeps, spots = east
    units = [
        UnitOnDuty("car-1", "car", base, base, break_window=(18 * 3600, 19.5 * 3600), break_s=1800),
        UnitOnDuty("foot-1", "foot", base, base),
    ]
    plan = plan_shift(
        network,
        units=units,
        shift=SHIFTS["late"],
        hotspots=spots[:8],
        sweeps=sweeps,
        traffic="late",
        params=WITH_BREAK,
    )
    assert plan.covered_share == 1.0
    swept = {s.target_id for u in plan.units for s in u.stops if s.kind == "sweep"}
    assert swept == {s.sweep_id for s in sweeps}
    start, end = SHIFTS["late"]
    for unit in plan.units:
        times = [(s.arrival_s, s.start_s, s.departure_s) for s in unit.stops]
        assert all(start <= a <= b <= c <= end for a, b, c in times)
        assert all(x[2] <= y[0] + 1e-6 for x, y in itertools.pairwise(times))
        if unit.stops and unit.path.length > 0:
            coords = shapely.get_coordinates(unit.path)
            # The path leaves from and returns to the base (within its access leg to the road).
            assert _metres(coords[0], base) < 80
            assert _metres(coords[-1], base) < 80
    car = next(u for u in plan.units if u.unit_id == "car-1")
    breaks = [s for s in car.stops if s.kind == "break"]
    assert len(breaks) == 1
    assert breaks[0].start_s >= 18 * 3600
    assert breaks[0].departure_s <= 19.5 * 3600


def test_the_top_hot_spot_is_visited_in_every_two_hour_period(network, east):
    base, _, spots = east
    plan = plan_shift(
        network,
        units=[UnitOnDuty("e-1", "ebike", base, base)],
        shift=SHIFTS["early"],
        hotspots=spots[:5],
        params=FAST,
    )
    top = max(spots[:5], key=lambda s: s.priority)
    visits = sorted(
        s.start_s for u in plan.units for s in u.stops if s.target_id.startswith(f"{top.spot_id}#")
    )
    start = SHIFTS["early"][0]
    assert [int((v - start) // 7200) for v in visits] == [0, 1, 2, 3]
    assert all(
        s.departure_s - s.start_s == pytest.approx(12 * 60)
        for u in plan.units
        for s in u.stops
        if s.kind in ("hotspot", "revisit")
    )


def test_same_seed_and_budget_give_the_same_plan(network, east):
    base, sweeps, spots = east
    units = [UnitOnDuty("car-1", "car", base, base), UnitOnDuty("e-1", "ebike", base, base)]
    plans = [
        plan_shift(
            network,
            units=units,
            shift=SHIFTS["early"],
            hotspots=spots,
            sweeps=sweeps[:6],
            params=FAST,
        )
        for _ in range(2)
    ]
    assert [[s.target_id for s in u.stops] for u in plans[0].units] == [
        [s.target_id for s in u.stops] for u in plans[1].units
    ]


def test_a_solution_limit_gives_the_same_plan_on_a_loaded_machine(network, east):
    # Busy cores slow the search down; they must not change where it stops, hence the plan.
    # One unit on foot cannot visit all 27 spots: the plan keeps changing over the iterations,
    # so a search cut short by the clock would show.
    base, _, spots = east
    units = [UnitOnDuty("foot-1", "foot", base, base)]
    params = ShiftParams(solver=PlanParams(time_limit_s=60.0, solution_limit=100, seed=1))

    def solve():
        return plan_shift(
            network, units=units, shift=SHIFTS["early"], hotspots=spots, params=params
        )

    quiet = solve()
    hogs: list[subprocess.Popen[bytes]] = []
    try:
        for _ in range(min(8, max(2, os.cpu_count() or 2))):
            hogs.append(subprocess.Popen([sys.executable, "-S", "-c", "while True: pass"]))
        loaded = solve()
        assert all(hog.poll() is None for hog in hogs)  # they spun through the whole solve
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()
    assert quiet.dropped  # the premise: not every spot fits
    assert loaded.units == quiet.units  # routes, stops with their times, paths, totals
    assert loaded.objective == quiet.objective
    assert loaded.dropped == quiet.dropped
    assert loaded.coverage == quiet.coverage


def test_an_unreachable_task_window_is_an_error_naming_it(network, east):
    base, _, spots = east
    far = spots[-1]
    task = Task(
        "check-17",
        far.lon,
        far.lat,
        dwell_s=600,
        windows=((SHIFTS["early"][0], SHIFTS["early"][0] + 10),),
    )
    with pytest.raises(InfeasiblePlanError, match="check-17"):
        plan_shift(
            network,
            units=[UnitOnDuty("foot-1", "foot", base, base)],
            shift=SHIFTS["early"],
            tasks=[task],
            params=FAST,
        )


def test_no_unit_on_duty_is_an_error(network):
    with pytest.raises(InfeasiblePlanError, match="No unit on duty"):
        plan_shift(network, units=[], shift=SHIFTS["early"])


def test_units_need_a_known_mode():
    with pytest.raises(ValueError, match="mode 'horse' unknown"):
        UnitOnDuty("u", "horse", (114.1, 22.58), (114.1, 22.58))
