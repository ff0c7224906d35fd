"""The README flow end to end: `jiedao demo`, `jiedao serve`, and the map in a real Chromium."""

import os
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from service.core.timezones import BEIJING

from .conftest import sign_in

pytestmark = pytest.mark.browser


def test_api_serves_the_demo_month(server):
    # Nothing but the sign-in, Open311 reads and the health check answers a stranger.
    assert httpx.get(f"{server}/incidents").status_code == 401
    leader = server.auth("demo-leader")
    listed = httpx.get(f"{server}/incidents", params={"limit": 5}, headers=leader).json()
    assert listed["total"] > 100
    resolved = httpx.get(
        f"{server}/resolve", params={"lon": 114.1007, "lat": 22.5812}, headers=leader
    ).json()
    assert resolved["community_code"] is not None


def test_route_map_shows_every_unit_in_chromium(server, browser):
    created = httpx.post(
        f"{server}/plans",
        headers=server.auth("demo-squad"),  # the west squad's leader
        json={
            "squad": "west",
            "shift": "late",
            "date": datetime.now(BEIJING).date().isoformat(),
            "time_limit_s": 3,
        },
        timeout=60,
    )
    assert created.status_code == 201, created.text
    plan = created.json()
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    sign_in(page, server, "demo-squad", then=f"/plans/{plan['id']}/map")
    page.wait_for_selector(".leaflet-overlay-pane path", timeout=30_000)
    labels = page.locator(".leaflet-control-layers-overlays label").all_inner_texts()
    for unit in plan["units"]:
        assert any(unit["unit_id"] in label for label in labels)

    # A numbered badge per stop; patrol legs are the path between them.
    def numbered(unit):
        return [s for s in unit["stops"] if s["kind"] != "patrol"]

    stops = sum(len(numbered(u)) for u in plan["units"])
    assert page.locator(".leaflet-marker-pane .leaflet-marker-icon").count() == stops
    # Hiding one unit's layer removes its numbered stops from the map.
    car = next(u for u in plan["units"] if u["unit_id"] == "west-car-1")
    page.locator(".leaflet-control-layers-overlays label", has_text="west-car-1").locator(
        "input"
    ).uncheck()
    assert page.locator(".leaflet-marker-pane .leaflet-marker-icon").count() == stops - len(
        numbered(car)
    )
    page.screenshot(
        path=str(Path(os.environ.get("JIEDAO_SCREENSHOT_DIR", "/tmp")) / "jiedao-route-map.png")
    )
    assert errors == []
    page.close()


def test_map_renders_in_chromium(server, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    sign_in(page, server, "demo-leader", then="/")
    page.wait_for_selector(".leaflet-overlay-pane path", timeout=30_000)
    # Seven community polygons, key roads and incident markers are drawn as SVG paths.
    assert page.locator(".leaflet-overlay-pane path").count() > 20
    assert page.locator(".leaflet-control-layers").count() == 1
    text = page.content()
    for expected in ("巡查一中队", "巡查二中队", "清水河"):
        assert expected in text
    page.screenshot(
        path=str(Path(os.environ.get("JIEDAO_SCREENSHOT_DIR", "/tmp")) / "jiedao-first-screen.png")
    )
    assert errors == []
    page.close()
