"""The stored plan document: a solved shift as JSON, and back.

What ``GET /plans/{id}`` returns and the exports read (:mod:`service.plans.exports`): per unit
the stops with clock times (ISO 8601, Beijing time, the squads' clock), what to check at each,
the place it is near, the path, the beat, the return time and the utilisation; the key-road
coverage, the plan's figures, the targets left out and the hot spots with why they are there.
A hot spot is called by its ``name`` (community · street · category) wherever it is listed, its
stops and the targets left out included; its ``spot_id`` (the grid cell) stays the key.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any, Final

import numpy as np
import shapely

from geo import crs as geocrs
from geo.planmetrics import has_target, utilisation
from geo.shiftplan import HotSpot, PlannedStop, ShiftPlan, Sweep, UnitPlan

from ..core.timezones import BEIJING
from ..incidents.service import get_category
from ..layers.service import ActiveLayer

__all__ = [
    "EARTH_RADIUS_M",
    "KIND_COLOURS",
    "PATROL",
    "clock",
    "from_document",
    "iso",
    "local_xy",
    "marked_stops",
    "minutes",
    "parse_time",
    "path_of",
    "plan_document",
    "seconds_of",
    "stop_detail",
    "stop_name",
    "stops_of",
    "units_of",
]

# A stop is described as "near" a named place within this distance.
_NEAR_M: Final = 250.0
_SWEEP_CHECK: Final = (
    "路面巡查: 占道经营、流动摊贩、乱堆放、乱张贴 (road surface: stalls, piles, posters)"
)


def iso(day: date, seconds: float) -> str:
    """Seconds from ``day``'s midnight (Beijing) as ISO 8601."""
    midnight = datetime.combine(day, time(), tzinfo=BEIJING)
    return (midnight + timedelta(seconds=round(seconds))).isoformat()


def _check(kind: str, label: str) -> str:
    if kind == "sweep":
        return _SWEEP_CHECK
    if kind in ("hotspot", "revisit") and label:
        try:
            category = get_category(label)
        except KeyError:
            return label
        return f"{category.name_zh}: {'、'.join(category.keywords[:4])}"
    return label


def _category_name(label: str) -> str | None:
    try:
        return get_category(label).name_zh
    except KeyError:
        return None


def _namer(layer: ActiveLayer) -> Callable[[float, float], str | None]:
    """A function naming the nearest place of the pack within :data:`_NEAR_M` of a point."""
    places = layer.pack.places
    if places is None or not len(places):
        return lambda _lon, _lat: None
    x, y = geocrs.to_metric(places.geometry.x.to_numpy(), places.geometry.y.to_numpy())
    names = places["name_zh"].astype(str).to_numpy()

    def near(lon: float, lat: float) -> str | None:
        px, py = geocrs.to_metric(lon, lat)
        distance = np.hypot(x - float(px), y - float(py))
        best = int(np.argmin(distance))
        return f"{names[best]} 附近 near" if distance[best] <= _NEAR_M else None

    return near


def _idle_note(unit: UnitPlan, plan: ShiftPlan) -> str | None:
    """Why a unit has no target (it counts as idle), for the squad leader; ``None`` when it
    has one."""
    if has_target(unit):
        return None
    return (
        f"本班无指派目标，巡逻巡区。No target for this unit: the shift's "
        f"{len(plan.presence)} hot-spot visits and {len(plan.coverage)} key-road pieces are "
        "covered by the others, so it patrols its beat (add a task or pin a hot spot to it)."
    )


def plan_document(
    plan: ShiftPlan,
    *,
    day: date,
    squad: str,
    squad_name: str,
    shift: str,
    hotspots: Sequence[HotSpot],
    sweeps: Sequence[Sweep],
    layer: ActiveLayer,
    kept: Mapping[str, list[dict[str, Any]]] | None = None,
) -> dict[str, Any]:
    """The plan as stored and returned (see service.plans.exports for its consumers)."""
    names = {s.sweep_id: (s.road_id, s.name) for s in sweeps}
    # A hot-spot stop's label is the spot's name; what to check there follows its category.
    category_of = {h.spot_id: h.label for h in hotspots}
    near = _namer(layer)
    units = []
    for unit in plan.units:
        stops = list((kept or {}).get(unit.unit_id, []))
        for stop in unit.stops:
            category = category_of.get(stop.target_id.split("#")[0], stop.label)
            stops.append(
                {
                    "seq": len(stops) + 1,
                    "target_id": stop.target_id,
                    "kind": stop.kind,
                    "label": stop.label,
                    "category_name": _category_name(category),
                    "lon": stop.lon,
                    "lat": stop.lat,
                    "arrival": iso(day, stop.arrival_s),
                    "start": iso(day, stop.start_s),
                    "departure": iso(day, stop.departure_s),
                    "priority": stop.priority,
                    "check": _check(stop.kind, category),
                    "near": near(stop.lon, stop.lat),
                    "done": False,
                }
            )
        units.append(
            {
                "unit_id": unit.unit_id,
                "mode": unit.mode,
                "distance_m": round(unit.distance_m, 1),
                "travel_s": round(unit.travel_s),
                "dwell_s": round(unit.dwell_s),
                "wait_s": round(unit.wait_s),
                "priority": unit.priority,
                "returns": iso(day, unit.return_s),
                "utilisation": round(utilisation(unit, shift=plan.shift), 3),
                "beat": (
                    None
                    if unit.beat is None
                    else json.loads(shapely.to_geojson(shapely.set_precision(unit.beat, 1e-6)))
                ),
                "path": np.round(shapely.get_coordinates(unit.path), 6).tolist(),
                "stops": stops,
                "note": _idle_note(unit, plan),
            }
        )
    labels = {h.spot_id: h.name or h.label for h in hotspots}
    return {
        "squad": squad,
        "squad_name": squad_name,
        "date": day.isoformat(),
        "shift": shift,
        "shift_start": iso(day, plan.shift[0]),
        "shift_end": iso(day, plan.shift[1]),
        "solver": {
            "status": plan.solver_status,
            "objective": plan.objective,
            "wall_time_s": round(plan.wall_time_s, 3),
        },
        "metrics": plan.metrics.as_dict(),
        "presence": list(plan.presence),
        "coverage": {
            "share": plan.covered_share,
            "pieces": [
                {
                    "sweep_id": k,
                    "road_id": names[k][0],
                    "name": names[k][1],
                    "share": round(v, 3),
                    "covered": v >= 0.9,
                }
                for k, v in plan.coverage.items()
            ],
        },
        "units": units,
        "dropped": [
            {"target_id": t, "kind": k, "reason": r, "label": labels.get(t.split("#")[0], "")}
            for t, k, r in plan.dropped
        ],
        "hotspots": [
            {
                "spot_id": h.spot_id,
                "lon": h.lon,
                "lat": h.lat,
                "priority": h.priority,
                "label": h.label,
                "name": h.name,
                "category_name": _category_name(h.label),
                "count": h.count,
                "categories": [[name, count] for name, count in h.categories],
                "hours": list(h.profile),
                "windows": [[iso(day, a), iso(day, b)] for a, b in h.windows],
            }
            for h in hotspots
        ],
    }


def seconds_of(day: date, iso: str) -> float:
    """An ISO 8601 time as seconds from ``day``'s midnight (Beijing)."""
    moment = datetime.fromisoformat(iso).astimezone(BEIJING)
    return (moment - datetime.combine(day, time(), tzinfo=BEIJING)).total_seconds()


def from_document(
    document: Mapping[str, Any], *, pieces: Sequence[Sweep]
) -> tuple[ShiftPlan, list[HotSpot], list[Sweep]]:
    """A stored plan document back as :mod:`geo.shiftplan` objects (the route map's input);
    ``pieces`` are the squad's key-road pieces, of which the plan's are kept."""
    day = date.fromisoformat(document["date"])
    units = []
    for unit in document["units"]:
        stops = tuple(
            PlannedStop(
                s["target_id"],
                s["kind"],
                s["label"],
                s["lon"],
                s["lat"],
                seconds_of(day, s["arrival"]),
                seconds_of(day, s["start"]),
                seconds_of(day, s["departure"]),
                s["priority"],
            )
            for s in unit["stops"]
        )
        path = shapely.LineString(unit["path"]) if len(unit["path"]) >= 2 else shapely.LineString()
        units.append(
            UnitPlan(
                unit["unit_id"],
                unit["mode"],
                stops,
                path,
                unit["distance_m"],
                unit["travel_s"],
                unit["dwell_s"],
                unit["wait_s"],
                unit["priority"],
            )
        )
    coverage = {p["sweep_id"]: p["share"] for p in document["coverage"]["pieces"]}
    plan = ShiftPlan(
        shift=(seconds_of(day, document["shift_start"]), seconds_of(day, document["shift_end"])),
        units=tuple(units),
        coverage=coverage,
        dropped=tuple((d["target_id"], d["kind"], d["reason"]) for d in document["dropped"]),
        objective=document["solver"]["objective"],
        solver_status=document["solver"]["status"],
        wall_time_s=document["solver"]["wall_time_s"],
    )
    hotspots = [
        HotSpot(
            h["spot_id"],
            h["lon"],
            h["lat"],
            h["priority"],
            windows=tuple((seconds_of(day, a), seconds_of(day, b)) for a, b in h["windows"]),
            label=h["label"],
            name=h.get("name") or "",
        )
        for h in document["hotspots"]
    ]
    sweeps = [s for s in pieces if s.sweep_id in coverage]
    return plan, hotspots, sweeps


# -- reading a document (the exports and the briefing) ---------------------------------------

# Patrol legs are drawn by the path and listed as one row per stretch, not point by point.
PATROL: Final = "patrol"
EARTH_RADIUS_M: Final = 6_371_008.8
KIND_COLOURS: Final = {
    "hotspot": "#c53030",
    "revisit": "#dd6b20",
    "task": "#2b6cb0",
    "sweep": "#2f855a",
    "break": "#718096",
    "transfer": "#4a5568",
}


def units_of(plan: Mapping[str, Any], unit_id: str | None) -> list[Mapping[str, Any]]:
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


def stops_of(unit: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The unit's stops, in order (none for an idle unit)."""
    return list(unit.get("stops") or [])


def marked_stops(unit: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The stops that get a mark and a waypoint: all but the patrol legs."""
    return [s for s in stops_of(unit) if s.get("kind") != PATROL]


def path_of(unit: Mapping[str, Any]) -> list[tuple[float, float]]:
    """The unit's road path as ``(lon, lat)`` pairs."""
    return [(float(p[0]), float(p[1])) for p in unit.get("path") or []]


def parse_time(value: Any) -> datetime:
    """An ISO 8601 time; a time without an offset is taken as Beijing time."""
    parsed = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=BEIJING)


def clock(value: Any) -> str:
    """``HH:MM`` in Beijing time."""
    return parse_time(value).astimezone(BEIJING).strftime("%H:%M")


def minutes(seconds: Any) -> int:
    """Seconds as whole minutes (none as 0)."""
    return round(float(seconds or 0.0) / 60.0)


def stop_name(stop: Mapping[str, Any]) -> str:
    """``label`` or ``kind`` for short names."""
    return str(stop.get("label") or stop.get("kind") or "")


def stop_detail(stop: Mapping[str, Any]) -> str:
    """The label and the category's name, the latter once: a hot spot's name holds it."""
    label = str(stop.get("label") or "")
    category = str(stop.get("category_name") or "")
    return label if category in label else " ".join(p for p in (label, category) if p)


def local_xy(
    points: Sequence[tuple[float, float]], lon0: float, lat0: float
) -> list[tuple[float, float]]:
    """Local equirectangular metres east and north of ``(lon0, lat0)``."""
    ky = EARTH_RADIUS_M * math.pi / 180.0
    kx = ky * math.cos(math.radians(lat0))
    return [((lon - lon0) * kx, (lat - lat0) * ky) for lon, lat in points]
