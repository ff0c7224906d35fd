"""Maps load their libraries from jiedao itself, so they work on an intranet without CDNs."""

import re
from pathlib import Path
from typing import ClassVar

import folium
import pytest
from folium.plugins import MarkerCluster

from maps.assets import LOCAL_ASSETS, offline_html

VENDOR = Path(__file__).resolve().parents[2] / "service" / "static" / "vendor"


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


def test_an_asset_without_a_local_copy_fails_loudly():
    m = folium.Map(tiles=None)

    class Extra(folium.MacroElement):
        default_js: ClassVar = [("shiny_plugin", "https://cdn.example.invalid/shiny.js")]

    Extra().add_to(m)
    with pytest.raises(ValueError, match="shiny_plugin"):
        offline_html(m, asset_base="/static/vendor")
