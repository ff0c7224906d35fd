"""Which incidents count: categories, a period, the hours of a shift, weekdays, sources.

:class:`IncidentFilter` is what the hot-spot analysis (:mod:`geo.cells`, :mod:`geo.density`)
and the pages that show it take as the filter of a query; times are local to the squads
(Asia/Shanghai), naive times are read as local.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Final, TypeAlias

import numpy as np
import pandas as pd
from numpy.typing import NDArray

__all__ = ["TIMEZONE", "IncidentFilter", "TimeLike", "column", "local_times"]

TIMEZONE: Final = "Asia/Shanghai"
_WEEKDAYS_ZH: Final = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")

TimeLike: TypeAlias = pd.Timestamp | dt.datetime | dt.date | str


def _local(value: TimeLike) -> pd.Timestamp:
    stamp = pd.Timestamp(value)
    return stamp.tz_localize(TIMEZONE) if stamp.tzinfo is None else stamp.tz_convert(TIMEZONE)


def _as_tuple(name: str, value: Any, kind: type) -> tuple[Any, ...] | None:
    if value is None:
        return None
    items = (value,) if isinstance(value, str | int) else tuple(value)
    if not items:
        msg = f"IncidentFilter.{name} is empty: pass None for no restriction, or list values."
        raise ValueError(msg)
    if not all(isinstance(v, kind) and not isinstance(v, bool) for v in items):
        msg = f"IncidentFilter.{name} must hold {kind.__name__} values, got {items!r}."
        raise TypeError(msg)
    return tuple(dict.fromkeys(items))


@dataclass(frozen=True, slots=True)
class IncidentFilter:
    """Which incidents count. ``None`` everywhere keeps them all.

    Times are local (Asia/Shanghai): naive times, in the incidents or here, are read as local.

    Parameters
    ----------
    categories
        Category codes to keep (``("C01", "C02")``).
    start, end
        Keep ``start <= occurred_at < end``.
    shift
        ``(start_h, end_h)`` hours of the day, e.g. ``(7, 15)`` for the early shift; an end before
        the start wraps past midnight (``(22, 6)``).
    weekdays
        Days to keep, 0 = Monday ... 6 = Sunday.
    sources
        Sources to keep (``daily_inspection``, ``complaint``, ``special_inspection``, ``patrol``).
    """

    categories: tuple[str, ...] | None = None
    start: TimeLike | None = None
    end: TimeLike | None = None
    shift: tuple[float, float] | None = None
    weekdays: tuple[int, ...] | None = None
    sources: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        # Lists, single values and strings are accepted and normalised: the service passes
        # query parameters straight in.
        set_ = object.__setattr__
        set_(self, "categories", _as_tuple("categories", self.categories, str))
        set_(self, "sources", _as_tuple("sources", self.sources, str))
        weekdays = _as_tuple("weekdays", self.weekdays, int)
        if weekdays is not None and not all(0 <= d <= 6 for d in weekdays):
            msg = f"IncidentFilter.weekdays must be 0 (Monday) ... 6 (Sunday), got {weekdays!r}."
            raise ValueError(msg)
        set_(self, "weekdays", None if weekdays is None else tuple(sorted(weekdays)))
        for name in ("start", "end"):
            value = getattr(self, name)
            if value is not None:
                try:
                    set_(self, name, _local(value))
                except (ValueError, TypeError) as error:
                    msg = (
                        f"IncidentFilter.{name} = {value!r} is not a time: give an ISO date "
                        "or datetime such as '2026-11-01' or '2026-11-01T07:00+08:00'."
                    )
                    raise ValueError(msg) from error
        if self.start is not None and self.end is not None and self.end <= self.start:  # type: ignore[operator]
            msg = f"IncidentFilter.end ({self.end}) must be after start ({self.start})."
            raise ValueError(msg)
        if self.shift is not None:
            try:
                lo, hi = (float(h) for h in self.shift)
            except (TypeError, ValueError) as error:
                msg = f"IncidentFilter.shift must be (start_h, end_h), got {self.shift!r}."
                raise ValueError(msg) from error
            if not (0.0 <= lo <= 24.0 and 0.0 <= hi <= 24.0) or lo == hi:
                msg = (
                    f"IncidentFilter.shift = {self.shift!r}: give two different hours in "
                    "[0, 24], e.g. (7, 15); (22, 6) wraps midnight."
                )
                raise ValueError(msg)
            set_(self, "shift", (lo, hi))

    @property
    def keeps_all(self) -> bool:
        """Whether the filter lets every incident through."""
        return all(getattr(self, f) is None for f in self.__slots__)

    def mask(self, incidents: pd.DataFrame) -> NDArray[np.bool_]:
        """A boolean per incident row: whether it passes."""
        keep = np.ones(len(incidents), dtype=bool)
        if self.categories is not None:
            keep &= (
                column(incidents, "category", "categories")
                .astype(str)
                .isin(self.categories)
                .to_numpy()
            )
        if self.sources is not None:
            keep &= column(incidents, "source", "sources").astype(str).isin(self.sources).to_numpy()
        if all(v is None for v in (self.start, self.end, self.shift, self.weekdays)):
            return keep
        when = local_times(column(incidents, "occurred_at", "times"))
        if self.start is not None:
            keep &= np.asarray(when >= _local(self.start))
        if self.end is not None:
            keep &= np.asarray(when < _local(self.end))
        if self.shift is not None:
            hour = (when.hour + when.minute / 60.0 + when.second / 3600.0).to_numpy()
            lo, hi = self.shift
            keep &= ((hour >= lo) & (hour < hi)) if lo < hi else ((hour >= lo) | (hour < hi))
        if self.weekdays is not None:
            keep &= np.isin(when.day_of_week.to_numpy(), self.weekdays)
        return keep

    def apply(self, incidents: pd.DataFrame) -> pd.DataFrame:
        """The incidents that pass (a filtered copy, index kept)."""
        return incidents if self.keeps_all else incidents[self.mask(incidents)]

    def describe(self) -> str:
        """A short bilingual text for map titles and printed tables."""
        parts = []
        if self.categories is not None:
            parts.append("类别 categories " + ", ".join(self.categories))
        if self.start is not None or self.end is not None:
            start = "…" if self.start is None else _local(self.start).strftime("%Y-%m-%d %H:%M")
            end = "…" if self.end is None else _local(self.end).strftime("%Y-%m-%d %H:%M")
            parts.append(f"时间 period {start} – {end}".replace(" 00:00", ""))
        if self.shift is not None:
            lo, hi = self.shift
            parts.append(f"时段 hours {_clock(lo)}–{_clock(hi)}")
        if self.weekdays is not None:
            parts.append("星期 days " + "、".join(_WEEKDAYS_ZH[d] for d in self.weekdays))
        if self.sources is not None:
            parts.append("来源 sources " + ", ".join(self.sources))
        return " · ".join(parts) if parts else "全部事件 all incidents"


def _clock(hours: float) -> str:
    minutes = round(hours * 60)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def column(frame: pd.DataFrame, name: str, why: str) -> pd.Series:
    """The column ``name`` of the incidents, or an error naming it and what needs it."""
    if name not in frame.columns:
        msg = f"incidents lack the {name!r} column needed for {why}: add it or drop that filter."
        raise ValueError(msg)
    return frame[name]


def local_times(values: pd.Series) -> pd.DatetimeIndex:
    """Times as a local (Asia/Shanghai) DatetimeIndex; naive times are taken as local."""
    index = pd.DatetimeIndex(pd.to_datetime(values))
    return index.tz_localize(TIMEZONE) if index.tz is None else index.tz_convert(TIMEZONE)
