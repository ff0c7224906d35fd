"""The information groups' and the case team's pages in Debian's chromium (issue 14 §7), each
used by the role it serves on the demo: the officer files today's report on a phone-sized
screen, the group head approves it, the case team reads the statistics and marks a case file
typical, a leader opens the monthly pack."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
from shapely.geometry import shape

from service.core.timezones import BEIJING

from .conftest import sign_in

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}
NIGANG = "440303010002"  # the demo officer's community (泥岗)


def _inside(server, code: str):
    """A point well inside the community (its representative point)."""
    layer = httpx.get(f"{server}/layers/active", headers=server.auth("demo-leader")).json()
    [feature] = [f for f in layer["communities"]["features"] if f["properties"]["code"] == code]
    return shape(feature["geometry"]).representative_point()


def _today() -> str:
    return datetime.now(UTC).astimezone(BEIJING).date().isoformat()


def test_the_officer_files_and_the_head_approves_the_daily_report(server, browser, tmp_path):
    page = browser.new_page(viewport=PHONE, is_mobile=True, has_touch=True)
    page.on("pageerror", lambda e: pytest.fail(f"page error: {e}"))
    sign_in(page, server, "demo-info", then="/report")
    page.wait_for_selector("#i-kind option[value='C02']", state="attached")
    page.fill("#r-day", _today())
    page.dispatch_event("#r-day", "change")
    page.wait_for_function("document.getElementById('r-state').textContent.length > 0")
    # One item: tap the map inside the community's outline, pick the category, add it.
    page.wait_for_selector("#map path.leaflet-interactive")
    inside = _inside(server, NIGANG)
    x, y = page.evaluate(
        "([lat, lon]) => { const p = document.getElementById('map').leafletMap"
        ".latLngToContainerPoint([lat, lon]); return [p.x, p.y]; }",
        [inside.y, inside.x],
    )
    box = page.locator("#map").bounding_box()
    page.mouse.click(box["x"] + x, box["y"] + y)
    page.select_option("#i-kind", "C02")
    page.fill("#i-time", "00:01")
    page.fill("#i-text", "流动摊贩占道经营")
    page.click("#i-add")
    page.wait_for_selector("#r-items li[data-item='1']")
    page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
    page.click("#r-submit")
    page.wait_for_function(
        "document.getElementById('r-message').textContent.indexOf('已提交') >= 0"
        " || document.getElementById('r-message').className.indexOf('error') >= 0",
        timeout=15_000,
    )
    assert "已提交" in page.locator("#r-message").inner_text(), page.locator(
        "#r-message"
    ).inner_text()
    assert page.locator("#r-submit").is_disabled()  # submitted: the head has it now
    stored = httpx.get(
        f"{server}/reports/daily/{NIGANG}/{_today()}", headers=server.auth("demo-leader")
    ).json()
    assert (stored["status"], stored["filed_by"], len(stored["items"])) == (
        "submitted",
        "demo-info",
        1,
    )
    assert stored["items"][0]["category"] == "C02"
    page.close()

    head = browser.new_page(viewport=PHONE, is_mobile=True, has_touch=True)
    head.on("pageerror", lambda e: pytest.fail(f"page error: {e}"))
    sign_in(head, server, "demo-head", then="/report/review")
    head.wait_for_selector(f"#v-queue button[data-day='{_today()}']")
    head.click(f"#v-queue button[data-day='{_today()}']")
    head.wait_for_selector("#v-items tbody tr")
    assert "流动摊贩" in head.locator("#v-items").inner_text()
    head.click("#v-approve")
    head.wait_for_function(
        "document.getElementById('v-message').textContent.indexOf('已审核通过') >= 0"
    )
    approved = httpx.get(
        f"{server}/reports/daily/{NIGANG}/{_today()}", headers=server.auth("demo-leader")
    ).json()
    assert (approved["status"], approved["approved_by"]) == ("approved", "demo-head")
    assert approved["items"][0]["incident"]  # the item became an incident
    head.wait_for_selector(f"#v-days tr[data-day='{_today()}']")
    head.close()


def test_the_case_team_reads_statistics_and_marks_a_typical_case(server, browser):
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.on("pageerror", lambda e: pytest.fail(f"page error: {e}"))
    sign_in(page, server, "demo-case", then="/cases")
    page.wait_for_selector("#c-stats tbody tr[data-key='total']")
    start = page.locator("#c-start").input_value()
    end = page.locator("#c-end").input_value()
    figures = httpx.get(
        f"{server}/statistics/cases",
        params={"start": start, "end": end, "by": "community"},
        headers=server.auth("demo-case"),
    ).json()
    total = page.locator("#c-stats tbody tr[data-key='total'] td")
    assert total.nth(1).inner_text() == str(figures["total"]["reports"])
    assert total.nth(3).inner_text() == str(figures["total"]["filed"])
    page.wait_for_selector("#c-files tbody tr[data-case]")
    first = page.locator("#c-files tbody tr[data-case]").first
    case_id = first.get_attribute("data-case")
    first.click()
    page.wait_for_selector("#f-timeline li")
    assert page.locator("#f-title").inner_text().startswith(case_id)
    page.fill("#t-summary", "早高峰流动摊贩聚集, 联合执法后清理, 两周未复发。")
    page.click("#t-mark")
    page.wait_for_function(
        "document.getElementById('f-message').textContent.indexOf('已标为典型') >= 0"
    )
    stored = httpx.get(f"{server}/casefiles/{case_id}", headers=server.auth("demo-case")).json()
    assert stored["typical"] is True
    assert stored["typical_marked_by"] == "demo-case"
    page.check("#c-typical")
    page.wait_for_function("document.querySelectorAll('#c-files tbody tr[data-case]').length === 1")
    page.close()


def test_a_leader_opens_the_monthly_pack(server, browser):
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.on("pageerror", lambda e: pytest.fail(f"page error: {e}"))
    sign_in(page, server, "demo-leader", then="/meetings/monthly?map=false")
    heading = page.locator("h1").inner_text()
    assert "月度例会材料" in heading
    assert page.locator("table tr.total").count() == 1
    assert page.locator("a.pdf").get_attribute("href").startswith("/meetings/monthly?")
