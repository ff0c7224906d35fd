"""The hot-spot map renders its layers, legend, title and a target list that zooms to cells."""

import json
import re
from typing import Any

import folium
import numpy as np
import pytest

from geo import crs
from geo.campaign import CampaignParams, campaign_targets
from geo.cells import community_cells, grid_cells, weekly_counts
from geo.density import kernel_density
from geo.getisord import BIN_LABELS, GiParams, getis_ord
from geo.incidentfilter import IncidentFilter
from geo.jurisdiction import Jurisdiction
from geo.synthetic import PlantParams, plant_incidents
from layers import read_pack
from maps.assets import offline_html
from maps.hotspots import BIN_COLOURS, render_hotspots


@pytest.fixture(scope="module")
def analysis():
    pack = read_pack()
    truth = plant_incidents(
        pack.communities, roads=pack.key_roads, params=PlantParams(n=4000, seed=21, days=21)
    )
    where = IncidentFilter(categories=tuple(sorted(set(truth.incidents["category"]))))
    hot = getis_ord(
        grid_cells(truth.incidents, pack.communities, where=where), params=GiParams(seed=0)
    )
    targets = campaign_targets(
        hot,
        jurisdiction=Jurisdiction.build(pack.communities, pack.key_roads),
        key_roads=pack.key_roads,
        places=pack.places,
        params=CampaignParams(top=6),
    )
    return {
        "pack": pack,
        "hot": hot,
        "targets": targets,
        "heat": kernel_density(truth.incidents, pack.communities),
        "weekly": weekly_counts(truth.incidents, pack.communities),
        "communities": community_cells(truth.incidents, pack.communities),
    }


def _has(html: str, text: str) -> bool:
    """Text shows in the page as HTML, or inside the scripts as an escaped JSON string."""
    return text in html or json.dumps(text)[1:-1] in html


def _render(analysis: dict[str, Any], **options: Any) -> tuple[folium.Map, str]:
    m = render_hotspots(
        analysis["hot"],
        communities=analysis["communities"],
        key_roads=analysis["pack"].key_roads,
        heat=analysis["heat"],
        weekly=analysis["weekly"],
        targets=analysis["targets"],
        period="2026-11-02 – 2026-11-22",
        note="示意边界",
        **options,
    )
    return m, m.get_root().render()


def test_map_has_every_layer_legend_and_title(analysis):
    m, html = _render(analysis, squads={"west": "巡查一中队", "east": "巡查二中队"})
    for layer in (
        "Gi* 热点/冷点 hot and cold spots (cells)",
        "社区事件密度 community rate",
        "热力图 heat map",
        "逐周动画 week by week",
        "重点路段 key roads",
        "整治目标 campaign targets",
    ):
        assert _has(html, layer), layer
    assert "L.control.layers" in html
    assert "HeatmapOverlay" in html  # the week-by-week animation
    assert "L.heatLayer" in html
    for value, label in BIN_LABELS.items():
        assert label in html
        assert BIN_COLOURS[value] in html
    assert "2026-11-02 – 2026-11-22" in html
    assert analysis["hot"].attrs["filter"] in html  # the filter, from the cells
    assert "999 次置换 permutations" in html
    assert "incidents/km²" in html
    assert "示意边界" in html
    weeks = analysis["weekly"]["week"].nunique()
    assert f"第{weeks}周" in html
    assert m.get_name() in html


def test_each_target_links_to_its_cell(analysis):
    m, html = _render(analysis)
    targets = analysis["targets"]
    assert len(targets) == 6
    links = re.findall(r"data-cell='([^']+)' onclick=\"([^\"]+)\"", html)
    assert [cell for cell, _ in links] == [t.cell_id for t in targets]
    for (_, script), target in zip(links, targets, strict=True):
        numbers = [float(v) for v in re.findall(r"-?\d+\.\d+", script)]
        west, south, east, north = target.bounds
        assert script.startswith(f"{m.get_name()}.fitBounds(")
        assert numbers[:4] == pytest.approx([south, west, north, east], abs=1e-6)
        assert target.where.split(" ")[0] in html


def test_amap_shifts_everything_drawn(analysis):
    _, html = _render(analysis, basemap="amap")
    target = analysis["targets"][0]
    script = re.findall(r"data-cell='[^']+' onclick=\"([^\"]+)\"", html)[0]
    south, west = (float(v) for v in re.findall(r"-?\d+\.\d+", script)[:2])
    gcj_lon, gcj_lat = crs.wgs84_to_gcj02(target.bounds[0], target.bounds[1])
    assert (west, south) == pytest.approx((float(gcj_lon), float(gcj_lat)), abs=1e-6)
    assert abs(west - target.bounds[0]) > 1e-3  # the GCJ-02 offset is hundreds of metres
    assert "GCJ-02" in html


def test_minimal_map_and_no_targets(analysis):
    quiet = analysis["hot"].assign(gi_bin=np.zeros(len(analysis["hot"]), dtype=np.int8))
    html = render_hotspots(quiet).get_root().render()
    assert "无显著热点 no significant hot spot" in html
    assert not _has(html, "热力图 heat map")
    assert "HeatmapOverlay" not in html
    with pytest.raises(ValueError, match="getis_ord"):
        render_hotspots(quiet.drop(columns="gi_p"))


def test_map_serves_its_assets_locally(analysis):
    m, _ = _render(analysis)
    html = offline_html(m, asset_base="/static/vendor/")
    external = re.findall(r'<(?:script|link)[^>]*(?:src|href)="(https?://[^"]+)"', html)
    assert external == []


def test_html_stays_small(analysis):
    _, html = _render(analysis)
    # Rounded coordinates and trimmed properties: a grid of ~670 cells, heat and animation.
    assert len(html.encode()) < 1_500_000
    assert not re.search(r"\d\.\d{9,}", html)
