"""Seeded synthetic incidents with planted hot spots, to test and benchmark hot-spot analysis.

:func:`plant_incidents` draws incidents over a study area as the sum of

- a **background**. ``"realistic"``: a mixture of a uniform floor, a smooth random surface (a few
  broad Gaussian bumps of 300-900 m, like neighbourhoods busier than others) and, when roads are
  given, a band along them (incidents cluster on streets). ``"uniform"``: complete spatial
  randomness over the area, the null hypothesis of Gi*, for false-positive checks;
- **planted hot spots**: grid cells (of the same EPSG:4547 grid as :func:`geo.cells.grid_cells`)
  around whose centres extra incidents fall with a Gaussian spread, the way problems gather
  round a market or a metro exit. Each spot has a dominant category.

The planted cell ids are returned with the incidents, so a test can measure recall. Everything
comes from one ``numpy.random.default_rng(seed)``: the same arguments give the same incidents.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray
from scipy import ndimage

from . import crs as geocrs
from .cells import AreaLike, bounds, grid_cell_id, metric_area
from .incidentfilter import TIMEZONE

__all__ = ["PlantParams", "PlantedIncidents", "plant_incidents"]

SOURCES: Final = ("daily_inspection", "complaint", "special_inspection", "patrol")
_SOURCE_P: Final = (0.55, 0.25, 0.05, 0.15)
# The plan's 21 categories, roughly in their observed mix (street appearance and stalls lead).
_CATEGORY_P: Final = {
    "C01": 0.27,
    "C02": 0.23,
    "C03": 0.09,
    "C04": 0.08,
    "C05": 0.015,
    "C06": 0.05,
    "C07": 0.002,
    "C08": 0.06,
    "C09": 0.04,
    "C10": 0.01,
    "C11": 0.02,
    "C12": 0.02,
    "C13": 0.03,
    "C14": 0.02,
    "C15": 0.01,
    "C16": 0.01,
    "C17": 0.01,
    "C18": 0.01,
    "C19": 0.01,
    "C20": 0.01,
    "C21": 0.013,
}
# Dominant categories given to planted spots in turn: stalls, appearance, food, noise, licences.
_SPOT_CATEGORIES: Final = ("C02", "C01", "C06", "C03", "C04", "C08")
_SPOT_DOMINANCE: Final = 0.7
# Hour-of-day weights: quiet nights, busy days and evenings.
_HOURS: Final = (0.5, 0.3, 0.2, 0.2, 0.3, 1, 2, 4, 5, 5, 5, 4, 3, 4, 4, 4, 4, 4, 5, 5, 4, 3, 2, 1)
_RASTER_M: Final = 25.0
_ROAD_BAND_M: Final = 40.0


@dataclass(frozen=True, slots=True)
class PlantParams:
    """What to draw.

    Parameters
    ----------
    n
        Incidents in all, background and spots together.
    spots
        How many hot spots to plant (when the caller does not name the cells).
    hot_share
        Share of ``n`` drawn at the spots; 0 gives background only.
    spread_m
        Standard deviation (metres) of a spot's incidents around its cell centre. With the
        default a third fall in the 150 m cell and nearly all the rest in the eight around it:
        an area of elevated rate the size of the neighbourhood Gi* looks at (a market, an
        urban village's lanes). A tight spike (all at one address) is a local outlier rather
        than a cluster, and Gi* needs it to stand far above the other cells to call it hot.
    cell_m
        Grid cell size of the planted cells.
    min_gap_m
        Planted spots are at least this far apart.
    background
        ``"realistic"`` or ``"uniform"`` (complete spatial randomness).
    start, days
        Incidents fall uniformly over these days (local time), with a day-heavy hour profile.
    seed
        Seed of the one random generator.
    """

    n: int = 10_000
    spots: int = 8
    hot_share: float = 0.25
    spread_m: float = 100.0
    cell_m: float = 150.0
    min_gap_m: float = 600.0
    background: Literal["realistic", "uniform"] = "realistic"
    start: dt.date = dt.date(2026, 11, 2)
    days: int = 28
    seed: int = 0

    def __post_init__(self) -> None:
        if self.n < 0 or self.spots < 0 or self.days < 1:
            msg = (
                f"Expected n >= 0, spots >= 0 and days >= 1, got n={self.n}, "
                f"spots={self.spots}, days={self.days}."
            )
            raise ValueError(msg)
        if not 0.0 <= self.hot_share <= 1.0:
            msg = f"Expected hot_share in [0, 1], got {self.hot_share!r}."
            raise ValueError(msg)
        for name in ("spread_m", "cell_m"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                msg = f"Expected {name} > 0 metres, got {value!r}."
                raise ValueError(msg)
        if self.background not in ("realistic", "uniform"):
            msg = f"Expected background 'realistic' or 'uniform', got {self.background!r}."
            raise ValueError(msg)


@dataclass(frozen=True)
class PlantedIncidents:
    """Synthetic incidents and the truth about them.

    ``incidents`` has ``category``, ``lon``, ``lat`` (WGS84), ``occurred_at`` (local, tz-aware),
    ``source``, ``urgent`` and ``spot`` (the planted spot's number, -1 for the background).
    ``spots`` lists the planted cells: ``cell_id``, ``lon``, ``lat`` (the cell centre),
    ``weight`` (share of the planted incidents) and ``category`` (the dominant one).
    """

    incidents: pd.DataFrame
    spots: pd.DataFrame
    params: PlantParams

    @property
    def planted_cells(self) -> tuple[str, ...]:
        """Ids of the planted cells."""
        return tuple(self.spots["cell_id"].astype(str))


@dataclass(frozen=True, slots=True)
class _Raster:
    x0: float
    y0: float
    inside: NDArray[np.bool_]  # (rows, cols), pixel centre inside the area

    def centres(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        rows, cols = np.indices(self.inside.shape)
        return (
            np.asarray(self.x0 + (cols + 0.5) * _RASTER_M, dtype=np.float64),
            np.asarray(self.y0 + (rows + 0.5) * _RASTER_M, dtype=np.float64),
        )


def _raster(area: shapely.Geometry) -> _Raster:
    minx, miny, maxx, maxy = bounds(area)
    cols, rows = math.ceil((maxx - minx) / _RASTER_M), math.ceil((maxy - miny) / _RASTER_M)
    x = minx + (np.arange(cols) + 0.5) * _RASTER_M
    y = miny + (np.arange(rows) + 0.5) * _RASTER_M
    xx, yy = np.meshgrid(x, y)
    shapely.prepare(area)
    inside = np.asarray(shapely.contains_xy(area, xx, yy), dtype=bool)
    return _Raster(minx, miny, inside)


def _background_weight(
    rng: np.random.Generator,
    raster: _Raster,
    area: shapely.Geometry,
    roads: gpd.GeoDataFrame | None,
) -> NDArray[np.float64]:
    """Relative intensity per raster pixel: uniform floor + smooth bumps + road band."""
    xx, yy = raster.centres()
    minx, miny, maxx, maxy = bounds(area)
    smooth = np.zeros_like(xx)
    for _ in range(6):
        cx, cy = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        sd = rng.uniform(300.0, 900.0)
        smooth += rng.uniform(0.5, 1.5) * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * sd * sd))
    parts = [np.ones_like(xx), smooth]
    shares = [0.35, 0.4]
    if roads is not None and len(roads):
        lines = np.asarray(roads.to_crs(geocrs.METRIC_CRS).geometry.values, dtype=object)
        # Rasterise the roads by dense sampling, then decay with the distance to them.
        n_rows, n_cols = raster.inside.shape
        marks = np.zeros((n_rows, n_cols), dtype=bool)
        for line in lines:
            n = max(2, int(shapely.length(line) / (_RASTER_M / 2)))
            pts = shapely.line_interpolate_point(line, np.linspace(0, 1, n), normalized=True)
            col = ((shapely.get_x(pts) - raster.x0) // _RASTER_M).astype(int)
            row = ((shapely.get_y(pts) - raster.y0) // _RASTER_M).astype(int)
            ok = (row >= 0) & (row < n_rows) & (col >= 0) & (col < n_cols)
            marks[row[ok], col[ok]] = True
        if marks.any():
            distance = ndimage.distance_transform_edt(~marks) * _RASTER_M
            parts.append(np.exp(-distance / _ROAD_BAND_M))
            shares.append(0.25)
    weight = np.zeros_like(xx)
    for part, share in zip(parts, shares, strict=True):
        inside_sum = part[raster.inside].sum()
        if inside_sum > 0:
            weight += share * part / inside_sum
    return np.where(raster.inside, weight, 0.0)


def _sample_raster(
    rng: np.random.Generator, raster: _Raster, weight: NDArray[np.float64], n: int
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    flat = weight.ravel()
    pixel = rng.choice(flat.size, size=n, p=flat / flat.sum())
    row, col = np.divmod(pixel, raster.inside.shape[1])
    x = raster.x0 + (col + rng.uniform(0.0, 1.0, n)) * _RASTER_M
    y = raster.y0 + (row + rng.uniform(0.0, 1.0, n)) * _RASTER_M
    return x, y


def _choose_spots(
    rng: np.random.Generator, area: shapely.Geometry, params: PlantParams
) -> list[tuple[int, int]]:
    """Random full cells of the grid, ``min_gap_m`` apart."""
    cell = params.cell_m
    minx, miny, maxx, maxy = bounds(area)
    cols = np.arange(math.floor(minx / cell), math.floor(maxx / cell) + 1)
    rows = np.arange(math.floor(miny / cell), math.floor(maxy / cell) + 1)
    cc, rr = (a.ravel() for a in np.meshgrid(cols, rows))
    boxes = shapely.box(cc * cell, rr * cell, (cc + 1) * cell, (rr + 1) * cell)
    shapely.prepare(area)
    full = np.flatnonzero(shapely.contains(area, boxes))
    chosen: list[tuple[int, int]] = []
    for k in rng.permutation(full):
        c, r = int(cc[k]), int(rr[k])
        if all(math.hypot(c - a, r - b) * cell >= params.min_gap_m for a, b in chosen):
            chosen.append((c, r))
            if len(chosen) == params.spots:
                break
    if len(chosen) < params.spots:
        msg = (
            f"Only {len(chosen)} of {params.spots} spots fit {params.min_gap_m:g} m apart in "
            "this area: plant fewer spots or lower min_gap_m."
        )
        raise ValueError(msg)
    return chosen


def _parse_cell(cell_id: str, cell_m: float) -> tuple[int, int]:
    prefix, _, rest = cell_id.partition("-")
    col, _, row = rest.partition("-")
    if prefix != f"g{cell_m:g}m":
        msg = f"{cell_id!r} is not a cell of the {cell_m:g} m grid (g{cell_m:g}m-<col>-<row>)."
        raise ValueError(msg)
    return int(col), int(row)


def plant_incidents(
    area: AreaLike,
    *,
    roads: gpd.GeoDataFrame | None = None,
    params: PlantParams | None = None,
    cells: Sequence[str] | None = None,
    weights: Sequence[float] | None = None,
) -> PlantedIncidents:
    """Draw seeded incidents over ``area`` with hot spots planted in known grid cells.

    Parameters
    ----------
    area
        The study area (communities or polygons; shapely input is WGS84).
    roads
        Lines along which the realistic background thickens (key roads or the road network).
    params
        Sizes, shares, spread, period and seed.
    cells
        Plant in these grid cells (ids as :func:`geo.cells.grid_cell_id`) instead of random ones;
        used to build consecutive periods with persistent, new or growing spots.
    weights
        Relative size of each spot (default equal).

    Returns
    -------
    PlantedIncidents
    """
    params = params or PlantParams()
    rng = np.random.default_rng(params.seed)
    area_m = metric_area(area)
    raster = _raster(area_m)
    if not raster.inside.any():
        msg = "The area is smaller than one 25 m raster pixel: give the study area polygons."
        raise ValueError(msg)
    spot_cells = (
        [_parse_cell(c, params.cell_m) for c in cells]
        if cells is not None
        else _choose_spots(rng, area_m, params)
        if params.hot_share > 0
        else []
    )
    share = np.ones(len(spot_cells)) if weights is None else np.asarray(weights, dtype=float)
    if len(share) != len(spot_cells) or (len(share) and (share.min() < 0 or share.sum() <= 0)):
        msg = "weights must give one non-negative number per planted cell, not all zero."
        raise ValueError(msg)
    n_hot = round(params.n * params.hot_share) if spot_cells else 0
    per_spot = rng.multinomial(n_hot, share / share.sum()) if spot_cells else np.zeros(0, int)

    if params.background == "uniform":
        weight = raster.inside.astype(np.float64)
    else:
        weight = _background_weight(rng, raster, area_m, roads)
    x, y = _sample_raster(rng, raster, weight, params.n - n_hot)
    spot = np.full(len(x), -1, dtype=np.int64)
    for k, ((col, row), count) in enumerate(zip(spot_cells, per_spot, strict=True)):
        cx, cy = (col + 0.5) * params.cell_m, (row + 0.5) * params.cell_m
        sx, sy = np.empty(0), np.empty(0)
        while len(sx) < count:  # redraw what falls outside the area
            dx = rng.normal(0.0, params.spread_m, count)
            dy = rng.normal(0.0, params.spread_m, count)
            ok = shapely.contains_xy(area_m, cx + dx, cy + dy)
            sx = np.concatenate([sx, cx + dx[ok]])
            sy = np.concatenate([sy, cy + dy[ok]])
        x = np.concatenate([x, sx[:count]])
        y = np.concatenate([y, sy[:count]])
        spot = np.concatenate([spot, np.full(count, k)])
    lon, lat = geocrs.from_metric(x, y)

    n = len(lon)
    codes = np.asarray(list(_CATEGORY_P), dtype=object)
    mix = np.asarray(list(_CATEGORY_P.values()))
    category = codes[rng.choice(len(codes), size=n, p=mix / mix.sum())]
    spot_category = np.asarray(
        [_SPOT_CATEGORIES[k % len(_SPOT_CATEGORIES)] for k in range(len(spot_cells))], dtype=object
    )
    dominant = (spot >= 0) & (rng.uniform(size=n) < _SPOT_DOMINANCE)
    category[dominant] = spot_category[spot[dominant]]
    hours = np.asarray(_HOURS) / sum(_HOURS)
    seconds = (
        rng.integers(0, params.days, n) * 86400
        + rng.choice(24, size=n, p=hours) * 3600
        + rng.integers(0, 3600, n)
    )
    start = pd.Timestamp(params.start).tz_localize(TIMEZONE)
    occurred = start + pd.to_timedelta(seconds, unit="s")
    order = np.argsort(np.asarray(occurred.asi8), kind="stable")
    incidents = (
        pd.DataFrame(
            {
                "category": category,
                "lon": np.round(lon, 6),
                "lat": np.round(lat, 6),
                "occurred_at": occurred,
                "source": np.asarray(SOURCES, dtype=object)[
                    rng.choice(len(SOURCES), size=n, p=_SOURCE_P)
                ],
                "urgent": rng.uniform(size=n) < 0.03,
                "spot": spot,
            }
        )
        .iloc[order]
        .reset_index(drop=True)
    )
    centre_lon, centre_lat = geocrs.from_metric(
        np.asarray([(c + 0.5) * params.cell_m for c, _ in spot_cells], dtype=float),
        np.asarray([(r + 0.5) * params.cell_m for _, r in spot_cells], dtype=float),
    )
    spots = pd.DataFrame(
        {
            "cell_id": [grid_cell_id(c, r, params.cell_m) for c, r in spot_cells],
            "lon": centre_lon,
            "lat": centre_lat,
            "weight": share / share.sum() if len(share) else share,
            "category": spot_category,
        }
    )
    return PlantedIncidents(incidents=incidents, spots=spots, params=params)
