"""Patrol plans through the API on both databases: plan, read, export, map, re-plan. A squad's
leader plans their own squad; the dispatcher and the leaders read plans."""

from datetime import date, datetime, timedelta

import gpxpy
import numpy as np
import pytest
import shapely
import shapely.geometry
from fastapi.testclient import TestClient

import layers
from geo import crs as geocrs
from service.core.timezones import BEIJING

from .helpers import as_, audit_rows, device, metro_point, stalls_by_the_metro

PLAN_DAY = date(2026, 11, 20)


@pytest.fixture
def qingshuihe(client: TestClient) -> TestClient:
    """The bundled Qingshuihe pack active, with a week of evening stalls by 泥岗 metro."""
    return stalls_by_the_metro(client, day=PLAN_DAY)


def _plan(client: TestClient, *, by: str = "squad-west", **fields):
    """POST /plans as ``t-<by>`` (the west squad's leader by default)."""
    body = {
        "squad": "west",
        "date": PLAN_DAY.isoformat(),
        "shift": "late",
        "time_limit_s": 3,
        **fields,
    }
    return client.post("/plans", json=body, headers=as_(client, by))


def _replan(client: TestClient, plan_id: int, *, by: str = "squad-west", **fields):
    body = {"now": f"{PLAN_DAY.isoformat()}T19:00:00+08:00", "time_limit_s": 2, **fields}
    return client.post(f"/plans/{plan_id}/replan", json=body, headers=as_(client, by))


def test_a_late_shift_plan_visits_the_stall_hot_spot_and_sweeps_the_key_roads(qingshuihe):
    response = _plan(qingshuihe)
    assert response.status_code == 201, response.text
    plan = response.json()
    assert response.headers["location"] == f"/plans/{plan['id']}"
    assert plan["created_by"] == "t-squad-west"
    assert plan["layer_version"] == layers.read_pack().label
    assert [u["unit_id"] for u in plan["units"]] == [
        "west-foot-1",
        "west-foot-2",
        "west-ebike-1",
        "west-car-1",
    ]
    assert plan["coverage"]["share"] == 1.0
    assert plan["hotspots"][0]["label"] == "C02"
    # One address, one cell: too concentrated for Gi* to test, so the busiest cells lead.
    assert plan["hotspot_source"] == "ranking"
    # The stalls happen 19:00-19:40: the top spot's visits fall inside its window.
    visits = [
        s
        for u in plan["units"]
        for s in u["stops"]
        if s["kind"] in ("hotspot", "revisit")
        and s["target_id"].startswith(plan["hotspots"][0]["spot_id"])
    ]
    assert visits
    # Called by community, street and category; the cell id stays the key.
    top = plan["hotspots"][0]
    community, street, category = top["name"].split(" · ")
    assert community in set(layers.read_pack().communities["name_zh"])
    assert street
    assert not street.startswith("g150m")
    assert category == top["category_name"]
    assert {s["label"] for s in visits} == {top["name"]}
    assert {s["category_name"] for s in visits} == {top["category_name"]}
    places = layers.read_pack().places
    metro_name = places[places["kind"] == "metro"]["name_zh"].iloc[0]
    assert visits[0]["near"] == f"{metro_name} 附近 near"  # named for the street, not lon/lat
    for stop in visits:
        start = datetime.fromisoformat(stop["start"]).astimezone(BEIJING)
        assert 17 <= start.hour <= 21
    breaks = [s for u in plan["units"] for s in u["stops"] if s["kind"] == "break"]
    assert len(breaks) == 4  # the default roster's meal breaks, 17:30-19:00
    again = qingshuihe.get(f"/plans/{plan['id']}").json()
    assert again["units"] == plan["units"]


def test_the_plan_document_carries_its_figures_and_beats(qingshuihe):
    plan = _plan(qingshuihe).json()
    metrics = plan["metrics"]
    assert set(metrics) == {
        "utilisation_min",
        "utilisation_mean",
        "idle_units",
        "hotspot_presence",
        "key_roads_swept",
        "returned_on_time",
    }
    # Every unit on duty works the shift: it patrols between targets and comes back at the end.
    assert metrics["utilisation_min"] >= 0.85
    assert metrics["returned_on_time"] == 1.0
    assert metrics["key_roads_swept"] == 1.0
    assert metrics["hotspot_presence"] == 1.0
    # One hot spot and the key roads do not need four units: the others say why.
    idle = [u for u in plan["units"] if u["note"]]
    assert len(idle) == metrics["idle_units"]
    for unit in idle:
        assert not any(s["kind"] in ("hotspot", "task", "sweep") for s in unit["stops"])
        assert "patrols its beat" in unit["note"]
    end = datetime.fromisoformat(plan["shift_end"])
    for unit in plan["units"]:
        assert (
            timedelta(0) <= end - datetime.fromisoformat(unit["returns"]) <= timedelta(minutes=15)
        )
        assert 0.85 <= unit["utilisation"] <= 1.0
        assert any(s["kind"] == "patrol" for s in unit["stops"])
        if unit["mode"] in ("foot", "ebike"):
            assert unit["beat"]["type"] in ("Polygon", "MultiPolygon")
        else:
            assert unit["beat"] is None
    # The presence visits are named spot#HHMM, the end of their period, and all planned.
    planned = {s["target_id"] for u in plan["units"] for s in u["stops"]}
    assert plan["presence"]
    assert set(plan["presence"]) <= planned
    assert all(t.split("#")[1] in {"1700", "1900", "2100", "2300"} for t in plan["presence"])
    top = plan["hotspots"][0]
    assert top["count"] > 0
    assert top["categories"][0][0] == "C02"
    assert len(top["hours"]) == 24
    assert top["hours"][19] == max(top["hours"])


def test_a_pinned_hot_spot_goes_to_its_unit_and_an_excluded_one_is_left_out(qingshuihe):
    first = _plan(qingshuihe).json()
    spot = first["hotspots"][0]["spot_id"]

    def visitors(plan):
        return {
            u["unit_id"]
            for u in plan["units"]
            for s in u["stops"]
            if s["kind"] == "hotspot" and s["target_id"].split("#")[0] == spot
        }

    assert visitors(first)
    pinned = _plan(qingshuihe, pin_hotspots={spot: "west-foot-2"}).json()
    assert visitors(pinned) == {"west-foot-2"}
    excluded = _plan(qingshuihe, exclude_hotspots=[spot]).json()
    assert spot not in {h["spot_id"] for h in excluded["hotspots"]}
    assert visitors(excluded) == set()
    wrong = _plan(qingshuihe, pin_hotspots={spot: "west-horse-1"})
    assert wrong.status_code == 422
    assert wrong.json()["detail"][0]["field"] == f"pin_hotspots.{spot}"


def _square(lon, lat, half_m, *, crs="wgs84"):
    """The corners of a square ``2 * half_m`` wide around (lon, lat), in ``crs``."""
    x, y = geocrs.to_metric(lon, lat)
    dx = np.array([-1, 1, 1, -1]) * half_m
    dy = np.array([-1, -1, 1, 1]) * half_m
    clon, clat = geocrs.from_metric(float(x) + dx, float(y) + dy)
    if crs == "gcj02":
        clon, clat = geocrs.wgs84_to_gcj02(clon, clat)
    return [{"lon": float(a), "lat": float(b), "crs": crs} for a, b in zip(clon, clat, strict=True)]


def test_a_beat_drawn_by_hand_is_planned_and_kept_on_a_replan(qingshuihe):
    first = _plan(qingshuihe).json()
    spot = first["hotspots"][0]
    outline = _square(spot["lon"], spot["lat"], 300.0, crs="gcj02")  # drawn on an Amap map
    plan = _plan(qingshuihe, beats={"west-foot-2": {"outline": outline}})
    assert plan.status_code == 201, plan.text
    plan = plan.json()
    assert plan["drawn_beats"] == ["west-foot-2"]
    drawn = shapely.Polygon(
        [tuple(map(float, geocrs.gcj02_to_wgs84(p["lon"], p["lat"]))) for p in outline]
    )
    unit = next(u for u in plan["units"] if u["unit_id"] == "west-foot-2")
    beat = shapely.geometry.shape(unit["beat"])
    assert beat.symmetric_difference(drawn).area < 0.01 * drawn.area  # stored as WGS84
    patrols = [s for s in unit["stops"] if s["kind"] == "patrol"]
    assert patrols
    assert all(drawn.buffer(1e-5).contains(shapely.Point(s["lon"], s["lat"])) for s in patrols)
    again = _replan(qingshuihe, plan["id"], removed_units=["west-car-1"]).json()
    kept = next(u for u in again["units"] if u["unit_id"] == "west-foot-2")
    assert shapely.geometry.shape(kept["beat"]).symmetric_difference(drawn).area < 0.01 * drawn.area


def test_a_beat_that_cannot_be_used_is_a_422_naming_it(qingshuihe):
    spot = _plan(qingshuihe).json()["hotspots"][0]
    x, y = geocrs.to_metric(spot["lon"], spot["lat"])
    cases = {
        "west-car-1": (_square(spot["lon"], spot["lat"], 300.0), "not a foot or e-bike"),
        "west-foot-1": (
            [  # a bow tie
                {"lon": spot["lon"] - 0.003, "lat": spot["lat"] - 0.003},
                {"lon": spot["lon"] + 0.003, "lat": spot["lat"] + 0.003},
                {"lon": spot["lon"] + 0.003, "lat": spot["lat"] - 0.003},
                {"lon": spot["lon"] - 0.003, "lat": spot["lat"] + 0.003},
            ],
            "not a simple outline",
        ),
        "west-foot-2": (_square(113.9, 22.4, 300.0), "outside the squad's area"),
        "west-ebike-1": (  # a 2 m square between the streets: no street point in it
            _square(*map(float, geocrs.from_metric(float(x) + 23.0, float(y) + 17.0)), 1.0),
            "holds no street",
        ),
    }
    for unit_id, (outline, cause) in cases.items():
        answer = _plan(qingshuihe, beats={unit_id: {"outline": outline}})
        assert answer.status_code == 422, (unit_id, answer.text)
        [item] = answer.json()["detail"]
        assert item["field"] == f"beats.{unit_id}", item
        assert cause in item["message"], item
        assert item["fix"]


def test_exports_and_the_route_map(qingshuihe):
    plan = _plan(qingshuihe).json()
    geojson = qingshuihe.get(f"/plans/{plan['id']}/geojson")
    assert geojson.headers["content-type"].startswith("application/geo+json")
    # A unit that never leaves the base has a null geometry, as GeoJSON allows.
    kinds = {f["geometry"]["type"] for f in geojson.json()["features"] if f["geometry"]}
    assert kinds == {"LineString", "Point"}
    gpx = gpxpy.parse(qingshuihe.get(f"/plans/{plan['id']}/gpx?unit=west-car-1").text)
    assert [t.name.split()[0] for t in gpx.tracks] == ["west-car-1"]
    car = next(u for u in plan["units"] if u["unit_id"] == "west-car-1")
    # Waypoints for the stops; the patrol legs are in the track.
    assert len(gpx.waypoints) == sum(s["kind"] != "patrol" for s in car["stops"])
    briefing = qingshuihe.get(f"/plans/{plan['id']}/briefing")
    assert briefing.status_code == 200
    assert "<svg" in briefing.text
    assert qingshuihe.get(f"/plans/{plan['id']}/gpx?unit=nobody").status_code == 404
    page = qingshuihe.get(f"/plans/{plan['id']}/map")
    assert page.status_code == 200
    assert "west-car-1" in page.text
    assert "cdn." not in page.text


def test_replan_after_a_dispatch_keeps_what_is_done(qingshuihe):
    plan = _plan(qingshuihe).json()
    now = f"{PLAN_DAY.isoformat()}T19:00:00+08:00"
    response = _replan(qingshuihe, plan["id"], now=now, removed_units=["west-car-1"])
    assert response.status_code == 201, response.text
    fresh = response.json()
    assert fresh["replan_of"] == plan["id"]
    assert fresh["created_by"] == "t-squad-west"
    cut = datetime.fromisoformat(now)
    for unit in fresh["units"]:
        done = [s for s in unit["stops"] if s["done"]]
        ahead = [s for s in unit["stops"] if not s["done"]]
        assert all(datetime.fromisoformat(s["start"]) <= cut for s in done)
        assert all(datetime.fromisoformat(s["start"]) >= cut for s in ahead)
        if unit["unit_id"] == "west-car-1":
            assert unit["removed"] is True
            assert ahead == []
    listed = qingshuihe.get("/plans", params={"squad": "west"}).json()
    assert {p["id"] for p in listed} >= {plan["id"], fresh["id"]}
    # The rest of the shift is still covered: the spots' later periods are visited, and the
    # remaining units patrol to the end.
    later = {t for t in plan["presence"] if t.split("#")[1] in ("2100", "2300")}
    assert later <= {s["target_id"] for u in fresh["units"] for s in u["stops"] if not s["done"]}
    assert fresh["metrics"]["returned_on_time"] == 1.0
    assert fresh["metrics"]["utilisation_min"] >= 0.85


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"squad": "north"}, "squad"),
        (
            {"units": [{"unit_id": "u1", "mode": "car", "start_station": "nowhere"}]},
            "units[0].start_station",
        ),
        ({"shift": "night"}, "shift"),
        ({"time_limit_s": 0}, "time_limit_s"),
    ],
)
def test_bad_plan_requests_name_the_field(qingshuihe, fields, field):
    response = _plan(qingshuihe, **fields)
    assert response.status_code == 422
    assert field in {d["field"] for d in response.json()["detail"]}


def test_a_pack_without_roads_cannot_plan(client):
    response = client.post(
        "/plans",
        json={"squad": "west", "date": "2026-11-20", "shift": "early", "time_limit_s": 1},
        headers=as_(client, "squad-west"),
    )
    assert response.status_code == 503
    assert response.json()["detail"][0]["field"] == "roads"


def test_dosage_closes_the_loop_between_plan_and_track(qingshuihe):
    plan = _plan(qingshuihe).json()
    # The first unit with a hot-spot stop parks there for the planned stay.
    unit, first = next(
        (u, s)
        for u in plan["units"]
        for s in u["stops"]
        if s["kind"] in ("hotspot", "revisit", "task")
    )
    spots = [s for s in unit["stops"] if s["kind"] in ("hotspot", "revisit", "task")]
    made = qingshuihe.post(
        "/units",
        json={
            "unit_id": unit["unit_id"],
            "name": unit["unit_id"],
            "squad": "west",
            "mode": unit["mode"],
            "members": {"enforcement_officer": 2},
            "home_station": "qsh-zfd-sq1",
        },
        headers=as_(qingshuihe, "squad-west"),
    )
    assert made.status_code == 201, made.text
    start = datetime.fromisoformat(first["start"])
    pings = [
        {"at": (start + timedelta(minutes=k)).isoformat(), "lon": first["lon"], "lat": first["lat"]}
        for k in range(13)
    ]
    stored = qingshuihe.post(
        f"/units/{unit['unit_id']}/positions",
        json={"pings": pings},
        headers=device(qingshuihe, unit["unit_id"]),
    )
    assert stored.status_code in (200, 201), stored.text
    report = qingshuihe.get(f"/plans/{plan['id']}/dosage").json()
    seen = next(u for u in report["units"] if u["unit_id"] == unit["unit_id"])
    by_target = {s["target_id"]: s for s in seen["stops"]}
    assert by_target[first["target_id"]]["visited"] is True
    # One twelve-minute stay proves one visit, even where two planned stops share the place.
    assert seen["visited"] == 1
    assert seen["planned"] == len(spots)
    silent = [u for u in report["units"] if u["unit_id"] != unit["unit_id"]]
    assert all(u["pings"] == 0 and u["visited"] == 0 for u in silent)


def test_a_squad_leader_plans_only_their_own_squad(qingshuihe):
    refused = _plan(qingshuihe, squad="east", time_limit_s=1)
    assert refused.status_code == 403, refused.text
    item = refused.json()["detail"][0]
    assert item["field"] == "squad"
    assert "east" in item["message"]
    assert "west" in item["fix"]
    by_name = _plan(qingshuihe, squad="巡查二中队", time_limit_s=1)  # the east squad by name
    assert by_name.status_code == 403, by_name.text
    assert qingshuihe.get("/plans").json() == []  # nothing stored
    refusals = audit_rows(qingshuihe, action="refused", actor="t-squad-west")
    assert [r.detail["permission"] for r in refusals] == ["scope:squad", "scope:squad"]


def test_a_squad_leader_cannot_replan_or_read_another_squads_plan(qingshuihe):
    east = _plan(qingshuihe, by="squad-east", squad="east", time_limit_s=1)
    assert east.status_code == 201, east.text
    east_id = east.json()["id"]
    refused = _replan(qingshuihe, east_id)
    assert refused.status_code == 403, refused.text
    item = refused.json()["detail"][0]
    assert item["field"] == "plan_id"
    assert "east" in item["message"]
    assert (
        qingshuihe.get(f"/plans/{east_id}", headers=as_(qingshuihe, "squad-west")).status_code
        == 403
    )
    assert qingshuihe.get("/plans", headers=as_(qingshuihe, "squad-west")).json() == []
    # Nothing was re-planned; the east leader may, and the dispatcher reads both.
    assert [p["id"] for p in qingshuihe.get("/plans").json()] == [east_id]
    again = _replan(qingshuihe, east_id, by="squad-east")
    assert again.status_code == 201, again.text
    assert again.json()["created_by"] == "t-squad-east"


def test_the_dispatcher_reads_plans_but_does_not_make_them(qingshuihe):
    refused = _plan(qingshuihe, by="dispatch", time_limit_s=1)
    assert refused.status_code == 403, refused.text
    assert "plans:create" in refused.json()["detail"][0]["message"]
    assert qingshuihe.get("/plans").json() == []
    plan = _plan(qingshuihe, time_limit_s=1).json()
    assert _replan(qingshuihe, plan["id"], by="dispatch").status_code == 403
    assert qingshuihe.get(f"/plans/{plan['id']}").status_code == 200
    assert [p["id"] for p in qingshuihe.get("/plans").json()] == [plan["id"]]


def _spin(stop):  # a CPU hog: keeps a core busy until told to stop
    while not stop.is_set():
        sum(i * i for i in range(10_000))


def _routes(plan):
    return [
        (u["unit_id"], [(s["target_id"], s["arrival"], s["departure"]) for s in u["stops"]])
        for u in plan["units"]
    ]


def test_the_same_request_gives_the_same_plan_under_a_cpu_hog(qingshuihe):
    """A search limit, not the wall clock, stops the search: load cannot change the plan."""
    import multiprocessing

    fields = {"solution_limit": 10, "time_limit_s": 300, "seed": 3}
    first = _plan(qingshuihe, **fields)
    assert first.status_code == 201, first.text
    context = multiprocessing.get_context("spawn")
    stop = context.Event()
    hogs = [context.Process(target=_spin, args=(stop,), daemon=True) for _ in range(2)]
    for hog in hogs:
        hog.start()
    try:
        second = _plan(qingshuihe, **fields)
    finally:
        stop.set()
        for hog in hogs:
            hog.join(timeout=10)
    assert second.status_code == 201, second.text
    a, b = first.json(), second.json()
    assert a["id"] != b["id"]
    assert _routes(a) == _routes(b)
    assert a["solver"]["objective"] == b["solver"]["objective"]
    assert any(stops for _, stops in _routes(a))


@pytest.mark.parametrize(
    ("fields", "cause"),
    [
        ({"units": []}, "unit"),
        (
            {
                "units": [
                    {
                        "unit_id": "west-car-1",
                        "mode": "car",
                        "break_start": "11:00",
                        "break_end": "12:00",
                    }
                ]
            },
            "meal window 11:00-12:00",
        ),
        # A mandatory check far from every station, due one minute after the shift starts.
        (
            {
                "tasks": [
                    {
                        "task_id": "inspect-far",
                        "location": {"lon": 114.1395, "lat": 22.6185},
                        "window_start": "15:00",
                        "window_end": "15:01",
                    }
                ]
            },
            "inspect-far",
        ),
    ],
)
def test_an_infeasible_plan_is_a_422_naming_the_cause(qingshuihe, fields, cause):
    response = _plan(qingshuihe, **fields)
    assert response.status_code == 422, response.text
    [item] = response.json()["detail"]
    assert cause in item["message"]
    assert item["fix"]


def test_reports_filed_during_a_solve_are_stored_before_the_solve_ends(qingshuihe):
    """The solve holds no writer lock (issue 12 §1): an urgent report filed while a plan is
    solved is answered at once, not after the plan. An ordering check, not a timing one: the
    plan runs for seconds (a search limit it cannot reach, a 6 s cap), the reports take
    milliseconds unless they wait for a lock."""
    import threading

    lon, lat = metro_point(layers.read_pack())
    finished: list[str] = []
    answers: dict[str, int] = {}

    def solve() -> None:
        answer = _plan(qingshuihe, solution_limit=100_000, time_limit_s=6)
        answers["plan"] = answer.status_code
        finished.append("plan")

    solver = threading.Thread(target=solve)
    solver.start()
    try:
        threading.Event().wait(1.5)  # the plan's inputs are read, the solve is running
        for i in range(3):
            report = qingshuihe.post(
                "/incidents",
                json={
                    "category": "C02",
                    "location": {"lon": lon, "lat": lat},
                    "occurred_at": datetime.now(BEIJING).isoformat(),
                    "source": "complaint",
                    "urgent": True,
                    "description": f"紧急 {i}",
                },
            )
            assert report.status_code == 201, report.text
            finished.append(f"report {i}")
    finally:
        solver.join(timeout=120)
    assert answers["plan"] == 201
    assert finished == ["report 0", "report 1", "report 2", "plan"]
