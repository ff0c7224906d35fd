"""Dispatch through the API on both databases: recommend, assign (one winner under real
concurrency on PostGIS), reassign, cancel, re-plan on assignment, the case lifecycle and its
timeline, clocks, backup requests. Each step is taken by the role whose step it is (the
dispatcher sends units and records on scene and handled; the case team accepts, verifies,
reopens and parks)."""

import threading
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient

import layers
from service.core.timezones import BEIJING
from service.dispatch.models import Assignment, IncidentEvent

from .helpers import (
    MEIYUAN,
    activate_bundled_pack,
    as_,
    audit_rows,
    body,
    count_rows,
    device,
    metro_point,
    offset_m,
)

NOW = datetime(2026, 11, 27, 10, 0, tzinfo=BEIJING)
# Who records each step by default: on scene and handled are the dispatcher's, the rest the
# case team's (service/auth/roles.py).
DISPATCHER_STEPS = frozenset({"on_scene", "handled"})


@pytest.fixture
def clocked(client: TestClient):
    """The app at a fixed clock, 10:00 Beijing (the early shift)."""
    client.app.state.clock = lambda: NOW  # type: ignore[attr-defined]
    yield client
    del client.app.state.clock  # type: ignore[attr-defined]


def unit(
    client,
    unit_id,
    *,
    squad="west",
    mode="car",
    status="available",
    at=None,
    point=None,
    team="patrol",
):
    response = client.post(
        "/units",
        json={
            "unit_id": unit_id,
            "name": unit_id,
            "squad": squad,
            "mode": mode,
            "team": team,
            "members": {"enforcement_officer": 2},
            "status": status,
        },
        headers=as_(client, "admin"),
    )
    assert response.status_code == 201, response.text
    if point is not None:
        response = client.post(
            f"/units/{unit_id}/positions",
            json={"at": (at or NOW).isoformat(), "lon": point[0], "lat": point[1]},
            headers=device(client, unit_id),
        )
        assert response.status_code == 200, response.text


def incident(client, point=MEIYUAN, *, by="info", **fields):
    """File an incident as ``t-<by>``: the information officer of 梅园 by default (the test
    pack); on the bundled pack the dispatcher files them."""
    occurred = (NOW - timedelta(minutes=30)).isoformat()
    response = client.post(
        "/incidents",
        json=body(point, occurred_at=occurred, reported_at=occurred, **fields),
        headers=as_(client, by),
    )
    assert response.status_code == 201, response.text
    return response.json()["id"]


def assign(client, incident_id, unit_id, *, by="dispatch", **fields):
    return client.post(
        f"/incidents/{incident_id}/assignments",
        json={"unit_id": unit_id, **fields},
        headers=as_(client, by),
    )


def step(client, incident_id, name, *, by=None, **fields):
    """Record a step as ``t-<by>``; by default as the role whose step it is."""
    if by is None:
        by = "dispatch" if name in DISPATCHER_STEPS else "case"
    return client.post(
        f"/incidents/{incident_id}/events",
        json={"step": name, **fields},
        headers=as_(client, by),
    )


def test_assign_reassign_and_cancel(clocked):
    unit(clocked, "west-car-1")
    unit(clocked, "west-ebike-1", mode="ebike")
    unit(clocked, "west-foot-1", mode="foot", status="off_duty")
    iid = incident(clocked)
    first = assign(clocked, iid, "west-car-1")
    assert first.status_code == 201, first.text
    made = first.json()
    assert (made["unit_id"], made["status"], made["incident_status"], made["unit_status"]) == (
        "west-car-1",
        "active",
        "dispatched",
        "en_route",
    )
    assert made["replanned_plan_id"] is None
    assert made["replan_error"] is None
    # A second assignment without replace: 409 with who is assigned and since when.
    second = assign(clocked, iid, "west-ebike-1", by="dispatch2")
    assert second.status_code == 409
    current = second.json()["current"]["assignment"]
    assert (current["unit_id"], current["assigned_by"]) == ("west-car-1", "t-dispatch")
    assert current["assigned_at"] == NOW.isoformat()
    assert "replace" in second.json()["detail"][0]["fix"]
    # A unit that is not available cannot be sent.
    other = incident(clocked, offset_m(MEIYUAN, 100))
    busy = assign(clocked, other, "west-car-1")
    assert busy.status_code == 409
    assert busy.json()["detail"][0]["field"] == "unit_id"
    assert assign(clocked, other, "west-foot-1").status_code == 409  # off duty
    assert assign(clocked, other, "ghost").status_code == 404
    # Reassign: the old assignment is superseded and its unit freed.
    swapped = assign(clocked, iid, "west-ebike-1", replace=True, reason="closer")
    assert swapped.status_code == 201, swapped.text
    assert swapped.json()["superseded"]["status"] == "superseded"
    assert clocked.get("/units/west-car-1").json()["status"] == "available"
    assert clocked.get("/units/west-ebike-1").json()["status"] == "en_route"
    # Cancel: the unit is available again and the case waits for a dispatch.
    aid = swapped.json()["id"]
    # Only the dispatcher sends and cancels: the case team may not.
    assert (
        clocked.delete(
            f"/incidents/{iid}/assignments/{aid}", headers=as_(clocked, "case")
        ).status_code
        == 403
    )
    assert assign(clocked, other, "west-car-1", by="case").status_code == 403
    cancelled = clocked.delete(f"/incidents/{iid}/assignments/{aid}")
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["cancelled_by"] == "t-dispatch"
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["incident_status"] == "reported"
    assert clocked.get("/units/west-ebike-1").json()["status"] == "available"
    assert clocked.delete(f"/incidents/{iid}/assignments/{aid}").status_code == 409
    assert clocked.delete(f"/incidents/{iid}/assignments/999999").status_code == 404
    steps = [e["step"] for e in clocked.get(f"/incidents/{iid}/timeline").json()["events"]]
    assert steps == ["reported", "dispatched", "reassigned", "assignment_cancelled"]
    listed = clocked.get(f"/incidents/{iid}/assignments").json()
    assert [a["status"] for a in listed] == ["superseded", "cancelled"]


def test_the_case_lifecycle_with_its_timeline(clocked):
    unit(clocked, "west-car-1")
    iid = incident(clocked)
    assert step(clocked, iid, "accepted", note="立案").status_code == 201
    assert assign(clocked, iid, "west-car-1").status_code == 201
    arrived = step(clocked, iid, "on_scene")
    assert arrived.json()["status"] == "on_scene"
    assert clocked.get("/units/west-car-1").json()["status"] == "on_scene"
    assert step(clocked, iid, "handled", note="摊贩已劝离").status_code == 201
    assert clocked.get("/units/west-car-1").json()["status"] == "returning"
    # The dispatcher who recorded handled may not verify and close: not their role (403).
    by_dispatcher = step(clocked, iid, "verified_closed", by="dispatch")
    assert by_dispatcher.status_code == 403, by_dispatcher.text
    assert "verified_closed" in by_dispatcher.json()["detail"][0]["message"]
    assert clocked.get(f"/incidents/{iid}").json()["status"] == "handled"
    assert (
        step(clocked, iid, "reopened", by="case2", note="摊贩回来了").json()["status"]
        == "dispatched"
    )
    # Handled again, at the desk by the case team: that member may not verify their own work.
    assert step(clocked, iid, "handled", by="case").status_code == 201
    own = step(clocked, iid, "verified_closed", by="case")
    assert own.status_code == 403, own.text
    assert "verifier_differs_from_handler" in own.json()["detail"][0]["message"]
    closed = step(clocked, iid, "verified_closed", by="case2")
    assert closed.status_code == 201, closed.text
    assert closed.json()["status"] == "verified_closed"
    assert closed.json()["actor"] == "t-case2"
    done = clocked.get(f"/incidents/{iid}/assignments").json()
    assert [(a["status"], a["cancelled_by"]) for a in done if a["status"] != "superseded"] == [
        ("completed", "t-case2")
    ]
    events = clocked.get(f"/incidents/{iid}/timeline").json()["events"]
    assert [(e["step"], e["actor"]) for e in events] == [
        ("reported", "t-info"),
        ("accepted", "t-case"),
        ("dispatched", "t-dispatch"),
        ("on_scene", "t-dispatch"),
        ("handled", "t-dispatch"),
        ("reopened", "t-case2"),
        ("handled", "t-case"),
        ("verified_closed", "t-case2"),
    ]
    assert all(e["at"] for e in events)
    # Closed: no more steps or assignments; Open311 says closed.
    again = step(clocked, iid, "parked", note="x")
    assert again.status_code == 409
    assert "closed" in again.json()["detail"][0]["fix"]
    assert assign(clocked, iid, "west-car-1").status_code == 409
    number = clocked.get(f"/incidents/{iid}").json()["number"]
    assert clocked.get(f"/open311/v2/requests/{number}.json").json()[0]["status"] == "closed"


# Each path by which a case leaves its unit: (steps after the assignment, the assignment's
# end). Parked while a unit is on it, the case goes back to the queue when unparked.
UNIT_RELEASES = {
    "parked en route": (("parked",), "cancelled"),
    "parked on scene": (("on_scene", "parked"), "cancelled"),
    "parked once handled": (("on_scene", "handled", "parked"), "cancelled"),
    "verified and closed": (("on_scene", "handled", "verified_closed"), "completed"),
}


@pytest.mark.parametrize("path", UNIT_RELEASES)
def test_a_case_that_leaves_its_unit_frees_it(clocked, path):
    steps, ended = UNIT_RELEASES[path]
    unit(clocked, "west-car-1")
    iid = incident(clocked)
    assert assign(clocked, iid, "west-car-1").status_code == 201
    for name in steps:
        answer = step(clocked, iid, name, note="等待业主到场" if name == "parked" else None)
        assert answer.status_code == 201, answer.text
    assert clocked.get("/units/west-car-1").json()["status"] == "available"
    [assignment] = clocked.get(f"/incidents/{iid}/assignments").json()
    assert assignment["status"] == ended
    # The freed unit takes the next case at once.
    other = incident(clocked, offset_m(MEIYUAN, 120))
    assert assign(clocked, other, "west-car-1").status_code == 201
    if steps[-1] == "parked":
        back = step(clocked, iid, "unparked").json()["status"]
        assert back == ("handled" if "handled" in steps else "accepted")


def test_closing_a_case_leaves_its_unit_on_the_next_one(clocked):
    unit(clocked, "west-car-1")
    first = incident(clocked)
    second = incident(clocked, offset_m(MEIYUAN, 150))
    assert assign(clocked, first, "west-car-1").status_code == 201
    assert step(clocked, first, "on_scene").status_code == 201
    assert step(clocked, first, "handled").status_code == 201  # the car is returning
    free = clocked.post("/units/west-car-1/status", json={"status": "available"})
    assert free.status_code == 200, free.text
    assert assign(clocked, second, "west-car-1").status_code == 201
    # The first case is verified while the car is on its way to the second.
    assert step(clocked, first, "verified_closed").status_code == 201
    assert clocked.get("/units/west-car-1").json()["status"] == "en_route"


def _handled(client, by):
    """An incident on scene and then handled by ``t-<by>``."""
    unit(client, "west-car-1")
    iid = incident(client)
    assert step(client, iid, "accepted").status_code == 201
    assert assign(client, iid, "west-car-1").status_code == 201
    assert step(client, iid, "on_scene").status_code == 201
    assert step(client, iid, "handled", by=by).status_code == 201
    return iid


def test_the_handler_may_not_verify_their_own_handling(clocked):
    iid = _handled(clocked, "case")
    own = step(clocked, iid, "verified_closed", by="case")
    assert own.status_code == 403, own.text  # a separation of duties: 403 (it was a 409)
    item = own.json()["detail"][0]
    assert "t-case recorded the handling" in item["message"]
    assert "verifier_differs_from_handler" in item["message"]
    assert "another case-team member" in item["fix"]
    assert clocked.get(f"/incidents/{iid}").json()["status"] == "handled"
    [refusal] = audit_rows(clocked, action="refused")
    assert (refusal.actor, refusal.detail["permission"]) == ("t-case", "cases:verify_other")
    other = step(clocked, iid, "verified_closed", by="case2")
    assert other.status_code == 201, other.text
    assert other.json()["actor"] == "t-case2"


def test_a_dispatchers_handling_is_verified_by_the_case_team(clocked):
    iid = _handled(clocked, "dispatch")
    assert step(clocked, iid, "verified_closed", by="dispatch").status_code == 403  # the role
    closed = step(clocked, iid, "verified_closed", by="case")
    assert closed.status_code == 201, closed.text
    assert closed.json()["actor"] == "t-case"


def test_the_handler_rule_names_no_removed_header(clocked):
    """The 403 of a handler verifying their own work names a field the client can act on."""
    iid = _handled(clocked, "case")
    own = step(clocked, iid, "verified_closed", by="case")
    assert own.status_code == 403, own.text
    assert own.json()["detail"][0]["field"] == "step"


def test_refused_steps_name_the_field_or_rule(clocked):
    iid = incident(clocked)
    # The timeline says which steps the case can take now (dispatch goes by assignment).
    offered = clocked.get(f"/incidents/{iid}/timeline").json()["next_steps"]
    assert "accepted" in offered
    assert "dispatched" not in offered
    assert "handled" not in offered
    early = step(clocked, iid, "handled")
    assert early.status_code == 409
    assert "accepted" in early.json()["detail"][0]["fix"]
    no_reason = step(clocked, iid, "parked")
    assert no_reason.status_code == 422
    assert no_reason.json()["detail"][0]["field"] == "note"
    assert step(clocked, iid, "dispatched").status_code == 422  # only by an assignment
    assert step(clocked, iid, "duplicate").json()["detail"][0]["field"] == "duplicate_of"
    missing = step(clocked, iid, "duplicate", duplicate_of="999999")
    assert (missing.status_code, missing.json()["detail"][0]["field"]) == (422, "duplicate_of")
    assert step(clocked, iid, "duplicate", duplicate_of=iid).status_code == 422
    # Parked (挂账) is still open for Open311, and unparking returns where it was.
    assert step(clocked, iid, "accepted").status_code == 201
    assert step(clocked, iid, "parked", note="等待规划部门认定").json()["status"] == "parked"
    number = clocked.get(f"/incidents/{iid}").json()["number"]
    assert clocked.get(f"/open311/v2/requests/{number}.json").json()[0]["status"] == "open"
    assert step(clocked, iid, "unparked").json()["status"] == "accepted"
    original = incident(clocked, offset_m(MEIYUAN, 10))
    dup = step(clocked, original, "duplicate", duplicate_of=iid)
    assert dup.json()["detail"]["duplicate_of"] == int(iid.rsplit("-", 1)[1])


def test_clocks_count_working_hours_from_acceptance(clocked):
    unit(clocked, "west-car-1")
    iid = incident(clocked, category="C02", urgent=True)  # C02: 2 working hours
    clocks = clocked.get(f"/incidents/{iid}/clocks").json()
    assert clocks["time_limit_hours"] == 2
    assert clocks["clock_starts"] == "reported"
    assert clocks["due_at"] == (NOW - timedelta(minutes=30) + timedelta(hours=2)).isoformat()
    assert clocks["remaining_working_hours"] == 1.5
    assert clocks["report_within_15_min"] is True
    assert clocks["dispatch_delay_s"] is None
    assert clocks["waiting_for_dispatch_s"] == 1800.0
    # Urgent and waiting half an hour: already late for dispatch (limit 5 min by default).
    assert (clocks["dispatch_late"], clocks["arrival_late"]) == (True, False)
    assert step(clocked, iid, "accepted").status_code == 201
    assert assign(clocked, iid, "west-car-1").status_code == 201
    clocked.app.state.clock = lambda: NOW + timedelta(minutes=12)
    step(clocked, iid, "on_scene")
    clocked.app.state.clock = lambda: NOW + timedelta(hours=13)  # 23:00: closing time
    clocks = clocked.get(f"/incidents/{iid}/clocks").json()
    assert clocks["clock_starts"] == "accepted"
    assert clocks["due_at"] == (NOW + timedelta(hours=2)).isoformat()
    assert clocks["overdue"] is True
    assert clocks["remaining_working_hours"] == -11.0
    assert clocks["dispatch_delay_s"] == 1800.0
    assert clocks["arrival_delay_s"] == 720.0
    assert (clocks["dispatch_late"], clocks["arrival_late"]) == (True, False)


def test_urgent_arrival_is_flagged_late_only_past_its_limit(clocked):
    unit(clocked, "west-car-1")
    unit(clocked, "west-car-2")
    urgent = incident(clocked, category="C02", urgent=True)
    routine = incident(clocked, offset_m(MEIYUAN, 400), category="C02")
    clocked.app.state.clock = lambda: NOW - timedelta(minutes=27)  # 3 min after the reports
    for iid, code in ((urgent, "west-car-1"), (routine, "west-car-2")):
        assert step(clocked, iid, "accepted").status_code == 201
        assert assign(clocked, iid, code).status_code == 201
    clocked.app.state.clock = lambda: NOW - timedelta(minutes=13)  # 14 min since dispatch
    clocks = clocked.get(f"/incidents/{urgent}/clocks").json()
    assert (clocks["dispatch_late"], clocks["arrival_late"]) == (False, False)
    clocked.app.state.clock = lambda: NOW - timedelta(minutes=11)  # 16 min, nobody there
    clocks = clocked.get(f"/incidents/{urgent}/clocks").json()
    assert (clocks["arrival_limit_s"], clocks["arrival_late"]) == (900.0, True)
    routine_clocks = clocked.get(f"/incidents/{routine}/clocks").json()
    assert (routine_clocks["dispatch_late"], routine_clocks["arrival_late"]) == (False, False)


def test_a_late_report_breaks_the_15_minute_rule(clocked):
    occurred = (NOW - timedelta(hours=1)).isoformat()
    late = clocked.post(
        "/incidents",
        json=body(
            MEIYUAN,
            occurred_at=occurred,
            urgent=True,
            reported_at=(NOW - timedelta(minutes=20)).isoformat(),
        ),
    ).json()["id"]
    clocks = clocked.get(f"/incidents/{late}/clocks").json()
    assert clocks["report_delay_s"] == 2400.0
    assert clocks["report_within_15_min"] is False


def test_backup_request_alerts_the_backup_team_and_the_police_station(clocked):
    unit(clocked, "backup-1", squad="east", team="backup")
    iid = incident(clocked)
    made = clocked.post(
        f"/incidents/{iid}/backup", json={"reason": "violent_obstruction", "note": "暴力抗法"}
    )
    assert made.status_code == 201, made.text
    request = made.json()
    assert request["alerted"] == ["backup_team", "police_station"]
    assert request["police_station"] == "police"
    assert request["backup_units"] == ["backup-1"]
    clocked.app.state.clock = lambda: NOW + timedelta(seconds=90)
    waiting = clocked.get("/backup?open=true").json()
    assert [(r["id"], r["waiting_s"]) for r in waiting] == [(request["id"], 90.0)]
    team = as_(clocked, "backup")
    assert [r["id"] for r in clocked.get("/backup?open=true", headers=team).json()] == [
        request["id"]
    ]
    # The backup team acknowledges, not the dispatcher who called.
    assert clocked.post(f"/backup/{request['id']}/ack").status_code == 403
    ack = clocked.post(f"/backup/{request['id']}/ack", headers=team)
    assert ack.json()["acknowledged_after_s"] == 90.0
    assert ack.json()["acknowledged_by"] == "t-backup"
    assert clocked.get("/backup?open=true").json() == []
    assert len(clocked.get("/backup").json()) == 1
    assert clocked.post(f"/backup/{request['id']}/ack", headers=team).status_code == 409
    assert clocked.post("/backup/999999/ack", headers=team).status_code == 404
    bad = clocked.post(f"/incidents/{iid}/backup", json={"reason": "boredom"})
    assert (bad.status_code, bad.json()["detail"][0]["field"]) == (422, "reason")
    steps = [e["step"] for e in clocked.get(f"/incidents/{iid}/timeline").json()["events"]]
    assert steps == ["reported", "backup_requested", "backup_acknowledged"]


# -- on the bundled Qingshuihe pack (it has a road network) -------------------------------


@pytest.fixture
def qingshuihe(clocked: TestClient):
    activate_bundled_pack(clocked)
    return clocked


def _metro():
    return metro_point(layers.read_pack())


def test_recommendations_rank_by_road_time_and_flag_stale_positions(qingshuihe):
    metro = _metro()
    unit(qingshuihe, "west-car-1", point=offset_m(metro, 300, 200))
    unit(qingshuihe, "west-foot-1", mode="foot", point=offset_m(metro, 150))
    unit(
        qingshuihe,
        "west-ebike-1",
        mode="ebike",
        point=offset_m(metro, -2000),
        at=NOW - timedelta(minutes=10),
    )
    unit(qingshuihe, "west-car-2", status="off_duty", point=metro)  # not available
    unit(qingshuihe, "west-car-3")  # no position
    iid = incident(qingshuihe, metro, by="dispatch")
    answer = qingshuihe.get(f"/incidents/{iid}/recommendations")
    assert answer.status_code == 200, answer.text
    rows = answer.json()["units"]
    assert {r["unit_id"] for r in rows} == {"west-car-1", "west-foot-1", "west-ebike-1"}
    assert [r["eta_s"] for r in rows] == sorted(r["eta_s"] for r in rows)
    by_id = {r["unit_id"]: r for r in rows}
    assert by_id["west-ebike-1"]["stale"] is True
    assert by_id["west-ebike-1"]["position_age_s"] == 600.0
    assert by_id["west-foot-1"]["stale"] is False
    assert all(r["distance_m"] > 0 and r["own_squad"] for r in rows)
    cars = qingshuihe.get(f"/incidents/{iid}/recommendations?modes=car,ebike").json()["units"]
    assert {r["unit_id"] for r in cars} == {"west-car-1", "west-ebike-1"}
    bad = qingshuihe.get(f"/incidents/{iid}/recommendations?modes=horse")
    assert (bad.status_code, bad.json()["detail"][0]["field"]) == (422, "modes")


def test_assigning_a_unit_replans_its_shift(qingshuihe):
    plan = qingshuihe.post(
        "/plans",
        json={"squad": "west", "date": NOW.date().isoformat(), "shift": "early", "time_limit_s": 2},
        headers=as_(qingshuihe, "squad-west"),
    )
    assert plan.status_code == 201, plan.text
    metro = _metro()
    unit(qingshuihe, "west-car-1", point=metro)
    unit(qingshuihe, "east-car-1", squad="east", point=metro)  # on no plan
    iid = incident(qingshuihe, metro, by="dispatch")
    made = assign(qingshuihe, iid, "west-car-1").json()
    assert made["replan_error"] is None
    assert made["replanned_from_plan_id"] == plan.json()["id"]
    fresh = qingshuihe.get(f"/plans/{made['replanned_plan_id']}").json()
    assert fresh["replan_of"] == plan.json()["id"]
    assert fresh["removed_units"] == ["west-car-1"]
    assert fresh["replanned_at"] == NOW.isoformat()
    assert fresh["created_by"] == "t-dispatch"  # the dispatcher's assignment re-planned it
    other = incident(qingshuihe, offset_m(metro, 200), by="dispatch")
    made = assign(qingshuihe, other, "east-car-1").json()
    assert made["replanned_plan_id"] is None


def test_the_assignments_replan_holds_no_writer_lock(qingshuihe, monkeypatch):
    """The re-plan an assignment makes is solved before the assignment's writes (issue 12
    §1): a report filed while it is solved is stored at once. On SpatiaLite, a writer lock held
    through the solve would make the report wait out the busy timeout and fail."""
    from service.plans import solver

    plan = qingshuihe.post(
        "/plans",
        json={"squad": "west", "date": NOW.date().isoformat(), "shift": "early", "time_limit_s": 2},
        headers=as_(qingshuihe, "squad-west"),
    )
    assert plan.status_code == 201, plan.text
    metro = _metro()
    unit(qingshuihe, "west-car-1", point=metro)
    iid = incident(qingshuihe, metro, by="dispatch")
    filed: list[int] = []
    real_solve = solver.solve

    def solve_after_a_report(graph, **options):
        occurred = NOW.isoformat()
        report = qingshuihe.post(
            "/incidents",
            json=body(metro, occurred_at=occurred, reported_at=occurred),
            headers=as_(qingshuihe, "dispatch"),
        )
        filed.append(report.status_code)
        return real_solve(graph, **options)

    monkeypatch.setattr(solver, "solve", solve_after_a_report)
    made = assign(qingshuihe, iid, "west-car-1")
    assert made.status_code == 201, made.text
    assert made.json()["replanned_plan_id"] is not None
    assert filed == [201]


def test_a_failed_replan_does_not_undo_the_assignment(qingshuihe):
    plan = qingshuihe.post(
        "/plans",
        json={
            "squad": "west",
            "date": NOW.date().isoformat(),
            "shift": "early",
            "time_limit_s": 1,
            "units": [{"unit_id": "west-car-1", "mode": "car"}],
        },
        headers=as_(qingshuihe, "squad-west"),
    ).json()
    metro = _metro()
    unit(qingshuihe, "west-car-1", point=metro)
    iid = incident(qingshuihe, metro, by="dispatch")
    made = assign(qingshuihe, iid, "west-car-1")
    assert made.status_code == 201, made.text
    # The plan's only unit is removed: the planner refuses, the assignment stands.
    assert made.json()["replanned_from_plan_id"] == plan["id"]
    assert made.json()["replanned_plan_id"] is None
    assert "Every unit of the plan is removed" in made.json()["replan_error"]
    assert qingshuihe.get("/units/west-car-1").json()["status"] == "en_route"


# -- real concurrency ---------------------------------------------------------------------


def _race(client, calls):
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(i, call):
        barrier.wait()
        results[i] = call()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


def test_two_dispatchers_assigning_at_once_exactly_one_wins(clocked):
    for k in range(5):
        unit(clocked, f"a-{k}")
        unit(clocked, f"b-{k}")
        iid = incident(clocked, offset_m(MEIYUAN, 20 * k))
        results = _race(
            clocked,
            [
                lambda iid=iid, k=k: assign(clocked, iid, f"a-{k}", by="dispatch"),
                lambda iid=iid, k=k: assign(clocked, iid, f"b-{k}", by="dispatch2"),
            ],
        )
        codes = sorted(r.status_code for r in results)
        assert codes == [201, 409], [r.text for r in results]
        won = next(r for r in results if r.status_code == 201).json()
        lost = next(r for r in results if r.status_code == 409).json()
        assert lost["current"]["assignment"]["unit_id"] == won["unit_id"]
        assert lost["current"]["assignment"]["assigned_by"] == won["assigned_by"]
        assert won["assigned_by"] == ("t-dispatch" if won["unit_id"] == f"a-{k}" else "t-dispatch2")
        loser = f"b-{k}" if won["unit_id"] == f"a-{k}" else f"a-{k}"
        assert clocked.get(f"/units/{loser}").json()["status"] == "available"
    assert count_rows(clocked, Assignment) == 5
    assert count_rows(clocked, IncidentEvent) == 5


def test_one_unit_sent_to_two_incidents_at_once_goes_to_one(clocked):
    for k in range(3):
        unit(clocked, f"u-{k}")
        first = incident(clocked, offset_m(MEIYUAN, 30 * k))
        second = incident(clocked, offset_m(MEIYUAN, 30 * k, 200))
        results = _race(
            clocked,
            [
                lambda i=first, k=k: assign(clocked, i, f"u-{k}"),
                lambda i=second, k=k: assign(clocked, i, f"u-{k}"),
            ],
        )
        assert sorted(r.status_code for r in results) == [201, 409], [r.text for r in results]
    assert count_rows(clocked, Assignment) == 3


def test_only_the_one_active_index_means_another_dispatcher_won(clocked):
    """The 409 of a lost race is told apart from every other integrity error."""
    from sqlalchemy.exc import IntegrityError

    from service.dispatch.models import Unit
    from service.dispatch.service import is_lost_assignment_race

    unit(clocked, "race-1")
    number = clocked.get(f"/incidents/{incident(clocked)}").json()["number"]
    factory = clocked.app.state.sessionmaker
    with factory() as session:
        unit_id = session.query(Unit.id).filter(Unit.code == "race-1").scalar()
        session.add_all(
            [
                Assignment(incident_id=number, unit_id=unit_id, assigned_by="a"),
                Assignment(incident_id=number, unit_id=unit_id, assigned_by="b"),
            ]
        )
        with pytest.raises(IntegrityError) as race:
            session.flush()
        session.rollback()
        session.add(Unit(code="race-1", name="again", squad="west", mode="car", created_by="t"))
        with pytest.raises(IntegrityError) as duplicate_code:
            session.flush()
        session.rollback()
    assert is_lost_assignment_race(race.value)
    assert not is_lost_assignment_race(duplicate_code.value)
