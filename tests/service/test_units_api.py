"""Units through the API on both databases: create, roster, status machine, positions, track."""

from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from service.core.timezones import BEIJING
from service.dispatch.models import UnitPing, UnitStatusEvent

from .helpers import MEIYUAN, as_, audit_rows, count_rows, device

NOW = datetime(2026, 11, 27, 10, 0, tzinfo=BEIJING)


@pytest.fixture
def units(client: TestClient):
    """The app with a fixed clock (10:00 Beijing) and no units."""
    client.app.state.clock = lambda: NOW  # type: ignore[attr-defined]
    yield client
    del client.app.state.clock  # type: ignore[attr-defined]


def make_unit(client, unit_id="west-car-1", *, by="admin", **fields):
    """Create a unit as the test user ``t-<by>`` (the administrator, or the squad's leader)."""
    body = {
        "unit_id": unit_id,
        "name": "西中队巡逻车1",
        "squad": "west",
        "mode": "car",
        "members": {"enforcement_officer": 2, "police_officer": 1},
        "home_station": "west-base",
        **fields,
    }
    response = client.post("/units", json=body, headers=as_(client, by))
    assert response.status_code == 201, response.text
    return response.json()


def set_roster(client, shift, codes, *, by="squad-west", day="2026-11-27"):
    """PUT the roster of one shift as a squad leader."""
    return client.put(f"/roster/{day}/{shift}", json={"units": codes}, headers=as_(client, by))


def on_duty(client, shift, day="2026-11-27"):
    """The unit ids on duty, as the dispatcher (who sees every squad) reads them."""
    return [u["unit_id"] for u in client.get(f"/roster/{day}/{shift}").json()["units"]]


def ping(minutes: float, point=MEIYUAN, **fields):
    return {
        "at": (NOW + timedelta(minutes=minutes)).isoformat(),
        "lon": point[0],
        "lat": point[1],
        **fields,
    }


def test_create_read_and_list_units(units):
    made = make_unit(units, squad="巡查一中队")  # a squad by name resolves to its code
    assert made["squad"] == "west"
    assert made["status"] == "off_duty"
    assert made["members"] == {"enforcement_officer": 2, "police_officer": 1}
    assert made["last_position"] is None
    assert made["stale"] is True  # nobody knows where it is
    make_unit(
        units,
        "backup-1",
        by="squad-east",  # a squad leader creates units of their own squad
        squad="east",
        mode="ebike",
        team="backup",
        home_station=None,
        status="available",
    )
    assert units.get("/units/west-car-1").json()["name"] == "西中队巡逻车1"
    assert [u["unit_id"] for u in units.get("/units").json()] == ["backup-1", "west-car-1"]
    assert [u["unit_id"] for u in units.get("/units?team=backup").json()] == ["backup-1"]
    assert [u["unit_id"] for u in units.get("/units?status=available").json()] == ["backup-1"]
    # A squad leader sees their own squad's units only.
    west = units.get("/units", headers=as_(units, "squad-west")).json()
    assert [u["unit_id"] for u in west] == ["west-car-1"]
    assert units.get("/units/backup-1", headers=as_(units, "squad-west")).status_code == 403
    [created] = audit_rows(units, action="create", entity="unit", entity_id="backup-1")
    assert created.actor == "t-squad-east"


def test_a_squad_leader_cannot_create_a_unit_of_another_squad(units):
    body = {"unit_id": "east-car-9", "name": "n", "squad": "east", "mode": "car"}
    refused = units.post("/units", json=body, headers=as_(units, "squad-west"))
    assert refused.status_code == 403, refused.text
    item = refused.json()["detail"][0]
    assert item["field"] == "squad"
    assert "east" in item["message"]
    assert units.get("/units/east-car-9").status_code == 404  # nothing stored
    # The dispatcher reads units but does not create them.
    assert units.post("/units", json=body).status_code == 403
    assert units.get("/units/east-car-9").status_code == 404


@pytest.mark.parametrize(
    ("fields", "status", "field"),
    [
        ({"mode": "horse"}, 422, "mode"),
        ({"members": {"张三": 1}}, 422, "members"),
        ({"squad": "north"}, 422, "squad"),
        ({"home_station": "nowhere"}, 422, "home_station"),
        ({"unit_id": "has space"}, 422, "unit_id"),
        ({"team": "swat"}, 422, "team"),
    ],
)
def test_bad_units_name_the_field(units, fields, status, field):
    body = {"unit_id": "u1", "name": "n", "squad": "west", "mode": "car", **fields}
    response = units.post("/units", json=body, headers=as_(units, "admin"))
    assert response.status_code == status, response.text
    detail = response.json()["detail"]
    assert field in {d["field"] for d in detail}
    assert all(d["fix"] for d in detail)


def test_a_unit_id_is_unique(units):
    make_unit(units)
    response = units.post(
        "/units",
        json={"unit_id": "west-car-1", "name": "x", "squad": "west", "mode": "car"},
        headers=as_(units, "squad-west"),
    )
    assert response.status_code == 409
    assert response.json()["detail"][0]["field"] == "unit_id"


def test_roster_per_date_and_shift(units):
    make_unit(units)
    make_unit(units, "west-foot-1", mode="foot")
    response = set_roster(units, "early", ["west-foot-1", "west-car-1"])
    assert response.status_code == 200, response.text
    assert response.json()["units"] == ["west-car-1", "west-foot-1"]
    set_roster(units, "early", ["west-car-1"])  # replaces
    assert on_duty(units, "early") == ["west-car-1"]
    assert units.get("/roster/2026-11-27/late").json()["units"] == []
    bad = set_roster(units, "early", ["west-car-1", "ghost"])
    assert bad.status_code == 404
    assert bad.json()["detail"][0]["field"] == "units[1]"
    assert set_roster(units, "night", []).status_code == 422
    assert set_roster(units, "early", [], day="2026-13-01").status_code == 422
    # The failed update stored nothing.
    assert on_duty(units, "early") == ["west-car-1"]
    # Only a squad leader sets the roster; the dispatcher reads it.
    assert units.put("/roster/2026-11-27/early", json={"units": []}).status_code == 403
    assert on_duty(units, "early") == ["west-car-1"]


def test_a_squad_leader_sets_only_their_own_squads_roster(units):
    make_unit(units)
    make_unit(units, "west-foot-1", mode="foot")
    make_unit(units, "east-car-1", squad="east", home_station=None)
    make_unit(units, "east-foot-1", squad="east", mode="foot", home_station=None)
    assert (
        set_roster(units, "early", ["east-car-1", "east-foot-1"], by="squad-east").status_code
        == 200
    )
    assert set_roster(units, "early", ["west-car-1"]).status_code == 200
    # An east unit on the west leader's roster: 403 naming the unit and the squad.
    refused = set_roster(units, "early", ["west-foot-1", "east-car-1"])
    assert refused.status_code == 403, refused.text
    item = refused.json()["detail"][0]
    assert item["field"] == "units[1]"
    assert "east-car-1" in item["message"]
    assert "west" in item["message"]
    assert on_duty(units, "early") == ["east-car-1", "east-foot-1", "west-car-1"]
    # Setting the west roster replaces the west units only: the east roster stays as it was.
    assert set_roster(units, "early", ["west-foot-1"]).status_code == 200
    assert on_duty(units, "early") == ["east-car-1", "east-foot-1", "west-foot-1"]
    assert set_roster(units, "early", []).status_code == 200
    assert on_duty(units, "early") == ["east-car-1", "east-foot-1"]
    # Each squad leader reads their own squad's part of the roster.
    west = units.get("/roster/2026-11-27/early", headers=as_(units, "squad-west")).json()
    assert west["units"] == []
    east = units.get("/roster/2026-11-27/early", headers=as_(units, "squad-east")).json()
    assert [u["unit_id"] for u in east["units"]] == ["east-car-1", "east-foot-1"]


def test_status_machine_records_every_change_and_refuses_invalid_ones(units):
    make_unit(units)
    refused = units.post("/units/west-car-1/status", json={"status": "en_route"})
    assert refused.status_code == 409
    item = refused.json()["detail"][0]
    assert "off_duty" in item["message"]
    assert "en_route" in item["message"]
    assert "available" in item["fix"]
    for status in ("available", "on_break", "available", "en_route", "on_scene", "returning"):
        response = units.post("/units/west-car-1/status", json={"status": status, "reason": "test"})
        assert response.status_code == 200, response.text
        assert response.json()["status"] == status
    assert count_rows(units, UnitStatusEvent) == 7  # created + six changes
    changes = audit_rows(units, action="status", entity="unit", entity_id="west-car-1")
    assert [(r.actor, r.after["status"]) for r in changes][:2] == [
        ("t-dispatch", "available"),
        ("t-dispatch", "on_break"),
    ]
    # The unit's own device may change its status too; a squad leader may not.
    own = units.post(
        "/units/west-car-1/status",
        json={"status": "available"},
        headers=device(units, "west-car-1"),
    )
    assert own.status_code == 200, own.text
    assert audit_rows(units, action="status", entity="unit")[-1].actor == "device:west-car-1"
    leader = units.post(
        "/units/west-car-1/status",
        json={"status": "on_break"},
        headers=as_(units, "squad-west"),
    )
    assert leader.status_code == 403
    assert units.post("/units/west-car-1/status", json={"status": "asleep"}).status_code == 422
    assert units.post("/units/ghost/status", json={"status": "available"}).status_code == 404


def test_positions_last_position_stale_out_of_order_and_duplicates(units):
    make_unit(units)
    own = device(units, "west-car-1")
    first = units.post("/units/west-car-1/positions", json=ping(-5, accuracy_m=8.0), headers=own)
    assert first.status_code == 200, first.text
    assert first.json() == {
        "unit_id": "west-car-1",
        "received": 1,
        "stored": 1,
        "duplicates": 0,
        "out_of_order": 0,
        "last_position_updated": True,
    }
    unit = units.get("/units/west-car-1").json()
    assert unit["last_position"]["age_s"] == 300.0
    assert unit["stale"] is True  # 5 minutes > 120 s
    batch = {
        "pings": [
            ping(-1, (MEIYUAN[0] + 0.001, MEIYUAN[1])),
            ping(-5),
            ping(-3, speed_mps=4.0),
            ping(-1, (MEIYUAN[0] + 0.001, MEIYUAN[1])),
        ]
    }
    answer = units.post("/units/west-car-1/positions", json=batch, headers=own).json()
    assert answer["stored"] == 2
    assert answer["duplicates"] == 2  # -5 stored before, -1 twice in the batch
    assert answer["last_position_updated"] is True
    unit = units.get("/units/west-car-1").json()
    assert unit["stale"] is False
    assert unit["last_position"]["lon"] == pytest.approx(MEIYUAN[0] + 0.001)
    # A late ping (older than the last position) joins the track but does not move the unit.
    late = units.post("/units/west-car-1/positions", json=ping(-4), headers=own).json()
    assert (late["stored"], late["out_of_order"], late["last_position_updated"]) == (1, 1, False)
    assert units.get("/units/west-car-1").json()["last_position"]["lon"] == pytest.approx(
        MEIYUAN[0] + 0.001
    )
    assert count_rows(units, UnitPing) == 4
    track = units.get("/units/west-car-1/track").json()
    line = track["features"][0]
    assert line["geometry"]["type"] == "LineString"
    assert len(line["geometry"]["coordinates"]) == 4
    times = [f["properties"]["at"] for f in track["features"][1:]]
    assert times == sorted(times)
    since = (NOW - timedelta(minutes=3, seconds=30)).isoformat()
    window = units.get("/units/west-car-1/track", params={"since": since}).json()
    assert len(window["features"]) == 3  # a line of two points and its two points


def test_gcj02_pings_are_stored_in_wgs84(units):
    make_unit(units)
    from geo import crs as geocrs

    lon, lat = geocrs.from_wgs84([MEIYUAN[0]], [MEIYUAN[1]], target="gcj02")
    stored = units.post(
        "/units/west-car-1/positions",
        json=ping(0, (float(lon[0]), float(lat[0])), crs="gcj02"),
        headers=device(units, "west-car-1"),
    )
    assert stored.status_code == 200, stored.text
    position = units.get("/units/west-car-1").json()["last_position"]
    assert position["lon"] == pytest.approx(MEIYUAN[0], abs=1e-5)
    assert position["lat"] == pytest.approx(MEIYUAN[1], abs=1e-5)


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ({"lat": 95.0}, "pings[2].lat"),
        ({"at": "2026-11-27T09:00:00"}, "pings[2].at"),
        ({"crs": "mars"}, "pings[2].crs"),
        ({"speed_mps": -1}, "pings[2].speed_mps"),
        ({"at": "2026-11-27T12:00:00+08:00"}, "pings[2].at"),  # two hours ahead of the clock
        ({"lng": 114.1}, "pings[2].lng"),
    ],
)
def test_a_bad_ping_refuses_the_whole_batch(units, bad, field):
    make_unit(units)
    batch = {"pings": [ping(-3), ping(-2), {**ping(-1), **bad}]}
    response = units.post(
        "/units/west-car-1/positions", json=batch, headers=device(units, "west-car-1")
    )
    assert response.status_code == 422, response.text
    assert field in {d["field"] for d in response.json()["detail"]}
    assert count_rows(units, UnitPing) == 0
    assert units.get("/units/west-car-1").json()["last_position"] is None


def test_positions_of_an_unknown_unit_and_bad_track_window(units):
    make_unit(units)
    own = device(units, "west-car-1")
    assert units.post("/units/ghost/positions", json=ping(0), headers=own).status_code == 404
    response = units.get(
        "/units/west-car-1/track", params={"since": NOW.isoformat(), "until": NOW.isoformat()}
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "until"


def test_a_units_device_posts_only_that_units_positions(units):
    make_unit(units)
    make_unit(units, "west-car-2")
    device_a = device(units, "west-car-1")
    refused = units.post("/units/west-car-2/positions", json=ping(-1), headers=device_a)
    assert refused.status_code == 403, refused.text
    item = refused.json()["detail"][0]
    assert item["field"] == "unit_id"
    assert "west-car-1" in item["message"]
    assert count_rows(units, UnitPing) == 0
    assert units.get("/units/west-car-2").json()["last_position"] is None
    [row] = audit_rows(units, action="refused")
    assert (row.actor, row.detail["permission"]) == ("device:west-car-1", "scope:unit")
    # Nor may a person post positions, not even the dispatcher; a device reads nothing.
    assert units.post("/units/west-car-2/positions", json=ping(-1)).status_code == 403
    assert units.get("/units/west-car-1", headers=device_a).status_code == 403
    # Its own unit's positions it may post.
    own = units.post("/units/west-car-1/positions", json=ping(-1), headers=device_a)
    assert own.status_code == 200, own.text
    assert count_rows(units, UnitPing) == 1
