"""Working-hours arithmetic of the case clocks (pure): 07:00-23:00 Beijing time by default."""

from datetime import UTC, date, datetime, time, timedelta

import numpy as np
import pytest

from service.timezones import BEIJING
from service.workcalendar import WorkingCalendar

CAL = WorkingCalendar()


def bj(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=BEIJING)


@pytest.mark.parametrize(("start", "hours", "due"), [
    (bj(27, 9), 4, bj(27, 13)),                 # inside one day
    (bj(27, 21), 4, bj(28, 9)),                 # 2 h tonight, 2 h tomorrow from 07:00
    (bj(27, 23, 30), 2, bj(28, 9)),             # after hours: counts from the next 07:00
    (bj(27, 3), 2, bj(27, 9)),                  # before hours: from 07:00 the same day
    (bj(27, 19), 4, bj(27, 23)),                # ends exactly at closing, not next morning
    (bj(27, 23), 1, bj(28, 8)),                 # at closing: nothing left today
    (bj(27, 7), 32, bj(28, 23)),                # two full working days
    (bj(27, 9), 32, bj(29, 9)),                 # 14 + 16 + 2
    (bj(27, 9), 0, bj(27, 9)),
    (bj(27, 2), 0, bj(27, 2)),                  # zero hours is the start itself
    (bj(27, 7), 16, bj(27, 23)),
])
def test_add_working_hours(start, hours, due):
    assert CAL.add_working_hours(start, hours) == due


def test_the_answer_keeps_the_instant_whatever_the_input_zone():
    start_utc = bj(27, 21).astimezone(UTC)
    assert CAL.add_working_hours(start_utc, 4) == bj(28, 9)


@pytest.mark.parametrize(("a", "b", "hours"), [
    (bj(27, 9), bj(27, 13), 4.0),
    (bj(27, 21), bj(28, 9), 4.0),
    (bj(27, 23, 30), bj(28, 6), 0.0),           # entirely outside working hours
    (bj(27, 0), bj(28, 0), 16.0),
    (bj(27, 13), bj(27, 9), -4.0),              # reversed: negative
    (bj(27, 22, 30), bj(27, 23, 30), 0.5),
])
def test_working_hours_between(a, b, hours):
    assert CAL.working_hours_between(a, b) == pytest.approx(hours)


def test_add_and_between_are_inverse_on_random_inputs():
    rng = np.random.default_rng(4)
    for _ in range(300):
        start = bj(1, 0) + timedelta(minutes=int(rng.integers(0, 60 * 24 * 20)))
        hours = float(rng.integers(0, 60 * 50)) / 60.0
        due = CAL.add_working_hours(start, hours)
        assert CAL.working_hours_between(start, due) == pytest.approx(hours, abs=1e-9)
        assert due >= start


def test_working_days_and_holidays():
    # Monday-Friday, 09:00-18:00, with 2026-11-27 (a Friday) a holiday.
    cal = WorkingCalendar(start=time(9), end=time(18), weekdays=frozenset(range(5)),
                          holidays=frozenset({date(2026, 11, 27)}))
    thursday_5pm = bj(26, 17)
    assert cal.add_working_hours(thursday_5pm, 2) == datetime(2026, 11, 30, 10, tzinfo=BEIJING)
    assert cal.working_hours_between(thursday_5pm, bj(30, 10)) == pytest.approx(2.0)


@pytest.mark.parametrize("kwargs", [{"start": time(23), "end": time(7)},
                                    {"weekdays": frozenset()},
                                    {"weekdays": frozenset({7})}])
def test_bad_calendars(kwargs):
    with pytest.raises(ValueError, match=r"working day|weekdays"):
        WorkingCalendar(**kwargs)


def test_bad_arguments():
    with pytest.raises(ValueError, match="time zone"):
        CAL.add_working_hours(datetime(2026, 11, 27, 9), 1)
    with pytest.raises(ValueError, match=">= 0"):
        CAL.add_working_hours(bj(27, 9), -1)
    with pytest.raises(ValueError, match="time zone"):
        CAL.working_hours_between(datetime(2026, 11, 27, 9), bj(27, 9))
