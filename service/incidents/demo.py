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

Everything comes from one ``numpy.random.default_rng(seed)``: the same arguments give the same
frame. No personal names: reporters are roles (``info-group:<community>``, ``resident``,
``hotline-12345``, ``squad:<code>``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
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

__all__ = ["DEMO_COLUMNS", "SOURCES", "generate_demo_incidents"]

TIMEZONE: Final = "Asia/Shanghai"
SOURCES: Final = ("daily_inspection", "complaint", "special_inspection", "patrol")
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

# Hour-of-day weights (index = hour). Shapes follow the plan's and the practice's experience:
# stalls peak 18-22, markets 6-10, living noise 21-02, construction works by day and evening.
_HOURS: Final[dict[str, tuple[float, ...]]] = {
    "city": (0.5, 0.3, 0.2, 0.2, 0.3, 1, 3, 5, 6, 6, 5, 4, 3, 4, 4, 4, 4, 4, 4, 3.5, 3, 2, 1.5, 1),
    "stalls": (
        0.5,
        0.2,
        0,
        0,
        0,
        0.5,
        2,
        3,
        3,
        1.5,
        1,
        1,
        1.5,
        1,
        1,
        1,
        1.5,
        3,
        8,
        10,
        10,
        9,
        7,
        2,
    ),
    "noise": (
        6,
        4,
        2,
        1,
        0.5,
        0.2,
        0.2,
        0.5,
        0.5,
        0.5,
        0.5,
        0.5,
        1,
        0.5,
        0.5,
        0.5,
        0.5,
        1,
        2,
        3,
        4,
        7,
        9,
        8,
    ),
    "market": (0, 0, 0, 0, 1, 3, 8, 10, 10, 8, 6, 4, 3, 2, 2, 2, 2, 3, 3, 2, 1, 0.5, 0, 0),
    "predawn": (
        1,
        1,
        2,
        4,
        6,
        6,
        4,
        2,
        1,
        0.5,
        0.5,
        0.5,
        0.5,
        0.5,
        0.5,
        0.5,
        0.5,
        0.5,
        0.5,
        0.5,
        0.5,
        0.5,
        0.5,
        0.5,
    ),
    "construction": (
        0,
        0,
        0,
        0,
        0,
        0,
        0.5,
        2,
        5,
        6,
        6,
        4,
        2,
        4,
        6,
        6,
        5,
        4,
        3,
        3,
        2.5,
        1.5,
        0.5,
        0,
    ),
    "office": (0, 0, 0, 0, 0, 0, 0, 0.5, 2, 5, 5, 5, 2, 2, 5, 5, 5, 5, 2, 1, 0.5, 0, 0, 0),
    "long_day": (
        0.2,
        0.1,
        0.1,
        0.1,
        0.1,
        0.2,
        1,
        3,
        4,
        4,
        4,
        4,
        3,
        4,
        4,
        4,
        4,
        4,
        3,
        3,
        2,
        1,
        0.5,
        0.3,
    ),
    "night_venue": (
        6,
        5,
        3,
        1,
        0.5,
        0.2,
        0.2,
        0.2,
        0.5,
        1,
        1,
        1,
        1,
        1,
        1,
        1,
        1,
        1.5,
        2,
        3,
        5,
        7,
        8,
        8,
    ),
}
# Saturday/Sunday factor per profile: fewer works and office cases, more street life at night.
_WEEKEND: Final = {
    "city": 1.1,
    "stalls": 1.2,
    "noise": 1.3,
    "market": 1.1,
    "predawn": 1.0,
    "construction": 0.5,
    "office": 0.4,
    "long_day": 0.9,
    "night_venue": 1.4,
}

_DEFAULT_SOURCES: Final = (0.55, 0.25, 0.05, 0.15)
_LICENSING_SOURCES: Final = (0.45, 0.25, 0.25, 0.05)
# When each source can produce a report: information groups walk round 08:00-20:00, special
# inspections run 09:00-23:00, squads patrol in their two shifts 07:00-23:00; residents call at
# any hour.
_SOURCE_HOURS: Final = ((8, 20), (0, 24), (9, 23), (7, 23))


@dataclass(frozen=True, slots=True)
class _Spec:
    share: float  # of all incidents, before the weekend factor
    profile: str
    kinds: Mapping[str, float]  # place kind -> weight, for incidents anchored at a place
    road: float  # share drawn along key roads
    background: float  # share drawn anywhere in the jurisdiction
    sources: tuple[float, float, float, float]  # weights in the order of SOURCES
    urgent: float  # share urgent, for categories not urgent by default
    templates: tuple[str, ...]


_SPECS: Final[dict[str, _Spec]] = {
    "C01": _Spec(
        0.27,
        "city",
        {
            "urban_village": 3,
            "market": 2,
            "commercial_street": 2,
            "residential": 2,
            "park": 1.5,
            "bus_hub": 1,
            "logistics": 1,
        },
        0.2,
        0.15,
        (0.60, 0.20, 0.05, 0.15),
        0.01,
        (
            "{place}附近有暴露垃圾未及时清运",
            "{place}墙面有乱张贴小广告",
            "{place}绿化带内堆放杂物",
            "{place}有人遛犬未拴绳",
            "{place}沿街商铺擅自设置户外广告牌",
        ),
    ),
    "C02": _Spec(
        0.23,
        "stalls",
        {
            "metro": 3,
            "market": 3,
            "urban_village": 3,
            "bus_hub": 2,
            "school": 1,
            "commercial_street": 2,
        },
        0.25,
        0.05,
        (0.35, 0.25, 0.05, 0.35),
        0.05,
        (
            "{place}附近有流动摊贩占道经营",
            "{place}出口处聚集多个水果摊",
            "{place}有商户店外占道经营",
            "{place}路边堆放物料占用人行道",
            "{place}有未经批准挖掘道路施工",
        ),
    ),
    "C03": _Spec(
        0.09,
        "noise",
        {"residential": 3, "urban_village": 3, "commercial_street": 2},
        0.05,
        0.1,
        (0.10, 0.80, 0.00, 0.10),
        0.02,
        (
            "{place}有居民反映夜间高音喇叭噪音扰民",
            "{place}商铺音响外放噪音较大",
            "{place}有人露天焚烧垃圾冒烟",
            "{place}夜间聚餐喧哗扰民",
        ),
    ),
    "C04": _Spec(
        0.08,
        "long_day",
        {"urban_village": 3, "commercial_street": 2, "market": 2, "industrial": 2},
        0.0,
        0.1,
        _LICENSING_SOURCES,
        0.01,
        (
            "{place}有无照经营的小作坊",
            "{place}发现无营业执照的店铺营业",
            "{place}出租屋内疑似无证经营",
        ),
    ),
    "C05": _Spec(
        0.015,
        "office",
        {"urban_village": 3, "commercial_street": 1},
        0.0,
        0.1,
        _LICENSING_SOURCES,
        0.01,
        ("{place}疑似无证诊所在营业", "{place}理发店未取得公共场所卫生许可证"),
    ),
    "C06": _Spec(
        0.05,
        "market",
        {"market": 3, "school": 2, "urban_village": 2, "metro": 1},
        0.1,
        0.05,
        _DEFAULT_SOURCES,
        0.03,
        (
            "{place}有流动早餐摊无证经营",
            "{place}附近有无证食品摊档",
            "{place}出租屋内疑似无证食品加工",
        ),
    ),
    "C07": _Spec(
        0.002,
        "predawn",
        {"urban_village": 3, "market": 2},
        0.0,
        0.1,
        _DEFAULT_SOURCES,
        0.05,
        ("{place}疑似有人私宰活禽", "{place}附近发现私设屠宰点"),
    ),
    "C08": _Spec(
        0.05,
        "construction",
        {"urban_village": 3, "construction": 2, "industrial": 1},
        0.0,
        0.1,
        _DEFAULT_SOURCES,
        0.06,
        ("{place}有人正在加建楼层", "{place}天台疑似违法搭建", "{place}疑似抢建"),
    ),
    "C09": _Spec(
        0.01,
        "office",
        {"urban_village": 2, "construction": 1, "industrial": 1, "park": 1},
        0.0,
        0.2,
        _LICENSING_SOURCES,
        0.01,
        ("{place}有空地被非法圈占", "{place}疑似非法占用土地搭建"),
    ),
    "C10": _Spec(
        0.002,
        "office",
        {"urban_village": 2, "industrial": 1},
        0.0,
        0.1,
        _LICENSING_SOURCES,
        0.0,
        ("{place}有用工单位未查验流动人口计生证明",),
    ),
    "C11": _Spec(
        0.01,
        "office",
        {"commercial_street": 2, "market": 1, "urban_village": 1},
        0.0,
        0.1,
        _LICENSING_SOURCES,
        0.01,
        ("{place}店铺销售无批号药品", "{place}疑似销售无证保健食品"),
    ),
    "C12": _Spec(
        0.03,
        "market",
        {"market": 3, "school": 2, "commercial_street": 2},
        0.0,
        0.1,
        _DEFAULT_SOURCES,
        0.01,
        ("{place}商店销售过期食品", "{place}摊档销售三无食品"),
    ),
    "C13": _Spec(
        0.05,
        "construction",
        {"residential": 3, "commercial_street": 2, "construction": 1},
        0.0,
        0.1,
        _DEFAULT_SOURCES,
        0.03,
        ("{place}商铺无施工许可进行二次装修", "{place}住户装修拆改承重墙"),
    ),
    "C14": _Spec(
        0.015,
        "long_day",
        {"urban_village": 3, "industrial": 1, "logistics": 1},
        0.1,
        0.05,
        _DEFAULT_SOURCES,
        0.0,
        ("{place}疑似非法储存瓶装液化气", "{place}有车辆沿街销售瓶装液化气"),
    ),
    "C15": _Spec(
        0.01,
        "office",
        {"industrial": 2, "logistics": 2, "commercial_street": 1},
        0.0,
        0.1,
        _LICENSING_SOURCES,
        0.01,
        ("{place}有工人反映未签劳动合同", "{place}疑似无证劳务中介招工"),
    ),
    "C16": _Spec(
        0.002,
        "office",
        {"commercial_street": 1},
        0.0,
        0.2,
        _LICENSING_SOURCES,
        0.0,
        ("{place}有未经批准的人才中介招聘点",),
    ),
    "C17": _Spec(
        0.03,
        "night_venue",
        {"commercial_street": 3, "metro": 1, "urban_village": 1},
        0.05,
        0.05,
        (0.20, 0.40, 0.30, 0.10),
        0.02,
        (
            "{place}网吧疑似接纳未成年人",
            "{place}有人在路边兜售非法出版物",
            "{place}娱乐场所超时经营",
        ),
    ),
    "C18": _Spec(
        0.005,
        "office",
        {"construction": 2, "industrial": 1, "commercial_street": 1},
        0.0,
        0.1,
        _LICENSING_SOURCES,
        0.02,
        ("{place}工地塔吊疑似未登记使用", "{place}商场电梯疑似未登记使用"),
    ),
    "C19": _Spec(
        0.005,
        "long_day",
        {"industrial": 2, "logistics": 2, "construction": 1},
        0.0,
        0.1,
        _DEFAULT_SOURCES,
        0.0,
        ("{place}疑似违规储存烟花爆竹", "{place}有人未经批准取土"),
    ),
    "C20": _Spec(
        0.002,
        "office",
        {"urban_village": 1, "commercial_street": 1},
        0.0,
        0.2,
        _LICENSING_SOURCES,
        0.0,
        ("{place}有店铺非法经营殡葬用品",),
    ),
    "C21": _Spec(
        0.01,
        "long_day",
        {},
        0.1,
        0.9,
        _DEFAULT_SOURCES,
        0.01,
        ("{place}有群众反映其他违法行为待核实",),
    ),
}

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


def _hour_p(profile: str) -> NDArray[np.float64]:
    weights = np.asarray(_HOURS[profile], dtype=np.float64)
    return np.asarray(weights / weights.sum(), dtype=np.float64)


def _locate(
    rng: np.random.Generator, sampler: _Sampler, spec: _Spec, n: int
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
    specs = [_SPECS[c] for c in codes]
    share = np.array([s.share for s in specs])
    share /= share.sum()
    weekend = np.array([_WEEKEND[s.profile] for s in specs])
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
        hour = rng.choice(24, size=n, p=_hour_p(spec.profile))
        second = rng.integers(0, 3600, size=n)
        local = day_ns[day] + (hour * 3600 + second).astype("timedelta64[s]")
        occurred = pd.DatetimeIndex(local).tz_localize(TIMEZONE).as_unit("us")

        allowed = np.array([[lo <= h < hi for lo, hi in _SOURCE_HOURS] for h in range(24)])
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
        _SPECS[code].templates[t].format(place=place)
        for code, t, place in zip(frame["category"], frame["_template"], label, strict=True)
    ]
    frame["photo_urls"] = [
        [f"{_PHOTO_BASE}/{seed}-{i:05d}-{k}.jpg" for k in range(int(p))]
        for i, p in enumerate(frame["_photos"])
    ]
    frame["urgent"] = frame["urgent"].astype(bool)
    return frame[list(DEMO_COLUMNS)]
