"""The hot-spot map: Gi* cells, heat, community rates, weekly animation and campaign targets.

:func:`render_hotspots` is a pure renderer: the results of :mod:`geo.getisord`,
:mod:`geo.density`, :mod:`geo.cells` and :mod:`geo.campaign` in, a :class:`folium.Map` out; it
reads no files and no database. It draws Gi* cells by confidence, a heat layer, community rates,
a week-by-week animation and the campaign target list. Cells are coloured as ArcGIS's Hot Spot
Analysis colours its bins (red hot, blue cold, by 99/95/90 % confidence; not significant cells
are only outlined). The target list floats on the map and each entry zooms to its cell. On the
Amap basemap every overlay is shifted to GCJ-02 for display only, as in :mod:`maps.jurisdiction`.

The heat layers use folium's ``HeatMap`` (Leaflet.heat) and ``HeatMapWithTime``
(Leaflet.TimeDimension, heatmap.js); :func:`maps.assets.offline_html` serves them locally.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any, Final

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import Figure
from folium.plugins import HeatMap, HeatMapWithTime
from markupsafe import Markup

from geo import crs as geocrs
from geo.campaign import CampaignTarget
from geo.density import DensitySurface
from geo.getisord import BIN_LABELS, TRENDS

from . import basemaps
from ._style import basemap_links
from ._templating import render

__all__ = ["BIN_COLOURS", "DEFAULT_TITLE", "RATE_COLOURS", "filter_form", "render_hotspots"]

DEFAULT_TITLE: Final = "清水河街道 热点分析 — hot spots for focused remediation (集中整治)"
# ArcGIS's hot-spot palette (ColorBrewer RdYlBu): red hot, blue cold, paler = less confident.
BIN_COLOURS: Final[dict[int, str]] = {
    3: "#d7191c",
    2: "#fc8d59",
    1: "#fdd49e",
    0: "#bdbdbd",
    -1: "#c6dbef",
    -2: "#91bfdb",
    -3: "#2c7bb6",
}
# Community rate classes (incidents per km²), light to dark (ColorBrewer YlOrBr).
RATE_COLOURS: Final = ("#fff7bc", "#fee391", "#fec44f", "#fe9929", "#d95f0e")
_TARGET_COLOUR: Final = "#111111"
_ANIMATION_MIN_SHARE: Final = 0.05
_WEEKLY: Final = "week by week"  # the animation layer's name, which its slider script matches
_DIGITS: Final = 6  # ~0.1 m: enough for a map, and it keeps the page small


def _rounded(geoms: np.ndarray) -> np.ndarray:
    return np.asarray(shapely.transform(geoms, lambda xy: np.round(xy, _DIGITS)), dtype=object)


def _display(
    frame: gpd.GeoDataFrame, columns: Mapping[str, Any], shift: basemaps.Shifter
) -> dict[str, Any]:
    """A GeoJSON dict of ``frame`` shifted for display, with only the given properties."""
    geoms = _rounded(
        shift(np.asarray(frame.to_crs(geocrs.STORAGE_CRS).geometry.values, dtype=object))
    )
    shown = gpd.GeoDataFrame(dict(columns), geometry=list(geoms), crs=geocrs.STORAGE_CRS)
    return dict(shown.__geo_interface__)


def _points(
    lon: np.ndarray, lat: np.ndarray, shift: basemaps.Shifter
) -> tuple[np.ndarray, np.ndarray]:
    moved = shift(np.asarray(shapely.points(lon, lat), dtype=object))
    return np.round(shapely.get_x(moved), _DIGITS), np.round(shapely.get_y(moved), _DIGITS)


def _add_basemaps(m: folium.Map, chosen: str, tianditu_key: str | None) -> None:
    if chosen == "amap":
        for layer in basemaps.tile_layers("amap"):
            layer.add_to(m)
        return
    offered = [chosen] + [
        b
        for b in ("osm", "tianditu")
        if b != chosen and basemaps.unavailable_reason(b, tianditu_key=tianditu_key) is None
    ]
    for code in offered:
        for layer in basemaps.tile_layers(code, tianditu_key=tianditu_key, show=code == chosen):
            layer.add_to(m)


def _rate_breaks(rates: np.ndarray) -> list[float]:
    positive = rates[rates > 0]
    if not len(positive):
        return [0.0] * (len(RATE_COLOURS) - 1)
    return [float(v) for v in np.quantile(positive, np.linspace(0, 1, len(RATE_COLOURS) + 1)[1:-1])]


def _rate_colour(rate: float, breaks: list[float]) -> str:
    return RATE_COLOURS[int(np.searchsorted(breaks, rate, side="right"))]


def _add_communities(
    m: folium.Map, communities: gpd.GeoDataFrame, shift: basemaps.Shifter, squads: Mapping[str, str]
) -> list[tuple[str, str]]:
    rate = communities["count"].to_numpy(dtype=float) / communities["area_km2"].to_numpy(
        dtype=float
    )
    breaks = _rate_breaks(rate)
    names = communities["name_zh"] if "name_zh" in communities else communities["cell_id"]
    squad = (
        communities["squad"].astype(str).map(lambda s: squads.get(s, s))
        if "squad" in communities
        else pd.Series([""] * len(communities))
    )
    data = _display(
        communities,
        {
            "name": names.astype(str).to_numpy(),
            "squad": squad.to_numpy(),
            "count": communities["count"].astype(int).to_numpy(),
            "area": [f"{a:.2f}" for a in communities["area_km2"]],
            "rate": [f"{r:.0f}" for r in rate],
            "colour": [_rate_colour(r, breaks) for r in rate],
        },
        shift,
    )
    folium.GeoJson(
        data,
        name="社区事件密度 community rate (incidents/km²)",
        show=False,
        style_function=lambda f: {
            "fillColor": f["properties"]["colour"],
            "color": "#555555",
            "weight": 1.5,
            "fillOpacity": 0.55,
        },
        tooltip=folium.GeoJsonTooltip(
            fields=["name", "squad", "count", "area", "rate"],
            aliases=[
                "社区 community",
                "中队 squad",
                "事件数 incidents",
                "面积 area (km²)",
                "密度 rate (incidents/km²)",
            ],
        ),
    ).add_to(m)
    edges = [0.0, *breaks, float(rate.max(initial=0.0))]
    return [
        (RATE_COLOURS[i], f"{edges[i]:.0f}–{edges[i + 1]:.0f}") for i in range(len(RATE_COLOURS))
    ]


def _add_cells(m: folium.Map, cells: gpd.GeoDataFrame, shift: basemaps.Shifter) -> None:
    tested = cells[cells["gi_tested"].to_numpy(dtype=bool)] if "gi_tested" in cells else cells
    bins = tested["gi_bin"].astype(int).to_numpy()
    trend = (
        tested["trend"].astype(str).map(lambda t: TRENDS.get(t, t)).to_numpy()
        if "trend" in tested
        else np.full(len(tested), "")
    )
    data = _display(
        tested,
        {
            "cell": tested["cell_id"].astype(str).to_numpy(),
            "count": tested["count"].astype(int).to_numpy(),
            "z": [f"{z:.2f}" for z in tested["gi_z"]],
            "p": [
                f"{p:.3f} (FDR {q:.3f})"
                for p, q in zip(tested["gi_p"], tested["gi_p_fdr"], strict=True)
            ],
            "label": [BIN_LABELS[int(b)] for b in bins],
            "trend": trend,
            "bin": bins,
        },
        shift,
    )
    fields = ["label", "count", "z", "p", "cell"] + (["trend"] if "trend" in tested else [])
    aliases = [
        "Gi* 分类 bin",
        "事件数 incidents",
        "z",
        "p (permutation)",
        "网格 cell",
        "趋势 trend",
    ][: len(fields)]
    folium.GeoJson(
        data,
        name="Gi* 热点/冷点 hot and cold spots (cells)",
        style_function=lambda f: _cell_style(int(f["properties"]["bin"])),
        highlight_function=lambda _f: {"weight": 3, "color": "#000000"},
        tooltip=folium.GeoJsonTooltip(fields=fields, aliases=aliases),
    ).add_to(m)


def _cell_style(value: int) -> dict[str, Any]:
    if value == 0:
        return {"fillOpacity": 0.0, "color": BIN_COLOURS[0], "weight": 0.5, "opacity": 0.6}
    return {
        "fillColor": BIN_COLOURS[value],
        "fillOpacity": 0.65,
        "color": BIN_COLOURS[value],
        "weight": 0.8,
        "opacity": 0.9,
    }


def _heat_points(heat: DensitySurface | pd.DataFrame) -> tuple[pd.DataFrame, str]:
    if isinstance(heat, DensitySurface):
        return heat.to_points(), (
            f"核密度 kernel density, Gaussian bandwidth {heat.bandwidth_m:.0f} m ({heat.rule})"
        )
    return heat, "热力 heat"


def _add_heat(m: folium.Map, points: pd.DataFrame, note: str, shift: basemaps.Shifter) -> str:
    column = "density" if "density" in points else "weight"
    weight = points[column].to_numpy(dtype=float) if column in points else np.ones(len(points))
    x, y = _points(points["lon"].to_numpy(dtype=float), points["lat"].to_numpy(dtype=float), shift)
    peak = float(weight.max(initial=0.0))
    scaled = np.round(weight / max(peak, 1e-300), 3)
    data = [[float(b), float(a), float(w)] for a, b, w in zip(x, y, scaled, strict=True)]
    HeatMap(  # type: ignore[no-untyped-call]
        data,
        name=f"热力图 heat map ({note})",
        radius=14,
        blur=18,
        min_opacity=0.25,
        max_zoom=16,
        show=False,
    ).add_to(m)
    unit = " incidents/km²" if column == "density" else ""
    return f"{note}; 峰值 peak {peak:.0f}{unit}"


def _add_weekly(m: folium.Map, weekly: pd.DataFrame, shift: basemaps.Shifter) -> int:
    weeks = sorted(pd.unique(weekly["week"]))
    top = max(float(weekly["count"].max()), 1.0)
    x, y = _points(weekly["lon"].to_numpy(dtype=float), weekly["lat"].to_numpy(dtype=float), shift)
    # The animation is the heaviest part of a big map (a year of a district: 170,000 cell-weeks,
    # 5 MB): cell-weeks under 5 % of the busiest are invisible in the heat and are left out,
    # and positions are rounded to 1 m (5 decimals), enough for a 150 m cell.
    weight = np.round(weekly["count"].to_numpy(dtype=float) / top, 2)
    frame = pd.DataFrame(
        {"week": weekly["week"].to_numpy(), "x": np.round(x, 5), "y": np.round(y, 5), "w": weight}
    )
    frame = frame[frame["w"] >= _ANIMATION_MIN_SHARE]
    grouped = dict(list(frame.groupby("week", sort=True)))
    data = []
    for week in weeks:
        rows = grouped.get(week, frame.iloc[:0])
        data.append(np.column_stack([rows["y"], rows["x"], rows["w"]]).tolist())
    index = [
        f"第{i + 1}周 week of {pd.Timestamp(w).strftime('%Y-%m-%d')}" for i, w in enumerate(weeks)
    ]
    HeatMapWithTime(  # type: ignore[no-untyped-call]
        data,
        index=index,
        name=f"逐周动画 {_WEEKLY} (incidents per cell)",
        radius=18,
        max_opacity=0.7,
        position="topright",
        show=False,
        auto_play=False,
    ).add_to(m)
    # The time slider belongs to the animation: shown only while its layer is switched on.
    # It runs after folium's own script, which defines the map (DOMContentLoaded comes after).
    root = m.get_root()
    if not isinstance(root, Figure):  # folium maps always sit in a branca Figure
        msg = "Expected the map's root to be a branca Figure."
        raise TypeError(msg)
    root.html.add_child(
        folium.Element(render("hotspots_slider.html.j2", map_name=m.get_name(), layer=_WEEKLY))
    )
    return len(weeks)


def _add_targets(
    m: folium.Map, targets: Sequence[CampaignTarget], shift: basemaps.Shifter
) -> list[tuple[CampaignTarget, tuple[float, float, float, float]]]:
    group = folium.FeatureGroup(name="整治目标 campaign targets")
    placed = []
    for target in targets:
        box = shift(np.asarray([shapely.box(*target.bounds)], dtype=object))[0]
        west, south, east, north = (round(float(v), _DIGITS) for v in box.bounds)
        folium.Rectangle(
            [(south, west), (north, east)],
            color=_TARGET_COLOUR,
            weight=2.5,
            dash_array="6 4",
            fill=False,
            tooltip=f"{target.rank}. {escape(target.where)}",
        ).add_to(group)
        middle = (round((south + north) / 2, _DIGITS), round((west + east) / 2, _DIGITS))
        folium.Marker(
            middle,
            icon=folium.DivIcon(
                html=render("number_badge.html.j2", colour=_TARGET_COLOUR, number=target.rank),
                icon_size=(22, 22),
                icon_anchor=(11, 11),
            ),
            tooltip=f"{target.rank}. {escape(target.where)} · {target.count}",
        ).add_to(group)
        placed.append((target, (west, south, east, north)))
    group.add_to(m)
    return placed


def _targets_html(
    map_name: str,
    placed: list[tuple[CampaignTarget, tuple[float, float, float, float]]],
    categories: Mapping[str, str],
    squads: Mapping[str, str],
) -> str:
    items = [
        {
            "cell_id": target.cell_id,
            "where": target.where,
            "community": target.community_name,
            "squad": squads.get(target.squad, target.squad),
            "count": target.count,
            "change": (
                "" if target.change is None else f" ({target.change:+.0f} 较上期 vs previous)"
            ),
            "trend": TRENDS.get(target.trend, target.trend),
            "top": [f"{categories.get(c, c)} {n}" for c, n in target.categories],
            "west": west,
            "south": south,
            "east": east,
            "north": north,
        }
        for target, (west, south, east, north) in placed
    ]
    return render("hotspots_targets.html.j2", map_name=map_name, targets=items)


def filter_form(
    *,
    action: str,
    values: Mapping[str, str],
    choices: Mapping[str, Sequence[tuple[str, str]]],
    links: Sequence[tuple[str, str]] = (),
) -> str:
    """The page's filter controls: an HTML form that reloads the map with new query parameters.

    Empty fields are not sent, so "all" means the parameter is left out.

    Parameters
    ----------
    action
        The URL the form reloads.
    values
        The current query parameters: ``start`` and ``end`` fill the date inputs, the keys of
        ``choices`` select their options and the others ride along as hidden fields.
    choices
        A parameter's ``(value, label)`` options (value ``""`` = all), shown as a select.
    links
        ``(label, href)`` links shown under the form (downloads, the printable list).

    Returns
    -------
    str
        The form's HTML, to pass as ``controls`` to :func:`render_hotspots`.
    """
    names = {
        "start": "开始 from",
        "end": "结束 to",
        "category": "类别 category",
        "shift": "班次 shift",
        "squad": "中队 squad",
        "community": "社区 community",
        "source": "来源 source",
        "cells": "单元 cells",
    }
    dates = [(names[key], key, values.get(key, "")) for key in ("start", "end")]
    selects = [
        (names.get(key, key), key, values.get(key, ""), options) for key, options in choices.items()
    ]
    hidden = [(k, v) for k, v in values.items() if k not in names and k not in choices and v]
    return render(
        "filter_form.html.j2",
        action=action,
        dates=dates,
        selects=selects,
        hidden=hidden,
        links=links,
    )


def _title_html(
    title: str, lines: list[str], chosen: str, link_params: Mapping[str, str], controls: str = ""
) -> str:
    return render(
        "hotspots_title.html.j2",
        title=title,
        lines=lines,
        basemap_links=basemap_links(chosen, link_params),
        amap=chosen == "amap",
        controls=Markup(controls),
    )  # the caller's HTML (filter_form), kept as is


def _legend_html(
    rates: list[tuple[str, str]], heat_note: str | None, weeks: int, has_targets: bool
) -> str:
    return render(
        "hotspots_legend.html.j2",
        bins=[(BIN_COLOURS[b], BIN_LABELS[b]) for b in (3, 2, 1, 0, -1, -2, -3)],
        rates=rates,
        heat_note=heat_note,
        weeks=weeks,
        min_share=f"{_ANIMATION_MIN_SHARE:.0%}",
        has_targets=has_targets,
    )


def render_hotspots(
    hotspots: gpd.GeoDataFrame,
    *,
    communities: gpd.GeoDataFrame | None = None,
    key_roads: gpd.GeoDataFrame | None = None,
    heat: DensitySurface | pd.DataFrame | None = None,
    weekly: pd.DataFrame | None = None,
    targets: Sequence[CampaignTarget] = (),
    title: str = DEFAULT_TITLE,
    period: str | None = None,
    filter_text: str | None = None,
    note: str | None = None,
    categories: Mapping[str, str] | None = None,
    squads: Mapping[str, str] | None = None,
    basemap: str = "osm",
    tianditu_key: str | None = None,
    link_params: Mapping[str, str] | None = None,
    controls: str = "",
) -> folium.Map:
    """Render a hot-spot analysis.

    Parameters
    ----------
    hotspots
        Gi* cells from :func:`geo.getisord.getis_ord` (optionally with ``trend`` from
        :func:`geo.getisord.compare_periods`).
    communities
        Community counts from :func:`geo.cells.community_cells`: a choropleth of the rate.
    key_roads
        Key-road lines (``name_zh``).
    heat
        A :class:`geo.density.DensitySurface` or points (``lon``, ``lat``, ``density`` or
        ``weight``) for the heat layer.
    weekly
        Counts per week and cell from :func:`geo.cells.weekly_counts`: the animation.
    targets
        Campaign targets from :func:`geo.campaign.campaign_targets`: numbered boxes on the map
        and a list whose entries zoom to their cell.
    title, period, filter_text, note
        The title box: title, the period analysed (e.g. ``"2026-11-02 – 2026-11-29"``), the
        filter (default ``hotspots.attrs["filter"]``) and a warning line (e.g. approximate
        boundaries).
    categories, squads
        Code-to-name maps for the target list.
    basemap, tianditu_key, link_params
        As for :func:`maps.jurisdiction.render_jurisdiction`.
    controls
        HTML put under the title (the page's :func:`filter_form`); empty for a standalone map.

    Returns
    -------
    folium.Map
        Render it with ``m.get_root().render()``.
    """
    for column in ("cell_id", "count", "gi_bin", "gi_z", "gi_p", "gi_p_fdr"):
        if column not in hotspots.columns:
            msg = f"hotspots lack {column!r}: pass the result of geo.getisord.getis_ord."
            raise ValueError(msg)
    chosen = basemaps.parse_basemap(basemap)
    basemap_note = None
    if chosen == "tianditu" and basemaps.unavailable_reason(chosen, tianditu_key=tianditu_key):
        basemap_note = f"{basemaps.unavailable_reason(chosen)} Showing OpenStreetMap."
        chosen = "osm"
    shift = basemaps.display_shifter(chosen)
    categories = categories or {}
    squads = squads or {}

    west, south, east, north = hotspots.to_crs(geocrs.STORAGE_CRS).total_bounds
    centre = (round((south + north) / 2, _DIGITS), round((west + east) / 2, _DIGITS))
    m = folium.Map(location=centre, zoom_start=14, tiles=None, control_scale=True)
    _add_basemaps(m, chosen, tianditu_key)
    rates = _add_communities(m, communities, shift, squads) if communities is not None else []
    heat_note = None
    if heat is not None:
        points, note_text = _heat_points(heat)
        if len(points):
            heat_note = _add_heat(m, points, note_text, shift)
    _add_cells(m, hotspots, shift)
    if key_roads is not None and len(key_roads):
        folium.GeoJson(
            _display(key_roads, {"name": key_roads["name_zh"].astype(str).to_numpy()}, shift),
            name="重点路段 key roads",
            style_function=lambda _f: {"color": "#4a5568", "weight": 5, "opacity": 0.8},
            tooltip=folium.GeoJsonTooltip(fields=["name"], aliases=["重点路段 key road"]),
        ).add_to(m)
    weeks = _add_weekly(m, weekly, shift) if weekly is not None and len(weekly) else 0
    placed = _add_targets(m, targets, shift) if targets else []
    folium.LayerControl(collapsed=False).add_to(m)

    root = m.get_root()
    if not isinstance(root, Figure):  # folium maps always sit in a branca Figure
        msg = "Expected the map's root to be a branca Figure."
        raise TypeError(msg)
    bins = hotspots["gi_bin"].to_numpy()
    gi = hotspots.attrs.get("gi_params", {})
    lines = [
        f"时段 period: {period}" if period else "",
        f"筛选 filter: {filter_text or hotspots.attrs.get('filter', '全部事件 all incidents')}",
        (
            f"{int(hotspots['count'].sum()):,} 件事件 incidents · {len(hotspots)} 个网格 cells · "
            f"热点 hot {(bins > 0).sum()} · 冷点 cold {(bins < 0).sum()}"
        ),
        (
            f"Getis-Ord Gi*, {gi.get('permutations', '?')} 次置换 permutations "
            f"({gi.get('inference', '?')}), FDR {'on' if gi.get('fdr', True) else 'off'}, "
            f"seed {gi.get('seed', '?')}"
        )
        if gi
        else "",
        basemap_note or "",
        f"⚠ {note}" if note else "",
    ]
    root.html.add_child(
        folium.Element(_title_html(title, lines, chosen, link_params or {}, controls))
    )
    root.html.add_child(folium.Element(_legend_html(rates, heat_note, weeks, bool(placed))))
    root.html.add_child(folium.Element(_targets_html(m.get_name(), placed, categories, squads)))
    m.fit_bounds(
        [
            (round(south, _DIGITS), round(west, _DIGITS)),
            (round(north, _DIGITS), round(east, _DIGITS)),
        ]
    )
    return m
