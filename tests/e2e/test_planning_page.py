"""The squad leader's planning page in Debian's chromium: plan a shift with a task added by
clicking the map and a beat drawn on it, read the figures and timelines, open a briefing,
re-plan after a dispatch and compare with the plan before."""

import math
import os
import re
from pathlib import Path

import httpx
import pytest

from .conftest import sign_in

pytestmark = pytest.mark.browser


def _plan_id(page) -> int:
    match = re.search(r"#(\d+)", page.locator("#r-title").inner_text())
    assert match, page.locator("#r-title").inner_text()
    return int(match.group(1))


@pytest.mark.parametrize(
    "server", ["spatialite", pytest.param("postgis", marks=pytest.mark.postgis)], indirect=True
)
def test_a_squad_leader_plans_a_shift_on_the_page(server, browser):
    page = browser.new_page(viewport={"width": 1700, "height": 1000})
    page.on("pageerror", lambda e: pytest.fail(f"page error: {e}"))
    sign_in(page, server, "demo-squad", then="/plan")  # the west squad's leader lands here
    page.wait_for_selector("#p-units tbody tr")
    # The standard roster of the squad, from its base.
    assert page.locator("#p-units tbody tr").count() == 4
    assert page.locator("#p-squad").input_value() == "west"
    assert page.locator("#p-squad").is_disabled()

    # A follow-up inspection, added by clicking the map, due 09:00-10:00, 20 minutes.
    box = page.locator("#map").bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
    task = page.locator("#p-tasks li[data-task='task-1']")
    task.wait_for()
    task.locator("input[aria-label='task window from']").fill("09:00")
    task.locator("input[aria-label='task window until']").fill("10:00")
    task.locator("input[aria-label='task minutes']").fill("20")
    task.locator("input[aria-label='task note']").fill("复查 follow-up")

    # The first foot patrol's beat, drawn by hand: four corners clicked on the map.
    page.locator("#p-units tr[data-unit='west-foot-1'] button.beat").click()
    page.wait_for_selector("#p-draw:not([hidden])")
    for fx, fy in ((0.42, 0.42), (0.58, 0.42), (0.58, 0.58), (0.42, 0.58)):
        page.mouse.click(box["x"] + box["width"] * fx, box["y"] + box["height"] * fy)
    page.click("#p-draw-done")
    page.wait_for_selector("#p-beats li[data-beat='west-foot-1']")
    assert page.locator("#p-tasks li").count() == 1  # the corners added no task

    # Every text the progress bar shows is recorded: a fast solve passes its phases between
    # two polls of a waiting test, so the test reads the record, not the bar at one moment.
    page.evaluate(
        """() => {
          window.shownProgress = [];
          const bar = document.getElementById('p-progress-text');
          new MutationObserver(() => window.shownProgress.push(bar.textContent))
            .observe(bar, {childList: true, characterData: true, subtree: true});
        }"""
    )
    page.click("#p-plan")
    page.wait_for_selector("#p-progress:not([hidden])", timeout=5_000)  # the progress bar
    page.wait_for_selector("#result:not([hidden])", timeout=180_000)
    # ... it told the job's real progress: a share and a phase of the work, then done.
    shown = page.evaluate("window.shownProgress")
    working = [t for t in shown if re.search(r"\d+% · (准备|搜索|巡逻段)", t)]
    assert working, shown
    assert any("100% · 完成" in t for t in shown), shown
    plan_id = _plan_id(page)
    stored = httpx.get(f"{server}/plans/{plan_id}", headers=server.auth("demo-squad")).json()
    stops = [s for u in stored["units"] for s in u["stops"]]
    [visit] = [s for s in stops if s["target_id"] == "task-1"]
    assert "09:00" <= visit["start"][11:16] <= "10:00"
    assert visit["label"] == "复查 follow-up"
    assert stored["drawn_beats"] == ["west-foot-1"]
    foot = next(u for u in stored["units"] if u["unit_id"] == "west-foot-1")
    assert len(foot["beat"]["coordinates"][0]) == 5  # the four corners, closed

    # The figures, as the document has them; a timeline bar per unit, with patrol in it.
    cell = page.locator("#r-metrics tr[data-figure='utilisation_min'] td").nth(1)
    shown = math.floor(stored["metrics"]["utilisation_min"] * 100 + 0.5)  # JS Math.round
    assert cell.inner_text() == f"{shown}%"
    assert page.locator(".gantt-row").count() == 4
    assert page.locator(".gantt-row .seg-patrol").count() > 0
    assert page.locator(".gantt-row .seg-task").count() == 1
    # Beats and routes on the map, the hot spots with why they are there.
    assert page.locator("path.leaflet-interactive").count() >= 4
    page.screenshot(
        path=str(Path(os.environ.get("JIEDAO_SCREENSHOT_DIR", "/tmp")) / "jiedao-plan.png")
    )

    # A unit's briefing opens, printable, with its own stops.
    with page.expect_popup() as popup:
        page.locator("#r-units li[data-unit='west-foot-1'] a.briefing").click()
    briefing = popup.value
    briefing.wait_for_load_state()
    assert "west-foot-1" in briefing.content()
    briefing.close()

    # At 11:00 the e-bike is sent to an incident: re-plan the rest of the shift from the page.
    page.fill("#r-now", "11:00")
    page.check("#r-remove input[value='west-ebike-1']")
    page.click("#r-replan")
    page.wait_for_function(
        f"document.getElementById('r-title').textContent.indexOf('#{plan_id} ') < 0",
        timeout=120_000,
    )
    again = _plan_id(page)
    fresh = httpx.get(f"{server}/plans/{again}", headers=server.auth("demo-squad")).json()
    assert fresh["replan_of"] == plan_id
    assert fresh["removed_units"] == ["west-ebike-1"]
    assert "重排" in page.locator("#r-title").inner_text()
    # The previous plan's figures stand beside the new ones, its routes under the new ones.
    assert page.locator("#r-prev-head").inner_text().startswith(f"上一版 #{plan_id}")
    assert page.locator("path[stroke='#64748b']").count() >= 3
    assert fresh["drawn_beats"] == ["west-foot-1"]
