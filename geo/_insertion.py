"""Vectorised cheapest-ratio insertion for the team orienteering problem with time windows.

Private to :mod:`geo._ils`. An OR-Tools descent costs about 0.3 s on a 288-customer instance,
so the iterated local search could afford only 20-40 ruin-and-recreate steps in 10 s. The
recreate step here costs milliseconds instead: each route keeps its earliest-start schedule and,
per visit, the *slack* (how much later its arrival may be without breaking any later window or
the shift end: wait plus max-shift, Vansteenwegen et al. 2009), so whether an unvisited target
fits between two visits, and at what cost in time, is one array expression over every target and
every gap of the route. The greedy step inserts the target with the best prize² / time-shift
ratio until none fits; OR-Tools descents then polish the plans this finds (2-opt, relocate,
cross, swap-active), which insertion alone never reorders.

Breaks are not modelled here: :mod:`geo._ils` only uses this engine when no unit has
a meal break and the objective is prize and travel alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from ._toptw import EngineInput

__all__ = ["Inserter"]

_NEVER = np.iinfo(np.int64).max // 4


class Inserter:
    """Schedules, slack and greedy insertion over the routes of one :class:`EngineInput`."""

    def __init__(self, data: EngineInput) -> None:
        self._data = data
        units = len(data.unit_mode)
        nodes = len(data.dwell)
        self._units = units
        self._dwell = data.dwell.astype(np.int64)
        self._dwell_list = [int(d) for d in self._dwell]
        self._transit = [np.asarray(t, dtype=np.int64) for t in data.transit]
        self._transit_list = [t.tolist() for t in self._transit]
        horizon = max(data.unit_end)
        width = max([1, *(len(w) for w in data.windows)])
        # Windows padded to one width; a target without windows may start any time in the
        # horizon. Clipped to the horizon as the routing model clips them.
        lo = np.full((nodes, width), _NEVER, dtype=np.int64)
        hi = np.full((nodes, width), -1, dtype=np.int64)
        self._windows: list[list[tuple[int, int]]] = []
        for node in range(nodes):
            wins = data.windows[node] if node < len(data.windows) else []
            usable = sorted(
                (max(0, o), min(horizon, c)) for o, c in wins if max(0, o) <= min(horizon, c)
            )
            if not wins:
                usable = [(0, horizon)]
            self._windows.append(usable)
            for k, (o, c) in enumerate(usable):
                lo[node, k], hi[node, k] = o, c
        self._lo, self._hi = lo, hi
        factor_free = [p for _, p in data.groups if p is not None]
        mandatory = float(sum(factor_free) + 1)
        prize = np.zeros(nodes)
        group = np.full(nodes, -1)
        for g, (members, penalty) in enumerate(data.groups):
            for n in members:
                prize[n] = mandatory if penalty is None else float(penalty)
                group[n] = g
        self._prize_sq = prize**2
        self._group = group
        self._members = [np.asarray(m, dtype=np.int64) for m, _ in data.groups]
        targets = np.arange(2 * units, nodes)
        reachable = np.array([bool(self._windows[n]) for n in targets], dtype=bool)
        self._targets = targets[reachable & (group[targets] >= 0)]
        self._allowed = np.ones((units, nodes), dtype=bool)
        for node, units_allowed in enumerate(data.allowed):
            if units_allowed:
                self._allowed[:, node] = False
                self._allowed[units_allowed, node] = True

    def schedule(self, unit: int, route: list[int]) -> tuple[np.ndarray, np.ndarray] | None:
        """Earliest service starts and slack along ``[start, *route, end]``, or None (infeasible).

        The slack of a visit is how much later its arrival may be while every later visit keeps
        a window (the one it uses now: conservative with several windows) and the route ends in
        the shift.
        """
        data = self._data
        travel = self._transit_list[data.unit_mode[unit]]
        dwell = self._dwell_list
        path = [2 * unit, *route, 2 * unit + 1]
        size = len(path)
        start = [0] * size
        close = [0] * size
        wait = [0] * size
        t = data.unit_start[unit]
        start[0] = close[0] = t
        for i in range(1, size):
            prev, node = path[i - 1], path[i]
            arrive = start[i - 1] + dwell[prev] + travel[prev][node]
            if i == size - 1:
                if arrive > data.unit_end[unit]:
                    return None
                start[i], close[i] = arrive, data.unit_end[unit]
                continue
            for lo, hi in self._windows[node]:
                if arrive <= hi:
                    start[i], close[i], wait[i] = max(arrive, lo), hi, max(0, lo - arrive)
                    break
            else:
                return None
        slack = [0] * size
        slack[-1] = close[-1] - start[-1]
        for i in range(size - 2, 0, -1):
            slack[i] = wait[i] + min(close[i] - start[i], slack[i + 1])
        return np.asarray(start, dtype=np.int64), np.asarray(slack, dtype=np.int64)

    def _best_gaps(
        self, unit: int, route: list[int], timing: tuple[np.ndarray, np.ndarray], nodes: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per candidate node: the least time shift over the route's gaps and the gap (or -1)."""
        if nodes.size == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        start, slack = timing
        travel = self._transit[self._data.unit_mode[unit]]
        path = np.asarray([2 * unit, *route, 2 * unit + 1], dtype=np.int64)
        prev, nxt = path[:-1], path[1:]
        leave = start[:-1] + self._dwell[prev]
        arrive = leave[None, :] + travel[prev][:, nodes].T
        begin = np.full(arrive.shape, _NEVER, dtype=np.int64)
        for k in range(self._lo.shape[1]):
            lo = self._lo[nodes, k][:, None]
            hi = self._hi[nodes, k][:, None]
            fits = (arrive <= hi) & (begin == _NEVER)
            begin = np.where(fits, np.maximum(arrive, lo), begin)
        later = begin + self._dwell[nodes][:, None] + travel[nodes][:, nxt]
        shift = later - (leave + travel[prev, nxt])[None, :]
        ok = (begin < _NEVER) & (shift <= slack[1:][None, :])
        shift = np.where(ok, shift, _NEVER)
        gap = np.argmin(shift, axis=1)
        best = shift[np.arange(nodes.size), gap]
        return best, np.where(best < _NEVER, gap, -1)

    def fill(
        self,
        routes: list[list[int]],
        *,
        rng: np.random.Generator | None = None,
        noise: float = 0.0,
    ) -> list[list[int]] | None:
        """Insert unvisited targets by best prize² / time-shift until none fits.

        ``noise`` scales each target's ratio by a random factor in ``1 +- noise`` (drawn once per
        call from ``rng``), so repeated fills of the same ruin try different orders.
        Returns the filled routes, or None when a given route is itself infeasible.
        """
        routes = [list(r) for r in routes]
        units = self._units
        timings = []
        for u, route in enumerate(routes):
            timing = self.schedule(u, route)
            if timing is None:
                return None
            timings.append(timing)
        served = {int(self._group[n]) for r in routes for n in r}
        open_ = np.ones(len(self._group), dtype=bool)
        for g in served:
            open_[self._members[g]] = False
        candidates = self._targets[open_[self._targets]]
        # ratio[u, k] for candidate k in route u (-inf where it does not fit), gap[u, k].
        ratio = np.full((units, candidates.size), -np.inf)
        gaps = np.full((units, candidates.size), -1, dtype=np.int64)
        weight = self._prize_sq[candidates]
        if rng is not None and noise > 0:
            weight = weight * (1.0 + noise * (2.0 * rng.random(candidates.size) - 1.0))

        def evaluate(u: int) -> None:
            mask = open_[candidates] & self._allowed[u, candidates]
            ratio[u] = -np.inf
            gaps[u] = -1
            where = np.flatnonzero(mask)
            shift, gap = self._best_gaps(u, routes[u], timings[u], candidates[where])
            fits = gap >= 0
            ratio[u, where[fits]] = weight[where[fits]] / np.maximum(shift[fits], 1)
            gaps[u, where] = gap

        for u in range(units):
            evaluate(u)
        while candidates.size:
            flat = int(np.argmax(ratio))
            u, k = divmod(flat, candidates.size)
            if ratio[u, k] == -np.inf:
                break
            node = int(candidates[k])
            routes[u].insert(int(gaps[u, k]), node)
            timing = self.schedule(u, routes[u])
            assert timing is not None  # the slack test guarantees it
            timings[u] = timing
            open_[self._members[self._group[node]]] = False
            closed = ~open_[candidates]
            ratio[:, closed] = -np.inf
            evaluate(u)
        return routes

    def cost(self, routes: list[list[int]], prize_factor: int) -> int:
        """The routing objective of these routes: dropped prize x factor + weighted travel."""
        data = self._data
        served = {int(self._group[n]) for r in routes for n in r}
        total = 0
        for g, (_, penalty) in enumerate(data.groups):
            if g not in served:
                total += (
                    penalty * prize_factor
                    if penalty is not None
                    else (sum(p for _, p in data.groups if p is not None) + 1) * prize_factor
                )
        for u, route in enumerate(routes):
            travel = self._transit[data.unit_mode[u]]
            path = np.asarray([2 * u, *route, 2 * u + 1], dtype=np.int64)
            arcs = travel[path[:-1], path[1:]]
            total += int(np.ceil(arcs * data.weight_of(u)).sum())
        return total
