"""Incidents counted per cell: a square grid, H3 cells, communities or key-road segments.

Every function here takes incidents (a frame with ``lon``/``lat`` in WGS84, or a GeoDataFrame of
points) and the cells' layer, applies an :class:`IncidentFilter`, and returns one GeoDataFrame row
per cell, **empty cells included** (Getis-Ord Gi* needs the zeros around a hot spot):

- ``cell_id`` (str), ``count`` (int), ``count_<category>`` per category present (int),
- ``area_km2``: the part of the cell inside the study area, ``cover``: that part's share of the
  whole cell (1 inside, less on the edge),
- ``lon``, ``lat``: a point of the cell inside the study area (WGS84), where a map zooms to,
- ``geometry``: the whole cell, WGS84.

The frame's ``attrs`` say how it was made (``cell_kind``, ``cell_m`` or ``resolution``,
``incidents`` counted, ``dropped`` for incidents outside every cell, ``filter`` text).

The square grid is laid in EPSG:4547 on multiples of the cell size from the CRS origin, so a cell
keeps its id (``g150m-<col>-<row>``) across periods, areas and runs. Counting is vectorised:
incidents cost a projection and a ``bincount``, so a million take about a second.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final, NamedTuple, TypeAlias

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import shapely
import shapely.ops
from numpy.typing import NDArray

from . import crs as geocrs
from .incidentfilter import IncidentFilter, column, local_times

__all__ = [
    "COUNT_PREFIX",
    "bounds",
    "category_columns",
    "community_cells",
    "grid_cell_id",
    "grid_cells",
    "h3_cells",
    "incident_lonlat",
    "metric_area",
    "road_cells",
    "weekly_counts",
]

COUNT_PREFIX: Final = "count_"
# Cells whose in-area share is below this are slivers of float noise, not cells.
_MIN_COVER: Final = 1e-6

AreaLike: TypeAlias = gpd.GeoDataFrame | gpd.GeoSeries | shapely.Geometry


def incident_lonlat(incidents: pd.DataFrame) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """WGS84 ``lon, lat`` of incidents: from a GeoDataFrame's points or ``lon``/``lat`` columns."""
    if isinstance(incidents, gpd.GeoDataFrame) and incidents.geometry.name in incidents:
        points = incidents.geometry
        if points.crs is not None:
            points = points.to_crs(geocrs.STORAGE_CRS)
        return geocrs.check_lonlat(points.x.to_numpy(), points.y.to_numpy())
    if not {"lon", "lat"} <= set(incidents.columns):
        msg = (
            "incidents need lon and lat columns (WGS84) or a GeoDataFrame of points; got "
            f"columns {', '.join(map(str, incidents.columns))}."
        )
        raise ValueError(msg)
    return geocrs.check_lonlat(
        incidents["lon"].to_numpy(dtype=np.float64), incidents["lat"].to_numpy(dtype=np.float64)
    )


def bounds(geometry: shapely.Geometry) -> tuple[float, float, float, float]:
    """``(minx, miny, maxx, maxy)`` of one geometry as floats."""
    minx, miny, maxx, maxy = shapely.bounds(geometry).tolist()
    return minx, miny, maxx, maxy


def metric_area(area: AreaLike) -> shapely.Geometry:
    """The study area as one (Multi)Polygon in EPSG:4547; shapely input is taken as WGS84."""
    if isinstance(area, gpd.GeoDataFrame | gpd.GeoSeries):
        if area.crs is None:
            msg = "area has no CRS: set it (area.set_crs('EPSG:4326')) first."
            raise ValueError(msg)
        geoms = np.asarray(area.to_crs(geocrs.METRIC_CRS).geometry.values, dtype=object)
    else:
        geoms = np.asarray([geocrs.geometry_to_metric(area)], dtype=object)
    polygons = [
        g
        for g in geoms
        if g is not None and not g.is_empty and g.geom_type in ("Polygon", "MultiPolygon")
    ]
    if not polygons:
        msg = "area holds no polygon: pass the communities (or a boundary polygon) as the area."
        raise ValueError(msg)
    return shapely.union_all(np.asarray(polygons, dtype=object))


def _unproject(geoms: NDArray[np.object_]) -> NDArray[np.object_]:
    return np.asarray(geocrs.geometry_from_metric(geoms), dtype=object)


def category_columns(cells: pd.DataFrame) -> list[str]:
    """The ``count_<category>`` columns of a cell frame, in order."""
    return [c for c in cells.columns if isinstance(c, str) and c.startswith(COUNT_PREFIX)]


class _Selected(NamedTuple):
    lon: NDArray[np.float64]
    lat: NDArray[np.float64]
    category: NDArray[np.object_] | None
    frame: pd.DataFrame


def _select(incidents: pd.DataFrame, where: IncidentFilter | None, by_category: bool) -> _Selected:
    frame = incidents if where is None else where.apply(incidents)
    lon, lat = incident_lonlat(frame)
    category = None
    if by_category and "category" in frame.columns:
        category = frame["category"].astype(str).to_numpy(dtype=object)
    return _Selected(lon, lat, category, frame)


def _tally(
    index: NDArray[np.intp], n_cells: int, category: NDArray[np.object_] | None
) -> tuple[NDArray[np.int64], dict[str, NDArray[np.int64]]]:
    """Counts per cell (``index`` -1 = in no cell), and per category when given."""
    inside = index >= 0
    kept = index[inside]
    counts = np.bincount(kept, minlength=n_cells).astype(np.int64)
    per_category: dict[str, NDArray[np.int64]] = {}
    if category is not None and len(kept):
        codes, names = pd.factorize(category[inside], sort=True)
        table = np.bincount(kept * len(names) + codes, minlength=n_cells * len(names))
        table = table.reshape(n_cells, len(names)).astype(np.int64)
        per_category = {str(name): table[:, k] for k, name in enumerate(names)}
    return counts, per_category


def _frame(
    ids: Iterable[str],
    counts: NDArray[np.int64],
    per_category: dict[str, NDArray[np.int64]],
    *,
    area_km2: NDArray[np.float64],
    cover: NDArray[np.float64],
    anchors: NDArray[np.object_],
    geometry: NDArray[np.object_],
    extra: dict[str, Any],
    attrs: dict[str, Any],
) -> gpd.GeoDataFrame:
    data: dict[str, Any] = {
        "cell_id": list(ids),
        "count": counts,
        "area_km2": area_km2,
        "cover": cover,
        "lon": shapely.get_x(anchors),
        "lat": shapely.get_y(anchors),
        **extra,
    }
    for name, counts in per_category.items():
        data[f"{COUNT_PREFIX}{name}"] = counts
    frame = gpd.GeoDataFrame(data, geometry=list(geometry), crs=geocrs.STORAGE_CRS)
    frame.attrs.update(attrs)
    return frame


def _anchors(
    metric_cells: NDArray[np.object_], metric_parts: NDArray[np.object_], cover: NDArray[np.float64]
) -> NDArray[np.object_]:
    # A full cell's centre; an edge cell's point inside the area, so a map zooms to its ground.
    centres = shapely.centroid(metric_cells)
    edge = cover < 1.0 - 1e-9
    centres[edge] = shapely.point_on_surface(metric_parts[edge])
    return _unproject(np.asarray(centres, dtype=object))


def grid_cell_id(col: int, row: int, cell_m: float) -> str:
    """The id of a square grid cell: ``g<size>m-<col>-<row>`` (columns and rows of EPSG:4547)."""
    return f"g{cell_m:g}m-{col}-{row}"


@dataclass(frozen=True, slots=True)
class _Grid:
    """The square cells of one size that touch the study area."""

    cell_m: float
    col0: int
    row0: int
    lookup: NDArray[np.intp]  # (rows, cols) bbox of the area -> cell index or -1
    cols: NDArray[np.int64]
    rows: NDArray[np.int64]
    boxes: NDArray[np.object_]  # metric squares
    parts: NDArray[np.object_]  # their parts inside the area
    cover: NDArray[np.float64]

    @classmethod
    def build(cls, area: shapely.Geometry, cell_m: float) -> _Grid:
        minx, miny, maxx, maxy = bounds(area)
        col0, row0 = math.floor(minx / cell_m), math.floor(miny / cell_m)
        n_cols = math.floor(maxx / cell_m) - col0 + 1
        n_rows = math.floor(maxy / cell_m) - row0 + 1
        if n_cols * n_rows > 4_000_000:
            msg = (
                f"A {cell_m:g} m grid over this area has {n_cols * n_rows:,} cells: use a "
                "larger cell_m or a smaller area."
            )
            raise ValueError(msg)
        rr, cc = np.divmod(np.arange(n_cols * n_rows), n_cols)
        cols, rows = cc + col0, rr + row0
        boxes = shapely.box(cols * cell_m, rows * cell_m, (cols + 1) * cell_m, (rows + 1) * cell_m)
        shapely.prepare(area)
        inside = shapely.contains_properly(area, boxes)
        touching = ~inside & shapely.intersects(area, boxes)
        parts = np.asarray(boxes.copy(), dtype=object)
        parts[touching] = shapely.intersection(boxes[touching], area)
        cover = np.where(inside, 1.0, 0.0)
        cover[touching] = shapely.area(parts[touching]) / (cell_m * cell_m)
        keep = np.flatnonzero(cover > _MIN_COVER)
        lookup = np.full(n_rows * n_cols, -1, dtype=np.intp)
        lookup[keep] = np.arange(len(keep))
        return cls(
            cell_m=cell_m,
            col0=col0,
            row0=row0,
            lookup=lookup.reshape(n_rows, n_cols),
            cols=cols[keep],
            rows=rows[keep],
            boxes=np.asarray(boxes[keep], dtype=object),
            parts=parts[keep],
            cover=cover[keep],
        )

    def locate(self, lon: NDArray[np.float64], lat: NDArray[np.float64]) -> NDArray[np.intp]:
        x, y = geocrs.to_metric(lon, lat)
        col = np.floor(x / self.cell_m).astype(np.int64) - self.col0
        row = np.floor(y / self.cell_m).astype(np.int64) - self.row0
        n_rows, n_cols = self.lookup.shape
        ok = (col >= 0) & (col < n_cols) & (row >= 0) & (row < n_rows)
        index = np.full(len(x), -1, dtype=np.intp)
        index[ok] = self.lookup[row[ok], col[ok]]
        return index

    def ids(self) -> list[str]:
        return [
            grid_cell_id(int(c), int(r), self.cell_m)
            for c, r in zip(self.cols, self.rows, strict=True)
        ]


def _check_metres(name: str, value: float, low: float, high: float, hint: str) -> None:
    if not (math.isfinite(value) and low <= value <= high):
        msg = f"{name} = {value!r}: give a distance in [{low:g}, {high:g}] metres{hint}."
        raise ValueError(msg)


def grid_cells(
    incidents: pd.DataFrame,
    area: AreaLike,
    *,
    cell_m: float = 150.0,
    where: IncidentFilter | None = None,
    by_category: bool = True,
) -> gpd.GeoDataFrame:
    """Count incidents on a square grid in EPSG:4547 over the study area.

    Parameters
    ----------
    incidents
        ``lon``/``lat`` (WGS84) or point geometry; ``category``, ``occurred_at`` and ``source``
        when ``where`` or ``by_category`` needs them.
    area
        The study area: the communities, or any polygon(s). Every cell touching it is returned.
    cell_m
        Cell size in metres; cells sit on multiples of it, so ids are stable across periods.
    where
        Which incidents count.
    by_category
        Add ``count_<category>`` columns (needs a ``category`` column).

    Returns
    -------
    geopandas.GeoDataFrame
        One row per cell (see the module docstring), plus ``col`` and ``row``.
    """
    _check_metres("cell_m", cell_m, 10.0, 5000.0, " (150 is a PredPol box)")
    grid = _Grid.build(metric_area(area), cell_m)
    chosen = _select(incidents, where, by_category)
    index = grid.locate(chosen.lon, chosen.lat)
    counts, per_category = _tally(index, len(grid.cols), chosen.category)
    return _frame(
        grid.ids(),
        counts,
        per_category,
        area_km2=shapely.area(grid.parts) / 1e6,
        cover=grid.cover,
        anchors=_anchors(grid.boxes, grid.parts, grid.cover),
        geometry=_unproject(grid.boxes),
        extra={"col": grid.cols, "row": grid.rows},
        attrs=_attrs("grid", index, where, cell_m=cell_m),
    )


def _attrs(
    kind: str, index: NDArray[np.intp], where: IncidentFilter | None, **more: Any
) -> dict[str, Any]:
    return {
        "cell_kind": kind,
        "incidents": int((index >= 0).sum()),
        "dropped": int((index < 0).sum()),
        "filter": (where or IncidentFilter()).describe(),
        **more,
    }


def h3_cells(
    incidents: pd.DataFrame,
    area: AreaLike,
    *,
    resolution: int = 9,
    where: IncidentFilter | None = None,
    by_category: bool = True,
) -> gpd.GeoDataFrame:
    """Count incidents per H3 cell over the study area.

    Parameters
    ----------
    incidents, area, where, by_category
        As for :func:`grid_cells`.
    resolution
        H3 resolution: 9 (about 0.1 km² per cell) or 10 (about 0.015 km²); 6-12 accepted.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per H3 cell touching the area; ``cell_id`` is the H3 index.
    """
    if not (isinstance(resolution, int) and 6 <= resolution <= 12):
        msg = (
            f"resolution = {resolution!r}: give an H3 resolution in 6-12 (9 is about "
            "0.1 km² per cell, 10 about 0.015 km²)."
        )
        raise ValueError(msg)
    area_m = metric_area(area)
    area_wgs = _unproject(np.asarray([area_m], dtype=object))[0]
    centred = set(h3.h3shape_to_cells(h3.geo_to_h3shape(area_wgs), resolution))
    centred.add(
        h3.latlng_to_cell(
            area_wgs.representative_point().y, area_wgs.representative_point().x, resolution
        )
    )
    # Every cell touching the area is within one ring of a cell whose centre is inside it.
    candidates = sorted({c for cell in centred for c in h3.grid_disk(cell, 1)})
    hexes = np.asarray(
        [shapely.Polygon([(lng, lat) for lat, lng in h3.cell_to_boundary(c)]) for c in candidates],
        dtype=object,
    )
    metric = np.asarray([geocrs.geometry_to_metric(g) for g in hexes], dtype=object)
    parts = np.asarray(shapely.intersection(metric, area_m), dtype=object)
    cover = shapely.area(parts) / shapely.area(metric)
    keep = np.flatnonzero(cover > _MIN_COVER)
    ids = [candidates[k] for k in keep]
    cover = np.minimum(cover[keep], 1.0)

    chosen = _select(incidents, where, by_category)
    found = [
        h3.latlng_to_cell(la, lo, resolution)
        for lo, la in zip(chosen.lon.tolist(), chosen.lat.tolist(), strict=True)
    ]
    index = np.asarray(pd.Index(ids).get_indexer(found) if found else [], dtype=np.intp)
    counts, per_category = _tally(index, len(ids), chosen.category)
    return _frame(
        ids,
        counts,
        per_category,
        area_km2=shapely.area(parts[keep]) / 1e6,
        cover=cover,
        anchors=_anchors(metric[keep], parts[keep], cover),
        geometry=hexes[keep],
        extra={},
        attrs=_attrs("h3", index, where, resolution=resolution),
    )


def _check_layer(frame: gpd.GeoDataFrame, columns: tuple[str, ...], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        msg = f"{what} lacks column(s) {', '.join(missing)}; read it with layers.read_pack."
        raise ValueError(msg)
    if frame.crs is None:
        msg = f"{what} has no CRS: set it ({what}.set_crs('EPSG:4326'))."
        raise ValueError(msg)


def community_cells(
    incidents: pd.DataFrame,
    communities: gpd.GeoDataFrame,
    *,
    where: IncidentFilter | None = None,
    by_category: bool = True,
) -> gpd.GeoDataFrame:
    """Count incidents per community polygon (``code``, ``name_zh``, ``squad``).

    A point on a shared boundary goes to the community with the lower code, as in
    :mod:`geo.jurisdiction`. ``cell_id`` is the community code; ``name_zh`` and ``squad`` are
    kept, and ``area_km2`` is the polygon's area, so ``count / area_km2`` is the rate per km².
    """
    _check_layer(communities, ("code", "name_zh", "squad"), "communities")
    ordered = communities.to_crs(geocrs.STORAGE_CRS).sort_values("code", kind="stable")
    polygons = np.asarray(ordered.geometry.values, dtype=object)
    chosen = _select(incidents, where, by_category)
    index = np.full(len(chosen.lon), -1, dtype=np.intp)
    lon, lat = chosen.lon, chosen.lat
    # In code order, each polygon claims the unclaimed points of its box that it covers
    # (boundary included): a shared edge goes to the lower code, with no point objects built.
    for k, polygon in enumerate(polygons):
        west, south, east, north = bounds(polygon)
        near = np.flatnonzero(
            (index < 0) & (lon >= west) & (lon <= east) & (lat >= south) & (lat <= north)
        )
        shapely.prepare(polygon)
        index[near[shapely.intersects_xy(polygon, lon[near], lat[near])]] = k
    counts, per_category = _tally(index, len(polygons), chosen.category)
    metric = np.asarray(ordered.to_crs(geocrs.METRIC_CRS).geometry.values, dtype=object)
    return _frame(
        ordered["code"].astype(str).tolist(),
        counts,
        per_category,
        area_km2=shapely.area(metric) / 1e6,
        cover=np.ones(len(polygons)),
        anchors=_unproject(np.asarray(shapely.point_on_surface(metric), dtype=object)),
        geometry=polygons,
        extra={
            "name_zh": ordered["name_zh"].astype(str).to_numpy(),
            "squad": ordered["squad"].astype(str).to_numpy(),
        },
        attrs=_attrs("community", index, where),
    )


def road_cells(
    incidents: pd.DataFrame,
    key_roads: gpd.GeoDataFrame,
    *,
    segment_m: float = 200.0,
    buffer_m: float = 30.0,
    where: IncidentFilter | None = None,
    by_category: bool = True,
) -> gpd.GeoDataFrame:
    """Count incidents per key-road segment: each goes to the nearest segment within ``buffer_m``.

    Key roads (``road_id``, ``name_zh``, ``squad``) are cut into equal pieces of at most
    ``segment_m``; ``cell_id`` is ``<road_id>#<k>`` (k from 1 along the line). ``area_km2`` is the
    band of ``buffer_m`` each side (flat ends) and ``length_km`` the piece's length. Incidents
    farther than ``buffer_m`` from every key road are dropped (``attrs["dropped"]``).
    """
    _check_layer(key_roads, ("road_id", "name_zh", "squad"), "key_roads")
    _check_metres("segment_m", segment_m, 10.0, 10_000.0, "")
    _check_metres("buffer_m", buffer_m, 1.0, 1000.0, " (30 covers a road and its pavements)")
    roads = key_roads.to_crs(geocrs.METRIC_CRS).sort_values("road_id", kind="stable")
    pieces: list[tuple[str, str, str, shapely.Geometry]] = []  # id, name, squad, piece
    for road_id, name, squad, geom in zip(
        roads["road_id"].astype(str), roads["name_zh"], roads["squad"], roads.geometry, strict=True
    ):
        # Equal pieces per line; the tolerance keeps a reprojected 1000.0000001 m in 5 pieces.
        cuts = [
            (line, i, n)
            for line in shapely.get_parts(shapely.line_merge(geom))
            for n in [max(1, math.ceil(line.length / segment_m - 1e-6))]
            for i in range(n)
        ]
        pieces += [
            (
                f"{road_id}#{k}",
                str(name),
                str(squad),
                shapely.ops.substring(line, i / n, (i + 1) / n, normalized=True),
            )
            for k, (line, i, n) in enumerate(cuts, start=1)
        ]
    ids, names, squads, parts = zip(*pieces, strict=True) if pieces else ((), (), (), ())
    metric = np.asarray(parts, dtype=object)
    chosen = _select(incidents, where, by_category)
    index = np.full(len(chosen.lon), -1, dtype=np.intp)
    if len(index) and len(metric):
        x, y = geocrs.to_metric(chosen.lon, chosen.lat)
        hits = shapely.STRtree(metric).query_nearest(
            shapely.points(x, y), max_distance=buffer_m, all_matches=False
        )
        index[hits[0]] = hits[1]
    counts, per_category = _tally(index, len(metric), chosen.category)
    bands = shapely.buffer(metric, buffer_m, cap_style="flat")
    return _frame(
        ids,
        counts,
        per_category,
        area_km2=shapely.area(bands) / 1e6,
        cover=np.ones(len(metric)),
        anchors=_unproject(
            np.asarray(shapely.line_interpolate_point(metric, 0.5, normalized=True), dtype=object)
        ),
        geometry=_unproject(metric),
        extra={
            "name_zh": list(names),
            "squad": list(squads),
            "length_km": shapely.length(metric) / 1e3,
        },
        attrs=_attrs("road", index, where, segment_m=segment_m, buffer_m=buffer_m),
    )


def weekly_counts(
    incidents: pd.DataFrame,
    area: AreaLike,
    *,
    cell_m: float = 150.0,
    where: IncidentFilter | None = None,
) -> pd.DataFrame:
    """Incidents per grid cell and week, for a week-by-week animation.

    Weeks start on Monday 00:00 local time. Only cells with incidents in a week are listed.

    Returns
    -------
    pandas.DataFrame
        ``week`` (local Timestamp of the Monday), ``cell_id``, ``lon``, ``lat`` (the cell's
        anchor, as in :func:`grid_cells`) and ``count``, sorted by week then cell.
    """
    _check_metres("cell_m", cell_m, 10.0, 5000.0, " (150 is a PredPol box)")
    grid = _Grid.build(metric_area(area), cell_m)
    chosen = _select(incidents, where, False)
    index = grid.locate(chosen.lon, chosen.lat)
    columns = ["week", "cell_id", "lon", "lat", "count"]
    if not len(index) or not (index >= 0).any():
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    day = local_times(column(chosen.frame, "occurred_at", "week")).normalize()
    table = pd.DataFrame({"week": day - pd.to_timedelta(day.day_of_week, unit="D"), "cell": index})
    table = table[table["cell"] >= 0]
    counted = table.groupby(["week", "cell"], sort=True).size().rename("count").reset_index()
    cells = counted["cell"].to_numpy()
    anchors = _anchors(grid.boxes, grid.parts, grid.cover)
    ids = np.asarray(grid.ids(), dtype=object)
    return pd.DataFrame(
        {
            "week": counted["week"],
            "cell_id": ids[cells],
            "lon": shapely.get_x(anchors[cells]),
            "lat": shapely.get_y(anchors[cells]),
            "count": counted["count"].to_numpy(dtype=np.int64),
        }
    )[columns]
