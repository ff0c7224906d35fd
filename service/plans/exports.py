"""Exports of a stored patrol plan: GeoJSON, GPX for handheld devices, a printable briefing.

Every function here is pure: it takes a stored plan as the API's ``PlanRead`` dict (times in
ISO 8601 with an offset, coordinates WGS84 ``[lon, lat]``) and returns a dict or text. Nothing
reads the database or the network, and the briefing page embeds its map as inline SVG, so it
prints anywhere offline.
"""

from __future__ import annotations

import copy
import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import gpxpy.gpx

from maps.labels import MODES, SHIFTS, STOP_KINDS

from ..core.timezones import BEIJING
from ..pages.service import render

__all__ = ["plan_briefing_html", "plan_geojson", "plan_gpx"]

# Garmin-style symbol names, which most handhelds and OsmAnd understand.
_GPX_SYMBOLS: Final = {
    "hotspot": "Flag, Red",
    "revisit": "Flag, Blue",
    "task": "Pin, Red",
    "sweep": "Flag, Green",
    "break": "Restaurant",
    "transfer": "Car",
}
_KIND_COLOURS: Final = {
    "hotspot": "#c53030",
    "revisit": "#dd6b20",
    "task": "#2b6cb0",
    "sweep": "#2f855a",
    "break": "#718096",
    "transfer": "#4a5568",
}
# Patrol legs are drawn by the path and listed as one row per stretch, not point by point.
_PATROL: Final = "patrol"
_EARTH_RADIUS_M: Final = 6_371_008.8
_MATCH_M: Final = 30.0  # a stop is on the path where a path vertex lies this close to it

# The SVG map, in millimetres: a 170 mm wide box with a margin, at most this tall.
_MAP_W: Final = 170.0
_MAP_MAX_H: Final = 105.0
_MAP_PAD: Final = 8.0
_MAP_FOOT: Final = 9.0  # room under the map for the scale bar


def _units(plan: Mapping[str, Any], unit_id: str | None) -> list[Mapping[str, Any]]:
    """The plan's units, or only ``unit_id`` (``KeyError`` naming the valid ids)."""
    units: list[Mapping[str, Any]] = list(plan.get("units") or [])
    if unit_id is None:
        return units
    chosen = [u for u in units if u["unit_id"] == unit_id]
    if not chosen:
        valid = ", ".join(str(u["unit_id"]) for u in units) or "none"
        msg = f"Unit {unit_id!r} is not in plan {plan.get('id')}; its units are: {valid}."
        raise KeyError(msg)
    return chosen


def _stops(unit: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return list(unit.get("stops") or [])


def _marked(unit: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The stops that get a mark and a waypoint: all but the patrol legs."""
    return [s for s in _stops(unit) if s.get("kind") != _PATROL]


def _briefing_stops(unit: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The stops with each run of patrol legs as one row: from its first leg to its last."""
    rows: list[Mapping[str, Any]] = []
    run: list[Mapping[str, Any]] = []

    def close() -> None:
        if run:
            rows.append(
                {
                    "seq": f"{run[0].get('seq')}-{run[-1].get('seq')}",
                    "kind": _PATROL,
                    "start": run[0]["arrival"],
                    "departure": run[-1]["departure"],
                    "label": f"{len(run)} 个巡逻点 waypoints",
                    "lon": run[0]["lon"],
                    "lat": run[0]["lat"],
                    "check": "沿巡区街巷巡查 along the beat's streets",
                }
            )
            run.clear()

    for stop in _stops(unit):
        if stop.get("kind") == _PATROL:
            run.append(stop)
            continue
        close()
        rows.append(stop)
    close()
    return rows


def _path(unit: Mapping[str, Any]) -> list[tuple[float, float]]:
    return [(float(p[0]), float(p[1])) for p in unit.get("path") or []]


def _time(value: Any) -> datetime:
    """An ISO 8601 time; a time without an offset is taken as Beijing time."""
    parsed = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=BEIJING)


def _clock(value: Any) -> str:
    """``HH:MM`` in Beijing time."""
    return _time(value).astimezone(BEIJING).strftime("%H:%M")


def _minutes(seconds: Any) -> int:
    return round(float(seconds or 0.0) / 60.0)


def _what(stop: Mapping[str, Any]) -> str:
    """``label`` or ``kind`` for short names."""
    return str(stop.get("label") or stop.get("kind") or "")


def _detail(stop: Mapping[str, Any]) -> str:
    """The label and the category's name, the latter once: a hot spot's name holds it."""
    label = str(stop.get("label") or "")
    category = str(stop.get("category_name") or "")
    return label if category in label else " ".join(p for p in (label, category) if p)


def _local_xy(
    points: Sequence[tuple[float, float]], lon0: float, lat0: float
) -> list[tuple[float, float]]:
    """Local equirectangular metres east and north of ``(lon0, lat0)``."""
    ky = _EARTH_RADIUS_M * math.pi / 180.0
    kx = ky * math.cos(math.radians(lat0))
    return [((lon - lon0) * kx, (lat - lat0) * ky) for lon, lat in points]


# --- GeoJSON -------------------------------------------------------------------------------------


def plan_geojson(plan: Mapping[str, Any]) -> dict[str, Any]:
    """The plan as a GeoJSON FeatureCollection.

    Parameters
    ----------
    plan
        A stored plan (``PlanRead`` dict).

    Returns
    -------
    dict
        One LineString per unit path (``null`` geometry when the path has under two
        positions) and one Point per stop, ``[lon, lat]``; the plan's identity, key-road
        coverage and dropped targets go in the top-level ``"jiedao"`` member.
    """
    features: list[dict[str, Any]] = []
    for unit in _units(plan, None):
        path = _path(unit)
        stops = _stops(unit)
        features.append(
            {
                "type": "Feature",
                "geometry": (
                    {"type": "LineString", "coordinates": [list(p) for p in path]}
                    if len(path) >= 2
                    else None
                ),
                "properties": {
                    "unit_id": unit["unit_id"],
                    "mode": unit.get("mode"),
                    "distance_m": unit.get("distance_m"),
                    "travel_s": unit.get("travel_s"),
                    "dwell_s": unit.get("dwell_s"),
                    "stops": len(stops),
                },
            }
        )
        for stop in stops:
            features.append(
                {
                    "type": "Feature",
                    "geometry": {
                        "type": "Point",
                        "coordinates": [float(stop["lon"]), float(stop["lat"])],
                    },
                    "properties": {
                        "unit_id": unit["unit_id"],
                        "seq": stop.get("seq"),
                        "kind": stop.get("kind"),
                        "label": stop.get("label"),
                        "arrival": stop.get("arrival"),
                        "start": stop.get("start"),
                        "departure": stop.get("departure"),
                        "priority": stop.get("priority"),
                        "check": stop.get("check"),
                    },
                }
            )
    coverage: Mapping[str, Any] = plan.get("coverage") or {}
    return {
        "type": "FeatureCollection",
        "features": features,
        "jiedao": {
            "plan_id": plan.get("id"),
            "squad": plan.get("squad"),
            "squad_name": plan.get("squad_name"),
            "date": plan.get("date"),
            "shift": plan.get("shift"),
            "shift_start": plan.get("shift_start"),
            "shift_end": plan.get("shift_end"),
            "layer_version": plan.get("layer_version"),
            "coverage": {
                "share": coverage.get("share"),
                "pieces": copy.deepcopy(list(coverage.get("pieces") or [])),
            },
            "dropped": copy.deepcopy(list(plan.get("dropped") or [])),
        },
    }


# --- GPX -----------------------------------------------------------------------------------------


def _anchor_times(stop: Mapping[str, Any]) -> tuple[datetime, datetime]:
    """When the unit reaches and leaves the stop's point on the path.

    A sweep's point is the middle of its road piece, which the unit passes halfway through the
    sweep; other stops are reached at ``arrival`` and left at ``departure``.
    """
    if stop.get("kind") == "sweep":
        start, end = _time(stop["start"]), _time(stop["departure"])
        middle = start + (end - start) / 2
        return middle, middle
    return _time(stop["arrival"]), _time(stop["departure"])


def _match(
    xy: Sequence[tuple[float, float]], target: tuple[float, float], begin: int
) -> int | None:
    """The path vertex at ``target``: the closest of the first run within ``_MATCH_M``."""
    best: int | None = None
    best_d = _MATCH_M
    for j in range(begin, len(xy)):
        d = math.hypot(xy[j][0] - target[0], xy[j][1] - target[1])
        if d < best_d:
            best, best_d = j, d
        elif best is not None and d >= _MATCH_M:
            break
    return best


def _whole_second(t: datetime) -> datetime:
    return datetime.fromtimestamp(round(t.timestamp()), UTC)


def _timed_track(unit: Mapping[str, Any]) -> list[tuple[float, float, datetime | None]]:
    """The unit's path as ``(lon, lat, time or None)`` track points.

    Each stop is placed on the path vertex at its point (searching forward from the previous
    stop). Between two placed stops the unit travels from one's departure to the next one's
    arrival, so the vertices in between get times interpolated in proportion to the distance
    along the path (a constant speed over the leg: an estimate, since speeds differ by road).
    A sweep is placed at its piece's middle at the middle of its sweep time, so the legs on
    either side of it also cover half the piece (and any wait before it): rougher there.
    A stop's vertex appears once per distinct time (arrival, departure, a break taken there).
    Points before the first stop, after the last one, or next to a stop not found on the path
    carry no time: the plan does not say when the unit left its station or got back.
    """
    path = _path(unit)
    if len(path) < 2:
        return [(lon, lat, None) for lon, lat in path]
    lon0, lat0 = path[0]
    xy = _local_xy(path, lon0, lat0)
    along = [0.0]
    for (x0, y0), (x1, y1) in itertools.pairwise(xy):
        along.append(along[-1] + math.hypot(x1 - x0, y1 - y0))
    anchors: list[tuple[int, datetime, datetime] | None] = []
    begin = 0
    for stop in _stops(unit):
        target = _local_xy([(float(stop["lon"]), float(stop["lat"]))], lon0, lat0)[0]
        j = _match(xy, target, begin)
        if j is None:
            anchors.append(None)
            continue
        anchors.append((j, *_anchor_times(stop)))
        begin = j
    times: list[datetime | None] = [None] * len(path)
    stays: dict[int, set[datetime]] = {}
    for anchor in anchors:
        if anchor is not None:
            stays.setdefault(anchor[0], set()).update(anchor[1:])
    for a, b in itertools.pairwise(anchors):
        if a is None or b is None or b[1] < a[2]:
            continue
        (i, _, leave), (k, reach, _) = a, b
        span = along[k] - along[i]
        for j in range(i + 1, k):
            share = (along[j] - along[i]) / span if span > 0 else 0.0
            times[j] = leave + (reach - leave) * share
    points: list[tuple[float, float, datetime | None]] = []
    for j, (lon, lat) in enumerate(path):
        if j in stays:
            points.extend((lon, lat, t) for t in sorted(stays[j]))
        else:
            points.append((lon, lat, times[j]))
    return [(lon, lat, None if t is None else _whole_second(t)) for lon, lat, t in points]


def _stop_text(unit_id: str, stop: Mapping[str, Any]) -> str:
    zh, en = STOP_KINDS.get(str(stop.get("kind")), (str(stop.get("kind")), ""))
    parts = [f"{unit_id} · {zh} {en}".strip()]
    if stop.get("category_name"):
        parts.append(str(stop["category_name"]))
    parts.append(
        f"到达 arrive {_clock(stop['arrival'])} · 开始 start {_clock(stop['start'])} · "
        f"离开 leave {_clock(stop['departure'])}"
    )
    if stop.get("check"):
        parts.append(f"检查 check: {stop['check']}")
    return "\n".join(parts)


def plan_gpx(plan: Mapping[str, Any], *, unit_id: str | None = None) -> str:
    """The plan as GPX 1.1 for handheld devices.

    Parameters
    ----------
    plan
        A stored plan (``PlanRead`` dict).
    unit_id
        Only this unit; ``None`` for all of them.

    Returns
    -------
    str
        Per unit a track named ``"{unit_id} {mode}"`` with one segment along its path, and a
        waypoint per stop named ``"{seq}. {label or kind}"`` at its start time. Track points
        between stops get times interpolated by distance from one stop's departure to the
        next one's arrival; before the first and after the last stop they have none. Times
        are written in UTC.

    Raises
    ------
    KeyError
        ``unit_id`` is not in the plan; the message names the plan's units.
    """
    units = _units(plan, unit_id)
    gpx = gpxpy.gpx.GPX()
    gpx.creator = "jiedao"
    gpx.name = (
        f"jiedao plan {plan.get('id')} {plan.get('squad')} {plan.get('date')} {plan.get('shift')}"
    )
    gpx.description = (
        f"{plan.get('squad_name') or plan.get('squad')}, "
        f"{_clock(plan['shift_start'])}-{_clock(plan['shift_end'])}, "
        f"layers {plan.get('layer_version')}"
    )
    for unit in units:
        uid, mode = str(unit["unit_id"]), str(unit.get("mode"))
        km = float(unit.get("distance_m") or 0.0) / 1000.0
        track = gpxpy.gpx.GPXTrack(
            name=f"{uid} {mode}", description=f"{len(_marked(unit))} stops, {km:.2f} km"
        )
        points = _timed_track(unit)
        if points:
            segment = gpxpy.gpx.GPXTrackSegment()
            segment.points.extend(
                gpxpy.gpx.GPXTrackPoint(latitude=lat, longitude=lon, time=t)
                for lon, lat, t in points
            )
            track.segments.append(segment)
        gpx.tracks.append(track)
        for stop in _marked(unit):
            kind = str(stop.get("kind"))
            gpx.waypoints.append(
                gpxpy.gpx.GPXWaypoint(
                    latitude=float(stop["lat"]),
                    longitude=float(stop["lon"]),
                    time=_time(stop["start"]).astimezone(UTC),
                    name=f"{stop.get('seq')}. {_what(stop)}",
                    description=_stop_text(uid, stop),
                    comment=stop.get("check") or None,
                    symbol=_GPX_SYMBOLS.get(kind, "Waypoint"),
                    type=kind,
                )
            )
    xml: str = gpx.to_xml(version="1.1")
    return xml


# --- Briefing ------------------------------------------------------------------------------------


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
    path = _path(unit)
    stops = _marked(unit)
    spots = [(float(s["lon"]), float(s["lat"])) for s in stops]
    everything = path + spots
    if not everything:
        return None
    lons = [p[0] for p in everything]
    lats = [p[1] for p in everything]
    lon0, lat0 = min(lons), max(lats)  # top-left corner
    mid_lat = (min(lats) + max(lats)) / 2.0
    ky = _EARTH_RADIUS_M * math.pi / 180.0
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
                colour=_KIND_COLOURS.get(str(stop.get("kind")), "#4a5568"),
                seq=seq,
                title=f"{seq}. {_what(stop)}",
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
    for stop in _stops(unit):
        if stop.get("kind") != "sweep":
            continue
        piece: Mapping[str, Any] = pieces.get(str(stop.get("target_id")), {})
        share = piece.get("share")
        sweeps.append(
            _Sweep(
                name=str(piece.get("name") or stop.get("label") or stop.get("target_id")),
                target_id=str(stop.get("target_id")),
                start=_clock(stop["start"]),
                end=_clock(stop["departure"]),
                covered=f"{float(share) * 100:.0f}" if share is not None else None,
            )
        )
    return sweeps


def _stop_rows(stops: Sequence[Mapping[str, Any]]) -> list[_StopRow]:
    rows = []
    for stop in stops:
        stay = (_time(stop["departure"]) - _time(stop["start"])) / timedelta(minutes=1)
        rows.append(
            _StopRow(
                seq=str(stop.get("seq")),
                start=_clock(stop["start"]),
                stay=f"{stay:.0f}",
                kind=STOP_KINDS.get(str(stop.get("kind")), (str(stop.get("kind")), "")),
                detail=_detail(stop),
                # A place name reads faster on the street than coordinates; both are given.
                near=str(stop.get("near") or ""),
                position=f"{float(stop['lon']):.5f}, {float(stop['lat']):.5f}",
                check=str(stop.get("check") or ""),
            )
        )
    return rows


def _unit_page(plan: Mapping[str, Any], unit: Mapping[str, Any]) -> _UnitPage:
    stops = _marked(unit)
    layers = str(plan.get("layer_version") or "")
    return _UnitPage(
        unit_id=str(unit["unit_id"]),
        squad=str(plan.get("squad_name") or plan.get("squad") or ""),
        date=str(plan.get("date")),
        shift=SHIFTS.get(str(plan.get("shift")), (str(plan.get("shift")), "")),
        shift_start=_clock(plan["shift_start"]),
        shift_end=_clock(plan["shift_end"]),
        mode=MODES.get(str(unit.get("mode")), (str(unit.get("mode")), "")),
        layers=layers,
        approximate="approx" in layers,
        plan_id=str(plan.get("id")),
        stops=len(stops),
        distance_km=f"{float(unit.get('distance_m') or 0) / 1000:.2f}",
        travel_min=_minutes(unit.get("travel_s")),
        dwell_min=_minutes(unit.get("dwell_s")),
        wait_min=_minutes(unit.get("wait_s")),
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
    units = _units(plan, unit_id)
    title = (
        f"{plan.get('squad_name') or plan.get('squad')} {plan.get('date')} "
        f"{plan.get('shift')} 巡逻简报 patrol briefing"
    )
    return render("briefing.html.j2", title=title, units=[_unit_page(plan, unit) for unit in units])
