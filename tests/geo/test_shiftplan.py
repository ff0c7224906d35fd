"""Shift plans on the bundled Qingshuihe network: whole shifts, presence, beats, sweeps, legs."""

import itertools
import os
import subprocess
import sys
from dataclasses import replace

import geopandas as gpd
import numpy as np
import pytest
import shapely

from geo import crs
from geo.beats import BeatError
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
# The service's default search limit, on the standard roster.
FIELD = ShiftParams(solver=PlanParams(time_limit_s=60.0, solution_limit=6))


@pytest.fixture(scope="module")
def network():
    return read_lines(bundled_pack_path() / "roads.geojson")


@pytest.fixture(scope="module")
def east():
    pack = read_pack()
    roads = gpd.read_file(bundled_pack_path() / "roads.geojson")
    base = pack.stations.set_index("code").geometry["qsh-zfd-sq2"]
    area = pack.communities[pack.communities["squad"] == "east"].geometry.union_all()
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
    return (base.x, base.y), sweeps, spots, area


def _metres_to(polygon, stop):
    metric = shapely.transform(polygon, lambda c: np.column_stack(crs.to_metric(c[:, 0], c[:, 1])))
    x, y = crs.to_metric(stop.lon, stop.lat)
    return float(metric.distance(shapely.Point(float(x), float(y))))


def _roster(base, shift):
    meal = (11.5 * 3600, 13 * 3600) if shift == "early" else (17.5 * 3600, 19 * 3600)
    return [
        UnitOnDuty(f"{mode}-{k}", mode, base, base, break_window=meal, break_s=1800)
        for mode, k in (("foot", 1), ("foot", 2), ("ebike", 1), ("car", 1))
    ]


def _metres(a, b):
    x, y = crs.to_metric([a[0], b[0]], [a[1], b[1]])
    return float(np.hypot(x[1] - x[0], y[1] - y[0]))


def test_a_late_shift_sweeps_every_key_road_and_keeps_its_times(network, east):
    base, sweeps, spots, _ = east
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
    # A key road's pieces are swept as one road; the busiest roads in every period
    # (road#HHMM), the others once; coverage is measured piece by piece.
    swept = {s.target_id.split("#")[0] for u in plan.units for s in u.stops if s.kind == "sweep"}
    assert swept == {s.road_id for s in sweeps}
    assert set(plan.coverage) == {s.sweep_id for s in sweeps}
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


@pytest.fixture(scope="module")
def early(network, east):
    """The east squad's early shift, standard roster, ten hot spots, every key road."""
    base, sweeps, spots, area = east
    return plan_shift(
        network,
        units=_roster(base, "early"),
        shift=SHIFTS["early"],
        hotspots=spots[:10],
        sweeps=sweeps,
        area=area,
        params=FIELD,
    )


def test_every_unit_works_the_whole_shift_and_returns_at_its_end(early):
    plan = early
    metrics = plan.metrics
    assert metrics.idle_units == 0
    assert metrics.utilisation_min is not None
    assert metrics.utilisation_min >= 0.85
    assert metrics.returned_on_time == 1.0
    assert metrics.key_roads_swept == 1.0
    start, end = SHIFTS["early"]
    for unit in plan.units:
        kinds = {s.kind for s in unit.stops}
        assert kinds & {"hotspot", "sweep"}, f"{unit.unit_id} has only {kinds}"
        assert "patrol" in kinds  # the time between targets is patrolled, not waited
        meal = [s for s in unit.stops if s.kind == "break"]
        assert len(meal) == 1
        assert 11.5 * 3600 <= meal[0].start_s <= meal[0].departure_s <= 13 * 3600
        assert end - 900 <= unit.return_s <= end
        times = [(s.arrival_s, s.start_s, s.departure_s) for s in unit.stops]
        assert all(start <= a <= b <= c <= end for a, b, c in times)
        assert all(x[2] <= y[0] + 1e-6 for x, y in itertools.pairwise(times))


def test_each_hot_spot_is_visited_in_every_period_it_is_hot_never_back_to_back(network, east):
    base, _, spots, area = east
    evening = [0.0] * 24
    evening[19] = evening[20] = 8.0
    even = [1.0] * 24
    chosen = [
        HotSpot("stalls", spots[0].lon, spots[0].lat, priority=30.0, profile=tuple(evening)),
        *[
            HotSpot(h.spot_id, h.lon, h.lat, priority=h.priority, profile=tuple(even))
            for h in spots[1:5]
        ],
    ]
    plan = plan_shift(
        network,
        units=_roster(base, "late"),
        shift=SHIFTS["late"],
        hotspots=chosen,
        area=area,
        params=FIELD,
    )
    assert plan.metrics.hotspot_presence == 1.0
    visits = {s.target_id: s for u in plan.units for s in u.stops if s.kind == "hotspot"}
    # The evening stalls only in the 19-21 period; the others in all four.
    assert sorted(t for t in visits if t.startswith("stalls#")) == ["stalls#2100"]
    assert 19 * 3600 <= visits["stalls#2100"].start_s <= 21 * 3600 - 12 * 60
    for h in chosen[1:]:
        assert sorted(t.split("#")[1] for t in visits if t.startswith(f"{h.spot_id}#")) == [
            "1700",
            "1900",
            "2100",
            "2300",
        ]
    assert all(s.departure_s - s.start_s == pytest.approx(12 * 60) for s in visits.values())
    for unit in plan.units:
        targets_in_order = [
            s.target_id.split("#")[0] for s in unit.stops if s.kind in ("hotspot", "sweep", "task")
        ]
        assert all(a != b for a, b in itertools.pairwise(targets_in_order))


def test_foot_units_patrol_their_own_beats_and_cars_the_whole_area(early):
    plan = early
    beats = {u.unit_id: u.beat for u in plan.units}
    assert beats["car-1"] is None
    walkers = [b for uid, b in beats.items() if uid != "car-1"]
    assert all(b is not None and b.is_valid for b in walkers)
    # Beats are parts of the area, not the whole of it, and do not overlap much.
    for a, b in itertools.combinations(walkers, 2):
        assert a.intersection(b).area < 0.2 * min(a.area, b.area)
    for unit in plan.units:
        if unit.mode == "foot":
            # Waypoints are street nodes of the beat; a hot spot belongs to the beat of the
            # street node nearest it, so it may lie off the streets, outside the outline.
            for s in unit.stops:
                if s.kind == "patrol":
                    assert _metres_to(unit.beat, s) < 45, (unit.unit_id, s)
                if s.kind == "hotspot":
                    assert _metres_to(unit.beat, s) < 250, (unit.unit_id, s)
            assert not any(s.kind == "sweep" for s in unit.stops)


def _circle(centre, radius_m):
    """A polygon (WGS84) of ``radius_m`` around ``centre`` (lon, lat)."""
    x, y = crs.to_metric(*centre)
    metric = shapely.Point(float(x), float(y)).buffer(radius_m)
    return shapely.transform(metric, lambda c: np.column_stack(crs.from_metric(c[:, 0], c[:, 1])))


def test_a_beat_drawn_by_hand_is_the_units_and_the_others_share_the_rest(network, east):
    base, _, spots, area = east
    drawn = _circle((spots[3].lon, spots[3].lat), 400.0)
    plan = plan_shift(
        network,
        units=_roster(base, "early"),
        shift=SHIFTS["early"],
        hotspots=spots[:10],
        area=area,
        drawn_beats={"foot-2": drawn},
        params=FIELD,
    )
    beats = {u.unit_id: u for u in plan.units}
    mine = beats["foot-2"]
    assert mine.beat.equals(drawn)
    patrols = [s for s in mine.stops if s.kind == "patrol"]
    assert patrols
    assert all(drawn.contains(shapely.Point(s.lon, s.lat)) for s in patrols)
    assert all(
        drawn.contains(shapely.Point(s.lon, s.lat)) for s in mine.stops if s.kind == "hotspot"
    )
    # The other beats are drawn around what is left: no street of the drawn beat is theirs.
    for other in ("foot-1", "ebike-1"):
        legs = [s for s in beats[other].stops if s.kind == "patrol"]
        assert not any(drawn.contains(shapely.Point(s.lon, s.lat)) for s in legs), other


@pytest.mark.parametrize(
    ("unit", "where", "cause"),
    [
        ("car-1", None, "not a foot or e-bike unit"),
        ("foot-1", (114.0, 22.4), "holds no street"),
    ],
)
def test_a_beat_drawn_where_it_cannot_be_is_an_error_naming_the_unit(
    network, east, unit, where, cause
):
    base, _, spots, area = east
    centre = where or (spots[0].lon, spots[0].lat)
    with pytest.raises(BeatError, match=f"{unit}.*{cause}") as raised:
        plan_shift(
            network,
            units=_roster(base, "early"),
            shift=SHIFTS["early"],
            hotspots=spots[:4],
            area=area,
            drawn_beats={unit: _circle(centre, 300.0)},
            params=FAST,
        )
    assert raised.value.unit_id == unit


def test_a_foot_unit_far_from_its_beat_is_driven_there_and_collected(network, east):
    _, _, spots, area = east
    pack = read_pack()
    far = pack.stations.set_index("code").geometry["qsh-zfd-sq1"]  # the west squad's base
    units = [UnitOnDuty("foot-1", "foot", (far.x, far.y), (far.x, far.y))]
    plan = plan_shift(
        network,
        units=units,
        shift=SHIFTS["early"],
        hotspots=spots[:4],
        area=area,
        params=FIELD,
    )
    stops = plan.units[0].stops
    assert (stops[0].kind, stops[0].target_id) == ("transfer", "transfer:foot-1:out")
    assert (stops[-1].kind, stops[-1].target_id) == ("transfer", "transfer:foot-1:back")
    assert stops[0].start_s > SHIFTS["early"][0]  # the ride takes time
    assert plan.metrics.returned_on_time == 1.0
    assert plan.units[0].beat.buffer(0.0005).contains(shapely.Point(stops[0].lon, stops[0].lat))


def test_a_meal_window_outside_the_shift_is_an_error_naming_the_unit(network, east):
    base, _, spots, _ = east
    units = [
        UnitOnDuty("car-1", "car", base, base, break_window=(16 * 3600, 17 * 3600), break_s=1800)
    ]
    with pytest.raises(InfeasiblePlanError, match=r"car-1.*16:00-17:00.*07:00-15:00"):
        plan_shift(network, units=units, shift=SHIFTS["early"], hotspots=spots[:2], params=FAST)


def test_same_seed_and_budget_give_the_same_plan(network, east):
    base, sweeps, spots, _ = east
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
    assert plans[0].units == plans[1].units  # stops, times, paths, beats
    # Another seed patrols in another order: the legs are not something to learn.
    other = plan_shift(
        network,
        units=units,
        shift=SHIFTS["early"],
        hotspots=spots,
        sweeps=sweeps[:6],
        params=replace(FAST, solver=replace(FAST.solver, seed=1)),
    )
    assert [[s.lon for s in u.stops if s.kind == "patrol"] for u in other.units] != [
        [s.lon for s in u.stops if s.kind == "patrol"] for u in plans[0].units
    ]


def test_a_solution_limit_gives_the_same_plan_on_a_loaded_machine(network, east):
    # Busy cores slow the search down; they must not change where it stops, hence the plan.
    # One unit on foot cannot visit all 27 spots: the plan keeps changing over the iterations,
    # so a search cut short by the clock would show.
    base, _, spots, _ = east
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
    base, _, spots, _ = east
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
