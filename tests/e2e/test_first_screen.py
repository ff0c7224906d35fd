"""The README flow end to end: `jiedao demo`, `jiedao serve`, and the map in a real Chromium."""

import os
import shutil
import socket
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from service.timezones import BEIJING

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("first-screen")
    env = {**os.environ, "JIEDAO_DATABASE_URL": f"sqlite:///{workdir}/jiedao.sqlite",
           "JIEDAO_PORT": str(_free_port())}
    demo = subprocess.run([BIN / "jiedao", "demo", "--days", "7", "--seed", "3"], env=env,
                          cwd=workdir, capture_output=True, text=True, timeout=300, check=False)
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert "Stored" in demo.stdout
    again = subprocess.run([BIN / "jiedao", "demo", "--if-empty"], env=env, cwd=workdir,
                           capture_output=True, text=True, timeout=120, check=False)
    assert "nothing to do" in again.stdout
    log = workdir / "serve.log"
    with log.open("w") as sink:
        process = subprocess.Popen([BIN / "jiedao", "serve"], env=env, cwd=workdir,
                                   stdout=sink, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{env['JIEDAO_PORT']}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"jiedao serve did not come up: {log.read_text()}")
            time.sleep(0.3)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_api_serves_the_demo_month(server):
    listed = httpx.get(f"{server}/incidents", params={"limit": 5}).json()
    assert listed["total"] > 100
    resolved = httpx.get(f"{server}/resolve", params={"lon": 114.1007, "lat": 22.5812}).json()
    assert resolved["community_code"] is not None


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists() or shutil.which("chromium") is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("Debian's chromium is required on CI (apt-get install chromium)")
        pytest.skip("Debian's chromium is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"])
        try:
            yield chromium
        finally:
            chromium.close()


def test_route_map_shows_every_unit_in_chromium(server, browser):
    created = httpx.post(f"{server}/plans", json={
        "squad": "west", "shift": "late",
        "date": datetime.now(BEIJING).date().isoformat(),
        "time_limit_s": 3}, timeout=60)
    assert created.status_code == 201, created.text
    plan = created.json()
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{server}/plans/{plan['id']}/map", wait_until="domcontentloaded")
    page.wait_for_selector(".leaflet-overlay-pane path", timeout=30_000)
    labels = page.locator(".leaflet-control-layers-overlays label").all_inner_texts()
    for unit in plan["units"]:
        assert any(unit["unit_id"] in label for label in labels)
    stops = sum(len(u["stops"]) for u in plan["units"])
    assert page.locator(".leaflet-marker-pane .leaflet-marker-icon").count() == stops
    # Hiding one unit's layer removes its numbered stops from the map.
    car = next(u for u in plan["units"] if u["unit_id"] == "west-car-1")
    page.locator(".leaflet-control-layers-overlays label", has_text="west-car-1") \
        .locator("input").uncheck()
    assert page.locator(".leaflet-marker-pane .leaflet-marker-icon").count() == \
        stops - len(car["stops"])
    page.screenshot(path=str(Path(os.environ.get("JIEDAO_SCREENSHOT_DIR", "/tmp"))
                             / "jiedao-route-map.png"))
    assert errors == []
    page.close()


def test_map_renders_in_chromium(server, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{server}/", wait_until="domcontentloaded")
    page.wait_for_selector(".leaflet-overlay-pane path", timeout=30_000)
    # Seven community polygons, key roads and incident markers are drawn as SVG paths.
    assert page.locator(".leaflet-overlay-pane path").count() > 20
    assert page.locator(".leaflet-control-layers").count() == 1
    text = page.content()
    for expected in ("巡查一中队", "巡查二中队", "清水河"):
        assert expected in text
    page.screenshot(path=str(Path(os.environ.get("JIEDAO_SCREENSHOT_DIR", "/tmp"))
                             / "jiedao-first-screen.png"))
    assert errors == []
    page.close()
