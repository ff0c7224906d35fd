"""Patrol planner: small hand-made instances whose optimum follows by reasoning, plus pr01."""

from __future__ import annotations

import numpy as np
import pytest

from geo.patrol import (
    InfeasiblePlanError,
    PatrolPlan,
    PatrolProblem,
    PlanParams,
    Target,
    Unit,
    plan_patrols,
    replan,
)
from tests.shared_data import shared_file

MIN = 60.0
# The solution_limit stops the search; the time limit is only a cap that no test comes near.
FAST = PlanParams(time_limit_s=60.0, solution_limit=30)


def line_matrix(xs: list[float], *, speed_s: float = MIN) -> np.ndarray:
    """Travel times between points on a line: ``speed_s`` seconds per unit of distance."""
    x = np.asarray(xs, dtype=float)
    return np.abs(x[:, None] - x[None, :]) * speed_s


def visited(plan: PatrolPlan) -> set[str]:
    return {v.target_id for r in plan.routes for v in r.visits if v.kind != "break"}


def test_line_picks_the_best_reachable_set() -> None:
    # Depot at 0; x = 1..5 to the right with prizes 5,1,1,1,1 and x = -3 with prize 4.
    # 8 minutes: right to 4 and back gives 5+1+1+1 = 8; left to -3 (6 min) plus 1 (2 min)
    # gives 4+5 = 9, the optimum.
    matrix = line_matrix([0, 1, 2, 3, 4, 5, -3])
    targets = tuple(
        Target(f"t{i}", i, priority=p) for i, p in zip(range(1, 7), [5, 1, 1, 1, 1, 4], strict=True)
    )
    unit = Unit("u1", 0, 0, 0.0, 8 * MIN)
    plan = plan_patrols(PatrolProblem((unit,), targets, {"default": matrix}), params=FAST)
    assert visited(plan) == {"t1", "t6"}
    assert plan.objective == pytest.approx(9)
    assert plan.route("u1").travel_s == pytest.approx(8 * MIN)
    assert {d.reason for d in plan.dropped} == {"no time"}


def test_time_window_waits_for_opening() -> None:
    matrix = line_matrix([0, 1, 2])
    targets = (
        Target("a", 1, dwell_s=60, windows=((10 * MIN, 12 * MIN),)),
        Target("b", 2, dwell_s=60),
    )
    unit = Unit("u1", 0, 0, 0.0, 30 * MIN)
    plan = plan_patrols(PatrolProblem((unit,), targets, {"default": matrix}), params=FAST)
    visits = {v.target_id: v for v in plan.route("u1").visits}
    assert set(visits) == {"a", "b"}
    assert 10 * MIN <= visits["a"].start_s <= 12 * MIN
    assert all(v.arrival_s <= v.start_s for v in visits.values())
    assert visits["a"].departure_s == visits["a"].start_s + 60


def test_mandatory_target_beats_prizes() -> None:
    # Going left to the mandatory target (prize 0) leaves no time for the prize-10 target.
    matrix = line_matrix([0, -4, 4])
    targets = (
        Target("must", 1, priority=0.0, mandatory=True, kind="inspection"),
        Target("rich", 2, priority=10.0),
    )
    unit = Unit("u1", 0, 0, 0.0, 8 * MIN)
    plan = plan_patrols(PatrolProblem((unit,), targets, {"default": matrix}), params=FAST)
    assert visited(plan) == {"must"}
    assert [d.target_id for d in plan.dropped] == ["rich"]


def test_alternatives_are_visited_once() -> None:
    # A road segment swept in either direction: locations 1 and 2 are its two ends.
    matrix = line_matrix([0, 1, 2, 3])
    targets = (
        Target("road", 1, alternatives=(2,), priority=3, kind="road"),
        Target("far", 3, priority=1),
    )
    unit = Unit("u1", 0, 0, 0.0, 60 * MIN)
    plan = plan_patrols(PatrolProblem((unit,), targets, {"default": matrix}), params=FAST)
    road = [v for v in plan.route("u1").visits if v.target_id == "road"]
    assert len(road) == 1
    assert road[0].location in (1, 2)
    assert plan.objective == pytest.approx(4)


def test_infeasible_mandatory_names_the_target() -> None:
    matrix = line_matrix([0, 10])
    targets = (Target("late-check", 1, mandatory=True, windows=((0.0, 5 * MIN),)),)
    unit = Unit("u1", 0, 0, 0.0, 60 * MIN)
    with pytest.raises(InfeasiblePlanError, match=r"late-check.*window missed"):
        plan_patrols(PatrolProblem((unit,), targets, {"default": matrix}), params=FAST)


def test_no_unit_and_bad_shift_raise() -> None:
    matrix = line_matrix([0, 10])
    with pytest.raises(InfeasiblePlanError, match="No unit on duty"):
        plan_patrols(PatrolProblem((), (Target("a", 1),), {"default": matrix}), params=FAST)
    short = Unit("short-shift", 0, 1, 0.0, 5 * MIN)  # needs 10 min from start to end
    with pytest.raises(InfeasiblePlanError, match="short-shift"):
        plan_patrols(PatrolProblem((short,), (), {"default": matrix}), params=FAST)


def test_validation_names_field_and_fix() -> None:
    with pytest.raises(ValueError, match="time_limit_s"):
        PlanParams(time_limit_s=0)
    with pytest.raises(ValueError, match="opens after it closes"):
        Target("x", 1, windows=((10.0, 5.0),))
    with pytest.raises(ValueError, match="mode 'car'"):
        PatrolProblem(
            (Unit("u", 0, 0, 0, 10, matrix_key="car"),), (), {"default": np.zeros((1, 1))}
        )


def test_drop_reasons() -> None:
    matrix = line_matrix([0, 1, 2, 3, 4])
    matrix[:, 2] = np.inf  # nothing reaches location 2
    targets = (
        Target("cut-off", 2, priority=5),
        Target("too-early", 3, priority=5, windows=((0.0, 1 * MIN),)),  # earliest arrival 3 min
        Target("busy-a", 1, priority=5, dwell_s=20 * MIN),
        Target("busy-b", 4, priority=4, dwell_s=20 * MIN),
        Target("evening", 4, priority=9, windows=((20 * 3600.0, 21 * 3600.0),)),  # after shift
    )
    unit = Unit("u1", 0, 0, 0.0, 30 * MIN)
    plan = plan_patrols(PatrolProblem((unit,), targets, {"default": matrix}), params=FAST)
    reasons = {d.target_id: d.reason for d in plan.dropped}
    assert reasons == {
        "cut-off": "unreachable",
        "too-early": "window missed",
        "busy-b": "no time",
        "evening": "window missed",
    }


def _two_unit_problem() -> PatrolProblem:
    rng = np.random.default_rng(3)
    xy = rng.uniform(0, 10, size=(16, 2))
    matrix = np.linalg.norm(xy[:, None] - xy[None, :], axis=2) * MIN
    targets = tuple(
        Target(f"t{i}", i, dwell_s=5 * MIN, priority=float(1 + i % 4)) for i in range(1, 16)
    )
    units = (Unit("u1", 0, 0, 0.0, 90 * MIN), Unit("u2", 0, 0, 0.0, 90 * MIN))
    return PatrolProblem(units, targets, {"default": matrix})


def test_same_seed_same_plan() -> None:
    problem = _two_unit_problem()
    first = plan_patrols(problem, params=FAST)
    second = plan_patrols(problem, params=FAST)
    assert first.routes == second.routes
    assert first.dropped == second.dropped


def test_replan_keeps_done_and_starts_from_position() -> None:
    problem = _two_unit_problem()
    plan = plan_patrols(problem, params=FAST)
    first = plan.route("u1").visits[0]
    now = first.departure_s
    new = replan(
        problem,
        plan,
        now_s=now,
        positions={"u1": first.location, "u2": 0},
        done={first.target_id},
        removed_units={"u2"},
        params=FAST,
    )
    route = new.route("u1")
    assert route.visits[0].target_id == first.target_id
    assert route.visits[0].done
    nxt = route.visits[1]
    travel = problem.travel["default"][first.location, nxt.location]
    assert nxt.arrival_s == pytest.approx(now + travel)
    assert [v.target_id for v in new.route("u2").visits] == []
    assert first.target_id not in {d.target_id for d in new.dropped}
    assert len(visited(new)) == len(set(visited(new)))


def test_break_inside_its_window() -> None:
    # Shift 07:00-15:00, a 30-minute meal break inside [12:00, 13:00].
    hour = 3600.0
    matrix = line_matrix([0, 1, 2, 3], speed_s=10 * MIN)
    targets = tuple(Target(f"t{i}", i, dwell_s=hour, priority=1) for i in (1, 2, 3))
    unit = Unit(
        "u1", 0, 0, 7 * hour, 15 * hour, break_window=(12 * hour, 13 * hour), break_s=30 * MIN
    )
    plan = plan_patrols(PatrolProblem((unit,), targets, {"default": matrix}), params=FAST)
    visits = plan.route("u1").visits
    breaks = [v for v in visits if v.kind == "break"]
    assert len(breaks) == 1
    assert 12 * hour <= breaks[0].start_s
    assert breaks[0].departure_s <= 13 * hour
    for v in visits:
        if v.kind != "break":  # no service overlaps the break
            assert v.departure_s <= breaks[0].start_s or v.start_s >= breaks[0].departure_s
    assert plan.route("u1").end_s <= 15 * hour


def test_a_target_limited_to_a_unit_is_served_by_it_only() -> None:
    # u1 sits on the target, u2 is three minutes away; only u2 may serve it.
    matrix = line_matrix([0, 3, 0])
    units = (Unit("u1", 0, 0, 0, 60 * MIN), Unit("u2", 1, 1, 0, 60 * MIN))
    target = Target("t", 2, dwell_s=5 * MIN, units=("u2",))
    plan = plan_patrols(PatrolProblem(units, (target,), {"default": matrix}), params=FAST)
    assert [v.target_id for v in plan.route("u2").visits] == ["t"]
    assert plan.route("u1").visits == ()
    with pytest.raises(ValueError, match=r"units \['u9'\] are not in the problem"):
        PatrolProblem(units, (Target("t", 2, units=("u9",)),), {"default": matrix})


def test_two_visits_of_one_spot_are_never_back_to_back() -> None:
    # Two period visits of spot s at x=1 and a target at x=2: the unit must go s, t, s
    # (or t in between) rather than s, s, however cheap staying would be.
    matrix = line_matrix([0, 1, 1, 2])
    targets = (
        Target("s#1", 1, dwell_s=MIN, spot="s"),
        Target("s#2", 2, dwell_s=MIN, spot="s"),
        Target("t", 3, dwell_s=MIN),
    )
    plan = plan_patrols(
        PatrolProblem((Unit("u1", 0, 0, 0, 60 * MIN),), targets, {"default": matrix}),
        params=FAST,
    )
    order = [v.target_id for v in plan.route("u1").visits]
    assert sorted(order) == ["s#1", "s#2", "t"]
    assert order[1] == "t"


def test_a_soft_floor_gives_every_unit_some_of_the_work() -> None:
    # Four targets by u1's base; u2 is five minutes away. Cheapest: u1 does all four. With a
    # floor of two targets each (worth 20 minutes of travel), u2 takes two.
    matrix = line_matrix([0, 5, 0.1, 0.2, 0.3, 0.4])
    targets = tuple(Target(f"t{k}", 2 + k, dwell_s=MIN) for k in range(4))

    def plan(floor: int):
        units = tuple(
            Unit(uid, at, at, 0, 60 * MIN, min_visits=floor, short_visit_cost_s=20 * MIN)
            for uid, at in (("u1", 0), ("u2", 1))
        )
        return plan_patrols(PatrolProblem(units, targets, {"default": matrix}), params=FAST)

    assert len(plan(0).route("u2").visits) == 0
    floored = plan(2)
    assert [len(floored.route(u).visits) for u in ("u1", "u2")] == [2, 2]


def test_the_fill_step_never_adds_a_sweeps_other_direction() -> None:
    from geo._ils import _fill
    from geo._toptw import EngineInput

    # One unit; node 2 and 3 are the two directions of one sweep, node 4 a plain target.
    transit = np.ones((5, 5), dtype=np.int64)
    data = EngineInput(
        transit=[transit],
        dwell=np.zeros(5, dtype=np.int64),
        windows=[[] for _ in range(5)],
        unit_mode=[0],
        unit_start=[0],
        unit_end=[100],
        breaks=[None],
        groups=[([2, 3], 10), ([4], 10)],
    )
    rng = np.random.default_rng(0)
    routes = _fill(data, [[2]], [3, 4], rng, tries=2)
    assert routes == [[2, 4]] or routes == [[4, 2]]


@pytest.mark.shared
def test_the_cordeau_reader_loads_the_depot_and_every_customer() -> None:
    from bench._instances import read_cordeau

    path = shared_file("bench", "toptw", "cordeau", "pr01.txt")
    rows = [line.split() for line in path.read_text().splitlines()[2:] if line.strip()]
    instance = read_cordeau(path, 1)
    # pr01's header says 48 customers; with the depot that is 49 nodes, the last one id 48.
    assert int(path.read_text().split()[2]) == 48
    assert len(instance.xy) == 49 == len(rows)
    assert instance.xy[-1].tolist() == [float(rows[-1][1]), float(rows[-1][2])]
    assert instance.close[-1] == float(rows[-1][-1])


@pytest.mark.shared
def test_cordeau_pr01_checked_independently() -> None:
    from bench._instances import check, gap_percent, read_cordeau
    from bench.toptw import to_problem

    # BKS 502 for two routes (../shared/bench/toptw/BKS_toptw.txt).
    instance = read_cordeau(
        shared_file("bench", "toptw", "cordeau", "pr01.txt"), 2, {"pr01-m2": 502.0}
    )
    plan = plan_patrols(
        to_problem(instance), params=PlanParams(time_limit_s=60.0, solution_limit=100)
    )
    routes = [[int(v.target_id) for v in r.visits] for r in plan.routes]
    result = check(instance, routes)
    assert result.ok, result.problem
    assert result.score == pytest.approx(plan.objective)
    assert gap_percent(instance, result.score) < 10.0


def test_the_route_pool_recombines_the_routes_of_different_plans() -> None:
    from geo._routepool import RoutePool
    from geo._toptw import EngineInput

    # Two identical units (nodes 0-3 their starts and ends) and three targets, prizes 5, 3, 4.
    data = EngineInput(
        transit=[np.ones((7, 7), dtype=np.int64)],
        dwell=np.zeros(7, dtype=np.int64),
        windows=[[] for _ in range(7)],
        unit_mode=[0, 0],
        unit_start=[0, 0],
        unit_end=[100, 100],
        breaks=[None, None],
        groups=[([4], 5), ([5], 3), ([6], 4)],
    )
    pool = RoutePool(data)
    pool.add([[4, 5], []])  # one plan: 8
    pool.add([[6], [5]])  # another: 7
    # The best plan uses the first plan's route and the second plan's other route: 12.
    best = pool.best(deterministic_s=1.0, seed=0)
    assert best is not None
    assert sorted(best) == [[4, 5], [6]]


def test_the_route_pool_weighs_travel_as_the_search_does() -> None:
    from geo._routepool import RoutePool
    from geo._toptw import EngineInput

    # A foot unit (weight 0.3) and a car (1.0) at the same place; three targets of equal prize.
    transit = np.full((7, 7), 10, dtype=np.int64)
    transit[4, 6] = transit[6, 5] = 20  # the foot unit's order is the longer one
    data = EngineInput(
        transit=[transit],
        dwell=np.zeros(7, dtype=np.int64),
        windows=[[] for _ in range(7)],
        unit_mode=[0, 0],
        unit_start=[0, 0],
        unit_end=[1000, 1000],
        breaks=[None, None],
        groups=[([4], 1), ([5], 1), ([6], 1)],
        travel_weight=[0.3, 1.0],
    )
    pool = RoutePool(data)
    pool.add([[4, 6, 5], []])  # 60 ticks on foot: weighted 18
    pool.add([[], [4, 5, 6]])  # 40 ticks by car: weighted 40
    # At equal prize the cheaper plan in the objective's terms is the walk, not the shorter ride.
    assert pool.best(deterministic_s=1.0, seed=0) == [[4, 6, 5], []]
