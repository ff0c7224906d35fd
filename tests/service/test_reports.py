"""Daily information reports (issue 14 §2) and the organisation behind them (§1), on both
databases: the officer files, the group head approves, the team reads the compliance."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.core.timezones import BEIJING
from service.incidents.models import Incident
from service.reports.models import DailyReport, ReportItem
from tests.service.helpers import MEIYUAN, NIGANG, as_, audit_rows, count_rows, offset_m

DAY = date(2026, 11, 20)  # the day the reports cover; the clock is set on the next morning
MEIYUAN_CODE = "440303010002"
URL = f"/reports/daily/{MEIYUAN_CODE}/{DAY}"


def _at(hour: int, minute: int = 0, *, day: date = DAY) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=BEIJING) + timedelta(
        hours=hour, minutes=minute
    )


@pytest.fixture
def clock(client: TestClient) -> Iterator[list[datetime]]:
    """The service's clock, fixed to ``clock[0]`` (08:00 the morning after DAY by default)."""
    now = [_at(8, day=DAY + timedelta(days=1))]
    client.app.state.clock = lambda: now[0]  # type: ignore[attr-defined]
    try:
        yield now
    finally:
        client.app.state.clock = None  # type: ignore[attr-defined]


def _item(point: tuple[float, float] = MEIYUAN, **fields: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "category": "C02",
        "location": {"lon": point[0], "lat": point[1], "crs": "wgs84"},
        "discovered_at": _at(10).isoformat(),
        "description": "流动摊贩占道经营",
    }
    data.update(fields)
    return data


def _file(client: TestClient, items: list[dict[str, Any]], *, who: str = "info") -> Any:
    answer = client.put(URL, json={"items": items}, headers=as_(client, who))
    assert answer.status_code == 200, answer.text
    answer = client.post(f"{URL}/submit", headers=as_(client, who))
    assert answer.status_code == 200, answer.text
    return answer.json()


# -- the organisation ---------------------------------------------------------------------------


def test_the_organisation_has_a_group_per_community_and_a_department_per_category(client):
    answer = client.get("/organisation", headers=as_(client, "info"))
    assert answer.status_code == 200, answer.text
    read = answer.json()
    organisation = read["organisation"]
    pack = client.get("/layers/active").json()["communities"]["features"]
    squad_of = {f["properties"]["code"]: f["properties"]["squad"] for f in pack}
    assert {g["community"]: g["squad"] for g in organisation["groups"]} == squad_of
    led = [c for d in organisation["departments"] for c in d["categories"]]
    assert sorted(led) == [f"C{n:02d}" for n in range(1, 22)]
    routed = sorted(m for d in organisation["departments"] for m in d["matters"])
    assert routed == ["business_licence", "public_order", "rental_housing"]
    held = {(h["community"], h["role"]): h["usernames"] for h in read["holders"]}
    assert held[(MEIYUAN_CODE, "group_head")] == ["t-head"]
    assert held[(MEIYUAN_CODE, "info_officer")] == ["t-info"]
    assert read["squad_leaders"]["west"] == ["t-squad-west"]
    assert read["version"] == 0  # the bundled configuration, not yet edited


def test_the_administrator_edits_the_organisation_and_the_edit_is_checked(client):
    current = client.get("/organisation").json()["organisation"]
    changed = {**current, "report_deadline": "10:00"}
    answer = client.put(
        "/organisation",
        json={"organisation": changed, "note": "deadline moved by the office"},
        headers=as_(client, "admin"),
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["version"] >= 1
    assert client.get("/organisation").json()["organisation"]["report_deadline"] == "10:00"
    [row] = audit_rows(client, action="organisation_update")
    assert row.after == {"report_deadline": "10:00"}

    refused = client.put("/organisation", json={"organisation": changed})  # the dispatcher
    assert refused.status_code == 403
    no_group = {**current, "groups": current["groups"][1:]}
    answer = client.put(
        "/organisation", json={"organisation": no_group}, headers=as_(client, "admin")
    )
    assert answer.status_code == 422
    [error] = answer.json()["detail"]
    assert error["field"] == "organisation.groups"
    assert current["groups"][0]["community"] in error["message"]
    twice = [dict(d) for d in current["departments"]]
    twice[1] = {**twice[1], "categories": [*twice[1]["categories"], "C01"]}
    answer = client.put(
        "/organisation",
        json={"organisation": {**current, "departments": twice}},
        headers=as_(client, "admin"),
    )
    assert answer.status_code == 422
    assert "C01" in answer.json()["detail"][0]["message"]
    bad_clock = {**current, "report_deadline": "9.30"}
    answer = client.put(
        "/organisation", json={"organisation": bad_clock}, headers=as_(client, "admin")
    )
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["field"] == "organisation.report_deadline"


# -- filing, approving, routing -----------------------------------------------------------------


def test_an_approved_report_files_its_items_as_incidents_and_routes_every_item(client, clock):
    before = count_rows(client, Incident)
    filed = _file(
        client,
        [
            _item(),
            _item(offset_m(MEIYUAN, 60), category=None, matter="rental_housing"),
        ],
    )
    assert filed["status"] == "submitted"
    assert filed["state"] == "pending"  # due at 09:30, not approved yet
    assert count_rows(client, Incident) == before  # nothing counts before the head approves

    clock[0] = _at(9, 10, day=DAY + timedelta(days=1))
    answer = client.post(f"{URL}/approve", headers=as_(client, "head"))
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert report["status"] == "approved"
    assert report["state"] == "on_time"
    stall, rental = report["items"]
    assert stall["routed_to"] == "enforcement"
    assert stall["incident"] is not None
    assert rental["routed_to"] == "rental"
    assert rental["incident"] is None
    assert count_rows(client, Incident) == before + 1
    incident = client.get(f"/incidents/{stall['incident']}").json()
    assert incident["source"] == "daily_inspection"
    assert incident["reporter"] == f"info-group:{MEIYUAN_CODE}"
    assert incident["resolution"]["community_code"] == MEIYUAN_CODE
    assert [r.actor for r in audit_rows(client, entity="daily_report")] == [
        "t-info",
        "t-info",
        "t-head",
    ]
    # Approved means final: no second approval, no edit.
    assert client.post(f"{URL}/approve", headers=as_(client, "head")).status_code == 409
    again = client.put(URL, json={"nothing_to_report": True}, headers=as_(client, "info"))
    assert again.status_code == 409


def test_a_returned_report_goes_back_to_the_officer_and_is_late_when_approved_after_the_deadline(
    client, clock
):
    _file(client, [_item()])
    answer = client.post(
        f"{URL}/return", json={"note": "位置不对，请核实"}, headers=as_(client, "head")
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "returned"
    assert answer.json()["return_note"] == "位置不对，请核实"
    fixed = client.put(URL, json={"nothing_to_report": True}, headers=as_(client, "info"))
    assert fixed.status_code == 200, fixed.text
    assert fixed.json()["items"] == []
    assert count_rows(client, ReportItem) == 0  # the returned draft's items are replaced
    assert client.post(f"{URL}/submit", headers=as_(client, "info")).status_code == 200
    clock[0] = _at(11, day=DAY + timedelta(days=1))
    approved = client.post(f"{URL}/approve", headers=as_(client, "head")).json()
    assert (approved["state"], approved["nothing_to_report"]) == ("late", True)


def test_compliance_lists_on_time_late_missing_and_pending_per_community(client, clock):
    _file(client, [_item()])
    client.post(f"{URL}/approve", headers=as_(client, "head"))  # 08:00: on time
    answer = client.get(
        "/reports/compliance",
        params={"start": str(DAY - timedelta(days=1)), "end": str(DAY + timedelta(days=1))},
        headers=as_(client, "case"),
    )
    assert answer.status_code == 200, answer.text
    states = {(d["community"], d["date"]): d["state"] for d in answer.json()["days"]}
    before, after = str(DAY - timedelta(days=1)), str(DAY + timedelta(days=1))
    assert states[(MEIYUAN_CODE, str(DAY))] == "on_time"
    assert states[(MEIYUAN_CODE, before)] == "missing"
    assert states[(MEIYUAN_CODE, after)] == "pending"  # its day is not over yet
    totals = {t["community"]: t for t in answer.json()["totals"]}
    assert totals[MEIYUAN_CODE]["on_time"] == 1
    assert totals[MEIYUAN_CODE]["missing"] == 1
    assert totals[MEIYUAN_CODE]["on_time_share"] == 0.5
    others = [t for c, t in totals.items() if c != MEIYUAN_CODE]
    assert others
    # 08:00: the day before is missing, the day (due 09:30) and today still pending.
    assert all((t["missing"], t["pending"], t["on_time"]) == (1, 2, 0) for t in others)
    # A squad leader sees the squad's communities, an officer their own.
    east = client.get(
        "/reports/compliance",
        params={"start": str(DAY), "end": str(DAY)},
        headers=as_(client, "squad-east"),
    ).json()
    assert {t["squad"] for t in east["totals"]} == {"east"}
    own = client.get(
        "/reports/compliance",
        params={"start": str(DAY), "end": str(DAY)},
        headers=as_(client, "info"),
    ).json()
    assert [t["community"] for t in own["totals"]] == [MEIYUAN_CODE]


def test_the_fifteen_minute_rule_for_urgent_items(client, clock):
    seen = _at(10)
    filed_at_once = client.post(
        "/incidents",
        json={
            "category": "C02",
            "location": {"lon": MEIYUAN[0], "lat": MEIYUAN[1]},
            "occurred_at": seen.isoformat(),
            "reported_at": (seen + timedelta(minutes=5)).isoformat(),
            "source": "daily_inspection",
            "reporter": f"info-group:{MEIYUAN_CODE}",
            "urgent": True,
        },
        headers=as_(client, "info"),
    )
    assert filed_at_once.status_code == 201, filed_at_once.text
    report = _file(
        client,
        [
            _item(urgent=True, incident=filed_at_once.json()["id"], discovered_at=seen.isoformat()),
            _item(offset_m(MEIYUAN, 80), urgent=True, category="C03"),
        ],
    )
    linked, only_in_report = report["items"]
    assert linked["within_15_min"] is True
    assert linked["report_delay_s"] == 300.0
    assert only_in_report["within_15_min"] is False  # reported the next morning
    assert report["urgent_late"] == 1
    before = count_rows(client, Incident)
    client.post(f"{URL}/approve", headers=as_(client, "head"))
    assert count_rows(client, Incident) == before + 1  # the linked one is not filed twice


# -- who may, and bad input ----------------------------------------------------------------------


def test_each_role_acts_within_its_community(client, clock):
    refused = client.put(URL, json={"nothing_to_report": True}, headers=as_(client, "info-qsh"))
    assert refused.status_code == 403
    assert (
        client.put(URL, json={"nothing_to_report": True}, headers=as_(client, "info")).status_code
        == 200
    )
    assert client.post(f"{URL}/approve", headers=as_(client, "head")).status_code == 409  # a draft
    client.post(f"{URL}/submit", headers=as_(client, "info"))
    assert client.post(f"{URL}/approve", headers=as_(client, "info")).status_code == 403
    assert client.post(f"{URL}/approve", headers=as_(client, "head-qsh")).status_code == 403
    assert client.get(URL, headers=as_(client, "squad-east")).status_code == 404
    assert client.get(URL, headers=as_(client, "squad-west")).status_code == 200
    assert client.get(URL, headers=as_(client, "backup")).status_code == 403
    assert count_rows(client, DailyReport) == 1


@pytest.mark.parametrize(
    ("items", "extra", "field"),
    [
        ([_item(NIGANG)], {}, "items[0].location"),  # in 泥岗, not 梅园
        (
            [_item(discovered_at=_at(10, day=DAY - timedelta(days=1)).isoformat())],
            {},
            "items[0].discovered_at",
        ),
        ([_item(matter="public_order")], {}, "items[0]"),  # a category and a matter
        ([_item(category="C99")], {}, "items[0].category"),
        ([_item()], {"nothing_to_report": True}, None),
        ([], {}, None),
        ([_item(incident="QSH-2026-999999")], {}, "items[0].incident"),
    ],
)
def test_a_bad_report_is_refused_naming_the_field_and_nothing_is_stored(
    client, clock, items, extra, field
):
    answer = client.put(URL, json={"items": items, **extra}, headers=as_(client, "info"))
    assert answer.status_code == 422, answer.text
    error = answer.json()["detail"][0]
    if field is not None:
        assert error["field"] == field
    assert error["fix"]
    assert count_rows(client, DailyReport) == 0


def test_a_report_of_a_day_not_begun_is_refused(client, clock):
    tomorrow = DAY + timedelta(days=2)
    answer = client.put(
        f"/reports/daily/{MEIYUAN_CODE}/{tomorrow}",
        json={"nothing_to_report": True},
        headers=as_(client, "info"),
    )
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["field"] == "day"
    unknown = client.put(
        f"/reports/daily/999/{DAY}", json={"nothing_to_report": True}, headers=as_(client, "info")
    )
    assert unknown.status_code == 404
