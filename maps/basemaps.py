"""Basemaps offered under the jurisdiction maps: OpenStreetMap, Tianditu (天地图) and Amap (高德).

OpenStreetMap and Tianditu are drawn in WGS84/CGCS2000 (the same within a metre), so overlays go
on them unchanged and both can be offered on one page. Amap tiles are GCJ-02: overlays must be
shifted to GCJ-02 for display (see :func:`display_crs`), so an Amap page offers only Amap.
Tianditu needs a key (tk); without one it is not offered and :func:`unavailable_reason` says why.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Literal
from urllib.parse import quote

import folium
import numpy as np
import shapely
from numpy.typing import NDArray

from geo import crs as geocrs

__all__ = [
    "BASEMAPS",
    "Basemap",
    "Shifter",
    "display_crs",
    "display_shifter",
    "parse_basemap",
    "tile_layers",
    "unavailable_reason",
]

DisplayCRS = Literal["wgs84", "gcj02"]

_TIANDITU: Final = (
    "https://t{{s}}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile"
    "&VERSION=1.0.0&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles"
    "&TILEMATRIX={{z}}&TILEROW={{y}}&TILECOL={{x}}&tk={key}"
)


@dataclass(frozen=True, slots=True)
class Basemap:
    """One basemap: its tiles, attribution and the CRS overlays must be drawn in.

    Parameters
    ----------
    code
        ``osm``, ``tianditu`` or ``amap``: the value of the page's ``?basemap=``.
    name
        Label in the layer control.
    url
        Tile URL template; ``{key}`` is replaced by the key when ``needs_key``.
    attribution
        HTML attribution shown in the map corner.
    crs
        ``wgs84`` or ``gcj02``: the coordinates the tiles are drawn in.
    subdomains
        Leaflet's ``{s}`` values.
    needs_key
        Whether the provider requires a key (Tianditu's ``tk``).
    label_url
        An annotation layer drawn over the tiles (Tianditu's ``cva``), or ``None``.
    max_zoom
        The deepest zoom level the provider serves.
    """

    code: str
    name: str
    url: str
    attribution: str
    crs: DisplayCRS
    subdomains: str = "abc"
    needs_key: bool = False
    label_url: str | None = None
    max_zoom: int = 19


BASEMAPS: Final[dict[str, Basemap]] = {
    "osm": Basemap(
        code="osm",
        name="OpenStreetMap",
        url="https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        attribution=(
            '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a>'
            " contributors"
        ),
        crs="wgs84",
        subdomains="abc",
    ),
    "tianditu": Basemap(
        code="tianditu",
        name="天地图 Tianditu",
        url=_TIANDITU.format(layer="vec", key="{key}"),
        attribution=(
            '&copy; <a href="https://www.tianditu.gov.cn/">天地图</a> 国家地理信息公共服务平台'
        ),
        crs="wgs84",
        subdomains="01234567",
        needs_key=True,
        label_url=_TIANDITU.format(layer="cva", key="{key}"),
        max_zoom=18,
    ),
    "amap": Basemap(
        code="amap",
        name="高德地图 Amap (GCJ-02)",
        url=(
            "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8"
            "&x={x}&y={y}&z={z}"
        ),
        attribution='&copy; <a href="https://www.amap.com/">高德地图</a> AutoNavi',
        crs="gcj02",
        subdomains="1234",
        max_zoom=18,
    ),
}


def parse_basemap(name: str) -> str:
    """Normalise a basemap name (``osm``, ``tianditu``, ``amap``; a few aliases accepted).

    Raises
    ------
    ValueError
        When the name is not a known basemap.
    """
    key = name.strip().lower()
    aliases = {
        "openstreetmap": "osm",
        "tdt": "tianditu",
        "天地图": "tianditu",
        "gaode": "amap",
        "高德": "amap",
        "autonavi": "amap",
    }
    key = aliases.get(key, key)
    if key not in BASEMAPS:
        msg = f"Unknown basemap {name!r}: use one of {', '.join(BASEMAPS)}."
        raise ValueError(msg)
    return key


def display_crs(name: str) -> DisplayCRS:
    """The coordinates overlays must be drawn in on this basemap (``wgs84`` or ``gcj02``)."""
    return BASEMAPS[parse_basemap(name)].crs


def unavailable_reason(name: str, *, tianditu_key: str | None = None) -> str | None:
    """Why a basemap cannot be offered (``None`` when it can)."""
    basemap = BASEMAPS[parse_basemap(name)]
    if basemap.needs_key and not (tianditu_key and tianditu_key.strip()):
        return (
            f"{basemap.name} needs a key (tk): register one at "
            "https://console.tianditu.gov.cn/ and configure it to offer this basemap."
        )
    return None


def tile_layers(
    name: str, *, tianditu_key: str | None = None, show: bool = True
) -> list[folium.TileLayer]:
    """The folium tile layers of a basemap (Tianditu: vector tiles plus its label overlay).

    Raises
    ------
    ValueError
        When the basemap is unknown or needs a key that was not given.
    """
    basemap = BASEMAPS[parse_basemap(name)]
    reason = unavailable_reason(basemap.code, tianditu_key=tianditu_key)
    if reason is not None:
        raise ValueError(reason)
    key = quote((tianditu_key or "").strip(), safe="")
    layers = [
        folium.TileLayer(
            tiles=basemap.url.replace("{key}", key),
            attr=basemap.attribution,
            name=basemap.name,
            subdomains=basemap.subdomains,
            max_zoom=basemap.max_zoom,
            show=show,
        )
    ]
    if basemap.label_url is not None:
        layers.append(
            folium.TileLayer(
                tiles=basemap.label_url.replace("{key}", key),
                attr=basemap.attribution,
                name=f"{basemap.name} 注记 labels",
                subdomains=basemap.subdomains,
                max_zoom=basemap.max_zoom,
                overlay=True,
                show=show,
            )
        )
    return layers


Shifter = Callable[[NDArray[np.object_]], NDArray[np.object_]]


def display_shifter(name: str) -> Shifter:
    """A function moving WGS84 geometries to the display coordinates of basemap ``name``.

    Data stay WGS84; only what is drawn on GCJ-02 tiles (Amap) is shifted.
    """
    target = display_crs(name)
    if target == "wgs84":
        return lambda geoms: geoms

    def to_display(xy: NDArray[np.float64]) -> NDArray[np.float64]:
        lon, lat = geocrs.from_wgs84(xy[:, 0], xy[:, 1], target=target)
        return np.column_stack([lon, lat])

    return lambda geoms: np.asarray(shapely.transform(geoms, to_display), dtype=object)
