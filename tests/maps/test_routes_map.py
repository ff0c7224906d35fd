"""The route map of a shift plan: a layer per unit, numbered stops, coverage colours."""

import geopandas as gpd
import pytest
import shapely

from geo import crs
from geo.patrol import PlanParams
from geo.roadgraph import read_lines
from geo.shiftplan import SHIFTS, HotSpot, ShiftParams, Sweep, UnitOnDuty, plan_shift
from layers import bundled_pack_path, read_pack
from maps import render_plan
from maps.routes import clock


@pytest.fixture(scope="module")
def planned():
    pack = read_pack()
    network = read_lines(bundled_pack_path() / "roads.geojson")
    roads = gpd.read_file(bundled_pack_path() / "roads.geojson")
    base = pack.stations.set_index("code").geometry["qsh-zfd-sq1"]
    sweeps = [
        Sweep(r.road_id, r.key_road_id, r.name_zh, r.geometry, bool(r.oneway))
        for r in roads[roads["key_road_id"] == "jinhu-lu"].itertuples()
    ]
    spots = [
        HotSpot(f"h{i}", p.x, p.y, priority=float(i + 1), label=str(n))
        for i, (p, n) in enumerate(
            zip(pack.places.geometry[:6], pack.places["name_zh"][:6], strict=True)
        )
    ]
    units = [
        UnitOnDuty("西-步1", "foot", (base.x, base.y), (base.x, base.y)),
        UnitOnDuty("西-车1", "car", (base.x, base.y), (base.x, base.y)),
    ]
    plan = plan_shift(
        network,
        units=units,
        shift=SHIFTS["early"],
        hotspots=spots,
        sweeps=sweeps,
        params=ShiftParams(solver=PlanParams(time_limit_s=30, solution_limit=6)),
    )
    return plan, spots, sweeps


def test_every_unit_has_its_layer_and_numbered_stops(planned):
    plan, spots, sweeps = planned
    html = render_plan(plan, hotspots=spots, sweeps=sweeps).get_root().render()
    for unit in plan.units:
        assert unit.unit_id in html
    # One numbered badge per stop; patrol legs are the path between them, not badges.
    stops = sum(1 for u in plan.units for s in u.stops if s.kind != "patrol")
    assert any(s.kind == "patrol" for u in plan.units for s in u.stops)
    assert stops >= len(spots)
    assert html.count("border-radius:50%;width:22px") == stops
    assert html.count("巡区 beat") == sum(u.beat is not None for u in plan.units) == 1
    assert "key roads swept 100%" in html
    assert "#2f855a" in html  # swept pieces drawn green
    first = next(s for u in plan.units for s in u.stops)
    assert f"start {clock(first.start_s)}" in html


def test_amap_moves_the_routes_by_the_gcj02_offset(planned):
    plan, _, _ = planned
    unit = next(u for u in plan.units if not u.path.is_empty)
    lon, lat = shapely.get_coordinates(unit.path)[0]
    glon, glat = crs.wgs84_to_gcj02(lon, lat)
    html = render_plan(plan, basemap="amap").get_root().render()
    assert f"[{float(glat)}, {float(glon)}]" in html
    assert f"[{lat}, {lon}]" not in html


def test_clock_formats_seconds_from_midnight():
    assert clock(7 * 3600) == "07:00"
    assert clock(15 * 3600 + 29) == "15:00"
    assert clock(22 * 3600 + 59 * 60 + 40) == "23:00"
