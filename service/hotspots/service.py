"""Hot-spot analysis of the stored incidents: one query, one pass of the spatial core.

:func:`analyse` reads the incidents of a period (and of the equally long periods before it, for
the trend) from the database, then runs :mod:`geo.cells`, :mod:`geo.getisord`,
:mod:`geo.density` and :mod:`geo.campaign` on them. The hot-spot map, ``GET /hotspots`` (the
cells as GeoJSON), the printable target list and the PNG snapshot all render one
:class:`HotspotAnalysis`; :func:`planning_hotspots` gives the patrol planner its targets.

Incidents rejected or marked duplicate are left out (they are not problems that happened, or
are counted once already); closed ones count, because the problem occurred.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Final, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from geo.campaign import CampaignParams, CampaignTarget, campaign_targets
from geo.cells import community_cells, grid_cells, h3_cells, road_cells
from geo.cells import weekly_counts as grid_weekly_counts
from geo.density import DensitySurface, kernel_density
from geo.getisord import GiParams, compare_periods, getis_ord
from geo.hotspots import RankParams, gi_hotspots, rank_hotspots
from geo.incidentfilter import IncidentFilter
from geo.shiftplan import SHIFTS, HotSpot
from geo.spotnames import name_hotspots
from maps.assets import offline_html, standalone_html
from maps.hotspots import render_hotspots

from ..core.errors import InvalidInputError
from ..core.timezones import BEIJING
from ..incidents.service import CATEGORIES, incident_frame
from ..layers.service import ActiveLayer
from ..pages.service import STATIC_DIR

__all__ = [
    "CATEGORY_NAMES",
    "CELL_KINDS",
    "HotspotAnalysis",
    "HotspotQuery",
    "analyse",
    "map_html",
    "planning_hotspots",
]

CELL_KINDS: Final = ("grid", "h3", "community", "road")
CATEGORY_NAMES: Final = {c.code: c.name_zh for c in CATEGORIES}
_SHIFT_HOURS: Final = {name: (lo / 3600.0, hi / 3600.0) for name, (lo, hi) in SHIFTS.items()}
# The map and the statistics need this many incidents before a test means anything.
_MIN_INCIDENTS: Final = 10


@dataclass(frozen=True)
class HotspotQuery:
    """What to analyse. Field names are the query parameters of ``GET /hotspots``.

    ``start`` and ``end`` are dates, both included (Beijing time); ``compare`` previous periods
    of the same length give the trend. ``squad`` or ``community`` narrows the study area to its
    communities. Errors name the field and the fix (:class:`InvalidInputError`).
    """

    start: date
    end: date
    categories: tuple[str, ...] = ()
    shift: Literal["early", "late"] | None = None
    weekdays: tuple[int, ...] = ()
    sources: tuple[str, ...] = ()
    squad: str | None = None
    community: str | None = None
    cells: Literal["grid", "h3", "community", "road"] = "grid"
    cell_m: float = 150.0
    h3_resolution: int = 9
    # 9999 permutations: with 999 the smallest two-sided p (0.002) rarely reaches the 99 % bin
    # after FDR; 9999 costs about 0.1 s more on the sub-district.
    permutations: int = 9999
    seed: int = 0
    compare: int = 1
    top: int = 10

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise InvalidInputError(
                "end",
                f"end {self.end} is before start {self.start}.",
                "give end on or after start (both days are included).",
            )
        if (self.end - self.start).days > 366:
            raise InvalidInputError(
                "start", "The period is longer than a year.", "analyse at most 366 days at a time."
            )
        unknown = sorted(set(self.categories) - {c.code for c in CATEGORIES})
        if unknown:
            raise InvalidInputError(
                "category",
                f"Unknown category {', '.join(unknown)}.",
                "use codes listed by GET /categories, e.g. C02.",
            )
        if self.cells not in CELL_KINDS:
            raise InvalidInputError(
                "cells",
                f"Unknown cell kind {self.cells!r}.",
                f"use one of {', '.join(CELL_KINDS)}.",
            )
        if not 50.0 <= self.cell_m <= 1000.0:
            raise InvalidInputError(
                "cell_m",
                f"cell_m {self.cell_m:g} is out of range.",
                "use 50 to 1000 metres (150 is a PredPol box).",
            )
        if self.h3_resolution not in (8, 9, 10):
            raise InvalidInputError(
                "h3_resolution",
                f"H3 resolution {self.h3_resolution}.",
                "use 9 (about 170 m across) or 10 (about 65 m).",
            )
        if not 99 <= self.permutations <= 99_999:
            raise InvalidInputError(
                "permutations",
                f"{self.permutations} permutations.",
                "use 99 to 99999 (999 or 9999 are usual).",
            )
        if not 0 <= self.compare <= 6:
            raise InvalidInputError(
                "compare", f"compare = {self.compare}.", "compare with 0 to 6 previous periods."
            )
        if any(not 0 <= d <= 6 for d in self.weekdays):
            raise InvalidInputError(
                "weekday", f"weekdays {list(self.weekdays)}.", "use 0 (Monday) to 6 (Sunday)."
            )

    @property
    def days(self) -> int:
        """How many days the period holds (both ends included)."""
        return (self.end - self.start).days + 1

    def period(self, back: int = 0) -> tuple[datetime, datetime]:
        """The analysed period (``back`` = 0) or the ``back``-th one before it, [start, end)."""
        first = datetime.combine(
            self.start - timedelta(days=back * self.days), time(), tzinfo=BEIJING
        )
        return first, first + timedelta(days=self.days)

    def where(self, back: int = 0) -> IncidentFilter:
        """The incident filter of the period (``back`` = 0) or of the ``back``-th one before it."""
        start, end = self.period(back)
        return IncidentFilter(
            categories=self.categories or None,
            start=start,
            end=end,
            shift=_SHIFT_HOURS[self.shift] if self.shift else None,
            weekdays=self.weekdays or None,
            sources=self.sources or None,
        )

    def label(self) -> str:
        """The period in words, for titles."""
        return f"{self.start.isoformat()} – {self.end.isoformat()}"


@dataclass
class HotspotAnalysis:
    """Everything the map, the GeoJSON and the target list show, for one query."""

    query: HotspotQuery
    area: gpd.GeoDataFrame
    cells: gpd.GeoDataFrame
    communities: gpd.GeoDataFrame
    heat: DensitySurface | None
    weekly: pd.DataFrame | None
    targets: list[CampaignTarget]
    incidents: int
    previous_incidents: list[int] = field(default_factory=list)
    note: str | None = None

    @property
    def filter_text(self) -> str:
        """The filter in words, without the period (the title states that, days included)."""
        return replace(self.query.where(0), start=None, end=None).describe()


def study_area(
    layer: ActiveLayer, *, squad: str | None = None, community: str | None = None
) -> gpd.GeoDataFrame:
    """The communities analysed: all, a squad's, or one (code, name or alias)."""
    communities = layer.pack.communities
    if community:
        key = community.strip()
        code = layer.community_lookup.get(key) or layer.community_lookup.get(key.lower())
        if code is None:
            raise InvalidInputError(
                "community",
                f"Unknown community {community!r}.",
                "use a code, name or alias from GET /layers/active.",
            )
        return communities[communities["code"].astype(str) == code]
    if squad:
        by_name = {name: code for code, name in layer.squad_names.items()}
        squad = by_name.get(squad.strip(), squad.strip())
        chosen = communities[communities["squad"].astype(str) == squad]
        if chosen.empty:
            raise InvalidInputError(
                "squad",
                f"Unknown squad {squad!r}.",
                f"use one of {', '.join(sorted(layer.squad_names))}.",
            )
        return chosen
    return communities


def _count(
    query: HotspotQuery,
    incidents: pd.DataFrame,
    area: gpd.GeoDataFrame,
    layer: ActiveLayer,
    where: IncidentFilter,
) -> gpd.GeoDataFrame:
    if query.cells == "h3":
        return h3_cells(incidents, area, resolution=query.h3_resolution, where=where)
    if query.cells == "community":
        return community_cells(incidents, area, where=where)
    if query.cells == "road":
        roads = layer.pack.key_roads
        return road_cells(incidents, roads[roads.intersects(area.union_all())], where=where)
    return grid_cells(incidents, area, cell_m=query.cell_m, where=where)


def analyse(session: Session, layer: ActiveLayer, query: HotspotQuery) -> HotspotAnalysis:
    """Count, test, compare and pick targets for ``query`` on the active layer."""
    area = study_area(layer, squad=query.squad, community=query.community)
    codes = area["code"].astype(str).tolist() if (query.squad or query.community) else None
    first, _ = query.period(query.compare)
    _, last = query.period(0)
    incidents = incident_frame(session, since=first, until=last, community_codes=codes)
    params = GiParams(permutations=query.permutations, seed=query.seed)
    periods = []
    for back in range(query.compare + 1):
        counted = _count(query, incidents, area, layer, query.where(back))
        periods.append(getis_ord(counted, params=params))
    cells = compare_periods(periods[0], *periods[1:]) if query.compare else periods[0]
    now = query.where(0)
    chosen = now.apply(incidents)
    note = None
    if len(chosen) < _MIN_INCIDENTS:
        note = (
            f"只有 {len(chosen)} 起事件 — only {len(chosen)} incidents: too few for a "
            "significance test; widen the period or the categories."
        )
    communities = community_cells(incidents, area, where=now)
    communities = communities.merge(
        area[["code", "name_zh", "squad"]].rename(columns={"code": "cell_id"}),
        on="cell_id",
        how="left",
    )
    heat = kernel_density(incidents, area, where=now) if len(chosen) >= 2 else None
    weekly = (
        grid_weekly_counts(incidents, area, cell_m=query.cell_m, where=now)
        if query.days >= 14
        else None
    )
    targets = campaign_targets(
        cells,
        jurisdiction=layer.jurisdiction,
        key_roads=layer.pack.key_roads,
        places=layer.pack.places,
        params=CampaignParams(top=query.top),
    )
    return HotspotAnalysis(
        query=query,
        area=area,
        cells=cells,
        communities=communities,
        heat=heat,
        weekly=weekly,
        targets=targets,
        incidents=len(chosen),
        previous_incidents=[int(p.attrs.get("incidents", 0)) for p in periods[1:]],
        note=note,
    )


def map_html(
    analysis: HotspotAnalysis,
    layer: ActiveLayer,
    *,
    basemap: str = "osm",
    tianditu_key: str | None = None,
    controls: str = "",
    link_params: Mapping[str, str] | None = None,
    standalone: bool = False,
) -> str:
    """The hot-spot map page of ``analysis``: assets from ``/static/vendor``, or inlined
    (``standalone``) so a saved file opens from disk."""
    query = analysis.query
    scope = (
        f" · {query.community}"
        if query.community
        else f" · {layer.squad_names.get(query.squad, query.squad)}"
        if query.squad
        else ""
    )
    m = render_hotspots(
        analysis.cells,
        communities=analysis.communities,
        key_roads=layer.pack.key_roads,
        heat=analysis.heat,
        weekly=analysis.weekly,
        targets=analysis.targets,
        title=f"清水河街道 热点分析{scope} — hot spots for focused remediation (集中整治)",
        period=query.label(),
        filter_text=analysis.filter_text,
        note=analysis.note,
        categories=CATEGORY_NAMES,
        squads=layer.squad_names,
        basemap=basemap,
        tianditu_key=tianditu_key,
        link_params=link_params,
        controls=controls,
    )
    if standalone:
        return standalone_html(m, vendor_dir=STATIC_DIR / "vendor")
    return offline_html(m, asset_base="/static/vendor")


def planning_hotspots(
    session: Session,
    layer: ActiveLayer,
    *,
    squad: str,
    day: date,
    window: tuple[float, float],
    days: int,
    top: int,
) -> tuple[list[HotSpot], str]:
    """The planner's hot spots for a squad's shift, and which method chose them.

    ``window`` is the part of the day planned (seconds from midnight: the shift, or the rest of
    it when re-planning). The cells Gi* calls hot over the ``days`` before ``day``, counting
    the incidents within those hours that the squad answers for, in its own communities; when
    no cell is significant (a quiet month, a new deployment) the busiest cells instead
    (``"ranking"``), so the plan still patrols where things happen.
    """
    if top == 0:
        return [], "none"
    # The squad's communities are the study area; a key-road incident of the squad in the
    # other squad's community falls outside the grid and is left to the road sweeps.
    area = study_area(layer, squad=squad)
    since = datetime.combine(day - timedelta(days=days), time(), tzinfo=BEIJING)
    until = datetime.combine(day, time(), tzinfo=BEIJING)
    incidents = incident_frame(session, since=since, until=until)
    incidents = incidents[incidents["squad"].astype(str) == squad]
    if incidents.empty:
        return [], "none"
    when = incidents["occurred_at"].dt
    seconds = (when.hour * 3600 + when.minute * 60 + when.second).to_numpy(dtype=float)
    weights = np.where(incidents["urgent"].to_numpy(dtype=bool), 2.0, 1.0)
    rank = RankParams(top=top)
    hours = IncidentFilter(shift=(window[0] / 3600.0, min(24.0, window[1] / 3600.0)))
    cells = getis_ord(
        grid_cells(incidents, area, cell_m=rank.cell_m, where=hours),
        params=GiParams(permutations=999, seed=0),
    )
    spots = gi_hotspots(
        incidents["lon"],
        incidents["lat"],
        seconds,
        cells,
        shift=window,
        weights=weights,
        labels=incidents["category"],
        params=rank,
    )
    source = "gi*"
    if not spots:
        source = "ranking"
        spots = rank_hotspots(
            incidents["lon"],
            incidents["lat"],
            seconds,
            shift=window,
            weights=weights,
            labels=incidents["category"],
            params=rank,
        )
    return _named(spots, layer), source


def _streets(layer: ActiveLayer) -> gpd.GeoDataFrame:
    """The named lines of the layer: the road network's pieces and the key roads."""
    key_roads = layer.pack.key_roads
    frames = [
        frame[["name_zh", "geometry"]].to_crs(key_roads.crs)
        for frame in (layer.pack.roads, key_roads)
        if frame is not None and len(frame)
    ]
    if not frames:
        return key_roads[["name_zh", "geometry"]]
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=key_roads.crs)


def _named(spots: list[HotSpot], layer: ActiveLayer) -> list[HotSpot]:
    """``spots`` named for a squad leader: community · nearest named street · main category
    (:func:`geo.spotnames.name_hotspots`); the cell id stays their key."""
    return name_hotspots(
        spots,
        jurisdiction=layer.jurisdiction,
        streets=_streets(layer),
        category_names=CATEGORY_NAMES,
    )
