"""The dispatcher console (issue 4 §5) in a real Chromium, signed in as the demo users: an
incident reported through the API appears in the live queue without a reload; assigning a
recommended unit in the page changes the incident's status and the unit's; the case team
closes a case the dispatcher handled; an information officer sees only their community and no
units; signing out asks for a login again."""

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from .conftest import sign_in

pytestmark = pytest.mark.browser

# Meiyuan (梅园), a community of the west squad; the units wait a few hundred metres away.
INCIDENT = (114.0974, 22.5771)
UNITS = (
    {"unit_id": "console-car-1", "name": "西巡车一", "mode": "car", "at": (114.0990, 22.5790)},
    {"unit_id": "console-foot-1", "name": "西步巡一", "mode": "foot", "at": (114.0960, 22.5760)},
)


def _units(server) -> None:
    now = datetime.now(UTC)
    admin = server.auth("demo-admin")
    dispatcher = server.auth("demo-dispatch")
    for unit in UNITS:
        created = httpx.post(
            f"{server}/units",
            headers=admin,
            json={
                "unit_id": unit["unit_id"],
                "name": unit["name"],
                "squad": "west",
                "mode": unit["mode"],
                "members": {"enforcement_officer": 2},
            },
        )
        assert created.status_code == 201, created.text
        status = httpx.post(
            f"{server}/units/{unit['unit_id']}/status",
            headers=dispatcher,
            json={"status": "available", "reason": "shift start"},
        )
        assert status.status_code == 200, status.text
        lon, lat = unit["at"]
        token = httpx.post(f"{server}/units/{unit['unit_id']}/device-token", headers=admin)
        assert token.status_code == 201, token.text
        pings = httpx.post(
            f"{server}/units/{unit['unit_id']}/positions",
            headers={"Authorization": f"Bearer {token.json()['token']}"},
            json={
                "pings": [
                    {
                        "at": (now - timedelta(seconds=20)).isoformat(),
                        "lon": lon - 0.0005,
                        "lat": lat,
                    },
                    {"at": now.isoformat(), "lon": lon, "lat": lat, "accuracy_m": 8.0},
                ]
            },
        )
        assert pings.status_code == 200, pings.text
        assert pings.json()["stored"] == 2


@pytest.mark.parametrize(
    "server", ["spatialite", pytest.param("postgis", marks=pytest.mark.postgis)], indirect=True
)
def test_console_queue_detail_and_assign(server, browser):
    _units(server)
    dispatcher = server.auth("demo-dispatch")
    leader = server.auth("demo-leader")
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    sign_in(page, server, "demo-dispatch")
    assert "demo-dispatch" in page.locator("#signed-in").inner_text()
    assert page.locator(".demo-banner").is_visible()
    # The communities are drawn and the first poll has filled the queue and the units.
    page.wait_for_selector(".leaflet-overlay-pane path", timeout=30_000)
    page.wait_for_selector(
        "#units li[data-unit-id='console-car-1'][data-status='available']", timeout=15_000
    )
    assert "updated" in page.locator("#updated").inner_text()
    # The legend explains every marker colour on the map.
    legend = page.locator("#legend")
    assert legend.is_visible()
    for words in ("urgent", "available", "en route", "stale"):
        assert words in legend.inner_text()
    page.evaluate("window.__notReloaded = true")

    reported = httpx.post(
        f"{server}/incidents",
        headers=dispatcher,
        json={
            "category": "C02",
            "location": {"lon": INCIDENT[0], "lat": INCIDENT[1]},
            "occurred_at": datetime.now(UTC).isoformat(),
            "source": "complaint",
            "urgent": True,
            "description": "占道经营 <b>test</b> & console",
        },
    )
    assert reported.status_code == 201, reported.text
    incident = reported.json()
    assert incident["resolution"]["squad"] == "west"
    item = page.locator(f"#queue button[data-incident-id='{incident['id']}']")
    item.wait_for(timeout=10_000)
    assert page.evaluate("window.__notReloaded") is True
    assert "紧急" in item.inner_text()
    # Urgent incidents head the queue (the demo holds no other urgent open ones, or only few).
    assert "紧急" in page.locator("#queue li").first.inner_text()

    item.click()
    page.wait_for_selector(f"#detail[data-incident-id='{incident['id']}']", timeout=10_000)
    rows = page.locator("#d-recs tbody tr[data-unit-id]")
    rows.first.wait_for(timeout=15_000)
    recommended = [rows.nth(i).get_attribute("data-unit-id") for i in range(rows.count())]
    assert set(recommended) >= {"console-car-1", "console-foot-1"}
    for i in range(rows.count()):
        assert float(rows.nth(i).locator("td.eta").inner_text()) >= 0
    detail = page.locator("#detail").inner_text()
    assert "梅园" in detail
    assert "west" in detail
    # The description is shown as text, never parsed as markup.
    assert page.locator("#d-description").inner_text() == "占道经营 <b>test</b> & console"
    assert page.locator("#d-description b").count() == 0

    first = recommended[0]
    page.locator(f"#d-recs button.assign[data-unit-id='{first}']").click()
    page.wait_for_selector("#d-status[data-status='dispatched']", timeout=10_000)
    page.wait_for_selector(
        f"#queue button[data-incident-id='{incident['id']}'][data-status='dispatched']",
        timeout=10_000,
    )
    page.wait_for_selector(
        f"#units li[data-unit-id='{first}'][data-status='en_route']", timeout=10_000
    )
    page.wait_for_selector("#d-timeline li[data-step='dispatched']", timeout=10_000)
    assert httpx.get(f"{server}/units/{first}", headers=leader).json()["status"] == "en_route"

    # Two dispatchers: the page still offers the other unit for a second incident when
    # another dispatcher sends it first; the page's Assign gets 409 and shows why.
    other = next(u for u in recommended if u != first)
    second = httpx.post(
        f"{server}/incidents",
        headers=dispatcher,
        json={
            "category": "C02",
            "location": {"lon": INCIDENT[0] + 0.001, "lat": INCIDENT[1]},
            "occurred_at": datetime.now(UTC).isoformat(),
            "source": "patrol",
            "urgent": True,
        },
    ).json()
    page.locator(f"#queue button[data-incident-id='{second['id']}']").click(timeout=10_000)
    page.wait_for_selector(f"#detail[data-incident-id='{second['id']}']", timeout=10_000)
    page.wait_for_selector(f"#d-recs button.assign[data-unit-id='{other}']", timeout=10_000)
    page.evaluate("window.jiedaoConsole.pause()")
    won = httpx.post(
        f"{server}/incidents/{second['id']}/assignments",
        headers=server.auth("demo-dispatch"),  # another desk, another sign-in
        json={"unit_id": other},
    )
    assert won.status_code == 201, won.text
    page.locator(f"#d-recs button.assign[data-unit-id='{other}']").click()
    page.wait_for_selector("#d-message.error", timeout=10_000)
    assert "409" in page.locator("#d-message").inner_text()
    page.evaluate("window.jiedaoConsole.resume()")
    page.wait_for_selector("#d-status[data-status='dispatched']", timeout=10_000)
    page.wait_for_selector(
        f"#units li[data-unit-id='{other}'][data-status='en_route']", timeout=10_000
    )
    assert page.evaluate("window.__notReloaded") is True

    # Back to the first incident for the screenshot.
    page.locator(f"#queue button[data-incident-id='{incident['id']}']").click()
    page.wait_for_selector(f"#detail[data-incident-id='{incident['id']}']", timeout=10_000)
    page.screenshot(
        path=str(Path(os.environ.get("JIEDAO_SCREENSHOT_DIR", "/tmp")) / "jiedao-console.png")
    )

    # The dispatcher runs the case to handled from the page; closing is the case team's, so
    # the page offers no such button, and the server refuses it from this session too.
    page.click("#d-steps button[data-step='on_scene']")
    page.wait_for_selector("#d-status[data-status='on_scene']", timeout=10_000)
    page.wait_for_selector(
        f"#units li[data-unit-id='{first}'][data-status='on_scene']", timeout=10_000
    )
    page.click("#d-steps button[data-step='handled']")
    page.wait_for_selector("#d-status[data-status='handled']", timeout=10_000)
    page.wait_for_selector("#d-timeline li[data-step='handled']", timeout=10_000)
    assert page.locator("#d-steps button[data-step='verified_closed']").count() == 0
    refused = page.evaluate(
        """id => fetch('/incidents/' + id + '/events', {method: 'POST',
             headers: {'Content-Type': 'application/json',
                       'X-CSRF-Token': document.querySelector('meta[name=csrf-token]').content},
             body: JSON.stringify({step: 'verified_closed'})}).then(r => r.status)""",
        incident["id"],
    )
    assert refused == 403

    # The case team closes it in its own session: the handler was another operator.
    case = browser.new_page(viewport={"width": 1400, "height": 900})
    case.on("pageerror", lambda exc: errors.append(str(exc)))
    sign_in(case, server, "demo-case")
    case.locator(f"#queue button[data-incident-id='{incident['id']}']").click(timeout=15_000)
    case.wait_for_selector(f"#detail[data-incident-id='{incident['id']}']", timeout=10_000)
    assert case.locator("#d-recs button.assign").count() == 0  # no dispatching for the team
    case.click("#d-steps button[data-step='verified_closed']")
    case.wait_for_selector(
        f"#queue button[data-incident-id='{incident['id']}']", state="detached", timeout=10_000
    )
    timeline = httpx.get(f"{server}/incidents/{incident['id']}/timeline", headers=leader).json()
    assert [(e["step"], e["actor"]) for e in timeline["events"][-3:]] == [
        ("on_scene", "demo-dispatch"),
        ("handled", "demo-dispatch"),
        ("verified_closed", "demo-case"),
    ]
    assert timeline["next_steps"] == []
    # Closed, the case lets its unit go: available for the next one.
    assert httpx.get(f"{server}/units/{first}", headers=leader).json()["status"] == "available"

    # Signing out ends the session: the console asks for a login again.
    case.click("#logout")
    case.wait_for_url(f"{server}/login", timeout=10_000)
    case.goto(f"{server}/console", wait_until="domcontentloaded")
    assert case.url.startswith(f"{server}/login")
    assert case.locator("form[action='/login']").is_visible()
    assert errors == []
    page.close()
    case.close()


def test_an_information_officer_sees_only_their_community(server, browser):
    leader = server.auth("demo-leader")
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    sign_in(page, server, "demo-info")
    page.wait_for_selector("#queue button[data-incident-id]", timeout=30_000)
    shown = page.locator("#queue button[data-incident-id]")
    ids = [shown.nth(i).get_attribute("data-incident-id") for i in range(min(shown.count(), 20))]
    assert ids
    for incident_id in ids:
        read = httpx.get(f"{server}/incidents/{incident_id}", headers=leader).json()
        assert read["resolution"]["community_code"] == "440303010002"  # 泥岗
    assert page.locator("#units li").count() == 0  # nothing about units
    # The page hides what the role may not do, and the server refuses it anyway.
    units = page.evaluate("fetch('/units').then(r => r.status)")
    assert units == 403
    other = httpx.get(
        f"{server}/incidents",
        params={"community": "440303010001", "limit": 1},
        headers=leader,
    ).json()["items"][0]
    hidden = page.evaluate("id => fetch('/incidents/' + id).then(r => r.status)", other["id"])
    assert hidden == 404
    page.close()
