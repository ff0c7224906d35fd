"""Patrol dosage: which planned stops a unit's track actually visited, and for how long.

PredPol's doctrine is to check, from AVL, that the boxes were really patrolled; the Koper curve
says a stop works when it lasts 10-15 minutes. A planned stop counts as visited when the track
stays within ``radius_m`` of it for at least ``min_share`` of the planned dwell, in one
continuous stay; the time between consecutive pings inside the radius is credited to the stay
when the gap is short enough to trust (``max_gap_s``). One stay proves one visit: two planned
stops at the same place (a hot spot and its revisit) need two stays, and each takes the stay
closest in time to its planned start.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from . import crs as geocrs

__all__ = ["DosageParams", "PlannedVisit", "patrol_dosage"]


@dataclass(frozen=True)
class DosageParams:
    """When a stop counts as visited.

    Parameters
    ----------
    radius_m
        The track must be this close to the stop.
    min_share
        Of the planned dwell the stay must last (a 12-minute stop needs 9 with 0.75).
    max_gap_s
        Consecutive pings farther apart than this do not prove the unit stayed in between.
    """

    radius_m: float = 50.0
    min_share: float = 0.75
    max_gap_s: float = 180.0

    def __post_init__(self) -> None:
        if not (self.radius_m > 0 and math.isfinite(self.radius_m)):
            msg = f"Expected radius_m > 0, got {self.radius_m!r}."
            raise ValueError(msg)
        if not 0 < self.min_share <= 1:
            msg = f"Expected min_share in (0, 1], got {self.min_share!r}."
            raise ValueError(msg)
        if not self.max_gap_s > 0:
            msg = f"Expected max_gap_s > 0, got {self.max_gap_s!r}."
            raise ValueError(msg)


@dataclass(frozen=True)
class PlannedVisit:
    """A planned stop: where, and the planned dwell in seconds."""

    target_id: str
    lon: float
    lat: float
    dwell_s: float
    start_s: float | None = None


def _stays(t: np.ndarray, inside: np.ndarray, max_gap_s: float) -> list[tuple[float, float]]:
    """Continuous stays within the radius as (first ping, last ping) times."""
    stays: list[tuple[float, float]] = []
    start = None
    for i in range(len(t)):
        continues = inside[i] and i > 0 and inside[i - 1] and t[i] - t[i - 1] <= max_gap_s
        if inside[i] and not continues:
            if start is not None:
                stays.append((float(t[start]), float(t[i - 1])))
            start = i
        elif not inside[i] and start is not None:
            stays.append((float(t[start]), float(t[i - 1])))
            start = None
    if start is not None:
        stays.append((float(t[start]), float(t[-1])))
    return stays


def patrol_dosage(
    visits: Sequence[PlannedVisit],
    times_s: ArrayLike,
    lon: ArrayLike,
    lat: ArrayLike,
    *,
    params: DosageParams | None = None,
) -> pd.DataFrame:
    """Compare a unit's planned stops with its track.

    Parameters
    ----------
    visits
        The unit's planned stops.
    times_s, lon, lat
        The track: ping times in seconds (any origin) and WGS84 positions, in any order.
    params
        Radius, share of the dwell and gap rules.

    Returns
    -------
    pandas.DataFrame
        One row per visit, indexed by ``target_id``: ``visited``, ``stay_s`` (the credited
        stay, or the longest one left when none qualifies), ``arrived_s`` (its start, NaN if
        none), ``closest_m`` (the nearest the track came).
    """
    params = params or DosageParams()
    t = np.asarray(times_s, dtype=np.float64)
    order = np.argsort(t, kind="stable")
    t = t[order]
    x, y = geocrs.to_metric(
        np.asarray(lon, dtype=np.float64)[order], np.asarray(lat, dtype=np.float64)[order]
    )
    credited: list[tuple[float, float]] = []
    results: dict[int, dict[str, object]] = {}
    # Visits in planned order, so an early stop takes the early stay at a shared place.
    order_of_visits = sorted(
        range(len(visits)),
        key=lambda k: (visits[k].start_s if visits[k].start_s is not None else math.inf, k),
    )
    for k in order_of_visits:
        visit = visits[k]
        vx, vy = geocrs.to_metric(visit.lon, visit.lat)
        distance = np.hypot(x - float(vx), y - float(vy))
        free = [
            (a, b)
            for a, b in _stays(t, distance <= params.radius_m, params.max_gap_s)
            if not any(a <= d and c <= b for c, d in credited)
        ]
        longest = max(free, key=lambda s: s[1] - s[0], default=None)
        good = [s for s in free if s[1] - s[0] >= params.min_share * visit.dwell_s]
        target = visit.start_s if visit.start_s is not None else 0.0
        chosen = min(good, key=lambda s: abs(s[0] - target), default=None)
        if chosen is not None:
            credited.append(chosen)
        shown = chosen or longest
        results[k] = {
            "target_id": visit.target_id,
            "visited": chosen is not None,
            "stay_s": 0.0 if shown is None else shown[1] - shown[0],
            "arrived_s": math.nan if shown is None else shown[0],
            "closest_m": float(distance.min()) if len(distance) else math.nan,
        }
    rows = [results[k] for k in range(len(visits))]
    return pd.DataFrame(
        rows, columns=["target_id", "visited", "stay_s", "arrived_s", "closest_m"]
    ).set_index("target_id")
