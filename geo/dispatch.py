"""Which patrol to send: units ranked by road travel time to an incident.

Open-source dispatch boards show unit positions; few recommend by real travel time. Here every
available unit is timed along the road network from its last known position (one backward
search from the incident per mode, see :func:`geo.travel.travel_time_matrix`), and ranked:
the incident's own squad first, other squads when the incident is urgent or none of its own
is free, then by ETA. A position older than ``stale_after_s`` still counts, but is flagged so a
dispatcher confirms where the unit really is.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .roadgraph import MODES, RoadGraph
from .travel import distance_matrix, travel_time_matrix

__all__ = ["RecommendParams", "UnitPosition", "recommend_units"]

_COLUMNS = (
    "unit_id",
    "squad",
    "mode",
    "eta_s",
    "distance_m",
    "stale",
    "own_squad",
    "position_age_s",
)


@dataclass(frozen=True)
class UnitPosition:
    """A unit's last known position (WGS84) and how old it is."""

    unit_id: str
    squad: str
    mode: str
    lon: float
    lat: float
    age_s: float
    available: bool = True

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            msg = f"Unit {self.unit_id!r}: mode {self.mode!r} unknown; use one of {MODES}."
            raise ValueError(msg)


@dataclass(frozen=True)
class RecommendParams:
    """How units are ranked.

    Parameters
    ----------
    stale_after_s
        A position older than this is flagged stale (default two minutes).
    top
        How many units to return at most.
    modes
        Only units of these modes (e.g. ``("car",)`` for a distant call).
    """

    stale_after_s: float = 120.0
    top: int = 10
    modes: tuple[str, ...] = MODES

    def __post_init__(self) -> None:
        if not (self.stale_after_s > 0 and math.isfinite(self.stale_after_s)):
            msg = f"Expected stale_after_s > 0, got {self.stale_after_s!r}."
            raise ValueError(msg)
        if self.top < 1:
            msg = f"Expected top >= 1, got {self.top!r}."
            raise ValueError(msg)
        unknown = set(self.modes) - set(MODES)
        if unknown:
            msg = f"Unknown modes {sorted(unknown)}; use some of {MODES}."
            raise ValueError(msg)


def recommend_units(
    graph: RoadGraph,
    units: Sequence[UnitPosition],
    *,
    lon: float,
    lat: float,
    squad: str,
    urgent: bool = False,
    shift: str | float = "early",
    params: RecommendParams | None = None,
) -> pd.DataFrame:
    """Rank the available units for an incident at (lon, lat) answered by ``squad``.

    Returns
    -------
    pandas.DataFrame
        One row per recommended unit, best first: ``unit_id``, ``squad``, ``mode``, ``eta_s``,
        ``distance_m`` (by road), ``stale``, ``own_squad``, ``position_age_s``. Units that
        cannot reach the incident by road are left out.
    """
    params = params or RecommendParams()
    free = [u for u in units if u.available and u.mode in params.modes]
    own = [u for u in free if u.squad == squad]
    # The plan: a squad answers for its area; the other squad helps when it is urgent or when
    # none of the squad's own units is free.
    candidates = free if (urgent or not own) else own
    rows = []
    for mode in sorted({u.mode for u in candidates}):
        group = [u for u in candidates if u.mode == mode]
        origins = graph.snap(
            np.asarray([u.lon for u in group]), np.asarray([u.lat for u in group]), mode=mode
        )
        target = graph.snap(np.asarray([lon]), np.asarray([lat]), mode=mode)
        eta = travel_time_matrix(graph, origins, target, mode=mode, shift=shift)[:, 0]
        metres = distance_matrix(graph, origins, target, mode=mode)[:, 0]
        rows += [
            (
                u.unit_id,
                u.squad,
                u.mode,
                float(t),
                float(m),
                u.age_s > params.stale_after_s,
                u.squad == squad,
                float(u.age_s),
            )
            for u, t, m in zip(group, eta, metres, strict=True)
            if math.isfinite(t)
        ]
    frame = pd.DataFrame(rows, columns=list(_COLUMNS))
    frame = (
        frame.sort_values(
            ["own_squad", "eta_s", "unit_id"], ascending=[False, True, True], kind="stable"
        )
        if not urgent
        else frame.sort_values(["eta_s", "unit_id"], kind="stable")
    )
    return frame.head(params.top).reset_index(drop=True)
