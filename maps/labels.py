"""What a plan's stops, units' modes and shifts are called, on every map, page and export.

One table, read by the route maps (:mod:`maps.routes`), the briefings and exports
(:mod:`service.plans.exports`) and the planning and dispatch pages (handed to their scripts as
JSON), so that a squad leader reads the same word for the same thing everywhere.
"""

from __future__ import annotations

from typing import Final

__all__ = ["MODES", "SHIFTS", "STOP_KINDS", "TIMELINE", "bilingual", "page_labels"]

# (Chinese, English) per kind of planned stop.
STOP_KINDS: Final[dict[str, tuple[str, str]]] = {
    "hotspot": ("热点", "hot spot"),
    "revisit": ("热点复巡", "hot-spot revisit"),
    "task": ("任务", "task"),
    "sweep": ("重点路段巡查", "key-road sweep"),
    "break": ("用餐", "meal break"),
    "patrol": ("巡逻", "patrol"),
    "transfer": ("车辆接送", "ride to or from the beat"),
}
# What a unit's timeline shows between its stops.
TIMELINE: Final[dict[str, tuple[str, str]]] = {
    "travel": ("行进", "travel"),
    "wait": ("等候", "waiting"),
}
MODES: Final[dict[str, tuple[str, str]]] = {
    "foot": ("步巡", "foot"),
    "ebike": ("电动车", "e-bike"),
    "car": ("巡逻车", "car"),
}
SHIFTS: Final[dict[str, tuple[str, str]]] = {"early": ("早班", "early"), "late": ("晚班", "late")}


def bilingual(pair: tuple[str, str]) -> str:
    """``热点 hot spot``: Chinese first, as the team reads it, then English."""
    return f"{pair[0]} {pair[1]}"


def page_labels() -> dict[str, dict[str, str]]:
    """The labels a page's script needs, as ``{"kinds": {...}, "modes": {...}, ...}``."""
    return {
        "kinds": {k: bilingual(v) for k, v in {**STOP_KINDS, **TIMELINE}.items()},
        "modes": {k: bilingual(v) for k, v in MODES.items()},
        "shifts": {k: bilingual(v) for k, v in SHIFTS.items()},
    }
