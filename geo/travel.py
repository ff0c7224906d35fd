"""Travel-time and distance matrices and route geometry over a :class:`~geo.roadgraph.RoadGraph`.

Matrices run one :func:`scipy.sparse.csgraph.dijkstra` from the unique start nodes and combine
the partial edges of snapped points with numpy; unreachable pairs are ``np.inf``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra
from shapely.ops import substring

from . import crs as geocrs
from .errors import RoadGraphError
from .roadgraph import FloatArray, IntArray, RoadGraph, Snapped, Weight
from .speeds import Shift, check_mode

__all__ = ["Route", "distance_matrix", "route", "travel_time_matrix"]


@dataclass(frozen=True)
class Route:
    """A path between two points: node ids passed, WGS84 geometry, metres and seconds.

    ``edges`` lists the full edges traversed (indices into the graph) and ``forward`` whether
    each was run from ``u`` to ``v``; the partial first and last edges are in the geometry.
    """

    nodes: NDArray[np.int64]
    edges: IntArray
    forward: NDArray[np.bool_]
    geometry: shapely.LineString
    length_m: float
    time_s: float


def _endpoints(graph: RoadGraph, points: Snapped | ArrayLike, mode: str) -> Snapped:
    if not isinstance(points, Snapped):
        return graph.snap_nodes(points)
    if points.mode is not None and points.mode != mode:
        msg = (
            f"Points were snapped for {points.mode} but the query is for {mode}: snap them "
            f"with mode={mode!r} (edges closed to {mode} cannot be left)."
        )
        raise RoadGraphError(msg)
    return points


def _options(
    graph: RoadGraph, pts: Snapped, cost: FloatArray, mode: str, *, leaving: bool
) -> tuple[IntArray, FloatArray]:
    """Two (node, cost) ways to leave (or reach) each point: through either end of its edge."""
    n = len(pts)
    nodes = np.zeros((n, 2), dtype=np.intp)
    costs = np.full((n, 2), np.inf)
    at_node = pts.node >= 0
    nodes[at_node] = pts.node[at_node, None]
    costs[at_node, 0] = 0.0
    on = np.flatnonzero(pts.edge >= 0)
    e, f = pts.edge[on], pts.fraction[on]
    c = cost[e]
    fwd = np.isfinite(c)
    bwd = fwd & graph.backward_open(mode=mode)[e]
    finite_c = np.where(fwd, c, 0.0)
    # Leaving: forwards to v (pay the rest), backwards to u (pay the part behind).
    # Reaching: arrive from u forwards (pay the part before), from v backwards (the rest).
    # A point sitting on an end node is at that node, whatever the edge allows.
    to_v, to_u = (fwd, bwd) if leaving else (bwd, fwd)
    nodes[on, 0], nodes[on, 1] = graph.u[e], graph.v[e]
    costs[on, 0] = np.where(to_u | (f == 0.0), f * finite_c, np.inf)
    costs[on, 1] = np.where(to_v | (f == 1.0), (1.0 - f) * finite_c, np.inf)
    return nodes, costs


def _same_edge(
    graph: RoadGraph, o: Snapped, d: Snapped, cost: FloatArray, mode: str
) -> tuple[IntArray, IntArray, FloatArray]:
    """Direct trips between points on the same edge, without touching a node."""
    i, j = np.nonzero((o.edge[:, None] == d.edge[None, :]) & (o.edge[:, None] >= 0))
    e = o.edge[i]
    delta = d.fraction[j] - o.fraction[i]
    allowed = np.isfinite(cost[e]) & ((delta >= 0) | graph.backward_open(mode=mode)[e])
    direct = np.where(allowed, np.abs(delta) * np.where(np.isfinite(cost[e]), cost[e], 0), np.inf)
    return i, j, direct


def _access_cost(graph: RoadGraph, pts: Snapped, mode: str, weight: Weight) -> FloatArray:
    if weight == "length":
        return pts.access_m
    return pts.access_m / (graph.speeds.access_kmh[mode] / 3.6)


def _matrix(
    graph: RoadGraph,
    origins: Snapped | ArrayLike,
    destinations: Snapped | ArrayLike | None,
    mode: str,
    weight: Weight,
    shift: Shift,
    limit: float | None,
) -> FloatArray:
    check_mode(mode)
    o = _endpoints(graph, origins, mode)
    d = o if destinations is None else _endpoints(graph, destinations, mode)
    if graph.n_nodes == 0:
        msg = "The road graph is empty: load a network with roads first."
        raise RoadGraphError(msg)
    cost = graph.edge_cost(mode=mode, weight=weight, shift=shift)
    matrix = graph.adjacency(mode=mode, weight=weight, shift=shift)[0]
    o_nodes, o_cost = _options(graph, o, cost, mode, leaving=True)
    d_nodes, d_cost = _options(graph, d, cost, mode, leaving=False)
    result = np.full((len(o), len(d)), np.inf)
    reach = np.inf if limit is None else limit
    if len(d) < len(o):
        # Few destinations (a unit recommendation: many units, one incident): search backwards
        # from them on the reversed graph, one search per destination end instead of per origin.
        targets, cols = np.unique(d_nodes, return_inverse=True)
        back = dijkstra(matrix.T.tocsr(), directed=True, indices=targets, limit=reach)
        cols = cols.reshape(d_nodes.shape)
        for q in range(2):
            block = back[cols[:, q]]
            for p in range(2):
                np.minimum(
                    result,
                    block[:, o_nodes[:, p]].T + o_cost[:, p, None] + d_cost[None, :, q],
                    out=result,
                )
    else:
        sources, rows = np.unique(o_nodes, return_inverse=True)
        dist = dijkstra(matrix, directed=True, indices=sources, limit=reach)
        rows = rows.reshape(o_nodes.shape)
        for p in range(2):
            block = dist[rows[:, p]]
            for q in range(2):
                np.minimum(
                    result,
                    block[:, d_nodes[:, q]] + o_cost[:, p, None] + d_cost[None, :, q],
                    out=result,
                )
    i, j, direct = _same_edge(graph, o, d, cost, mode)
    result[i, j] = np.minimum(result[i, j], direct)
    result += _access_cost(graph, o, mode, weight)[:, None]
    result += _access_cost(graph, d, mode, weight)[None, :]
    # A trip to the very same (snappable) spot costs nothing: no walk to the road and back.
    result[
        (o.query_lon[:, None] == d.query_lon)
        & (o.query_lat[:, None] == d.query_lat)
        & o.ok[:, None]
        & d.ok
    ] = 0.0
    if limit is not None:
        result[result > limit] = np.inf
    return result


def travel_time_matrix(
    graph: RoadGraph,
    origins: Snapped | ArrayLike,
    destinations: Snapped | ArrayLike | None = None,
    *,
    mode: str,
    shift: Shift = "early",
    limit_s: float | None = None,
) -> FloatArray:
    """Fastest travel times in seconds, origins by destinations.

    Parameters
    ----------
    graph
        The road graph.
    origins, destinations
        :class:`Snapped` points (snapped with this ``mode`` or none) or node ids; destinations
        default to the origins.
    mode
        ``"foot"``, ``"ebike"`` or ``"car"``.
    shift
        A shift name in ``graph.speeds.shift_factors`` or a travel-time factor.
    limit_s
        Stop searching beyond this many seconds; farther pairs are ``inf``.

    Returns
    -------
    numpy.ndarray
        Seconds including access legs; ``np.inf`` where no path exists (or beyond the limit).
    """
    return _matrix(graph, origins, destinations, mode, "time", shift, limit_s)


def distance_matrix(
    graph: RoadGraph,
    origins: Snapped | ArrayLike,
    destinations: Snapped | ArrayLike | None = None,
    *,
    mode: str,
    limit_m: float | None = None,
) -> FloatArray:
    """Shortest distances in metres over the edges open to ``mode``.

    One-way as the mode obeys it, access legs included; ``np.inf`` where unreachable. See
    :func:`travel_time_matrix` for the parameters.
    """
    return _matrix(graph, origins, destinations, mode, "length", 1.0, limit_m)


def _one(graph: RoadGraph, point: Snapped | tuple[float, float] | int, mode: str) -> Snapped:
    if isinstance(point, Snapped):
        if len(point) != 1:
            msg = f"Expected one point for a route, got {len(point)}: use .take(i)."
            raise RoadGraphError(msg)
        return _endpoints(graph, point, mode)
    if isinstance(point, tuple):
        return graph.snap([point[0]], [point[1]], mode=mode)
    return graph.snap_nodes([point])


def route(
    graph: RoadGraph,
    origin: Snapped | tuple[float, float] | int,
    destination: Snapped | tuple[float, float] | int,
    *,
    mode: str,
    shift: Shift = "early",
    weight: Weight = "time",
) -> Route:
    """The best path between two points (a ``(lon, lat)`` pair, a node id or one snapped point).

    ``weight="time"`` gives the fastest path, whose ``time_s`` equals the travel-time matrix
    entry; ``weight="length"`` the shortest, whose ``length_m`` equals the distance matrix.
    Raises :class:`RoadGraphError` when the destination cannot be reached.
    """
    o, d = _one(graph, origin, mode), _one(graph, destination, mode)
    cost = graph.edge_cost(mode=mode, weight=weight, shift=shift)
    matrix, entry_edge, entry_fwd = graph.adjacency(mode=mode, weight=weight, shift=shift)
    o_nodes, o_cost = _options(graph, o, cost, mode, leaving=True)
    d_nodes, d_cost = _options(graph, d, cost, mode, leaving=False)
    dist, pred = dijkstra(matrix, directed=True, indices=o_nodes[0], return_predecessors=True)
    totals = dist[:, d_nodes[0]] + o_cost[0][:, None] + d_cost[0][None, :]
    p, q = (int(k) for k in np.unravel_index(np.argmin(totals), totals.shape))
    best = float(totals[p, q])
    _, _, direct = _same_edge(graph, o, d, cost, mode)
    if len(direct) and direct[0] <= best:
        best, p, q = float(direct[0]), -1, -1
    if not math.isfinite(best):
        msg = (
            f"No {mode} route from ({o.query_lon[0]:.6f}, {o.query_lat[0]:.6f}) to "
            f"({d.query_lon[0]:.6f}, {d.query_lat[0]:.6f}): they lie in parts of the network "
            "not connected for this mode (see largest_component)."
        )
        raise RoadGraphError(msg)
    path: list[int] = []
    if p >= 0:
        node = int(d_nodes[0, q])
        while node >= 0:
            path.append(node)
            node = int(pred[p, node])
        path.reverse()
    edges, forward = _path_edges(matrix, entry_edge, entry_fwd, path)
    pieces = [np.column_stack(geocrs.to_metric(o.query_lon, o.query_lat))]
    start, end = float(o.offset_m[0]), float(d.offset_m[0])
    length = float(o.access_m[0] + d.access_m[0])
    time_cost = graph.edge_cost(mode=mode, weight="time", shift=shift)
    time = float(_access_cost(graph, o, mode, "time")[0] + _access_cost(graph, d, mode, "time")[0])
    if p < 0:  # along one edge, no node in between
        e = int(o.edge[0])
        legs = [(e, start, end)]
    else:
        legs = []
        if o.edge[0] >= 0:
            legs.append((int(o.edge[0]), start, 0.0 if p == 0 else graph.length_m[o.edge[0]]))
        legs += [
            (int(e), 0.0, float(graph.length_m[e]))
            if f
            else (int(e), float(graph.length_m[e]), 0.0)
            for e, f in zip(edges, forward, strict=True)
        ]
        if d.edge[0] >= 0:
            legs.append((int(d.edge[0]), 0.0 if q == 0 else graph.length_m[d.edge[0]], end))
    for e, a, b in legs:
        piece = substring(graph.metric_geometry[e], min(a, b), max(a, b))
        xy = shapely.get_coordinates(piece)
        pieces.append(xy[::-1] if a > b else xy)
        share = abs(b - a) / graph.length_m[e] if graph.length_m[e] > 0 else 0.0
        length += abs(b - a)
        time += share * float(time_cost[e])
    pieces.append(np.column_stack(geocrs.to_metric(d.query_lon, d.query_lat)))
    xy = np.concatenate(pieces)
    keep = np.r_[True, np.any(np.diff(xy, axis=0) != 0, axis=1)]
    xy = xy[keep] if keep.sum() >= 2 else np.vstack([xy[:1], xy[:1]])
    lon, lat = geocrs.from_metric(xy[:, 0], xy[:, 1])
    return Route(
        nodes=graph.node_ids[np.asarray(path, dtype=np.intp)],
        edges=edges,
        forward=forward,
        geometry=shapely.LineString(np.column_stack([lon, lat])),
        length_m=length,
        time_s=time,
    )


def _path_edges(
    matrix: csr_matrix, entry_edge: IntArray, entry_fwd: NDArray[np.bool_], path: list[int]
) -> tuple[IntArray, NDArray[np.bool_]]:
    """The stored edge (and its direction) behind each step of a node path."""
    steps = np.asarray(path, dtype=np.intp)
    a, b = steps[:-1], steps[1:]
    pos = np.asarray(
        [
            matrix.indptr[i]
            + np.searchsorted(matrix.indices[matrix.indptr[i] : matrix.indptr[i + 1]], j)
            for i, j in zip(a, b, strict=True)
        ],
        dtype=np.intp,
    )
    return entry_edge[pos], entry_fwd[pos]
