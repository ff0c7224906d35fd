"""The jurisdiction map renderer, on hand-made squares."""

import datetime as dt
import json

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geo import crs as geocrs
from layers.pack import LayerPack, read_pack
from maps import basemaps, render_jurisdiction

NAMES = {
    "C01": "市容环境卫生与户外广告",
    "C02": "占道施工与摆摊设点",
    "C03": "生活噪音与焚烧废弃物",
}


@pytest.fixture(scope="module")
def pack(squares_pack: LayerPack) -> LayerPack:
    return squares_pack


@pytest.fixture(scope="module")
def incidents() -> pd.DataFrame:
    when = pd.Timestamp("2026-11-02 19:30", tz="Asia/Shanghai")
    return pd.DataFrame(
        {
            "category": ["C02", "C02", "C01", "C03"],
            "lon": [114.085, 114.0900, 114.1025, 114.105],
            "lat": [22.575, 22.5775, 22.580, 22.574],
            "occurred_at": [when, when + pd.Timedelta(minutes=5), when, when],
            "source": ["patrol", "complaint", "daily_inspection", "complaint"],
            "urgent": [False, True, False, False],
            "description": [
                "地铁站附近有流动摊贩占道经营",
                "<script>alert(1)</script>",
                "东路绿化带内堆放杂物",
                "夜间聚餐喧哗扰民",
            ],
        }
    )


def shows(html: str, text: str) -> bool:
    """Text appears in the page as HTML or inside a script (folium JSON-escapes layer names)."""
    return text in html or json.dumps(text)[1:-1] in html


def geojson_layer(m: folium.Map, name: str) -> folium.GeoJson:
    for child in m._children.values():
        if isinstance(child, folium.GeoJson) and child.layer_name == name:
            return child
    raise AssertionError(f"no GeoJson layer {name!r}")


def first_vertex(m: folium.Map) -> tuple[float, float]:
    data = geojson_layer(m, "社区 communities (by squad)").data
    lon, lat = data["features"][0]["geometry"]["coordinates"][0][0]
    return lon, lat


def test_osm_map_has_layers_legend_and_names(pack, incidents):
    m = render_jurisdiction(pack, incidents=incidents, categories=NAMES)
    html = m.get_root().render()
    for text in (
        "社区 communities (by squad)",
        "重点路段 key roads",
        "站点 stations",
        "社区名称 community names",
        "C02 占道施工与摆摊设点 (2)",
        "C01 市容环境卫生与户外广告 (1)",
        "图例 legend",
        "巡查一中队 (west)",
        "巡查二中队 (east)",
        "西社区",
        "东社区",
        "清水河街道 综合执法进社区 — jurisdiction",
        "Approximate, not official",
        "hand-made test squares",
        "tile.openstreetmap.org",
        "派出所 police station",
        "?basemap=amap",
    ):
        assert shows(html, text), text
    # Popups carry the resolved community, squad and key road; descriptions are escaped.
    assert "重点路段 key road</th><td>东路</td>" in html
    assert "社区 community</th><td>东社区</td>" in html
    assert "中队 squad</th><td>巡查二中队</td>" in html
    assert "中队巡查 patrol" in html
    assert "2026-11-02 19:30" in html
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;" in html


def test_no_tianditu_without_a_key(pack):
    html = render_jurisdiction(pack).get_root().render()
    assert "tianditu.gov.cn/vec_w" not in html
    assert "needs a key" in html
    fallback = render_jurisdiction(pack, basemap="tianditu").get_root().render()
    assert "tianditu.gov.cn/vec_w" not in fallback
    assert "tile.openstreetmap.org" in fallback
    assert "Showing OpenStreetMap" in fallback


def test_tianditu_with_a_key(pack):
    html = render_jurisdiction(pack, basemap="tianditu", tianditu_key="abc123").get_root().render()
    assert "tianditu.gov.cn/vec_w" in html
    assert "tianditu.gov.cn/cva_w" in html
    assert "tk=abc123" in html
    assert "needs a key" not in html
    assert "tile.openstreetmap.org" in html  # the other WGS84 basemap stays on offer


def test_amap_shifts_overlays_to_gcj02(pack, incidents):
    wgs = render_jurisdiction(pack, incidents=incidents)
    amap = render_jurisdiction(pack, incidents=incidents, basemap="amap")
    lon0, lat0 = first_vertex(wgs)
    lon1, lat1 = first_vertex(amap)
    assert (lon0, lat0) in {
        (x, y) for x, y in shapely.get_coordinates(pack.communities.geometry.iloc[0]).tolist()
    }
    # The GCJ-02 offset in Shenzhen: about +0.005 deg east, -0.0027 deg north.
    assert lon1 - lon0 == pytest.approx(0.0050, abs=0.0005)
    assert lat1 - lat0 == pytest.approx(-0.0027, abs=0.0005)
    expected = geocrs.from_wgs84(lon0, lat0, target="gcj02")
    np.testing.assert_allclose([lon1, lat1], [float(expected[0]), float(expected[1])], atol=1e-9)
    html = amap.get_root().render()
    assert "webrd0{s}.is.autonavi.com" in html
    assert "tile.openstreetmap.org" not in html
    assert "GCJ-02" in html
    marker = next(
        c
        for c in amap._children.values()
        if isinstance(c, folium.FeatureGroup) and c.layer_name.startswith("C03")
    )
    circle = next(c for c in marker._children.values() if isinstance(c, folium.CircleMarker))
    assert circle.location is not None
    assert circle.location[1] - 114.105 == pytest.approx(0.0050, abs=0.0005)


def test_geodataframe_incidents_and_clusters(pack, incidents):
    frame = gpd.GeoDataFrame(
        incidents.drop(columns=["lon", "lat"]),
        geometry=gpd.points_from_xy(incidents["lon"], incidents["lat"]),
        crs="EPSG:4326",
    )
    html = render_jurisdiction(pack, incidents=frame, cluster_threshold=1).get_root().render()
    assert "markerClusterGroup" in html
    assert "西社区" in html


def test_empty_and_bad_inputs(pack):
    empty = pd.DataFrame({"category": [], "lon": [], "lat": []})
    assert "图例 legend" in render_jurisdiction(pack, incidents=empty).get_root().render()
    with pytest.raises(ValueError, match="lon and lat"):
        render_jurisdiction(pack, incidents=pd.DataFrame({"category": ["C01"], "x": [1.0]}))
    with pytest.raises(ValueError, match="osm, tianditu, amap"):
        render_jurisdiction(pack, basemap="baidu")


def test_basemap_definitions():
    assert basemaps.parse_basemap("高德") == "amap"
    assert basemaps.display_crs("amap") == "gcj02"
    assert basemaps.display_crs("osm") == basemaps.display_crs("tianditu") == "wgs84"
    assert basemaps.unavailable_reason("tianditu") is not None
    assert basemaps.unavailable_reason("tianditu", tianditu_key="k") is None
    with pytest.raises(ValueError, match="needs a key"):
        basemaps.tile_layers("tianditu")
    layers = basemaps.tile_layers("tianditu", tianditu_key="k&x")
    assert [layer.overlay for layer in layers] == [False, True]
    assert all("tk=k%26x" in layer.tiles for layer in layers)
    amap = basemaps.tile_layers("amap")[0]
    assert amap.options["subdomains"] == "1234"
    for item in basemaps.BASEMAPS.values():
        assert item.attribution


def test_renders_demo_incidents_with_dates(pack):
    from service.incidents.demo import generate_demo_incidents

    demo = generate_demo_incidents(pack, start=dt.date(2026, 11, 2), days=2, seed=3)
    html = render_jurisdiction(pack, incidents=demo).get_root().render()
    assert "C01" in html
    assert "C02" in html


def test_bundled_qingshuihe_pack():
    try:
        pack = read_pack()
    except FileNotFoundError:
        pytest.skip("the bundled layers/qingshuihe pack is not in this tree yet")
    html = render_jurisdiction(pack).get_root().render()
    for name in ("泥岗", "梅园", "玉龙", "银湖", "清水河", "草埔西", "龙湖", "清水河派出所"):
        assert shows(html, name), name
    assert "Approximate, not official" in html
