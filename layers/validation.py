"""Validate a layer pack before it is imported; every problem names the feature and the fix.

Errors block an import; warnings (gaps inside the jurisdiction, say) are reported and kept.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.crs import METRIC_CRS
from geo.errors import LayerIssue, LayerValidationError
from geo.roadgraph import ROAD_CLASSES

from .limits import CHINA_BOUNDS
from .pack import LayerPack

__all__ = ["CHINA_BOUNDS", "ensure_valid", "validate_pack"]

CODE_PATTERN: Final = re.compile(r"^\d{6,15}$")
STATION_KINDS: Final = frozenset({"enforcement_base", "police_station", "backup_base"})
MAX_OVERLAP_M2: Final = 1.0
MIN_GAP_M2: Final = 1.0

_CRS_FIX: Final = (
    "check the layer's CRS: projected metres need source_crs='EPSG:4547' (or the "
    "file's EPSG code), and lon/lat must not be swapped"
)


def _label(frame: pd.DataFrame, i: int, column: str) -> str:
    value = frame[column].iloc[i] if column in frame.columns else None
    return f"#{i}" if value is None or (isinstance(value, float) and pd.isna(value)) else f"{value}"


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and pd.isna(value)) or value == ""


def _geometry_issues(
    frame: gpd.GeoDataFrame, layer: str, id_column: str, allowed: tuple[str, ...]
) -> Iterable[LayerIssue]:
    geoms = np.asarray(frame.geometry.values, dtype=object)
    for i, geom in enumerate(geoms):
        name = _label(frame, i, id_column)
        if geom is None or shapely.is_empty(geom):
            yield LayerIssue(
                layer, name, "has no geometry.", "digitize its shape or drop the feature."
            )
            continue
        if geom.geom_type not in allowed:
            yield LayerIssue(
                layer,
                name,
                f"is a {geom.geom_type}, expected {' or '.join(allowed)}.",
                f"store it as a {allowed[0]}.",
            )
            continue
        if not shapely.is_valid(geom):
            yield LayerIssue(
                layer,
                name,
                f"is invalid ({shapely.is_valid_reason(geom)}).",
                "repair it (shapely.make_valid, or QGIS 'Fix geometries') and check the result.",
            )
        if not _plausible(geom):
            minx, miny, maxx, maxy = shapely.bounds(geom)
            yield LayerIssue(
                layer,
                name,
                f"has coordinates out of any plausible range "
                f"(bounds {minx:.4f}, {miny:.4f}, {maxx:.4f}, {maxy:.4f}).",
                _CRS_FIX + ".",
            )


def _plausible(geom: shapely.Geometry) -> bool:
    minx, miny, maxx, maxy = shapely.bounds(geom)
    lon_min, lat_min, lon_max, lat_max = CHINA_BOUNDS
    return bool(lon_min <= minx and maxx <= lon_max and lat_min <= miny and maxy <= lat_max)


def _id_issues(
    frame: pd.DataFrame, layer: str, column: str, pattern: re.Pattern[str] | None = None
) -> Iterable[LayerIssue]:
    values = frame[column] if column in frame.columns else pd.Series([None] * len(frame))
    seen: dict[str, int] = {}
    for i, value in enumerate(values):
        if _missing(value):
            yield LayerIssue(layer, f"#{i}", f"has no {column}.", f"give every feature a {column}.")
            continue
        text = str(value)
        if pattern is not None and not pattern.match(text):
            yield LayerIssue(
                layer,
                text,
                f"has a malformed {column} {text!r}.",
                "use the official statistical division code (digits only, e.g. 440303010002).",
            )
        if text in seen:
            yield LayerIssue(
                layer,
                text,
                f"repeats the {column} of feature #{seen[text]}.",
                f"give each feature its own {column}.",
            )
        seen.setdefault(text, i)


def _squad_issues(
    frame: pd.DataFrame, layer: str, id_column: str, known: set[str], what: str
) -> Iterable[LayerIssue]:
    for i, squad in enumerate(frame["squad"] if "squad" in frame.columns else [None] * len(frame)):
        name = _label(frame, i, id_column)
        if _missing(squad):
            yield LayerIssue(
                layer,
                name,
                "has no squad.",
                f"set 'squad' to the squad responsible for {what} "
                f"({', '.join(sorted(known)) or 'see pack.json squads'}).",
            )
        elif known and str(squad) not in known:
            yield LayerIssue(
                layer,
                name,
                f"names an unknown squad {squad!r}.",
                f"use one of {', '.join(sorted(known))} or add it to pack.json.",
            )


def _overlap_and_gap_issues(communities: gpd.GeoDataFrame) -> Iterable[LayerIssue]:
    geoms = np.asarray(communities.geometry.values, dtype=object)
    usable = np.asarray(
        [
            g is not None and not shapely.is_empty(g) and shapely.is_valid(g) and _plausible(g)
            for g in geoms
        ]
    )
    if usable.sum() < 1:
        return
    metric = np.asarray(communities[usable].to_crs(METRIC_CRS).geometry.values, dtype=object)
    labels = [_label(communities, int(i), "code") for i in np.flatnonzero(usable)]
    tree = shapely.STRtree(metric)
    left, right = tree.query(metric, predicate="intersects")
    for a, b in zip(left, right, strict=True):
        if a >= b:
            continue
        area = shapely.area(shapely.intersection(metric[a], metric[b]))
        if area > MAX_OVERLAP_M2:
            yield LayerIssue(
                "communities",
                f"{labels[a]}/{labels[b]}",
                f"overlap by {area:,.1f} m².",
                "move the shared boundary so each place lies in one community "
                "(snap both edges to the same vertices).",
            )
    union = shapely.union_all(metric)
    for polygon in shapely.get_parts(union):
        for ring in polygon.interiors:
            hole = shapely.Polygon(ring)
            if hole.area >= MIN_GAP_M2:
                centre = (
                    gpd.GeoSeries([hole.representative_point()], crs=METRIC_CRS)
                    .to_crs("EPSG:4326")
                    .iloc[0]
                )
                yield LayerIssue(
                    "communities",
                    f"gap at {centre.x:.5f},{centre.y:.5f}",
                    f"{hole.area:,.1f} m² inside the jurisdiction belongs to no community.",
                    "extend a neighbouring community over it, or confirm it is "
                    "outside the jurisdiction.",
                    severity="warning",
                )


def _road_network_issues(pack: LayerPack) -> Iterable[LayerIssue]:
    roads = pack.roads
    assert roads is not None  # checked by the caller
    yield from _id_issues(roads, "roads", "road_id")
    yield from _geometry_issues(roads, "roads", "road_id", ("LineString", "MultiLineString"))
    key_ids = {str(r) for r in pack.key_roads["road_id"]}
    for i, row in enumerate(roads.itertuples(index=False)):
        name = _label(roads, i, "road_id")
        if row.road_class not in ROAD_CLASSES:
            yield LayerIssue(
                "roads",
                name,
                f"has an unknown road_class {row.road_class!r}.",
                f"use one of {', '.join(ROAD_CLASSES)}.",
            )
        if not _missing(row.key_road_id) and str(row.key_road_id) not in key_ids:
            yield LayerIssue(
                "roads",
                name,
                f"belongs to key road {row.key_road_id!r}, which the key_roads "
                "layer does not have.",
                "correct key_road_id or add the key road.",
            )


def validate_pack(pack: LayerPack) -> list[LayerIssue]:
    """Every problem found in ``pack``, errors and warnings, in a stable order."""
    issues: list[LayerIssue] = []
    squads = pack.squads
    issues += _id_issues(squads, "squads", "code")
    known_squads = {str(c) for c in squads["code"] if not _missing(c)}
    communities = pack.communities
    if len(communities) == 0:
        issues.append(
            LayerIssue("communities", "-", "is empty.", "add at least one community polygon.")
        )
    issues += _id_issues(communities, "communities", "code", CODE_PATTERN)
    issues += _geometry_issues(communities, "communities", "code", ("Polygon", "MultiPolygon"))
    issues += _squad_issues(
        communities, "communities", "code", known_squads, "the community's enforcement"
    )
    issues += _overlap_and_gap_issues(communities)

    roads = pack.key_roads
    issues += _id_issues(roads, "key_roads", "road_id")
    issues += _geometry_issues(roads, "key_roads", "road_id", ("LineString", "MultiLineString"))
    issues += _squad_issues(roads, "key_roads", "road_id", known_squads, "the road surface")

    stations = pack.stations
    issues += _id_issues(stations, "stations", "code")
    issues += _geometry_issues(stations, "stations", "code", ("Point",))
    for i, kind in enumerate(stations["kind"]):
        if kind not in STATION_KINDS:
            issues.append(
                LayerIssue(
                    "stations",
                    _label(stations, i, "code"),
                    f"has an unknown kind {kind!r}.",
                    f"use one of {', '.join(sorted(STATION_KINDS))}.",
                )
            )
    if pack.roads is not None:
        issues += _road_network_issues(pack)
    station_codes = {str(c) for c in stations["code"] if not _missing(c)}
    for row in squads.itertuples(index=False):
        if not _missing(row.base_station) and str(row.base_station) not in station_codes:
            issues.append(
                LayerIssue(
                    "squads",
                    str(row.code),
                    f"names a base station {row.base_station!r} that is not in the stations layer.",
                    "add the station or correct base_station in pack.json.",
                )
            )
    return issues


def ensure_valid(pack: LayerPack) -> list[LayerIssue]:
    """Raise :class:`LayerValidationError` on any error; return the warnings."""
    issues = validate_pack(pack)
    errors = [issue for issue in issues if issue.severity == "error"]
    if errors:
        raise LayerValidationError(errors)
    return [issue for issue in issues if issue.severity != "error"]
