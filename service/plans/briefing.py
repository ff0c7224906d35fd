"""The printable briefing of a stored plan: one page per unit with its route drawn as inline
SVG (so it prints anywhere offline), its stops and times, the key roads it sweeps and its break.
Pure: a plan document in, HTML out."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Final

from maps.labels import MODES, SHIFTS, STOP_KINDS

from ..pages.service import render
from .document import (
    EARTH_RADIUS_M,
    KIND_COLOURS,
    PATROL,
    clock,
    marked_stops,
    minutes,
    parse_time,
    path_of,
    stop_detail,
    stop_name,
    stops_of,
    units_of,
)

__all__ = ["plan_briefing_html"]

# The SVG map, in millimetres: a 170 mm wide box with a margin, at most this tall.
_MAP_W: Final = 170.0
_MAP_MAX_H: Final = 105.0
_MAP_PAD: Final = 8.0
_MAP_FOOT: Final = 9.0  # room under the map for the scale bar


def _briefing_stops(unit: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The stops with each run of patrol legs as one row: from its first leg to its last."""
    rows: list[Mapping[str, Any]] = []
    run: list[Mapping[str, Any]] = []

    def close() -> None:
        if run:
            rows.append(
                {
                    "seq": f"{run[0].get('seq')}-{run[-1].get('seq')}",
                    "kind": PATROL,
                    "start": run[0]["arrival"],
                    "departure": run[-1]["departure"],
                    "label": f"{len(run)} 个巡逻点 waypoints",
                    "lon": run[0]["lon"],
                    "lat": run[0]["lat"],
                    "check": "沿巡区街巷巡查 along the beat's streets",
                }
            )
            run.clear()

    for stop in stops_of(unit):
        if stop.get("kind") == PATROL:
            run.append(stop)
            continue
        close()
        rows.append(stop)
    close()
    return rows


@dataclass(frozen=True)
class _MapStop:
    """A numbered stop on the route sketch, in millimetres from the map's top left."""

    x: float  # where the stop is
    y: float
    cx: float  # where its circle is drawn: moved right when stops share a place
    colour: str
    seq: str
    title: str  # ``"{seq}. {label or kind}"``


@dataclass(frozen=True)
class _RouteMap:
    """The route sketch of one unit, in millimetres, north up, ready to draw."""

    unit_id: str
    width: float
    height: float
    path: list[tuple[float, float]]  # empty when the path has under two positions
    start: tuple[float, float] | None  # the path's first position
    stops: list[_MapStop]
    bar_x: float  # the scale bar's bottom left corner and length
    bar_y: float
    bar_mm: float
    bar_label: str
    north_x: float  # the north arrow's tip
    north_y: float


@dataclass(frozen=True)
class _StopRow:
    seq: str
    start: str  # HH:MM
    stay: str  # whole minutes from start to departure
    kind: tuple[str, str]  # Chinese, English
    detail: str  # label and category name, or ""
    near: str  # a place name, or ""
    position: str  # "lon, lat"
    check: str


@dataclass(frozen=True)
class _Sweep:
    name: str
    target_id: str
    start: str  # HH:MM
    end: str
    covered: str | None  # the plan's coverage of the piece in whole per cent, if known


@dataclass(frozen=True)
class _UnitPage:
    unit_id: str
    squad: str
    date: str
    shift: tuple[str, str]
    shift_start: str  # HH:MM
    shift_end: str
    mode: tuple[str, str]
    layers: str
    approximate: bool  # the layers are approximate: the page says so
    plan_id: str
    stops: int
    distance_km: str
    travel_min: int
    dwell_min: int
    wait_min: int
    priority: str
    rows: list[_StopRow]
    sweeps: list[_Sweep]
    map: _RouteMap | None  # None: no path and no stops


def _nice_length(metres: float) -> float:
    """The largest 1, 2 or 5 times a power of ten not above ``metres`` (at least 1)."""
    if metres < 1.0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(metres))
    return max(m * power for m in (1.0, 2.0, 5.0) if m * power <= metres)


def _route_map(unit: Mapping[str, Any]) -> _RouteMap | None:
    """The unit's path and stops projected into a 170 mm wide box, north up, with a scale."""
    path = path_of(unit)
    stops = marked_stops(unit)
    spots = [(float(s["lon"]), float(s["lat"])) for s in stops]
    everything = path + spots
    if not everything:
        return None
    lons = [p[0] for p in everything]
    lats = [p[1] for p in everything]
    lon0, lat0 = min(lons), max(lats)  # top-left corner
    mid_lat = (min(lats) + max(lats)) / 2.0
    ky = EARTH_RADIUS_M * math.pi / 180.0
    kx = ky * math.cos(math.radians(mid_lat))

    def project(lon: float, lat: float) -> tuple[float, float]:
        return (lon - lon0) * kx, (lat0 - lat) * ky  # metres east and south of the corner

    width_m = max((max(lons) - lon0) * kx, 200.0)
    height_m = max((lat0 - min(lats)) * ky, 200.0)
    inner_w, inner_h = _MAP_W - 2 * _MAP_PAD, _MAP_MAX_H - 2 * _MAP_PAD - _MAP_FOOT
    mm_per_m = min(inner_w / width_m, inner_h / height_m)
    box_h = height_m * mm_per_m + 2 * _MAP_PAD + _MAP_FOOT
    off_x = _MAP_PAD + (inner_w - width_m * mm_per_m) / 2.0

    def to_mm(lon: float, lat: float) -> tuple[float, float]:
        x, y = project(lon, lat)
        return off_x + x * mm_per_m, _MAP_PAD + y * mm_per_m

    line = [to_mm(lon, lat) for lon, lat in path] if len(path) >= 2 else []
    placed: list[tuple[float, float]] = []
    marks = []
    for stop, (lon, lat) in zip(stops, spots, strict=True):
        x, y = to_mm(lon, lat)
        # Stops at the same place (a break where the last stop was) fan out to the right.
        shift = sum(1 for px, py in placed if math.hypot(px - x, py - y) < 3.0)
        placed.append((x, y))
        seq = str(stop.get("seq"))
        marks.append(
            _MapStop(
                x=x,
                y=y,
                cx=x + 4.8 * shift,
                colour=KIND_COLOURS.get(str(stop.get("kind")), "#4a5568"),
                seq=seq,
                title=f"{seq}. {stop_name(stop)}",
            )
        )
    # Scale bar, bottom left: a round length near a quarter of the map's width.
    bar_m = _nice_length(width_m / 4.0)
    return _RouteMap(
        unit_id=str(unit["unit_id"]),
        width=_MAP_W,
        height=box_h,
        path=line,
        start=line[0] if line else None,
        stops=marks,
        bar_x=_MAP_PAD,
        bar_y=box_h - _MAP_PAD / 2.0 - 2.0,
        bar_mm=bar_m * mm_per_m,
        bar_label=f"{bar_m / 1000:g} km" if bar_m >= 1000 else f"{bar_m:g} m",
        north_x=_MAP_W - _MAP_PAD + 2.0,
        north_y=_MAP_PAD - 1.0,
    )  # north arrow, top right


def _sweeps(plan: Mapping[str, Any], unit: Mapping[str, Any]) -> list[_Sweep]:
    """The key-road pieces this unit sweeps, with times and the plan's coverage share."""
    pieces = {str(p.get("sweep_id")): p for p in (plan.get("coverage") or {}).get("pieces") or []}
    sweeps = []
    for stop in stops_of(unit):
        if stop.get("kind") != "sweep":
            continue
        piece: Mapping[str, Any] = pieces.get(str(stop.get("target_id")), {})
        share = piece.get("share")
        sweeps.append(
            _Sweep(
                name=str(piece.get("name") or stop.get("label") or stop.get("target_id")),
                target_id=str(stop.get("target_id")),
                start=clock(stop["start"]),
                end=clock(stop["departure"]),
                covered=f"{float(share) * 100:.0f}" if share is not None else None,
            )
        )
    return sweeps


def _stop_rows(stops: Sequence[Mapping[str, Any]]) -> list[_StopRow]:
    rows = []
    for stop in stops:
        stay = (parse_time(stop["departure"]) - parse_time(stop["start"])) / timedelta(minutes=1)
        rows.append(
            _StopRow(
                seq=str(stop.get("seq")),
                start=clock(stop["start"]),
                stay=f"{stay:.0f}",
                kind=STOP_KINDS.get(str(stop.get("kind")), (str(stop.get("kind")), "")),
                detail=stop_detail(stop),
                # A place name reads faster on the street than coordinates; both are given.
                near=str(stop.get("near") or ""),
                position=f"{float(stop['lon']):.5f}, {float(stop['lat']):.5f}",
                check=str(stop.get("check") or ""),
            )
        )
    return rows


def _unit_page(plan: Mapping[str, Any], unit: Mapping[str, Any]) -> _UnitPage:
    stops = marked_stops(unit)
    layers = str(plan.get("layer_version") or "")
    return _UnitPage(
        unit_id=str(unit["unit_id"]),
        squad=str(plan.get("squad_name") or plan.get("squad") or ""),
        date=str(plan.get("date")),
        shift=SHIFTS.get(str(plan.get("shift")), (str(plan.get("shift")), "")),
        shift_start=clock(plan["shift_start"]),
        shift_end=clock(plan["shift_end"]),
        mode=MODES.get(str(unit.get("mode")), (str(unit.get("mode")), "")),
        layers=layers,
        approximate="approx" in layers,
        plan_id=str(plan.get("id")),
        stops=len(stops),
        distance_km=f"{float(unit.get('distance_m') or 0) / 1000:.2f}",
        travel_min=minutes(unit.get("travel_s")),
        dwell_min=minutes(unit.get("dwell_s")),
        wait_min=minutes(unit.get("wait_s")),
        priority=f"{float(unit.get('priority') or 0):g}",
        rows=_stop_rows(_briefing_stops(unit)),
        sweeps=_sweeps(plan, unit),
        map=_route_map(unit),
    )


def plan_briefing_html(plan: Mapping[str, Any], *, unit_id: str | None = None) -> str:
    """A printable briefing page: one A4 portrait page per unit.

    Parameters
    ----------
    plan
        A stored plan (``PlanRead`` dict).
    unit_id
        Only this unit; ``None`` for all of them.

    Returns
    -------
    str
        A standalone HTML document (no external assets) rendered from
        ``service/pages/templates/briefing.html.j2``: per unit a header, a summary, the stop
        table, the key roads it sweeps and an inline SVG map; Chinese first, English smaller.
        The template autoescapes all plan text.

    Raises
    ------
    KeyError
        ``unit_id`` is not in the plan; the message names the plan's units.
    """
    units = units_of(plan, unit_id)
    title = (
        f"{plan.get('squad_name') or plan.get('squad')} {plan.get('date')} "
        f"{plan.get('shift')} 巡逻简报 patrol briefing"
    )
    return render("briefing.html.j2", title=title, units=[_unit_page(plan, unit) for unit in units])
