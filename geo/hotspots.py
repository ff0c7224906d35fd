"""Hot spots from incidents: where and when problems cluster, as patrol targets.

For now a plain ranking: incidents are counted on a square grid in EPSG:4547 (150 m by default,
about a PredPol box) and the busiest cells become hot spots, each placed at its most central
incident (a real place, not a cell corner) with the hours when its incidents happen. The
statistically tested analysis (Getis-Ord Gi* with FDR) will replace the ranking's score.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from . import crs as geocrs
from .shiftplan import HotSpot

__all__ = ["RankParams", "rank_hotspots"]


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


def rank_hotspots(lon: ArrayLike, lat: ArrayLike, seconds_of_day: ArrayLike, *,
                  shift: tuple[float, float], weights: ArrayLike | None = None,
                  labels: ArrayLike | None = None, params: RankParams | None = None
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
    lon_a, lat_a = geocrs.check_lonlat(lon, lat)
    when = np.asarray(seconds_of_day, dtype=np.float64)
    weight = np.ones_like(lon_a) if weights is None else np.asarray(weights, dtype=np.float64)
    label = (np.full(len(lon_a), "", dtype=object) if labels is None
             else np.asarray(labels, dtype=object))
    keep = (when >= shift[0]) & (when < shift[1])
    if not keep.any():
        return []
    x, y = geocrs.to_metric(lon_a[keep], lat_a[keep])
    frame = pd.DataFrame({
        "col": np.floor(x / params.cell_m).astype(np.int64),
        "row": np.floor(y / params.cell_m).astype(np.int64),
        "x": x, "y": y, "lon": lon_a[keep], "lat": lat_a[keep], "when": when[keep],
        "weight": weight[keep], "label": label[keep]})
    totals = frame.groupby(["col", "row"])["weight"].sum()
    busiest = totals[totals >= params.min_count].sort_values(ascending=False, kind="stable")
    spots = []
    chosen = busiest.head(params.top)
    for col, row, score in zip(chosen.index.get_level_values("col"),
                               chosen.index.get_level_values("row"), chosen.to_numpy(),
                               strict=True):
        cell = frame[(frame["col"] == col) & (frame["row"] == row)]
        # The incident closest to the cell's weighted centre: a place where things happen.
        cx = np.average(cell["x"], weights=cell["weight"])
        cy = np.average(cell["y"], weights=cell["weight"])
        centre = cell.iloc[int(np.argmin(np.hypot(cell["x"] - cx, cell["y"] - cy)))]
        spots.append(HotSpot(spot_id=f"cell-{col}-{row}", lon=float(centre["lon"]),
                             lat=float(centre["lat"]), priority=float(score),
                             windows=(_window(cell["when"].to_numpy(), shift, params),),
                             label=str(cell["label"].mode().iloc[0])))
    return spots


def _window(when: np.ndarray, shift: tuple[float, float], params: RankParams
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
