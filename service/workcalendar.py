"""A working calendar and working-hours arithmetic (pure).

Time limits of cases are counted in working hours (工作时): only the hours between the day's
``start`` and ``end`` (the squads' 07:00-23:00 by default) on working days count. Times are
timezone-aware; the calendar's days are those of its zone (Beijing time).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Final

from .timezones import BEIJING

__all__ = ["WorkingCalendar"]

_DAY: Final = timedelta(days=1)


@dataclass(frozen=True)
class WorkingCalendar:
    """Working hours ``start``-``end`` on ``weekdays`` (0 = Monday), except ``holidays``."""

    start: time = time(7, 0)
    end: time = time(23, 0)
    weekdays: frozenset[int] = frozenset(range(7))
    holidays: frozenset[date] = frozenset()
    zone: tzinfo = field(default=BEIJING)

    def __post_init__(self) -> None:
        if not self.start < self.end:
            msg = f"The working day must start before it ends ({self.start} - {self.end})."
            raise ValueError(msg)
        if not self.weekdays or not self.weekdays <= set(range(7)):
            msg = f"weekdays must be a non-empty subset of 0..6, got {sorted(self.weekdays)}."
            raise ValueError(msg)

    def _working(self, day: date) -> bool:
        return day.weekday() in self.weekdays and day not in self.holidays

    def _window(self, day: date) -> tuple[datetime, datetime]:
        return (datetime.combine(day, self.start, tzinfo=self.zone),
                datetime.combine(day, self.end, tzinfo=self.zone))

    def _next_working_day(self, day: date) -> date:
        for _ in range(len(self.holidays) + 8):
            if self._working(day):
                return day
            day += _DAY
        msg = "No working day found: check weekdays and holidays."
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
            if self._working(day):
                open_at, close_at = self._window(day)
                lo, hi = max(a, open_at), min(b, close_at)
                if hi > lo:
                    total += hi - lo
            day += _DAY
        return total.total_seconds() / 3600.0
