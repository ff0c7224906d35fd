"""Road graphs: travel costs per mode and shift, snapping, components and subgraphs.

A :class:`RoadGraph` holds road pieces ("edges") between nodes in compact arrays: each edge is
stored once, two-way unless ``oneway`` (then it runs from ``u`` to ``v`` only), with its WGS84
geometry and a metric copy in EPSG:4547, whose length is the edge's ``length_m``. Costs per
mode come from :class:`SpeedParams` (class speeds, maxspeed caps, a factor per shift); each
(mode, weight, factor) gets a scipy CSR adjacency, built on first use and cached.

Points are snapped to the nearest *edge* open to the mode. A trip from a snapped point leaves
through either end of its edge, paying the partial length (only forwards on a one-way edge,
for modes that respect one-way), after an off-road access leg walked at the mode's access
speed. Matrices and route geometry over a graph are in :mod:`geo.travel`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from . import crs as geocrs
from ._roadreaders import EdgeTable, graphml_table, lines_table, osm_table
from .errors import RoadGraphError
from .speeds import MODES, ROAD_CLASSES, Mode, Shift, SpeedParams, road_class

__all__ = [
    "MODES",
    "ROAD_CLASSES",
    "Mode",
    "RoadGraph",
    "RoadGraphError",
    "Snapped",
    "SpeedParams",
    "component_labels",
    "from_lines",
    "largest_component",
    "read_graphml",
    "read_lines",
    "read_osm",
    "road_class",
]

Weight = Literal["time", "length"]
FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]


@dataclass(frozen=True)
class Snapped:
    """Points placed on a graph: on an edge (``edge >= 0``) or at a node (``node >= 0``).

    ``offset_m`` runs along the edge from its ``u`` end; ``lon, lat`` is the placed point and
    ``query_lon, query_lat`` the input; ``access_m`` is the off-road leg between them. Points
    not placed (beyond ``max_snap_m`` with ``on_far="flag"``) have ``ok`` False.
    """

    edge: IntArray
    node: IntArray
    offset_m: FloatArray
    fraction: FloatArray
    lon: FloatArray
    lat: FloatArray
    query_lon: FloatArray
    query_lat: FloatArray
    access_m: FloatArray
    ok: NDArray[np.bool_]
    mode: str | None = None

    def __len__(self) -> int:
        return len(self.edge)

    def take(self, index: ArrayLike) -> Snapped:
        """The points at ``index`` (an int, a slice-able array of positions or a mask)."""
        idx = np.atleast_1d(np.asarray(index))
        arrays = {k: getattr(self, k)[idx] for k in self.__dataclass_fields__ if k != "mode"}
        return Snapped(**arrays, mode=self.mode)


@dataclass(frozen=True, eq=False)
class RoadGraph:
    """A directed road graph in arrays; build it with a reader or :meth:`from_table`."""

    node_ids: NDArray[np.int64]
    lon: FloatArray
    lat: FloatArray
    x: FloatArray
    y: FloatArray
    u: IntArray
    v: IntArray
    length_m: FloatArray
    road_class: NDArray[np.object_]
    oneway: NDArray[np.bool_]
    name: NDArray[np.object_]
    maxspeed_kmh: FloatArray
    geometry: NDArray[np.object_]
    metric_geometry: NDArray[np.object_]
    speeds: SpeedParams = field(default_factory=SpeedParams)
    _cache: dict[tuple[Any, ...], Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_table(cls, table: EdgeTable, *, speeds: SpeedParams | None = None) -> RoadGraph:
        """Index an edge table: nodes sorted by id, lengths measured in EPSG:4547."""
        order = np.argsort(table.node_ids, kind="stable")
        ids = table.node_ids[order]
        lon, lat = table.node_lon[order], table.node_lat[order]
        u = np.searchsorted(ids, table.u).astype(np.intp)
        v = np.searchsorted(ids, table.v).astype(np.intp)
        coords, which = shapely.get_coordinates(table.geometry, return_index=True)
        firsts = np.r_[0, np.flatnonzero(np.diff(which)) + 1]
        lasts = np.r_[firsts[1:] - 1, len(which) - 1]
        # Edge ends sit exactly on their nodes, so paths stitched from edges have no gaps.
        coords[firsts] = np.column_stack([lon[u], lat[u]])
        coords[lasts] = np.column_stack([lon[v], lat[v]])
        geometry = np.asarray(shapely.linestrings(coords, indices=which), dtype=object)
        mx, my = geocrs.to_metric(coords[:, 0], coords[:, 1])
        metric = np.asarray(
            shapely.linestrings(np.column_stack([mx, my]), indices=which), dtype=object
        )
        x, y = geocrs.to_metric(lon, lat)
        return cls(
            node_ids=ids,
            lon=lon,
            lat=lat,
            x=x,
            y=y,
            u=u,
            v=v,
            length_m=np.asarray(shapely.length(metric), dtype=np.float64),
            road_class=table.road_class,
            oneway=table.oneway,
            name=table.name,
            maxspeed_kmh=table.maxspeed_kmh,
            geometry=geometry,
            metric_geometry=metric,
            speeds=speeds or SpeedParams(),
        )

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return len(self.node_ids)

    @property
    def n_edges(self) -> int:
        """Number of edges (each two-way street piece counted once)."""
        return len(self.u)

    def with_speeds(self, speeds: SpeedParams) -> RoadGraph:
        """The same graph with other speeds (and a fresh adjacency cache)."""
        return replace(self, speeds=speeds, _cache={})

    def node_index(self, ids: ArrayLike) -> IntArray:
        """Positions of node ids in the node arrays; raises on an unknown id."""
        wanted = np.atleast_1d(np.asarray(ids, dtype=np.int64))
        pos = np.minimum(np.searchsorted(self.node_ids, wanted), self.n_nodes - 1)
        bad = self.node_ids[pos] != wanted
        if bad.any():
            msg = f"Node id {int(wanted[bad][0])} is not in the graph."
            raise RoadGraphError(msg)
        return pos.astype(np.intp)

    def edge_cost(
        self, *, mode: str, weight: Weight = "time", shift: Shift = "early"
    ) -> FloatArray:
        """Cost of running each whole edge (seconds or metres), ``inf`` where closed."""
        key = ("cost", mode, weight, self.speeds.factor(mode, shift))
        if key not in self._cache:
            codes = np.asarray([ROAD_CLASSES.index(c) for c in self.road_class], dtype=np.intp)
            speed = self.speeds.class_speeds(mode)[codes]
            if self.speeds.cap_by_maxspeed:
                speed = np.fmin(speed, np.where(self.maxspeed_kmh > 0, self.maxspeed_kmh, np.nan))
            if weight == "length":
                cost = self.length_m.copy()
            else:
                cost = self.length_m / (speed / 3.6) * key[3]
            self._cache[key] = np.where(np.isfinite(speed), cost, np.inf)
        result: FloatArray = self._cache[key]
        return result

    def backward_open(self, *, mode: str) -> NDArray[np.bool_]:
        """Whether each edge may be run from ``v`` to ``u`` by ``mode`` (class permitting)."""
        if mode in self.speeds.oneway_modes:
            return ~self.oneway
        return np.ones(self.n_edges, dtype=bool)

    def adjacency(
        self, *, mode: str, weight: Weight = "time", shift: Shift = "early"
    ) -> tuple[csr_matrix, IntArray, NDArray[np.bool_]]:
        """CSR adjacency (cheapest of parallel edges, no self-loops).

        With the edge and its direction behind each stored entry; cached per (mode, weight,
        shift factor).
        """
        key = ("csr", mode, weight, self.speeds.factor(mode, shift))
        if key not in self._cache:
            cost = self.edge_cost(mode=mode, weight=weight, shift=shift)
            edges = np.arange(self.n_edges)
            fwd = np.isfinite(cost) & (self.u != self.v)
            bwd = fwd & self.backward_open(mode=mode)
            rows = np.r_[self.u[fwd], self.v[bwd]]
            cols = np.r_[self.v[fwd], self.u[bwd]]
            data = np.r_[cost[fwd], cost[bwd]]
            edge = np.r_[edges[fwd], edges[bwd]]
            forward = np.r_[np.ones(fwd.sum(), bool), np.zeros(bwd.sum(), bool)]
            # Keep the cheapest of parallel entries: scipy would sum duplicates otherwise.
            order = np.lexsort((data, cols, rows))
            rows, cols, data, edge, forward = (a[order] for a in (rows, cols, data, edge, forward))
            first = np.r_[True, (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])]
            rows, cols, data, edge, forward = (a[first] for a in (rows, cols, data, edge, forward))
            indptr = np.r_[0, np.cumsum(np.bincount(rows, minlength=self.n_nodes))]
            matrix = csr_matrix((data, cols, indptr), shape=(self.n_nodes, self.n_nodes))
            self._cache[key] = (matrix, edge, forward)
        result: tuple[csr_matrix, IntArray, NDArray[np.bool_]] = self._cache[key]
        return result

    def snap(
        self,
        lon: ArrayLike,
        lat: ArrayLike,
        *,
        mode: str | None = None,
        max_snap_m: float | None = None,
        on_far: Literal["raise", "flag"] = "raise",
    ) -> Snapped:
        """Place WGS84 points on their nearest edge (open to ``mode`` when given).

        Points farther than ``max_snap_m`` raise :class:`RoadGraphError`, or with
        ``on_far="flag"`` come back with ``ok`` False (and ``inf`` in every matrix).
        """
        lon_a, lat_a = geocrs.check_lonlat(lon, lat)
        lon_a, lat_a = lon_a.ravel(), lat_a.ravel()
        open_edges, tree = self._snap_tree(mode)
        px, py = geocrs.to_metric(lon_a, lat_a)
        points = shapely.points(px, py)
        hits = tree.query_nearest(points, max_distance=max_snap_m, all_matches=True)
        n = len(lon_a)
        # Equidistant edges (a point at a junction): the lowest edge index wins, so the answer
        # never depends on the tree's internal order.
        edge = np.full(n, np.iinfo(np.intp).max, dtype=np.intp)
        np.minimum.at(edge, hits[0], open_edges[hits[1]])
        ok = edge != np.iinfo(np.intp).max
        if not ok.all() and on_far == "raise":
            i = int(np.flatnonzero(~ok)[0])
            msg = (
                f"Point {i} ({lon_a[i]:.6f}, {lat_a[i]:.6f}) is more than {max_snap_m} m "
                f"from any road open to {mode or 'any mode'}: check its coordinates, raise "
                "max_snap_m, or pass on_far='flag'."
            )
            raise RoadGraphError(msg)
        edge = np.where(ok, edge, -1)
        geoms = self.metric_geometry[np.maximum(edge, 0)]
        offset = np.where(ok, shapely.line_locate_point(geoms, points), 0.0)
        on_edge = shapely.line_interpolate_point(geoms, offset)
        sx, sy = shapely.get_x(on_edge), shapely.get_y(on_edge)
        slon, slat = geocrs.from_metric(sx, sy)
        length = self.length_m[np.maximum(edge, 0)]
        fraction = np.divide(offset, length, out=np.zeros(n), where=length > 0)
        return Snapped(
            edge=edge,
            node=np.full(n, -1, dtype=np.intp),
            offset_m=offset,
            fraction=np.clip(fraction, 0.0, 1.0),
            lon=np.where(ok, slon, lon_a),
            lat=np.where(ok, slat, lat_a),
            query_lon=lon_a,
            query_lat=lat_a,
            access_m=np.where(ok, np.hypot(sx - px, sy - py), np.inf),
            ok=ok,
            mode=mode,
        )

    def snap_nodes(self, ids: ArrayLike) -> Snapped:
        """Node ids as endpoints for matrices and routes (no access leg)."""
        pos = self.node_index(ids)
        n = len(pos)
        zeros = np.zeros(n)
        return Snapped(
            edge=np.full(n, -1, dtype=np.intp),
            node=pos,
            offset_m=zeros,
            fraction=zeros,
            lon=self.lon[pos],
            lat=self.lat[pos],
            query_lon=self.lon[pos],
            query_lat=self.lat[pos],
            access_m=zeros,
            ok=np.ones(n, dtype=bool),
        )

    def _snap_tree(self, mode: str | None) -> tuple[IntArray, shapely.STRtree]:
        key = ("tree", mode)
        if key not in self._cache:
            if self.n_edges == 0:
                msg = "The road graph is empty: load a network with roads before snapping."
                raise RoadGraphError(msg)
            if mode is None:
                open_edges = np.arange(self.n_edges, dtype=np.intp)
            else:
                open_edges = np.flatnonzero(np.isfinite(self.edge_cost(mode=mode)))
            if len(open_edges) == 0:
                msg = f"No road in the graph is open to {mode}: check SpeedParams."
                raise RoadGraphError(msg)
            self._cache[key] = (open_edges, shapely.STRtree(self.metric_geometry[open_edges]))
        result: tuple[IntArray, shapely.STRtree] = self._cache[key]
        return result

    def subgraph(self, nodes: NDArray[np.bool_]) -> RoadGraph:
        """The graph restricted to a node mask (edges with both ends kept)."""
        keep = nodes[self.u] & nodes[self.v]
        new_pos = np.cumsum(nodes) - 1
        return RoadGraph(
            node_ids=self.node_ids[nodes],
            lon=self.lon[nodes],
            lat=self.lat[nodes],
            x=self.x[nodes],
            y=self.y[nodes],
            u=new_pos[self.u[keep]].astype(np.intp),
            v=new_pos[self.v[keep]].astype(np.intp),
            length_m=self.length_m[keep],
            road_class=self.road_class[keep],
            oneway=self.oneway[keep],
            name=self.name[keep],
            maxspeed_kmh=self.maxspeed_kmh[keep],
            geometry=self.geometry[keep],
            metric_geometry=self.metric_geometry[keep],
            speeds=self.speeds,
        )

    def edges_frame(self) -> gpd.GeoDataFrame:
        """Edges as a WGS84 GeoDataFrame (``u``/``v`` node ids, class, one-way, name, length)."""
        return gpd.GeoDataFrame(
            {
                "u": self.node_ids[self.u],
                "v": self.node_ids[self.v],
                "road_class": self.road_class,
                "oneway": self.oneway,
                "name": self.name,
                "length_m": self.length_m,
                "maxspeed_kmh": self.maxspeed_kmh,
            },
            geometry=gpd.GeoSeries(self.geometry, crs=geocrs.STORAGE_CRS),
        )


# -- loaders ---------------------------------------------------------------------------------


def read_graphml(path: str | Path, *, speeds: SpeedParams | None = None) -> RoadGraph:
    """Read an OSMnx GraphML file; lengths are re-measured in EPSG:4547 from the geometry."""
    return RoadGraph.from_table(graphml_table(path), speeds=speeds)


def read_osm(path: str | Path, *, speeds: SpeedParams | None = None) -> RoadGraph:
    """Read highways from an OSM extract (``.osm`` / ``.osm.pbf``), split at intersections."""
    return RoadGraph.from_table(osm_table(path), speeds=speeds)


def from_lines(
    frame: gpd.GeoDataFrame,
    *,
    class_column: str | None = "road_class",
    oneway_column: str | None = "oneway",
    name_column: str | None = "name_zh",
    snap_m: float = 1.0,
    speeds: SpeedParams | None = None,
) -> RoadGraph:
    """Build a graph from a line layer, noded where lines cross or touch.

    Ends within ``snap_m`` metres of another end or line are welded to it first, so streets
    digitized a little short still connect; wider gaps stay open. Class values may be road
    classes or OSM ``highway`` values; a missing column (``None``) means residential, two-way.
    """
    if not (math.isfinite(snap_m) and 0 <= snap_m <= 10):
        msg = f"Expected snap_m in [0, 10] metres, got {snap_m!r}."
        raise ValueError(msg)
    table = lines_table(
        frame,
        class_column=class_column,
        oneway_column=oneway_column,
        name_column=name_column,
        snap_m=snap_m,
    )
    return RoadGraph.from_table(table, speeds=speeds)


def read_lines(
    path: str | Path,
    *,
    layer: str | None = None,
    class_column: str | None = "road_class",
    oneway_column: str | None = "oneway",
    name_column: str | None = "name_zh",
    snap_m: float = 1.0,
    speeds: SpeedParams | None = None,
) -> RoadGraph:
    """Read a line layer (GeoJSON, GeoPackage) and build it with :func:`from_lines`."""
    frame = gpd.read_file(path, layer=layer)
    return from_lines(
        frame,
        class_column=class_column,
        oneway_column=oneway_column,
        name_column=name_column,
        snap_m=snap_m,
        speeds=speeds,
    )


# -- components ------------------------------------------------------------------------------


def component_labels(
    graph: RoadGraph, *, mode: str = "car", connection: Literal["strong", "weak"] = "strong"
) -> IntArray:
    """Component label per node over the edges open to ``mode``."""
    matrix = graph.adjacency(mode=mode, weight="length")[0]
    labels: IntArray = connected_components(matrix, directed=True, connection=connection)[1]
    return labels


def largest_component(
    graph: RoadGraph, *, mode: str = "car", connection: Literal["strong", "weak"] = "strong"
) -> RoadGraph:
    """The largest (strongly, by default) connected part of the graph for ``mode``."""
    if graph.n_nodes == 0:
        msg = "The road graph is empty: it has no component."
        raise RoadGraphError(msg)
    labels = component_labels(graph, mode=mode, connection=connection)
    return graph.subgraph(labels == np.argmax(np.bincount(labels)))
