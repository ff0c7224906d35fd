"""The hot-spot map in a real Chromium: layers, legend and targets render; the page's filters
change what is counted; the PNG snapshot for the monthly pack shows the hot cells."""

import io
import re

import httpx
import numpy as np
import pytest
from PIL import Image

from maps.hotspots import BIN_COLOURS

from .conftest import sign_in

pytestmark = pytest.mark.browser


def _incidents_line(page) -> int:
    text = page.locator("#jiedao-title").inner_text()
    match = re.search(r"([\d,]+) 件事件 incidents", text)
    assert match, text
    return int(match.group(1).replace(",", ""))


def test_hotspot_page_renders_and_its_filters_change_the_count(server, browser):
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    sign_in(page, server, "demo-leader", then="/maps/hotspots?permutations=9999")
    page.wait_for_selector(".leaflet-overlay-pane path", timeout=30_000)
    layers = page.locator(".leaflet-control-layers-overlays label").all_inner_texts()
    for name in ("Gi*", "heat map", "key roads", "campaign targets", "week by week"):
        assert any(name in label for label in layers), (name, layers)
    # The animation's time slider shows only while its layer is on.
    slider = page.locator(".leaflet-bar-timecontrol")
    assert not slider.is_visible()
    page.locator(".leaflet-control-layers-overlays label", has_text="week by week").click()
    assert slider.is_visible()
    page.locator(".leaflet-control-layers-overlays label", has_text="week by week").click()
    assert not slider.is_visible()
    legend = page.locator("#jiedao-legend").inner_text()
    for words in ("99% hot spot", "not significant", "cold spot"):
        assert words in legend
    everything = _incidents_line(page)
    assert everything > 100
    # The demo's week holds significant hot spots, listed as targets that zoom the map.
    targets = page.locator("#jiedao-targets a.jiedao-target")
    assert targets.count() >= 1
    before = page.evaluate(
        "() => { const m = Object.values(window).find("
        "v => v && v._leaflet_id && v.getZoom); return m.getZoom(); }"
    )
    targets.first.click()
    page.wait_for_timeout(600)
    after = page.evaluate(
        "() => { const m = Object.values(window).find("
        "v => v && v._leaflet_id && v.getZoom); return m.getZoom(); }"
    )
    assert after > before

    # Choose one category and the late shift in the page's form: fewer incidents, same page.
    page.select_option("#jiedao-filters select[name='category']", "C02")
    page.select_option("#jiedao-filters select[name='shift']", "late")
    with page.expect_navigation():
        page.click("#jiedao-filters button[type='submit']")
    page.wait_for_selector(".leaflet-overlay-pane path", timeout=30_000)
    assert "category=C02" in page.url
    assert "shift=late" in page.url
    assert "=&" not in page.url  # "all" leaves a parameter out instead of sending it empty
    narrowed = _incidents_line(page)
    assert 0 < narrowed < everything
    expected = httpx.get(
        f"{server}/hotspots",
        params={"category": "C02", "shift": "late", "permutations": 9999},
        headers=server.auth("demo-leader"),
    ).json()
    assert narrowed == expected["incidents"]
    assert "C02" in page.locator("#jiedao-title").inner_text()
    assert errors == []


def test_downloaded_page_opens_from_disk(server, browser, tmp_path):
    response = httpx.get(
        f"{server}/maps/hotspots",
        params={"download": "true", "permutations": 9999},
        headers=server.auth("demo-leader"),
        timeout=60,
    )
    assert "attachment" in response.headers["content-disposition"]
    saved = tmp_path / "hotspots.html"
    saved.write_text(response.text, encoding="utf-8")
    page = browser.new_page(viewport={"width": 1200, "height": 800})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    page.goto(saved.as_uri(), wait_until="load")
    page.wait_for_selector(".leaflet-overlay-pane path", timeout=30_000)
    assert page.locator("#jiedao-legend").is_visible()
    assert page.locator("#jiedao-filters").count() == 0
    # Nothing but basemap tiles is fetched: the libraries are inside the file.
    assert [u for u in asked if not u.startswith(("file:", "data:")) and "tile" not in u] == []
    assert errors == []


def test_png_snapshot_shows_the_hot_cells(server):
    leader = server.auth("demo-leader")
    response = httpx.get(
        f"{server}/maps/hotspots.png",
        params={"width": 1000, "height": 700, "permutations": 9999},
        headers=leader,
        timeout=120,
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    image = Image.open(io.BytesIO(response.content)).convert("RGB")
    assert image.size == (1000, 700)
    cells = httpx.get(f"{server}/hotspots", params={"permutations": 9999}, headers=leader).json()
    bins = {f["properties"]["gi_bin"] for f in cells["features"]}
    hot = [BIN_COLOURS[b] for b in bins if b > 0]
    assert hot, "the demo data should hold a significant hot spot"
    pixels = np.asarray(image).reshape(-1, 3).astype(int)
    # Cells are drawn semi-transparent: count pixels of a hot bin's hue (red to orange).
    reddish = (pixels[:, 0] > 200) & (pixels[:, 1] < 190) & (pixels[:, 2] < 150)
    assert reddish.sum() > 100  # a 150 m cell is about 15 x 15 pixels at this zoom
    assert len(np.unique(pixels, axis=0)) > 200  # a drawn map, not a blank page
