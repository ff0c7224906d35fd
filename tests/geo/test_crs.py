"""Coordinate conversions: GCJ-02 and BD-09 round trips, known offsets, bad input."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geo import crs
from geo.errors import CoordinateError, UnknownCRSError

# Mainland China, where the offsets apply, and Shenzhen in particular.
china_lon = st.floats(min_value=73.0, max_value=135.0)
china_lat = st.floats(min_value=18.0, max_value=53.0)


def _metres(lon_a, lat_a, lon_b, lat_b):
    xa, ya = crs.to_metric(lon_a, lat_a)
    xb, yb = crs.to_metric(lon_b, lat_b)
    return np.hypot(xa - xb, ya - yb)


def _metres_geodesic(lon_a, lat_a, lon_b, lat_b):
    # EPSG:4547 distorts far from 114E; the geodesic is the fair yardstick across China.
    from pyproj import Geod

    return Geod(ellps="WGS84").inv(lon_a, lat_a, lon_b, lat_b)[2]


@settings(max_examples=300, deadline=None)
@given(china_lon, china_lat)
def test_gcj02_round_trip_is_under_half_a_metre(lon, lat):
    back_lon, back_lat = crs.gcj02_to_wgs84(*crs.wgs84_to_gcj02(lon, lat))
    assert _metres_geodesic(lon, lat, float(back_lon), float(back_lat)) < 0.5


@settings(max_examples=300, deadline=None)
@given(china_lon, china_lat)
def test_bd09_round_trip_is_under_half_a_metre(lon, lat):
    back_lon, back_lat = crs.bd09_to_wgs84(*crs.wgs84_to_bd09(lon, lat))
    assert _metres_geodesic(lon, lat, float(back_lon), float(back_lat)) < 0.5


@settings(max_examples=100, deadline=None)
@given(china_lon, china_lat)
def test_inverse_then_forward_reproduces_the_input(lon, lat):
    # The other direction: a GCJ-02 point from a phone, taken to WGS84 and back.
    fwd_lon, fwd_lat = crs.wgs84_to_gcj02(*crs.gcj02_to_wgs84(lon, lat))
    assert _metres_geodesic(lon, lat, float(fwd_lon), float(fwd_lat)) < 0.5


def test_gcj02_offset_in_shenzhen_is_hundreds_of_metres():
    # data/README: the Amap Luohu outline sits at about +0.0050, -0.0027 degrees.
    lon, lat = crs.wgs84_to_gcj02(114.09, 22.58)
    assert float(lon) - 114.09 == pytest.approx(0.0050, abs=0.0003)
    assert float(lat) - 22.58 == pytest.approx(-0.0027, abs=0.0003)
    assert 400 < _metres(114.09, 22.58, float(lon), float(lat)) < 700


def test_bd09_adds_baidus_further_shift():
    g_lon, g_lat = crs.wgs84_to_gcj02(114.09, 22.58)
    b_lon, b_lat = crs.wgs84_to_bd09(114.09, 22.58)
    assert float(b_lon - g_lon) == pytest.approx(0.0065, abs=0.0006)
    assert float(b_lat - g_lat) == pytest.approx(0.006, abs=0.0006)


def test_no_offset_outside_china():
    lon, lat = crs.wgs84_to_gcj02(-0.1276, 51.5072)
    assert (float(lon), float(lat)) == (-0.1276, 51.5072)


def test_to_wgs84_dispatches_on_the_declared_system():
    g = crs.wgs84_to_gcj02([114.09], [22.58])
    assert np.allclose(crs.to_wgs84(*g, source="GCJ-02"), ([114.09], [22.58]), atol=1e-8)
    b = crs.wgs84_to_bd09([114.09], [22.58])
    assert np.allclose(crs.to_wgs84(*b, source="bd09"), ([114.09], [22.58]), atol=1e-8)
    assert np.allclose(crs.to_wgs84([114.09], [22.58], source="EPSG:4326"), ([114.09], [22.58]))
    assert np.allclose(crs.from_wgs84([114.09], [22.58], target="gcj02"), g)


def test_unknown_crs_names_the_accepted_ones():
    with pytest.raises(UnknownCRSError, match="wgs84, gcj02, bd09"):
        crs.parse_crs("mercator")


@pytest.mark.parametrize(
    ("lon", "lat", "field"),
    [
        (float("nan"), 22.5, "lon"),
        (114.0, float("inf"), "lat"),
        (200.0, 22.5, "lon"),
        (114.0, -91.0, "lat"),
    ],
)
def test_bad_coordinates_name_the_axis(lon, lat, field):
    with pytest.raises(CoordinateError, match=rf"^{field}\[0\]"):
        crs.check_lonlat([lon], [lat])


def test_metric_crs_is_shenzhens_gauss_kruger():
    x, y = crs.to_metric(114.0, 22.5)
    # 114E is the central meridian: false easting 500 km exactly there.
    assert float(x) == pytest.approx(500_000.0, abs=0.01)
    assert 2_480_000 < float(y) < 2_500_000
    lon, lat = crs.from_metric(x, y)
    assert (float(lon), float(lat)) == pytest.approx((114.0, 22.5), abs=1e-9)


def test_the_cheap_per_thread_transformer_gives_pyprojs_own_answer():
    # geo.crs makes its transformers from PROJ pipelines (cheap in each new thread); they must
    # be the very operation pyproj picks for the CRS codes.
    from pyproj import Transformer

    rng = np.random.default_rng(0)
    lon, lat = 113.8 + rng.random(1000) * 0.6, 22.4 + rng.random(1000) * 0.4
    reference = Transformer.from_crs(crs.STORAGE_CRS, crs.METRIC_CRS, always_xy=True)
    x, y = crs.to_metric(lon, lat)
    rx, ry = reference.transform(lon, lat)
    np.testing.assert_allclose(x, rx, rtol=0, atol=1e-6)
    np.testing.assert_allclose(y, ry, rtol=0, atol=1e-6)
    back_lon, back_lat = crs.from_metric(x, y)
    np.testing.assert_allclose(back_lon, lon, rtol=0, atol=1e-9)
    np.testing.assert_allclose(back_lat, lat, rtol=0, atol=1e-9)
