"""The jurisdiction map: communities by squad, key roads, stations and recent incidents.

:func:`render_jurisdiction` is a pure renderer: it takes a layer pack (and optionally incidents)
and returns a :class:`folium.Map`; it reads no files and no database. Geometry is stored in WGS84;
on the Amap basemap (GCJ-02 tiles) every overlay vertex is shifted to GCJ-02 for display only,
so a page shows one basemap family and links to the others (``?basemap=amap``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import TYPE_CHECKING, Any, Final

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import Figure
from folium.plugins import MarkerCluster

from geo import crs as geocrs
from geo.jurisdiction import Jurisdiction

from . import basemaps
from ._style import basemap_links, category_colour, squad_colour
from ._templating import render

if TYPE_CHECKING:  # maps depends on geo only; a pack is duck-typed data here (design.md)
    from layers.pack import LayerPack

__all__ = ["DEFAULT_TITLE", "render_jurisdiction"]

DEFAULT_TITLE: Final = "清水河街道 综合执法进社区 — jurisdiction"
_TIMEZONE: Final = "Asia/Shanghai"
_STATION_ICONS: Final = {
    "enforcement_base": ("darkblue", "flag", "执法队驻点 enforcement base"),
    "police_station": ("red", "shield-halved", "派出所 police station"),
}
_OTHER_STATION: Final = ("gray", "circle-info", "其他站点 other station")
_SOURCES_ZH: Final = {
    "daily_inspection": "日常巡查 daily inspection",
    "complaint": "群众投诉 complaint",
    "special_inspection": "专项检查 special inspection",
    "patrol": "中队巡查 patrol",
}


def _display_frame(
    frame: gpd.GeoDataFrame, columns: list[str], shift: basemaps.Shifter
) -> gpd.GeoDataFrame:
    frame = frame.to_crs(geocrs.STORAGE_CRS)
    data = {c: frame[c].astype(object).where(frame[c].notna(), "").astype(str) for c in columns}
    geoms = shift(np.asarray(frame.geometry.values, dtype=object))
    return gpd.GeoDataFrame(data, geometry=list(geoms), crs=geocrs.STORAGE_CRS)


def _incident_frame(incidents: pd.DataFrame, pack: LayerPack) -> pd.DataFrame:
    """Incidents as a plain frame with lon/lat (WGS84) and the resolved jurisdiction columns."""
    if isinstance(incidents, gpd.GeoDataFrame):
        points = incidents.to_crs(geocrs.STORAGE_CRS) if incidents.crs else incidents
        frame = pd.DataFrame(incidents.drop(columns=incidents.geometry.name))
        frame["lon"], frame["lat"] = points.geometry.x.to_numpy(), points.geometry.y.to_numpy()
    elif {"lon", "lat"} <= set(incidents.columns):
        frame = incidents.copy()
    else:
        msg = (
            "incidents need lon and lat columns (WGS84) or a GeoDataFrame geometry; got "
            f"columns {', '.join(map(str, incidents.columns))}."
        )
        raise ValueError(msg)
    frame = frame.reset_index(drop=True)
    if "category" not in frame.columns:
        frame["category"] = "C21"
    wanted = ("community_name", "squad", "key_road_name")
    if len(frame) and not all(c in frame.columns for c in wanted):
        resolved = Jurisdiction.build(pack.communities, pack.key_roads).resolve(
            frame["lon"].to_numpy(), frame["lat"].to_numpy()
        )
        for column in ("community_code", *wanted):
            if column not in frame.columns:
                frame[column] = resolved[column].astype(object).to_numpy()
    return frame


def _text(value: Any) -> str:
    if value is None or (not isinstance(value, (list, tuple, np.ndarray)) and pd.isna(value)):
        return ""
    return str(value)


def _time_text(value: Any) -> str:
    if value is None or pd.isna(value):
        return ""
    stamp = pd.Timestamp(value)
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert(_TIMEZONE)
    return stamp.strftime("%Y-%m-%d %H:%M")


def _popup_html(row: Mapping[str, Any], category_name: str, squad_names: Mapping[str, str]) -> str:
    squad = _text(row.get("squad"))
    lines = [
        ("时间 time", _time_text(row.get("occurred_at"))),
        ("来源 source", _SOURCES_ZH.get(_text(row.get("source")), _text(row.get("source")))),
        ("社区 community", _text(row.get("community_name")) or _text(row.get("community_code"))),
        ("中队 squad", squad_names.get(squad, squad)),
        ("重点路段 key road", _text(row.get("key_road_name"))),
    ]
    return render(
        "incident_popup.html.j2",
        category=category_name,
        rows=lines,
        urgent=row.get("urgent") is True,
        description=_text(row.get("description")),
    )


def _add_incidents(
    m: folium.Map,
    frame: pd.DataFrame,
    shift_points: basemaps.Shifter,
    categories: Mapping[str, str],
    squad_names: Mapping[str, str],
    cluster_threshold: int,
) -> list[tuple[str, str, int]]:
    """One FeatureGroup per category (a MarkerCluster inside when it has many markers)."""
    points = shift_points(
        np.asarray(shapely.points(frame["lon"].to_numpy(), frame["lat"].to_numpy()), dtype=object)
    )
    frame = frame.assign(_x=shapely.get_x(points), _y=shapely.get_y(points))
    shown: list[tuple[str, str, int]] = []
    for code in sorted(frame["category"].astype(str).unique()):
        rows = frame[frame["category"].astype(str) == code]
        label = f"{code} {categories.get(code, '')}".strip()
        group = folium.FeatureGroup(name=f"{label} ({len(rows)})", show=True)
        target: Any = (
            MarkerCluster(
                name=f"{label} cluster",  # type: ignore[no-untyped-call]
                control=False,
            ).add_to(group)
            if len(rows) > cluster_threshold
            else group
        )
        colour = category_colour(code)
        for row in rows.to_dict(orient="records"):
            folium.CircleMarker(
                location=(row["_y"], row["_x"]),
                radius=6,
                color="#222222",
                weight=1,
                fill=True,
                fill_color=colour,
                fill_opacity=0.85,
                popup=folium.Popup(_popup_html(row, label, squad_names), max_width=340),
                tooltip=escape(label),
            ).add_to(target)
        group.add_to(m)
        shown.append((code, label, len(rows)))
    return shown


def _title_html(
    title: str,
    note: str | None,
    basemap: str,
    basemap_note: str | None,
    link_params: Mapping[str, str],
    pages: Sequence[tuple[str, str]] = (),
) -> str:
    return render(
        "jurisdiction_title.html.j2",
        title=title,
        basemap_links=basemap_links(basemap, link_params),
        pages=pages,
        amap=basemap == "amap",
        basemap_note=basemap_note,
        note=note,
    )


def _legend_html(
    squads: list[tuple[str, str, str]],
    station_kinds: list[str],
    incidents: list[tuple[str, str, int]],
) -> str:
    stations = [
        (colour, text)
        for colour, _, text in (_STATION_ICONS.get(kind, _OTHER_STATION) for kind in station_kinds)
    ]
    return render(
        "jurisdiction_legend.html.j2",
        squads=[(colour, name) for _, name, colour in squads],
        stations=stations,
        incidents=[(category_colour(code), label, n) for code, label, n in incidents],
    )


def _pack_note(pack: LayerPack) -> str | None:
    """The pack's "approximate, not official" warning, shown on every map of it."""
    meta = pack.metadata
    if meta.get("official") is True:
        return None
    status = str(meta.get("status") or meta.get("note") or "").strip()
    text = "示意边界，非官方 Approximate, not official"
    return f"{text}: {status}" if status else text


def render_jurisdiction(
    pack: LayerPack,
    *,
    incidents: pd.DataFrame | gpd.GeoDataFrame | None = None,
    basemap: str = "osm",
    tianditu_key: str | None = None,
    categories: Mapping[str, str] | None = None,
    title: str | None = None,
    link_params: Mapping[str, str] | None = None,
    cluster_threshold: int = 200,
    pages: Sequence[tuple[str, str]] = (),
) -> folium.Map:
    """Render the jurisdiction: communities by squad, key roads, stations and incidents.

    Parameters
    ----------
    pack
        The layer pack (EPSG:4326).
    incidents
        Recent incidents: ``lon``/``lat`` (WGS84) or a point geometry, ``category`` and
        optionally ``occurred_at``, ``source``, ``description``, ``urgent``; the community, squad
        and key road are resolved from the pack when the frame lacks them.
    basemap
        ``osm``, ``tianditu`` (needs ``tianditu_key``; falls back to OSM with a note) or
        ``amap`` (overlays shifted to GCJ-02 for display).
    tianditu_key
        Tianditu key (tk); without it Tianditu is not offered.
    categories
        Category code to name (e.g. ``{"C02": "占道施工与摆摊设点"}``) for labels and popups.
    title
        The title box's text (default :data:`DEFAULT_TITLE`).
    link_params
        Extra query parameters kept in the basemap switch links (e.g. ``{"days": "7"}``).
    cluster_threshold
        Categories with more markers than this are clustered.
    pages
        ``(label, href)`` links to the other pages, shown under the title.

    Returns
    -------
    folium.Map
        Render it with ``m.get_root().render()``.
    """
    chosen = basemaps.parse_basemap(basemap)
    basemap_note = basemaps.unavailable_reason("tianditu", tianditu_key=tianditu_key)
    if chosen == "tianditu" and basemap_note is not None:
        basemap_note = f"{basemap_note} Showing OpenStreetMap."
        chosen = "osm"
    shift = basemaps.display_shifter(chosen)
    categories = categories or {}
    squad_order = [str(s) for s in pack.squads["code"]] if len(pack.squads) else []
    squad_order += sorted({str(s) for s in pack.communities["squad"]} - set(squad_order))
    squad_names = {str(r.code): str(r.name_zh or r.code) for r in pack.squads.itertuples()}
    squad_label = {s: f"{squad_names.get(s, s)} ({s})" for s in squad_order}
    colours = {s: squad_colour(s, squad_order) for s in squad_order}

    communities = _display_frame(pack.communities, ["code", "name_zh", "squad"], shift)
    communities["squad_label"] = [squad_label.get(s, s) for s in communities["squad"]]
    west, south, east, north = communities.total_bounds
    m = folium.Map(
        location=((south + north) / 2, (west + east) / 2),
        zoom_start=14,
        tiles=None,
        control_scale=True,
    )
    if chosen == "amap":
        for layer in basemaps.tile_layers("amap"):
            layer.add_to(m)
    else:
        # Both WGS84 basemaps can share the page; the chosen one is shown first.
        offered = [chosen] + [
            b
            for b in ("osm", "tianditu")
            if b != chosen and basemaps.unavailable_reason(b, tianditu_key=tianditu_key) is None
        ]
        for code in offered:
            for layer in basemaps.tile_layers(code, tianditu_key=tianditu_key, show=code == chosen):
                layer.add_to(m)

    folium.GeoJson(
        communities.__geo_interface__,
        name="社区 communities (by squad)",
        style_function=lambda f: {
            "fillColor": colours.get(f["properties"]["squad"], "#888"),
            "color": colours.get(f["properties"]["squad"], "#888"),
            "weight": 2,
            "fillOpacity": 0.12,
        },
        highlight_function=lambda _f: {"weight": 3, "fillOpacity": 0.25},
        tooltip=folium.GeoJsonTooltip(
            fields=["code", "name_zh", "squad_label"],
            aliases=["社区代码 code", "社区 community", "中队 squad"],
        ),
    ).add_to(m)
    labels = folium.FeatureGroup(name="社区名称 community names")
    anchors = shapely.point_on_surface(np.asarray(communities.geometry.values, dtype=object))
    for name, point in zip(communities["name_zh"], anchors, strict=True):
        folium.Marker(
            location=(point.y, point.x),
            icon=folium.DivIcon(
                html=render("community_label.html.j2", name=name),
                icon_size=(90, 18),
                icon_anchor=(45, 9),
            ),
        ).add_to(labels)
    labels.add_to(m)

    if len(pack.key_roads):
        roads = _display_frame(pack.key_roads, ["road_id", "name_zh", "squad"], shift)
        roads["squad_label"] = [squad_label.get(s, s) for s in roads["squad"]]
        folium.GeoJson(
            roads.__geo_interface__,
            name="重点路段 key roads",
            style_function=lambda f: {
                "color": colours.get(f["properties"]["squad"], "#555"),
                "weight": 7,
                "opacity": 0.85,
            },
            tooltip=folium.GeoJsonTooltip(
                fields=["name_zh", "squad_label"], aliases=["重点路段 key road", "负责中队 squad"]
            ),
        ).add_to(m)

    station_kinds: list[str] = []
    if len(pack.stations):
        stations = _display_frame(pack.stations, ["code", "name_zh", "name_en", "kind"], shift)
        group = folium.FeatureGroup(name="站点 stations")
        for row in stations.itertuples():
            colour, icon, kind_text = _STATION_ICONS.get(row.kind, _OTHER_STATION)
            station_kinds.append(row.kind)
            folium.Marker(
                location=(row.geometry.y, row.geometry.x),
                tooltip=escape(row.name_zh),
                popup=folium.Popup(
                    render(
                        "station_popup.html.j2",
                        name_zh=row.name_zh,
                        name_en=row.name_en,
                        kind=kind_text,
                    ),
                    max_width=300,
                ),
                icon=folium.Icon(color=colour, icon=icon, prefix="fa"),
            ).add_to(group)
        group.add_to(m)

    shown: list[tuple[str, str, int]] = []
    if incidents is not None and len(incidents):
        shown = _add_incidents(
            m, _incident_frame(incidents, pack), shift, categories, squad_names, cluster_threshold
        )

    folium.LayerControl(collapsed=len(shown) > 12).add_to(m)
    root = m.get_root()
    if not isinstance(root, Figure):  # folium maps always sit in a branca Figure
        msg = "Expected the map's root to be a branca Figure."
        raise TypeError(msg)
    root.html.add_child(
        folium.Element(
            _title_html(
                title or DEFAULT_TITLE,
                _pack_note(pack),
                chosen,
                basemap_note,
                link_params or {},
                pages,
            )
        )
    )
    root.html.add_child(
        folium.Element(
            _legend_html(
                [(s, squad_label[s], colours[s]) for s in squad_order],
                list(dict.fromkeys(station_kinds)),
                shown,
            )
        )
    )
    m.fit_bounds([(south, west), (north, east)])
    return m
