"""Presence periods, hot periods from incident profiles, capacity, and the busiest key roads."""

import numpy as np
import pytest
import shapely

from geo.shifttargets import (
    busiest_sweeps,
    hot_periods,
    period_id,
    shift_periods,
    visits_that_fit,
)

H = 3600.0


def test_periods_count_back_from_the_shift_end():
    assert shift_periods((7 * H, 15 * H), period_s=2 * H) == [
        (7 * H, 9 * H),
        (9 * H, 11 * H),
        (11 * H, 13 * H),
        (13 * H, 15 * H),
    ]
    # A re-plan from 11:20 keeps the 13-15 period and the rest of 11-13.
    assert shift_periods((11 * H + 1200, 15 * H), period_s=2 * H) == [
        (11 * H + 1200, 13 * H),
        (13 * H, 15 * H),
    ]
    # A stub under a quarter of a period joins the next one.
    assert shift_periods((12 * H + 3000, 15 * H), period_s=2 * H) == [
        (12 * H + 3000, 15 * H),
    ]
    assert [period_id(p) for p in shift_periods((15 * H, 23 * H), period_s=2 * H)] == [
        "1700",
        "1900",
        "2100",
        "2300",
    ]


def test_a_spot_with_evening_incidents_is_hot_only_in_the_evening():
    periods = shift_periods((15 * H, 23 * H), period_s=2 * H)
    evening = [0.0] * 24
    evening[19] = evening[20] = 6.0
    assert hot_periods(periods, profile=evening) == [(19 * H, 21 * H)]
    even = [1.0] * 24
    assert hot_periods(periods, profile=even) == periods
    # Without a profile, the spot's windows decide; without either, every period.
    assert hot_periods(periods, windows=[(16 * H, 18 * H)]) == [(15 * H, 17 * H), (17 * H, 19 * H)]
    assert hot_periods(periods) == periods
    # No incident inside the shift: the busiest period anyway would be arbitrary, so every one.
    quiet = [0.0] * 24
    quiet[3] = 5.0
    assert hot_periods(periods, profile=quiet) == periods


def test_the_capacity_takes_spots_in_rank_order_until_the_share_is_used():
    # 4 units x 7.5 h, 55 % for presence = 59 400 s; a visit costs 12 + 6 minutes = 1 080 s.
    working = 4 * 7.5 * H
    assert visits_that_fit([4] * 20, working_s=working, dwell_s=720, share=0.55) == 13
    assert visits_that_fit([4] * 5, working_s=working, dwell_s=720, share=0.55) == 5
    assert visits_that_fit([4], working_s=working, dwell_s=720, share=0.0) == 0


def test_the_busiest_key_roads_are_those_nearest_the_hot_spots():
    near = shapely.LineString([(114.100, 22.580), (114.102, 22.580)])
    far = shapely.LineString([(114.120, 22.600), (114.122, 22.600)])
    middle = shapely.LineString([(114.110, 22.590), (114.112, 22.590)])
    spots = np.array([[114.101, 22.5805], [114.1005, 22.5801], [114.111, 22.5905]])
    weights = np.array([5.0, 3.0, 1.0])
    assert busiest_sweeps([far, middle, near], spots_lonlat=spots, spot_weights=weights, top=2) == [
        2,
        1,
    ]
    # A piece with no hot spot near is never among the busiest.
    assert busiest_sweeps([far], spots_lonlat=spots, spot_weights=weights, top=2) == []


@pytest.mark.parametrize("share", [-0.1, 1.5])
def test_capacity_shares_outside_zero_one_are_refused(share):
    from geo.shiftplan import ShiftParams

    with pytest.raises(ValueError, match="presence_share"):
        ShiftParams(presence_share=share)
