"""Maps load their libraries from jiedao itself, so they work on an intranet without CDNs."""

import re
from pathlib import Path
from typing import ClassVar

import folium
import pytest
from folium.plugins import MarkerCluster

from maps.assets import LOCAL_ASSETS, offline_html, standalone_html

VENDOR = Path(__file__).resolve().parents[2] / "service" / "pages" / "static" / "vendor"


def test_every_mapped_asset_is_shipped():
    missing = [path for path in LOCAL_ASSETS.values() if not (VENDOR / path).is_file()]
    assert missing == []


def test_rendered_page_reaches_for_no_cdn():
    m = folium.Map(location=(22.58, 114.09), zoom_start=14, tiles=None)
    cluster = MarkerCluster().add_to(m)
    folium.Marker((22.58, 114.09), icon=folium.Icon(icon="flag", prefix="fa")).add_to(cluster)
    html = offline_html(m, asset_base="/static/vendor/")
    external = re.findall(r'<(?:script|link)[^>]*(?:src|href)="(https?://[^"]+)"', html)
    assert external == []
    assert '/static/vendor/leaflet/leaflet.js"' in html
    assert '/static/vendor/markercluster/leaflet.markercluster.js"' in html


def test_heat_and_time_plugins_load_locally():
    from folium.plugins import HeatMap, HeatMapWithTime

    m = folium.Map(location=(22.58, 114.09), zoom_start=14, tiles=None)
    HeatMap([(22.58, 114.09, 1.0)]).add_to(m)
    HeatMapWithTime(
        [[(22.58, 114.09, 1.0)], [(22.581, 114.091, 1.0)]], index=["2026-11-02", "2026-11-09"]
    ).add_to(m)
    html = offline_html(m, asset_base="/static/vendor")
    assert re.findall(r'<(?:script|link)[^>]*(?:src|href)="(https?://[^"]+)"', html) == []
    assert '/static/vendor/timedimension/leaflet.timedimension.min.js"' in html


def test_an_asset_without_a_local_copy_fails_loudly():
    m = folium.Map(tiles=None)

    class Extra(folium.MacroElement):
        default_js: ClassVar = [("shiny_plugin", "https://cdn.example.invalid/shiny.js")]

    Extra().add_to(m)
    with pytest.raises(ValueError, match="shiny_plugin"):
        offline_html(m, asset_base="/static/vendor")


def test_no_shipped_stylesheet_reaches_for_a_cdn():
    """Fonts and images in vendored CSS must be local too (timedimension's Glyphicons were not)."""
    remote = [
        css.relative_to(VENDOR).as_posix()
        for css in VENDOR.rglob("*.css")
        if re.search(r"url\(\s*['\"]?(?:https?:)?//", css.read_text(encoding="utf-8"))
    ]
    assert remote == []


def test_standalone_page_inlines_scripts_styles_and_their_images():
    m = folium.Map(location=(22.58, 114.09), zoom_start=14, tiles=None)
    folium.Marker((22.58, 114.09), icon=folium.Icon(icon="flag", prefix="fa")).add_to(m)
    html = standalone_html(m, vendor_dir=VENDOR)
    assert re.findall(r'<(?:script|link)[^>]*(?:src|href)="[^"]+"', html) == []
    assert (VENDOR / "leaflet" / "leaflet.js").read_text(encoding="utf-8")[:200] in html
    # Leaflet's layer-control icon and Font Awesome's glyphs travel as data URIs.
    assert "url(data:image/png;base64," in html
    assert "url(data:font/woff2;base64," in html
