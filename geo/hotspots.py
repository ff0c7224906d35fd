"""Hot spots from incidents: where and when problems cluster, as patrol targets.

Incidents are counted on the square grid of :mod:`geo.cells` (EPSG:4547, 150 m by default,
about a PredPol box). :func:`gi_hotspots`, the planner's default, takes the cells that Getis-Ord
Gi* (:func:`geo.getisord.getis_ord`) calls hot; :func:`rank_hotspots` takes the busiest cells,
for when there are too few incidents for a test. Either way each hot spot is placed at its most
central incident (a real place, not a cell corner), with the hours when its incidents happen
inside the shift as its time window, its incidents per hour of the day as its profile (which
decides the periods it is hot), and no dwell of its own (the planner's Koper-curve default).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from . import crs as geocrs
from .cells import grid_cell_id
from .shift import HotSpot

__all__ = ["GI_Z_AT_90", "RankParams", "gi_hotspots", "rank_hotspots"]

# Gi* z at the 90 % two-sided level: a hot cell's priority is its count times z / this, so a cell
# just significant counts at face value and a stronger cluster counts more.
GI_Z_AT_90 = 1.645


@dataclass(frozen=True)
class RankParams:
    """How incidents become hot spots.

    Parameters
    ----------
    cell_m
        Grid cell size in metres.
    top
        How many cells to return at most.
    min_count
        Cells with fewer (weighted) incidents are not hot spots.
    window_quantiles
        The hot spot's time window spans these quantiles of its incidents' times of day.
    min_window_s
        A window is widened to at least this long, centred on its middle.
    """

    cell_m: float = 150.0
    top: int = 60
    min_count: float = 2.0
    window_quantiles: tuple[float, float] = (0.1, 0.9)
    min_window_s: float = 2 * 3600.0

    def __post_init__(self) -> None:
        if not (10.0 <= self.cell_m <= 5000.0):
            msg = f"Expected cell_m in [10, 5000] metres, got {self.cell_m!r}."
            raise ValueError(msg)
        if self.top < 1:
            msg = f"Expected top >= 1, got {self.top!r}."
            raise ValueError(msg)
        lo, hi = self.window_quantiles
        if not 0.0 <= lo < hi <= 1.0:
            msg = f"Expected window_quantiles 0 <= lo < hi <= 1, got {self.window_quantiles!r}."
            raise ValueError(msg)


def rank_hotspots(
    lon: ArrayLike,
    lat: ArrayLike,
    seconds_of_day: ArrayLike,
    *,
    shift: tuple[float, float],
    weights: ArrayLike | None = None,
    labels: ArrayLike | None = None,
    params: RankParams | None = None,
) -> list[HotSpot]:
    """The busiest grid cells of the incidents that happen within ``shift``.

    Parameters
    ----------
    lon, lat
        Incident positions, WGS84.
    seconds_of_day
        Local time of day of each incident, seconds from midnight.
    shift
        (start, end) seconds from midnight; incidents outside it are ignored.
    weights
        Weight per incident (e.g. 2 for urgent ones); default 1.
    labels
        A label per incident (e.g. its category); a hot spot is labelled with its most common.
    params
        Grid and ranking settings.

    Returns
    -------
    list of HotSpot
        Highest priority first; priority is the weighted count, ids are ``cell-<col>-<row>``.
    """
    params = params or RankParams()
    frame = _cell_frame(
        lon, lat, seconds_of_day, shift=shift, weights=weights, labels=labels, cell_m=params.cell_m
    )
    if frame.empty:
        return []
    totals = frame.groupby(["col", "row"])["weight"].sum()
    busiest = totals[totals >= params.min_count].sort_values(ascending=False, kind="stable")
    chosen = busiest.head(params.top)
    return [
        _spot(frame, col, row, float(score), f"cell-{col}-{row}", shift, params)
        for col, row, score in zip(
            chosen.index.get_level_values("col"),
            chosen.index.get_level_values("row"),
            chosen.to_numpy(),
            strict=True,
        )
    ]


def gi_hotspots(
    lon: ArrayLike,
    lat: ArrayLike,
    seconds_of_day: ArrayLike,
    cells: pd.DataFrame,
    *,
    shift: tuple[float, float],
    weights: ArrayLike | None = None,
    labels: ArrayLike | None = None,
    min_bin: int = 1,
    params: RankParams | None = None,
) -> list[HotSpot]:
    """The cells Gi* calls hot, as patrol targets for one shift.

    Parameters
    ----------
    lon, lat, seconds_of_day, shift, weights, labels
        As for :func:`rank_hotspots`: the incidents, of which those inside ``shift`` count.
    cells
        Gi* results on the square grid of ``params.cell_m`` (:func:`geo.getisord.getis_ord`
        on :func:`geo.cells.grid_cells`): ``cell_id``, ``gi_bin``, ``gi_z``.
    min_bin
        The lowest Gi* bin that makes a target: 1, 2 or 3 (90, 95, 99 % confidence).
    params
        Grid size, how many targets, the least weighted count in the shift, the windows.

    Returns
    -------
    list of HotSpot
        Highest priority first. Priority = weighted count in the shift x ``gi_z`` / 1.645; ids
        are the cells' ids (``g150m-<col>-<row>``), so a plan links back to the hot-spot map.
    """
    params = params or RankParams()
    if not 1 <= min_bin <= 3:
        msg = f"Expected min_bin in 1..3 (90/95/99 % confidence), got {min_bin!r}."
        raise ValueError(msg)
    missing = {"cell_id", "gi_bin", "gi_z"} - set(cells.columns)
    if missing:
        msg = (
            f"cells lack {', '.join(sorted(missing))}: pass the result of "
            "geo.getisord.getis_ord on geo.cells.grid_cells."
        )
        raise ValueError(msg)
    hot = cells[cells["gi_bin"].to_numpy() >= min_bin]
    z_of = dict(zip(hot["cell_id"].astype(str), hot["gi_z"].astype(float), strict=True))
    frame = _cell_frame(
        lon, lat, seconds_of_day, shift=shift, weights=weights, labels=labels, cell_m=params.cell_m
    )
    if frame.empty or not z_of:
        return []
    totals = frame.groupby(["col", "row"])["weight"].sum()
    scored = []
    for col, row, count in zip(
        totals.index.get_level_values("col"),
        totals.index.get_level_values("row"),
        totals.to_numpy(),
        strict=True,
    ):
        cell_id = grid_cell_id(int(col), int(row), params.cell_m)
        if cell_id in z_of and count >= params.min_count:
            scored.append((float(count) * z_of[cell_id] / GI_Z_AT_90, int(col), int(row), cell_id))
    scored.sort(key=lambda item: (-item[0], item[3]))
    return [
        _spot(frame, col, row, score, cell_id, shift, params)
        for score, col, row, cell_id in scored[: params.top]
    ]


def _cell_frame(
    lon: ArrayLike,
    lat: ArrayLike,
    seconds_of_day: ArrayLike,
    *,
    shift: tuple[float, float],
    weights: ArrayLike | None,
    labels: ArrayLike | None,
    cell_m: float,
) -> pd.DataFrame:
    """The incidents inside ``shift`` with their grid column and row and metric position."""
    lon_a, lat_a = geocrs.check_lonlat(lon, lat)
    when = np.asarray(seconds_of_day, dtype=np.float64)
    weight = np.ones_like(lon_a) if weights is None else np.asarray(weights, dtype=np.float64)
    label = (
        np.full(len(lon_a), "", dtype=object)
        if labels is None
        else np.asarray(labels, dtype=object)
    )
    keep = (when >= shift[0]) & (when < shift[1])
    x, y = geocrs.to_metric(lon_a[keep], lat_a[keep])
    return pd.DataFrame(
        {
            "col": np.floor(x / cell_m).astype(np.int64),
            "row": np.floor(y / cell_m).astype(np.int64),
            "x": x,
            "y": y,
            "lon": lon_a[keep],
            "lat": lat_a[keep],
            "when": when[keep],
            "weight": weight[keep],
            "label": label[keep],
        }
    )


def _spot(
    frame: pd.DataFrame,
    col: int,
    row: int,
    priority: float,
    spot_id: str,
    shift: tuple[float, float],
    params: RankParams,
) -> HotSpot:
    cell = frame[(frame["col"] == col) & (frame["row"] == row)]
    # The incident closest to the cell's weighted centre: a place where things happen.
    cx = np.average(cell["x"], weights=cell["weight"])
    cy = np.average(cell["y"], weights=cell["weight"])
    centre = cell.iloc[int(np.argmin(np.hypot(cell["x"] - cx, cell["y"] - cy)))]
    hours = np.clip((cell["when"].to_numpy() // 3600).astype(int), 0, 23)
    profile = np.bincount(hours, weights=cell["weight"].to_numpy(), minlength=24)
    categories = cell.groupby("label")["weight"].sum().sort_values(ascending=False, kind="stable")
    return HotSpot(
        spot_id=spot_id,
        lon=float(centre["lon"]),
        lat=float(centre["lat"]),
        priority=priority,
        windows=(_window(cell["when"].to_numpy(), shift, params),),
        label=str(cell["label"].mode().iloc[0]),
        profile=tuple(round(float(v), 3) for v in profile),
        count=float(cell["weight"].sum()),
        categories=tuple((str(k), round(float(v), 3)) for k, v in categories.items() if k != ""),
    )


def _window(
    when: np.ndarray, shift: tuple[float, float], params: RankParams
) -> tuple[float, float]:
    lo, hi = (float(q) for q in np.quantile(when, params.window_quantiles))
    if hi - lo < params.min_window_s:
        middle = (lo + hi) / 2.0
        lo, hi = middle - params.min_window_s / 2.0, middle + params.min_window_s / 2.0
    # Keep the window inside the shift without shrinking it below the minimum.
    if lo < shift[0]:
        lo, hi = shift[0], min(shift[1], shift[0] + max(hi - lo, params.min_window_s))
    if hi > shift[1]:
        lo, hi = max(shift[0], shift[1] - max(hi - lo, params.min_window_s)), shift[1]
    return math.floor(lo), math.ceil(hi)
