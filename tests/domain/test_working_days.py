from __future__ import annotations

import subprocess
import sys
from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.working_days import OfficeHours, WorkingCalendar

LONDON = ZoneInfo("Europe/London")
CAL = WorkingCalendar()
PROPERTY = settings(max_examples=200, deadline=None)


def london(*args: int) -> datetime:
    return datetime(*args, tzinfo=LONDON)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# --- which days are working days -------------------------------------------------------------


@pytest.mark.parametrize(
    "day",
    [
        date(2026, 12, 25),  # Christmas Day, Friday
        date(2026, 12, 28),  # Boxing Day (Saturday) substitute, Monday
        date(2027, 1, 1),  # New Year's Day, Friday
        date(2027, 3, 26),  # Good Friday
        date(2027, 3, 29),  # Easter Monday: missing from GB without subdiv="ENG"
        date(2027, 8, 30),  # Late Summer bank holiday: likewise
        date(2027, 12, 27),  # Christmas Day (Saturday) substitute
        date(2027, 12, 28),  # Boxing Day (Sunday) substitute
        date(2028, 1, 3),  # New Year's Day (Saturday) substitute
        date(2026, 12, 26),  # Saturday
        date(2026, 12, 27),  # Sunday
    ],
)
def test_not_working_days(day: date) -> None:
    assert not CAL.is_working_day(day)


@pytest.mark.parametrize(
    "day",
    [
        date(2026, 12, 24),
        date(2026, 12, 29),
        date(2026, 12, 31),
        date(2027, 1, 4),
        date(2027, 3, 25),
        date(2027, 3, 30),
        date(2027, 12, 24),
        date(2027, 12, 29),
        date(2028, 1, 4),
    ],
)
def test_working_days(day: date) -> None:
    assert CAL.is_working_day(day)


def test_agrees_with_holidays_package_day_by_day() -> None:
    england = holidays.country_holidays("GB", subdiv="ENG", years=range(2025, 2031))
    day = date(2025, 1, 1)
    while day.year < 2031:
        assert CAL.is_working_day(day) == (day.weekday() < 5 and day not in england), day
        day += timedelta(days=1)


def test_configured_closure() -> None:
    closed = WorkingCalendar(closures=[date(2026, 12, 24)])
    assert not closed.is_working_day(date(2026, 12, 24))
    assert closed.received_on(london(2026, 12, 23, 18, 0)) == date(2026, 12, 29)
    assert CAL.received_on(london(2026, 12, 23, 18, 0)) == date(2026, 12, 24)
    assert closed.add_working_days(date(2026, 12, 21), 3) == date(2026, 12, 29)


def test_given_bank_holidays_replace_the_package() -> None:
    cal = WorkingCalendar(bank_holidays=[date(2026, 12, 24)])
    assert not cal.is_working_day(date(2026, 12, 24))
    assert cal.is_working_day(date(2026, 12, 25))


def test_given_bank_holidays_never_import_the_package() -> None:
    """A workflow may run the calendar on a list it was given; `holidays` can't run there."""
    code = (
        "import sys, datetime as dt\n"
        "from domain.working_days import WorkingCalendar\n"
        "cal = WorkingCalendar(bank_holidays=[dt.date(2026, 12, 25)], closures=[])\n"
        "assert cal.add_working_days(dt.date(2026, 12, 24), 1) == dt.date(2026, 12, 28)\n"
        "assert 'holidays' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# --- receipt day -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "received"),
    [
        # Friday closes at 16:45: up to and including closing time counts that day.
        (london(2026, 10, 16, 16, 44), date(2026, 10, 16)),
        (london(2026, 10, 16, 16, 45), date(2026, 10, 16)),
        (london(2026, 10, 16, 16, 46), date(2026, 10, 19)),
        (london(2026, 10, 16, 16, 45, 0, 1), date(2026, 10, 19)),
        # Thursday closes at 17:15.
        (london(2026, 10, 15, 17, 15), date(2026, 10, 15)),
        (london(2026, 10, 15, 17, 16), date(2026, 10, 16)),
        # Before opening counts that day.
        (london(2026, 10, 19, 0, 0), date(2026, 10, 19)),
        (london(2026, 10, 19, 7, 30), date(2026, 10, 19)),
        # Weekend → Monday.
        (london(2026, 10, 17, 12, 0), date(2026, 10, 19)),
        (london(2026, 10, 18, 23, 59), date(2026, 10, 19)),
        # The policy's example: Friday after 16:45 → Monday, or Tuesday after a bank holiday.
        (london(2026, 8, 28, 16, 46), date(2026, 9, 1)),
        # Bank holidays: Christmas 2026 → Tuesday 29th (Monday 28th is Boxing Day's substitute).
        (london(2026, 12, 25, 10, 0), date(2026, 12, 29)),
        (london(2026, 12, 24, 17, 16), date(2026, 12, 29)),
        (london(2027, 12, 24, 17, 0), date(2027, 12, 29)),
        (london(2027, 12, 31, 17, 0), date(2028, 1, 4)),
        (london(2027, 3, 25, 20, 0), date(2027, 3, 30)),
    ],
)
def test_received_on(moment: datetime, received: date) -> None:
    assert CAL.received_on(moment) == received


@pytest.mark.parametrize(
    ("moment", "received"),
    [
        # GMT: 23:30 UTC is 23:30 Thursday, after closing.
        (utc(2026, 3, 26, 23, 30), date(2026, 3, 27)),
        # BST: 23:30 UTC Thursday is 00:30 Good Friday → Tuesday after Easter Monday.
        (utc(2026, 4, 2, 23, 30), date(2026, 4, 7)),
        # BST: 23:30 UTC Thursday is 00:30 Friday, before opening → Friday.
        (utc(2026, 10, 22, 23, 30), date(2026, 10, 23)),
        # GMT again after 25 October: 23:30 UTC is 23:30 Thursday → Friday.
        (utc(2026, 10, 29, 23, 30), date(2026, 10, 30)),
        # Closing at 17:15 BST is 16:15 UTC.
        (utc(2026, 3, 30, 16, 15), date(2026, 3, 30)),
        (utc(2026, 3, 30, 16, 16), date(2026, 3, 31)),
        (utc(2026, 3, 23, 17, 15), date(2026, 3, 23)),
        (utc(2026, 3, 23, 17, 16), date(2026, 3, 24)),
        # Any offset works: 12:00 Friday at UTC-5 is 17:00 London, after Friday's close.
        (datetime(2026, 11, 6, 12, 0, tzinfo=timezone(timedelta(hours=-5))), date(2026, 11, 9)),
    ],
)
def test_received_on_other_zones_and_clock_changes(moment: datetime, received: date) -> None:
    assert CAL.received_on(moment) == received


def test_received_on_rejects_naive() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        CAL.received_on(datetime(2026, 10, 16, 12, 0))


# --- counting working days ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "n", "expected"),
    [
        (date(2026, 10, 19), 1, date(2026, 10, 20)),  # Monday + 1 = Tuesday
        (date(2026, 10, 16), 1, date(2026, 10, 19)),  # Friday + 1 = Monday
        (date(2026, 10, 17), 1, date(2026, 10, 19)),  # Saturday + 1 = Monday
        (date(2026, 10, 19), 0, date(2026, 10, 19)),
        (date(2026, 10, 17), 0, date(2026, 10, 19)),  # 0 from a non-working day: the next one
        (date(2026, 10, 20), -1, date(2026, 10, 19)),
        (date(2026, 10, 19), -1, date(2026, 10, 16)),
        (date(2026, 10, 17), -1, date(2026, 10, 16)),
        (date(2026, 12, 21), 3, date(2026, 12, 24)),
        (date(2026, 12, 21), 5, date(2026, 12, 30)),  # skips 25 and 28 December
        (date(2026, 12, 21), 10, date(2027, 1, 7)),  # and 1 January
        (date(2026, 12, 30), -5, date(2026, 12, 21)),
        (date(2027, 12, 24), 1, date(2027, 12, 29)),
        (date(2027, 12, 31), 1, date(2028, 1, 4)),
        (date(2027, 3, 25), 1, date(2027, 3, 30)),  # over Easter 2027
        (date(2027, 3, 30), -1, date(2027, 3, 25)),
    ],
)
def test_add_working_days(day: date, n: int, expected: date) -> None:
    assert CAL.add_working_days(day, n) == expected


def test_working_days_between() -> None:
    assert CAL.working_days_between(date(2026, 12, 21), date(2026, 12, 30)) == 5
    assert CAL.working_days_between(date(2026, 12, 30), date(2026, 12, 21)) == -5
    assert CAL.working_days_between(date(2026, 12, 21), date(2026, 12, 21)) == 0
    assert CAL.working_days_between(date(2026, 12, 24), date(2026, 12, 28)) == 0


def test_next_and_last_working_day() -> None:
    assert CAL.next_working_day(date(2026, 12, 24)) == date(2026, 12, 29)
    assert CAL.next_working_day(date(2026, 12, 29)) == date(2026, 12, 30)  # strictly after
    assert CAL.last_working_day_on_or_before(date(2026, 12, 28)) == date(2026, 12, 24)
    assert CAL.last_working_day_on_or_before(date(2026, 12, 29)) == date(2026, 12, 29)
    assert CAL.last_working_day_on_or_before(date(2028, 1, 3)) == date(2027, 12, 31)


# --- times of day ------------------------------------------------------------------------------


def test_close_and_open_follow_british_summer_time() -> None:
    # BST starts 29 March 2026 and ends 25 October 2026: same wall clock, UTC an hour apart.
    assert CAL.close_of_business(date(2026, 3, 26)).astimezone(UTC) == utc(2026, 3, 26, 17, 15)
    assert CAL.close_of_business(date(2026, 4, 2)).astimezone(UTC) == utc(2026, 4, 2, 16, 15)
    assert CAL.close_of_business(date(2026, 10, 22)).astimezone(UTC) == utc(2026, 10, 22, 16, 15)
    assert CAL.close_of_business(date(2026, 10, 29)).astimezone(UTC) == utc(2026, 10, 29, 17, 15)
    assert CAL.close_of_business(date(2026, 3, 27)).astimezone(UTC) == utc(2026, 3, 27, 16, 45)
    assert CAL.opening_time(date(2026, 3, 27)).astimezone(UTC) == utc(2026, 3, 27, 8, 45)
    assert CAL.opening_time(date(2026, 3, 30)).astimezone(UTC) == utc(2026, 3, 30, 7, 45)


def test_close_and_open_are_local_and_aware() -> None:
    close = CAL.close_of_business(date(2026, 7, 3))
    assert close == london(2026, 7, 3, 16, 45)
    assert close.utcoffset() == timedelta(hours=1)
    assert CAL.opening_time(date(2026, 7, 2)) == london(2026, 7, 2, 8, 45)


@pytest.mark.parametrize("day", [date(2026, 12, 25), date(2026, 12, 26)])
def test_close_and_open_reject_non_working_days(day: date) -> None:
    with pytest.raises(ValueError, match="not a working day"):
        CAL.close_of_business(day)
    with pytest.raises(ValueError, match="not a working day"):
        CAL.opening_time(day)


def test_due_after() -> None:
    # Friday 18 December 2026 18:00 → received Monday 21st; 3 WD → Thursday 24th; 5 WD skips
    # Christmas Day and the Boxing Day substitute → Wednesday 30th.
    moment = london(2026, 12, 18, 18, 0)
    assert CAL.received_on(moment) == date(2026, 12, 21)
    assert CAL.due_after(moment, 3) == london(2026, 12, 24, 17, 15)
    assert CAL.due_after(moment, 5) == london(2026, 12, 30, 17, 15)
    # The policy's example: Friday after 16:45 → next-working-day reply due end of Tuesday.
    assert CAL.due_after(london(2026, 10, 16, 16, 50), 1) == london(2026, 10, 20, 17, 15)
    # Over the start of BST: received Friday 27 March 2026 → due Monday 30th, 17:15 BST.
    due = CAL.due_after(london(2026, 3, 27, 10, 0), 1)
    assert due.astimezone(UTC) == utc(2026, 3, 30, 16, 15)


def test_custom_office_hours_and_zone() -> None:
    hours = OfficeHours({0: (time(9), time(17)), 5: (time(10), time(13))})  # Monday, Saturday
    cal = WorkingCalendar(office_hours=hours, bank_holidays=(), tz="Europe/Dublin")
    assert cal.is_working_day(date(2026, 10, 17))  # Saturday
    assert not cal.is_working_day(date(2026, 10, 20))  # Tuesday
    assert cal.received_on(datetime(2026, 10, 17, 13, 1, tzinfo=ZoneInfo("Europe/Dublin"))) == (
        date(2026, 10, 19)
    )
    assert cal.close_of_business(date(2026, 10, 17)).tzinfo == ZoneInfo("Europe/Dublin")


@pytest.mark.parametrize(
    "hours",
    [{}, {7: (time(9), time(17))}, {0: (time(17), time(9))}, {0: (time(9, tzinfo=UTC), time(17))}],
)
def test_office_hours_are_validated(hours: dict[int, tuple[time, time]]) -> None:
    with pytest.raises(ValueError):
        OfficeHours(hours)


# --- properties --------------------------------------------------------------------------------

days = st.dates(min_value=date(2025, 1, 1), max_value=date(2030, 12, 31))
working_days = days.filter(CAL.is_working_day)
counts = st.integers(min_value=0, max_value=60)
moments = st.datetimes(
    min_value=datetime(2025, 1, 1),
    max_value=datetime(2030, 12, 31),
    timezones=st.sampled_from(
        [UTC, LONDON, ZoneInfo("America/New_York"), timezone(timedelta(hours=13, minutes=45))]
    ),
)


@PROPERTY
@given(working_days, st.integers(min_value=-60, max_value=60))
def test_between_inverts_add(day: date, n: int) -> None:
    assert CAL.working_days_between(day, CAL.add_working_days(day, n)) == n


@PROPERTY
@given(days, st.integers(min_value=-60, max_value=60).filter(bool))
def test_add_lands_on_a_working_day(day: date, n: int) -> None:
    result = CAL.add_working_days(day, n)
    assert CAL.is_working_day(result)
    assert (result > day) == (n > 0)


@PROPERTY
@given(working_days, counts, counts)
def test_add_composes(day: date, a: int, b: int) -> None:
    assert CAL.add_working_days(CAL.add_working_days(day, a), b) == CAL.add_working_days(day, a + b)
    back = CAL.add_working_days(CAL.add_working_days(day, -a), -b)
    assert back == CAL.add_working_days(day, -(a + b))


@PROPERTY
@given(moments)
def test_received_on_is_a_working_day_not_before_the_local_date(moment: datetime) -> None:
    received = CAL.received_on(moment)
    assert CAL.is_working_day(received)
    assert received >= moment.astimezone(LONDON).date()
    assert moment <= CAL.close_of_business(received)


@PROPERTY
@given(moments, moments)
def test_received_on_is_monotonic(a: datetime, b: datetime) -> None:
    earlier, later = sorted((a, b))
    assert CAL.received_on(earlier) <= CAL.received_on(later)


@PROPERTY
@given(moments, st.integers(min_value=1, max_value=60))
def test_due_after_is_later_and_n_working_days_on(moment: datetime, n: int) -> None:
    due = CAL.due_after(moment, n)
    assert due > moment
    assert CAL.working_days_between(CAL.received_on(moment), due.date()) == n
    assert due == CAL.close_of_business(due.date())
