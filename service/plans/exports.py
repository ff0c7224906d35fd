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
from datetime import UTC, datetime
from typing import Any, Final

import gpxpy.gpx

from maps.labels import STOP_KINDS

from .briefing import plan_briefing_html
from .document import (
    clock,
    local_xy,
    marked_stops,
    parse_time,
    path_of,
    stop_name,
    stops_of,
    units_of,
)

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
_MATCH_M: Final = 30.0  # a stop is on the path where a path vertex lies this close to it


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
    for unit in units_of(plan, None):
        path = path_of(unit)
        stops = stops_of(unit)
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
        start, end = parse_time(stop["start"]), parse_time(stop["departure"])
        middle = start + (end - start) / 2
        return middle, middle
    return parse_time(stop["arrival"]), parse_time(stop["departure"])


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
    path = path_of(unit)
    if len(path) < 2:
        return [(lon, lat, None) for lon, lat in path]
    lon0, lat0 = path[0]
    xy = local_xy(path, lon0, lat0)
    along = [0.0]
    for (x0, y0), (x1, y1) in itertools.pairwise(xy):
        along.append(along[-1] + math.hypot(x1 - x0, y1 - y0))
    anchors: list[tuple[int, datetime, datetime] | None] = []
    begin = 0
    for stop in stops_of(unit):
        target = local_xy([(float(stop["lon"]), float(stop["lat"]))], lon0, lat0)[0]
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
        f"到达 arrive {clock(stop['arrival'])} · 开始 start {clock(stop['start'])} · "
        f"离开 leave {clock(stop['departure'])}"
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
    units = units_of(plan, unit_id)
    gpx = gpxpy.gpx.GPX()
    gpx.creator = "jiedao"
    gpx.name = (
        f"jiedao plan {plan.get('id')} {plan.get('squad')} {plan.get('date')} {plan.get('shift')}"
    )
    gpx.description = (
        f"{plan.get('squad_name') or plan.get('squad')}, "
        f"{clock(plan['shift_start'])}-{clock(plan['shift_end'])}, "
        f"layers {plan.get('layer_version')}"
    )
    for unit in units:
        uid, mode = str(unit["unit_id"]), str(unit.get("mode"))
        km = float(unit.get("distance_m") or 0.0) / 1000.0
        track = gpxpy.gpx.GPXTrack(
            name=f"{uid} {mode}", description=f"{len(marked_stops(unit))} stops, {km:.2f} km"
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
        for stop in marked_stops(unit):
            kind = str(stop.get("kind"))
            gpx.waypoints.append(
                gpxpy.gpx.GPXWaypoint(
                    latitude=float(stop["lat"]),
                    longitude=float(stop["lon"]),
                    time=parse_time(stop["start"]).astimezone(UTC),
                    name=f"{stop.get('seq')}. {stop_name(stop)}",
                    description=_stop_text(uid, stop),
                    comment=stop.get("check") or None,
                    symbol=_GPX_SYMBOLS.get(kind, "Waypoint"),
                    type=kind,
                )
            )
    xml: str = gpx.to_xml(version="1.1")
    return xml
