"""Unit recommendation by road travel time on the bundled Qingshuihe network."""

import numpy as np
import pytest

from geo.dispatch import RecommendParams, UnitPosition, recommend_units
from geo.roadgraph import read_lines
from geo.travel import travel_time_matrix
from layers import bundled_pack_path, read_pack


@pytest.fixture(scope="module")
def network():
    return read_lines(bundled_pack_path() / "roads.geojson")


@pytest.fixture(scope="module")
def spots():
    places = read_pack().places.set_index("place_id").geometry
    return [(p.x, p.y) for p in places.iloc[:8]]


def _units(spots):
    return [
        UnitPosition("w-car", "west", "car", *spots[0], age_s=30),
        UnitPosition("w-foot", "west", "foot", *spots[1], age_s=30),
        UnitPosition("w-ebike", "west", "ebike", *spots[2], age_s=600),
        UnitPosition("e-car", "east", "car", *spots[3], age_s=10),
        UnitPosition("e-foot", "east", "foot", *spots[4], age_s=10, available=False),
    ]


def test_own_squad_first_ranked_by_road_eta(network, spots):
    incident = spots[5]
    ranked = recommend_units(network, _units(spots), lon=incident[0], lat=incident[1], squad="west")
    assert set(ranked["squad"]) == {"west"}
    assert ranked["eta_s"].is_monotonic_increasing
    car = network.snap(np.array([spots[0][0]]), np.array([spots[0][1]]), mode="car")
    to = network.snap(np.array([incident[0]]), np.array([incident[1]]), mode="car")
    expected = travel_time_matrix(network, car, to, mode="car")[0, 0]
    assert ranked.set_index("unit_id").loc["w-car", "eta_s"] == pytest.approx(expected)
    assert ranked.set_index("unit_id").loc["w-ebike", "stale"]
    assert not ranked.set_index("unit_id").loc["w-car", "stale"]


def test_urgent_incidents_draw_on_both_squads_never_on_busy_units(network, spots):
    incident = spots[5]
    ranked = recommend_units(
        network, _units(spots), lon=incident[0], lat=incident[1], squad="west", urgent=True
    )
    assert set(ranked["unit_id"]) == {"w-car", "w-foot", "w-ebike", "e-car"}
    assert ranked["eta_s"].is_monotonic_increasing


def test_the_other_squad_helps_when_none_of_its_own_is_free(network, spots):
    units = [u for u in _units(spots) if u.squad == "east"]
    ranked = recommend_units(network, units, lon=spots[5][0], lat=spots[5][1], squad="west")
    assert ranked["unit_id"].tolist() == ["e-car"]
    assert not ranked["own_squad"].any()


def test_mode_filter_and_params():
    with pytest.raises(ValueError, match="stale_after_s"):
        RecommendParams(stale_after_s=0)
    with pytest.raises(ValueError, match="Unknown modes"):
        RecommendParams(modes=("horse",))
    with pytest.raises(ValueError, match="mode 'boat' unknown"):
        UnitPosition("u", "west", "boat", 114.1, 22.58, age_s=0)
