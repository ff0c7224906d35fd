"""Readers that turn road data into one edge table, for :mod:`geo.roadgraph`.

Three sources are read: an OSMnx GraphML file, an OSM extract (``.osm`` XML or ``.osm.pbf``,
read with pyosmium) and a line layer noded at its intersections. Each yields an
:class:`EdgeTable` of two-way or one-way road pieces in WGS84, their OSM ``highway`` values
folded into the classes of :mod:`geo.speeds`.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import geopandas as gpd
import numpy as np
import shapely
from numpy.typing import NDArray
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from . import crs as geocrs
from .errors import RoadGraphError
from .speeds import ROAD_CLASSES, road_class

__all__ = ["EdgeTable", "graphml_table", "lines_table", "osm_table"]


_ONEWAY_YES: Final = frozenset({"yes", "true", "1"})
_ONEWAY_REVERSE: Final = frozenset({"-1", "reverse"})
_MPH: Final = 1.609344
# Pieces whose ends lie this close (metres) after noding are the same node: the noder computes
# shared intersection points once, so real matches are bit-equal; this only absorbs rounding.
_NODE_MERGE_M: Final = 1e-3


def _maxspeed(value: object) -> float:
    """Parse an OSM ``maxspeed`` (``"40"``, ``"30 mph"``, a list) to km/h; NaN if none."""
    values = value if isinstance(value, list | tuple) else [value]
    speeds = []
    for item in values:
        match = re.match(r"\s*(\d+(?:\.\d+)?)\s*(mph)?", str(item))
        if match:
            speeds.append(float(match.group(1)) * (_MPH if match.group(2) else 1.0))
    # Several values (a simplified edge spanning signs): the lowest is the binding one.
    return min(speeds) if speeds else math.nan


def _text(value: object) -> str:
    if isinstance(value, list | tuple):
        return "/".join(dict.fromkeys(str(v) for v in value))
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)


@dataclass(frozen=True)
class EdgeTable:
    """Road pieces between graph nodes, WGS84; ``oneway`` pieces run from ``u`` to ``v`` only."""

    node_ids: NDArray[np.int64]
    node_lon: NDArray[np.float64]
    node_lat: NDArray[np.float64]
    u: NDArray[np.int64]  # node ids, not positions
    v: NDArray[np.int64]
    geometry: NDArray[np.object_]  # LineStrings from u to v
    road_class: NDArray[np.object_]
    oneway: NDArray[np.bool_]
    name: NDArray[np.object_]
    maxspeed_kmh: NDArray[np.float64]

    @classmethod
    def from_rows(
        cls, nodes: dict[int, tuple[float, float]], rows: Sequence[tuple[Any, ...]]
    ) -> EdgeTable:
        """Build from node positions and edge rows.

        Nodes are ``{id: (lon, lat)}``, rows ``(u, v, geometry, class, oneway, name, maxspeed)``.
        """
        if not rows:
            msg = (
                "The source holds no usable road: check that it has highway lines "
                "(OSM highway=* ways, or a line layer with a road class column)."
            )
            raise RoadGraphError(msg)
        ids = np.fromiter(nodes, dtype=np.int64, count=len(nodes))
        coords = np.asarray([nodes[i] for i in ids], dtype=np.float64).reshape(-1, 2)
        u, v, geometry, classes, oneway, name, maxspeed = zip(*rows, strict=True)
        return cls(
            node_ids=ids,
            node_lon=coords[:, 0],
            node_lat=coords[:, 1],
            u=np.asarray(u, dtype=np.int64),
            v=np.asarray(v, dtype=np.int64),
            geometry=np.asarray(geometry, dtype=object),
            road_class=np.asarray(classes, dtype=object),
            oneway=np.asarray(oneway, dtype=bool),
            name=np.asarray(name, dtype=object),
            maxspeed_kmh=np.asarray(maxspeed, dtype=np.float64),
        )


def graphml_table(path: str | Path) -> EdgeTable:
    """Read an OSMnx GraphML file (unprojected) into an edge table.

    OSMnx stores a two-way street as two directed edges with mirrored geometry; each such pair
    becomes one two-way piece, so a point snapped to the street lies on one edge.
    """
    import osmnx as ox  # imported here: osmnx is slow to import and only this reader needs it

    graph = ox.load_graphml(Path(path))
    crs = str(graph.graph.get("crs", "epsg:4326")).lower()
    if crs not in {"epsg:4326", "wgs84"}:
        msg = (
            f"{path} is projected ({crs}): save the unprojected graph "
            "(ox.project_graph(G, to_latlong=True)) and read that."
        )
        raise RoadGraphError(msg)
    nodes = {int(n): (float(d["x"]), float(d["y"])) for n, d in graph.nodes(data=True)}
    rows: list[tuple[Any, ...]] = []
    unmatched: dict[tuple[int, int, bytes], int] = {}
    for u, v, data in graph.edges(data=True):
        cls = road_class(data.get("highway"))
        if cls is None:
            continue
        geom = data.get("geometry") or shapely.LineString([nodes[int(u)], nodes[int(v)]])
        coords = shapely.get_coordinates(geom)
        oneway = bool(data.get("oneway", False))
        if not oneway:
            twin = unmatched.pop((int(v), int(u), coords[::-1].tobytes()), None)
            if twin is not None:
                continue  # the mirrored edge of a two-way piece already kept
            unmatched[(int(u), int(v), coords.tobytes())] = len(rows)
        rows.append(
            (
                int(u),
                int(v),
                geom,
                cls,
                oneway,
                _text(data.get("name")),
                _maxspeed(data.get("maxspeed")),
            )
        )
    return EdgeTable.from_rows(nodes, rows)


def _way_oneway(tags: dict[str, str], cls: str) -> int:
    """+1 forward only, -1 backward only, 0 both ways (OSM tagging conventions)."""
    value = tags.get("oneway", "").strip().lower()
    if value in _ONEWAY_YES:
        return 1
    if value in _ONEWAY_REVERSE:
        return -1
    if value == "no":
        return 0
    # Roundabouts and motorways are one-way by implication (OSM wiki: Key:oneway).
    return 1 if tags.get("junction") in {"roundabout", "circular"} or cls == "expressway" else 0


def osm_table(path: str | Path) -> EdgeTable:
    """Read highway ways from an OSM extract, split at shared nodes and at way ends."""
    import osmium  # imported here: only this reader needs the native extension

    ways: list[tuple[list[int], list[tuple[float, float]], dict[str, str], str]] = []
    nodes: dict[int, tuple[float, float]] = {}
    use: dict[int, int] = {}
    processor = (
        osmium.FileProcessor(str(path))
        .with_locations()
        .with_filter(osmium.filter.KeyFilter("highway"))
    )
    for obj in processor:
        if not isinstance(obj, osmium.osm.Way):
            continue
        tags = {tag.k: tag.v for tag in obj.tags}
        cls = road_class(tags.get("highway"))
        if cls is None or tags.get("area") == "yes" or len(obj.nodes) < 2:
            continue
        refs = [int(n.ref) for n in obj.nodes]
        coords = [(float(n.lon), float(n.lat)) for n in obj.nodes]
        ways.append((refs, coords, tags, cls))
        for ref, xy in zip(refs, coords, strict=True):
            nodes[ref] = xy
            use[ref] = use.get(ref, 0) + 1
    rows: list[tuple[Any, ...]] = []
    graph_nodes: dict[int, tuple[float, float]] = {}
    for refs, coords, tags, cls in ways:
        direction = _way_oneway(tags, cls)
        if direction < 0:
            refs, coords = refs[::-1], coords[::-1]
        cut = [i for i in range(1, len(refs) - 1) if use[refs[i]] > 1]
        bounds = [0, *cut, len(refs) - 1]
        for start, end in itertools.pairwise(bounds):
            u, v = refs[start], refs[end]
            graph_nodes[u], graph_nodes[v] = nodes[u], nodes[v]
            rows.append(
                (
                    u,
                    v,
                    shapely.LineString(coords[start : end + 1]),
                    cls,
                    direction != 0,
                    tags.get("name", ""),
                    _maxspeed(tags.get("maxspeed")),
                )
            )
    return EdgeTable.from_rows(graph_nodes, rows)


def _truthy(value: object) -> bool:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return False
    if isinstance(value, str):
        return value.strip().lower() in _ONEWAY_YES
    return bool(value)


def _column(frame: gpd.GeoDataFrame, column: str | None, default: object) -> list[Any]:
    if column is None:
        return [default] * len(frame)
    if column not in frame.columns:
        msg = f"The line layer has no column {column!r}: pass the right name or None."
        raise RoadGraphError(msg)
    return list(frame[column].to_numpy(dtype=object))


def lines_table(
    frame: gpd.GeoDataFrame,
    *,
    class_column: str | None,
    oneway_column: str | None,
    name_column: str | None,
    snap_m: float,
) -> EdgeTable:
    """Node a line layer: weld ends within ``snap_m``, split lines where they cross or touch."""
    if frame.crs is None:
        msg = "The line layer has no CRS: set it (frame.set_crs('EPSG:4326')) first."
        raise RoadGraphError(msg)
    frame = frame[~frame.geometry.is_empty & frame.geometry.notna()]
    classes = [road_class(c) for c in _column(frame, class_column, "residential")]
    bad = sorted(
        {
            str(c)
            for c, k in zip(_column(frame, class_column, ""), classes, strict=True)
            if k is None
        }
    )
    if bad:
        msg = (
            f"Unknown road class(es) {', '.join(bad)} in {class_column!r}: use one of "
            f"{', '.join(ROAD_CLASSES)} or an OSM highway value."
        )
        raise RoadGraphError(msg)
    oneway = [_truthy(o) for o in _column(frame, oneway_column, False)]
    names = [_text(n) for n in _column(frame, name_column, "")]
    metric = frame.geometry.to_crs(geocrs.METRIC_CRS).to_numpy()
    lines, owner = shapely.get_parts(metric, return_index=True)
    if len(lines) == 0 or not np.all(shapely.get_type_id(lines) == 1):
        msg = "The line layer must hold LineStrings or MultiLineStrings (and not be empty)."
        raise RoadGraphError(msg)
    lines = _weld_ends(np.asarray(lines, dtype=object), snap_m)
    pieces = np.asarray(shapely.get_parts(shapely.node(shapely.multilinestrings(lines))))
    pieces = pieces[shapely.length(pieces) > 0]
    # Each noded piece lies along the line it came from: find it by the piece's midpoint.
    mid = shapely.line_interpolate_point(pieces, 0.5, normalized=True)
    hits = shapely.STRtree(lines).query(mid, predicate="dwithin", distance=_NODE_MERGE_M)
    source = np.full(len(pieces), np.iinfo(np.intp).max, dtype=np.intp)
    np.minimum.at(source, hits[0], hits[1])
    source = np.where(source == np.iinfo(np.intp).max, 0, source)
    # The noder may flip a piece; one-way lines must keep their digitized direction.
    start = shapely.line_locate_point(lines[source], shapely.get_point(pieces, 0))
    end = shapely.line_locate_point(lines[source], shapely.get_point(pieces, -1))
    pieces = np.where(start > end, shapely.reverse(pieces), pieces)
    coords, which = shapely.get_coordinates(pieces, return_index=True)
    firsts = np.r_[0, np.flatnonzero(np.diff(which)) + 1]
    lasts = np.r_[firsts[1:] - 1, len(which) - 1]
    ends = np.concatenate([coords[firsts], coords[lasts]])
    node_of = _cluster(ends, _NODE_MERGE_M)
    n = len(pieces)
    lon, lat = geocrs.from_metric(coords[:, 0], coords[:, 1])
    wgs = np.asarray(shapely.linestrings(np.column_stack([lon, lat]), indices=which), dtype=object)
    node_lon, node_lat = geocrs.from_metric(ends[:, 0], ends[:, 1])
    nodes = {int(node_of[i]): (float(node_lon[i]), float(node_lat[i])) for i in range(2 * n)}
    feature = owner[source]
    rows = [
        (
            int(node_of[i]),
            int(node_of[n + i]),
            wgs[i],
            classes[feature[i]],
            oneway[feature[i]],
            names[feature[i]],
            math.nan,
        )
        for i in range(n)
    ]
    return EdgeTable.from_rows(nodes, rows)


def _cluster(points: NDArray[np.float64], radius: float) -> NDArray[np.intp]:
    """Label points so that points within ``radius`` (transitively) share a label."""
    pairs = cKDTree(points).query_pairs(radius, output_type="ndarray")
    n = len(points)
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    labels: NDArray[np.intp] = connected_components(graph, directed=False)[1]
    return labels


def _weld_ends(lines: NDArray[np.object_], snap_m: float) -> NDArray[np.object_]:
    """Weld line ends that lie within ``snap_m`` of each other or of a line.

    Ends within ``snap_m`` of each other move to one point, then lines that pass within
    ``snap_m`` of an end are pulled onto it, so T-junctions digitized a little short connect.
    """
    coords, which = shapely.get_coordinates(lines, return_index=True)
    firsts = np.r_[0, np.flatnonzero(np.diff(which)) + 1]
    lasts = np.r_[firsts[1:] - 1, len(which) - 1]
    end_rows = np.concatenate([firsts, lasts])
    labels = _cluster(coords[end_rows], snap_m)
    # Each cluster of ends moves to its first member, so the weld is order-independent per run.
    first_of = np.full(labels.max() + 1, -1, dtype=np.intp)
    for i in range(len(labels) - 1, -1, -1):
        first_of[labels[i]] = i
    coords[end_rows] = coords[end_rows][first_of[labels]]
    welded = np.asarray(shapely.linestrings(coords, indices=which), dtype=object)
    ends = np.asarray(shapely.points(np.unique(coords[end_rows], axis=0)), dtype=object)
    near = shapely.STRtree(ends).query(welded, predicate="dwithin", distance=snap_m)
    if near.shape[1] == 0:
        return welded
    order = np.argsort(near[0], kind="stable")
    hit, rank = np.unique(near[0][order], return_inverse=True)
    targets = shapely.multipoints(shapely.get_coordinates(ends[near[1][order]]), indices=rank)
    welded[hit] = shapely.snap(welded[hit], targets, snap_m)
    return welded
