"""Plans deadlines as absolute UTC moments, outside the workflow sandbox (DESIGN.md, clocks)."""

from __future__ import annotations

from datetime import UTC
from functools import cache

from temporalio import activity

from config import Settings
from domain.clocks import DeadlineRequest, DeadlineRule, PlannedDeadline
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


def plan(rule: DeadlineRule, calendar: WorkingCalendar) -> PlannedDeadline:
    if rule.after is not None and rule.working_days is not None:
        due = calendar.due_after(rule.after, rule.working_days)
    else:
        assert rule.on_date is not None  # DeadlineRule's validator guarantees one or the other
        due = calendar.close_of_business(calendar.last_working_day_on_or_before(rule.on_date))
    due_day = due.date()
    remind_at = calendar.opening_time(calendar.add_working_days(due_day, -rule.remind_days_before))
    return PlannedDeadline(
        key=rule.key,
        due=due.astimezone(UTC),
        remind_at=remind_at.astimezone(UTC),
        due_day=due_day,
        counted_from=calendar.received_on(rule.after) if rule.after is not None else None,
    )


class DeadlineActivities:
    def __init__(self, settings: Settings) -> None:
        # cases lodged before cases carried a policy send none: the calendar they began on
        self.legacy = calendar_for(legacy_policy().calendar)

    @activity.defn(name="plan_deadlines")
    async def plan_deadlines(self, request: DeadlineRequest) -> list[PlannedDeadline]:
        calendar = calendar_for(request.calendar) if request.calendar else self.legacy
        return [plan(rule, calendar) for rule in request.rules]
