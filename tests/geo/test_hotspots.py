"""Ranking incidents into hot spots: the busiest cells, placed on real incidents, with hours."""

import numpy as np
import pytest

from geo import crs
from geo.hotspots import RankParams, rank_hotspots
from geo.shiftplan import SHIFTS

X0, Y0 = 506_000.0, 2_497_500.0


def _cluster(rng, x, y, n, spread, hours):
    lon, lat = crs.from_metric(rng.normal(x, spread, n), rng.normal(y, spread, n))
    return lon, lat, rng.uniform(hours[0] * 3600, hours[1] * 3600, n)


def test_planted_clusters_come_first_with_their_hours():
    rng = np.random.default_rng(5)
    # A busy evening stall cluster, a smaller morning market, and scattered background.
    stalls = _cluster(rng, X0 + 75, Y0 + 75, 60, 20, (18, 22))
    market = _cluster(rng, X0 + 1075, Y0 + 375, 25, 20, (7, 9))
    bx, by = rng.uniform(X0 - 2000, X0 + 2000, 80), rng.uniform(Y0 - 2000, Y0 + 2000, 80)
    background = (*crs.from_metric(bx, by), rng.uniform(7 * 3600, 23 * 3600, 80))
    lon, lat, when = (np.concatenate(parts) for parts in zip(stalls, market, background,
                                                              strict=True))
    late = rank_hotspots(lon, lat, when, shift=SHIFTS["late"])
    assert late[0].priority >= 50
    assert late[0].windows[0][0] >= 17.5 * 3600
    assert late[0].windows[0][1] <= 22 * 3600
    early = rank_hotspots(lon, lat, when, shift=SHIFTS["early"])
    assert early[0].priority >= 20
    assert early[0].windows[0][1] <= 10 * 3600
    x, y = crs.to_metric(early[0].lon, early[0].lat)
    assert np.hypot(float(x) - (X0 + 1075), float(y) - (Y0 + 375)) < 60
    # The hot spot sits on one of the incidents, not on a cell corner.
    assert np.min(np.hypot(lon - early[0].lon, lat - early[0].lat)) == 0.0


def test_weights_labels_and_limits():
    rng = np.random.default_rng(1)
    lon, lat, when = _cluster(rng, X0 + 75, Y0 + 75, 10, 5, (8, 9))  # mid-cell
    spots = rank_hotspots(lon, lat, when, shift=SHIFTS["early"], weights=np.full(10, 2.0),
                          labels=["C02"] * 7 + ["C01"] * 3, params=RankParams(top=1))
    assert len(spots) == 1
    assert spots[0].priority == pytest.approx(20.0)
    assert spots[0].label == "C02"
    assert spots[0].windows[0][1] - spots[0].windows[0][0] >= 2 * 3600
    assert rank_hotspots(lon, lat, when, shift=SHIFTS["late"]) == []


def test_params_are_checked():
    with pytest.raises(ValueError, match="cell_m"):
        RankParams(cell_m=1.0)
