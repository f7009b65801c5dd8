"""The promises we keep as clocks, and the request/answer of the deadlines activity."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import AwareDatetime, Field, model_validator

from domain.people import Strict


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
}

# Working days allowed for each promise (complaints policy; ../shared/DESIGN.md "The clocks").
WORKING_DAYS: dict[ClockKey, int] = {
    ClockKey.s1_contact: 3,
    ClockKey.s1_acknowledgement: 5,
    ClockKey.s1_response: 10,
    ClockKey.escalation_window: 20,
    ClockKey.s2_contact: 3,
    ClockKey.s2_acknowledgement: 5,
    ClockKey.s2_response: 20,
    # enquiry_reply depends on the channel: see domain.enquiry.REPLY_WORKING_DAYS
    ClockKey.team_reply: 5,
}
# A standard extension may add at most this many working days to a response clock.
EXTENSION_LIMIT: dict[ClockKey, int] = {ClockKey.s1_response: 10, ClockKey.s2_response: 20}


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


class PlannedDeadline(Strict):
    key: ClockKey
    due: AwareDatetime  # UTC, close of business on the due day
    remind_at: AwareDatetime  # UTC, opening time of the working day before the due day
    due_day: date
    counted_from: date | None = None  # the receipt day of `after`, when the rule has one


class Clock(Strict):
    """A deadline as the case carries it: the due moment and what became of it."""

    key: ClockKey
    label: str
    due: datetime
    due_day: date
    remind_at: datetime
    original_due: datetime
    extensions: int = 0
    extended_by_working_days: int = 0
    exceptional_extension: bool = False
    met_at: datetime | None = None
    breached_at: datetime | None = None
    reminded_at: datetime | None = None
    lapsed_at: datetime | None = None  # the escalation window only
    stopped_at: datetime | None = None  # the case moved on or closed before the step was done

    @property
    def open(self) -> bool:
        return self.met_at is None and self.lapsed_at is None and self.stopped_at is None
