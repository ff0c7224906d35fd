"""The demo's tables: per category, how often, at what hours, where and by whom incidents arise.

:data:`SPECS` gives each of the plan's 21 categories its share of all incidents, a time-of-day
profile (:data:`HOURS`, with a weekend factor in :data:`WEEKEND`), the kinds of place it happens
at, its shares along key roads and in the background, its mix of sources (in the order of
:data:`SOURCES`, each reporting only in its :data:`SOURCE_HOURS`), its urgent share and its
description templates. :mod:`service.incidents.demo` draws incidents from them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray

__all__ = ["HOURS", "SOURCES", "SOURCE_HOURS", "SPECS", "WEEKEND", "CategorySpec", "hour_p"]

# The order of every per-source table here (CategorySpec.sources, SOURCE_HOURS).
SOURCES: Final = ("daily_inspection", "complaint", "special_inspection", "patrol")

# Hour-of-day weights (index = hour). Shapes follow the plan's and the practice's experience:
# stalls peak 18-22, markets 6-10, living noise 21-02, construction works by day and evening.
HOURS: Final[dict[str, tuple[float, ...]]] = {
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
WEEKEND: Final = {
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
SOURCE_HOURS: Final = ((8, 20), (0, 24), (9, 23), (7, 23))


@dataclass(frozen=True, slots=True)
class CategorySpec:
    """How one category's demo incidents are drawn: how many, when, where, by whom."""

    share: float  # of all incidents, before the weekend factor
    profile: str
    kinds: Mapping[str, float]  # place kind -> weight, for incidents anchored at a place
    road: float  # share drawn along key roads
    background: float  # share drawn anywhere in the jurisdiction
    sources: tuple[float, float, float, float]  # weights in the order of SOURCES
    urgent: float  # share urgent, for categories not urgent by default
    templates: tuple[str, ...]


SPECS: Final[dict[str, CategorySpec]] = {
    "C01": CategorySpec(
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
    "C02": CategorySpec(
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
    "C03": CategorySpec(
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
    "C04": CategorySpec(
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
    "C05": CategorySpec(
        0.015,
        "office",
        {"urban_village": 3, "commercial_street": 1},
        0.0,
        0.1,
        _LICENSING_SOURCES,
        0.01,
        ("{place}疑似无证诊所在营业", "{place}理发店未取得公共场所卫生许可证"),
    ),
    "C06": CategorySpec(
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
    "C07": CategorySpec(
        0.002,
        "predawn",
        {"urban_village": 3, "market": 2},
        0.0,
        0.1,
        _DEFAULT_SOURCES,
        0.05,
        ("{place}疑似有人私宰活禽", "{place}附近发现私设屠宰点"),
    ),
    "C08": CategorySpec(
        0.05,
        "construction",
        {"urban_village": 3, "construction": 2, "industrial": 1},
        0.0,
        0.1,
        _DEFAULT_SOURCES,
        0.06,
        ("{place}有人正在加建楼层", "{place}天台疑似违法搭建", "{place}疑似抢建"),
    ),
    "C09": CategorySpec(
        0.01,
        "office",
        {"urban_village": 2, "construction": 1, "industrial": 1, "park": 1},
        0.0,
        0.2,
        _LICENSING_SOURCES,
        0.01,
        ("{place}有空地被非法圈占", "{place}疑似非法占用土地搭建"),
    ),
    "C10": CategorySpec(
        0.002,
        "office",
        {"urban_village": 2, "industrial": 1},
        0.0,
        0.1,
        _LICENSING_SOURCES,
        0.0,
        ("{place}有用工单位未查验流动人口计生证明",),
    ),
    "C11": CategorySpec(
        0.01,
        "office",
        {"commercial_street": 2, "market": 1, "urban_village": 1},
        0.0,
        0.1,
        _LICENSING_SOURCES,
        0.01,
        ("{place}店铺销售无批号药品", "{place}疑似销售无证保健食品"),
    ),
    "C12": CategorySpec(
        0.03,
        "market",
        {"market": 3, "school": 2, "commercial_street": 2},
        0.0,
        0.1,
        _DEFAULT_SOURCES,
        0.01,
        ("{place}商店销售过期食品", "{place}摊档销售三无食品"),
    ),
    "C13": CategorySpec(
        0.05,
        "construction",
        {"residential": 3, "commercial_street": 2, "construction": 1},
        0.0,
        0.1,
        _DEFAULT_SOURCES,
        0.03,
        ("{place}商铺无施工许可进行二次装修", "{place}住户装修拆改承重墙"),
    ),
    "C14": CategorySpec(
        0.015,
        "long_day",
        {"urban_village": 3, "industrial": 1, "logistics": 1},
        0.1,
        0.05,
        _DEFAULT_SOURCES,
        0.0,
        ("{place}疑似非法储存瓶装液化气", "{place}有车辆沿街销售瓶装液化气"),
    ),
    "C15": CategorySpec(
        0.01,
        "office",
        {"industrial": 2, "logistics": 2, "commercial_street": 1},
        0.0,
        0.1,
        _LICENSING_SOURCES,
        0.01,
        ("{place}有工人反映未签劳动合同", "{place}疑似无证劳务中介招工"),
    ),
    "C16": CategorySpec(
        0.002,
        "office",
        {"commercial_street": 1},
        0.0,
        0.2,
        _LICENSING_SOURCES,
        0.0,
        ("{place}有未经批准的人才中介招聘点",),
    ),
    "C17": CategorySpec(
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
    "C18": CategorySpec(
        0.005,
        "office",
        {"construction": 2, "industrial": 1, "commercial_street": 1},
        0.0,
        0.1,
        _LICENSING_SOURCES,
        0.02,
        ("{place}工地塔吊疑似未登记使用", "{place}商场电梯疑似未登记使用"),
    ),
    "C19": CategorySpec(
        0.005,
        "long_day",
        {"industrial": 2, "logistics": 2, "construction": 1},
        0.0,
        0.1,
        _DEFAULT_SOURCES,
        0.0,
        ("{place}疑似违规储存烟花爆竹", "{place}有人未经批准取土"),
    ),
    "C20": CategorySpec(
        0.002,
        "office",
        {"urban_village": 1, "commercial_street": 1},
        0.0,
        0.2,
        _LICENSING_SOURCES,
        0.0,
        ("{place}有店铺非法经营殡葬用品",),
    ),
    "C21": CategorySpec(
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


def hour_p(profile: str) -> NDArray[np.float64]:
    """The hour-of-day probabilities (index = hour) of a time profile of :data:`HOURS`."""
    weights = np.asarray(HOURS[profile], dtype=np.float64)
    return np.asarray(weights / weights.sum(), dtype=np.float64)
