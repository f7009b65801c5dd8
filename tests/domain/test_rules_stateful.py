"""Thousands of random sequences of steps, times, staff and policies through the pure step rules
of both kinds of case (Hypothesis stateful testing). A step the rule lets through is applied the
way the workflow applies it (its clocks planned by the deadlines activity's own code); after every
action the invariants must hold:

- no extension cap is exceeded;
- every open clock is due after it started;
- a stage 2 reviewer never took part in stage 1;
- a closed case accepts nothing but a late escalation within its grace;
- every refusal has a plain-English reason.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from domain import complaint_rules, enquiry_rules
from domain.clocks import Clock, ClockKey, extension_cap, working_days
from domain.complaint import STEP_MODELS, ClosureReason, Stage, Status, Step, Tenure
from domain.complaint_rules import RESPONSE_CLOCK, ComplaintState
from domain.enquiry import ENQUIRY_STEP_MODELS, Enquirer, EnquiryState, EnquiryStep
from domain.enquiry_rules import CURRENT_CLOCK, EnquiryCase
from domain.policy import Policy, legacy_policy
from domain.rules import StepRefused
from tests.domain.rule_cases import (
    OMBUDSMAN_CODE,
    WEST_KENT,
    london,
    planned_clock,
    with_numbers,
)

STAFF = ("jo.officer", "sam.reviewer", "ali.advisor", "kim.clerk")
POINTS = ("Repair missed", "Nobody called back")
POLICIES = st.sampled_from(
    [
        WEST_KENT,
        OMBUDSMAN_CODE,
        with_numbers(WEST_KENT, "complaints", stage1_extension_cap=3, stage2_extension_cap=0),
        with_numbers(WEST_KENT, "complaints", escalation_window=2, late_escalation_grace_days=0),
        with_numbers(WEST_KENT, "enquiries", holding_reply_horizon_days=10, team_update=1),
        legacy_policy(),  # no categories or root causes: none needed
    ]
)
CATEGORIES = st.none() | st.sampled_from(["repairs", "damp_and_mould", "plumbing"])
START = london(2026, 12, 14, 9)  # into Christmas and the new year: bank holidays on the way
VIAS = ["email", "letter", "phone", "social_media"]
DECLINE_REASONS = ["legal_proceedings", "over_12_months"]
HOURS = st.integers(min_value=1, max_value=24 * 12)
SETTINGS = settings(
    max_examples=1200,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def plain_english(reason: str) -> None:
    assert reason and reason == reason.strip(), "a refusal needs a reason"
    assert reason[0].isupper() or reason[0] in "'0123456789", reason
    assert reason.endswith("."), reason
    for internal in ("None", "Traceback", "Error", "{", "<", "_at ", "working_days "):
        assert internal not in reason, f"{internal!r} in {reason!r}"


class ComplaintCases(RuleBasedStateMachine):
    """One complaint under a random policy. The model applies a permitted step exactly as
    ComplaintWorkflow's handler does to the facts the rules read."""

    def __init__(self) -> None:
        super().__init__()
        self.policy: Policy = WEST_KENT
        self.now = START
        self.case = ComplaintState(
            stage=Stage.triage, status=Status.awaiting_triage, received_at=START
        )
        self.started: dict[ClockKey, datetime] = {}
        self.refusals = 0

    @initialize(policy=POLICIES)
    def lodged_under(self, policy: Policy) -> None:
        self.policy = policy
        self._set(ClockKey.s1_contact, START)
        self._set(ClockKey.s1_acknowledgement, START)

    # ------------------------------------------------------------ the model of the workflow

    def _set(self, key: ClockKey, after: datetime) -> Clock:
        clock = planned_clock(self.policy, key, after, working_days(self.policy, key))
        self.started[key] = after
        self.case = replace(self.case, clocks={**self.case.clocks, key: clock})
        return clock

    def _clock(self, key: ClockKey, **changes: Any) -> None:
        clock = self.case.clocks[key].model_copy(update=changes)
        self.case = replace(self.case, clocks={**self.case.clocks, key: clock})

    def _stop_all(self) -> None:
        for key, clock in self.case.clocks.items():
            if clock.open:
                self._clock(key, stopped_at=self.now)

    def _close(self, reason: ClosureReason, grace_ends: datetime | None = None) -> None:
        self._stop_all()
        self.case = replace(
            self.case,
            stage=Stage.closed,
            status=Status.closed,
            closure=reason,
            grace_ends=grace_ends,
        )

    def _participate(self, staff_id: str) -> None:
        if self.case.stage in (Stage.triage, Stage.stage1):
            self.case = replace(
                self.case, stage1_participants=self.case.stage1_participants | {staff_id}
            )

    def _try(self, name: Step, payload: dict[str, Any]) -> Any:
        step = STEP_MODELS[name].model_validate(payload)
        try:
            complaint_rules.check(self.case, name, step, self.now, self.policy)
        except StepRefused as refused:
            self.refusals += 1
            plain_english(refused.reason)
            return None
        if name in complaint_rules.PARTICIPATING_STEPS:
            self._participate(step.by)
        return step

    # ------------------------------------------------------------------------ the steps

    @rule(hours=HOURS)
    def time_passes(self, hours: int) -> None:
        self.now += timedelta(hours=hours)
        window = self.case.clocks.get(ClockKey.escalation_window)
        if self.case.grace_ends and self.now >= self.case.grace_ends:
            self.case = replace(self.case, grace_ends=None)
        if window and window.open and self.now >= window.due:
            self._clock(ClockKey.escalation_window, lapsed_at=self.now)
            grace = self.policy.complaints.late_escalation_grace_days
            self._close(
                ClosureReason.escalation_window_lapsed,
                self.now + timedelta(days=grace) if grace else None,
            )

    @rule(by=st.sampled_from(STAFF), category=CATEGORIES)
    def accept(self, by: str, category: str | None) -> None:
        if self._try(Step.accept, {"by": by, "category": category}):
            self._known_category(category)
            self.case = replace(
                self.case,
                stage=Stage.stage1,
                status=Status.awaiting_acknowledgement,
                category=category or self.case.category,
            )

    @rule(by=st.sampled_from(STAFF), category=CATEGORIES, tenure=st.sampled_from(list(Tenure)))
    def classify(self, by: str, category: str | None, tenure: Tenure) -> None:
        if self._try(Step.classify, {"by": by, "category": category, "tenure": tenure}):
            assert self.case.status is not Status.escalation_window
            assert self.case.stage in (Stage.stage1, Stage.stage2)
            self._known_category(category)
            self.case = replace(self.case, category=category or self.case.category, tenure=tenure)

    def _known_category(self, category: str | None) -> None:
        if category is not None:
            assert category in (self.policy.categories or {}), category

    @rule(
        by=st.sampled_from(STAFF), reason=st.sampled_from(["legal_proceedings", "over_12_months"])
    )
    def decline(self, by: str, reason: str) -> None:
        if self._try(Step.decline, {"by": by, "reason": reason, "explanation": "As discussed"}):
            self._close(ClosureReason.declined)

    @rule(by=st.sampled_from(STAFF), owner=st.sampled_from(STAFF))
    def assign(self, by: str, owner: str) -> None:
        member = {"id": owner, "name": owner.title(), "email": f"{owner}@wkha.example"}
        if self._try(Step.assign, {"by": by, "owner": member}):
            self._participate(owner)

    @rule(by=st.sampled_from(STAFF))
    def record_contact(self, by: str) -> None:
        if self._try(Step.record_contact, {"by": by, "notes": "Called"}):
            key = ClockKey.s2_contact if self.case.stage is Stage.stage2 else ClockKey.s1_contact
            if key in self.case.clocks and self.case.clocks[key].open:
                self._clock(key, met_at=self.now)

    @rule(by=st.sampled_from(STAFF))
    def acknowledge(self, by: str) -> None:
        if self._try(Step.acknowledge, {"by": by, "points": list(POINTS), "outcome_sought": "x"}):
            stage1 = self.case.stage is Stage.stage1
            ack = ClockKey.s1_acknowledgement if stage1 else ClockKey.s2_acknowledgement
            self._clock(ack, met_at=self.now)
            self._set(RESPONSE_CLOCK[self.case.stage], self.now)
            self.case = replace(self.case, status=Status.investigating, points=POINTS)

    @rule(
        by=st.sampled_from(STAFF),
        days=st.integers(min_value=1, max_value=20),
        discussed=st.booleans(),
        exceptional=st.booleans(),
        agreed_in=st.integers(min_value=-5, max_value=60),
    )
    def extend(
        self, by: str, days: int, discussed: bool, exceptional: bool, agreed_in: int
    ) -> None:
        key = RESPONSE_CLOCK.get(self.case.stage)
        clock = self.case.clocks.get(key) if key else None
        agreed = (clock.due_day if clock else self.now.date()) + timedelta(days=agreed_in)
        payload = {
            "by": by,
            "reasons": "Waiting for a survey",
            "working_days": days,
            "discussed_with_resident": discussed,
            "exceptional": exceptional,
            "resident_agreed": exceptional,
            "agreed_date": agreed if exceptional else None,
        }
        step = self._try(Step.extend, payload)
        if not step:
            return
        assert clock is not None and key is not None
        if exceptional:
            moved = planned_clock(self.policy, key, on=agreed)
            try:
                complaint_rules.check_planned_extension(clock, agreed, moved.due_day)
            except StepRefused as refused:
                plain_english(refused.reason)
                return
            self._clock(key, due=moved.due, due_day=moved.due_day, exceptional_extension=True)
        else:
            moved = planned_clock(self.policy, key, clock.due, days)
            self._clock(
                key,
                due=moved.due,
                due_day=moved.due_day,
                extended_by_working_days=clock.extended_by_working_days + days,
            )

    @rule(by=st.sampled_from(STAFF), every_point=st.booleans(), cause=st.booleans())
    def respond(self, by: str, every_point: bool, cause: bool) -> None:
        points = POINTS if every_point else POINTS[:1]
        root_cause = "delay" if cause else None
        decisions = [
            {"point": p, "decision": "upheld", "reasons": "x", "root_cause": root_cause}
            for p in points
        ]
        if not self._try(Step.respond, {"by": by, "decisions": decisions, "summary": "x"}):
            return
        # what reports count: a category under a policy that has them, a cause for each upheld
        assert self.case.category or not self.policy.categories
        assert cause or not self.policy.root_causes
        self._clock(RESPONSE_CLOCK[self.case.stage], met_at=self.now)
        if self.case.stage is Stage.stage2:
            self._close(ClosureReason.final_response)
            return
        self._stop_all()
        self._set(ClockKey.escalation_window, self.now)
        self.case = replace(self.case, status=Status.escalation_window)

    @rule(
        by=st.sampled_from(STAFF),
        reviewer=st.none() | st.sampled_from(STAFF),
        excuse=st.booleans(),
    )
    def escalate(self, by: str, reviewer: str | None, excuse: bool) -> None:
        member = (
            {"id": reviewer, "name": reviewer.title(), "email": f"{reviewer}@wkha.example"}
            if reviewer
            else None
        )
        payload = {
            "by": by,
            "reviewer": member,
            "exceptional_circumstances": "Ill" if excuse else None,
        }
        if not self._try(Step.escalate, payload):
            return
        window = self.case.clocks[ClockKey.escalation_window]
        if window.open:
            self._clock(ClockKey.escalation_window, met_at=self.now)
        self.case = replace(
            self.case,
            stage=Stage.stage2,
            status=Status.awaiting_acknowledgement,
            closure=None,
            grace_ends=None,
        )
        self.owner = reviewer
        self._set(ClockKey.s2_contact, self.now)
        self._set(ClockKey.s2_acknowledgement, self.now)

    @rule(by=st.sampled_from(STAFF))
    def withdraw(self, by: str) -> None:
        if self._try(Step.withdraw, {"by": by, "reason": "Sorted"}):
            self._close(ClosureReason.withdrawn)

    # ------------------------------------------------------------------------ invariants

    @invariant()
    def no_extension_cap_is_exceeded(self) -> None:
        for key in (ClockKey.s1_response, ClockKey.s2_response):
            clock = self.case.clocks.get(key)
            if clock:
                assert clock.extended_by_working_days <= extension_cap(self.policy, key)

    @invariant()
    def every_open_clock_is_due_after_it_started(self) -> None:
        for key, clock in self.case.clocks.items():
            if clock.open:
                assert clock.due > self.started[key], f"{key} due {clock.due}"

    @invariant()
    def a_stage_2_reviewer_never_took_part_in_stage_1(self) -> None:
        if self.case.stage is Stage.stage2 and getattr(self, "owner", None):
            assert self.owner not in self.case.stage1_participants

    @invariant()
    def a_closed_case_accepts_nothing_but_a_late_escalation_within_its_grace(self) -> None:
        if self.case.stage is not Stage.closed:
            return
        allowed = complaint_rules.allowed_steps(self.case, self.now)
        within_grace = (
            self.case.closure is ClosureReason.escalation_window_lapsed
            and self.case.grace_ends is not None
            and self.now < self.case.grace_ends
        )
        assert allowed == ({Step.escalate} if within_grace else set())


class EnquiryCases(RuleBasedStateMachine):
    """One enquiry, on a random channel and policy, with random ways to reach the resident."""

    def __init__(self) -> None:
        super().__init__()
        self.policy: Policy = WEST_KENT
        self.now = START
        self.case: EnquiryCase | None = None
        self.started: dict[ClockKey, datetime] = {}

    @initialize(
        policy=POLICIES,
        channel=st.sampled_from(sorted(WEST_KENT.enquiries.reply_working_days)),
        email=st.booleans(),
        address=st.booleans(),
    )
    def lodged(self, policy: Policy, channel: str, email: bool, address: bool) -> None:
        self.policy = policy
        enquirer = Enquirer(
            name="Ann Example",
            email="ann@example.org" if email else None,
            phone=None if email or address else "07700 900123",
            address={"lines": ["1 High St"], "postcode": "TN13 1AA"} if address else None,
        )
        days = policy.enquiries.reply_working_days[channel]
        clock = planned_clock(policy, ClockKey.enquiry_reply, START, days)
        self.started[ClockKey.enquiry_reply] = START
        self.case = EnquiryCase(
            state=EnquiryState.open, enquirer=enquirer, clocks={ClockKey.enquiry_reply: clock}
        )

    def _try(self, name: EnquiryStep, payload: dict[str, Any]) -> Any:
        assert self.case is not None
        step = ENQUIRY_STEP_MODELS[name].model_validate({"by": "jo.officer", **payload})
        try:
            enquiry_rules.check(self.case, name, step, self.now, self.policy)
        except StepRefused as refused:
            plain_english(refused.reason)
            return None
        return step

    def _clocks(self, key: ClockKey, clock: Clock) -> None:
        assert self.case is not None
        self.case = replace(self.case, clocks={**self.case.clocks, key: clock})

    def _meet_current(self) -> None:
        assert self.case is not None
        clock = self.case.current_clock()
        if clock and clock.open:
            self._clocks(clock.key, clock.model_copy(update={"met_at": self.now}))

    @rule(hours=HOURS)
    def time_passes(self, hours: int) -> None:
        self.now += timedelta(hours=hours)

    @rule(
        via=st.none() | st.sampled_from(["email", "letter", "phone", "social_media"]),
        closes=st.booleans(),
    )
    def reply(self, via: str | None, closes: bool) -> None:
        if not self._try(
            EnquiryStep.reply, {"message": "Here you are", "via": via, "closes": closes}
        ):
            return
        assert self.case is not None
        state = self.case.state
        self._meet_current()
        if closes:
            self.case = replace(self.case, state=EnquiryState.closed)
        elif state is EnquiryState.with_team:
            self._team_clock()
        elif state is EnquiryState.open:
            self.case = replace(self.case, state=EnquiryState.awaiting_resident)

    def _team_clock(self) -> None:
        key = ClockKey.team_reply
        self.started[key] = self.now
        self._clocks(key, planned_clock(self.policy, key, self.now, working_days(self.policy, key)))

    @rule(in_days=st.integers(min_value=-3, max_value=40))
    def holding_reply(self, in_days: int) -> None:
        estimate = self.now.date() + timedelta(days=in_days)
        step = self._try(EnquiryStep.holding_reply, {"estimated_date": estimate, "reasons": "Busy"})
        if not step:
            return
        assert self.case is not None
        clock = self.case.current_clock()
        assert clock is not None
        moved = planned_clock(self.policy, clock.key, on=estimate)
        try:
            enquiry_rules.check_planned_estimate(clock, estimate, moved.due_day)
        except StepRefused as refused:
            plain_english(refused.reason)
            return
        self._clocks(
            clock.key, clock.model_copy(update={"due": moved.due, "due_day": moved.due_day})
        )

    @rule()
    def pass_to_team(self) -> None:
        if self._try(EnquiryStep.pass_to_team, {"team": "Repairs", "next_steps": "A visit"}):
            self._meet_current()
            self._team_clock()
            assert self.case is not None
            self.case = replace(self.case, state=EnquiryState.with_team)

    @rule(in_days=st.integers(min_value=-3, max_value=40))
    def record_service_request(self, in_days: int) -> None:
        target = self.now.date() + timedelta(days=in_days)
        payload = {"description": "Fix the gate", "target_date": target}
        if self._try(EnquiryStep.record_service_request, payload):
            key = ClockKey.service_request_target
            planned = planned_clock(self.policy, key, on=target)
            try:
                enquiry_rules.check_planned_target(target, planned.due, self.now)
            except StepRefused as refused:
                plain_english(refused.reason)
                return
            self._meet_current()
            self.started[key] = self.now
            self._clocks(key, planned)
            assert self.case is not None
            self.case = replace(self.case, state=EnquiryState.service_request)

    @rule()
    def convert(self) -> None:
        if self._try(EnquiryStep.convert, {"points": ["x"]}):
            assert self.case is not None
            self.case = replace(self.case, state=EnquiryState.closed)

    @rule()
    def close(self) -> None:
        if self._try(EnquiryStep.close, {"reason": "Duplicate"}):
            assert self.case is not None
            self.case = replace(self.case, state=EnquiryState.closed)

    @invariant()
    def a_closed_enquiry_accepts_nothing(self) -> None:
        if self.case and self.case.state is EnquiryState.closed:
            for name in EnquiryStep:
                try:
                    enquiry_rules.step_allowed_now(self.case, name)
                except StepRefused as refused:
                    plain_english(refused.reason)
                else:
                    raise AssertionError(f"a closed enquiry accepted {name}")

    @invariant()
    def the_current_clock_is_due_after_it_started(self) -> None:
        if self.case is None:
            return
        key = CURRENT_CLOCK.get(self.case.state)
        clock = self.case.clocks.get(key) if key else None
        if clock and clock.open and key in self.started:
            assert clock.due > self.started[key], f"{key} due {clock.due}"


TestComplaintRules = ComplaintCases.TestCase
TestComplaintRules.settings = SETTINGS
TestEnquiryRules = EnquiryCases.TestCase
TestEnquiryRules.settings = settings(SETTINGS, max_examples=800)
