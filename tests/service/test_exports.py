"""Exports of a stored plan: GeoJSON, GPX for handhelds, the printable briefing page."""

from __future__ import annotations

import copy
import json
import math
import re
from datetime import datetime, timedelta

import gpxpy
import pytest
from defusedxml import ElementTree

from service.plans.exports import plan_briefing_html, plan_geojson, plan_gpx

SVG = "{http://www.w3.org/2000/svg}"
DAY = "2026-12-01T"
STATION_W = (114.1010, 22.5800)
STATION_E = (114.1250, 22.5850)
MALICIOUS = "<script>alert(1)</script>"


def _t(hhmm: str) -> str:
    return f"{DAY}{hhmm}:00+08:00"


def _line(a, b, n=4):
    """``n`` evenly spaced steps from ``a`` to ``b`` (without ``a``)."""
    return [[a[0] + (b[0] - a[0]) * i / n, a[1] + (b[1] - a[1]) * i / n] for i in range(1, n + 1)]


def _stop(
    seq,
    target_id,
    kind,
    label,
    at,
    arrival,
    start,
    departure,
    *,
    priority=0.0,
    check=None,
    category_name=None,
):
    return {
        "seq": seq,
        "target_id": target_id,
        "kind": kind,
        "label": label,
        "category_name": category_name,
        "lon": at[0],
        "lat": at[1],
        "arrival": _t(arrival),
        "start": _t(start),
        "departure": _t(departure),
        "priority": priority,
        "check": check,
    }


def _unit(unit_id, mode, station, legs, stops, **totals):
    """A unit whose path runs from ``station`` through the ``legs`` points and back."""
    path = [list(station)]
    for point in [*legs, station]:
        path += _line(path[-1], point)
    return {"unit_id": unit_id, "mode": mode, "path": path, "stops": stops, **totals}


# West: a hot spot with a wait, the 金湖路 sweep, a task, the meal break at the task, a revisit.
C02_W = (114.1030, 22.5810)
JINHU_A, JINHU_MID, JINHU_B = (114.1050, 22.5820), (114.1060, 22.5820), (114.1070, 22.5820)
TASK_W = (114.1080, 22.5840)
# East: two hot spots (one with a hostile label), the 布心路 sweep, a break, a task.
C05_E = (114.1230, 22.5870)
EVIL_E = (114.1200, 22.5880)
BUXIN_A, BUXIN_MID, BUXIN_B = (114.1180, 22.5900), (114.1190, 22.5905), (114.1200, 22.5910)
TASK_E = (114.1220, 22.5920)


def make_plan():
    west = _unit(
        "west-foot-1",
        "foot",
        STATION_W,
        [C02_W, JINHU_A, JINHU_MID, JINHU_B, TASK_W, C02_W],
        [
            _stop(
                1,
                "cell-3388-16650",
                "hotspot",
                "C02",
                C02_W,
                "07:12",
                "07:15",
                "07:27",
                priority=14.0,
                check="street stalls, road occupation",
                category_name="占道施工与摆摊设点",
            ),
            _stop(
                2,
                "jinhu-lu-01",
                "sweep",
                "金湖路",
                JINHU_MID,
                "07:40",
                "07:40",
                "07:50",
                priority=0.0,
                check="路面 road surface",
            ),
            _stop(
                3,
                "task-17",
                "task",
                "回访 follow-up #17",
                TASK_W,
                "10:40",
                "10:40",
                "11:00",
                priority=20.0,
                check="shop front cleared?",
            ),
            _stop(4, "break:west-foot-1", "break", "meal break", TASK_W, "11:00", "11:00", "11:45"),
            _stop(
                5,
                "revisit:cell-3388-16650:2",
                "revisit",
                "C02",
                C02_W,
                "12:00",
                "12:00",
                "12:12",
                priority=14.0,
                check="street stalls again",
                category_name="占道施工与摆摊设点",
            ),
        ],
        distance_m=3120.0,
        travel_s=2700.0,
        dwell_s=5820.0,
        wait_s=180.0,
        priority=48.0,
    )
    east = _unit(
        "east-ebike-1",
        "ebike",
        STATION_E,
        [C05_E, EVIL_E, BUXIN_A, BUXIN_MID, BUXIN_B, TASK_E],
        [
            _stop(
                1,
                "cell-3390-16660",
                "hotspot",
                "C05",
                C05_E,
                "07:05",
                "07:05",
                "07:17",
                priority=9.0,
                check="unlicensed food stalls",
            ),
            _stop(
                2,
                "cell-3391-16661",
                "hotspot",
                MALICIOUS,
                EVIL_E,
                "07:22",
                "07:30",
                "07:42",
                priority=7.0,
                check="<b>bold</b> & more",
            ),
            _stop(3, "buxin-lu-02", "sweep", "布心路", BUXIN_MID, "07:50", "07:50", "07:56"),
            _stop(
                4, "break:east-ebike-1", "break", "meal break", BUXIN_B, "07:56", "11:30", "12:00"
            ),
            _stop(
                5,
                "task-18",
                "task",
                "复查 re-inspection",
                TASK_E,
                "12:05",
                "12:05",
                "12:25",
                priority=25.0,
                check="demolition done?",
            ),
        ],
        distance_m=4800.0,
        travel_s=1500.0,
        dwell_s=4380.0,
        wait_s=13320.0,
        priority=41.0,
    )
    return {
        "id": 12,
        "squad": "west",
        "squad_name": "巡查一中队",
        "date": "2026-12-01",
        "shift": "early",
        "shift_start": _t("07:00"),
        "shift_end": _t("15:00"),
        "layer_version": "qingshuihe@2026.11-approx",
        "created_at": "2026-11-30T18:00:00+08:00",
        "created_by": "cli:leader",
        "replan_of": None,
        "solver": {
            "status": "ROUTING_SUCCESS",
            "objective": 795.0,
            "wall_time_s": 3.1,
            "time_limit_s": 10.0,
            "seed": 0,
        },
        "coverage": {
            "share": 1.0,
            "pieces": [
                {
                    "sweep_id": "jinhu-lu-01",
                    "road_id": "jinhu-lu",
                    "name": "金湖路",
                    "share": 1.0,
                    "covered": True,
                },
                {
                    "sweep_id": "buxin-lu-02",
                    "road_id": "buxin-lu",
                    "name": "布心路",
                    "share": 1.0,
                    "covered": True,
                },
            ],
        },
        "units": [west, east],
        "dropped": [
            {"target_id": "cell-1-2", "kind": "hotspot", "label": "C01", "reason": "no time"}
        ],
        "hotspots": [
            {
                "spot_id": "cell-3388-16650",
                "lon": C02_W[0],
                "lat": C02_W[1],
                "priority": 14.0,
                "windows": [[_t("07:00"), _t("10:00")]],
                "label": "C02",
            }
        ],
    }


@pytest.fixture
def plan():
    return make_plan()


def _all_stops(plan):
    return [(u["unit_id"], s) for u in plan["units"] for s in u["stops"]]


# --- GeoJSON --------------------------------------------------------------------------------------


def test_geojson_has_a_line_per_unit_and_a_point_per_stop(plan):
    fc = plan_geojson(plan)
    assert fc["type"] == "FeatureCollection"
    kinds = [f["geometry"]["type"] for f in fc["features"]]
    assert kinds.count("LineString") == 2
    assert kinds.count("Point") == 10
    assert all(f["type"] == "Feature" for f in fc["features"])
    json.dumps(fc, ensure_ascii=False, allow_nan=False)  # serialisable as is


def test_geojson_coordinates_are_lon_lat(plan):
    fc = plan_geojson(plan)
    lines = [f for f in fc["features"] if f["geometry"]["type"] == "LineString"]
    assert [f["geometry"]["coordinates"] for f in lines] == [u["path"] for u in plan["units"]]
    points = [f for f in fc["features"] if f["geometry"]["type"] == "Point"]
    for feature, (_, stop) in zip(points, _all_stops(plan), strict=True):
        lon, lat = feature["geometry"]["coordinates"]
        assert (lon, lat) == (stop["lon"], stop["lat"])
        assert 113.0 < lon < 115.0
        assert 22.0 < lat < 23.0


def test_geojson_properties(plan):
    fc = plan_geojson(plan)
    line = fc["features"][0]
    assert line["properties"] == {
        "unit_id": "west-foot-1",
        "mode": "foot",
        "distance_m": 3120.0,
        "travel_s": 2700.0,
        "dwell_s": 5820.0,
        "stops": 5,
    }
    point = next(f for f in fc["features"] if f["properties"].get("kind") == "sweep")
    assert point["properties"] == {
        "unit_id": "west-foot-1",
        "seq": 2,
        "kind": "sweep",
        "label": "金湖路",
        "arrival": _t("07:40"),
        "start": _t("07:40"),
        "departure": _t("07:50"),
        "priority": 0.0,
        "check": "路面 road surface",
    }


def test_geojson_plan_member_holds_coverage_and_dropped(plan):
    fc = plan_geojson(plan)
    meta = fc["jiedao"]
    assert (meta["plan_id"], meta["squad"], meta["date"], meta["shift"]) == (
        12,
        "west",
        "2026-12-01",
        "early",
    )
    assert meta["coverage"]["share"] == 1.0
    assert [p["sweep_id"] for p in meta["coverage"]["pieces"]] == ["jinhu-lu-01", "buxin-lu-02"]
    assert meta["dropped"] == plan["dropped"]
    # Coverage pieces are properties only, not features.
    assert not any(f["properties"].get("sweep_id") for f in fc["features"])
    # The export is a copy: editing it leaves the stored plan alone.
    meta["dropped"][0]["reason"] = "edited"
    assert plan["dropped"][0]["reason"] == "no time"


def test_geojson_path_too_short_for_a_line_has_null_geometry(plan):
    plan["units"][1]["path"] = [list(STATION_E)]
    fc = plan_geojson(plan)
    lines = [f for f in fc["features"] if "stops" in f["properties"]]
    assert lines[1]["geometry"] is None
    assert lines[1]["properties"]["unit_id"] == "east-ebike-1"


# --- GPX -----------------------------------------------------------------------------------------


def test_gpx_parses_back_with_tracks_per_unit(plan):
    gpx = gpxpy.parse(plan_gpx(plan))
    assert gpx.version == "1.1"
    assert gpx.name == "jiedao plan 12 west 2026-12-01 early"
    assert [t.name for t in gpx.tracks] == ["west-foot-1 foot", "east-ebike-1 ebike"]
    for track, unit in zip(gpx.tracks, plan["units"], strict=True):
        assert len(track.segments) == 1
        coords = [[p.longitude, p.latitude] for p in track.segments[0].points]
        # Every path vertex, in order; a stop's vertex repeats at each of its times.
        deduped = [c for i, c in enumerate(coords) if i == 0 or c != coords[i - 1]]
        assert deduped == [
            c for i, c in enumerate(unit["path"]) if i == 0 or c != unit["path"][i - 1]
        ]


def test_gpx_waypoints_carry_names_and_utc_start_times(plan):
    gpx = gpxpy.parse(plan_gpx(plan))
    assert len(gpx.waypoints) == 10
    for wpt, (unit_id, stop) in zip(gpx.waypoints, _all_stops(plan), strict=True):
        assert wpt.name == f"{stop['seq']}. {stop['label']}"
        assert wpt.time.utcoffset() == timedelta(0)
        assert wpt.time == datetime.fromisoformat(stop["start"])
        assert (wpt.longitude, wpt.latitude) == (stop["lon"], stop["lat"])
        assert unit_id in wpt.description
        assert stop["start"][11:16] in wpt.description
        assert stop["departure"][11:16] in wpt.description
        if stop["check"]:
            assert stop["check"] in wpt.description
        assert wpt.type == stop["kind"]
    symbols = {w.type: w.symbol for w in gpx.waypoints}
    assert symbols["break"] == "Restaurant"
    assert len(set(symbols.values())) == 5


def test_gpx_waypoint_without_label_is_named_by_kind(plan):
    plan["units"][0]["stops"][3]["label"] = None
    gpx = gpxpy.parse(plan_gpx(plan, unit_id="west-foot-1"))
    assert gpx.waypoints[3].name == "4. break"


def test_gpx_track_times_are_interpolated_between_stops(plan):
    gpx = gpxpy.parse(plan_gpx(plan, unit_id="west-foot-1"))
    points = gpx.tracks[0].segments[0].points
    times = [p.time for p in points if p.time is not None]
    assert times == sorted(times)
    assert all(t.utcoffset() == timedelta(0) for t in times)
    # Leaving the station and going home: the plan does not say when, so no times.
    assert points[0].time is None
    assert points[-1].time is None

    def at(point):
        return [p.time for p in points if (p.longitude, p.latitude) == point]

    utc = datetime.fromisoformat
    assert at(C02_W)[:2] == [utc(_t("07:12")), utc(_t("07:27"))]
    # The sweep's middle is passed halfway through the sweep.
    assert at(JINHU_MID) == [utc(_t("07:45"))]
    # Task, then the break taken there: arrival, departure = break start, break end.
    assert at(TASK_W) == [utc(_t("10:40")), utc(_t("11:00")), utc(_t("11:45"))]
    # Halfway along the straight task -> C02 leg, halfway between 11:45 and 12:00.
    halfway = [(TASK_W[0] + C02_W[0]) / 2, (TASK_W[1] + C02_W[1]) / 2]
    mid = next(
        p
        for p in points
        if math.isclose(p.longitude, halfway[0]) and math.isclose(p.latitude, halfway[1])
    )
    assert abs((mid.time - utc(f"{DAY}11:52:30+08:00")).total_seconds()) <= 1


def test_gpx_stop_off_the_path_leaves_its_legs_untimed(plan):
    plan["units"][0]["stops"][2]["lon"] += 0.01  # ~1 km away from any path vertex
    gpx = gpxpy.parse(plan_gpx(plan, unit_id="west-foot-1"))
    points = gpx.tracks[0].segments[0].points
    times = [p.time for p in points if p.time is not None]
    assert times == sorted(times)
    assert datetime.fromisoformat(_t("10:40")) not in times
    assert len(gpx.waypoints) == 5


def test_gpx_restricted_to_one_unit(plan):
    gpx = gpxpy.parse(plan_gpx(plan, unit_id="east-ebike-1"))
    assert [t.name for t in gpx.tracks] == ["east-ebike-1 ebike"]
    assert len(gpx.waypoints) == 5
    assert all("east-ebike-1" in w.description for w in gpx.waypoints)


def test_gpx_keeps_hostile_text_as_text(plan):
    xml = plan_gpx(plan)
    assert MALICIOUS not in xml
    names = [w.name for w in gpxpy.parse(xml).waypoints]
    assert f"2. {MALICIOUS}" in names


# --- Briefing ------------------------------------------------------------------------------------


def _sections(html):
    return re.findall(r'<section class="unit".*?</section>', html, flags=re.S)


def _svg(section):
    return ElementTree.fromstring(re.search(r"<svg.*?</svg>", section, flags=re.S).group(0))


def test_briefing_lists_every_stop_time_and_label(plan):
    html = plan_briefing_html(plan)
    for unit, section in zip(plan["units"], _sections(html), strict=True):
        for stop in unit["stops"]:
            assert stop["start"][11:16] in section
            if stop["label"] != MALICIOUS:
                assert stop["label"] in section
            assert f"{stop['lon']:.5f}, {stop['lat']:.5f}" in section
        assert section.count("<tr><td") == len(unit["stops"])


def test_briefing_header_and_summary(plan):
    html = plan_briefing_html(plan, unit_id="west-foot-1")
    assert "巡查一中队" in html
    assert "07:00–15:00" in html
    assert "qingshuihe@2026.11-approx" in html
    assert "approximate layers" in html
    assert "步巡" in html
    assert "3.12 km" in html
    assert "45 min" in html  # travel 2700 s
    assert "97 min" in html  # dwell 5820 s
    plan["layer_version"] = "qingshuihe@2027.01"
    assert "approximate layers" not in plan_briefing_html(plan)


def test_briefing_stay_minutes_and_what(plan):
    section = _sections(plan_briefing_html(plan, unit_id="west-foot-1"))[0]
    assert '<td class="num">07:15</td><td class="num">12</td>' in section
    assert "占道施工与摆摊设点" in section
    assert "street stalls, road occupation" in section


def test_briefing_key_roads_per_unit(plan):
    west, east = _sections(plan_briefing_html(plan))
    assert "金湖路 (jinhu-lu-01) 07:40–07:50" in west
    assert "布心路" not in west
    assert "布心路 (buxin-lu-02)" in east
    plan["units"][0]["stops"].pop(1)
    assert "sweeps no key road" in plan_briefing_html(plan, unit_id="west-foot-1")


def test_briefing_svg_has_a_numbered_circle_per_stop(plan):
    html = plan_briefing_html(plan)
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    for unit, section in zip(plan["units"], _sections(html), strict=True):
        svg = _svg(section)
        assert svg.get("width") == "170mm"
        assert svg.get("viewBox").startswith("0 0 170 ")
        circles = svg.findall(f"{SVG}circle")
        assert len(circles) == len(unit["stops"])
        numbers = [t.text for t in svg.findall(f"{SVG}text") if t.get("class") == "stop-number"]
        assert numbers == [str(s["seq"]) for s in unit["stops"]]
        assert svg.find(f"{SVG}polyline") is not None
        groups = {g.get("class") for g in svg.findall(f"{SVG}g")}
        assert groups == {"scale-bar", "north-arrow"}


def test_briefing_map_is_equirectangular_with_a_true_scale_bar():
    lat0 = 22.58
    metres = 500.0
    dlat = metres / 111_195.08
    dlon = dlat / math.cos(math.radians(lat0))
    plan = make_plan()
    base = (114.11, lat0)
    east, north = (base[0] + dlon, lat0), (base[0], lat0 + dlat)
    stops = [
        _stop(i + 1, f"t{i}", "task", f"T{i}", p, "08:00", "08:00", "08:10")
        for i, p in enumerate([base, east, north])
    ]
    plan["units"] = [_unit("u1", "car", base, [east, north], stops, distance_m=1.0)]
    svg = _svg(_sections(plan_briefing_html(plan))[0])
    (x0, y0), (x1, y1), (x2, y2) = [
        (float(c.get("cx")), float(c.get("cy"))) for c in svg.findall(f"{SVG}circle")
    ]
    assert y1 == pytest.approx(y0, abs=0.01)  # east is level
    assert x2 == pytest.approx(x0, abs=0.01)  # north is straight up
    assert y2 < y0
    assert x1 - x0 == pytest.approx(y0 - y2, rel=0.002)  # same metres, same millimetres
    mm_per_m = (x1 - x0) / metres
    bar = next(g for g in svg.findall(f"{SVG}g") if g.get("class") == "scale-bar")
    length = float(re.search(r"H([\d.]+)", bar.find(f"{SVG}path").get("d")).group(1)) - float(
        re.search(r"M([\d.]+)", bar.find(f"{SVG}path").get("d")).group(1)
    )
    label = bar.find(f"{SVG}text").text
    value, unit = label.split()
    bar_m = float(value) * (1000.0 if unit == "km" else 1.0)
    assert length == pytest.approx(bar_m * mm_per_m, rel=0.01)


def test_briefing_escapes_hostile_text(plan):
    html = plan_briefing_html(plan)
    assert "<script" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; more" in html
    plan["squad_name"] = "<img src=x onerror=alert(1)>"
    assert "<img" not in plan_briefing_html(plan)


def test_briefing_escapes_markup_in_unit_id_label_and_squad_name(plan):
    hostile = "<script>alert('x')</script> & co"
    escaped = "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; co"
    plan["squad_name"] = hostile
    plan["units"][0]["unit_id"] = hostile
    plan["units"][0]["stops"][0]["label"] = hostile
    html = plan_briefing_html(plan)
    assert "<script" not in html
    assert "& co" not in html
    assert "&amp;lt;" not in html  # escaped once, not twice
    assert f'<section class="unit" id="unit-{escaped}">' in html
    assert f"<title>{escaped} 2026-12-01 early 巡逻简报 patrol briefing</title>" in html
    assert f"<h1>{escaped} 巡逻简报" in html
    assert f"<b>{escaped}</b>" in html
    assert f"<br>{escaped} 占道施工与摆摊设点</td>" in html
    # Still a page per unit, each with its map; the SVG reads back the original text.
    sections = _sections(html)
    assert len(sections) == 2
    for section in sections:
        assert "<svg" in section
    svg = _svg(sections[0])
    assert svg.find(f"{SVG}title").text == f"路线图 route map {hostile}"
    assert svg.find(f"{SVG}circle/{SVG}title").text == f"1. {hostile}"
    assert len(svg.findall(f"{SVG}circle")) == 5


def test_briefing_breaks_the_page_per_unit(plan):
    html = plan_briefing_html(plan)
    assert "size: A4 portrait" in html
    assert re.search(r"\.unit \{[^}]*page-break-after: always", html)
    assert len(_sections(html)) == 2
    assert len(_sections(plan_briefing_html(plan, unit_id="east-ebike-1"))) == 1


def test_briefing_of_a_unit_without_stops_or_path(plan):
    plan["units"][1].update(path=[], stops=[])
    section = _sections(plan_briefing_html(plan, unit_id="east-ebike-1"))[0]
    assert "no route" in section
    assert "<svg" not in section


# --- Unknown units ---------------------------------------------------------------------------


@pytest.mark.parametrize("export", [plan_gpx, plan_briefing_html])
def test_unknown_unit_is_a_key_error_naming_the_units(plan, export):
    with pytest.raises(KeyError, match=r"west-foot-1, east-ebike-1"):
        export(plan, unit_id="west-car-9")


def test_exports_leave_the_plan_unchanged(plan):
    before = copy.deepcopy(plan)
    plan_geojson(plan)
    plan_gpx(plan)
    plan_briefing_html(plan)
    assert plan == before
