"""Kernel density of incidents on a raster in EPSG:4547, for heat layers and per-cell values.

The kernel is an isotropic Gaussian; its bandwidth (the kernel's standard deviation, metres) is
``params.bandwidth_m`` when given, otherwise chosen from the incidents by a stated rule:

- ``"scott"`` (default): Scott's normal-reference rule for two dimensions,
  ``h = sigma * n ** (-1/6)`` with ``sigma = sqrt((var_x + var_y) / 2)`` of the projected
  coordinates; the factor ``scipy.stats.gaussian_kde`` uses (in 2-D Silverman's rule is the same);
- ``"silverman"``: the spatial variant of Silverman's rule that ArcGIS Pro's Kernel Density
  uses, ``r = 0.9 * min(SD, sqrt(1 / ln 2) * Dm) * n ** (-0.2)`` with SD the standard distance
  and Dm the median distance to the mean centre; ``r`` is a quartic kernel's radius, so the
  Gaussian of the same variance has ``h = r / sqrt(8)``.

Both are floored at ``min_bandwidth_m`` (one incident, or all at one address, has no spread).
Incidents are binned on the raster and smoothed with ``scipy.ndimage.gaussian_filter``, so the
cost is in pixels, not incidents: a million incidents take well under a second. Values are
incidents per km² (the surface integrates to the number of incidents, less what the kernel
spreads beyond the raster's margin of three bandwidths). No edge correction is made at the
area's boundary: the density just inside it is underestimated by up to a half.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import ArrayLike, NDArray
from scipy import ndimage

from . import crs as geocrs
from .cells import AreaLike, bounds, incident_lonlat, metric_area
from .incidentfilter import IncidentFilter

__all__ = ["BandwidthRule", "DensityParams", "DensitySurface", "bandwidth", "kernel_density"]

BandwidthRule = Literal["scott", "silverman"]
_MAX_PIXELS: Final = 16_000_000
_MARGIN_BANDWIDTHS: Final = 3.0


def bandwidth(x: ArrayLike, y: ArrayLike, *, rule: BandwidthRule = "scott") -> float:
    """The Gaussian kernel's standard deviation (metres) by ``rule`` for projected points.

    Returns 0 for fewer than two points or points with no spread.
    """
    xa = np.asarray(x, dtype=np.float64)
    ya = np.asarray(y, dtype=np.float64)
    n = len(xa)
    if n < 2:
        return 0.0
    if rule == "scott":
        sigma = math.sqrt((float(np.var(xa)) + float(np.var(ya))) / 2.0)
        return sigma * math.pow(n, -1.0 / 6.0)
    if rule == "silverman":
        dx, dy = xa - xa.mean(), ya - ya.mean()
        standard_distance = math.sqrt(float(np.mean(dx * dx + dy * dy)))
        median_distance = float(np.median(np.hypot(dx, dy)))
        radius = (
            0.9
            * min(standard_distance, math.sqrt(1.0 / math.log(2.0)) * median_distance)
            * math.pow(n, -0.2)
        )
        return radius / math.sqrt(8.0)
    msg = f"Unknown bandwidth rule {rule!r}: use 'scott' or 'silverman'."
    raise ValueError(msg)


@dataclass(frozen=True, slots=True)
class DensityParams:
    """How the surface is computed.

    Parameters
    ----------
    raster_m
        Pixel size in metres.
    bandwidth_m
        The kernel's standard deviation; ``None`` picks it by ``rule``.
    rule
        ``"scott"`` or ``"silverman"`` (see the module docstring).
    min_bandwidth_m
        The rule's answer is raised to at least this.
    """

    raster_m: float = 25.0
    bandwidth_m: float | None = None
    rule: BandwidthRule = "scott"
    min_bandwidth_m: float = 50.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.raster_m) and 1.0 <= self.raster_m <= 1000.0):
            msg = f"Expected raster_m in [1, 1000] metres, got {self.raster_m!r}."
            raise ValueError(msg)
        if self.bandwidth_m is not None and not (
            math.isfinite(self.bandwidth_m) and self.bandwidth_m > 0
        ):
            msg = (
                f"Expected bandwidth_m > 0 metres or None (chosen by rule), got "
                f"{self.bandwidth_m!r}."
            )
            raise ValueError(msg)
        if self.rule not in ("scott", "silverman"):
            msg = f"Expected rule 'scott' or 'silverman', got {self.rule!r}."
            raise ValueError(msg)
        if not (math.isfinite(self.min_bandwidth_m) and self.min_bandwidth_m > 0):
            msg = f"Expected min_bandwidth_m > 0 metres, got {self.min_bandwidth_m!r}."
            raise ValueError(msg)


@dataclass(frozen=True, eq=False)
class DensitySurface:
    """A density raster in EPSG:4547; ``values[row, col]`` in incidents per km².

    Row 0 is the southern edge; pixel ``(row, col)`` spans ``x0 + col * raster_m`` to the next
    column, likewise for ``y``.
    """

    x0: float
    y0: float
    raster_m: float
    values: NDArray[np.float64]
    bandwidth_m: float
    rule: str
    incidents: int

    @property
    def peak(self) -> float:
        """The highest density (incidents per km²)."""
        return float(self.values.max(initial=0.0))

    def sample(self, lon: ArrayLike, lat: ArrayLike) -> NDArray[np.float64]:
        """Density at WGS84 points (nearest pixel; 0 off the raster)."""
        lon_a, lat_a = geocrs.check_lonlat(lon, lat)
        x, y = geocrs.to_metric(lon_a, lat_a)
        col = np.floor((x - self.x0) / self.raster_m).astype(np.int64)
        row = np.floor((y - self.y0) / self.raster_m).astype(np.int64)
        rows, cols = self.values.shape
        ok = (row >= 0) & (row < rows) & (col >= 0) & (col < cols)
        out = np.zeros(len(x))
        out[ok] = self.values[row[ok], col[ok]]
        return out

    def per_cell(self, cells: gpd.GeoDataFrame) -> NDArray[np.float64]:
        """Density at each cell's anchor (``lon``/``lat`` columns, else the centroid)."""
        if {"lon", "lat"} <= set(cells.columns):
            return self.sample(cells["lon"].to_numpy(), cells["lat"].to_numpy())
        centres = cells.to_crs(geocrs.METRIC_CRS).geometry.centroid.to_crs(geocrs.STORAGE_CRS)
        return self.sample(centres.x.to_numpy(), centres.y.to_numpy())

    def to_points(self, *, step_m: float = 50.0, min_share: float = 0.02) -> pd.DataFrame:
        """The surface as weighted points for a heat layer.

        Pixels are averaged into blocks of about ``step_m``; blocks under ``min_share`` of the
        peak are left out (they would be invisible and only weigh on the page).

        Returns
        -------
        pandas.DataFrame
            ``lon``, ``lat`` (WGS84 block centres) and ``density`` (incidents per km²).
        """
        factor = max(1, round(step_m / self.raster_m))
        rows, cols = self.values.shape
        pad = ((0, (-rows) % factor), (0, (-cols) % factor))
        blocks = (
            np.pad(self.values, pad)
            .reshape((rows + pad[0][1]) // factor, factor, (cols + pad[1][1]) // factor, factor)
            .mean(axis=(1, 3))
        )
        keep = blocks >= min_share * max(float(blocks.max(initial=0.0)), 1e-300)
        keep &= blocks > 0
        row, col = np.nonzero(keep)
        size = factor * self.raster_m
        lon, lat = geocrs.from_metric(self.x0 + (col + 0.5) * size, self.y0 + (row + 0.5) * size)
        return pd.DataFrame({"lon": lon, "lat": lat, "density": blocks[row, col]})

    def to_frame(self) -> gpd.GeoDataFrame:
        """Every pixel as a WGS84 square with its ``density`` (for export; large)."""
        rows, cols = np.indices(self.values.shape)
        r, c = rows.ravel(), cols.ravel()
        boxes = shapely.box(
            self.x0 + c * self.raster_m,
            self.y0 + r * self.raster_m,
            self.x0 + (c + 1) * self.raster_m,
            self.y0 + (r + 1) * self.raster_m,
        )
        frame = gpd.GeoDataFrame(
            {"density": self.values.ravel()}, geometry=boxes, crs=geocrs.METRIC_CRS
        )
        return frame.to_crs(geocrs.STORAGE_CRS)


def kernel_density(
    incidents: pd.DataFrame,
    area: AreaLike,
    *,
    params: DensityParams | None = None,
    where: IncidentFilter | None = None,
) -> DensitySurface:
    """A kernel density surface of the incidents over the study area.

    Parameters
    ----------
    incidents
        ``lon``/``lat`` (WGS84) or point geometry, and the columns ``where`` needs.
    area
        The study area; the raster covers its bounds plus three bandwidths.
    params
        Pixel size and bandwidth (rule or value).
    where
        Which incidents count.

    Returns
    -------
    DensitySurface
    """
    params = params or DensityParams()
    chosen = incidents if where is None else where.apply(incidents)
    lon, lat = incident_lonlat(chosen)
    x, y = geocrs.to_metric(lon, lat)
    if params.bandwidth_m is not None:
        h, rule = params.bandwidth_m, "given"
    else:
        h = max(bandwidth(x, y, rule=params.rule), params.min_bandwidth_m)
        rule = params.rule
    minx, miny, maxx, maxy = bounds(metric_area(area))
    margin = _MARGIN_BANDWIDTHS * h
    size = params.raster_m
    x0 = math.floor((minx - margin) / size) * size
    y0 = math.floor((miny - margin) / size) * size
    cols = math.ceil((maxx + margin - x0) / size)
    rows = math.ceil((maxy + margin - y0) / size)
    if rows * cols > _MAX_PIXELS:
        msg = (
            f"The raster would have {rows * cols:,} pixels: raise raster_m (now {size:g} m) "
            "or narrow the area."
        )
        raise ValueError(msg)
    col = np.floor((x - x0) / size).astype(np.int64)
    row = np.floor((y - y0) / size).astype(np.int64)
    ok = (row >= 0) & (row < rows) & (col >= 0) & (col < cols)
    binned = np.bincount(row[ok] * cols + col[ok], minlength=rows * cols).reshape(rows, cols)
    smoothed = ndimage.gaussian_filter(
        binned.astype(np.float64), sigma=h / size, mode="constant", truncate=4.0
    )
    per_km2 = smoothed / (size * size / 1e6)
    return DensitySurface(
        x0=x0,
        y0=y0,
        raster_m=size,
        values=np.maximum(per_km2, 0.0),
        bandwidth_m=h,
        rule=rule,
        incidents=int(ok.sum()),
    )
