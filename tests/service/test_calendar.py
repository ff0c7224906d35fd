"""Working-hours arithmetic of the case clocks (pure): 07:00-23:00 Beijing time by default, on
the working days of the mainland China calendar (holidays and 调休 make-up days)."""

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import numpy as np
import pytest

from service.core.calendar import WorkingCalendar, read_overrides
from service.core.timezones import BEIJING

# The arithmetic tests: every day a working day, so only the hours matter.
CAL = WorkingCalendar(official=False, weekdays=frozenset(range(7)))
OFFICIAL = WorkingCalendar()


def bj(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=BEIJING)


@pytest.mark.parametrize(
    ("start", "hours", "due"),
    [
        (bj(27, 9), 4, bj(27, 13)),  # inside one day
        (bj(27, 21), 4, bj(28, 9)),  # 2 h tonight, 2 h tomorrow from 07:00
        (bj(27, 23, 30), 2, bj(28, 9)),  # after hours: counts from the next 07:00
        (bj(27, 3), 2, bj(27, 9)),  # before hours: from 07:00 the same day
        (bj(27, 19), 4, bj(27, 23)),  # ends exactly at closing, not next morning
        (bj(27, 23), 1, bj(28, 8)),  # at closing: nothing left today
        (bj(27, 7), 32, bj(28, 23)),  # two full working days
        (bj(27, 9), 32, bj(29, 9)),  # 14 + 16 + 2
        (bj(27, 9), 0, bj(27, 9)),
        (bj(27, 2), 0, bj(27, 2)),  # zero hours is the start itself
        (bj(27, 7), 16, bj(27, 23)),
    ],
)
def test_add_working_hours(start, hours, due):
    assert CAL.add_working_hours(start, hours) == due


def test_the_answer_keeps_the_instant_whatever_the_input_zone():
    start_utc = bj(27, 21).astimezone(UTC)
    assert CAL.add_working_hours(start_utc, 4) == bj(28, 9)


@pytest.mark.parametrize(
    ("a", "b", "hours"),
    [
        (bj(27, 9), bj(27, 13), 4.0),
        (bj(27, 21), bj(28, 9), 4.0),
        (bj(27, 23, 30), bj(28, 6), 0.0),  # entirely outside working hours
        (bj(27, 0), bj(28, 0), 16.0),
        (bj(27, 13), bj(27, 9), -4.0),  # reversed: negative
        (bj(27, 22, 30), bj(27, 23, 30), 0.5),
    ],
)
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
    cal = WorkingCalendar(
        start=time(9),
        end=time(18),
        official=False,
        weekdays=frozenset(range(5)),
        holidays=frozenset({date(2026, 11, 27)}),
    )
    thursday_5pm = bj(26, 17)
    assert cal.add_working_hours(thursday_5pm, 2) == datetime(2026, 11, 30, 10, tzinfo=BEIJING)
    assert cal.working_hours_between(thursday_5pm, bj(30, 10)) == pytest.approx(2.0)


@pytest.mark.parametrize(
    "kwargs",
    [{"start": time(23), "end": time(7)}, {"weekdays": frozenset()}, {"weekdays": frozenset({7})}],
)
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


def test_a_make_up_saturday_counts_and_a_holiday_does_not():
    # 2026-02-28 is a Saturday worked in exchange for the Spring Festival (调休).
    saturday = date(2026, 2, 28)
    assert saturday.weekday() == 5
    assert OFFICIAL.is_working_day(saturday)
    friday_10pm = datetime(2026, 2, 27, 22, tzinfo=BEIJING)
    # One hour left on Friday, then the Saturday's first hours.
    assert OFFICIAL.add_working_hours(friday_10pm, 3) == datetime(2026, 2, 28, 9, tzinfo=BEIJING)
    assert (
        OFFICIAL.working_hours_between(
            datetime(2026, 2, 28, 0, tzinfo=BEIJING), datetime(2026, 3, 1, 0, tzinfo=BEIJING)
        )
        == 16
    )
    # An ordinary Saturday and a weekday holiday (National Day, a Thursday) do not count.
    assert not OFFICIAL.is_working_day(date(2026, 11, 28))
    assert not OFFICIAL.is_working_day(date(2026, 10, 1))
    # Friday evening's case is due on Monday: the weekend is skipped.
    assert OFFICIAL.add_working_hours(bj(27, 22), 2) == bj(30, 8)


def test_overrides_cover_years_the_package_does_not_yet(tmp_path: Path):
    # chinesecalendar knows no 2027 yet: Monday-Friday, plus what the file says.
    path = tmp_path / "workdays.toml"
    path.write_text('holidays = ["2027-01-01"]\nworkdays = ["2027-01-09"]\n', encoding="utf-8")
    overrides = read_overrides(path)
    cal = WorkingCalendar(overrides=overrides)
    assert not cal.is_working_day(date(2027, 1, 1))  # a Friday, declared a holiday
    assert cal.is_working_day(date(2027, 1, 9))  # a Saturday, declared a make-up day
    assert cal.is_working_day(date(2027, 1, 4))  # an ordinary Monday
    assert not cal.is_working_day(date(2027, 1, 10))  # an ordinary Sunday
    # An override also corrects a year the package covers.
    assert (
        WorkingCalendar(overrides={date(2026, 2, 28): False}).is_working_day(date(2026, 2, 28))
        is False
    )


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ('holidays = ["2027-13-01"]', "not a date"),
        ('holidays = ["2027-01-01"]\nworkdays = ["2027-01-01"]', "both"),
        ('days = ["2027-01-01"]', "unknown key"),
        ("holidays = [", "Cannot read"),
    ],
)
def test_bad_override_files_name_the_fix(tmp_path: Path, text, match):
    path = tmp_path / "workdays.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=match):
        read_overrides(path)
