"""The vectorised insertion of geo._insertion, checked against brute force on random instances."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from geo._ils import _schedule_ok
from geo._insertion import Inserter
from geo._toptw import EngineInput, SearchKnobs, _prize_factor, solve_engine


def _instance(seed: int, *, units: int = 2, targets: int = 30, windows: int = 1) -> EngineInput:
    """A random TOPTW in ticks: Euclidean travel, dwell, one or more windows per target."""
    rng = np.random.default_rng(seed)
    nodes = 2 * units + targets
    xy = rng.uniform(0, 100, size=(nodes, 2))
    xy[: 2 * units] = 50.0  # every unit starts and ends at the depot
    travel = np.ceil(np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))).astype(
        np.int64
    )
    dwell = np.zeros(nodes, dtype=np.int64)
    dwell[2 * units :] = rng.integers(2, 10, targets)
    spans: list[list[tuple[int, int]]] = [[] for _ in range(2 * units)]
    for _ in range(targets):
        opens = np.sort(rng.integers(0, 300, windows))
        spans.append([(int(o), int(o) + int(rng.integers(20, 80))) for o in opens])
    return EngineInput(
        transit=[travel],
        dwell=dwell,
        windows=spans,
        unit_mode=[0] * units,
        unit_start=[0] * units,
        unit_end=[400] * units,
        breaks=[None] * units,
        groups=[([n], int(rng.integers(1, 10))) for n in range(2 * units, nodes)],
    )


def _fits_somewhere(data: EngineInput, routes: list[list[int]], node: int) -> bool:
    return any(
        _schedule_ok(data, u, [*route[:k], node, *route[k:]])
        for u, route in enumerate(routes)
        for k in range(len(route) + 1)
    )


@pytest.mark.parametrize(("seed", "windows"), [(0, 1), (1, 1), (2, 2), (3, 3)])
def test_a_fill_is_feasible_and_leaves_nothing_that_fits(seed: int, windows: int) -> None:
    data = _instance(seed, windows=windows)
    filled = Inserter(data).fill([[], []], rng=np.random.default_rng(seed), noise=0.3)
    assert filled is not None
    visited = [n for r in filled for n in r]
    assert len(visited) == len(set(visited)) > 0
    # Feasible by an independent earliest-start check, and maximal: no target left out fits.
    assert all(_schedule_ok(data, u, route) for u, route in enumerate(filled))
    left = set(range(4, len(data.dwell))) - set(visited)
    assert not [n for n in left if _fits_somewhere(data, filled, n)]


def test_the_slack_is_exactly_how_late_a_visit_may_start() -> None:
    data = _instance(4)
    inserter = Inserter(data)
    route = Inserter(data).fill([[], []])
    assert route is not None
    unit, visits = max(enumerate(route), key=lambda item: len(item[1]))
    timing = inserter.schedule(unit, visits)
    assert timing is not None
    _, slack = timing
    travel = data.transit[0]
    for k in range(1, len(visits) + 1):
        # A detour node that delays the arrival at visit k by exactly d ticks.
        def late_by(d: int, k: int = k) -> bool:
            extra = np.zeros_like(travel)
            extra[([2 * unit, *visits])[k - 1], ([2 * unit, *visits, 2 * unit + 1])[k]] = d
            shifted = dataclasses.replace(data, transit=[travel + extra])
            return _schedule_ok(shifted, unit, visits)

        assert late_by(int(slack[k]))
        assert not late_by(int(slack[k]) + 1)


def test_only_one_node_of_a_disjunction_and_only_allowed_units() -> None:
    base = _instance(5, targets=12)
    # Targets 4 and 5 are two directions of one sweep; unit 1 alone may visit 6.
    groups = [([4, 5], 50), *[([n], 1) for n in range(6, 16)]]
    allowed = [[] for _ in range(6)] + [[1]] + [[] for _ in range(9)]
    data = dataclasses.replace(base, groups=groups, allowed=allowed)
    filled = Inserter(data).fill([[], []])
    assert filled is not None
    visited = [n for r in filled for n in r]
    assert len({4, 5} & set(visited)) == 1
    assert 6 not in filled[0]


def test_an_infeasible_route_is_refused() -> None:
    data = _instance(6)
    late = max(range(4, len(data.dwell)), key=lambda n: data.windows[n][0][0])
    early = min(range(4, len(data.dwell)), key=lambda n: data.windows[n][0][1])
    assert Inserter(data).fill([[late, early], []]) is None


def test_the_cost_is_the_routing_objective() -> None:
    data = _instance(7)
    result = solve_engine(data, knobs=SearchKnobs(), time_limit_s=5.0, solution_limit=30, seed=0)
    assert Inserter(data).cost(result.routes, _prize_factor(data)) == result.objective


def test_the_search_is_reproducible_under_a_step_budget() -> None:
    data = _instance(8, units=3, targets=40)
    runs = [
        solve_engine(data, knobs=SearchKnobs(), time_limit_s=30.0, solution_limit=200, seed=3)
        for _ in range(2)
    ]
    assert runs[0].routes == runs[1].routes
    assert runs[0].solutions == 200
