"""The clocks' calendar outside the workflow sandbox (DESIGN.md, clocks): the bank holidays a
case's workflow plans its deadlines with (a local activity, once for the years it needs), and
`plan_deadlines`, which planned them for cases begun before workflows planned their own."""

from __future__ import annotations

from datetime import date
from functools import cache

from temporalio import activity

from config import Settings
from domain.clocks import DeadlineRequest, HolidayRequest, PlannedDeadline, plan
from domain.policy import CalendarPolicy, legacy_policy
from domain.working_days import WorkingCalendar


def calendar_for(policy: CalendarPolicy) -> WorkingCalendar:
    """One calendar per process for each calendar policy (its bank holidays are cached)."""
    return _calendar(policy.model_dump_json())


@cache
def _calendar(policy_json: str) -> WorkingCalendar:
    return WorkingCalendar.from_policy(CalendarPolicy.model_validate_json(policy_json))


def calendar_from_settings(settings: Settings | None = None) -> WorkingCalendar:
    """The calendar of the policy new cases are lodged under (POLICY_FILE)."""
    settings = settings or Settings.from_env()
    return calendar_for(settings.policy.calendar)


class DeadlineActivities:
    def __init__(self, settings: Settings) -> None:
        # cases lodged before cases carried a policy send none: the calendar they began on
        self.legacy = calendar_for(legacy_policy().calendar)

    @activity.defn(name="plan_deadlines")
    async def plan_deadlines(self, request: DeadlineRequest) -> list[PlannedDeadline]:
        calendar = calendar_for(request.calendar) if request.calendar else self.legacy
        return [plan(rule, calendar) for rule in request.rules]

    # An activity for a year a case was not lodged with (a local activity for cases begun in
    # early December 2026, inside their workflow task). On the event loop, not the thread pool:
    # it must not wait behind record and letter activities for a thread. Cached: no I/O.
    @activity.defn(name="bank_holidays")
    async def bank_holidays(self, request: HolidayRequest) -> list[date]:
        calendar = calendar_for(request.calendar) if request.calendar else self.legacy
        return calendar.bank_holidays_in(request.years)
