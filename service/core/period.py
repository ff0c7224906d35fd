"""A period of Beijing days asked for in a query (``start``, ``end``), checked once for every
report that reads one: the statistics, the case files, the monthly pack."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Annotated, Final

from fastapi import Depends, Query

from .deps import NowDep
from .exceptions import InvalidInputError
from .timezones import BEIJING

__all__ = ["MAX_PERIOD_DAYS", "Period", "PeriodDep", "get_period", "period_bounds"]

MAX_PERIOD_DAYS: Final = 731  # two years: a year's appraisal beside the year before


@dataclass(frozen=True, slots=True)
class Period:
    """The Beijing days ``start`` .. ``end``, both included."""

    start: date
    end: date

    def bounds(self) -> tuple[datetime, datetime]:
        """The instants [from, to) of the period."""
        return period_bounds(self.start, self.end)


def period_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """The instants [from, to) of the Beijing days ``start`` .. ``end``."""
    return (
        datetime.combine(start, time(), tzinfo=BEIJING),
        datetime.combine(end + timedelta(days=1), time(), tzinfo=BEIJING),
    )


def get_period(
    now: NowDep,
    start: Annotated[
        date | None, Query(description="First day, Beijing (default: the 1st of this month).")
    ] = None,
    end: Annotated[date | None, Query(description="Last day, included (default: today).")] = None,
) -> Period:
    """The period asked for, checked: start on or before end, two years at most."""
    last = end or now.astimezone(BEIJING).date()
    first = start or last.replace(day=1)
    if first > last:
        raise InvalidInputError(
            "start", f"start {first} is after end {last}.", "give a start on or before the end."
        )
    if (last - first).days >= MAX_PERIOD_DAYS:
        raise InvalidInputError(
            "end",
            f"The period {first} .. {last} is longer than {MAX_PERIOD_DAYS} days.",
            "ask for two years at most.",
        )
    return Period(first, last)


PeriodDep = Annotated[Period, Depends(get_period)]
