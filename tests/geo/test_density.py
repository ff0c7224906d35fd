"""Kernel density surfaces: the stated bandwidth rules, mass, peaks, overrides, heat points."""

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from scipy import stats
from shapely.geometry import box

from geo import crs
from geo.density import DensityParams, bandwidth, kernel_density
from geo.incidentfilter import IncidentFilter

X0, Y0 = 507_000.0, 2_497_000.0
AREA = gpd.GeoDataFrame(geometry=[box(X0, Y0, X0 + 3000, Y0 + 3000)], crs=crs.METRIC_CRS).to_crs(
    crs.STORAGE_CRS
)


def _incidents(x: object, y: object, **columns: object) -> pd.DataFrame:
    lon, lat = crs.from_metric(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
    return pd.DataFrame({"lon": lon, "lat": lat, **columns})


def test_scott_rule_is_scipys_factor_on_the_isotropic_spread():
    rng = np.random.default_rng(0)
    x, y = rng.normal(0, 300, 800), rng.normal(0, 500, 800)
    kde = stats.gaussian_kde(np.vstack([x, y]))  # Scott's factor by default
    sigma = math.sqrt((np.var(x) + np.var(y)) / 2)
    assert bandwidth(x, y, rule="scott") == pytest.approx(sigma * kde.factor, rel=1e-12)


def test_silverman_rule_is_arcgis_spatial_variant_as_a_gaussian():
    # Four points on a square of side 2 around (1, 1): SD = sqrt(2), Dm = sqrt(2).
    x, y = np.array([0.0, 2.0, 0.0, 2.0]), np.array([0.0, 0.0, 2.0, 2.0])
    radius = 0.9 * min(math.sqrt(2), math.sqrt(1 / math.log(2)) * math.sqrt(2)) * 4**-0.2
    assert bandwidth(x, y, rule="silverman") == pytest.approx(radius / math.sqrt(8))
    assert bandwidth([1.0], [2.0]) == 0.0
    assert bandwidth([5.0, 5.0], [1.0, 1.0]) == 0.0
    with pytest.raises(ValueError, match="rule"):
        bandwidth(x, y, rule="magic")  # type: ignore[arg-type]


def test_surface_keeps_the_mass_and_peaks_at_the_cluster():
    rng = np.random.default_rng(1)
    cx, cy = X0 + 900, Y0 + 2100
    x = np.concatenate([rng.normal(cx, 60, 600), rng.uniform(X0, X0 + 3000, 400)])
    y = np.concatenate([rng.normal(cy, 60, 600), rng.uniform(Y0, Y0 + 3000, 400)])
    surface = kernel_density(_incidents(x, y), AREA)
    pixel_km2 = (surface.raster_m / 1000) ** 2
    assert surface.values.sum() * pixel_km2 == pytest.approx(1000, rel=0.01)
    assert surface.incidents == 1000
    assert surface.rule == "scott"
    expected = max(bandwidth(*crs.to_metric(*crs.from_metric(x, y))), 50.0)
    assert surface.bandwidth_m == pytest.approx(expected)
    row, col = np.unravel_index(np.argmax(surface.values), surface.values.shape)
    px = surface.x0 + (col + 0.5) * surface.raster_m
    py = surface.y0 + (row + 0.5) * surface.raster_m
    assert math.hypot(px - cx, py - cy) < 75
    # Sampling agrees with the raster, and a far corner is quiet.
    lon, lat = crs.from_metric(np.array([px, X0 + 2900]), np.array([py, Y0 + 100]))
    peak, corner = surface.sample(lon, lat)
    assert peak == pytest.approx(surface.peak)
    assert corner < peak / 10


def test_a_single_incident_gives_the_gaussian_of_the_floor_bandwidth():
    surface = kernel_density(
        _incidents([X0 + 1500.0], [Y0 + 1500.0]),
        AREA,
        params=DensityParams(raster_m=10.0, min_bandwidth_m=80.0),
    )
    assert surface.bandwidth_m == 80.0
    # The peak of a 2-D Gaussian of one incident is 1 / (2 pi h^2) per m².
    assert surface.peak == pytest.approx(1e6 / (2 * math.pi * 80.0**2), rel=0.03)


def test_bandwidth_override_and_filter():
    rng = np.random.default_rng(2)
    x, y = rng.uniform(X0, X0 + 3000, 500), rng.uniform(Y0, Y0 + 3000, 500)
    frame = _incidents(x, y, category=np.where(np.arange(500) < 100, "C02", "C01"))
    surface = kernel_density(
        frame,
        AREA,
        params=DensityParams(bandwidth_m=123.0),
        where=IncidentFilter(categories=("C02",)),
    )
    assert surface.bandwidth_m == 123.0
    assert surface.rule == "given"
    assert surface.incidents == 100
    silverman = kernel_density(frame, AREA, params=DensityParams(rule="silverman"))
    assert silverman.rule == "silverman"
    assert silverman.bandwidth_m != pytest.approx(kernel_density(frame, AREA).bandwidth_m)


def test_heat_points_drop_the_quiet_blocks():
    rng = np.random.default_rng(3)
    x = np.concatenate([rng.normal(X0 + 500, 50, 300), rng.normal(X0 + 2500, 50, 100)])
    y = np.concatenate([rng.normal(Y0 + 500, 50, 300), rng.normal(Y0 + 2500, 50, 100)])
    surface = kernel_density(_incidents(x, y), AREA, params=DensityParams(bandwidth_m=60.0))
    points = surface.to_points(step_m=50.0, min_share=0.05)
    assert list(points.columns) == ["lon", "lat", "density"]
    assert (points["density"] >= 0.05 * points["density"].max()).all()
    everything = surface.to_points(step_m=50.0, min_share=0.0)
    assert len(points) < len(everything) / 5
    # Both clusters show, the bigger one hotter.
    px, py = crs.to_metric(points["lon"].to_numpy(), points["lat"].to_numpy())
    near_big = np.hypot(px - (X0 + 500), py - (Y0 + 500)) < 100
    near_small = np.hypot(px - (X0 + 2500), py - (Y0 + 2500)) < 100
    assert near_big.any()
    assert near_small.any()
    assert points["density"][near_big].max() > 2 * points["density"][near_small].max()
    cells = gpd.GeoDataFrame(
        {"lon": points["lon"][:3], "lat": points["lat"][:3]},
        geometry=gpd.points_from_xy(points["lon"][:3], points["lat"][:3]),
        crs=crs.STORAGE_CRS,
    )
    assert (surface.per_cell(cells) > 0).all()


def test_density_params_validation():
    with pytest.raises(ValueError, match="raster_m"):
        DensityParams(raster_m=0.0)
    with pytest.raises(ValueError, match="bandwidth_m"):
        DensityParams(bandwidth_m=-5.0)
    with pytest.raises(ValueError, match="rule"):
        DensityParams(rule="silly")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="raster_m"):
        kernel_density(
            _incidents([X0], [Y0]), AREA, params=DensityParams(raster_m=1.0, bandwidth_m=5000.0)
        )
