"""Recommendation: the available units with a known position, ranked by road travel time to an
incident (geo.dispatch does the ranking; this reads the units' last positions)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from geo.dispatch import RecommendParams, UnitPosition, recommend_units
from geo.roadgraph import RoadGraph

from ..core.timezones import BEIJING
from ..incidents.service import Incident
from .models import Unit

__all__ = ["current_shift", "recommend"]


def current_shift(now: datetime) -> str | None:
    """The squads' shift at ``now`` (Beijing time): early 07-15, late 15-23, else None."""
    hour = now.astimezone(BEIJING).hour
    if 7 <= hour < 15:
        return "early"
    if 15 <= hour < 23:
        return "late"
    return None


def recommend(
    session: Session,
    incident: Incident,
    *,
    network: RoadGraph,
    now: datetime,
    stale_after_s: float,
    modes: Sequence[str] | None = None,
    top: int = 10,
) -> list[dict[str, Any]]:
    """Available units with a known position, ranked by road travel time to ``incident``."""
    # Plain columns, not ORM objects: this runs for every incident a dispatcher opens.
    units = session.execute(
        select(Unit.code, Unit.squad, Unit.mode, Unit.last_lon, Unit.last_lat, Unit.last_at).where(
            Unit.status == "available",
            Unit.last_lon.is_not(None),
            Unit.last_lat.is_not(None),
            Unit.last_at.is_not(None),
        )
    ).all()
    positions = [
        UnitPosition(
            u.code,
            u.squad,
            u.mode,
            float(u.last_lon),
            float(u.last_lat),
            max(0.0, (now - u.last_at).total_seconds()),
        )
        for u in units
    ]
    params = RecommendParams(
        stale_after_s=stale_after_s,
        top=top,
        modes=tuple(modes) if modes else RecommendParams().modes,
    )
    frame = recommend_units(
        network,
        positions,
        lon=incident.lon,
        lat=incident.lat,
        squad=incident.squad,
        urgent=incident.urgent,
        shift=current_shift(now) or "late",
        params=params,
    )
    rows = []
    for row in frame.to_dict("records"):
        rows.append(
            {
                "unit_id": str(row["unit_id"]),
                "squad": str(row["squad"]),
                "mode": str(row["mode"]),
                "eta_s": round(float(row["eta_s"]), 1),
                "distance_m": round(float(row["distance_m"]), 1),
                "stale": bool(row["stale"]),
                "own_squad": bool(row["own_squad"]),
                "position_age_s": round(float(row["position_age_s"]), 1),
            }
        )
    return rows
