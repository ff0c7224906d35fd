"""Route pool and set packing: the best plan made of the routes the search has already found.

Private to :mod:`geo._toptw`. Every descent of the iterated local search ends in a plan whose
routes are each feasible for their unit on their own (windows, shift, meal break: nothing ties
two routes together but the one-visit rule). Kept in a pool, they can be recombined: CP-SAT
(OR-Tools) picks at most one route per unit, no target twice, the mandatory targets once,
maximising the collected prize and then, at that prize, the travel saved (weighted per unit, as
the routing objective weighs it). A known strong last step for team orienteering (the
set-packing phase of route-pool methods): it finds the plan that takes the best route of one
search basin and the best of another. Routes move between
units that share a start, an end, a shift, a mode and a break, when the unit may visit every
target on it.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Final

from ortools.sat.python import cp_model

if TYPE_CHECKING:
    from ._toptw import EngineInput

__all__ = ["RoutePool"]

# Routes kept per class of units; the oldest go first (the search improves as it goes).
_MAX_ROUTES: Final = 4000


class RoutePool:
    """Distinct non-empty routes per class of interchangeable units."""

    def __init__(self, data: EngineInput) -> None:
        self._data = data
        units = len(data.unit_mode)
        signature: dict[tuple[object, ...], int] = {}
        self._class: list[int] = []
        for u in range(units):
            mode = data.unit_mode[u]
            key = (
                mode,
                data.unit_start[u],
                data.unit_end[u],
                data.breaks[u],
                data.transit[mode][2 * u].tobytes(),
                data.transit[mode][:, 2 * u + 1].tobytes(),
                data.weight_of(u),
            )
            self._class.append(signature.setdefault(key, len(signature)))
        self._routes: list[dict[tuple[int, ...], None]] = [{} for _ in signature]

    def add(self, routes: Sequence[Sequence[int]]) -> None:
        """Keep each unit's route of a plan."""
        for u, route in enumerate(routes):
            if not route:
                continue
            pool = self._routes[self._class[u]]
            pool[tuple(route)] = None
            if len(pool) > _MAX_ROUTES:
                del pool[next(iter(pool))]

    def __len__(self) -> int:
        return sum(len(p) for p in self._routes)

    def _travel(self, u: int, route: tuple[int, ...]) -> int:
        """The route's travel as the routing model prices it: ticks times the unit's weight."""
        data = self._data
        travel = data.transit[data.unit_mode[u]]
        weight = data.weight_of(u)
        path = [2 * u, *route, 2 * u + 1]
        # Rounded up per arc, as the model's weighted cost matrices are (geo._toptw._build).
        return int(sum(math.ceil(int(travel[a, b]) * weight) for a, b in itertools.pairwise(path)))

    def best(self, *, deterministic_s: float, seed: int) -> list[list[int]] | None:
        """The best set of pooled routes, one route at most per unit, or None (no answer)."""
        data = self._data
        units = len(data.unit_mode)
        prizes = [p if p is not None else 0 for _, p in data.groups]
        mandatory = [g for g, (_, p) in enumerate(data.groups) if p is None]
        model = cp_model.CpModel()
        chosen: dict[tuple[int, tuple[int, ...]], cp_model.IntVar] = {}
        by_group: dict[int, list[cp_model.IntVar]] = {}
        prize_terms, travel_terms = [], []
        for u in range(units):
            mine = []
            for route in self._routes[self._class[u]]:
                if not all(data.may_visit(u, n) for n in route):
                    continue
                var = model.new_bool_var(f"u{u}r{len(chosen)}")
                chosen[u, route] = var
                mine.append(var)
                for n in route:
                    by_group.setdefault(data.group_of[n], []).append(var)
                prize_terms.append(sum(prizes[data.group_of[n]] for n in route) * var)
                travel_terms.append(self._travel(u, route) * var)
            model.add_at_most_one(mine)
        for g, vars_ in by_group.items():
            if g in mandatory:
                model.add_exactly_one(vars_)
            else:
                model.add_at_most_one(vars_)
        if any(g not in by_group for g in mandatory):
            return None
        solver = cp_model.CpSolver()
        # One worker and a deterministic budget: the same pool gives the same answer.
        solver.parameters.num_workers = 1
        solver.parameters.random_seed = seed
        solver.parameters.max_deterministic_time = deterministic_s
        model.maximize(sum(prize_terms))
        if solver.solve(model) not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return None
        # At the best prize found, the least travel (the routing objective's tie-break).
        model.add(sum(prize_terms) >= round(solver.objective_value))
        model.minimize(sum(travel_terms))
        for var in chosen.values():
            model.add_hint(var, solver.value(var))
        if solver.solve(model) not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return None
        plan: list[list[int]] = [[] for _ in range(units)]
        for (u, route), var in chosen.items():
            if solver.value(var):
                plan[u] = list(route)
        return plan
