"""Limits on what a layer file may hold, checked while it is read, each refusal naming the fix.

A layer is a file someone hands over: a district's hand-traced polygons, an export from a
GIS, or something hostile. Before jiedao builds anything from it, the file must be of a size,
a feature count and a vertex count a jurisdiction layer can have, with finite coordinates in
range. Each check runs as early as it can: the size before the file is opened, the feature
count from the file's header (GDAL) before a feature is read, the vertices and coordinates on
the geometry arrays (shapely, vectorised), so a refusal costs seconds, not the minutes and
gigabytes an over-large layer takes to import. GDAL's own refusals (a GeoJSON object too
large, nesting too deep) are translated into the same kind of message.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import geopandas as gpd
import numpy as np
import pyogrio
import pyogrio.errors
import shapely

__all__ = [
    "CHINA_BOUNDS",
    "LayerLimitError",
    "ReadLimits",
    "check_coordinates",
    "check_lonlat",
    "read_limited",
]

# Identifier columns of the pack's layers, in the order a feature is best named by.
_ID_COLUMNS: Final = ("code", "road_id", "place_id", "name_zh", "name")
# A generous box around China (lon/lat): GCJ-02 and BD-09 exist only inside it, and a layer's
# coordinates outside it mean a wrong CRS or swapped axes (layers.validation).
CHINA_BOUNDS: Final = (73.0, 3.0, 136.0, 54.0)


class LayerLimitError(ValueError):
    """A layer file over a limit or not readable; the message names the feature and the fix."""


@dataclass(frozen=True, slots=True)
class ReadLimits:
    """What one layer file may hold.

    Parameters
    ----------
    max_file_mb
        File size in MiB (a sub-district's layers are a few MiB).
    max_features
        Features per layer (communities, roads, places: a city's street network is ~10^5).
    max_vertices
        Vertices per geometry (a hand-traced community outline has a few thousand).
    """

    max_file_mb: float = 100.0
    max_features: int = 200_000
    max_vertices: int = 200_000

    def __post_init__(self) -> None:
        for name in ("max_file_mb", "max_features", "max_vertices"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
                msg = f"Expected {name} > 0, got {value!r}."
                raise ValueError(msg)


def _feature_name(frame: gpd.GeoDataFrame, i: int) -> str:
    for column in _ID_COLUMNS:
        if column in frame.columns:
            value = frame[column].iloc[i]
            if value is not None and not (isinstance(value, float) and math.isnan(value)):
                return f"feature #{i} ({column} {value})"
    return f"feature #{i}"


def _gdal_refusal(path: Path, exc: Exception, limits: ReadLimits) -> LayerLimitError:
    text = str(exc)
    # GDAL's own advice (raise OGR_GEOJSON_MAX_OBJ_SIZE) is not ours to give: keep the where.
    where = text.split(";")[-1].split(" You may")[0].strip().rstrip(".")
    if "too complex/large" in text:
        return LayerLimitError(
            f"{path}: a feature is larger than a GeoJSON object may be ({where}). "
            f"Simplify it (e.g. ogr2ogr -simplify 0.5, or QGIS Simplify): a jurisdiction "
            f"layer needs at most {limits.max_vertices:,} vertices per feature."
        )
    if "Too many nested" in text:
        return LayerLimitError(
            f"{path}: its JSON is nested deeper than GeoJSON ever is ({where}); it is not a "
            "GeoJSON layer. Export the layer "
            "again from the GIS as GeoJSON or GeoPackage."
        )
    return LayerLimitError(
        f"{path}: cannot be read as a vector layer ({text}). Check that it opens in QGIS, and "
        "export it as GeoJSON or GeoPackage."
    )


def read_limited(path: Path, *, layer: str | None, limits: ReadLimits) -> gpd.GeoDataFrame:
    """Read a vector layer within ``limits`` (raises :class:`LayerLimitError` naming the fix)."""
    size_mb = path.stat().st_size / 2**20
    if size_mb > limits.max_file_mb:
        raise LayerLimitError(
            f"{path}: {size_mb:,.1f} MiB, over the limit of {limits.max_file_mb:,g} MiB for a "
            "layer file. Clip it to the jurisdiction or simplify it; or raise "
            "JIEDAO_LAYER_MAX_FILE_MB if the layer really is that large."
        )
    try:
        features = int(pyogrio.read_info(path, layer=layer)["features"])
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise _gdal_refusal(path, exc, limits) from None
    if features > limits.max_features:
        raise LayerLimitError(
            f"{path}: {features:,} features, over the limit of {limits.max_features:,} per "
            "layer. Clip it to the jurisdiction (a sub-district's layer has hundreds to "
            "thousands); or raise JIEDAO_LAYER_MAX_FEATURES."
        )
    try:
        frame = pyogrio.read_dataframe(path, layer=layer)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise _gdal_refusal(path, exc, limits) from None
    except pyogrio.errors.GeometryError as exc:
        raise LayerLimitError(
            f"{path}: a geometry cannot be read ({exc}). Repair the layer in the GIS "
            "(QGIS: Fix geometries) and export it again."
        ) from None
    geoms = np.asarray(frame.geometry.values, dtype=object)
    counts = shapely.get_num_coordinates(geoms)
    over = np.flatnonzero(counts > limits.max_vertices)
    if len(over):
        i = int(over[0])
        raise LayerLimitError(
            f"{path}: {_feature_name(frame, i)} has {int(counts[i]):,} vertices, over the "
            f"limit of {limits.max_vertices:,} per feature. Simplify it (e.g. ogr2ogr -simplify "
            "0.5, or QGIS Simplify at 0.5 m); or raise JIEDAO_LAYER_MAX_VERTICES."
        )
    check_coordinates(frame, path=path, what="coordinates")
    return frame


def check_coordinates(frame: gpd.GeoDataFrame, *, path: Path, what: str) -> None:
    """Every coordinate finite (no NaN, no infinity), naming the first feature that is not."""
    geoms = np.asarray(frame.geometry.values, dtype=object)
    coords, index = shapely.get_coordinates(geoms, return_index=True)
    bad = ~np.isfinite(coords).all(axis=1)
    if bad.any():
        i = int(index[np.flatnonzero(bad)[0]])
        raise LayerLimitError(
            f"{path}: {_feature_name(frame, i)} has a {what} that is not a finite number "
            f"({coords[bad][0].tolist()}). Fix or drop the feature in the GIS."
        )


def check_lonlat(frame: gpd.GeoDataFrame, *, path: Path, declared: str | None) -> None:
    """Longitudes and latitudes in range; GCJ-02 and BD-09 only inside China, where they exist."""
    geoms = np.asarray(frame.geometry.values, dtype=object)
    coords, index = shapely.get_coordinates(geoms, return_index=True)
    if not len(coords):
        return
    lon, lat = coords[:, 0], coords[:, 1]
    outside = (np.abs(lon) > 180) | (np.abs(lat) > 90)
    if outside.any():
        k = int(np.flatnonzero(outside)[0])
        raise LayerLimitError(
            f"{path}: {_feature_name(frame, int(index[k]))} has lon/lat ({lon[k]:g}, "
            f"{lat[k]:g}), outside the globe. Declare the layer's CRS (source_crs, e.g. "
            "EPSG:4547 for projected metres), or fix swapped or scaled coordinates."
        )
    if declared in ("gcj02", "bd09"):
        lon_min, lat_min, lon_max, lat_max = CHINA_BOUNDS
        abroad = (lon < lon_min) | (lon > lon_max) | (lat < lat_min) | (lat > lat_max)
        if abroad.any():
            k = int(np.flatnonzero(abroad)[0])
            raise LayerLimitError(
                f"{path}: declared {declared.upper()}, but {_feature_name(frame, int(index[k]))} "
                f"lies outside China ({lon[k]:g}, {lat[k]:g}), where {declared.upper()} is not "
                "used. Declare the CRS the file is really in (wgs84, or its EPSG code)."
            )
