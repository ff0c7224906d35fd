"""What a shift must cover, in time: periods, the periods each hot spot is hot, busy key roads.

Hot-spot policing works by short, repeated presence while a spot is hot (Koper: 10-15 minutes,
every 1-2 hours). A shift is cut into periods (2 hours by default) counted back from its end, so
a re-plan from 11:20 of the 07-15 shift keeps the 11-13 and 13-15 periods of the original plan
and the target ids that name them. A spot is hot in a period when its incidents in that period
are at least ``hot_share`` of what an even spread over the shift would give; a spot with evening
stalls gets its visits in the evening.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import numpy as np
import shapely

from . import crs as geocrs

__all__ = [
    "busiest_sweeps",
    "hot_periods",
    "period_id",
    "shift_periods",
    "visits_that_fit",
]

HOUR: Final = 3600.0
# A visit is planned with this much travel on top of its dwell when the capacity is estimated.
_TRAVEL_PER_VISIT_S: Final = 6 * 60.0


def shift_periods(shift: tuple[float, float], *, period_s: float) -> list[tuple[float, float]]:
    """The shift's periods, counted back from its end; a first stub under a quarter joins the
    next period."""
    periods: list[tuple[float, float]] = []
    hi = shift[1]
    while hi > shift[0] + 1.0:
        lo = max(shift[0], hi - period_s)
        periods.append((lo, hi))
        hi = lo
    periods.reverse()
    if len(periods) > 1 and periods[0][1] - periods[0][0] < period_s / 4:
        periods[1] = (periods[0][0], periods[1][1])
        del periods[0]
    return periods


def period_id(period: tuple[float, float]) -> str:
    """A period's name in target ids: the clock time it ends, ``HHMM``."""
    minutes = round(period[1] / 60.0)
    return f"{minutes // 60:02d}{minutes % 60:02d}"


def _profile_weight(profile: Sequence[float], lo: float, hi: float) -> float:
    """Incidents of an hourly profile (24 values from midnight) that fall in ``[lo, hi)``."""
    total = 0.0
    for hour, count in enumerate(profile):
        overlap = min(hi, (hour + 1) * HOUR) - max(lo, hour * HOUR)
        if overlap > 0:
            total += count * overlap / HOUR
    return total


def hot_periods(
    periods: Sequence[tuple[float, float]],
    *,
    profile: Sequence[float] = (),
    windows: Sequence[tuple[float, float]] = (),
    hot_share: float = 0.5,
) -> list[tuple[float, float]]:
    """The periods in which a spot is hot.

    With an hourly ``profile`` of its incidents: the periods holding at least ``hot_share`` of
    their even share of the shift's incidents (the busiest period at least). Without one, the
    periods that overlap its ``windows``; without either, every period.
    """
    if not periods:
        return []
    length = periods[-1][1] - periods[0][0]
    if profile:
        weights = np.asarray([_profile_weight(profile, lo, hi) for lo, hi in periods])
        total = float(weights.sum())
        if total > 0:
            even = np.asarray([(hi - lo) / length for lo, hi in periods])
            hot = [
                p
                for p, w, e in zip(periods, weights, even, strict=True)
                if w / total >= hot_share * e
            ]
            return hot or [periods[int(np.argmax(weights))]]
    if windows:
        return [(lo, hi) for lo, hi in periods if any(min(hi, b) > max(lo, a) for a, b in windows)]
    return list(periods)


def visits_that_fit(
    visits_per_spot: Sequence[int],
    *,
    working_s: float,
    dwell_s: float,
    share: float,
) -> int:
    """How many of the ranked spots get presence visits within ``share`` of the working time.

    ``visits_per_spot`` lists, best spot first, how many periods each is hot; a spot's visits
    cost its dwell plus a typical trip each. The rest of the time is for the key roads, tasks
    and patrol legs.
    """
    budget = share * working_s
    used = 0.0
    for count, visits in enumerate(visits_per_spot):
        used += visits * (dwell_s + _TRAVEL_PER_VISIT_S)
        if used > budget:
            return count
    return len(visits_per_spot)


def busiest_sweeps(
    geometries: Sequence[shapely.LineString],
    *,
    spots_lonlat: np.ndarray,
    spot_weights: np.ndarray,
    top: int,
    radius_m: float = 150.0,
) -> list[int]:
    """Indices of the ``top`` key-road pieces with the most hot-spot weight within
    ``radius_m`` (pieces with none are never busiest)."""
    if top <= 0 or not len(geometries) or not len(spot_weights):
        return []
    sx, sy = geocrs.to_metric(spots_lonlat[:, 0], spots_lonlat[:, 1])
    points = shapely.points(sx, sy)
    load = []
    for line in geometries:
        coords = shapely.get_coordinates(line)
        mx, my = geocrs.to_metric(coords[:, 0], coords[:, 1])
        metric = shapely.linestrings(np.column_stack([mx, my]))
        near = shapely.distance(metric, points) <= radius_m
        load.append(float(spot_weights[near].sum()))
    ranked = sorted(range(len(load)), key=lambda i: (-load[i], i))
    return [i for i in ranked[:top] if load[i] > 0]
