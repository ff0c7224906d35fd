"""Patrol legs fill the gaps of a solved plan without moving any visit."""

import itertools

import numpy as np
import pytest

from geo.patrol import PatrolProblem, PlanParams, Target, Unit, plan_patrols
from geo.patrollegs import PatrolLegParams, Waypoints, add_patrol_legs

H = 3600.0


def _line_problem():
    # Ten places on a line, 120 s apart; the unit starts and ends at place 0.
    xs = np.arange(10) * 120.0
    matrix = np.abs(xs[:, None] - xs[None, :])
    unit = Unit("u1", 0, 0, 8 * H, 10 * H, break_window=(9 * H, 9.5 * H), break_s=600)
    targets = (
        Target("a", 3, dwell_s=600, windows=((8.5 * H, 8.6 * H),)),
        Target("b", 6, dwell_s=600, windows=((9.6 * H, 9.7 * H),)),
    )
    problem = PatrolProblem((unit,), targets, {"default": matrix})
    plan = plan_patrols(problem, params=PlanParams(time_limit_s=30, solution_limit=10))
    waypoints = Waypoints(np.arange(1, 10, dtype=np.intp), np.linspace(1.0, 2.0, 9))
    return problem, plan, waypoints, matrix


def test_legs_fill_the_waiting_and_keep_every_visit_where_it_was():
    problem, plan, waypoints, matrix = _line_problem()
    filled = add_patrol_legs(problem, plan, waypoints={"u1": waypoints})
    before = {v.target_id: v for v in plan.route("u1").visits}
    after = filled.route("u1")
    legs = [v for v in after.visits if v.kind == "patrol"]
    assert legs, "the waiting before 08:30 and between the visits becomes patrol"
    for v in after.visits:
        if v.kind != "patrol":
            assert (v.start_s, v.departure_s) == (
                before[v.target_id].start_s,
                before[v.target_id].departure_s,
            )
    # Every leg is a real trip along the matrix, in time order, and nothing overlaps.
    here, t = 0, 8 * H
    for v in after.visits:
        assert v.arrival_s == pytest.approx(t + matrix[here, v.location])
        assert v.arrival_s <= v.start_s + 1e-6
        here, t = v.location, v.departure_s
    assert after.end_s == pytest.approx(t + matrix[here, 0])
    # The unit comes back within one leg's slack of the shift end, not hours early.
    assert 10 * H - PatrolLegParams().min_leg_s - 1e-6 <= after.end_s <= 10 * H
    assert after.wait_s < plan.route("u1").wait_s
    assert after.travel_s == pytest.approx(
        sum(
            matrix[a, b]
            for a, b in itertools.pairwise([0, *[(v.location) for v in after.visits], 0])
        )
    )


def test_the_break_is_taken_where_the_unit_came_back_to():
    problem, plan, waypoints, _ = _line_problem()
    filled = add_patrol_legs(problem, plan, waypoints={"u1": waypoints})
    visits = filled.route("u1").visits
    k = next(i for i, v in enumerate(visits) if v.kind == "break")
    original = next(v for v in plan.route("u1").visits if v.kind == "break")
    assert visits[k].location == original.location
    assert visits[k].start_s == original.start_s


def test_the_same_seed_gives_the_same_legs_and_another_seed_other_legs():
    problem, plan, waypoints, _ = _line_problem()

    def legs(seed):
        filled = add_patrol_legs(
            problem, plan, waypoints={"u1": waypoints}, params=PatrolLegParams(seed=seed)
        )
        return [v.location for v in filled.route("u1").visits if v.kind == "patrol"]

    assert legs(0) == legs(0)
    assert any(legs(seed) != legs(0) for seed in range(1, 4))


def test_units_without_waypoints_keep_their_routes():
    problem, plan, _, _ = _line_problem()
    assert add_patrol_legs(problem, plan, waypoints={}) == plan
