"""Real data: the 10 Luohu sub-districts as a layer, and 9,440 real bus stops resolved on it."""

import geopandas as gpd
import numpy as np
import pytest

from geo.jurisdiction import Jurisdiction, resolve
from layers import pack_from_areas, validate_pack
from tests.shared_data import shared_file

pytestmark = pytest.mark.shared


@pytest.fixture(scope="module")
def luohu():
    return pack_from_areas(
        shared_file("data", "luohu_streets_handdrawn_wgs84.geojson"),
        code_field="adcode",
        name_field="name",
    )


def test_luohu_sub_districts_load_as_a_valid_layer(luohu):
    assert len(luohu.communities) == 10
    errors = [i for i in validate_pack(luohu) if i.severity == "error"]
    assert errors == []


def test_all_bus_stops_resolve_exactly_as_an_independent_sjoin(luohu):
    stops = gpd.read_file(shared_file("data", "sz_bus_stops_wgs84.geojson"))
    assert len(stops) == 9440
    jurisdiction = Jurisdiction.build(luohu.communities)
    ours = resolve(stops.geometry, jurisdiction)

    joined = gpd.sjoin(
        stops[["geometry"]],
        luohu.communities[["code", "geometry"]],
        how="left",
        predicate="intersects",
    )
    assert not joined.index.duplicated().any()  # no stop sits exactly on a shared edge
    expected = joined["code"].reindex(stops.index)

    ours_codes = ours["community_code"].astype(object).where(~ours["outside"], None)
    theirs = expected.astype(object).where(expected.notna(), None)
    assert ours_codes.tolist() == theirs.tolist()
    inside = int((~ours["outside"]).sum())
    assert 300 < inside < 9440  # Luohu holds a few hundred of Shenzhen's stops


def test_outside_stops_report_a_true_nearest_sub_district(luohu):
    stops = gpd.read_file(shared_file("data", "sz_bus_stops_wgs84.geojson"))
    jurisdiction = Jurisdiction.build(luohu.communities)
    ours = resolve(stops.geometry, jurisdiction)
    outside = ours["outside"].to_numpy()
    metric_stops = stops.to_crs("EPSG:4547").geometry.values[outside]
    metric_areas = luohu.communities.to_crs("EPSG:4547")
    distances = np.column_stack(
        [metric_areas.geometry.distance(p).to_numpy() for p in metric_stops[:200]]
    ).T
    nearest = metric_areas["code"].to_numpy()[distances.argmin(axis=1)]
    assert ours["nearest_community_code"].to_numpy()[outside][:200].tolist() == nearest.tolist()
    np.testing.assert_allclose(
        ours["outside_m"].to_numpy()[outside][:200], distances.min(axis=1), atol=25.0
    )
