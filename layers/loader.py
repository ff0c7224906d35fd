"""Read one vector layer (GeoJSON, GeoPackage, Shapefile) into a GeoDataFrame in EPSG:4326.

The CRS comes from the file or is declared by the caller. Files digitized on Amap or Baidu are
GCJ-02 or BD-09 but say they are WGS84 (their pixels carry no CRS of their own), so those two are
declared with ``source_crs="gcj02"`` or ``"bd09"`` and converted vertex by vertex here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from numpy.typing import NDArray

from geo import crs as geocrs
from geo.errors import UnknownCRSError

from .limits import ReadLimits, check_coordinates, check_lonlat, read_limited

__all__ = ["SUPPORTED_SUFFIXES", "read_layer", "read_metadata"]

SUPPORTED_SUFFIXES = (".geojson", ".json", ".gpkg", ".shp", ".zip")


def _transform_coords(source: str) -> Any:
    def convert(coords: NDArray[np.float64]) -> NDArray[np.float64]:
        lon, lat = geocrs.to_wgs84(coords[:, 0], coords[:, 1], source=source)
        return np.column_stack([lon, lat])

    return convert


def read_layer(
    path: str | Path,
    *,
    layer: str | None = None,
    source_crs: str | None = None,
    limits: ReadLimits | None = None,
) -> gpd.GeoDataFrame:
    """Read a vector layer and return it in EPSG:4326.

    Parameters
    ----------
    path
        A GeoJSON, GeoPackage or Shapefile (``.shp`` or zipped).
    layer
        The layer name inside a GeoPackage with several layers.
    source_crs
        Declares the coordinates: ``wgs84``/``gcj02``/``bd09`` for lon/lat files, or any CRS
        pyproj knows (``EPSG:4547``). Needed when the file has no CRS; overrides the file's CRS
        when given, since GCJ-02 and BD-09 files always claim to be WGS84.
    limits
        Size, feature and vertex limits (:class:`layers.limits.ReadLimits`; default its
        defaults); over one, or with coordinates that are not finite lon/lat once converted,
        :class:`layers.limits.LayerLimitError` names the feature and the fix.
    """
    path = Path(path)
    if not path.exists():
        msg = f"{path}: no such file. Give the path of a GeoJSON, GeoPackage or Shapefile."
        raise FileNotFoundError(msg)
    if path.suffix.lower() not in SUPPORTED_SUFFIXES:
        msg = (
            f"{path}: unsupported format {path.suffix!r}. Convert it to one of "
            f"{', '.join(SUPPORTED_SUFFIXES)} (e.g. with ogr2ogr)."
        )
        raise ValueError(msg)
    frame = read_limited(path, layer=layer, limits=limits or ReadLimits())
    declared = None
    if source_crs is not None:
        try:
            declared = geocrs.parse_crs(source_crs)
        except UnknownCRSError:
            declared = None
            frame = frame.set_crs(source_crs, allow_override=True)
    if declared in ("gcj02", "bd09"):
        check_lonlat(frame, path=path, declared=declared)
        frame = frame.set_crs(geocrs.STORAGE_CRS, allow_override=True)
        frame["geometry"] = shapely.transform(frame.geometry.values, _transform_coords(declared))
    elif declared == "wgs84":
        frame = frame.set_crs(geocrs.STORAGE_CRS, allow_override=True)
    if frame.crs is None:
        msg = (
            f"{path}: the file declares no CRS. Pass source_crs (wgs84, gcj02, bd09 or an "
            "EPSG code such as EPSG:4547)."
        )
        raise ValueError(msg)
    if not frame.crs.equals(geocrs.STORAGE_CRS):
        frame = frame.to_crs(geocrs.STORAGE_CRS)
        # A projected coordinate far out of range converts to infinity.
        check_coordinates(frame, path=path, what="coordinate out of range once converted")
    check_lonlat(frame, path=path, declared=None)
    return frame


def read_metadata(path: str | Path) -> dict[str, Any]:
    """The top-level ``metadata`` object of a GeoJSON file ({} for other formats or none)."""
    path = Path(path)
    if path.suffix.lower() not in (".geojson", ".json"):
        return {}
    with path.open(encoding="utf-8") as handle:
        data = json.load(handle)
    meta = data.get("metadata", {}) if isinstance(data, dict) else {}
    return meta if isinstance(meta, dict) else {}
