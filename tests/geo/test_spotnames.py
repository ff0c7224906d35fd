"""Readable hot-spot names: community · nearest named street · main category, on hand-built
squares in metres (the community and street of each point known by construction)."""

import geopandas as gpd
import numpy as np
import pytest
import shapely

from geo import crs
from geo.jurisdiction import Jurisdiction
from geo.shift import HotSpot
from geo.spotnames import SpotNameParams, hotspot_names, name_hotspots

X0, Y0 = 505_000.0, 2_497_000.0  # EPSG:4547, inside Luohu


def _to_wgs(geom):
    return shapely.transform(
        geom, lambda c: np.column_stack(crs.from_metric(c[:, 0] + X0, c[:, 1] + Y0))
    )


def _lonlat(x, y):
    return crs.from_metric(np.asarray(x, float) + X0, np.asarray(y, float) + Y0)


@pytest.fixture(scope="module")
def jurisdiction():
    west = shapely.box(0, 0, 1000, 1000)
    east = shapely.box(1000, 0, 2000, 1000)
    communities = gpd.GeoDataFrame(
        {"code": ["440303010002", "440303010001"], "name_zh": ["梅园", "清水河"]},
        geometry=[_to_wgs(shapely.segmentize(g, 100)) for g in (west, east)],
        crs="EPSG:4326",
    )
    communities["squad"] = ["west", "east"]
    roads = gpd.GeoDataFrame(
        {"road_id": [], "name_zh": [], "squad": []}, geometry=[], crs="EPSG:4326"
    )
    return Jurisdiction.build(communities, roads)


@pytest.fixture(scope="module")
def streets():
    # 泥岗西路 along y = 500 across the west square, 清水河一路 along y = 500 across the east one,
    # an unnamed service road along x = 500 (it must never name a spot).
    lines = [
        shapely.LineString([(0, 500), (1000, 500)]),
        shapely.LineString([(1000, 500), (2000, 500)]),
        shapely.LineString([(500, 0), (500, 1000)]),
    ]
    return gpd.GeoDataFrame(
        {"name_zh": ["泥岗西路", "清水河一路", None]},
        geometry=[_to_wgs(line) for line in lines],
        crs="EPSG:4326",
    )


NAMES = {"C02": "占道施工与摆摊设点", "C05": "违法建设"}


def test_each_spot_is_named_for_its_community_street_and_category(jurisdiction, streets):
    lon, lat = _lonlat([300, 1500], [540, 460])
    names = hotspot_names(
        lon, lat, ["C02", "C05"], jurisdiction=jurisdiction, streets=streets, category_names=NAMES
    )
    assert names == ["梅园 · 泥岗西路 · 占道施工与摆摊设点", "清水河 · 清水河一路 · 违法建设"]


def test_a_spot_far_from_named_streets_is_called_by_its_rank_not_a_guess(jurisdiction, streets):
    # 400 m from either named street, 10 m from the unnamed one.
    lon, lat = _lonlat([300, 510], [540, 900])
    names = hotspot_names(lon, lat, ["C05", "C05"], jurisdiction=jurisdiction, streets=streets)
    assert names == ["梅园 · 泥岗西路 · C05", "梅园 · 热点 2 · C05"]
    wider = hotspot_names(
        lon,
        lat,
        ["C05", "C05"],
        jurisdiction=jurisdiction,
        streets=streets,
        params=SpotNameParams(street_m=500),
    )
    assert wider[1] == "梅园 · 泥岗西路 · C05 (2)"


def test_names_in_one_list_are_unique_in_rank_order(jurisdiction, streets):
    lon, lat = _lonlat([100, 400, 800], [520, 480, 510])
    names = hotspot_names(
        lon, lat, ["C02"] * 3, jurisdiction=jurisdiction, streets=streets, category_names=NAMES
    )
    base = "梅园 · 泥岗西路 · 占道施工与摆摊设点"
    assert names == [base, f"{base} (2)", f"{base} (3)"]


def test_a_point_outside_every_community_takes_the_nearest(jurisdiction, streets):
    lon, lat = _lonlat([2100], [500])
    [name] = hotspot_names(lon, lat, [""], jurisdiction=jurisdiction, streets=streets)
    assert name == "清水河 · 清水河一路"


def test_without_layers_the_name_is_the_rank_and_category():
    lon, lat = _lonlat([300], [540])
    assert hotspot_names(lon, lat, ["C02"], jurisdiction=None) == ["热点 1 · C02"]


def test_name_hotspots_keeps_the_ids_and_sets_only_the_name(jurisdiction, streets):
    lon, lat = _lonlat([300], [540])
    spot = HotSpot("g150m-1-2", float(lon[0]), float(lat[0]), 3.0, label="C02", count=7.0)
    [named] = name_hotspots([spot], jurisdiction=jurisdiction, streets=streets)
    assert named.spot_id == "g150m-1-2"
    assert named.count == 7.0
    assert named.label == "C02"
    assert named.name == "梅园 · 泥岗西路 · C02"


def test_mismatched_inputs_and_bad_params_are_refused(jurisdiction):
    lon, lat = _lonlat([300], [540])
    with pytest.raises(ValueError, match="one category per spot"):
        hotspot_names(lon, lat, [], jurisdiction=jurisdiction)
    with pytest.raises(ValueError, match="street_m"):
        SpotNameParams(street_m=float("nan"))
