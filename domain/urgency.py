"""How urgent a case is: one rule for the work queues, the case pages and the daily sweep.

- overdue: a deadline has been missed (the workflow's `overdue` flag, or the next deadline has
  passed before the flag lands) and the step is still to do;
- due today: the next deadline falls before midnight tonight (the calendar's time zone);
- due soon: the next deadline falls no later than close of business on the Nth working day after
  today (N is the policy's `urgency.due_soon_working_days`; today is not counted, so on a Monday
  with N = 2 that is Wednesday's close of business);
- on track: later than that;
- waiting: nothing is due from staff: the case is closed, the resident has the clock (a complaint
  in its escalation window, an enquiry we replied to asking the resident for something) or there
  is no deadline running. What a complaint led to is always staff's, whatever the case's status:
  when the next deadline is an action it promised or the Ombudsman's request or order
  (`FOLLOW_UP_KEYS`), it counts like any other deadline, on a closed case too.

Red is overdue or due today, amber due soon, green on track, grey waiting. The queues' SQL
(admin/queues.py) and the sweep's at-risk query (domain/sweep.py, activities/sweep.py) are built
from the same window, `WAITING_STATUSES` and `CLOSED_STAGE`. Pure: no Temporal, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum

from domain.clocks import ITEM_CLOCKS
from domain.working_days import WorkingCalendar

# Clocks of what a complaint led to, by value: owed by staff even while the resident has the
# case's own clock, and on a closed complaint.
FOLLOW_UP_KEYS = frozenset(key.value for key in ITEM_CLOCKS)

# Statuses in which the resident, not staff, has the clock: complaint status (stage 1's window
# to ask for stage 2) and enquiry state (we replied and asked the resident for something).
WAITING_STATUSES = frozenset({"escalation_window", "awaiting_resident"})
CLOSED_STAGE = "closed"  # complaints and enquiries alike


class Urgency(StrEnum):
    overdue = "overdue"
    due_today = "due_today"
    due_soon = "due_soon"
    on_track = "on_track"
    waiting = "waiting"


class Colour(StrEnum):
    red = "red"
    amber = "amber"
    green = "green"
    grey = "grey"


COLOURS: dict[Urgency, Colour] = {
    Urgency.overdue: Colour.red,
    Urgency.due_today: Colour.red,
    Urgency.due_soon: Colour.amber,
    Urgency.on_track: Colour.green,
    Urgency.waiting: Colour.grey,
}

# Sorting by status: red first, grey last.
COLOUR_ORDER: dict[Colour, int] = {c: n for n, c in enumerate(Colour)}

# A case, as the queues show it.
LABELS: dict[Urgency, str] = {
    Urgency.overdue: "Overdue",
    Urgency.due_today: "Due today",
    Urgency.due_soon: "Due soon",
    Urgency.on_track: "On track",
    Urgency.waiting: "Waiting",
}

# One promise in a case page's deadlines table (met and stopped promises have words of their own).
PROMISE_LABELS: dict[Urgency, str] = {
    Urgency.overdue: "Missed",
    Urgency.due_today: "Due today",
    Urgency.due_soon: "Due soon",
    Urgency.on_track: "Open",
    Urgency.waiting: "Open to the resident",
}


@dataclass(frozen=True)
class UrgencyWindow:
    """Today's bounds, in UTC, for the rule."""

    now: datetime
    today: date  # in the calendar's time zone
    today_starts: datetime
    today_ends: datetime  # midnight at the start of tomorrow
    soon_ends: datetime  # close of business on the Nth working day after today
    due_soon_working_days: int

    @classmethod
    def at(
        cls, now: datetime, calendar: WorkingCalendar, due_soon_working_days: int
    ) -> UrgencyWindow:
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        today = now.astimezone(calendar.tz).date()
        starts = datetime.combine(today, time.min, tzinfo=calendar.tz)
        ends = datetime.combine(today + timedelta(days=1), time.min, tzinfo=calendar.tz)
        return cls(
            now=now.astimezone(UTC),
            today=today,
            today_starts=starts.astimezone(UTC),
            today_ends=ends.astimezone(UTC),
            soon_ends=soon_ends(today, calendar, due_soon_working_days),
            due_soon_working_days=due_soon_working_days,
        )

    @classmethod
    def on(cls, day: date, calendar: WorkingCalendar, due_soon_working_days: int) -> UrgencyWindow:
        """The window as the day starts (the daily sweep's view of `day`)."""
        start = datetime.combine(day, time.min, tzinfo=calendar.tz)
        return cls.at(start, calendar, due_soon_working_days)


def soon_ends(today: date, calendar: WorkingCalendar, due_soon_working_days: int) -> datetime:
    """Close of business (UTC) on the Nth working day after `today`."""
    if due_soon_working_days < 1:
        raise ValueError("due soon must be at least 1 working day")
    day = calendar.add_working_days(today, due_soon_working_days)
    return calendar.close_of_business(day).astimezone(UTC)


def _aware(moment: datetime) -> datetime:
    # The records database may hand back naive datetimes; they are UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def deadline_urgency(due: datetime, window: UrgencyWindow, *, missed: bool = False) -> Urgency:
    """How urgent one open deadline owed by staff is."""
    due = _aware(due)
    if missed or due < window.now:
        return Urgency.overdue
    if due < window.today_ends:
        return Urgency.due_today
    if due <= window.soon_ends:
        return Urgency.due_soon
    return Urgency.on_track


def owed_by_staff(stage: str, status: str, next_deadline_key: str | None) -> bool:
    """Whether anything can be due from staff: the case is open and the resident does not have
    the clock; or the next deadline is one of what a complaint led to."""
    if next_deadline_key in FOLLOW_UP_KEYS:
        return True
    return stage != CLOSED_STAGE and status not in WAITING_STATUSES


# The queues' "due" order in one indexed column (records: `cases.queue_due`), so a queue page is
# an index range scan: a deadline due from staff sorts as itself; a case whose deadline is not
# staff's (the resident has the clock) sorts after every such deadline, in its own deadline's
# order (moved on to the year 5000 and beyond); a case with no deadline sorts last.
WAITING_FROM = datetime(5000, 1, 1, tzinfo=UTC)
NO_DEADLINE = datetime(9999, 12, 31, tzinfo=UTC)
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def queue_due(
    stage: str, status: str, next_deadline: datetime | None, next_deadline_key: str | None
) -> datetime:
    if next_deadline is None:
        return NO_DEADLINE
    if owed_by_staff(stage, status, next_deadline_key):
        return next_deadline
    return WAITING_FROM + (next_deadline - _EPOCH)


def urgency(
    stage: str,
    status: str,
    next_deadline: datetime | None,
    overdue: bool,
    window: UrgencyWindow,
    next_deadline_key: str | None = None,
) -> Urgency:
    """How urgent a case is, from what its record (or search attributes) carry."""
    if not owed_by_staff(stage, status, next_deadline_key):
        return Urgency.waiting
    if overdue:
        return Urgency.overdue
    if next_deadline is None:
        return Urgency.waiting
    return deadline_urgency(next_deadline, window)


def due_soon_title(due_soon_working_days: int) -> str:
    days = "working day" if due_soon_working_days == 1 else "working days"
    return f"Due within {due_soon_working_days} {days}"
