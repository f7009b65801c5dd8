"""Every complaint step rule, without Temporal: each passes what the policy allows and refuses,
in plain English, what it does not."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import pytest

from domain import complaint_rules as rules
from domain.clocks import ClockKey
from domain.complaint import (
    STEP_MODELS,
    ClosureReason,
    Stage,
    Status,
    Step,
)
from domain.complaint_rules import ComplaintState
from domain.people import StaffMember
from domain.policy import legacy_policy
from domain.roles import ROLE_STEPS
from domain.rules import StepRefused
from tests.domain.rule_cases import OMBUDSMAN_CODE, WEST_KENT, london, planned_clock, with_numbers

MONDAY = london(2027, 3, 1)  # response due Mon 15 Mar 2027 if acknowledged that day
JO = {"id": "jo.officer", "name": "Jo Officer", "email": "jo@wkha.example"}
SAM = {"id": "sam.reviewer", "name": "Sam Reviewer", "email": "sam@wkha.example"}
POINTS = ("Repair missed", "Nobody called back")


def step(name: str, **payload: Any) -> Any:
    return STEP_MODELS[Step(name)].model_validate({"by": JO["id"], **payload})


def triage(**changes: Any) -> ComplaintState:
    return replace(
        ComplaintState(stage=Stage.triage, status=Status.awaiting_triage, received_at=MONDAY),
        **changes,
    )


def investigating(policy=WEST_KENT, stage: Stage = Stage.stage1, **changes: Any) -> ComplaintState:
    key = rules.RESPONSE_CLOCK[stage]
    days = policy.complaints.stage1_response if stage is Stage.stage1 else 20
    clocks = {key: planned_clock(policy, key, MONDAY, days)}
    return replace(
        ComplaintState(
            stage=stage,
            status=Status.investigating,
            received_at=MONDAY,
            clocks=clocks,
            stage1_participants=frozenset({JO["id"]}),
            points=POINTS,
        ),
        **changes,
    )


def answered(**changes: Any) -> ComplaintState:
    window = planned_clock(WEST_KENT, ClockKey.escalation_window, MONDAY, 20)
    return replace(
        ComplaintState(
            stage=Stage.stage1,
            status=Status.escalation_window,
            received_at=MONDAY,
            clocks={ClockKey.escalation_window: window},
            stage1_participants=frozenset({JO["id"]}),
        ),
        **changes,
    )


def refusal(case: ComplaintState, name: str, when=MONDAY, policy=WEST_KENT, **payload: Any) -> str:
    with pytest.raises(StepRefused) as info:
        rules.check(case, Step(name), step(name, **payload), when, policy)
    return info.value.reason


def passes(case: ComplaintState, name: str, when=MONDAY, policy=WEST_KENT, **payload: Any) -> None:
    rules.check(case, Step(name), step(name, **payload), when, policy)


# ----------------------------------------------------------------- the state machine


def test_a_step_out_of_order_names_the_steps_possible_now():
    reason = refusal(triage(), "acknowledge", points=["x"], outcome_sought="y")
    assert reason.startswith("'acknowledge' is not possible while the case is at triage")
    assert "Steps possible now: accept, assign, decline" in reason


def test_a_closed_case_takes_nothing():
    closed = triage(stage=Stage.closed, status=Status.closed, closure=ClosureReason.withdrawn)
    assert rules.allowed_steps(closed, MONDAY) == frozenset()
    assert "none: it is closed" in refusal(closed, "withdraw", reason="x")


def test_a_lapsed_case_takes_only_a_late_escalation_until_its_grace_ends():
    grace = MONDAY + timedelta(days=90)
    lapsed = answered(
        stage=Stage.closed,
        status=Status.closed,
        closure=ClosureReason.escalation_window_lapsed,
        grace_ends=grace,
    )
    # and, while it is kept, the Ombudsman may take it up
    assert rules.allowed_steps(lapsed, grace - timedelta(seconds=1)) == {
        Step.escalate,
        Step.refer_to_ombudsman,
    }
    assert rules.allowed_steps(lapsed, grace) == frozenset()


def test_stage_2_steps_are_for_people_not_involved_at_stage_1():
    stage2 = investigating(stage=Stage.stage2)
    reason = refusal(stage2, "record_contact", notes="Called the resident")
    assert "and jo.officer took part in stage 1" in reason
    # withdrawing is not taking part
    passes(stage2, "withdraw", reason="The resident withdrew")


# ----------------------------------------------------------------- triage


def test_accept_and_service_request_at_triage_only():
    passes(triage(), "accept")
    passes(triage(), "record_service_request", notes="A repair, first report")
    assert "not possible" in refusal(investigating(), "record_service_request", notes="x")


def test_decline_for_a_listed_reason():
    passes(triage(), "decline", reason="legal_proceedings", explanation="A claim is in court")


def test_over_12_months_needs_a_date_to_count_from():
    reason = refusal(triage(), "decline", reason="over_12_months", explanation="Old")
    assert "needs the incident date or the date the resident became aware" in reason


def test_the_12_month_limit_counts_from_awareness():
    case = triage(incident_date=date(2025, 1, 10), became_aware_date=date(2026, 6, 1))
    reason = refusal(case, "decline", reason="over_12_months", explanation="Old")
    assert "in time (the limit is 01 June 2027)" in reason
    late = triage(incident_date=date(2025, 1, 10), received_at=london(2026, 2, 1))
    passes(late, "decline", reason="over_12_months", explanation="Old", when=london(2026, 2, 1))


def test_the_time_limit_comes_from_the_policy():
    six_months = with_numbers(WEST_KENT, "complaints", time_limit_months=6)
    case = triage(incident_date=date(2026, 6, 1))  # received 1 Mar 2027: 9 months on
    refusal(case, "decline", reason="over_12_months", explanation="x")
    passes(case, "decline", policy=six_months, reason="over_12_months", explanation="x")


# ----------------------------------------------------------------- contact, assign, acknowledge


def test_contact_cannot_be_recorded_in_the_future():
    reason = refusal(triage(), "record_contact", notes="x", at=MONDAY + timedelta(hours=1))
    assert reason == "The contact time is in the future: give when the contact happened."
    passes(triage(), "record_contact", notes="x", at=MONDAY + timedelta(minutes=4))


def test_a_stage_2_owner_must_not_have_taken_part_in_stage_1():
    stage2 = investigating(stage=Stage.stage2)
    reason = refusal(stage2, "assign", by="mo.manager", owner=JO)
    assert "Jo Officer took part in stage 1" in reason and "Choose another reviewer" in reason
    passes(stage2, "assign", owner=SAM)
    passes(investigating(), "assign", owner=JO)  # at stage 1 anyone may own it


def test_acknowledge_when_awaiting_acknowledgement():
    case = triage(stage=Stage.stage1, status=Status.awaiting_acknowledgement)
    passes(case, "acknowledge", points=["x"], outcome_sought="y")


# ----------------------------------------------------------------- extensions

DISCUSSED = {"reasons": "Waiting for a survey", "discussed_with_resident": True}


def test_a_standard_extension_up_to_the_cap_in_all():
    passes(investigating(), "extend", working_days=10, **DISCUSSED)
    case = investigating()
    clock = case.clocks[ClockKey.s1_response].model_copy(update={"extended_by_working_days": 8})
    used = replace(case, clocks={ClockKey.s1_response: clock})
    reason = refusal(used, "extend", working_days=3, **DISCUSSED)
    assert reason.startswith("A standard extension can add at most 10 working days in all at")
    assert "2 remain" in reason
    passes(used, "extend", working_days=2, **DISCUSSED)


def test_the_cap_comes_from_the_policy():
    five = with_numbers(WEST_KENT, "complaints", stage1_extension_cap=5)
    reason = refusal(investigating(five), "extend", policy=five, working_days=6, **DISCUSSED)
    assert "at most 5 working days" in reason


def test_stage_2_cap_is_20():
    stage2 = investigating(stage=Stage.stage2, stage1_participants=frozenset())
    passes(stage2, "extend", working_days=20, **DISCUSSED)
    clock = stage2.clocks[ClockKey.s2_response].model_copy(update={"extended_by_working_days": 12})
    used = replace(stage2, clocks={ClockKey.s2_response: clock})
    assert "at most 20 working days in all at stage 2; 8 remain" in refusal(
        used, "extend", working_days=12, **DISCUSSED
    )


def test_an_extension_must_be_discussed_and_say_how_long():
    reason = refusal(investigating(), "extend", reasons="x", working_days=5)
    assert "discuss an extension with the resident first" in reason
    assert "how many working days" in refusal(investigating(), "extend", **DISCUSSED)


def test_no_extension_once_the_response_is_due():
    case = investigating()
    due = case.clocks[ClockKey.s1_response].due
    reason = refusal(case, "extend", when=due, working_days=1, **DISCUSSED)
    assert "Mon 15 Mar 2027 and that has passed" in reason


def test_an_exceptional_extension_after_the_standard_with_agreement_and_a_later_date():
    fresh = investigating()
    exceptional = {"reasons": "x", "exceptional": True, "resident_agreed": True}
    assert "Use the standard extension first" in refusal(
        fresh, "extend", agreed_date=date(2027, 4, 30), **exceptional
    )
    clock = fresh.clocks[ClockKey.s1_response].model_copy(update={"extended_by_working_days": 10})
    used = replace(fresh, clocks={ClockKey.s1_response: clock})
    no_date = refusal(used, "extend", reasons="x", exceptional=True)
    assert no_date.splitlines() == [
        "An exceptional extension needs the resident's agreement: tick that the resident "
        "agreed to the new date.",
        "An exceptional extension needs the date agreed with the resident: give it.",
    ], "both problems at once"
    assert "must be after the current due date (Mon 15 Mar 2027)" in refusal(
        used, "extend", agreed_date=date(2027, 3, 15), **exceptional
    )
    passes(used, "extend", agreed_date=date(2027, 4, 30), **exceptional)


def test_an_agreed_date_that_falls_back_onto_the_due_date_is_refused():
    clock = investigating().clocks[ClockKey.s1_response]  # due Mon 15 Mar
    with pytest.raises(StepRefused, match="not a working day"):
        rules.check_planned_extension(clock, date(2027, 3, 14), date(2027, 3, 12))
    rules.check_planned_extension(clock, date(2027, 3, 16), date(2027, 3, 16))


# ----------------------------------------------------------------- respond, escalate, the rest


def test_a_response_decides_every_point():
    one = [{"point": POINTS[0], "decision": "upheld", "reasons": "x", "root_cause": "delay"}]
    case = investigating(category="repairs")
    reason = refusal(case, "respond", decisions=one, summary="x")
    assert reason.endswith("every point of the complaint; missing: 'Nobody called back'.")
    both = [*one, {"point": POINTS[1], "decision": "not_upheld", "reasons": "x"}]
    passes(case, "respond", decisions=both, summary="x")


def test_a_response_refused_for_several_things_names_each_with_its_field():
    case = investigating()  # no category yet
    one = [{"point": POINTS[0], "decision": "upheld", "reasons": "x"}]
    past = {"action": "Fix it", "owner": "Repairs", "due": MONDAY.date() - timedelta(days=7)}
    with pytest.raises(StepRefused) as info:
        rules.check(
            case,
            Step.respond,
            step("respond", decisions=one, summary="x", remedies={"actions": [past]}),
            MONDAY,
            WEST_KENT,
        )
    fields = [r.field for r in info.value.reasons]
    assert fields == ["decisions", None, "decisions.0.root_cause", "remedies.actions.0.due"]
    texts = [r.text for r in info.value.reasons]
    assert "missing: 'Nobody called back'" in texts[0]
    assert "no category" in texts[1]
    assert "give its root cause" in texts[2]
    assert "which has passed" in texts[3]
    assert info.value.reason == "\n".join(texts)


def test_escalation_within_the_window_or_late_with_exceptional_circumstances():
    case = answered()
    window = case.clocks[ClockKey.escalation_window]
    passes(case, "escalate", reviewer=SAM)
    late = window.due + timedelta(days=1)
    reason = refusal(case, "escalate", when=late, reviewer=SAM)
    assert "after the 20 working days to escalate ended" in reason
    passes(case, "escalate", when=late, reviewer=SAM, exceptional_circumstances="In hospital")
    # asked in time, recorded late: no excuse needed
    passes(case, "escalate", when=late, requested_at=window.due - timedelta(hours=1))


def test_escalation_refuses_a_future_request_and_a_stage_1_reviewer():
    case = answered()
    future = refusal(case, "escalate", requested_at=MONDAY + timedelta(hours=1))
    assert "in the future" in future
    assert "Jo Officer took part in stage 1" in refusal(case, "escalate", reviewer=JO)


def test_new_issues_at_stage_2_only_and_withdrawal_while_open():
    stage2 = investigating(stage=Stage.stage2, stage1_participants=frozenset())
    passes(stage2, "raise_new_issues", points=["A new issue"])
    assert "not possible" in refusal(investigating(), "raise_new_issues", points=["x"])
    passes(investigating(), "withdraw", reason="Resolved informally")


def test_the_ombudsman_code_file_has_its_own_numbers():
    code = OMBUDSMAN_CODE.complaints
    assert (code.stage1_acknowledgement, code.stage1_response, code.stage1_extension_cap) == (
        5,
        10,
        10,
    )
    assert (code.stage2_response, code.stage2_extension_cap) == (20, 20)
    assert OMBUDSMAN_CODE.content_hash != WEST_KENT.content_hash


def test_every_step_has_a_rule():
    assert set(rules.RULES) == set(Step)


def test_taking_a_case_needs_it_still_unowned():
    owned = triage(owner=StaffMember(id="sam.reviewer", name="Sam Reviewer", email="s@x.example"))
    reason = refusal(owned, "assign", owner=JO, only_if_unowned=True)
    assert reason.startswith("Sam Reviewer has already taken this case")
    passes(triage(), "assign", owner=JO, only_if_unowned=True)
    passes(owned, "assign", by="mo.manager", owner=JO)  # a manager's assignment is not a take


def test_taking_a_case_is_for_yourself():
    reason = refusal(triage(), "assign", owner=SAM, only_if_unowned=True)  # by jo.officer
    assert reason.startswith("Taking a case is for yourself: jo.officer cannot take it for Sam")


# ----------------------------------------------------------------- what reports count


LEGACY = legacy_policy()
UPHELD_WITH_CAUSE = [
    {"point": POINTS[0], "decision": "upheld", "reasons": "x", "root_cause": "delay"},
    {"point": POINTS[1], "decision": "partly_upheld", "reasons": "x", "root_cause": "contractor"},
]


def test_accept_takes_a_category_from_the_cases_policy_only():
    passes(triage(), "accept", category="damp_and_mould", tenure="shared_ownership")
    reason = refusal(triage(), "accept", category="plumbing")
    assert reason.startswith("'plumbing' is not a category in this case's policy. Choose one of:")
    assert "damp_and_mould" in reason
    # a case lodged under a policy without categories takes none, and needs none
    passes(triage(), "accept", policy=LEGACY)
    assert "has no list of categories" in refusal(
        triage(), "accept", policy=LEGACY, category="repairs"
    )


def test_classify_from_acceptance_until_the_response_of_the_stage():
    accepted = investigating(status=Status.awaiting_acknowledgement)
    for case in (accepted, investigating(), investigating(stage=Stage.stage2)):
        passes(case, "classify", by="sam.reviewer", category="repairs")
    # at stage 2 the classification is the independent reviewer's
    reason = refusal(investigating(stage=Stage.stage2), "classify", property_reference="WK/0042/7")
    assert "and jo.officer took part in stage 1" in reason
    # classifying at stage 1 decides nothing: it is not taking part in stage 1
    assert Step.classify not in rules.PARTICIPATING_STEPS
    assert "'classify' is not possible while the case is at triage" in refusal(
        triage(), "classify", category="repairs"
    )
    assert "'classify' is not possible while the case is at stage1 (escalation window)" in refusal(
        answered(), "classify", category="repairs"
    )
    closed = triage(stage=Stage.closed, status=Status.closed, closure=ClosureReason.final_response)
    assert "none: it is closed" in refusal(closed, "classify", tenure="leaseholder")
    assert "not a category" in refusal(investigating(), "classify", category="Repairs")


def test_classify_needs_something_to_record():
    with pytest.raises(ValueError, match="give a category, a tenure or a property reference"):
        step("classify")


def test_a_response_needs_the_category_when_the_policy_has_categories():
    reason = refusal(investigating(), "respond", decisions=UPHELD_WITH_CAUSE, summary="x")
    assert reason.startswith("The complaint has no category")
    assert "Record the category (the 'classify' step) first" in reason
    passes(investigating(category="repairs"), "respond", decisions=UPHELD_WITH_CAUSE, summary="x")
    # a case lodged under a policy without categories answers without one
    no_causes = [{**d, "root_cause": None} for d in UPHELD_WITH_CAUSE]
    passes(investigating(policy=LEGACY), "respond", policy=LEGACY, decisions=no_causes, summary="x")


def test_each_upheld_point_needs_a_root_cause_from_the_policy():
    case = investigating(category="repairs")
    no_cause = [{**UPHELD_WITH_CAUSE[0]}, {**UPHELD_WITH_CAUSE[1], "root_cause": None}]
    reason = refusal(case, "respond", decisions=no_cause, summary="x")
    assert reason.startswith("Point 2 ('Nobody called back') is partly upheld: give its root cause")
    unknown = [UPHELD_WITH_CAUSE[0], {**UPHELD_WITH_CAUSE[1], "root_cause": "gremlins"}]
    reason = refusal(case, "respond", decisions=unknown, summary="x")
    assert reason.startswith("Point 2: 'gremlins' is not a root cause in this case's policy.")
    not_upheld = [UPHELD_WITH_CAUSE[0], {**UPHELD_WITH_CAUSE[1], "decision": "not_upheld"}]
    reason = refusal(case, "respond", decisions=not_upheld, summary="x")
    assert "is not upheld, so it has no root cause" in reason
    not_upheld[1] = {**not_upheld[1], "root_cause": None}
    passes(case, "respond", decisions=not_upheld, summary="x")


def test_every_role_that_accepts_may_classify():
    for role, steps in ROLE_STEPS.items():
        assert (Step.accept in steps) == (Step.classify in steps), role
