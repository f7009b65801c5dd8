"""Every enquiry step rule, without Temporal."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from domain import enquiry_rules as rules
from domain.clocks import ClockKey
from domain.enquiry import ENQUIRY_STEP_MODELS, Enquirer, EnquiryState, EnquiryStep
from domain.enquiry_rules import EnquiryCase
from domain.people import StaffMember
from domain.rules import StepRefused
from tests.domain.rule_cases import WEST_KENT, london, planned_clock, with_numbers

WED = london(2027, 3, 3)  # a letter's 5 working days end Wed 10 Mar 2027
FULL = Enquirer(
    name="Ann Example",
    email="ann@example.org",
    phone="07700 900123",
    address={"lines": ["1 High Street"], "postcode": "TN13 1AA"},
)
PHONE_ONLY = Enquirer(name="Ann Example", phone="07700 900123")
SOCIAL_ONLY = Enquirer(name="Ann Example", social_handle="@ann")


def open_enquiry(enquirer: Enquirer = FULL, state: EnquiryState = EnquiryState.open) -> EnquiryCase:
    key = rules.CURRENT_CLOCK.get(state, ClockKey.enquiry_reply)
    return EnquiryCase(
        state=state, enquirer=enquirer, clocks={key: planned_clock(WEST_KENT, key, WED, 5)}
    )


def step(name: str, **payload: Any) -> Any:
    return ENQUIRY_STEP_MODELS[EnquiryStep(name)].model_validate({"by": "jo.officer", **payload})


def refusal(case: EnquiryCase, name: str, when=WED, policy=WEST_KENT, **payload: Any) -> str:
    with pytest.raises(StepRefused) as info:
        rules.check(case, EnquiryStep(name), step(name, **payload), when, policy)
    return info.value.reason


def passes(case: EnquiryCase, name: str, when=WED, policy=WEST_KENT, **payload: Any) -> None:
    rules.check(case, EnquiryStep(name), step(name, **payload), when, policy)


def test_a_closed_enquiry_takes_nothing():
    closed = open_enquiry(state=EnquiryState.closed)
    reason = refusal(closed, "close", reason="Duplicate")
    assert reason == (
        "'close' is not possible while the enquiry is closed. Steps possible now: none: it is "
        "closed."
    )


def test_a_reply_goes_only_a_way_that_reaches_the_resident():
    passes(open_enquiry(), "reply", message="Here it is", via="letter")
    phone = open_enquiry(PHONE_ONLY)
    assert "no email address" in refusal(phone, "reply", message="x", via="email")
    assert "no postal address" in refusal(phone, "reply", message="x", via="letter")
    passes(phone, "reply", message="x", via="phone")
    social = open_enquiry(SOCIAL_ONLY)
    assert "no phone number" in refusal(social, "reply", message="x", via="phone")
    passes(social, "reply", message="x", via="social_media")


def test_a_holding_reply_before_the_deadline_with_a_later_estimate_within_the_horizon():
    case = open_enquiry()
    passes(case, "holding_reply", estimated_date=date(2027, 3, 17), reasons="Survey")
    due = case.clocks[ClockKey.enquiry_reply].due
    late = refusal(case, "holding_reply", when=due, estimated_date=date(2027, 3, 17), reasons="x")
    assert "Wed 10 Mar 2027 and that has passed" in late
    same = refusal(case, "holding_reply", estimated_date=date(2027, 3, 10), reasons="x")
    assert "must be after the current due date (Wed 10 Mar 2027)" in same
    far = refusal(case, "holding_reply", estimated_date=date(2027, 7, 1), reasons="x")
    assert "within the next 92 days" in far


def test_the_holding_reply_horizon_comes_from_the_policy():
    ten = with_numbers(WEST_KENT, "enquiries", holding_reply_horizon_days=10)
    reason = refusal(
        open_enquiry(), "holding_reply", policy=ten, estimated_date=date(2027, 3, 17), reasons="x"
    )
    assert "within the next 10 days" in reason


def test_a_holding_reply_needs_a_running_clock():
    waiting = EnquiryCase(state=EnquiryState.awaiting_resident, enquirer=FULL)
    assert "not possible" in refusal(
        waiting, "holding_reply", estimated_date=date(2027, 3, 17), reasons="x"
    )
    service = EnquiryCase(state=EnquiryState.service_request, enquirer=FULL)
    assert "no reply due" in refusal(
        service, "holding_reply", estimated_date=date(2027, 3, 17), reasons="x"
    )


def test_planned_estimates_and_targets_must_still_be_ahead():
    clock = open_enquiry().clocks[ClockKey.enquiry_reply]
    with pytest.raises(StepRefused, match="not a working day"):
        rules.check_planned_estimate(clock, date(2027, 3, 14), date(2027, 3, 10))
    rules.check_planned_estimate(clock, date(2027, 3, 11), date(2027, 3, 11))
    evening = london(2027, 3, 3, 18)
    with pytest.raises(StepRefused, match="which has passed"):
        rules.check_planned_target(date(2027, 3, 3), london(2027, 3, 3, 17, 15), evening)
    rules.check_planned_target(date(2027, 3, 4), london(2027, 3, 4, 17, 15), evening)


def test_pass_to_team_and_update_preference_check_the_way_back():
    passes(open_enquiry(), "pass_to_team", team="Repairs", next_steps="A visit")
    phone = open_enquiry(PHONE_ONLY)
    assert "no email address" in refusal(phone, "record_update_preference", method="email")
    passes(phone, "record_update_preference", method="phone")


def test_a_service_request_target_is_not_in_the_past():
    reason = refusal(
        open_enquiry(), "record_service_request", description="x", target_date=date(2027, 3, 2)
    )
    assert reason == "The target date is in the past: give the date we aim to finish by."
    passes(open_enquiry(), "record_service_request", description="x", target_date=date(2027, 3, 3))


def test_a_complaint_from_an_enquiry_needs_a_way_to_write():
    phone = open_enquiry(PHONE_ONLY)
    assert "needs an email or postal address" in refusal(phone, "convert")
    contact = {"name": "Ann Example", "email": "ann@example.org"}
    passes(phone, "convert", contact=contact)
    request = open_enquiry(PHONE_ONLY, EnquiryState.service_request)
    assert "needs an email or postal address" in refusal(
        request, "raise_complaint", dissatisfaction="Slow"
    )
    passes(request, "raise_complaint", dissatisfaction="Slow", contact=contact)


def test_assign_and_close_while_open():
    owner = {"id": "jo.officer", "name": "Jo Officer", "email": "jo@wkha.example"}
    passes(open_enquiry(), "assign", owner=owner)
    passes(open_enquiry(), "close", reason="Duplicate", when=WED + timedelta(days=30))


def test_every_step_has_a_rule():
    assert set(rules.RULES) == set(EnquiryStep)


def test_taking_an_enquiry_needs_it_still_unowned():
    sam = {"id": "sam.reviewer", "name": "Sam Reviewer", "email": "s@x.example"}
    jo = {"id": "jo.officer", "name": "Jo Officer", "email": "jo@wkha.example"}
    owner = StaffMember.model_validate(sam)
    owned = EnquiryCase(state=EnquiryState.open, enquirer=FULL, owner=owner)
    assert "has already taken" in refusal(owned, "assign", owner=jo, only_if_unowned=True)
    passes(open_enquiry(), "assign", owner=jo, only_if_unowned=True)
