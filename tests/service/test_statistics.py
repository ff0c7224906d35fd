"""Case statistics (issue 14 §3) on both databases: a month of cases worked step by step at
known times, and the GB/T 30428 indicators counted from them by hand."""

from __future__ import annotations

import io

from openpyxl import load_workbook

from tests.service.casework import MEIYUAN_CODE, worked
from tests.service.helpers import as_

__all__ = ["worked"]  # the fixture, used by name

NOVEMBER = {"start": "2026-11-01", "end": "2026-11-30"}
# 梅园's cases counted by hand from the fixture's story.
MEIYUAN_BY_HAND = {
    "reports": 6,  # A-F
    "valid": 4,  # A, D, E, F
    "invalid": 2,  # B rejected, C duplicate
    "filed": 4,
    "closed": 2,  # A, E
    "due": 3,  # A and E closed, D past its limit; F parked is not due
    "closed_on_time": 1,  # A
    "handled": 2,  # A, E
    "reworked": 1,  # E
    "overdue": 2,  # D open past due, E closed late
    "parked": 1,  # F
    "closure_rate": 0.5,
    "on_time_closure_rate": 0.3333,
    "rework_rate": 0.5,
}


def test_the_indicators_are_the_cases_counted_by_hand(worked):
    client = worked["client"]
    answer = client.get(
        "/statistics/cases", params={**NOVEMBER, "by": "community"}, headers=as_(client, "case")
    )
    assert answer.status_code == 200, answer.text
    read = answer.json()
    rows = {row["community"]: row for row in read["rows"]}
    assert set(rows) == {MEIYUAN_CODE, "440303010003"}  # H (October) is not in November
    assert {k: rows[MEIYUAN_CODE][k] for k in MEIYUAN_BY_HAND} == MEIYUAN_BY_HAND
    assert rows[MEIYUAN_CODE]["community_name"] == "梅园"
    east = rows["440303010003"]
    assert (east["reports"], east["filed"], east["closed"], east["overdue"]) == (1, 1, 0, 1)
    assert east["closure_rate"] == 0.0
    assert east["rework_rate"] is None  # nothing handled
    assert (read["total"]["reports"], read["total"]["filed"]) == (7, 5)
    assert read["cutoff"].startswith("2026-12-01T00:00:00")


def test_the_records_behind_the_figures_and_their_exports(worked):
    client = worked["client"]
    numbers = worked["numbers"]
    answer = client.get("/statistics/cases/records", params=NOVEMBER, headers=as_(client, "case"))
    assert answer.status_code == 200, answer.text
    records = {r["id"]: r for r in answer.json()}
    assert set(records) == {numbers[k] for k in "ABCDEFG"}
    late = records[numbers["E"]]
    assert (late["reworked"], late["closed"], late["closed_on_time"], late["overdue"]) == (
        True,
        True,
        False,
        True,
    )
    assert late["due_at"] < late["closed_at"]
    on_time = records[numbers["A"]]
    assert on_time["closed_at"] <= on_time["due_at"]
    # The workbook: the indicators, the totals and the cases, as the JSON has them.
    workbook = client.get(
        "/statistics/cases",
        params={**NOVEMBER, "by": ["squad", "category"], "format": "xlsx"},
        headers=as_(client, "case"),
    )
    assert workbook.status_code == 200, workbook.text
    assert "spreadsheetml" in workbook.headers["content-type"]
    book = load_workbook(io.BytesIO(workbook.content))
    assert book.sheetnames == ["indicators", "total", "cases"]
    header, *cells = list(book["indicators"].values)
    table = [dict(zip(header, row, strict=True)) for row in cells]
    west_c02 = next(r for r in table if (r["squad"], r["category"]) == ("west", "C02"))
    assert (west_c02["reports"], west_c02["filed"]) == (5, 3)  # A, B, C, E, F; D is C05
    assert len(list(book["cases"].values)) == 1 + 7
    csv = client.get(
        "/statistics/cases/records",
        params={**NOVEMBER, "format": "csv"},
        headers=as_(client, "case"),
    )
    assert csv.status_code == 200
    assert csv.text.startswith("\ufeffid,number,")
    assert csv.text.count("\n") == 1 + 7


def test_a_squad_leader_sees_their_squad_and_an_officer_none(worked):
    client = worked["client"]
    west = client.get(
        "/statistics/cases", params={**NOVEMBER, "by": "squad"}, headers=as_(client, "squad-west")
    )
    assert west.status_code == 200, west.text
    assert [(r["squad"], r["reports"]) for r in west.json()["rows"]] == [("west", 6)]
    refused = client.get("/statistics/cases", params=NOVEMBER, headers=as_(client, "info"))
    assert refused.status_code == 403


def test_a_period_backwards_or_too_long_names_the_field(client):
    backwards = client.get(
        "/statistics/cases",
        params={"start": "2026-11-30", "end": "2026-11-01"},
        headers=as_(client, "case"),
    )
    assert backwards.status_code == 422
    assert backwards.json()["detail"][0]["field"] == "start"
    long = client.get(
        "/statistics/cases",
        params={"start": "2020-01-01", "end": "2026-11-01"},
        headers=as_(client, "case"),
    )
    assert long.status_code == 422
    assert long.json()["detail"][0]["field"] == "end"
    unknown = client.get("/statistics/cases", params={"by": "street"}, headers=as_(client, "case"))
    assert unknown.status_code == 422


def test_the_yearly_appraisal_of_the_units(worked):
    client = worked["client"]
    answer = client.get("/statistics/appraisal", params={"year": 2026}, headers=as_(client, "case"))
    assert answer.status_code == 200, answer.text
    units = {u["unit"]: u for u in answer.json()["units"]}
    # west-car-1 had A (closed within the hour); west-car-2 had E (reopened, closed late);
    # D, F, G and H never had a unit.
    assert set(units) == {"west-car-1", "west-car-2"}
    one, two = units["west-car-1"], units["west-car-2"]
    assert (one["filed"], one["closed"], one["closed_on_time"], one["reworked"]) == (1, 1, 1, 0)
    assert one["on_time_closure_rate"] == 1.0
    assert (two["closed"], two["closed_on_time"], two["reworked"], two["overdue"]) == (1, 0, 1, 1)
    assert (two["on_time_closure_rate"], two["rework_rate"]) == (0.0, 1.0)
