"""Repair small faults of hand-drawn community polygons: invalid rings, slivers of overlap, gaps.

Real layers are hand-traced: two neighbours drawn separately overlap by a few square metres
along their shared boundary, leave a sliver of no-man's-land between them, or a ring crosses
itself at a careless click. :func:`layers.validate_pack` rightly names each; this module is the
way forward short of editing in a GIS (``jiedao layers validate|import --repair``):

- a geometry that is not valid is made valid (``shapely.make_valid``, polygonal parts kept);
- an overlap of two neighbours up to ``tolerance_m2`` stays with the one it shares the longer
  edge with (where it lies more "inside") and is cut from the other;
- a gap (a hole in the union of the communities) up to ``tolerance_m2`` joins the neighbour
  with the longest shared edge.

Every repair is listed. Larger overlaps and gaps are left as they are, so validation still
names them: they are drawing decisions for a person, not snapping. The work is done in metres
(EPSG:4547), and the repaired layer returns to WGS84.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Final

import geopandas as gpd
import numpy as np
import shapely

from geo.crs import METRIC_CRS, STORAGE_CRS

from .pack import LayerPack

__all__ = ["DEFAULT_TOLERANCE_M2", "Repair", "repair_pack"]

DEFAULT_TOLERANCE_M2: Final = 10.0
# Two polygons "share" a boundary where they are this close (metres): float noise of the
# overlay. Kept tiny: along a sliver a few cm wide, a wider margin would count the far side.
_TOUCH_M: Final = 1e-4
_GRID_M: Final = 0.01
# Pieces smaller than this are the grid's rounding, not a drawing fault.
_NOISE_M2: Final = 0.01


@dataclass(frozen=True, slots=True)
class Repair:
    """One change made to a layer, named as validation names its problems."""

    layer: str
    feature: str
    change: str

    def __str__(self) -> str:
        return f"{self.layer}[{self.feature}]: {self.change}"


def _polygonal(geom: shapely.Geometry) -> shapely.Geometry:
    """The polygons of ``geom`` (make_valid and overlays may add lines or points)."""
    parts = [p for p in shapely.get_parts(geom) if p.geom_type in ("Polygon", "MultiPolygon")]
    if not parts:
        return shapely.Polygon()
    return shapely.union_all(parts) if len(parts) > 1 else parts[0]


def _shared(piece: shapely.Geometry, other: shapely.Geometry) -> float:
    """Length of ``piece``'s boundary that runs along ``other``."""
    near = shapely.buffer(other, _TOUCH_M)
    return float(shapely.length(shapely.intersection(shapely.boundary(piece), near)))


def _labels(frame: gpd.GeoDataFrame) -> list[str]:
    codes = frame["code"] if "code" in frame.columns else [None] * len(frame)
    return [f"#{i}" if code is None else str(code) for i, code in enumerate(codes)]


def repair_pack(
    pack: LayerPack, *, tolerance_m2: float = DEFAULT_TOLERANCE_M2
) -> tuple[LayerPack, list[Repair]]:
    """``pack`` with its communities repaired, and the list of repairs (empty: unchanged)."""
    if not tolerance_m2 >= 0:
        msg = f"Expected tolerance_m2 >= 0, got {tolerance_m2!r}."
        raise ValueError(msg)
    communities = pack.communities
    labels = _labels(communities)
    source = np.asarray(communities.geometry.values, dtype=object)
    geoms = list(np.asarray(communities.to_crs(METRIC_CRS).geometry.values, dtype=object))
    repairs: list[Repair] = []

    for i, geom in enumerate(geoms):
        if geom is not None and not shapely.is_empty(geom) and not shapely.is_valid(geom):
            reason = shapely.is_valid_reason(source[i])  # where, in the layer's lon/lat
            geoms[i] = _polygonal(shapely.make_valid(geom))
            repairs.append(Repair("communities", labels[i], f"made valid (was: {reason})."))
    # On a 1 cm grid, edges that two tracings share to within float noise of the projection
    # coincide: otherwise micro-slivers along every shared edge join real gaps to the outside.
    geoms = [None if g is None else shapely.set_precision(g, _GRID_M) for g in geoms]

    present = [i for i, g in enumerate(geoms) if g is not None and not shapely.is_empty(g)]
    tree = shapely.STRtree([geoms[i] for i in present])
    left, right = tree.query([geoms[i] for i in present], predicate="intersects")
    for a, b in sorted({(present[x], present[y]) for x, y in zip(left, right, strict=True)}):
        if a >= b:
            continue
        overlap = _polygonal(shapely.intersection(geoms[a], geoms[b]))
        for piece in shapely.get_parts(overlap):
            area = float(shapely.area(piece))
            if not _NOISE_M2 < area <= tolerance_m2:
                continue
            rest_a = shapely.difference(geoms[a], piece)
            rest_b = shapely.difference(geoms[b], piece)
            keep, cut = (a, b) if _shared(piece, rest_a) >= _shared(piece, rest_b) else (b, a)
            geoms[cut] = _polygonal(shapely.difference(geoms[cut], piece))
            repairs.append(
                Repair(
                    "communities",
                    f"{labels[a]}/{labels[b]}",
                    f"overlap of {area:,.1f} m² left to {labels[keep]} (the longer shared "
                    f"edge), cut from {labels[cut]}.",
                )
            )

    union = shapely.union_all([g for g in geoms if g is not None])
    for polygon in shapely.get_parts(union):
        for ring in getattr(polygon, "interiors", ()):
            hole = shapely.Polygon(ring)
            if not _NOISE_M2 < hole.area <= tolerance_m2:
                continue
            edges = [(_shared(hole, g), i) for i, g in enumerate(geoms) if g is not None]
            length, owner = max(edges, key=lambda e: (e[0], -e[1]))
            if length <= 0:
                continue
            geoms[owner] = _polygonal(shapely.union(geoms[owner], hole))
            centre = (
                gpd.GeoSeries([hole.representative_point()], crs=METRIC_CRS)
                .to_crs(STORAGE_CRS)
                .iloc[0]
            )
            repairs.append(
                Repair(
                    "communities",
                    labels[owner],
                    f"gap of {hole.area:,.1f} m² at {centre.x:.5f},{centre.y:.5f} joined to it "
                    f"(the longest shared edge, {length:,.1f} m).",
                )
            )
    if not repairs:
        return pack, []
    repaired = communities.copy()
    repaired["geometry"] = gpd.GeoSeries(geoms, crs=METRIC_CRS, index=communities.index).to_crs(
        STORAGE_CRS
    )
    return replace(pack, communities=repaired), repairs
