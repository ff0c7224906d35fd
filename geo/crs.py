"""Coordinate systems used in China: WGS84, GCJ-02, BD-09, and the metric CRS for Shenzhen.

Storage is WGS84 (EPSG:4326). GCJ-02 (Amap, Tencent) and BD-09 (Baidu) are accepted on input
when declared and converted with the published forward formulas; their inverses are iterative
(a fixed-point iteration on the forward offset), which brings a round trip under a millimetre.
Distances, buffers and areas are computed in EPSG:4547 (CGCS2000 / 3-degree Gauss-Kruger,
central meridian 114E), whose axis order is northing, easting: we always ask pyproj for x, y.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Final, Literal, TypeVar, get_args

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray
from pyproj import Transformer

from .errors import CoordinateError, UnknownCRSError

__all__ = [
    "METRIC_CRS",
    "STORAGE_CRS",
    "CoordSystem",
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "check_lonlat",
    "degree_box",
    "from_metric",
    "from_wgs84",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "geometry_from_metric",
    "geometry_to_metric",
    "parse_crs",
    "to_metric",
    "to_wgs84",
    "wgs84_to_bd09",
    "wgs84_to_gcj02",
]

STORAGE_CRS: Final = "EPSG:4326"
METRIC_CRS: Final = "EPSG:4547"

CoordSystem = Literal["wgs84", "gcj02", "bd09"]
COORD_SYSTEMS: Final[tuple[str, ...]] = get_args(CoordSystem)

FloatArray = NDArray[np.float64]
_Transform = Callable[[FloatArray, FloatArray], tuple[FloatArray, FloatArray]]

# Krasovsky 1940 ellipsoid, as the GCJ-02 algorithm uses it.
_A: Final = 6378245.0
_EE: Final = 0.00669342162296594323
_X_PI: Final = np.pi * 3000.0 / 180.0
# Metres per degree of latitude (and of longitude at the equator), for coarse search boxes.
M_PER_DEG: Final = 111_320.0
# The inverse iterations stop when the forward image is this close (degrees, about 0.1 mm).
_INVERSE_TOLERANCE_DEG: Final = 1e-9
_INVERSE_MAX_ITERATIONS: Final = 30


def parse_crs(name: str) -> CoordSystem:
    """Normalise a declared coordinate system name (``wgs84``, ``gcj02`` or ``bd09``).

    Accepts common spellings (``WGS-84``, ``EPSG:4326``, ``GCJ-02``, ``BD09``).
    """
    key = name.strip().lower().replace("-", "").replace("_", "")
    aliases = {
        "wgs84": "wgs84",
        "epsg:4326": "wgs84",
        "4326": "wgs84",
        "cgcs2000": "wgs84",
        "epsg:4490": "wgs84",
        "gcj02": "gcj02",
        "gcj": "gcj02",
        "amap": "gcj02",
        "bd09": "bd09",
        "bd09ll": "bd09",
        "baidu": "bd09",
    }
    if key not in aliases:
        msg = (
            f"Unknown coordinate system {name!r}: declare one of {', '.join(COORD_SYSTEMS)} "
            "(wgs84 for GPS, gcj02 for Amap/Tencent pickers, bd09 for Baidu)."
        )
        raise UnknownCRSError(msg)
    return aliases[key]  # type: ignore[return-value]


def check_lonlat(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Return ``lon, lat`` as float arrays, or raise naming the first bad coordinate."""
    lon_a = np.asarray(lon, dtype=np.float64)
    lat_a = np.asarray(lat, dtype=np.float64)
    if lon_a.shape != lat_a.shape:
        msg = f"lon and lat differ in shape: {lon_a.shape} vs {lat_a.shape}."
        raise CoordinateError(msg)
    bad_lon = ~np.isfinite(lon_a) | (np.abs(lon_a) > 180.0)
    bad_lat = ~np.isfinite(lat_a) | (np.abs(lat_a) > 90.0)
    if bad_lon.any():
        i = int(np.flatnonzero(bad_lon.ravel())[0])
        msg = (
            f"lon[{i}] = {lon_a.ravel()[i]!r} is not a longitude: give a finite number in "
            "[-180, 180] (degrees east; check that lon and lat are not swapped)."
        )
        raise CoordinateError(msg)
    if bad_lat.any():
        i = int(np.flatnonzero(bad_lat.ravel())[0])
        msg = (
            f"lat[{i}] = {lat_a.ravel()[i]!r} is not a latitude: give a finite number in "
            "[-90, 90] (degrees north; check that lon and lat are not swapped)."
        )
        raise CoordinateError(msg)
    return lon_a, lat_a


def _outside_china(lon: FloatArray, lat: FloatArray) -> NDArray[np.bool_]:
    # GCJ-02 applies no offset outside this box, by the algorithm's own convention.
    return (lon < 72.004) | (lon > 137.8347) | (lat < 0.8293) | (lat > 55.8271)


def _gcj02_offset(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    x = lon - 105.0
    y = lat - 35.0
    sqrt_abs_x = np.sqrt(np.abs(x))
    common = (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    d_lat = (
        -100.0
        + 2.0 * x
        + 3.0 * y
        + 0.2 * y * y
        + 0.1 * x * y
        + 0.2 * sqrt_abs_x
        + common
        + (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
        + (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    )
    d_lon = (
        300.0
        + x
        + 2.0 * y
        + 0.1 * x * x
        + 0.1 * x * y
        + 0.1 * sqrt_abs_x
        + common
        + (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
        + (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    )
    rad_lat = lat / 180.0 * np.pi
    magic = 1.0 - _EE * np.sin(rad_lat) ** 2
    sqrt_magic = np.sqrt(magic)
    d_lat = d_lat * 180.0 / ((_A * (1.0 - _EE)) / (magic * sqrt_magic) * np.pi)
    d_lon = d_lon * 180.0 / (_A / sqrt_magic * np.cos(rad_lat) * np.pi)
    outside = _outside_china(lon, lat)
    return np.where(outside, 0.0, d_lon), np.where(outside, 0.0, d_lat)


def wgs84_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Apply the GCJ-02 offset (WGS84 in, GCJ-02 out)."""
    lon_a, lat_a = check_lonlat(lon, lat)
    d_lon, d_lat = _gcj02_offset(lon_a, lat_a)
    return lon_a + d_lon, lat_a + d_lat


def gcj02_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Apply Baidu's BD-09 transform to GCJ-02 coordinates."""
    x, y = check_lonlat(lon, lat)
    z = np.hypot(x, y) + 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def wgs84_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """WGS84 to BD-09 (through GCJ-02)."""
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def _invert(
    forward: _Transform,
    lon: FloatArray,
    lat: FloatArray,
    *,
    shift: tuple[float, float] = (0.0, 0.0),
) -> tuple[FloatArray, FloatArray]:
    """Invert a smooth, near-identity forward transform by fixed-point iteration.

    ``shift`` is the transform's constant offset, removed from the first guess.
    """
    guess_lon, guess_lat = lon - shift[0], lat - shift[1]
    for _ in range(_INVERSE_MAX_ITERATIONS):
        img_lon, img_lat = forward(guess_lon, guess_lat)
        err_lon, err_lat = img_lon - lon, img_lat - lat
        guess_lon -= err_lon
        guess_lat -= err_lat
        if (
            max(
                float(np.max(np.abs(err_lon), initial=0.0)),
                float(np.max(np.abs(err_lat), initial=0.0)),
            )
            < _INVERSE_TOLERANCE_DEG
        ):
            break
    return guess_lon, guess_lat


def gcj02_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Remove the GCJ-02 offset (iterative inverse; round trip well under 0.5 m)."""
    lon_a, lat_a = check_lonlat(lon, lat)
    return _invert(wgs84_to_gcj02, lon_a, lat_a)


def bd09_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Undo Baidu's BD-09 transform (iterative inverse of :func:`gcj02_to_bd09`)."""
    lon_a, lat_a = check_lonlat(lon, lat)
    # The closed-form inverse in circulation is off by up to a metre: iterate from the shift.
    return _invert(gcj02_to_bd09, lon_a, lat_a, shift=(0.0065, 0.006))


def bd09_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """BD-09 to WGS84 (through GCJ-02)."""
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


def to_wgs84(
    lon: ArrayLike, lat: ArrayLike, *, source: str = "wgs84"
) -> tuple[FloatArray, FloatArray]:
    """Convert coordinates declared in ``source`` (wgs84, gcj02 or bd09) to WGS84."""
    system = parse_crs(source)
    if system == "gcj02":
        return gcj02_to_wgs84(lon, lat)
    if system == "bd09":
        return bd09_to_wgs84(lon, lat)
    return check_lonlat(lon, lat)


def from_wgs84(
    lon: ArrayLike, lat: ArrayLike, *, target: str = "wgs84"
) -> tuple[FloatArray, FloatArray]:
    """Convert WGS84 coordinates to ``target`` (wgs84, gcj02 or bd09), e.g. to draw on Amap."""
    system = parse_crs(target)
    if system == "gcj02":
        return wgs84_to_gcj02(lon, lat)
    if system == "bd09":
        return wgs84_to_bd09(lon, lat)
    return check_lonlat(lon, lat)


def degree_box(
    lon: float, lat: float, radius_m: float, *, margin: float = 1.05
) -> tuple[float, float, float, float]:
    """A lon/lat box holding every point within ``radius_m`` of (lon, lat), a little larger.

    For index pre-filters only: the exact distance is measured afterwards in :data:`METRIC_CRS`.
    """
    dlat = radius_m * margin / M_PER_DEG
    dlon = radius_m * margin / (M_PER_DEG * max(np.cos(np.radians(lat)), 1e-6))
    return lon - dlon, lat - dlat, lon + dlon, lat + dlat


@cache
def _transformer(source: str, target: str) -> Transformer:
    # pyproj makes a transformer anew in every thread that uses it; made from the CRS codes
    # that is a PROJ database lookup of ~80 ms, paid by the first request on each of a
    # server's threads (recommendation p99 1.2 s while a worker warms). The same operation as
    # a pipeline string is made in 0.3 ms and gives the same coordinates.
    chosen = Transformer.from_crs(source, target, always_xy=True)
    return Transformer.from_pipeline(chosen.definition)


def to_metric(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Project WGS84 lon/lat to EPSG:4547 easting/northing in metres."""
    x, y = _transformer(STORAGE_CRS, METRIC_CRS).transform(
        np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)
    )
    return np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)


def from_metric(x: ArrayLike, y: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Unproject EPSG:4547 easting/northing to WGS84 lon/lat."""
    lon, lat = _transformer(METRIC_CRS, STORAGE_CRS).transform(
        np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    )
    return np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)


# A shapely geometry or an array of them: shapely.transform maps either.
Geometries = TypeVar("Geometries", shapely.Geometry, NDArray[np.object_])


def _xy_to_metric(xy: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.column_stack(to_metric(xy[:, 0], xy[:, 1]))


def _xy_from_metric(xy: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.column_stack(from_metric(xy[:, 0], xy[:, 1]))


def geometry_to_metric(geometry: Geometries) -> Geometries:
    """A WGS84 geometry (or array of them) in EPSG:4547."""
    projected: Geometries = shapely.transform(geometry, _xy_to_metric)
    return projected


def geometry_from_metric(geometry: Geometries) -> Geometries:
    """An EPSG:4547 geometry (or array of them) back in WGS84."""
    unprojected: Geometries = shapely.transform(geometry, _xy_from_metric)
    return unprojected
