"""A month of cases worked step by step at known times (issue 14 §3): the story behind the
statistics and case-file tests, whose figures are counted from it by hand."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.core.timezones import BEIJING
from tests.service.helpers import MEIYUAN, QINGSHUIHE, as_, body, offset_m

START = datetime(2026, 11, 2, 9, 0, tzinfo=BEIJING)  # a Monday
END_OF_MONTH = datetime(2026, 12, 5, 10, 0, tzinfo=BEIJING)
MEIYUAN_CODE = "440303010002"


@pytest.fixture
def worked(client: TestClient) -> Iterator[dict[str, Any]]:
    """November's cases, each step taken at its own time by the role whose step it is:

    A closed within the hour; B rejected; C a duplicate of A; D filed and left open; E handled,
    reopened (返工), handled again and closed three weeks late; F filed and parked (挂账);
    G filed in 清水河 (the east squad); H reported in October (outside the period).
    """
    now = [START]
    client.app.state.clock = lambda: now[0]  # type: ignore[attr-defined]

    def at(moment: datetime) -> None:
        now[0] = moment

    def report(point: tuple[float, float], moment: datetime, **fields: Any) -> str:
        at(moment)
        stamp = (moment - timedelta(minutes=5)).isoformat()
        answer = client.post(
            "/incidents",
            json=body(point, occurred_at=stamp, reported_at=stamp, **fields),
            headers=as_(client, "dispatch"),
        )
        assert answer.status_code == 201, answer.text
        return str(answer.json()["id"])

    def step(number: str, name: str, moment: datetime, *, by: str = "case", **fields: Any):
        at(moment)
        answer = client.post(
            f"/incidents/{number}/events", json={"step": name, **fields}, headers=as_(client, by)
        )
        assert answer.status_code == 201, answer.text

    def assign(number: str, unit: str, moment: datetime) -> None:
        at(moment)
        answer = client.post(
            f"/incidents/{number}/assignments",
            json={"unit_id": unit},
            headers=as_(client, "dispatch"),
        )
        assert answer.status_code == 201, answer.text

    for code in ("west-car-1", "west-car-2", "west-car-3"):
        answer = client.post(
            "/units",
            json={
                "unit_id": code,
                "name": code,
                "squad": "west",
                "mode": "car",
                "members": {"enforcement_officer": 2},
                "status": "available",
            },
            headers=as_(client, "admin"),
        )
        assert answer.status_code == 201, answer.text

    h = report(MEIYUAN, datetime(2026, 10, 30, 9, 0, tzinfo=BEIJING))
    step(h, "accepted", datetime(2026, 10, 30, 9, 10, tzinfo=BEIJING))
    a = report(MEIYUAN, START)
    step(a, "accepted", START + timedelta(minutes=5))
    assign(a, "west-car-1", START + timedelta(minutes=6))
    step(a, "handled", START + timedelta(minutes=30), by="dispatch")
    step(a, "verified_closed", START + timedelta(minutes=50))
    b = report(offset_m(MEIYUAN, 100), START + timedelta(hours=1))
    step(b, "rejected", START + timedelta(hours=1, minutes=5), note="不属于执法事项")
    c = report(offset_m(MEIYUAN, 5), START + timedelta(hours=2))
    step(c, "duplicate", START + timedelta(hours=2, minutes=5), duplicate_of=a)
    d = report(offset_m(MEIYUAN, -150), START + timedelta(hours=3), category="C05")
    step(d, "accepted", START + timedelta(hours=3, minutes=5))
    e = report(offset_m(MEIYUAN, 0, 150), START + timedelta(hours=4))
    step(e, "accepted", START + timedelta(hours=4, minutes=5))
    assign(e, "west-car-2", START + timedelta(hours=4, minutes=6))
    step(e, "handled", START + timedelta(hours=5), by="dispatch")
    step(e, "reopened", START + timedelta(hours=6), note="摊贩又回来了")
    step(e, "handled", START + timedelta(days=21), by="dispatch")
    step(e, "verified_closed", START + timedelta(days=21, hours=1))
    f = report(offset_m(MEIYUAN, 0, -150), START + timedelta(hours=7))
    step(f, "accepted", START + timedelta(hours=7, minutes=5))
    step(f, "parked", START + timedelta(hours=7, minutes=10), note="待规划部门认定")
    g = report(QINGSHUIHE, START + timedelta(hours=8))
    step(g, "accepted", START + timedelta(hours=8, minutes=5))
    at(END_OF_MONTH)
    try:
        cases = dict(zip("ABCDEFGH", (a, b, c, d, e, f, g, h), strict=True))
        yield {"client": client, "numbers": cases}
    finally:
        client.app.state.clock = None  # type: ignore[attr-defined]
