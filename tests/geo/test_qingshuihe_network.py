"""The bundled Qingshuihe road network is one connected, usable graph for every mode."""

import numpy as np
import pytest

from geo.roadgraph import read_lines
from geo.travel import route, travel_time_matrix
from layers import bundled_pack_path, read_pack


@pytest.fixture(scope="module")
def network():
    return read_lines(bundled_pack_path() / "roads.geojson")


@pytest.fixture(scope="module")
def pack():
    return read_pack()


@pytest.mark.parametrize("mode", ["foot", "ebike", "car"])
def test_every_station_and_place_is_reachable_from_every_base(network, pack, mode):
    points = [*pack.stations.geometry, *pack.places.geometry]
    snapped = network.snap([p.x for p in points], [p.y for p in points], mode=mode)
    # Everything sits by a road or path; hill parks are reached on foot from the road's end.
    assert snapped.access_m.max() < (200.0 if mode == "foot" else 1500.0)
    times = travel_time_matrix(network, snapped, mode=mode, shift="late")
    assert np.isfinite(times).all()
    np.testing.assert_array_equal(np.diag(times), 0.0)
    assert times.max() < 3 * 3600  # nothing in one sub-district is hours away


def test_modes_rank_by_speed_and_late_shift_is_slower(network, pack):
    base = pack.stations.geometry.iloc[0]
    metric = pack.places.to_crs("EPSG:4547").geometry
    far = pack.places.geometry.iloc[
        int(np.argmax(metric.distance(pack.stations.to_crs("EPSG:4547").geometry.iloc[0])))
    ]
    times = {}
    for mode in ("foot", "ebike", "car"):
        snapped = network.snap([base.x, far.x], [base.y, far.y], mode=mode)
        times[mode] = float(
            travel_time_matrix(network, snapped.take([0]), snapped.take([1]), mode=mode)[0, 0]
        )
    assert times["foot"] > times["ebike"] > times["car"] > 0
    snapped = network.snap([base.x, far.x], [base.y, far.y], mode="car")
    early = route(network, snapped.take([0]), snapped.take([1]), mode="car", shift="early")
    late = route(network, snapped.take([0]), snapped.take([1]), mode="car", shift="late")
    assert late.time_s > early.time_s
    assert late.length_m == pytest.approx(early.length_m)
