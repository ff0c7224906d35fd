"""Patrol dosage: a planned stop is visited when the track stays near it long enough."""

import numpy as np
import pytest

from geo import crs
from geo.dosage import DosageParams, PlannedVisit, patrol_dosage

X0, Y0 = 506_000.0, 2_497_500.0


def _track(points):
    """(t, x, y) in metres around X0, Y0 to (t, lon, lat)."""
    t, x, y = (np.asarray(v, dtype=float) for v in zip(*points, strict=True))
    lon, lat = crs.from_metric(x + X0, y + Y0)
    return t, lon, lat


def _visit(target_id, x, y, dwell=720.0):
    lon, lat = crs.from_metric(X0 + x, Y0 + y)
    return PlannedVisit(target_id, float(lon), float(lat), dwell)


def test_a_twelve_minute_stay_counts_a_drive_by_does_not():
    stay = [(60.0 * k, 5.0, 5.0) for k in range(13)]  # 12 minutes at the first stop
    drive = [(800.0 + 30 * k, 400.0 + 40 * k, 0.0) for k in range(20)]  # passes the second
    t, lon, lat = _track(stay + drive)
    out = patrol_dosage([_visit("a", 0, 0), _visit("b", 600, 0), _visit("c", 0, 2000)], t, lon, lat)
    assert out.loc["a", "visited"]
    assert out.loc["a", "stay_s"] == pytest.approx(720.0)
    assert out.loc["a", "arrived_s"] == 0.0
    assert not out.loc["b", "visited"]  # within 50 m, but only for a minute
    assert out.loc["b", "closest_m"] < 50
    assert not out.loc["c", "visited"]
    assert np.isnan(out.loc["c", "arrived_s"])


def test_a_long_gap_in_the_pings_breaks_the_stay_and_order_does_not_matter():
    pings = [(0.0, 0.0, 0.0), (60.0, 0.0, 0.0), (660.0, 0.0, 0.0), (720.0, 0.0, 0.0)]
    t, lon, lat = _track(pings)
    visit = [_visit("a", 0, 0)]
    gap = patrol_dosage(visit, t, lon, lat)
    assert not gap.loc["a", "visited"]  # 10 silent minutes prove nothing
    lenient = patrol_dosage(visit, t, lon, lat, params=DosageParams(max_gap_s=900))
    assert lenient.loc["a", "visited"]
    shuffled = patrol_dosage(
        visit, t[::-1], lon[::-1], lat[::-1], params=DosageParams(max_gap_s=900)
    )
    assert shuffled.equals(lenient)


def test_one_stay_proves_one_visit_at_a_shared_place():
    morning = [(60.0 * k, 0.0, 0.0) for k in range(13)]
    away = [(2000.0, 3000.0, 0.0)]
    later = [(7200.0 + 60.0 * k, 10.0, 0.0) for k in range(13)]
    t, lon, lat = _track(morning + away + later)
    spot = _visit("spot#1", 0, 0)
    twice = [
        PlannedVisit("spot#2", spot.lon, spot.lat, 720.0, start_s=7000.0),
        PlannedVisit("spot#1", spot.lon, spot.lat, 720.0, start_s=0.0),
        PlannedVisit("spot#3", spot.lon, spot.lat, 720.0, start_s=14000.0),
    ]
    out = patrol_dosage(twice, t, lon, lat)
    assert out["visited"].to_dict() == {"spot#2": True, "spot#1": True, "spot#3": False}
    assert out.loc["spot#1", "arrived_s"] == 0.0
    assert out.loc["spot#2", "arrived_s"] == 7200.0


def test_params_are_checked():
    with pytest.raises(ValueError, match="min_share"):
        DosageParams(min_share=0)
