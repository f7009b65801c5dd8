"""The customer service standards' rules for each step on an enquiry, one named function a step.

As domain/complaint_rules.py: each takes the enquiry as it stands, the step, the current time and
the policy it was lodged under, and returns or raises `StepRefused` with a plain-English reason;
the Update validator calls it and the handler calls it again under the enquiry's lock.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from domain.clocks import Clock, ClockKey
from domain.complaint import StaffStep
from domain.enquiry import (
    ALLOWED_ENQUIRY_STEPS,
    PREFERENCE_VIA,
    AssignEnquiry,
    CloseEnquiry,
    Convert,
    Enquirer,
    EnquiryState,
    EnquiryStep,
    HoldingReply,
    PassToTeam,
    RaiseComplaint,
    RecordEnquiryServiceRequest,
    RecordUpdatePreference,
    Reply,
    ReplyVia,
    reachable,
)
from domain.people import Resident, StaffMember
from domain.policy import Policy
from domain.rules import StepRefused, check_take, day_text

# The clock the resident is owed a reply on, in each state.
CURRENT_CLOCK = {
    EnquiryState.open: ClockKey.enquiry_reply,
    EnquiryState.with_team: ClockKey.team_reply,
    EnquiryState.service_request: ClockKey.service_request_target,
}


@dataclass(frozen=True)
class EnquiryCase:
    """What the rules need to know of an enquiry."""

    state: EnquiryState
    enquirer: Enquirer
    clocks: Mapping[ClockKey, Clock] = field(default_factory=dict)
    owner: StaffMember | None = None

    def current_clock(self) -> Clock | None:
        key = CURRENT_CLOCK.get(self.state)
        return self.clocks.get(key) if key else None


def step_allowed_now(case: EnquiryCase, name: EnquiryStep) -> None:
    allowed = ALLOWED_ENQUIRY_STEPS[case.state]
    if name not in allowed:
        possible = ", ".join(sorted(s.value for s in allowed)) or "none: it is closed"
        raise StepRefused(
            f"'{name.value}' is not possible while the enquiry is "
            f"{case.state.value.replace('_', ' ')}. Steps possible now: {possible}."
        )


def check_reachable(enquirer: Enquirer, via: ReplyVia | None) -> None:
    """A reply can go only a way that reaches the resident."""
    if via is None or via in reachable(enquirer):
        return
    raise StepRefused(
        {
            ReplyVia.email: "There is no email address on this enquiry: reply by letter, phone or "
            "social media, or ask the resident for an email address.",
            ReplyVia.letter: "There is no postal address on this enquiry: reply by email, phone "
            "or social media, or ask the resident for an address.",
            ReplyVia.phone: "There is no phone number on this enquiry: choose another way.",
        }.get(via, f"A reply by {via.value} cannot reach this resident: choose another way.")
    )


def complainant(enquirer: Enquirer, contact: Resident | None) -> Resident:
    """Who a complaint raised from the enquiry is from: it needs an email or postal address."""
    if contact:
        return contact
    try:
        return enquirer.as_resident()
    except ValueError as err:
        raise StepRefused(
            "A complaint needs an email or postal address for its letters and this enquiry has "
            "neither: give the resident's contact details."
        ) from err


# --------------------------------------------------------------------------- one rule a step


def check_assign(case: EnquiryCase, step: AssignEnquiry, now: datetime, policy: Policy) -> None:
    step_allowed_now(case, EnquiryStep.assign)
    check_take(case.owner, step.by, step.owner, step.only_if_unowned)


def check_reply(case: EnquiryCase, step: Reply, now: datetime, policy: Policy) -> None:
    step_allowed_now(case, EnquiryStep.reply)
    check_reachable(case.enquirer, step.via)


def check_holding_reply(
    case: EnquiryCase, step: HoldingReply, now: datetime, policy: Policy
) -> None:
    """Before the reply is due, with reasons and an estimate later than the current due date
    and within the policy's horizon."""
    step_allowed_now(case, EnquiryStep.holding_reply)
    check_reachable(case.enquirer, step.via)
    clock = case.current_clock()
    if clock is None or not clock.open:
        raise StepRefused("There is no reply due on this enquiry to send a holding reply for.")
    if now >= clock.due:
        raise StepRefused(
            f"The reply was due by the end of {day_text(clock.due_day)} and that has passed: a "
            "holding reply must go before the deadline. Reply now."
        )
    if step.estimated_date <= clock.due_day:
        raise StepRefused(
            f"The estimated date must be after the current due date ({day_text(clock.due_day)})."
        )
    horizon = policy.enquiries.holding_reply_horizon_days
    if step.estimated_date > (now + timedelta(days=horizon)).date():
        raise StepRefused(
            f"Give an estimated date within the next {horizon} days; if it will take longer, pass "
            "the enquiry to the team that will fix it, or record a service request."
        )


def check_planned_estimate(clock: Clock, estimated_date: date, planned_due_day: date) -> None:
    """An estimate that is not a working day falls back to the working day before it, which must
    still be after the current due date."""
    if planned_due_day <= clock.due_day:
        raise StepRefused(
            f"{estimated_date:%d %B %Y} is not a working day, and the last working day before it "
            f"({day_text(planned_due_day)}) is not after the current due date. Give a later "
            "estimate."
        )


def check_pass_to_team(case: EnquiryCase, step: PassToTeam, now: datetime, policy: Policy) -> None:
    step_allowed_now(case, EnquiryStep.pass_to_team)
    check_reachable(case.enquirer, step.via)


def check_record_update_preference(
    case: EnquiryCase, step: RecordUpdatePreference, now: datetime, policy: Policy
) -> None:
    step_allowed_now(case, EnquiryStep.record_update_preference)
    check_reachable(case.enquirer, PREFERENCE_VIA[step.method])


def check_record_service_request(
    case: EnquiryCase, step: RecordEnquiryServiceRequest, now: datetime, policy: Policy
) -> None:
    step_allowed_now(case, EnquiryStep.record_service_request)
    check_reachable(case.enquirer, step.via)
    if step.target_date < now.date():
        raise StepRefused("The target date is in the past: give the date we aim to finish by.")


def check_planned_target(target_date: date, planned_due: datetime, now: datetime) -> None:
    """A target falls due at close of business on the last working day on or before it, which
    must still be ahead of us."""
    if planned_due <= now:
        raise StepRefused(
            f"A target of {target_date:%d %B %Y} would be due by close of business on "
            f"{day_text(planned_due.date())}, which has passed: give a later target date."
        )


def check_raise_complaint(
    case: EnquiryCase, step: RaiseComplaint, now: datetime, policy: Policy
) -> None:
    step_allowed_now(case, EnquiryStep.raise_complaint)
    complainant(case.enquirer, step.contact)


def check_convert(case: EnquiryCase, step: Convert, now: datetime, policy: Policy) -> None:
    step_allowed_now(case, EnquiryStep.convert)
    complainant(case.enquirer, step.contact)


def check_close(case: EnquiryCase, step: CloseEnquiry, now: datetime, policy: Policy) -> None:
    step_allowed_now(case, EnquiryStep.close)


Rule = Callable[[EnquiryCase, Any, datetime, Policy], None]
RULES: dict[EnquiryStep, Rule] = {
    EnquiryStep.assign: check_assign,
    EnquiryStep.reply: check_reply,
    EnquiryStep.holding_reply: check_holding_reply,
    EnquiryStep.pass_to_team: check_pass_to_team,
    EnquiryStep.record_update_preference: check_record_update_preference,
    EnquiryStep.record_service_request: check_record_service_request,
    EnquiryStep.raise_complaint: check_raise_complaint,
    EnquiryStep.convert: check_convert,
    EnquiryStep.close: check_close,
}


def check(
    case: EnquiryCase, name: EnquiryStep, step: StaffStep, now: datetime, policy: Policy
) -> None:
    """The rule for `name`: returns if the step may happen now, else raises StepRefused."""
    RULES[name](case, step, now, policy)
