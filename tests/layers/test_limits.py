"""Hostile layer files are refused early, each with the feature, the limit and the fix."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pytest
import shapely
from typer.testing import CliRunner

from layers.limits import LayerLimitError, ReadLimits
from layers.loader import read_layer
from service.cli import app
from service.core.config import get_settings

from .conftest import square_frames, write_pack

LON, LAT = 114.1, 22.57


def _circle(vertices: int) -> shapely.Polygon:
    t = np.linspace(0, 2 * np.pi, vertices, endpoint=False)
    return shapely.Polygon(np.column_stack([LON + 0.01 * np.cos(t), LAT + 0.01 * np.sin(t)]))


def _geojson(path, features):
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


def test_a_two_million_vertex_polygon_is_refused_naming_it(tmp_path):
    frame = gpd.GeoDataFrame(
        {"code": ["440303010002"]}, geometry=[_circle(2_000_000)], crs="EPSG:4326"
    )
    path = tmp_path / "huge.gpkg"
    frame.to_file(path, driver="GPKG")
    with pytest.raises(LayerLimitError) as caught:
        read_layer(path)
    message = str(caught.value)
    assert "feature #0 (code 440303010002) has 2,000,001 vertices" in message
    assert "limit of 200,000" in message
    assert "Simplify" in message


def test_a_two_million_vertex_geojson_polygon_is_explained(tmp_path):
    # GDAL refuses a GeoJSON object this large itself; the refusal says what to do.
    ring = shapely.get_coordinates(_circle(2_000_000))
    path = tmp_path / "huge.geojson"
    with path.open("w") as out:
        out.write('{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},')
        out.write('"geometry":{"type":"Polygon","coordinates":[[')
        out.write(",".join(f"[{x:.7f},{y:.7f}]" for x, y in ring))
        out.write("]]}}]}")
    with pytest.raises(LayerLimitError) as caught:
        read_layer(path)
    message = str(caught.value)
    assert "larger than a GeoJSON object may be" in message
    assert "Simplify" in message
    assert "OGR_GEOJSON_MAX_OBJ_SIZE" not in message


def test_too_many_features_are_refused_before_any_is_read(tmp_path):
    points = [
        {
            "type": "Feature",
            "properties": {"place_id": f"p{i}"},
            "geometry": {"type": "Point", "coordinates": [LON, LAT]},
        }
        for i in range(1001)
    ]
    path = _geojson(tmp_path / "many.geojson", points)
    with pytest.raises(LayerLimitError, match="1,001 features, over the limit of 1,000"):
        read_layer(path, limits=ReadLimits(max_features=1000))
    assert len(read_layer(path, limits=ReadLimits(max_features=1001))) == 1001


def test_a_nesting_bomb_is_not_a_layer(tmp_path):
    path = tmp_path / "bomb.geojson"
    path.write_text(
        '{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},'
        '"geometry":{"type":"Polygon","coordinates":' + "[" * 100_000 + "]" * 100_000 + "}}]}"
    )
    with pytest.raises(LayerLimitError, match="nested deeper than GeoJSON ever is"):
        read_layer(path)


def test_a_file_over_the_size_limit_is_refused_unread(tmp_path):
    path = _geojson(tmp_path / "big.geojson", [])
    path.write_text(path.read_text() + " " * 2**20)
    with pytest.raises(LayerLimitError, match=r"1\.0 MiB, over the limit of 0\.5 MiB"):
        read_layer(path, limits=ReadLimits(max_file_mb=0.5))


@pytest.mark.parametrize(
    ("coordinates", "says"),
    [
        ([float("nan"), LAT], "not a finite number"),
        ([1e308, LAT], "outside the globe"),
        ([LON, 91.0], "outside the globe"),
    ],
)
def test_coordinates_that_are_not_lon_lat_name_the_feature(tmp_path, coordinates, says):
    feature = {
        "type": "Feature",
        "properties": {"place_id": "bad-1"},
        "geometry": {"type": "Point", "coordinates": coordinates},
    }
    ok = {**feature, "properties": {"place_id": "ok-0"}}
    ok["geometry"] = {"type": "Point", "coordinates": [LON, LAT]}
    path = tmp_path / "points.geojson"
    # json writes NaN as the bare literal NaN, which GDAL reads as a number.
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [ok, feature]}))
    with pytest.raises(LayerLimitError, match=f"feature #1 \\(place_id bad-1\\).*{says}"):
        read_layer(path, source_crs="wgs84")


def test_projected_coordinates_out_of_range_are_refused(tmp_path):
    frame = gpd.GeoDataFrame(
        {"code": ["x"]}, geometry=[shapely.Point(1e308, 2_497_000.0)], crs="EPSG:4547"
    )
    path = tmp_path / "metres.gpkg"
    frame.to_file(path, driver="GPKG")
    with pytest.raises(LayerLimitError, match=r"feature #0 \(code x\)"):
        read_layer(path)


def test_gcj02_declared_on_points_outside_china_is_refused(tmp_path):
    path = _geojson(
        tmp_path / "paris.geojson",
        [
            {
                "type": "Feature",
                "properties": {"place_id": "louvre"},
                "geometry": {"type": "Point", "coordinates": [2.3376, 48.8606]},
            }
        ],
    )
    with pytest.raises(LayerLimitError, match=r"declared GCJ02.*outside China.*wgs84"):
        read_layer(path, source_crs="gcj02")
    assert len(read_layer(path, source_crs="wgs84")) == 1


def test_the_limits_are_the_settings_and_the_cli_names_the_fix(tmp_path, monkeypatch):
    folder = write_pack(tmp_path / "pack", *square_frames())
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("JIEDAO_LAYER_MAX_VERTICES", "3")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["layers", "validate", str(folder)])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 1
    said = " ".join(result.stderr.split())  # rich folds long lines
    assert "vertices, over the limit of 3 per feature" in said
    assert "JIEDAO_LAYER_MAX_VERTICES" in said
    assert "Traceback" not in result.output


def test_limits_must_be_positive():
    with pytest.raises(ValueError, match="max_vertices > 0"):
        ReadLimits(max_vertices=0)
