"""The rewards and penalties ledger (issue 14 §5) on both databases: one worked day whose
amounts are counted by hand, disputes, spot checks, awards, and who sees what."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.core.timezones import BEIJING
from tests.service.helpers import MEIYUAN, QINGSHUIHE, as_, audit_rows, body, offset_m

DAY = date(2026, 11, 20)  # a Friday
MONTH = "2026-11"
MEIYUAN_CODE = "440303010002"


def _at(hour: int, minute: int = 0, *, day: date = DAY) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=BEIJING) + timedelta(
        hours=hour, minutes=minute
    )


def _point(point: tuple[float, float]) -> dict[str, Any]:
    return {"lon": point[0], "lat": point[1], "crs": "wgs84"}


@pytest.fixture
def day(client: TestClient) -> Iterator[dict[str, Any]]:
    """梅园's officer (t-info) reports four items of DAY and the head approves; the case team
    rejects the incident of one and a spot check finds another wrong; four incidents come from
    other sources that day (one covered, one disputed and upheld, one missed, one after duty
    hours) and one in 清水河, which filed no report."""
    now = [_at(9)]
    client.app.state.clock = lambda: now[0]  # type: ignore[attr-defined]

    def other(point, hour, source, category):
        now[0] = _at(hour, 10)
        stamp = _at(hour).isoformat()
        answer = client.post(
            "/incidents",
            json=body(
                point,
                category=category,
                source=source,
                reporter="resident",
                occurred_at=stamp,
                reported_at=stamp,
            ),
            headers=as_(client, "dispatch"),
        )
        assert answer.status_code == 201, answer.text
        return answer.json()["id"]

    incidents = {
        "covered": other(offset_m(MEIYUAN, 50), 10, "patrol", "C02"),
        "disputed": other(offset_m(MEIYUAN, 0, 100), 15, "complaint", "C07"),
        "missed": other(offset_m(MEIYUAN, 300), 16, "special_inspection", "C02"),
        "after_duty": other(offset_m(MEIYUAN, -200), 20, "patrol", "C09"),
        "qingshuihe": other(QINGSHUIHE, 11, "complaint", "C02"),
    }
    items = [
        {"category": "C02", "location": _point(MEIYUAN), "discovered_at": _at(10).isoformat()},
        {
            "category": "C05",
            "location": _point(offset_m(MEIYUAN, 0, -200)),
            "discovered_at": _at(11).isoformat(),
        },
        {
            "matter": "rental_housing",
            "location": _point(offset_m(MEIYUAN, 100, 100)),
            "discovered_at": _at(12).isoformat(),
        },
        {
            "category": "C02",
            "location": _point(offset_m(MEIYUAN, -100)),
            "discovered_at": _at(14).isoformat(),
        },
    ]
    url = f"/reports/daily/{MEIYUAN_CODE}/{DAY}"
    now[0] = _at(8, day=DAY + timedelta(days=1))
    assert client.put(url, json={"items": items}, headers=as_(client, "info")).status_code == 200
    assert client.post(f"{url}/submit", headers=as_(client, "info")).status_code == 200
    now[0] = _at(9, day=DAY + timedelta(days=1))
    approved = client.post(f"{url}/approve", headers=as_(client, "head"))
    assert approved.status_code == 200, approved.text
    filed = approved.json()["items"]
    rejected = client.post(
        f"/incidents/{filed[1]['incident']}/events",
        json={"step": "rejected", "note": "现场核查不属实"},
        headers=as_(client, "case"),
    )
    assert rejected.status_code == 201, rejected.text
    now[0] = _at(10, day=DAY + timedelta(days=3))
    try:
        yield {"client": client, "incidents": incidents, "items": filed, "clock": now}
    finally:
        client.app.state.clock = None  # type: ignore[attr-defined]


def _statement(client: TestClient, who: str = "case") -> dict[str, Any]:
    answer = client.get("/ledger/statements", params={"month": MONTH}, headers=as_(client, who))
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_the_month_counted_by_hand(day):
    client, incidents, items = day["client"], day["incidents"], day["items"]
    finding = client.post(
        "/ledger/findings",
        json={"item": items[3]["id"], "note": "抽查: 现场无占道"},
        headers=as_(client, "case"),
    )
    assert finding.status_code == 201, finding.text
    dispute = client.post(
        "/ledger/disputes",
        json={"month": MONTH, "incident": incidents["disputed"], "reason": "居民投诉时已下班"},
        headers=as_(client, "info"),
    )
    assert dispute.status_code == 201, dispute.text
    resolved = client.post(
        f"/ledger/disputes/{dispute.json()['id']}/resolve",
        json={"upheld": True, "note": "投诉点位在小区内, 非巡查范围"},
        headers=as_(client, "case"),
    )
    assert resolved.status_code == 200, resolved.text
    tip = client.post(
        "/ledger/awards",
        json={"person": "t-info", "month": MONTH, "kind": "tip", "amount": 200, "reason": "线索"},
        headers=as_(client, "case"),
    )
    assert tip.status_code == 201, tip.text
    refused = client.post(
        "/ledger/awards",
        json={"person": "t-info", "month": MONTH, "kind": "other", "amount": 50, "reason": "其他"},
        headers=as_(client, "case"),
    ).json()
    for award, approve in ((tip.json(), True), (refused, False)):
        decided = client.post(
            f"/ledger/awards/{award['id']}/decide",
            json={"approve": approve},
            headers=as_(client, "leader"),
        )
        assert decided.status_code == 200, decided.text

    people = {p["person"]: p for p in _statement(client)["people"]}
    officer = people["t-info"]
    # Items 1 and 3 valid (+2 each); item 2 rejected and item 4 found wrong (-10 each); the
    # special inspection 300 m from any C02 item missed (-5), the disputed complaint upheld
    # (0), the patrol 50 m from item 1 covered, the 20:00 patrol after duty hours; a 200 tip.
    assert (officer["valid_items"], officer["valid_yuan"]) == (2, 4)
    assert (officer["wrong_items"], officer["wrong_yuan"]) == (2, -20)
    assert (officer["missed_items"], officer["missed_yuan"]) == (2, -5)
    assert (officer["award_items"], officer["award_yuan"]) == (1, 200)
    assert officer["total_yuan"] == 4 - 20 - 5 + 200
    # 清水河 filed no report: its officer answers for the complaint there.
    assert (people["t-info-qsh"]["missed_items"], people["t-info-qsh"]["total_yuan"]) == (1, -5)
    lines = client.get(
        "/ledger/lines",
        params={"month": MONTH, "person": "t-info", "kind": "missed"},
        headers=as_(client, "case"),
    ).json()
    by_incident = {line["incident"]: line for line in lines}
    assert set(by_incident) == {incidents["disputed"], incidents["missed"]}
    assert by_incident[incidents["disputed"]]["amount"] == 0
    assert by_incident[incidents["disputed"]]["dispute"].startswith("upheld")
    actions = [row.action for row in audit_rows(client) if row.action.startswith("ledger_")]
    assert actions == [
        "ledger_finding",
        "ledger_dispute",
        "ledger_dispute_resolve",
        "ledger_award_propose",
        "ledger_award_propose",
        "ledger_award_decide",
        "ledger_award_decide",
    ]
    # The workbook has the statements and every line behind them.
    book = client.get(
        "/ledger/statements",
        params={"month": MONTH, "format": "xlsx"},
        headers=as_(client, "case"),
    )
    assert book.status_code == 200
    assert "spreadsheetml" in book.headers["content-type"]


def test_each_sees_their_own_scope(day):
    client = day["client"]
    mine = _statement(client, "info")["people"]
    assert [p["person"] for p in mine] == ["t-info"]
    head = _statement(client, "head")["communities"]
    assert [c["community"] for c in head] == [MEIYUAN_CODE]
    assert client.get("/ledger/statements", headers=as_(client, "squad-west")).status_code == 403
    # Only a leader decides awards, and the case team only proposes them.
    proposal = client.post(
        "/ledger/awards",
        json={"person": "t-info", "month": MONTH, "kind": "tip", "amount": 150, "reason": "线索"},
        headers=as_(client, "case"),
    ).json()
    own = client.post(
        f"/ledger/awards/{proposal['id']}/decide",
        json={"approve": True},
        headers=as_(client, "case"),
    )
    assert own.status_code == 403


def test_bad_ledger_input_names_the_field(day):
    client, incidents = day["client"], day["incidents"]
    covered = client.post(
        "/ledger/disputes",
        json={"month": MONTH, "incident": incidents["covered"], "reason": "已上报"},
        headers=as_(client, "info"),
    )
    assert covered.status_code == 404  # covered by item 1: nothing to dispute
    assert covered.json()["detail"][0]["field"] == "incident"
    tip = client.post(
        "/ledger/awards",
        json={"person": "t-info", "month": MONTH, "kind": "tip", "amount": 500, "reason": "线索"},
        headers=as_(client, "case"),
    )
    assert tip.status_code == 422
    assert tip.json()["detail"][0]["field"] == "amount"
    nobody = client.post(
        "/ledger/awards",
        json={
            "person": "t-case2",
            "month": MONTH,
            "kind": "other",
            "amount": 5,
            "reason": "其他奖励",
        },
        headers=as_(client, "case"),
    )
    assert nobody.status_code == 422
    assert nobody.json()["detail"][0]["field"] == "person"
    bad_month = client.get(
        "/ledger/statements", params={"month": "2026-13"}, headers=as_(client, "case")
    )
    assert bad_month.status_code == 422
    twice = client.post(
        "/ledger/findings",
        json={"item": day["items"][0]["id"], "note": "抽查不符"},
        headers=as_(client, "case"),
    )
    assert twice.status_code == 201
    again = client.post(
        "/ledger/findings",
        json={"item": day["items"][0]["id"], "note": "抽查不符"},
        headers=as_(client, "case"),
    )
    assert again.status_code == 409


def test_the_yearly_appraisal_of_the_officers(day):
    client = day["client"]
    answer = client.get("/statistics/appraisal", params={"year": 2026}, headers=as_(client, "case"))
    assert answer.status_code == 200, answer.text
    officers = {o["person"]: o for o in answer.json()["officers"]}
    # t-info: one report, approved 09:00 (on time); items 1, 3, 4 valid and item 2 rejected;
    # the special inspection and the complaint (not yet disputed) missed: 6 - 10 - 10.
    mine = officers["t-info"]
    assert (mine["reports_filed"], mine["reports_on_time"], mine["on_time_share"]) == (1, 1, 1.0)
    assert (mine["items"], mine["valid_items"], mine["wrong_items"]) == (4, 3, 1)
    assert mine["valid_share"] == 0.75
    assert (mine["missed_items"], mine["total_yuan"]) == (2, 6 - 10 - 10)
    other = officers["t-info-qsh"]
    assert (other["reports_filed"], other["on_time_share"], other["total_yuan"]) == (0, None, -5)
    sheet = client.get(
        "/statistics/appraisal",
        params={"year": 2026, "format": "csv"},
        headers=as_(client, "case"),
    )
    assert sheet.status_code == 200
    assert sheet.text.startswith("\ufeffperson,community,")
