"""The working-day calendar: office hours, bank holidays and closures (DESIGN.md "The clocks").

Pure: the England bank holidays come from the `holidays` package, imported only when a calendar
built without an explicit `bank_holidays` list first needs them, so a calendar fed a list (as a
workflow would be) never touches that package.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cache
from types import MappingProxyType
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from domain.policy import CalendarPolicy

ONE_DAY = timedelta(days=1)


class HolidaysNotLoaded(LookupError):
    """A calendar fed the bank holidays of some years only was asked about a day in another
    year: load that year's and ask again (a workflow plans its clocks so)."""

    def __init__(self, year: int) -> None:
        super().__init__(f"the bank holidays of {year} are not loaded")
        self.year = year


@dataclass(frozen=True)
class OfficeHours:
    """Opening and closing time for each weekday (Monday = 0); a weekday left out is closed."""

    hours: Mapping[int, tuple[time, time]]

    def __post_init__(self) -> None:
        hours = dict(self.hours)
        if not hours:
            raise ValueError("office hours must open on at least one weekday")
        for weekday, (opens, closes) in hours.items():
            if weekday not in range(7):
                raise ValueError(f"weekday must be 0 (Monday) to 6 (Sunday), not {weekday!r}")
            if opens.tzinfo is not None or closes.tzinfo is not None:
                raise ValueError("office hours are local wall-clock times; give naive times")
            if not opens < closes:
                raise ValueError(f"weekday {weekday}: opens at {opens}, not before {closes}")
        object.__setattr__(self, "hours", MappingProxyType(hours))

    def __hash__(self) -> int:
        return hash(tuple(sorted(self.hours.items())))

    def on(self, weekday: int) -> tuple[time, time] | None:
        return self.hours.get(weekday)


ENGLAND_OFFICE_HOURS = OfficeHours(
    {
        **dict.fromkeys(range(4), (time(8, 45), time(17, 15))),  # Monday to Thursday
        4: (time(8, 45), time(16, 45)),  # Friday
    }
)


@cache
def region_bank_holidays(
    year: int, country: str = "GB", subdivision: str | None = "ENG"
) -> frozenset[date]:
    """Bank holidays for one year, substitute days included (England by default)."""
    import holidays  # lazy: this module must stay importable where `holidays` cannot run

    # Without subdiv the GB calendar lacks Easter Monday and the August bank holiday.
    return frozenset(holidays.country_holidays(country, subdiv=subdivision, years=year))


def england_bank_holidays(year: int) -> frozenset[date]:
    return region_bank_holidays(year, "GB", "ENG")


class WorkingCalendar:
    """Which days are working days, and when contacts count as received and promises fall due."""

    def __init__(
        self,
        *,
        closures: Iterable[date] = (),
        bank_holidays: Iterable[date] | None = None,
        tz: str = "Europe/London",
        office_hours: OfficeHours | None = None,
        country: str = "GB",
        subdivision: str | None = "ENG",
        holiday_years: Iterable[int] | None = None,
    ) -> None:
        self.tz = ZoneInfo(tz)
        self.office_hours = office_hours or ENGLAND_OFFICE_HOURS
        self.closures = frozenset(closures)
        self._bank_holidays = None if bank_holidays is None else frozenset(bank_holidays)
        self._region = (country, subdivision)
        # with `bank_holidays` given: the years they are complete for (any other year's day
        # raises HolidaysNotLoaded); None: the list is all there is
        self._years = None if holiday_years is None else frozenset(holiday_years)

    @classmethod
    def from_policy(
        cls,
        policy: CalendarPolicy,
        bank_holidays: Iterable[date] | None = None,
        holiday_years: Iterable[int] | None = None,
    ) -> WorkingCalendar:
        """The calendar a policy's clocks are counted on: its region's bank holidays looked up,
        or those given (complete for `holiday_years`)."""
        return cls(
            closures=policy.closure_days,
            bank_holidays=bank_holidays,
            tz=policy.timezone,
            office_hours=OfficeHours(policy.weekday_hours()),
            country=policy.bank_holidays_country,
            subdivision=policy.bank_holidays_subdivision,
            holiday_years=holiday_years,
        )

    def __repr__(self) -> str:
        region = "-".join(p for p in self._region if p)
        source = region if self._bank_holidays is None else f"{len(self._bank_holidays)} given"
        return (
            f"WorkingCalendar(tz={self.tz.key!r}, bank holidays: {source}, "
            f"closures: {len(self.closures)})"
        )

    def is_bank_holiday(self, day: date) -> bool:
        if self._bank_holidays is None:
            return day in region_bank_holidays(day.year, *self._region)
        if self._years is not None and day.year not in self._years:
            raise HolidaysNotLoaded(day.year)
        return day in self._bank_holidays

    def is_working_day(self, day: date) -> bool:
        return (
            self.office_hours.on(day.weekday()) is not None
            and day not in self.closures
            and not self.is_bank_holiday(day)
        )

    def bank_holidays_in(self, years: Iterable[int]) -> list[date]:
        """The region's bank holidays in those years, in order (what a workflow is fed)."""
        return sorted(d for year in years for d in region_bank_holidays(year, *self._region))

    def next_working_day(self, day: date) -> date:
        """The first working day strictly after `day`."""
        day += ONE_DAY
        while not self.is_working_day(day):
            day += ONE_DAY
        return day

    def last_working_day_on_or_before(self, day: date) -> date:
        while not self.is_working_day(day):
            day -= ONE_DAY
        return day

    def add_working_days(self, day: date, n: int) -> date:
        """The nth working day after `day` (before it, for negative n); `day` itself is not
        counted, so Monday + 1 is Tuesday and Saturday + 1 is Monday. For n = 0: `day` if it is
        a working day, else the next one."""
        if n == 0:
            return day if self.is_working_day(day) else self.next_working_day(day)
        step = ONE_DAY if n > 0 else -ONE_DAY
        remaining = abs(n)
        while remaining:
            day += step
            if self.is_working_day(day):
                remaining -= 1
        return day

    def working_days_between(self, start: date, end: date) -> int:
        """Working days in (start, end] — start not counted, end counted — or minus those in
        (end, start] when end is before start; so between(d, add_working_days(d, n)) == n."""
        if end < start:
            return -self.working_days_between(end, start)
        count = 0
        day = start + ONE_DAY
        while day <= end:
            count += self.is_working_day(day)
            day += ONE_DAY
        return count

    def received_on(self, moment: datetime) -> date:
        """The working day a contact at `moment` counts as received: that day if it is a working
        day and the moment is no later than closing time (before opening counts too); otherwise
        the next working day."""
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError(f"received_on needs a timezone-aware datetime, got naive {moment}")
        local = moment.astimezone(self.tz)
        day = local.date()
        if self.is_working_day(day) and local.time() <= self._hours(day)[1]:
            return day
        return self.next_working_day(day)

    def opening_time(self, day: date) -> datetime:
        return datetime.combine(day, self._hours(day)[0], tzinfo=self.tz)

    def close_of_business(self, day: date) -> datetime:
        return datetime.combine(day, self._hours(day)[1], tzinfo=self.tz)

    def due_after(self, moment: datetime, working_days: int) -> datetime:
        """Close of business on the nth working day after the day `moment` counts as received."""
        return self.close_of_business(self.add_working_days(self.received_on(moment), working_days))

    def _hours(self, day: date) -> tuple[time, time]:
        hours = self.office_hours.on(day.weekday())
        if hours is None or not self.is_working_day(day):
            raise ValueError(f"{day:%A %d %B %Y} is not a working day")
        return hours
