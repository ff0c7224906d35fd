"""A small pack of hand-built squares, written to disk in whatever shape a test needs."""

import json

import geopandas as gpd
import numpy as np
import pytest
import shapely

from geo import crs

X0, Y0 = 505_000.0, 2_497_000.0


def to_wgs(geom):
    return shapely.transform(
        geom, lambda c: np.column_stack(crs.from_metric(c[:, 0] + X0, c[:, 1] + Y0))
    )


def square_frames():
    communities = gpd.GeoDataFrame(
        {
            "code": ["440303010002", "440303010001"],
            "name_zh": ["泥岗", "清水河"],
            "name_pinyin": ["Nigang", "Qingshuihe"],
            "name_en": ["Nigang", "Qingshuihe"],
            "aliases": [json.dumps(["坭岗"], ensure_ascii=False), "[]"],
            "squad": ["west", "east"],
        },
        geometry=[
            to_wgs(shapely.segmentize(shapely.box(0, 0, 1000, 1000), 100)),
            to_wgs(shapely.segmentize(shapely.box(1000, 0, 2000, 1000), 100)),
        ],
        crs="EPSG:4326",
    )
    roads = gpd.GeoDataFrame(
        {
            "road_id": ["test-lu"],
            "name_zh": ["测试路"],
            "name_pinyin": ["Ceshi Lu"],
            "road_class": ["primary"],
            "squad": ["west"],
        },
        geometry=[to_wgs(shapely.LineString([(100, 500), (1900, 500)]))],
        crs="EPSG:4326",
    )
    stations = gpd.GeoDataFrame(
        {
            "code": ["base"],
            "name_zh": ["执法队"],
            "name_en": ["Base"],
            "kind": ["enforcement_base"],
            "squad": [""],
        },
        geometry=[to_wgs(shapely.Point(1000, 300))],
        crs="EPSG:4326",
    )
    return communities, roads, stations


def write_pack(
    folder, communities, roads, stations, *, suffix=".geojson", driver="GeoJSON", extra=None
):
    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    for name, frame in (("communities", communities), ("key_roads", roads), ("stations", stations)):
        files[name] = f"{name}{suffix}"
        frame.to_file(folder / files[name], driver=driver)
    manifest = {
        "name": "squares",
        "version": "1",
        "files": files,
        "squads": [
            {"code": "west", "name_zh": "巡查一中队", "name_en": "Squad 1", "base_station": "base"},
            {"code": "east", "name_zh": "巡查二中队", "name_en": "Squad 2", "base_station": "base"},
        ],
    }
    manifest.update(extra or {})
    (folder / "pack.json").write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    return folder


@pytest.fixture
def frames():
    return square_frames()
