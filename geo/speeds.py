"""Road classes and travel speeds: how fast each mode moves on each class of road.

OSM's ``highway`` vocabulary folds into eight classes (:data:`ROAD_CLASSES`), each with a speed
per mode (on foot, e-bike, patrol car) in :class:`SpeedParams`, a factor per shift for traffic,
and the speed of the off-road access leg.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final, Literal, get_args

import numpy as np
from numpy.typing import NDArray

__all__ = ["MODES", "ROAD_CLASSES", "Mode", "Shift", "SpeedParams", "check_mode", "road_class"]

# Ranked from the fastest class down: a way tagged with several highway values takes the first.
ROAD_CLASSES: Final = (
    "expressway",
    "trunk",
    "primary",
    "secondary",
    "tertiary",
    "residential",
    "service",
    "footway",
)
_OSM_CLASS: Final = {
    "motorway": "expressway",
    "trunk": "trunk",
    "primary": "primary",
    "secondary": "secondary",
    "tertiary": "tertiary",
    "unclassified": "residential",
    "residential": "residential",
    "living_street": "residential",
    "road": "residential",
    "service": "service",
    "busway": "service",
    "track": "service",
    "footway": "footway",
    "pedestrian": "footway",
    "path": "footway",
    "steps": "footway",
    "cycleway": "footway",
    "corridor": "footway",
}


def road_class(highway: object) -> str | None:
    """Map an OSM ``highway`` value (or a list of them, or a class name) to a road class.

    Returns ``None`` for values that are not roads (``proposed``, ``platform``, ...).
    """
    values = highway if isinstance(highway, list | tuple) else [highway]
    found = []
    for value in values:
        key = str(value).strip().lower().removesuffix("_link")
        cls = key if key in ROAD_CLASSES else _OSM_CLASS.get(key)
        if cls is not None:
            found.append(cls)
    return min(found, key=ROAD_CLASSES.index) if found else None


# -- speeds per class and mode -------------------------------------------------------------

Mode = Literal["foot", "ebike", "car"]
MODES: Final[tuple[str, ...]] = get_args(Mode)
Shift = str | float

_FOOT: Final = dict.fromkeys(ROAD_CLASSES, 4.5) | {"expressway": None}
# E-bikes are limited to 25 km/h by GB 17761-2018 and ride the non-motorised lanes.
_EBIKE: Final = {
    "expressway": None,
    "trunk": 15.0,
    "primary": 18.0,
    "secondary": 16.0,
    "tertiary": 15.0,
    "residential": 12.0,
    "service": 10.0,
    "footway": None,
}
_CAR: Final = {
    "expressway": 60.0,
    "trunk": 40.0,
    "primary": 30.0,
    "secondary": 25.0,
    "tertiary": 20.0,
    "residential": 15.0,
    "service": 10.0,
    "footway": None,
}
_SHIFTS: Final = {
    "early": {"foot": 1.0, "ebike": 1.0, "car": 1.0},
    "late": {"foot": 1.0, "ebike": 1.25, "car": 1.25},
}


def _speeds(mode: str) -> dict[str, float | None]:
    return dict({"foot": _FOOT, "ebike": _EBIKE, "car": _CAR}[mode])


@dataclass(frozen=True)
class SpeedParams:
    """Speeds (km/h) per mode and road class, shift factors and access speeds.

    Parameters
    ----------
    foot, ebike, car
        Speed per road class; ``None`` (or a class left out) closes the class to the mode.
    shift_factors
        Travel-time multiplier per shift name and mode (1.25 = a quarter slower in traffic).
    access_kmh
        Speed of the off-road access leg per mode (the officer walks from the kerb).
    oneway_modes
        Modes bound by one-way streets; the others use every edge in both directions.
    cap_by_maxspeed
        Cap a class speed by the edge's posted ``maxspeed`` when it has one.
    """

    foot: Mapping[str, float | None] = field(default_factory=lambda: _speeds("foot"))
    ebike: Mapping[str, float | None] = field(default_factory=lambda: _speeds("ebike"))
    car: Mapping[str, float | None] = field(default_factory=lambda: _speeds("car"))
    shift_factors: Mapping[str, Mapping[str, float]] = field(
        default_factory=lambda: {k: dict(v) for k, v in _SHIFTS.items()}
    )
    access_kmh: Mapping[str, float] = field(
        default_factory=lambda: {"foot": 4.5, "ebike": 4.5, "car": 4.5}
    )
    oneway_modes: tuple[str, ...] = ("ebike", "car")
    cap_by_maxspeed: bool = True

    def __post_init__(self) -> None:
        for mode in MODES:
            table = getattr(self, mode)
            unknown = set(table) - set(ROAD_CLASSES)
            if unknown:
                msg = (
                    f"Unknown road class(es) {sorted(unknown)} in {mode} speeds: expected "
                    f"{', '.join(ROAD_CLASSES)}."
                )
                raise ValueError(msg)
            for cls, kmh in table.items():
                if kmh is not None and not (math.isfinite(kmh) and 0 < kmh <= 200):
                    msg = f"Expected {mode} speed on {cls} in (0, 200] km/h or None, got {kmh!r}."
                    raise ValueError(msg)
            kmh = self.access_kmh.get(mode)
            if kmh is None or not (math.isfinite(kmh) and kmh > 0):
                msg = f"Expected access_kmh[{mode!r}] > 0 km/h, got {kmh!r}."
                raise ValueError(msg)
        for shift, factors in self.shift_factors.items():
            for mode in MODES:
                value = factors.get(mode, 1.0)
                if not (math.isfinite(value) and value > 0):
                    msg = f"Expected shift factor {shift}/{mode} > 0, got {value!r}."
                    raise ValueError(msg)
        if set(self.oneway_modes) - set(MODES):
            msg = f"Expected oneway_modes among {MODES}, got {self.oneway_modes!r}."
            raise ValueError(msg)

    def factor(self, mode: str, shift: Shift) -> float:
        """The travel-time factor of ``shift`` (a name or a number) for ``mode``."""
        check_mode(mode)
        if isinstance(shift, str):
            if shift not in self.shift_factors:
                msg = f"Unknown shift {shift!r}: use one of {sorted(self.shift_factors)}."
                raise ValueError(msg)
            return float(self.shift_factors[shift].get(mode, 1.0))
        value = float(shift)
        if not (math.isfinite(value) and value > 0):
            msg = f"Expected a shift factor > 0, got {shift!r}."
            raise ValueError(msg)
        return value

    def class_speeds(self, mode: str) -> NDArray[np.float64]:
        """Speed (km/h) per class in :data:`ROADROAD_CLASSES` order, NaN where closed."""
        table = getattr(self, check_mode(mode))
        return np.asarray([table.get(c) or np.nan for c in ROAD_CLASSES], dtype=np.float64)

    def speed_kmh(self, mode: str, road_class: str, maxspeed_kmh: float = math.nan) -> float:
        """Speed of one edge for ``mode`` (NaN when the class is closed to it)."""
        speed = float(self.class_speeds(mode)[ROAD_CLASSES.index(road_class)])
        if self.cap_by_maxspeed and math.isfinite(maxspeed_kmh) and maxspeed_kmh > 0:
            speed = min(speed, maxspeed_kmh)
        return speed


def check_mode(mode: str) -> str:
    """``mode`` if it is one of :data:`MODES`, else an error listing them."""
    if mode not in MODES:
        msg = f"Unknown mode {mode!r}: use one of {', '.join(MODES)}."
        raise ValueError(msg)
    return mode
