"""Resolve geotagged points to their community, squad and key road.

A :class:`Jurisdiction` is built once per layer version (communities and key roads in EPSG:4326)
and then resolves arrays of points in bulk. It answers, for every point:

- the community that *covers* it (points on a boundary are covered by both sides; the tie-break
  is the community with the lowest code, so the answer never depends on input order);
- the squad responsible: the key road's squad when the point lies within ``key_road_m`` of a key
  road's centreline (road-surface problems are the enforcement team's, the plan says), else the
  community's squad;
- the distance to the nearest community boundary, exact up to ``boundary_search_m`` (NaN
  beyond), and ``near_boundary`` when it is under ``near_boundary_m``, so a dispatcher confirms;
- for points outside every community: ``outside`` and the nearest community with its distance,
  never a silent guess.

Speed comes from a lookup grid laid over the layer in lon/lat. A cell that no boundary crosses
lies wholly in one community (or wholly outside), so its points are answered by one array index;
only points in cells a boundary crosses go to an exact shapely query. Each cell also keeps a lower
bound of its distance to the nearest boundary and key road (a Euclidean distance transform of the
rasterized lines), so the metric nearest-segment queries run only where the answer can be near.
All distances are computed in EPSG:4547.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Final

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import ArrayLike, NDArray
from scipy import ndimage

from . import crs as geocrs

__all__ = ["Jurisdiction", "ResolveParams", "resolve"]

_OUTSIDE: Final = -1
_MIXED: Final = -2
# Safety factor on the grid's distance bounds: the degree grid is not exactly square in metres
# and EPSG:4547 has a small scale error; 2 % covers both for any extent of a city.
_BOUND_SLACK: Final = 0.98
_TARGET_CELLS: Final = 600_000
# Long boundary and road edges are split so each STRtree leaf stays small.
_SEGMENT_MAX_M: Final = 40.0


@dataclass(frozen=True, slots=True)
class ResolveParams:
    """Distances (metres) that govern a resolution.

    Parameters
    ----------
    key_road_m
        A point this close to a key road's centreline is on that road; its squad answers.
    near_boundary_m
        A point this close to a community boundary is flagged for the dispatcher to confirm.
    boundary_search_m
        The boundary distance is computed exactly up to this distance and NaN beyond it.
    cell_m
        Size of the lookup grid's cells; ``None`` picks one from the layer's extent.
    """

    key_road_m: float = 15.0
    near_boundary_m: float = 30.0
    boundary_search_m: float = 100.0
    cell_m: float | None = None

    def __post_init__(self) -> None:
        for name in ("key_road_m", "near_boundary_m", "boundary_search_m"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                msg = f"Expected {name} to be a finite distance >= 0 metres, got {value!r}."
                raise ValueError(msg)
        if self.boundary_search_m < self.near_boundary_m:
            msg = (
                f"Expected boundary_search_m ({self.boundary_search_m}) >= near_boundary_m "
                f"({self.near_boundary_m}): the flag needs the distance."
            )
            raise ValueError(msg)
        if self.cell_m is not None and not (1.0 <= self.cell_m <= 1000.0):
            msg = f"Expected cell_m in [1, 1000] metres or None, got {self.cell_m!r}."
            raise ValueError(msg)


@dataclass(frozen=True, slots=True)
class _Grid:
    lon0: float
    lat0: float
    dlon: float
    dlat: float
    shape: tuple[int, int]  # (rows = lat, cols = lon)
    cell_class: NDArray[np.int32]  # community index, _OUTSIDE or _MIXED
    boundary_lb: NDArray[np.float32]  # lower bound (m) to any community boundary
    road_lb: NDArray[np.float32]  # lower bound (m) to any key road
    nearest: NDArray[np.int32]  # nearest community of an outside cell (grid estimate)
    nearest_m: NDArray[np.float32]  # its distance from the cell centre (grid estimate)

    def locate(
        self, lon: NDArray[np.float64], lat: NDArray[np.float64]
    ) -> tuple[NDArray[np.intp], NDArray[np.bool_]]:
        col = np.floor((lon - self.lon0) / self.dlon)
        row = np.floor((lat - self.lat0) / self.dlat)
        rows, cols = self.shape
        inside = (col >= 0) & (col < cols) & (row >= 0) & (row < rows)
        flat = np.where(inside, row * cols + col, 0).astype(np.intp)
        return flat, inside

    def centres(self, flat: NDArray[np.intp]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        rows, cols = np.divmod(flat, self.shape[1])
        return self.lon0 + (cols + 0.5) * self.dlon, self.lat0 + (rows + 0.5) * self.dlat


@dataclass(frozen=True, slots=True)
class _SegmentIndex:
    """Segments (metric) listed per grid cell.

    A cell lists every segment that may lie within ``radius`` of some point of the cell. A query
    is then pure numpy: gather, measure, take the minimum.
    """

    radius: float
    x0: NDArray[np.float64]
    y0: NDArray[np.float64]
    dx: NDArray[np.float64]
    dy: NDArray[np.float64]
    owner: NDArray[np.int32]
    cell_row: NDArray[np.int32]  # grid cell -> row in offsets, -1 when it lists nothing
    offsets: NDArray[np.int64]
    segment_ids: NDArray[np.int32]

    @classmethod
    def build(
        cls,
        segments: NDArray[np.object_],
        owner: NDArray[np.intp],
        grid: _Grid,
        cells: NDArray[np.intp],
        radius: float,
        cell_w_m: float,
        cell_h_m: float,
    ) -> _SegmentIndex:
        coords = shapely.get_coordinates(segments).reshape(-1, 2, 2)
        cell_row = np.full(grid.shape[0] * grid.shape[1], -1, dtype=np.int32)
        offsets = np.zeros(len(cells) + 1, dtype=np.int64)
        segment_ids = np.zeros(0, dtype=np.int32)
        if len(segments) and len(cells):
            lon, lat = grid.centres(cells)
            cx, cy = geocrs.to_metric(lon, lat)
            # Half the cell plus the radius, with slack for the grid's small rotation in 4547.
            hw = (cell_w_m / 2.0 + radius) / _BOUND_SLACK + 1.0
            hh = (cell_h_m / 2.0 + radius) / _BOUND_SLACK + 1.0
            boxes = shapely.box(cx - hw, cy - hh, cx + hw, cy + hh)
            pairs = shapely.STRtree(segments).query(boxes)
            order = np.lexsort((pairs[1], pairs[0]))
            counts = np.bincount(pairs[0], minlength=len(cells))
            offsets[1:] = np.cumsum(counts)
            segment_ids = pairs[1][order].astype(np.int32)
            cell_row[cells] = np.arange(len(cells), dtype=np.int32)
        return cls(
            radius=radius,
            x0=coords[:, 0, 0],
            y0=coords[:, 0, 1],
            dx=coords[:, 1, 0] - coords[:, 0, 0],
            dy=coords[:, 1, 1] - coords[:, 0, 1],
            owner=owner.astype(np.int32),
            cell_row=cell_row,
            offsets=offsets,
            segment_ids=segment_ids,
        )

    def nearest(
        self, flat: NDArray[np.intp], x: NDArray[np.float64], y: NDArray[np.float64]
    ) -> tuple[NDArray[np.float64], NDArray[np.int32]]:
        """Distance to and owner of the nearest segment within the radius (NaN, -1 if none).

        Equidistant segments resolve to the lowest owner, so ties never depend on order.
        """
        n = len(flat)
        dist = np.full(n, np.nan)
        owner = np.full(n, -1, dtype=np.int32)
        rows = self.cell_row[flat]
        has = rows >= 0
        counts = np.where(has, self.offsets[rows + 1] - self.offsets[np.maximum(rows, 0)], 0)
        total = int(counts.sum())
        if total == 0:
            return dist, owner
        point = np.repeat(np.arange(n), counts)
        group_start = np.cumsum(counts) - counts
        within = np.arange(total) - np.repeat(group_start, counts)
        seg = self.segment_ids[np.repeat(self.offsets[np.maximum(rows, 0)], counts) + within]
        px = x[point] - self.x0[seg]
        py = y[point] - self.y0[seg]
        dx, dy = self.dx[seg], self.dy[seg]
        length2 = dx * dx + dy * dy
        t = np.clip(
            np.divide(px * dx + py * dy, length2, out=np.zeros_like(px), where=length2 > 0),
            0.0,
            1.0,
        )
        d = np.hypot(px - t * dx, py - t * dy)
        # Pairs come grouped by point, so per-point minima are segment reductions, no sort.
        points_with = np.flatnonzero(counts)
        starts = group_start[points_with]
        best = np.minimum.reduceat(d, starts)
        # Equidistant segments: the lowest owner wins, so ties never depend on input order.
        tied_owner = np.where(
            d <= np.repeat(best, counts[points_with]), self.owner[seg], np.iinfo(np.int32).max
        )
        best_owner = np.minimum.reduceat(tied_owner, starts)
        ok = best <= self.radius
        dist[points_with[ok]] = best[ok]
        owner[points_with[ok]] = best_owner[ok]
        return dist, owner


def _segments(
    lines: NDArray[np.object_], owners: NDArray[np.intp]
) -> tuple[NDArray[np.object_], NDArray[np.intp]]:
    """Split (multi)lines into two-point segments, remembering which feature each came from."""
    lines = shapely.segmentize(lines, _SEGMENT_MAX_M)
    parts, part_idx = shapely.get_parts(lines, return_index=True)
    coords, coord_idx = shapely.get_coordinates(parts, return_index=True)
    same_part = coord_idx[:-1] == coord_idx[1:]
    starts = coords[:-1][same_part]
    ends = coords[1:][same_part]
    segs = np.asarray(shapely.linestrings(np.stack([starts, ends], axis=1)), dtype=object)
    return segs, np.asarray(owners[part_idx[coord_idx[:-1][same_part]]], dtype=np.intp)


def _rasterize(
    lines: NDArray[np.object_],
    lon0: float,
    lat0: float,
    dlon: float,
    dlat: float,
    shape: tuple[int, int],
) -> NDArray[np.bool_]:
    """Mark every cell a line passes through (sampled at a quarter cell, then grown by one)."""
    marked = np.zeros(shape, dtype=bool)
    if len(lines) == 0:
        return marked
    dense = shapely.segmentize(lines, min(dlon, dlat) / 4.0)
    coords = shapely.get_coordinates(dense)
    col = np.floor((coords[:, 0] - lon0) / dlon).astype(np.intp)
    row = np.floor((coords[:, 1] - lat0) / dlat).astype(np.intp)
    ok = (col >= 0) & (col < shape[1]) & (row >= 0) & (row < shape[0])
    marked[row[ok], col[ok]] = True
    # A line grazing a cell corner between two samples can touch a cell no sample fell in.
    grown: NDArray[np.bool_] = ndimage.binary_dilation(
        marked, structure=np.ones((3, 3), dtype=bool)
    )
    return grown


def _distance_lower_bound(
    marked: NDArray[np.bool_], cell_w_m: float, cell_h_m: float
) -> NDArray[np.float32]:
    if not marked.any():
        return np.full(marked.shape, np.inf, dtype=np.float32)
    dist: NDArray[np.float64] = ndimage.distance_transform_edt(
        ~marked, sampling=(cell_h_m, cell_w_m)
    )
    diagonal = math.hypot(cell_w_m, cell_h_m)
    return np.maximum(dist * _BOUND_SLACK - diagonal, 0.0).astype(np.float32)


def _check_columns(frame: gpd.GeoDataFrame, columns: tuple[str, ...], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        msg = (
            f"{what} lacks column(s) {', '.join(missing)}; read it with layers.read_pack or "
            "add them."
        )
        raise ValueError(msg)


@dataclass(frozen=True, eq=False)
class Jurisdiction:
    """A resolution index over one layer version; build it with :meth:`build`."""

    codes: NDArray[np.object_]
    names: NDArray[np.object_]
    community_squads: NDArray[np.object_]
    road_ids: NDArray[np.object_]
    road_names: NDArray[np.object_]
    road_squads: NDArray[np.object_]
    squads: NDArray[np.object_]
    params: ResolveParams
    _tree: shapely.STRtree = field(repr=False)
    _metric_polygons: shapely.STRtree = field(repr=False)
    _grid: _Grid = field(repr=False)
    _boundaries: _SegmentIndex = field(repr=False)
    _roads: _SegmentIndex = field(repr=False)

    @classmethod
    def build(
        cls,
        communities: gpd.GeoDataFrame,
        key_roads: gpd.GeoDataFrame | None = None,
        *,
        params: ResolveParams | None = None,
    ) -> Jurisdiction:
        """Index communities and key roads.

        Communities need ``code``, ``name_zh`` and ``squad``, key roads ``road_id``, ``name_zh``
        and ``squad``; both in any CRS (EPSG:4326 expected).
        """
        params = params or ResolveParams()
        _check_columns(communities, ("code", "name_zh", "squad"), "communities")
        if len(communities) == 0:
            msg = "communities is empty: a jurisdiction needs at least one community polygon."
            raise ValueError(msg)
        communities = communities.to_crs(geocrs.STORAGE_CRS).sort_values("code", kind="stable")
        if key_roads is None or len(key_roads) == 0:
            key_roads = gpd.GeoDataFrame(
                {"road_id": [], "name_zh": [], "squad": []},
                geometry=gpd.GeoSeries([], crs=geocrs.STORAGE_CRS),
            )
        _check_columns(key_roads, ("road_id", "name_zh", "squad"), "key_roads")
        # Sorted so that ties between equidistant roads never depend on file order.
        key_roads = key_roads.to_crs(geocrs.STORAGE_CRS).sort_values("road_id", kind="stable")

        polygons = np.asarray(communities.geometry.values, dtype=object)
        shapely.prepare(polygons)
        codes = communities["code"].astype(str).to_numpy(dtype=object)
        community_squads = communities["squad"].astype(str).to_numpy(dtype=object)
        road_squads = key_roads["squad"].astype(str).to_numpy(dtype=object)
        squads = np.asarray(sorted(set(community_squads) | set(road_squads)), dtype=object)

        grid, cell_w_m, cell_h_m = _build_grid(
            polygons, np.asarray(key_roads.geometry.values, dtype=object), params
        )
        metric_polys = np.asarray(communities.to_crs(geocrs.METRIC_CRS).geometry.values)
        boundary_segs, boundary_owner = _segments(
            shapely.boundary(metric_polys), np.arange(len(metric_polys), dtype=np.intp)
        )
        metric_roads = np.asarray(key_roads.to_crs(geocrs.METRIC_CRS).geometry.values)
        road_segs, road_owner = _segments(metric_roads, np.arange(len(metric_roads), dtype=np.intp))
        boundaries = _SegmentIndex.build(
            boundary_segs,
            boundary_owner,
            grid,
            np.flatnonzero(grid.boundary_lb <= params.boundary_search_m),
            params.boundary_search_m,
            cell_w_m,
            cell_h_m,
        )
        roads = _SegmentIndex.build(
            road_segs,
            road_owner,
            grid,
            np.flatnonzero(grid.road_lb <= params.key_road_m),
            params.key_road_m,
            cell_w_m,
            cell_h_m,
        )
        return cls(
            codes=codes,
            names=communities["name_zh"].astype(str).to_numpy(dtype=object),
            community_squads=community_squads,
            road_ids=key_roads["road_id"].astype(str).to_numpy(dtype=object),
            road_names=key_roads["name_zh"].astype(str).to_numpy(dtype=object),
            road_squads=road_squads,
            squads=squads,
            params=params,
            _tree=shapely.STRtree(polygons),
            _metric_polygons=shapely.STRtree(metric_polys),
            _grid=grid,
            _boundaries=boundaries,
            _roads=roads,
        )

    # -- queries ----------------------------------------------------------------------------

    def assign(self, lon: ArrayLike, lat: ArrayLike) -> NDArray[np.int32]:
        """Index into :attr:`codes` of the community covering each point, -1 when outside."""
        lon_a, lat_a = geocrs.check_lonlat(lon, lat)
        return self._assign(lon_a.ravel(), lat_a.ravel())[0]

    def squad_of(self, community: NDArray[np.int32]) -> NDArray[np.int32]:
        """Index into :attr:`squads` of each community's squad (-1 where ``community`` is -1).

        The community's squad only: a key road's squad needs :meth:`resolve`.
        """
        squad = _category_codes(self.community_squads, self.squads)
        return np.where(community >= 0, squad[np.maximum(community, 0)], -1).astype(np.int32)

    def _assign(
        self, lon: NDArray[np.float64], lat: NDArray[np.float64]
    ) -> tuple[NDArray[np.int32], NDArray[np.intp], NDArray[np.bool_]]:
        flat, in_grid = self._grid.locate(lon, lat)
        result = np.where(in_grid, self._grid.cell_class[flat], _OUTSIDE).astype(np.int32)
        mixed = np.flatnonzero(result == _MIXED)
        if len(mixed):
            result[mixed] = _covering_community(self._tree, lon[mixed], lat[mixed])
        return result, flat, in_grid

    def resolve(
        self, lon: ArrayLike, lat: ArrayLike, *, index: pd.Index | None = None
    ) -> pd.DataFrame:
        """Resolve WGS84 points; returns one row per point, indexed like the input.

        Columns: ``community_code``, ``community_name``, ``community_squad``, ``squad``,
        ``key_road_id``, ``key_road_name``, ``key_road_m``, ``boundary_m``, ``near_boundary``,
        ``outside``, ``nearest_community_code`` and ``outside_m`` (outside points only: exact
        within ``boundary_search_m`` of the jurisdiction, within one grid cell beyond it).
        """
        if index is None and isinstance(lon, pd.Series):
            index = lon.index
        lon_a, lat_a = geocrs.check_lonlat(lon, lat)
        lon_a, lat_a = lon_a.ravel(), lat_a.ravel()
        n = len(lon_a)
        grid = self._grid
        community, flat, in_grid = self._assign(lon_a, lat_a)
        outside = community < 0

        # Only points whose cell may lie near a boundary or key road need metric coordinates.
        near = np.flatnonzero(
            in_grid
            & (
                (grid.boundary_lb[flat] <= self.params.boundary_search_m)
                | (grid.road_lb[flat] <= self.params.key_road_m)
            )
        )
        x, y = geocrs.to_metric(lon_a[near], lat_a[near])
        boundary_m = np.full(n, np.nan)
        boundary_owner = np.full(n, -1, dtype=np.int32)
        boundary_m[near], boundary_owner[near] = self._boundaries.nearest(flat[near], x, y)
        road = np.full(n, -1, dtype=np.int32)
        road_m = np.full(n, np.nan)
        road_m[near], road[near] = self._roads.nearest(flat[near], x, y)
        # A key road counts only inside the jurisdiction: outside, no squad answers for it.
        road[outside] = -1
        road_m[outside] = np.nan

        nearest = np.where(outside, grid.nearest[flat], community).astype(np.int32)
        outside_m = np.where(outside, grid.nearest_m[flat], np.nan).astype(np.float64)
        exact = outside & (boundary_owner >= 0)
        nearest[exact] = boundary_owner[exact]
        outside_m[exact] = boundary_m[exact]
        off_grid = np.flatnonzero(~in_grid)
        if len(off_grid):
            ox, oy = geocrs.to_metric(lon_a[off_grid], lat_a[off_grid])
            hits, dist = self._metric_polygons.query_nearest(
                shapely.points(ox, oy), return_distance=True
            )
            order = np.lexsort((hits[1], hits[0]))
            first = order[np.unique(hits[0][order], return_index=True)[1]]
            nearest[off_grid[hits[0][first]]] = hits[1][first]
            outside_m[off_grid[hits[0][first]]] = dist[first]

        squad_of_community = _category_codes(self.community_squads, self.squads)
        squad_of_road = _category_codes(self.road_squads, self.squads)
        community_squad = np.where(outside, -1, squad_of_community[np.maximum(community, 0)])
        squad = community_squad
        if len(squad_of_road):
            squad = np.where(road >= 0, squad_of_road[np.maximum(road, 0)], community_squad)

        frame = pd.DataFrame(
            {
                "community_code": _categorical(community, self.codes),
                "community_name": _categorical(community, self.names),
                "community_squad": _categorical(community_squad, self.squads),
                "squad": _categorical(squad, self.squads),
                "key_road_id": _categorical(road, self.road_ids),
                "key_road_name": _categorical(road, self.road_names),
                "key_road_m": road_m,
                "boundary_m": np.where(outside, np.nan, boundary_m),
                "near_boundary": ~outside & (boundary_m < self.params.near_boundary_m),
                "outside": outside,
                "nearest_community_code": _categorical(nearest, self.codes),
                "outside_m": outside_m,
            }
        )
        if index is not None:
            frame.index = index
        return frame

    def resolve_one(self, lon: float, lat: float) -> dict[str, object]:
        """Resolve a single point to a plain dict (``None`` for missing values)."""
        row = self.resolve([lon], [lat]).iloc[0]
        out: dict[str, object] = {}
        for key, value in row.items():
            if isinstance(value, np.generic):
                value = value.item()
            if isinstance(value, float) and math.isnan(value):
                value = None
            elif value is not None and not isinstance(value, str | bool | int | float):
                value = None if pd.isna(value) else value
            out[str(key)] = value
        return out


def _build_grid(
    polygons: NDArray[np.object_], roads: NDArray[np.object_], params: ResolveParams
) -> tuple[_Grid, float, float]:
    minx, miny, maxx, maxy = shapely.total_bounds(polygons)
    mid_lat = (miny + maxy) / 2.0
    m_per_lon = geocrs.M_PER_DEG * math.cos(math.radians(mid_lat))
    # Points this far out still find their distances through the grid.
    margin_m = max(params.boundary_search_m, params.key_road_m) + 50.0
    minx -= margin_m / m_per_lon
    maxx += margin_m / m_per_lon
    miny -= margin_m / geocrs.M_PER_DEG
    maxy += margin_m / geocrs.M_PER_DEG
    width_m = (maxx - minx) * m_per_lon
    height_m = (maxy - miny) * geocrs.M_PER_DEG
    cell_m = params.cell_m or min(max(math.sqrt(width_m * height_m / _TARGET_CELLS), 5.0), 250.0)
    cols = max(1, math.ceil(width_m / cell_m))
    rows = max(1, math.ceil(height_m / cell_m))
    dlon = (maxx - minx) / cols
    dlat = (maxy - miny) / rows
    shape = (rows, cols)
    cell_w_m, cell_h_m = dlon * m_per_lon, dlat * geocrs.M_PER_DEG

    lon_grid, lat_grid = np.meshgrid(
        minx + (np.arange(cols) + 0.5) * dlon, miny + (np.arange(rows) + 0.5) * dlat
    )
    centre_class = _covering_community(
        shapely.STRtree(polygons), lon_grid.ravel(), lat_grid.ravel()
    ).reshape(shape)
    boundary_marked = _rasterize(shapely.boundary(polygons), minx, miny, dlon, dlat, shape)
    road_marked = _rasterize(roads, minx, miny, dlon, dlat, shape)
    cell_class = np.where(boundary_marked, _MIXED, centre_class).astype(np.int32)
    # For outside cells: the nearest cell whose centre is inside, and how far it is.
    inside = centre_class >= 0
    dist, (near_row, near_col) = ndimage.distance_transform_edt(
        ~inside, sampling=(cell_h_m, cell_w_m), return_indices=True
    )
    grid = _Grid(
        lon0=minx,
        lat0=miny,
        dlon=dlon,
        dlat=dlat,
        shape=shape,
        cell_class=cell_class.ravel(),
        boundary_lb=_distance_lower_bound(boundary_marked, cell_w_m, cell_h_m).ravel(),
        road_lb=_distance_lower_bound(road_marked, cell_w_m, cell_h_m).ravel(),
        nearest=centre_class[near_row, near_col].astype(np.int32).ravel(),
        nearest_m=dist.astype(np.float32).ravel(),
    )
    return grid, cell_w_m, cell_h_m


def _covering_community(
    tree: shapely.STRtree, lon: NDArray[np.float64], lat: NDArray[np.float64]
) -> NDArray[np.int32]:
    """The lowest-index polygon covering each point (codes are sorted, so the lowest code)."""
    result = np.full(len(lon), _OUTSIDE, dtype=np.int32)
    hits = tree.query(shapely.points(lon, lat), predicate="intersects")
    if hits.shape[1]:
        # "intersects" on a point and a polygon is "covered by": boundary points match both.
        best = np.full(len(lon), np.iinfo(np.int32).max, dtype=np.int64)
        np.minimum.at(best, hits[0], hits[1])
        matched = best != np.iinfo(np.int32).max
        result[matched] = best[matched]
    return result


def _category_codes(
    values: NDArray[np.object_], categories: NDArray[np.object_]
) -> NDArray[np.int32]:
    position = {value: i for i, value in enumerate(categories)}
    return np.asarray([position[v] for v in values], dtype=np.int32)


def _categorical(codes: NDArray[np.int32], categories: NDArray[np.object_]) -> pd.Categorical:
    """Values ``categories[codes]`` (missing where ``codes`` is -1) as a pandas Categorical."""
    # Labels may repeat (one road split into two squads' segments keeps its name).
    labels, position = np.unique(categories.astype(str), return_inverse=True)
    mapped = np.where(codes >= 0, position[np.maximum(codes, 0)] if len(position) else -1, -1)
    return pd.Categorical.from_codes(mapped, categories=pd.Index(labels, dtype=object))


def resolve(points: gpd.GeoSeries, jurisdiction: Jurisdiction) -> pd.DataFrame:
    """Resolve a GeoSeries of points (any CRS); the result is indexed like ``points``."""
    if points.crs is None:
        msg = "points has no CRS: set it (points.set_crs('EPSG:4326')) before resolving."
        raise ValueError(msg)
    wgs = points.to_crs(geocrs.STORAGE_CRS)
    return jurisdiction.resolve(wgs.x.to_numpy(), wgs.y.to_numpy(), index=points.index)
