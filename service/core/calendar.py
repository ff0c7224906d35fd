"""A working calendar and working-hours arithmetic (pure).

Time limits of cases are counted in working hours (工作时): only the hours between the day's
``start`` and ``end`` (the squads' 07:00-23:00 by default) on working days count. Working days
are those of the mainland China calendar, with its public holidays and make-up working days
(调休), from the ``chinesecalendar`` package; ``overrides`` add or correct days, above all for
years the package does not cover yet (then Monday-Friday is the rule), and are read from a
TOML file by :func:`read_overrides`. Times are timezone-aware; the calendar's days are those of
its zone (Beijing time).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from pathlib import Path
from types import MappingProxyType
from typing import Final

import chinese_calendar

from .timezones import BEIJING

__all__ = ["WorkingCalendar", "read_overrides"]

_DAY: Final = timedelta(days=1)
_MONDAY_TO_FRIDAY: Final = frozenset(range(5))
_KINDS: Final = {"holidays": False, "workdays": True}


def read_overrides(path: Path) -> dict[date, bool]:
    """Days a TOML file adds to the official calendar: ``{day: is a working day}``.

    The file holds two lists of ISO dates, ``holidays = ["2027-01-01"]`` and
    ``workdays = ["2027-02-07"]`` (make-up days); a day in both is an error.

    Raises
    ------
    ValueError
        Naming the file, the key and the value to fix.
    """
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        msg = f"Cannot read the working-day overrides {path}: {exc}."
        raise ValueError(msg) from exc
    unknown = sorted(set(data) - set(_KINDS))
    if unknown:
        msg = f"{path}: unknown key(s) {', '.join(unknown)}; use holidays and workdays."
        raise ValueError(msg)
    days: dict[date, bool] = {}
    for key, working in _KINDS.items():
        for value in data.get(key, []):
            try:
                day = date.fromisoformat(str(value))
            except ValueError:
                msg = f"{path}: {key} holds {value!r}, not a date; write it as 2027-01-01."
                raise ValueError(msg) from None
            if days.get(day, working) != working:
                msg = f"{path}: {day} is listed both as a holiday and as a workday."
                raise ValueError(msg)
            days[day] = working
    return days


@dataclass(frozen=True)
class WorkingCalendar:
    """Working hours ``start``-``end`` on working days.

    Parameters
    ----------
    start, end
        The working day's hours, in ``zone``.
    official
        Use the mainland China calendar (weekends, public holidays, 调休 make-up days); when
        False, or for a year it does not cover, ``weekdays`` decide.
    weekdays
        Working weekdays (0 = Monday) where the official calendar does not decide.
    holidays, workdays
        Days that are never / always working days, whatever else says.
    overrides
        Days from a configuration file (:func:`read_overrides`), ``{day: working}``; they win
        over the official calendar, and ``holidays``/``workdays`` win over them.
    zone
        The calendar's time zone.
    """

    start: time = time(7, 0)
    end: time = time(23, 0)
    official: bool = True
    weekdays: frozenset[int] = _MONDAY_TO_FRIDAY
    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()
    overrides: Mapping[date, bool] = field(default_factory=lambda: MappingProxyType({}))
    zone: tzinfo = field(default=BEIJING)

    def __post_init__(self) -> None:
        if not self.start < self.end:
            msg = f"The working day must start before it ends ({self.start} - {self.end})."
            raise ValueError(msg)
        if not self.weekdays or not self.weekdays <= set(range(7)):
            msg = f"weekdays must be a non-empty subset of 0..6, got {sorted(self.weekdays)}."
            raise ValueError(msg)

    def is_working_day(self, day: date) -> bool:
        """Whether ``day`` counts: explicit days, then overrides, then the official calendar,
        then ``weekdays``."""
        if day in self.workdays:
            return True
        if day in self.holidays:
            return False
        if day in self.overrides:
            return self.overrides[day]
        if self.official:
            try:
                return bool(chinese_calendar.is_workday(day))
            except NotImplementedError:
                pass  # a year the package does not cover yet: weekdays, plus the overrides
        return day.weekday() in self.weekdays

    def _window(self, day: date) -> tuple[datetime, datetime]:
        return (
            datetime.combine(day, self.start, tzinfo=self.zone),
            datetime.combine(day, self.end, tzinfo=self.zone),
        )

    def _next_working_day(self, day: date) -> date:
        # The longest run of days off in the official calendar is about nine (Spring Festival).
        for _ in range(366):
            if self.is_working_day(day):
                return day
            day += _DAY
        msg = "No working day found within a year: check weekdays, holidays and overrides."
        raise ValueError(msg)

    def add_working_hours(self, start: datetime, hours: float) -> datetime:
        """The moment ``hours`` working hours after ``start``.

        A start outside working hours counts from the next working start; a limit that ends
        exactly at the end of a working day ends then (not at the next day's start).
        ``hours`` = 0 returns ``start``.
        """
        if start.tzinfo is None:
            msg = f"start {start!r} has no time zone."
            raise ValueError(msg)
        if hours < 0:
            msg = f"hours must be >= 0, got {hours!r}."
            raise ValueError(msg)
        if hours == 0:
            return start
        remaining = timedelta(hours=hours)
        moment = start.astimezone(self.zone)
        day = moment.date()
        while True:
            day = self._next_working_day(day)
            open_at, close_at = self._window(day)
            begin = max(moment, open_at)
            if begin < close_at:
                available = close_at - begin
                if remaining <= available:
                    return begin + remaining
                remaining -= available
            day += _DAY
            moment = datetime.combine(day, time(), tzinfo=self.zone)

    def working_hours_between(self, a: datetime, b: datetime) -> float:
        """Working hours from ``a`` to ``b``; negative when ``b`` is before ``a``."""
        if a.tzinfo is None or b.tzinfo is None:
            msg = "Both times need a time zone."
            raise ValueError(msg)
        if b < a:
            return -self.working_hours_between(b, a)
        a, b = a.astimezone(self.zone), b.astimezone(self.zone)
        total = timedelta()
        day = a.date()
        while day <= b.date():
            if self.is_working_day(day):
                open_at, close_at = self._window(day)
                lo, hi = max(a, open_at), min(b, close_at)
                if hi > lo:
                    total += hi - lo
            day += _DAY
        return total.total_seconds() / 3600.0
