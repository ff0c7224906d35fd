"""Seeded demo incidents that look like a month of the plan's enforcement work.

:func:`generate_demo_incidents` draws incidents over the plan's 21 categories with:

- the plan's mix (city appearance C01 and street stalls C02 dominate; slaughter, family planning,
  talent agencies and funeral goods are rare);
- a time-of-day profile per category (stalls in the evening, markets and food in the morning,
  living noise at night, construction in the day and evening, licensing in office hours) and
  weekend factors (less construction and licensing, more stalls, noise and entertainment);
- places where such problems happen (``pack.places``: stalls near metro exits, markets and urban
  villages, construction near sites, food near markets and schools), key roads and a diffuse
  background; offsets are drawn in EPSG:4547 metres and every point lies inside a community;
- the plan's reporting rules: information groups report the day's findings the next morning by
  09:30; urgent cases within 15 minutes; complaints within minutes to hours; squads patrol
  07:00-23:00 and log on the spot.

The per-category tables (mix, hours, places, sources, templates) are in
:mod:`service.incidents.demo_profiles`; this module draws from them.

Everything comes from one ``numpy.random.default_rng(seed)``: the same arguments give the same
frame. No personal names: reporters are roles (``info-group:<community>``, ``resident``,
``hotline-12345``, ``squad:<code>``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

from geo import crs as geocrs
from geo.jurisdiction import Jurisdiction
from layers.pack import LayerPack

from .categories import CATEGORIES
from .demo_profiles import SOURCE_HOURS, SOURCES, SPECS, WEEKEND, CategorySpec, hour_p

__all__ = ["DEMO_COLUMNS", "SOURCES", "generate_demo_incidents"]

TIMEZONE: Final = "Asia/Shanghai"
DEMO_COLUMNS: Final = (
    "category",
    "lon",
    "lat",
    "occurred_at",
    "reported_at",
    "source",
    "reporter",
    "urgent",
    "description",
    "photo_urls",
)
_PHOTO_BASE: Final = "https://example.invalid/jiedao-demo"


_PLACE_SPREAD_M: Final = 35.0  # around a place: a stall pitch, a market front, a site gate
_ROAD_SPREAD_M: Final = 8.0  # across a key road: carriageway and pavement
_FALLBACK_SPREAD_M: Final = 150.0  # around a community's centre when a pack has no places
_RESAMPLE_ROUNDS: Final = 20


@dataclass(frozen=True, slots=True)
class _Sampler:
    """The pack's geometry prepared for drawing points."""

    area: shapely.Geometry  # union of communities, WGS84, prepared
    bounds: tuple[float, float, float, float]
    place_x: NDArray[np.float64]
    place_y: NDArray[np.float64]
    place_kind: NDArray[np.object_]
    place_name: NDArray[np.object_]
    anchor_spread_m: float
    fallback: bool  # True when anchors are community centres (the pack has no places)
    roads: NDArray[np.object_]  # metric LineStrings
    road_names: NDArray[np.object_]
    road_p: NDArray[np.float64]  # chosen by length

    @classmethod
    def build(cls, pack: LayerPack) -> _Sampler:
        if len(pack.communities) == 0:
            msg = "The pack has no communities: demo incidents need at least one polygon."
            raise ValueError(msg)
        area = shapely.union_all(np.asarray(pack.communities.geometry.values))
        shapely.prepare(area)
        places = pack.places
        if places is not None and len(places):
            lon, lat = places.geometry.x.to_numpy(), places.geometry.y.to_numpy()
            kinds = places["kind"].astype(str).to_numpy(dtype=object)
            names = places["name_zh"].astype(str).to_numpy(dtype=object)
            spread = _PLACE_SPREAD_M
        else:
            # No places (a user pack): anchor at community centres, spread wider.
            centres = shapely.point_on_surface(np.asarray(pack.communities.geometry.values))
            lon, lat = shapely.get_x(centres), shapely.get_y(centres)
            kinds = np.full(len(centres), "community", dtype=object)
            names = pack.communities["name_zh"].astype(str).to_numpy(dtype=object)
            spread = _FALLBACK_SPREAD_M
        x, y = geocrs.to_metric(lon, lat)
        roads = pack.key_roads
        metric_roads = (
            np.asarray(roads.to_crs(geocrs.METRIC_CRS).geometry.values, dtype=object)
            if len(roads)
            else np.empty(0, dtype=object)
        )
        lengths = shapely.length(metric_roads) if len(metric_roads) else np.empty(0)
        road_p = lengths / lengths.sum() if len(lengths) and lengths.sum() > 0 else lengths
        bounds = tuple(float(v) for v in area.bounds)
        return cls(
            area=area,
            bounds=bounds,  # type: ignore[arg-type]
            place_x=x,
            place_y=y,
            place_kind=kinds,
            place_name=names,
            anchor_spread_m=spread,
            fallback=spread == _FALLBACK_SPREAD_M,
            roads=metric_roads,
            road_names=(
                roads["name_zh"].astype(str).to_numpy(dtype=object)
                if len(roads)
                else np.empty(0, dtype=object)
            ),
            road_p=np.asarray(road_p, dtype=np.float64),
        )

    def background(
        self, rng: np.random.Generator, n: int
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """``n`` points uniform over the jurisdiction (rejection sampling in its bounds)."""
        west, south, east, north = self.bounds
        lon = np.empty(0)
        lat = np.empty(0)
        while len(lon) < n:
            cand_lon = rng.uniform(west, east, 2 * (n - len(lon)) + 8)
            cand_lat = rng.uniform(south, north, len(cand_lon))
            keep = shapely.contains_xy(self.area, cand_lon, cand_lat)
            lon = np.concatenate([lon, cand_lon[keep]])
            lat = np.concatenate([lat, cand_lat[keep]])
        return lon[:n], lat[:n]


def _locate(
    rng: np.random.Generator, sampler: _Sampler, spec: CategorySpec, n: int
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.object_]]:
    """Draw ``n`` points for one category: at places, along key roads or in the background."""
    kinds_present = [k for k in spec.kinds if np.any(sampler.place_kind == k)]
    if sampler.fallback and spec.kinds:
        kinds_present = ["community"]
    place_w = 1.0 - spec.road - spec.background if kinds_present else 0.0
    road_w = spec.road if len(sampler.roads) else 0.0
    weights = np.array([place_w, road_w, max(1.0 - place_w - road_w, 0.0)])
    mode = rng.choice(3, size=n, p=weights / weights.sum())

    anchor_x = np.zeros(n)
    anchor_y = np.zeros(n)
    spread = np.zeros(n)
    label = np.empty(n, dtype=object)
    at_place = np.flatnonzero(mode == 0)
    if len(at_place):
        kind_w = np.array([spec.kinds.get(k, 1.0) for k in kinds_present])
        kind = rng.choice(len(kinds_present), size=len(at_place), p=kind_w / kind_w.sum())
        for k, name in enumerate(kinds_present):
            rows = at_place[kind == k]
            candidates = np.flatnonzero(sampler.place_kind == name)
            chosen = candidates[rng.integers(0, len(candidates), size=len(rows))]
            anchor_x[rows], anchor_y[rows] = sampler.place_x[chosen], sampler.place_y[chosen]
            label[rows] = sampler.place_name[chosen]
        spread[at_place] = sampler.anchor_spread_m
    on_road = np.flatnonzero(mode == 1)
    if len(on_road):
        road = rng.choice(len(sampler.roads), size=len(on_road), p=sampler.road_p)
        where = rng.uniform(0.0, 1.0, size=len(on_road))
        points = shapely.line_interpolate_point(sampler.roads[road], where, normalized=True)
        anchor_x[on_road], anchor_y[on_road] = shapely.get_x(points), shapely.get_y(points)
        label[on_road] = sampler.road_names[road]
        spread[on_road] = _ROAD_SPREAD_M

    lon = np.full(n, np.nan)
    lat = np.full(n, np.nan)
    pending = np.flatnonzero(mode != 2)
    for _ in range(_RESAMPLE_ROUNDS):
        if not len(pending):
            break
        dx = rng.normal(0.0, 1.0, size=len(pending)) * spread[pending]
        dy = rng.normal(0.0, 1.0, size=len(pending)) * spread[pending]
        plon, plat = geocrs.from_metric(anchor_x[pending] + dx, anchor_y[pending] + dy)
        plon, plat = np.round(plon, 6), np.round(plat, 6)
        inside = shapely.contains_xy(sampler.area, plon, plat)
        lon[pending[inside]], lat[pending[inside]] = plon[inside], plat[inside]
        pending = pending[~inside]
    # Anchors near the edge that keep missing, and the background share, fall anywhere inside.
    rest = np.flatnonzero(np.isnan(lon))
    if len(rest):
        blon, blat = sampler.background(rng, len(rest))
        lon[rest], lat[rest] = np.round(blon, 6), np.round(blat, 6)
        label[rest] = None
    return lon, lat, label


def _report_delay(
    rng: np.random.Generator,
    source: NDArray[np.int_],
    urgent: NDArray[np.bool_],
    occurred: pd.DatetimeIndex,
) -> pd.TimedeltaIndex:
    """Time from occurrence to report, by the plan's rules for each source."""
    n = len(source)
    seconds = np.zeros(n)
    seconds[:] = rng.uniform(0.0, 600.0, size=n)  # patrol: logged on the spot, within 10 min
    complaint = source == 1
    # Residents call within minutes to hours (log-normal, median 15 min, at most 8 h).
    seconds[complaint] = np.clip(
        rng.lognormal(np.log(900.0), 1.2, size=int(complaint.sum())), 60.0, 8 * 3600.0
    )
    special = source == 2
    seconds[special] = rng.uniform(300.0, 7200.0, size=int(special.sum()))
    # Daily inspections: the information officer's form reaches the team by 09:30 the next day.
    daily = source == 0
    next_morning = (
        occurred.normalize()
        + pd.Timedelta(days=1, hours=8)
        + pd.to_timedelta(rng.uniform(0.0, 5400.0, size=n).round(), unit="s")
    )
    daily_s = (next_morning - occurred).total_seconds().to_numpy()
    seconds[daily] = daily_s[daily]
    # Urgent cases (big ones, safety hazards): within 15 minutes, whatever the source.
    seconds[urgent] = rng.uniform(60.0, 900.0, size=int(urgent.sum()))
    return pd.to_timedelta(np.floor(seconds), unit="s").as_unit("us")


def generate_demo_incidents(
    pack: LayerPack,
    *,
    start: dt.date,
    days: int = 30,
    seed: int = 0,
    daily_mean: float = 60.0,
    until: dt.datetime | None = None,
) -> pd.DataFrame:
    """Draw a seeded month (or ``days``) of demo incidents over ``pack``'s jurisdiction.

    Parameters
    ----------
    pack
        The layer pack; ``places`` anchor the incidents when present, else community centres.
    start
        The first day (local time, Asia/Shanghai).
    days
        How many days to draw.
    seed
        Seed of ``numpy.random.default_rng``: the same arguments give an identical frame.
    daily_mean
        Mean number of incidents on an average day (weekends differ by category).
    until
        Keep only reports before this moment (tz-aware), when it falls inside the days drawn:
        a month that ends today ends now.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`DEMO_COLUMNS`, one row per incident, sorted by ``occurred_at``; times are
        tz-aware (+08:00), ``lon``/``lat`` WGS84. Only incidents *reported* within the days
        drawn are kept: a daily inspection of the last day, reported the next morning, is left
        out, so a window that ends today holds no report stamped in the future (which intake
        refuses).
    """
    if days < 0 or not np.isfinite(daily_mean) or daily_mean < 0:
        msg = f"Expected days >= 0 and a finite daily_mean >= 0, got {days!r}, {daily_mean!r}."
        raise ValueError(msg)
    rng = np.random.default_rng(seed)
    sampler = _Sampler.build(pack)
    codes = [c.code for c in CATEGORIES]
    specs = [SPECS[c] for c in codes]
    share = np.array([s.share for s in specs])
    share /= share.sum()
    weekend = np.array([WEEKEND[s.profile] for s in specs])
    # Scale so that an average week has daily_mean incidents a day.
    week_mean = (5 * share.sum() + 2 * (share * weekend).sum()) / 7
    dates = [start + dt.timedelta(days=i) for i in range(days)]
    is_weekend = np.array([d.weekday() >= 5 for d in dates], dtype=bool)
    lam = daily_mean / week_mean * share[None, :] * np.where(is_weekend[:, None], weekend, 1.0)
    counts = rng.poisson(lam) if days else np.zeros((0, len(codes)), dtype=np.int64)

    frames: list[pd.DataFrame] = []
    day_ns = np.array([np.datetime64(d, "s") for d in dates], dtype="datetime64[s]")
    for c, (code, spec, category) in enumerate(zip(codes, specs, CATEGORIES, strict=True)):
        n = int(counts[:, c].sum())
        if n == 0:
            continue
        day = np.repeat(np.arange(days), counts[:, c])
        hour = rng.choice(24, size=n, p=hour_p(spec.profile))
        second = rng.integers(0, 3600, size=n)
        local = day_ns[day] + (hour * 3600 + second).astype("timedelta64[s]")
        occurred = pd.DatetimeIndex(local).tz_localize(TIMEZONE).as_unit("us")

        allowed = np.array([[lo <= h < hi for lo, hi in SOURCE_HOURS] for h in range(24)])
        source_w = np.asarray(spec.sources)[None, :] * allowed[hour]
        source_w[source_w.sum(axis=1) == 0, 1] = 1.0  # someone can always phone it in
        cum = np.cumsum(source_w / source_w.sum(axis=1, keepdims=True), axis=1)
        source = np.minimum((rng.uniform(size=(n, 1)) > cum).sum(axis=1), 3)
        urgent = (
            np.ones(n, dtype=bool)
            if category.urgent_by_default
            else rng.uniform(size=n) < spec.urgent
        )
        lon, lat, label = _locate(rng, sampler, spec, n)
        template = rng.integers(0, len(spec.templates), size=n)
        photos = np.where(
            source == 1,
            rng.choice(2, size=n, p=[0.6, 0.4]),
            rng.choice(4, size=n, p=[0.2, 0.4, 0.3, 0.1]),
        )
        hotline = rng.uniform(size=n) < 0.5
        frames.append(
            pd.DataFrame(
                {
                    "category": code,
                    "lon": lon,
                    "lat": lat,
                    "occurred_at": occurred,
                    "reported_at": occurred + _report_delay(rng, source, urgent, occurred),
                    "source": np.asarray(SOURCES, dtype=object)[source],
                    "urgent": urgent,
                    "_label": label,
                    "_template": template,
                    "_photos": photos,
                    "_hotline": hotline,
                }
            )
        )
    end = pd.Timestamp(start + dt.timedelta(days=days)).tz_localize(TIMEZONE)
    if until is not None:
        end = min(end, pd.Timestamp(until).tz_convert(TIMEZONE))
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if len(frame):
        frame = frame[frame["reported_at"] < end]
    if not len(frame):
        empty = pd.DataFrame({col: pd.Series(dtype=object) for col in DEMO_COLUMNS})
        empty["occurred_at"] = pd.DatetimeIndex([], tz=TIMEZONE)
        empty["reported_at"] = pd.DatetimeIndex([], tz=TIMEZONE)
        return empty
    frame = frame.sort_values(["occurred_at", "category"], kind="stable").reset_index(drop=True)
    return _finish(frame, pack, seed)


def _finish(frame: pd.DataFrame, pack: LayerPack, seed: int) -> pd.DataFrame:
    """Add reporters, descriptions and photo links (they need the community of each point)."""
    where = Jurisdiction.build(pack.communities, pack.key_roads).resolve(
        frame["lon"].to_numpy(), frame["lat"].to_numpy()
    )
    community = where["community_code"].astype(object).to_numpy()
    squad = where["squad"].astype(object).to_numpy()
    label = np.where(
        pd.isna(frame["_label"]), where["community_name"].astype(object), frame["_label"]
    )
    reporter = []
    for source, code, squad_code, hotline in zip(
        frame["source"], community, squad, frame["_hotline"], strict=True
    ):
        if source == "daily_inspection":
            reporter.append(f"info-group:{code}")
        elif source == "complaint":
            reporter.append("hotline-12345" if hotline else "resident")
        elif source == "patrol":
            reporter.append(f"squad:{squad_code}")
        else:
            reporter.append("leadership-office")
    frame["reporter"] = reporter
    frame["description"] = [
        SPECS[code].templates[t].format(place=place)
        for code, t, place in zip(frame["category"], frame["_template"], label, strict=True)
    ]
    frame["photo_urls"] = [
        [f"{_PHOTO_BASE}/{seed}-{i:05d}-{k}.jpg" for k in range(int(p))]
        for i, p in enumerate(frame["_photos"])
    ]
    frame["urgent"] = frame["urgent"].astype(bool)
    return frame[list(DEMO_COLUMNS)]
