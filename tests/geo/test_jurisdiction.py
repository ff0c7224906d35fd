"""Resolution of points to community, squad and key road, on hand-built squares (MapIt style)."""

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geo import crs
from geo.jurisdiction import Jurisdiction, ResolveParams, resolve

X0, Y0 = 505_000.0, 2_497_000.0  # EPSG:4547, inside Luohu


def _to_wgs(geom):
    return shapely.transform(
        geom, lambda c: np.column_stack(crs.from_metric(c[:, 0] + X0, c[:, 1] + Y0))
    )


def _lonlat(x, y):
    lon, lat = crs.from_metric(np.asarray(x, float) + X0, np.asarray(y, float) + Y0)
    return lon, lat


@pytest.fixture(scope="module")
def squares():
    # Three communities in metres: A (west) and B (east) side by side, C (east) on top of both.
    # Edges are segmentized so the shared ones carry identical vertices after projection.
    a = shapely.box(0, 0, 1000, 1000)
    b = shapely.box(1000, 0, 2000, 1000)
    c = shapely.box(0, 1000, 2000, 1500)
    geoms = [_to_wgs(shapely.segmentize(g, 100)) for g in (a, b, c)]
    communities = gpd.GeoDataFrame(
        {
            "code": ["440303010002", "440303010001", "440303010005"],
            "name_zh": ["甲", "乙", "丙"],
            "squad": ["west", "east", "east"],
        },
        geometry=geoms,
        crs="EPSG:4326",
    )
    road = _to_wgs(shapely.segmentize(shapely.LineString([(200, 500), (1800, 500)]), 50))
    roads = gpd.GeoDataFrame(
        {"road_id": ["test-lu"], "name_zh": ["测试路"], "squad": ["east"]},
        geometry=[road],
        crs="EPSG:4326",
    )
    return communities, roads


@pytest.fixture(scope="module")
def jurisdiction(squares):
    return Jurisdiction.build(*squares)


def test_interior_points_get_their_community_and_squad(jurisdiction):
    lon, lat = _lonlat([300, 1700, 1000], [200, 200, 1300])
    out = jurisdiction.resolve(lon, lat)
    assert list(out["community_code"]) == ["440303010002", "440303010001", "440303010005"]
    assert list(out["squad"]) == ["west", "east", "east"]
    assert not out["outside"].any()
    assert not out["near_boundary"].any()


def test_key_road_squad_overrides_the_communitys(jurisdiction):
    # 10 m from the road in the west community: the road surface is the east squad's.
    lon, lat = _lonlat([400, 400], [510, 530])
    out = jurisdiction.resolve(lon, lat)
    assert list(out["community_squad"]) == ["west", "west"]
    assert out["key_road_id"].iloc[0] == "test-lu"
    assert out["key_road_m"].iloc[0] == pytest.approx(10.0, abs=0.05)
    assert out["squad"].iloc[0] == "east"
    # 30 m away is beyond the default 15 m: the community's squad answers.
    assert pd.isna(out["key_road_id"].iloc[1])
    assert out["squad"].iloc[1] == "west"


def test_key_road_distance_is_configurable(squares):
    wide = Jurisdiction.build(*squares, params=ResolveParams(key_road_m=40.0))
    out = wide.resolve(*_lonlat([400], [530]))
    assert out["key_road_id"].iloc[0] == "test-lu"


def test_point_on_a_shared_boundary_takes_the_lowest_code(squares, jurisdiction):
    communities, _ = squares
    # A vertex shared exactly by A (…002) and B (…001): both cover it; …001 wins.
    shared = shapely.get_coordinates(communities.geometry.iloc[0])
    on_edge = [
        c
        for c in shared
        if any(np.array_equal(c, d) for d in shapely.get_coordinates(communities.geometry.iloc[1]))
    ]
    lon, lat = np.array(on_edge[1:3]).T
    for order in (slice(None), slice(None, None, -1)):
        out = jurisdiction.resolve(lon[order], lat[order])
        assert set(out["community_code"]) == {"440303010001"}
        assert (out["boundary_m"] == 0).all()
        assert out["near_boundary"].all()
    # Rebuilding from rows in another order changes nothing.
    shuffled = Jurisdiction.build(communities.iloc[::-1], squares[1])
    assert set(shuffled.resolve(lon, lat)["community_code"]) == {"440303010001"}


def test_outer_boundary_points_are_covered(squares, jurisdiction):
    coords = shapely.get_coordinates(squares[0].geometry.iloc[0])
    corner = coords[np.argmin(coords.sum(axis=1))]  # the south-west corner, on no other edge
    out = jurisdiction.resolve([corner[0]], [corner[1]])
    assert out["community_code"].iloc[0] == "440303010002"
    assert not out["outside"].iloc[0]


def test_near_boundary_flag_and_distance(jurisdiction):
    lon, lat = _lonlat([980, 950, 500], [300, 300, 300])
    out = jurisdiction.resolve(lon, lat)
    assert out["boundary_m"].iloc[0] == pytest.approx(20.0, abs=0.05)
    assert out["near_boundary"].tolist() == [True, False, False]
    assert out["boundary_m"].iloc[1] == pytest.approx(50.0, abs=0.05)
    # 300 m from any boundary is beyond the 100 m search: unknown, not near.
    assert np.isnan(out["boundary_m"].iloc[2])


def test_outside_points_name_the_nearest_community_never_a_guess(jurisdiction):
    lon, lat = _lonlat([-40, 2500, 3000 + 5000], [500, 200, 200])
    out = jurisdiction.resolve(lon, lat)
    assert out["outside"].all()
    assert out["community_code"].isna().all()
    assert out["squad"].isna().all()
    assert out["nearest_community_code"].tolist() == [
        "440303010002",
        "440303010001",
        "440303010001",
    ]
    assert out["outside_m"].iloc[0] == pytest.approx(40.0, abs=0.05)  # exact near the edge
    assert out["outside_m"].iloc[1] == pytest.approx(500.0, abs=15.0)  # within a grid cell
    assert out["outside_m"].iloc[2] == pytest.approx(6000.0, abs=1.0)  # off the grid: exact


def test_result_is_indexed_like_the_input(jurisdiction):
    lon, lat = _lonlat([300, 1700], [200, 200])
    points = gpd.GeoSeries(gpd.points_from_xy(lon, lat), index=["r1", "r2"], crs="EPSG:4326")
    out = resolve(points, jurisdiction)
    assert list(out.index) == ["r1", "r2"]
    # The same points declared in EPSG:4547 resolve identically.
    metric = resolve(points.to_crs("EPSG:4547"), jurisdiction)
    pd.testing.assert_frame_equal(out, metric)


def test_gcj02_and_bd09_inputs_resolve_like_wgs84(jurisdiction):
    lon, lat = _lonlat([300, 1700, 1000, 995], [200, 200, 1300, 500])
    expected = jurisdiction.resolve(lon, lat)
    for system, forward in (("gcj02", crs.wgs84_to_gcj02), ("bd09", crs.wgs84_to_bd09)):
        shown = forward(lon, lat)
        got = jurisdiction.resolve(*crs.to_wgs84(*shown, source=system))
        assert got["community_code"].tolist() == expected["community_code"].tolist()
        np.testing.assert_allclose(got["boundary_m"], expected["boundary_m"], atol=0.05)


def test_random_points_match_shapely_exactly(squares, jurisdiction):
    communities, roads = squares
    rng = np.random.default_rng(42)
    x = rng.uniform(-300, 2300, 20_000)
    y = rng.uniform(-300, 1800, 20_000)
    lon, lat = _lonlat(x, y)
    out = jurisdiction.resolve(lon, lat)

    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")
    joined = gpd.sjoin(pts, communities, predicate="intersects").sort_values("code")
    expected = joined[~joined.index.duplicated()]["code"].reindex(pts.index)
    assert (
        out["community_code"].astype(object).where(~out["outside"], None).tolist()
        == expected.astype(object).where(expected.notna(), None).tolist()
    )

    metric_pts = pts.to_crs("EPSG:4547").geometry.values
    boundaries = shapely.union_all(
        shapely.boundary(communities.to_crs("EPSG:4547").geometry.values)
    )
    exact = shapely.distance(metric_pts, boundaries)
    inside = ~out["outside"].to_numpy()
    found = out["boundary_m"].notna().to_numpy()
    np.testing.assert_allclose(out["boundary_m"].to_numpy()[found], exact[found], atol=1e-6)
    assert (exact[inside & ~found] > 100.0).all()
    assert (exact[inside & found] <= 100.0 + 1e-6).all()

    road_exact = shapely.distance(metric_pts, roads.to_crs("EPSG:4547").geometry.iloc[0])
    on_road = out["key_road_id"].notna().to_numpy()
    assert (on_road == (inside & (road_exact <= 15.0))).all()


def test_assign_matches_resolve(jurisdiction):
    rng = np.random.default_rng(7)
    lon, lat = _lonlat(rng.uniform(-300, 2300, 5000), rng.uniform(-300, 1800, 5000))
    codes = jurisdiction.assign(lon, lat)
    out = jurisdiction.resolve(lon, lat)
    named = np.where(codes >= 0, jurisdiction.codes[np.maximum(codes, 0)], None)
    assert (
        named.tolist() == out["community_code"].astype(object).where(~out["outside"], None).tolist()
    )


def test_squad_of_matches_the_communities_squad(jurisdiction):
    lon, lat = _lonlat([300, 1700, -500], [200, 200, 200])
    squads = jurisdiction.squad_of(jurisdiction.assign(lon, lat))
    assert [jurisdiction.squads[i] if i >= 0 else None for i in squads] == ["west", "east", None]


def test_equidistant_key_roads_resolve_the_same_in_any_file_order(squares):
    communities, roads = squares
    # A second road mirrored 20 m either side of a point: both 10 m away.
    twin = roads.assign(road_id=["a-lu"], squad=["west"])
    twin["geometry"] = [_to_wgs(shapely.LineString([(200, 520), (1800, 520)]))]
    both = pd.concat([roads, twin], ignore_index=True)
    point = _lonlat([700], [510])
    first = Jurisdiction.build(communities, both).resolve(*point)
    second = Jurisdiction.build(communities, both.iloc[::-1]).resolve(*point)
    assert first["key_road_id"].iloc[0] == second["key_road_id"].iloc[0] == "a-lu"


def test_resolve_one_returns_plain_values(jurisdiction):
    result = jurisdiction.resolve_one(*[float(v[0]) for v in _lonlat([400], [510])])
    assert result["community_code"] == "440303010002"
    assert result["squad"] == "east"
    assert result["outside"] is False
    assert result["outside_m"] is None


@pytest.mark.parametrize(
    "bad",
    [
        {"key_road_m": -1.0},
        {"near_boundary_m": float("nan")},
        {"near_boundary_m": 50.0, "boundary_search_m": 40.0},
        {"cell_m": 0.1},
    ],
)
def test_params_are_validated(bad):
    with pytest.raises(ValueError, match="Expected"):
        ResolveParams(**bad)


def test_missing_columns_are_named(squares):
    with pytest.raises(ValueError, match="squad"):
        Jurisdiction.build(squares[0].drop(columns="squad"))
