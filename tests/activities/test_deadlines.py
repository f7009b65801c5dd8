from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import ActivityEnvironment

from activities.deadlines import DeadlineActivities, calendar_for, calendar_from_settings
from config import Settings
from domain.clocks import ClockKey, DeadlineRequest, DeadlineRule, PlannedDeadline
from domain.policy import CalendarPolicy

LONDON = ZoneInfo("Europe/London")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


async def plan(
    *rules: DeadlineRule, calendar: CalendarPolicy | None = None
) -> list[PlannedDeadline]:
    """Plan on the case's calendar (the shipped policy's unless given)."""
    activities = DeadlineActivities(Settings())
    request = DeadlineRequest(rules=list(rules), calendar=calendar or Settings().policy.calendar)
    return await ActivityEnvironment().run(activities.plan_deadlines, request)


def with_closures(*days: date) -> CalendarPolicy:
    return Settings().policy.calendar.model_copy(update={"closure_days": days})


def stage_one(received: datetime) -> list[DeadlineRule]:
    return [
        DeadlineRule(key=ClockKey.s1_contact, after=received, working_days=3),
        DeadlineRule(key=ClockKey.s1_acknowledgement, after=received, working_days=5),
    ]


async def test_stage_one_over_christmas_2026() -> None:
    # Friday 18 December 17:00 is after Friday's 16:45 close → received Monday 21st.
    contact, ack = await plan(*stage_one(datetime(2026, 12, 18, 17, 0, tzinfo=LONDON)))

    assert contact == PlannedDeadline(
        key=ClockKey.s1_contact,
        due=utc(2026, 12, 24, 17, 15),  # Thursday 24th
        remind_at=utc(2026, 12, 23, 8, 45),
        due_day=date(2026, 12, 24),
        counted_from=date(2026, 12, 21),
    )
    # 22, 23, 24, (25 Christmas, 28 Boxing Day substitute), 29, 30.
    assert ack == PlannedDeadline(
        key=ClockKey.s1_acknowledgement,
        due=utc(2026, 12, 30, 17, 15),
        remind_at=utc(2026, 12, 29, 8, 45),
        due_day=date(2026, 12, 30),
        counted_from=date(2026, 12, 21),
    )
    assert contact.due.utcoffset() == contact.remind_at.utcoffset() == UTC.utcoffset(None)


async def test_closure_days_come_from_the_case_calendar() -> None:
    calendar = with_closures(date(2026, 12, 29), date(2026, 12, 31))
    contact, ack = await plan(
        *stage_one(datetime(2026, 12, 18, 17, 0, tzinfo=LONDON)), calendar=calendar
    )
    assert contact.due_day == date(2026, 12, 24)
    # 22, 23, 24, 30, then 31 closed and 1 January a bank holiday → Monday 4 January.
    assert ack.due_day == date(2027, 1, 4)
    assert ack.remind_at == utc(2026, 12, 30, 8, 45)


async def test_on_date_saturday_falls_back_to_friday() -> None:
    (planned,) = await plan(DeadlineRule(key=ClockKey.s1_response, on_date=date(2027, 1, 16)))
    assert planned.due_day == date(2027, 1, 15)
    assert planned.due == utc(2027, 1, 15, 16, 45)  # Friday close, GMT
    assert planned.remind_at == utc(2027, 1, 14, 8, 45)
    assert planned.counted_from is None


async def test_on_date_in_summer_time_is_an_hour_earlier_in_utc() -> None:
    (planned,) = await plan(DeadlineRule(key=ClockKey.s2_response, on_date=date(2026, 7, 4)))
    assert planned.due_day == date(2026, 7, 3)
    assert planned.due == utc(2026, 7, 3, 15, 45)
    assert planned.remind_at == utc(2026, 7, 2, 7, 45)


async def test_on_date_bank_holiday_and_reminder_skips_holidays() -> None:
    # Agreed date Monday 28 December 2026 (Boxing Day substitute) → Thursday 24th.
    # Agreed date Tuesday 29th stands; its reminder is on Thursday 24th, the working day before.
    holiday, after_holiday = await plan(
        DeadlineRule(key=ClockKey.s1_response, on_date=date(2026, 12, 28)),
        DeadlineRule(key=ClockKey.s2_response, on_date=date(2026, 12, 29)),
    )
    assert (holiday.due_day, holiday.due) == (date(2026, 12, 24), utc(2026, 12, 24, 17, 15))
    assert holiday.remind_at == utc(2026, 12, 23, 8, 45)
    assert (after_holiday.due_day, after_holiday.due) == (
        date(2026, 12, 29),
        utc(2026, 12, 29, 17, 15),
    )
    assert after_holiday.remind_at == utc(2026, 12, 24, 8, 45)


async def test_due_in_utc_across_the_clock_change() -> None:
    # Received Friday 23 October 2026 (BST); 3 WD → Wednesday 28th, after BST ends on the 25th.
    (planned,) = await plan(
        DeadlineRule(
            key=ClockKey.s2_contact, after=datetime(2026, 10, 23, 9, 0, tzinfo=UTC), working_days=3
        )
    )
    assert planned.due == utc(2026, 10, 28, 17, 15)
    assert planned.remind_at == utc(2026, 10, 27, 8, 45)
    assert planned.counted_from == date(2026, 10, 23)


async def test_results_survive_the_pydantic_data_converter() -> None:
    planned = await plan(*stage_one(datetime(2026, 12, 18, 17, 0, tzinfo=LONDON)))
    converter = pydantic_data_converter.payload_converter
    (payload,) = converter.to_payloads([planned])
    (decoded,) = converter.from_payloads([payload], [list[PlannedDeadline]])
    assert decoded == planned


def test_calendar_is_built_once_per_calendar_policy() -> None:
    none = calendar_from_settings(Settings())
    assert calendar_from_settings(Settings()) is none
    assert calendar_for(Settings().policy.calendar) is none
    closed = calendar_for(with_closures(date(2026, 12, 24)))
    assert closed is not none
    assert not closed.is_working_day(date(2026, 12, 24))
    assert none.is_working_day(date(2026, 12, 24))
