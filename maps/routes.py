"""The route map of a shift plan: each unit's route, its numbered stops, hot spots, key roads.

:func:`render_plan` is a pure renderer: a :class:`geo.shiftplan.ShiftPlan` (and the hot spots and
key-road sweeps it was planned with) in, a :class:`folium.Map` out. Each unit has its own colour
and its own layer so a squad leader can show one unit at a time; key-road pieces are green when
the plan sweeps them and red when it does not.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Final

import folium
import numpy as np
import shapely
from branca.element import Figure

from geo.shiftplan import HotSpot, PlannedStop, ShiftPlan, Sweep

from . import basemaps
from ._templating import render
from .labels import MODES, STOP_KINDS, bilingual

__all__ = ["UNIT_COLOURS", "clock", "render_plan"]

UNIT_COLOURS: Final = (
    "#1f77b4",
    "#d62728",
    "#2ca02c",
    "#9467bd",
    "#ff7f0e",
    "#17becf",
    "#8c564b",
    "#e377c2",
)
_COVERED: Final = "#2f855a"
_MISSED: Final = "#c53030"
_KIND_TEXT: Final = {kind: bilingual(pair) for kind, pair in STOP_KINDS.items()}
# Patrol legs are drawn by the path; numbering each waypoint would bury the targets.
_UNNUMBERED: Final = ("patrol",)
_MODE_TEXT: Final = {mode: bilingual(pair) for mode, pair in MODES.items()}


def clock(seconds: float) -> str:
    """Seconds from midnight as ``HH:MM``."""
    minutes = round(seconds / 60.0)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _stop_popup(number: int, stop: PlannedStop, unit_id: str) -> str:
    return render(
        "stop_popup.html.j2",
        unit_id=unit_id,
        number=number,
        kind=_KIND_TEXT.get(stop.kind, stop.kind),
        label=stop.label,
        arrive=clock(stop.arrival_s),
        start=clock(stop.start_s),
        leave=clock(stop.departure_s),
        priority=f"{stop.priority:g}" if stop.priority else "",
    )


def _number_icon(number: int, colour: str) -> folium.DivIcon:
    return folium.DivIcon(
        html=render("number_badge.html.j2", colour=colour, number=number),
        icon_size=(22, 22),
        icon_anchor=(11, 11),
    )


def render_plan(
    plan: ShiftPlan,
    *,
    hotspots: Sequence[HotSpot] = (),
    sweeps: Sequence[Sweep] = (),
    title: str = "巡逻路线 patrol routes",
    basemap: str = "osm",
    tianditu_key: str | None = None,
) -> folium.Map:
    """Render a shift plan.

    Parameters
    ----------
    plan
        The planned shift.
    hotspots
        The hot spots it was planned with: circles shaded by priority.
    sweeps
        The key-road pieces: green when swept, red when not.
    title
        The title box's text.
    basemap
        ``osm``, ``tianditu`` (with ``tianditu_key``) or ``amap`` (overlays shifted to GCJ-02).
    tianditu_key
        Tianditu key (tk).

    Returns
    -------
    folium.Map
        Render it with ``m.get_root().render()``.
    """
    chosen = basemaps.parse_basemap(basemap)
    if chosen == "tianditu" and basemaps.unavailable_reason(chosen, tianditu_key=tianditu_key):
        chosen = "osm"
    shift = basemaps.display_shifter(chosen)

    def point(lon: float, lat: float) -> tuple[float, float]:
        moved = shift(np.asarray([shapely.Point(lon, lat)], dtype=object))[0]
        return float(moved.y), float(moved.x)

    m = folium.Map(tiles=None, control_scale=True)
    for layer in basemaps.tile_layers(chosen, tianditu_key=tianditu_key):
        layer.add_to(m)
    bounds: list[tuple[float, float]] = []

    if sweeps:
        roads = folium.FeatureGroup(name="重点路段 key roads (green swept, red not)")
        for sweep in sweeps:
            share = plan.coverage.get(sweep.sweep_id, 0.0)
            line = shift(np.asarray([sweep.geometry], dtype=object))[0]
            folium.PolyLine(  # type: ignore[no-untyped-call]
                [(y, x) for x, y in shapely.get_coordinates(line)],
                color=_COVERED if share >= 0.9 else _MISSED,
                weight=8,
                opacity=0.6,
                tooltip=f"{escape(sweep.name)} {sweep.sweep_id}: {share:.0%} swept",
            ).add_to(roads)
        roads.add_to(m)

    if hotspots:
        spots = folium.FeatureGroup(name="热点 hot spots (darker = higher priority)")
        top = max(h.priority for h in hotspots) or 1.0
        for spot in hotspots:
            where = point(spot.lon, spot.lat)
            bounds.append(where)
            windows = ", ".join(f"{clock(a)}-{clock(b)}" for a, b in spot.windows) or "全天 any"
            folium.Circle(
                where,
                radius=60,
                color="#b7791f",
                weight=1,
                fill=True,
                fill_color="#dd6b20",
                fill_opacity=0.15 + 0.55 * spot.priority / top,
                tooltip=f"{escape(spot.name or spot.label or spot.spot_id)} · "
                f"priority {spot.priority:g} · {windows} · {escape(spot.spot_id)}",
            ).add_to(spots)
        spots.add_to(m)

    legend: list[tuple[str, str]] = []
    for i, unit in enumerate(plan.units):
        colour = UNIT_COLOURS[i % len(UNIT_COLOURS)]
        label = (
            f"{unit.unit_id} ({_MODE_TEXT.get(unit.mode, unit.mode)}): "
            f"{len([s for s in unit.stops if s.kind not in ('break', *_UNNUMBERED)])} stops, "
            f"{unit.distance_m / 1000:.1f} km"
        )
        group = folium.FeatureGroup(name=f"{escape(label)}")
        if unit.beat is not None:
            beat = shift(np.asarray([unit.beat], dtype=object))[0]
            folium.GeoJson(
                shapely.geometry.mapping(beat),
                style_function=lambda _f, c=colour: {
                    "color": c,
                    "weight": 2,
                    "dashArray": "5 5",
                    "fillColor": c,
                    "fillOpacity": 0.12,
                },
                tooltip=f"{escape(unit.unit_id)} 巡区 beat",
            ).add_to(group)
        if not unit.path.is_empty:
            line = shift(np.asarray([unit.path], dtype=object))[0]
            latlon = [(y, x) for x, y in shapely.get_coordinates(line)]
            bounds += latlon
            folium.PolyLine(  # type: ignore[no-untyped-call]
                latlon, color=colour, weight=4, opacity=0.9, tooltip=escape(label)
            ).add_to(group)
        numbered = [s for s in unit.stops if s.kind not in _UNNUMBERED]
        for number, stop in enumerate(numbered, start=1):
            where = point(stop.lon, stop.lat)
            folium.Marker(
                where,
                icon=_number_icon(number, colour),
                popup=folium.Popup(_stop_popup(number, stop, unit.unit_id), max_width=320),
                tooltip=f"{number}. {clock(stop.start_s)} {escape(stop.label or stop.kind)}",
            ).add_to(group)
        group.add_to(m)
        legend.append((colour, label))

    folium.LayerControl(collapsed=False).add_to(m)
    root = m.get_root()
    if not isinstance(root, Figure):  # folium maps always sit in a branca Figure
        msg = "Expected the map's root to be a branca Figure."
        raise TypeError(msg)
    swept = f"{plan.covered_share:.0%}" if plan.coverage else "—"
    root.html.add_child(
        folium.Element(
            render(
                "routes_title.html.j2",
                title=title,
                start=clock(plan.shift[0]),
                end=clock(plan.shift[1]),
                swept=swept,
                dropped=len(plan.dropped),
            )
        )
    )
    root.html.add_child(
        folium.Element(
            render("routes_legend.html.j2", units=legend, covered=_COVERED, missed=_MISSED)
        )
    )
    if bounds:
        lats, lons = zip(*bounds, strict=True)
        m.fit_bounds([(min(lats), min(lons)), (max(lats), max(lons))])
    return m
