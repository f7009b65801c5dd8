"""The promises we keep as clocks, and the request/answer of the deadlines activity."""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import AwareDatetime, Field, model_validator

from domain.people import Compact, Strict
from domain.policy import CalendarPolicy, Policy
from domain.working_days import WorkingCalendar


class ClockKey(StrEnum):
    s1_contact = "s1_contact"
    s1_acknowledgement = "s1_acknowledgement"
    s1_response = "s1_response"
    escalation_window = "escalation_window"
    s2_contact = "s2_contact"
    s2_acknowledgement = "s2_acknowledgement"
    s2_response = "s2_response"
    # enquiries (customer service standards)
    enquiry_reply = "enquiry_reply"
    team_reply = "team_reply"
    service_request_target = "service_request_target"
    # what a complaint leads to: each is one of several on a case (`Clock.item` tells them apart)
    remedy_action = "remedy_action"
    ombudsman_evidence = "ombudsman_evidence"
    ombudsman_order = "ombudsman_order"


CLOCK_LABELS: dict[ClockKey, str] = {
    ClockKey.s1_contact: "Stage 1: contact the resident",
    ClockKey.s1_acknowledgement: "Stage 1: formal acknowledgement",
    ClockKey.s1_response: "Stage 1: response",
    ClockKey.escalation_window: "Window to ask for stage 2",
    ClockKey.s2_contact: "Stage 2: contact the resident",
    ClockKey.s2_acknowledgement: "Stage 2: formal acknowledgement",
    ClockKey.s2_response: "Stage 2: final response",
    ClockKey.enquiry_reply: "Reply to the enquiry",
    ClockKey.team_reply: "Team: fix or update the resident",
    ClockKey.service_request_target: "Service request: target date",
    ClockKey.remedy_action: "Put right: action",
    ClockKey.ombudsman_evidence: "Ombudsman: evidence requested",
    ClockKey.ombudsman_order: "Ombudsman: order",
}
# Clocks of which a case may carry several, numbered from 1 (`Clock.item`): their labels name
# the number only, never what the action says (labels reach the Temporal Web UI).
ITEM_CLOCKS = frozenset(
    {ClockKey.remedy_action, ClockKey.ombudsman_evidence, ClockKey.ombudsman_order}
)


def clock_id(key: ClockKey, item: int | None = None) -> str:
    """How a case holds a clock, and how its reminder and breach letters are keyed: the key, or
    for one of several ("remedy_action:2") the key and its number."""
    return key.value if item is None else f"{key.value}:{item}"


def clock_label(key: ClockKey, item: int | None = None) -> str:
    return CLOCK_LABELS[key] + ("" if item is None else f" {item}")


def local_day(moment: datetime, policy: Policy) -> date:
    """The day `moment` falls on in the landlord's time zone (its calendar's)."""
    return moment.astimezone(ZoneInfo(policy.calendar.timezone)).date()


def working_days(policy: Policy, key: ClockKey) -> int:
    """Working days the policy allows for a clock (an enquiry's reply clock depends on its
    channel: `policy.enquiries.reply_working_days`; a service request's on its target date)."""
    c = policy.complaints
    days = {
        ClockKey.s1_contact: c.stage1_contact,
        ClockKey.s1_acknowledgement: c.stage1_acknowledgement,
        ClockKey.s1_response: c.stage1_response,
        ClockKey.escalation_window: c.escalation_window,
        ClockKey.s2_contact: c.stage2_contact,
        ClockKey.s2_acknowledgement: c.stage2_acknowledgement,
        ClockKey.s2_response: c.stage2_response,
        ClockKey.team_reply: policy.enquiries.team_update,
    }
    return days[key]


def extension_cap(policy: Policy, key: ClockKey) -> int:
    """Working days a standard extension may add, in all, to a response clock."""
    c = policy.complaints
    return {
        ClockKey.s1_response: c.stage1_extension_cap,
        ClockKey.s2_response: c.stage2_extension_cap,
    }[key]


class DeadlineRule(Strict):
    """One clock to plan: due at close of business on the Nth working day after `after`'s
    receipt day, or (exceptional extension) on the agreed date itself, if a working day, or the
    last working day before it."""

    key: ClockKey
    after: AwareDatetime | None = None
    working_days: int | None = Field(default=None, ge=1, le=260)
    on_date: date | None = None
    # The reminder goes at opening time this many working days before the due day (0: the morning
    # of the due day itself, for a clock only a day long).
    remind_days_before: int = Field(default=1, ge=0, le=5)

    @model_validator(mode="after")
    def _one_way(self) -> DeadlineRule:
        if (self.on_date is None) != (self.after is None or self.working_days is None):
            return self
        raise ValueError("give either after + working_days, or on_date")


class DeadlineRequest(Strict):
    rules: list[DeadlineRule] = Field(min_length=1)
    # the case's own calendar (its policy's); none for cases lodged before cases carried a policy
    calendar: CalendarPolicy | None = None


class PlannedDeadline(Strict):
    key: ClockKey
    due: AwareDatetime  # UTC, close of business on the due day
    remind_at: AwareDatetime  # UTC, opening time of the working day before the due day
    due_day: date
    counted_from: date | None = None  # the receipt day of `after`, when the rule has one


def plan(rule: DeadlineRule, calendar: WorkingCalendar) -> PlannedDeadline:
    """When the clock is due and when it reminds, as absolute UTC moments. Pure: the workflow
    runs it on a calendar fed the bank holidays it has loaded (and cases begun before that, in
    the `plan_deadlines` activity)."""
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


def earliest_open(clocks: Any) -> Clock | None:
    """The case's next deadline: its open clock due first."""
    return min((c for c in clocks if c.open), key=lambda c: c.due, default=None)


# The bank holidays a case plans its clocks with from the start: the years around its receipt (a
# complaint taken to the Ombudsman can run a year or more). A later date loads its own year then.
HOLIDAY_YEARS_BEFORE, HOLIDAY_YEARS_AFTER = 1, 3
BankHolidays = dict[int, list[date]]  # by year: each year's bank holidays, in order


def holiday_years(year: int) -> range:
    """The years loaded for a case whose first planning falls in `year`."""
    return range(year - HOLIDAY_YEARS_BEFORE, year + HOLIDAY_YEARS_AFTER + 1)


def bank_holidays_around(policy: Policy, received_at: datetime) -> BankHolidays:
    """The bank holidays stamped on a case at lodging (lodge_once, with its policy), so it plans
    its first clocks with no activity at all: the years around the day it was received, on the
    policy's calendar."""
    calendar = WorkingCalendar.from_policy(policy.calendar)
    years = holiday_years(local_day(received_at, policy).year)
    days = calendar.bank_holidays_in(years)
    return {year: [d for d in days if d.year == year] for year in years}


class HolidayRequest(Strict):
    """The bank holidays a case's calendar needs for some years (the `bank_holidays` local
    activity): the workflow counts working days itself, fed these."""

    years: list[int] = Field(min_length=1, max_length=20)
    calendar: CalendarPolicy | None = None  # none: the calendar of cases lodged before policies


class Clock(Compact):
    """A deadline as the case carries it: the due moment and what became of it."""

    key: ClockKey
    item: int | None = Field(default=None, ge=1)  # which one, for ITEM_CLOCKS
    label: str
    due: datetime
    due_day: date
    remind_at: datetime
    original_due: datetime
    extensions: int = 0
    extended_by_working_days: int = 0
    exceptional_extension: bool = False
    # For reports: the receipt day the clock counts from (none for a clock due on a given date)
    # and the landlord's day it was met on, so working days taken need no time zone later.
    started_on: date | None = None
    met_at: datetime | None = None
    met_on: date | None = None
    breached_at: datetime | None = None
    reminded_at: datetime | None = None
    lapsed_at: datetime | None = None  # the escalation window only
    stopped_at: datetime | None = None  # the case moved on or closed before the step was done

    @property
    def id(self) -> str:
        return clock_id(self.key, self.item)

    @property
    def open(self) -> bool:
        return self.met_at is None and self.lapsed_at is None and self.stopped_at is None


class ClockedRecord(Strict):
    """A case's record (ComplaintRecord, EnquiryRecord): its next deadline is its earliest open
    clock. Records leave it out (it would be sent again whenever it moved) and it is worked out
    here when read."""

    clocks: list[Clock] = Field(default_factory=list)
    next_deadline: Clock | None = None

    @model_validator(mode="after")
    def _next_deadline_from_clocks(self) -> ClockedRecord:
        if self.next_deadline is None:
            self.next_deadline = earliest_open(self.clocks)
        return self
