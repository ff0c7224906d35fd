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
    lon, lat, when = (
        np.concatenate(parts) for parts in zip(stalls, market, background, strict=True)
    )
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
    spots = rank_hotspots(
        lon,
        lat,
        when,
        shift=SHIFTS["early"],
        weights=np.full(10, 2.0),
        labels=["C02"] * 7 + ["C01"] * 3,
        params=RankParams(top=1),
    )
    assert len(spots) == 1
    assert spots[0].priority == pytest.approx(20.0)
    assert spots[0].label == "C02"
    assert spots[0].windows[0][1] - spots[0].windows[0][0] >= 2 * 3600
    assert rank_hotspots(lon, lat, when, shift=SHIFTS["late"]) == []


def test_params_are_checked():
    with pytest.raises(ValueError, match="cell_m"):
        RankParams(cell_m=1.0)


def test_gi_hotspots_are_the_hot_cells_led_by_the_planted_ones():
    from geo.cells import grid_cells
    from geo.getisord import GiParams, getis_ord
    from geo.hotspots import gi_hotspots
    from geo.incidentfilter import local_times
    from geo.synthetic import PlantParams, plant_incidents
    from layers import bundled_pack_path, read_pack

    pack = read_pack(bundled_pack_path())
    planted = plant_incidents(
        pack.communities, roads=pack.key_roads, params=PlantParams(n=3000, seed=1)
    )
    incidents = planted.incidents
    cells = getis_ord(grid_cells(incidents, pack.communities), params=GiParams(seed=0))
    when = local_times(incidents["occurred_at"])
    seconds = (when.hour * 3600 + when.minute * 60 + when.second).to_numpy()
    spots = gi_hotspots(
        incidents["lon"],
        incidents["lat"],
        seconds,
        cells,
        shift=SHIFTS["late"],
        labels=incidents["category"],
    )
    hot = set(cells.loc[cells["gi_bin"] >= 1, "cell_id"])
    assert {s.spot_id for s in spots} <= hot
    assert set(planted.planted_cells) <= {s.spot_id for s in spots}
    top = [s.spot_id for s in spots[: len(planted.planted_cells)]]
    # Planted spots spill into neighbouring cells, which may rank high too; most lead.
    assert sum(cell in planted.planted_cells for cell in top) >= 0.75 * len(top)
    assert [s.priority for s in spots] == sorted((s.priority for s in spots), reverse=True)
    late = SHIFTS["late"]
    assert all(late[0] <= s.windows[0][0] < s.windows[0][1] <= late[1] for s in spots)
    # Only cells at 99 % confidence: a subset; and no hot cell at all gives no target.
    strict = gi_hotspots(incidents["lon"], incidents["lat"], seconds, cells, shift=late, min_bin=3)
    assert {s.spot_id for s in strict} <= {s.spot_id for s in spots}
    none_hot = cells.assign(gi_bin=0)
    assert gi_hotspots(incidents["lon"], incidents["lat"], seconds, none_hot, shift=late) == []
    with pytest.raises(ValueError, match="getis_ord"):
        gi_hotspots(incidents["lon"], incidents["lat"], seconds, cells[["cell_id"]], shift=late)
