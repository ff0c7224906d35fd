"""Campaign targets (集中整治 targets): the top significant hot cells, ready to print.

:func:`campaign_targets` takes Gi* results (:func:`geo.getisord.getis_ord`, optionally labelled
by :func:`geo.getisord.compare_periods`) and picks the cells a leader would send a campaign to:

- only hot cells at ``min_bin`` or above (90 % confidence by default);
- the busiest first (incidents in the cell, then Gi* z), each at least ``min_separation_m`` from
  the targets already picked, so one market does not fill the list with its neighbouring cells;
- each with its top three categories and counts, the trend against the previous period(s), the
  community and squad answering for it (:class:`geo.jurisdiction.Jurisdiction`), and the nearest
  key road and place by name, so the printed line reads as an address.

:func:`targets_table` turns them into a bilingual table (pandas) for printing or export.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

from . import crs as geocrs
from .cells import category_columns
from .getisord import BIN_LABELS, TRENDS
from .jurisdiction import Jurisdiction

__all__ = ["CampaignParams", "CampaignTarget", "campaign_targets", "targets_table"]

_TOP_CATEGORIES: Final = 3


@dataclass(frozen=True, slots=True)
class CampaignParams:
    """Which hot cells become targets.

    Parameters
    ----------
    top
        How many targets at most.
    min_bin
        The lowest Gi* bin that qualifies: 1 (90 %), 2 (95 %) or 3 (99 % confidence).
    min_separation_m
        Targets are at least this far apart (cell anchors, metres); 0 lists adjacent cells too.
    landmark_m
        Key roads and places farther than this are not named.
    """

    top: int = 10
    min_bin: int = 1
    min_separation_m: float = 250.0
    landmark_m: float = 300.0

    def __post_init__(self) -> None:
        if self.top < 1:
            msg = f"Expected top >= 1, got {self.top!r}."
            raise ValueError(msg)
        if self.min_bin not in (1, 2, 3):
            msg = f"Expected min_bin 1 (90 %), 2 (95 %) or 3 (99 %), got {self.min_bin!r}."
            raise ValueError(msg)
        for name in ("min_separation_m", "landmark_m"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                msg = f"Expected {name} to be a distance >= 0 metres, got {value!r}."
                raise ValueError(msg)


@dataclass(frozen=True, slots=True)
class CampaignTarget:
    """One campaign target: a hot cell and everything needed to brief a squad on it.

    ``bounds`` is the cell's WGS84 (west, south, east, north), for a map to zoom to;
    ``lon``/``lat`` a point of the cell inside the study area. ``categories`` holds up to three
    ``(code, count)``, most frequent first. ``previous_count``, ``change`` and ``trend`` are
    ``None``/``""`` when no previous period was compared. Landmarks are ``""`` (and their
    distance ``None``) when none lies within ``landmark_m``.
    """

    rank: int
    cell_id: str
    lon: float
    lat: float
    bounds: tuple[float, float, float, float]
    count: int
    categories: tuple[tuple[str, int], ...]
    gi_bin: int
    gi_z: float
    gi_p_fdr: float
    trend: str
    previous_count: float | None
    change: float | None
    community_code: str
    community_name: str
    squad: str
    key_road: str
    key_road_m: float | None
    place: str
    place_m: float | None

    @property
    def where(self) -> str:
        """A short address: the nearest place and key road (e.g. ``近 泥岗村 60 m · 泥岗西路``)."""
        parts = []
        if self.place:
            parts.append(f"近 {self.place} {self.place_m:.0f} m")
        if self.key_road:
            parts.append(f"{self.key_road} {self.key_road_m:.0f} m")
        return " · ".join(parts) or self.community_name or self.cell_id


def _nearest(
    points: NDArray[np.object_], frame: gpd.GeoDataFrame | None, name: str, limit_m: float
) -> tuple[list[str], list[float | None]]:
    """The name and distance of the nearest feature of ``frame`` to each metric point."""
    n = len(points)
    if frame is None or not len(frame) or name not in frame.columns:
        return [""] * n, [None] * n
    geoms = np.asarray(frame.to_crs(geocrs.METRIC_CRS).geometry.values, dtype=object)
    names = frame[name].astype(str).to_numpy(dtype=object)
    hits, dist = shapely.STRtree(geoms).query_nearest(
        points, max_distance=limit_m, return_distance=True, all_matches=False
    )
    labels: list[str] = [""] * n
    metres: list[float | None] = [None] * n
    for i, j, d in zip(hits[0], hits[1], dist, strict=True):
        labels[int(i)] = str(names[int(j)])
        metres[int(i)] = float(d)
    return labels, metres


def _pick(
    frame: pd.DataFrame, x: NDArray[np.float64], y: NDArray[np.float64], params: CampaignParams
) -> list[int]:
    order = np.lexsort(
        (
            frame["cell_id"].astype(str).to_numpy(),
            -frame["gi_z"].to_numpy(dtype=np.float64),
            -frame["count"].to_numpy(dtype=np.float64),
        )
    )
    chosen: list[int] = []
    for i in order:
        if all(math.hypot(x[i] - x[j], y[i] - y[j]) >= params.min_separation_m for j in chosen):
            chosen.append(int(i))
            if len(chosen) == params.top:
                break
    return chosen


def _top_categories(row: pd.Series, columns: list[str]) -> tuple[tuple[str, int], ...]:
    counts = [(c.removeprefix("count_"), int(row[c])) for c in columns if int(row[c]) > 0]
    counts.sort(key=lambda item: (-item[1], item[0]))
    return tuple(counts[:_TOP_CATEGORIES])


def campaign_targets(
    hotspots: gpd.GeoDataFrame,
    *,
    jurisdiction: Jurisdiction,
    key_roads: gpd.GeoDataFrame | None = None,
    places: gpd.GeoDataFrame | None = None,
    params: CampaignParams | None = None,
) -> list[CampaignTarget]:
    """The top hot cells as campaign targets, best first.

    Parameters
    ----------
    hotspots
        Gi* results (``cell_id``, ``count``, ``gi_bin``, ``gi_z``, ``gi_p_fdr``, ``lon``,
        ``lat``, geometry; ``count_<category>`` columns for the categories; ``trend`` and
        ``previous_count`` when compared with earlier periods).
    jurisdiction
        Resolves each target to its community and squad.
    key_roads, places
        Layers whose nearest feature (``name_zh``) names the target's surroundings.
    params
        How many targets, from which confidence, how far apart.

    Returns
    -------
    list of CampaignTarget
        At most ``params.top``; empty when no cell is hot enough.
    """
    params = params or CampaignParams()
    missing = {"cell_id", "count", "gi_bin", "gi_z", "gi_p_fdr", "lon", "lat"} - set(
        hotspots.columns
    )
    if missing:
        msg = (
            f"hotspots lack {', '.join(sorted(missing))}: pass the result of "
            "geo.getisord.getis_ord."
        )
        raise ValueError(msg)
    hot = hotspots[hotspots["gi_bin"].to_numpy() >= params.min_bin].reset_index(drop=True)
    if not len(hot):
        return []
    x, y = geocrs.to_metric(
        hot["lon"].to_numpy(dtype=np.float64), hot["lat"].to_numpy(dtype=np.float64)
    )
    picked = np.asarray(_pick(hot, x, y, params), dtype=np.intp)
    chosen = hot.iloc[picked].reset_index(drop=True)
    points = np.asarray(shapely.points(x[picked], y[picked]), dtype=object)
    roads, road_m = _nearest(points, key_roads, "name_zh", params.landmark_m)
    names, place_m = _nearest(points, places, "name_zh", params.landmark_m)
    resolved = jurisdiction.resolve(chosen["lon"].to_numpy(), chosen["lat"].to_numpy())
    columns = category_columns(chosen)
    compared = "trend" in chosen.columns and "previous_count" in chosen.columns
    bounds = chosen.geometry.bounds.to_numpy(dtype=np.float64)
    targets = []
    for k in range(len(chosen)):
        row = chosen.iloc[k]
        where = resolved.iloc[k]
        code = (
            where["community_code"]
            if pd.notna(where["community_code"])
            else where["nearest_community_code"]
        )
        name = where["community_name"]
        previous = float(row["previous_count"]) if compared else None
        targets.append(
            CampaignTarget(
                rank=k + 1,
                cell_id=str(row["cell_id"]),
                lon=float(row["lon"]),
                lat=float(row["lat"]),
                bounds=(
                    float(bounds[k, 0]),
                    float(bounds[k, 1]),
                    float(bounds[k, 2]),
                    float(bounds[k, 3]),
                ),
                count=int(row["count"]),
                categories=_top_categories(row, columns),
                gi_bin=int(row["gi_bin"]),
                gi_z=float(row["gi_z"]),
                gi_p_fdr=float(row["gi_p_fdr"]),
                trend=str(row["trend"]) if compared else "",
                previous_count=previous,
                change=None if previous is None else float(row["count"]) - previous,
                community_code="" if pd.isna(code) else str(code),
                community_name="" if pd.isna(name) else str(name),
                squad="" if pd.isna(where["community_squad"]) else str(where["community_squad"]),
                key_road=roads[k],
                key_road_m=road_m[k],
                place=names[k],
                place_m=place_m[k],
            )
        )
    return targets


def targets_table(
    targets: Sequence[CampaignTarget],
    *,
    categories: Mapping[str, str] | None = None,
    squads: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """A printable bilingual table of campaign targets, one row per target.

    Parameters
    ----------
    targets
        From :func:`campaign_targets`.
    categories
        Category code to name (``{"C02": "占道施工与摆摊设点"}``); codes are printed otherwise.
    squads
        Squad code to name (``{"west": "巡查一中队"}``).
    """
    categories = categories or {}
    squads = squads or {}
    rows = []
    for t in targets:
        top = "；".join(f"{categories.get(code, code)} {n}" for code, n in t.categories)
        if t.previous_count is None:
            change = ""
        else:
            change = f"{t.previous_count:.0f} → {t.count} ({t.change:+.0f})"
        rows.append(
            {
                "序号 rank": t.rank,
                "位置 where": t.where,
                "社区 community": t.community_name,
                "中队 squad": squads.get(t.squad, t.squad),
                "事件数 incidents": t.count,
                "主要类别 top categories": top,
                "趋势 trend": TRENDS.get(t.trend, t.trend),
                "变化 change": change,
                "置信度 confidence": BIN_LABELS.get(t.gi_bin, str(t.gi_bin)),
                "经纬度 lon, lat": f"{t.lon:.5f}, {t.lat:.5f}",
                "网格 cell": t.cell_id,
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "序号 rank",
            "位置 where",
            "社区 community",
            "中队 squad",
            "事件数 incidents",
            "主要类别 top categories",
            "趋势 trend",
            "变化 change",
            "置信度 confidence",
            "经纬度 lon, lat",
            "网格 cell",
        ],
    )
