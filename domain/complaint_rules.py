"""The complaints policy's rules for each staff step, one named function a step.

Each takes the case as it stands (`ComplaintState`), the step, the current time and the policy the
case was lodged under, and either returns or raises `StepRefused` with a plain-English reason. The
workflow's Update validator calls it, so a refused step never reaches history, and the handler
calls it again after taking the case's lock, because two Updates sent together both pass their
validators before either changes the case.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from domain.clocks import Clock, ClockKey, extension_cap, local_day
from domain.complaint import (
    ALLOWED_STEPS,
    LATE_ESCALATION_STEPS,
    Accept,
    Acknowledge,
    Assign,
    Classification,
    Classify,
    ClosureReason,
    CompleteAction,
    Decline,
    DeclineReason,
    Escalate,
    Extend,
    RaiseNewIssues,
    RecordCompensation,
    RecordContact,
    RecordDetermination,
    RecordEvidenceRequest,
    RecordEvidenceSent,
    RecordOmbudsmanOrder,
    RecordOrderComplied,
    RecordServiceRequest,
    ReferToOmbudsman,
    Respond,
    StaffStep,
    Stage,
    Status,
    Step,
    Tenure,
    Withdraw,
)
from domain.letters import Decision
from domain.ombudsman import OmbudsmanCase
from domain.people import StaffMember
from domain.policy import Policy
from domain.remedies import Compensation, TrackedAction
from domain.rules import Refusals, StepRefused, check_take, day_text

# A time staff give for something that has happened may run a little ahead of the server's clock.
CLOCK_SKEW = timedelta(minutes=5)
STAGE_NUMBER = {Stage.stage1: 1, Stage.stage2: 2}
RESPONSE_CLOCK = {Stage.stage1: ClockKey.s1_response, Stage.stage2: ClockKey.s2_response}
# Steps whose doer counts as having taken part in stage 1 (so cannot review at stage 2).
PARTICIPATING_STEPS = frozenset(
    {Step.accept, Step.decline, Step.record_contact, Step.acknowledge, Step.extend, Step.respond}
)
# Steps that at stage 2 are for someone who took no part in stage 1. Classifying is not taking
# part (it decides nothing), but the stage 2 classification is the independent reviewer's.
STAGE2_INDEPENDENT_STEPS = PARTICIPATING_STEPS | {Step.classify}


@dataclass(frozen=True)
class ComplaintState:
    """What the rules need to know of a complaint."""

    stage: Stage
    status: Status
    received_at: datetime
    clocks: Mapping[ClockKey, Clock] = field(default_factory=dict)
    stage1_participants: frozenset[str] = frozenset()
    points: tuple[str, ...] = ()
    closure: ClosureReason | None = None
    grace_ends: datetime | None = None  # a lapsed case takes a late escalation until then
    owner: StaffMember | None = None
    incident_date: date | None = None
    became_aware_date: date | None = None
    category: str | None = None
    tenure: Tenure | None = None
    property_reference: str | None = None
    actions: tuple[TrackedAction, ...] = ()
    compensation: Compensation = field(default_factory=Compensation)
    ombudsman: OmbudsmanCase | None = None
    kept_until: datetime | None = None  # a closed case is kept for the Ombudsman until then


# --------------------------------------------------------------------------- the state machine


def _referred(case: ComplaintState) -> bool:
    return case.ombudsman is not None


# What a complaint led to is followed up whatever its stage, and after closure while the case is
# kept: each of these steps is open while its test holds.
TRACKING_STEPS: dict[Step, Callable[[ComplaintState], bool]] = {
    Step.complete_action: lambda c: any(a.open for a in c.actions),
    Step.record_compensation: lambda c: not c.compensation.settled,
    # once the complaint is ours (accepted, or declined and closed), not while it awaits triage
    Step.refer_to_ombudsman: lambda c: c.ombudsman is None and c.stage is not Stage.triage,
    Step.record_evidence_request: _referred,
    Step.record_evidence_sent: lambda c: bool(
        c.ombudsman and any(r.open for r in c.ombudsman.requests)
    ),
    Step.record_determination: lambda c: bool(c.ombudsman and c.ombudsman.determination is None),
    Step.record_ombudsman_order: _referred,
    Step.record_order_complied: lambda c: bool(
        c.ombudsman and any(o.open for o in c.ombudsman.orders)
    ),
}


def allowed_steps(case: ComplaintState, now: datetime) -> frozenset[Step]:
    tracking = frozenset(step for step, is_open in TRACKING_STEPS.items() if is_open(case))
    if case.stage is Stage.closed:
        lapsed = case.closure is ClosureReason.escalation_window_lapsed
        if lapsed and case.grace_ends and now < case.grace_ends:
            return LATE_ESCALATION_STEPS | tracking
        return tracking if still_kept(case, now) else frozenset()
    return ALLOWED_STEPS[(case.stage, case.status)] | tracking


def still_kept(case: ComplaintState, now: datetime) -> bool:
    """Whether a closed case is still kept: something it promised or the Ombudsman asked is
    open, or the time to refer it to the Ombudsman has not run out."""
    return (
        any(a.open for a in case.actions)
        or not case.compensation.settled
        or (case.ombudsman is not None and not case.ombudsman.finished)
        or (case.kept_until is not None and now < case.kept_until)
    )


def describe_state(case: ComplaintState) -> str:
    if case.stage is Stage.closed:
        why = case.closure.value.replace("_", " ") if case.closure else ""
        return f"closed ({why})"
    return f"at {case.stage.value} ({case.status.value.replace('_', ' ')})"


def step_allowed_now(case: ComplaintState, name: Step, by: str, now: datetime) -> None:
    """The state machine, and stage 2's independence: nobody who took part in stage 1 does a
    stage 2 step that counts as taking part."""
    allowed = allowed_steps(case, now)
    if name not in allowed:
        possible = ", ".join(sorted(s.value for s in allowed)) or "none: it is closed"
        raise StepRefused(
            f"'{name.value}' is not possible while the case is {describe_state(case)}. "
            f"Steps possible now: {possible}."
        )
    if barred_at_stage2(case.stage, case.stage1_participants, name, by):
        raise StepRefused(
            f"Only someone who took no part in stage 1 may do this at stage 2, and {by} took part "
            "in stage 1 of this complaint. Ask the assigned reviewer to do this step."
        )


def barred_at_stage2(
    stage: Stage, stage1_participants: Collection[str], step: Any, staff_id: str
) -> bool:
    """Stage 2's independence: `staff_id` took part in stage 1 and `step` would count as taking
    part at stage 2 (`step` None: any taking part, such as owning the case as its reviewer)."""
    counts = step is None or step in STAGE2_INDEPENDENT_STEPS
    return stage is Stage.stage2 and counts and staff_id in stage1_participants


def _not_in_stage1(case: ComplaintState, staff_id: str, name: str) -> None:
    if staff_id in case.stage1_participants:
        raise StepRefused(
            f"{name} took part in stage 1 of this complaint; stage 2 must be reviewed by someone "
            "who did not. Choose another reviewer.",
            "reviewer",
        )


def add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")


# --------------------------------------------------------------------------- one rule a step


def known_category(step: Classification, policy: Policy) -> None:
    """A category is one of the policy's; a case lodged under a policy without a list of
    categories takes none."""
    if step.category is None:
        return
    if not policy.categories:
        raise StepRefused(
            f"This case runs under {policy.label}, which has no list of categories, so no "
            "category can be recorded. Leave the category empty."
        )
    if step.category not in policy.categories:
        known = ", ".join(policy.categories)
        raise StepRefused(
            f"'{step.category}' is not a category in this case's policy. Choose one of: {known}."
        )


def check_accept(case: ComplaintState, step: Accept, now: datetime, policy: Policy) -> None:
    """With the complaint's category (one of the policy's), tenure and property if known now."""
    step_allowed_now(case, Step.accept, step.by, now)
    known_category(step, policy)


def check_classify(case: ComplaintState, step: Classify, now: datetime, policy: Policy) -> None:
    """Set or change the category, tenure or property reference: from acceptance until the
    response of the stage the case is at (the state machine's `classify`)."""
    step_allowed_now(case, Step.classify, step.by, now)
    known_category(step, policy)


def time_limit_ends(incident: date | None, aware: date | None, policy: Policy) -> date | None:
    """The last day a complaint is in time: the policy's months from the incident, or from when
    the resident became aware of it if later (none when neither is known)."""
    known = [d for d in (incident, aware) if d]
    return add_months(max(known), policy.complaints.time_limit_months) if known else None


def check_decline(case: ComplaintState, step: Decline, now: datetime, policy: Policy) -> None:
    """Only for a reason on the policy's list; "over 12 months" only when it really was: the
    limit runs from the incident, or from when the resident became aware of it if later."""
    step_allowed_now(case, Step.decline, step.by, now)
    if step.reason is not DeclineReason.over_12_months:
        return
    months = policy.complaints.time_limit_months
    limit = time_limit_ends(case.incident_date, case.became_aware_date, policy)
    if limit is None:
        raise StepRefused(
            f"To decline a complaint as made over {months} months late, the case needs the "
            "incident date or the date the resident became aware of it; neither is recorded."
        )
    known = [d for d in (case.incident_date, case.became_aware_date) if d]
    if case.received_at.date() <= limit:
        raise StepRefused(
            f"The {months}-month limit runs from when the resident became aware of the issue "
            f"({max(known):%d %B %Y}), so it was complained about in time (the limit is "
            f"{limit:%d %B %Y}). Accept the complaint, or choose another reason."
        )


def check_record_service_request(
    case: ComplaintState, step: RecordServiceRequest, now: datetime, policy: Policy
) -> None:
    step_allowed_now(case, Step.record_service_request, step.by, now)


def check_record_contact(
    case: ComplaintState, step: RecordContact, now: datetime, policy: Policy
) -> None:
    step_allowed_now(case, Step.record_contact, step.by, now)
    if step.at and step.at > now + CLOCK_SKEW:
        raise StepRefused("The contact time is in the future: give when the contact happened.")


def check_assign(case: ComplaintState, step: Assign, now: datetime, policy: Policy) -> None:
    step_allowed_now(case, Step.assign, step.by, now)
    check_take(case.owner, step.by, step.owner, step.only_if_unowned)
    if case.stage is Stage.stage2:
        _not_in_stage1(case, step.owner.id, step.owner.name)


def check_acknowledge(
    case: ComplaintState, step: Acknowledge, now: datetime, policy: Policy
) -> None:
    step_allowed_now(case, Step.acknowledge, step.by, now)


def check_extend(case: ComplaintState, step: Extend, now: datetime, policy: Policy) -> None:
    """Before the response is due; a standard extension discussed with the resident, up to the
    policy's cap in all; beyond that only exceptionally, agreed with the resident, to a later
    date."""
    step_allowed_now(case, Step.extend, step.by, now)
    clock = case.clocks[RESPONSE_CLOCK[case.stage]]
    n = STAGE_NUMBER[case.stage]
    if now >= clock.due:
        raise StepRefused(
            f"The response was due {day_text(clock.due_day)} and that has passed: an extension "
            "must be agreed before the deadline. Send the response now."
        )
    cap = extension_cap(policy, clock.key)
    found = Refusals()
    if step.exceptional:
        if clock.extended_by_working_days == 0:
            raise StepRefused(
                f"An exceptional extension comes only after the standard extension of up to {cap} "
                "working days. Use the standard extension first.",
                "exceptional",
            )
        if not step.resident_agreed:
            found.add(
                "An exceptional extension needs the resident's agreement: tick that the resident "
                "agreed to the new date.",
                "resident_agreed",
            )
        if step.agreed_date is None:
            found.add(
                "An exceptional extension needs the date agreed with the resident: give it.",
                "agreed_date",
            )
        elif step.agreed_date <= clock.due_day:
            found.add(
                f"The agreed date must be after the current due date ({day_text(clock.due_day)}).",
                "agreed_date",
            )
        found.check()
        return
    if not step.discussed_with_resident:
        found.add(
            "The policy says we discuss an extension with the resident first: tick that you have "
            "discussed it with them once you have.",
            "discussed_with_resident",
        )
    if step.working_days is None:
        found.add("Say how many working days the extension adds.", "working_days")
    elif step.working_days > (left := cap - clock.extended_by_working_days):
        found.add(
            f"A standard extension can add at most {cap} working days in all at stage {n}; "
            f"{left} remain. Beyond that, use an exceptional extension agreed with the resident.",
            "working_days",
        )
    found.check()


def check_planned_extension(clock: Clock, agreed_date: date | None, planned_due_day: date) -> None:
    """An agreed date that is not a working day falls back to the working day before it, which
    must still be after the current due date."""
    if planned_due_day <= clock.due_day:
        agreed = f"{agreed_date:%d %B %Y}" if agreed_date else "The date"
        raise StepRefused(
            f"{agreed} is not a working day, and the last working day before it "
            f"({day_text(planned_due_day)}) is not after the current due date. Agree a later date "
            "with the resident."
        )


def check_respond(case: ComplaintState, step: Respond, now: datetime, policy: Policy) -> None:
    """A decision on every point, each upheld point's root cause, the category the response is
    counted under, and remedies that can be kept: every problem found at once."""
    step_allowed_now(case, Step.respond, step.by, now)
    found = Refusals()
    decided = {d.point for d in step.decisions}
    missing = [p for p in case.points if p not in decided]
    if missing:
        found.add(
            "Give a decision on every point of the complaint; missing: "
            + "; ".join(f"'{p}'" for p in missing)
            + ".",
            "decisions",
        )
    if policy.categories and case.category is None:
        found.add(
            "The complaint has no category, and the response is counted under one. Record the "
            "category (the 'classify' step) first, then send the response."
        )
    root_cause_problems(step, policy, found)
    remedy_problems(case, step, now, policy, found)
    found.check()


UPHELD = frozenset({Decision.upheld, Decision.partly_upheld})


def root_cause_problems(step: Respond, policy: Policy, found: Refusals) -> None:
    """Each upheld or partly upheld point says why it went wrong: one of the policy's root causes
    (under a policy without that list, a few words if given). A point not upheld has none."""
    for n, d in enumerate(step.decisions, start=1):
        where = f"decisions.{n - 1}.root_cause"
        if d.decision not in UPHELD:
            if d.root_cause is not None:
                found.add(
                    f"Point {n} ('{d.point}') is not upheld, so it has no root cause: clear its "
                    "root cause, or change the decision.",
                    where,
                )
            continue
        if not policy.root_causes:
            continue
        if d.root_cause is None:
            found.add(
                f"Point {n} ('{d.point}') is {d.decision.value.replace('_', ' ')}: give its root "
                "cause, what went wrong, so the landlord can learn from it.",
                where,
            )
        elif d.root_cause not in policy.root_causes:
            known = ", ".join(policy.root_causes)
            found.add(
                f"Point {n}: '{d.root_cause}' is not a root cause in this case's policy. Choose "
                f"one of: {known}.",
                where,
            )


def remedy_problems(
    case: ComplaintState, step: Respond, now: datetime, policy: Policy, found: Refusals
) -> None:
    """Each action the response promises is due today or later; at stage 2, an offer of
    compensation where stage 1 offered some says whether it replaces or adds to it (the letter
    tells the resident which), and only then."""
    today = local_today(now, policy)
    for n, action in enumerate(step.remedies.actions, start=1):
        if action.due < today:
            found.add(
                f"Action {n} ('{action.action}') is due {day_text(action.due)}, which has passed: "
                "give the date it will be done by, today or later.",
                f"remedies.actions.{n - 1}.due",
            )
    earlier = sum((o.amount for o in case.compensation.offers), start=0)
    offering = bool(step.remedies.compensation)
    basis = step.remedies.compensation_basis
    if case.stage is Stage.stage2 and earlier and offering and basis is None:
        found.add(
            f"Stage 1 offered £{earlier:,.2f} in compensation. Say whether this offer replaces "
            "it or adds to it, so the letter can tell the resident what they will get in all.",
            "remedies.compensation_basis",
        )
    if basis is not None and not (case.stage is Stage.stage2 and earlier and offering):
        found.add(
            "Whether the offer replaces or adds to stage 1's applies only to a stage 2 offer of "
            "compensation where stage 1 offered some: leave it empty.",
            "remedies.compensation_basis",
        )


def local_today(now: datetime, policy: Policy) -> date:
    """Today in the landlord's own time zone (a day staff give is on the landlord's calendar)."""
    return local_day(now, policy)


def _not_after_today(day: date | None, now: datetime, policy: Policy, what: str) -> None:
    if day is not None and day > local_today(now, policy):
        raise StepRefused(f"{what} ({day_text(day)}) is in the future: give the day it happened.")


def _due_after(due: date, start: date, what: str, start_what: str) -> None:
    if due < start:
        raise StepRefused(
            f"{what} ({day_text(due)}) is before {start_what} ({day_text(start)}): check the dates."
        )


def check_complete_action(
    case: ComplaintState, step: CompleteAction, now: datetime, policy: Policy
) -> None:
    """An open action, done on a day not in the future, with a note of what was done."""
    step_allowed_now(case, Step.complete_action, step.by, now)
    action = next((a for a in case.actions if a.n == step.action), None)
    if action is None:
        numbers = ", ".join(str(a.n) for a in case.actions if a.open)
        raise StepRefused(
            f"There is no action {step.action} on this case. Open actions: {numbers}."
        )
    if not action.open:
        raise StepRefused(f"Action {step.action} was already done on {day_text(action.done_on)}.")
    _not_after_today(step.done_on, now, policy, "The day it was done")


def check_record_compensation(
    case: ComplaintState, step: RecordCompensation, now: datetime, policy: Policy
) -> None:
    """Compensation still owed: paid up to what is owed, on a day not in the future, or the
    offer declined by the resident."""
    step_allowed_now(case, Step.record_compensation, step.by, now)
    owed = case.compensation.outstanding
    if step.amount > owed:
        raise StepRefused(
            f"£{step.amount:,.2f} is more than the £{owed:,.2f} still owed: give the amount paid."
        )
    _not_after_today(step.paid_on, now, policy, "The day it was paid")


def check_refer_to_ombudsman(
    case: ComplaintState, step: ReferToOmbudsman, now: datetime, policy: Policy
) -> None:
    step_allowed_now(case, Step.refer_to_ombudsman, step.by, now)
    _not_after_today(step.referred_on, now, policy, "The referral date")


def _made_then_due(
    made: date | None, due: date, now: datetime, policy: Policy, made_what: str
) -> None:
    """Something the Ombudsman asked for: made on a day not in the future (today when not
    given), due on or after it."""
    _not_after_today(made, now, policy, f"The day it was {made_what}")
    start = made or local_today(now, policy)
    _due_after(due, start, "The due date", f"the day it was {made_what}")


def _open_item(items: Sequence[Any], n: int, name: str, noun: str) -> None:
    """Item `n` of `items` (the Ombudsman's requests or orders) is there and still open."""
    item = next((i for i in items if i.n == n), None)
    if item is None or not item.open:
        open_ = ", ".join(str(i.n) for i in items if i.open)
        raise StepRefused(f"{name} {n} is not an open {noun}. Open ones: {open_}.")


def _ombudsman(case: ComplaintState) -> OmbudsmanCase:
    if case.ombudsman is None:  # the state machine refuses first; this is for the type checker
        raise StepRefused("Record the referral to the Ombudsman first.")
    return case.ombudsman


def check_record_evidence_request(
    case: ComplaintState, step: RecordEvidenceRequest, now: datetime, policy: Policy
) -> None:
    """A request for evidence, made on a day not in the future, due on or after it."""
    step_allowed_now(case, Step.record_evidence_request, step.by, now)
    _made_then_due(step.requested_on, step.due_on, now, policy, "asked for")


def check_record_evidence_sent(
    case: ComplaintState, step: RecordEvidenceSent, now: datetime, policy: Policy
) -> None:
    step_allowed_now(case, Step.record_evidence_sent, step.by, now)
    _open_item(_ombudsman(case).requests, step.request, "Request", "request for evidence")
    _not_after_today(step.sent_on, now, policy, "The day it was sent")


def check_record_determination(
    case: ComplaintState, step: RecordDetermination, now: datetime, policy: Policy
) -> None:
    """Once, on a day not in the future and not before the referral."""
    step_allowed_now(case, Step.record_determination, step.by, now)
    _not_after_today(step.determined_on, now, policy, "The determination date")
    referred = _ombudsman(case).referred_on
    _due_after(step.determined_on, referred, "The determination date", "the referral")


def check_record_ombudsman_order(
    case: ComplaintState, step: RecordOmbudsmanOrder, now: datetime, policy: Policy
) -> None:
    """An order or recommendation, made on a day not in the future, due on or after it."""
    step_allowed_now(case, Step.record_ombudsman_order, step.by, now)
    _made_then_due(step.made_on, step.due_on, now, policy, "made")


def check_record_order_complied(
    case: ComplaintState, step: RecordOrderComplied, now: datetime, policy: Policy
) -> None:
    step_allowed_now(case, Step.record_order_complied, step.by, now)
    _open_item(_ombudsman(case).orders, step.order, "Order", "order")
    _not_after_today(step.complied_on, now, policy, "The day it was complied with")


def check_escalate(case: ComplaintState, step: Escalate, now: datetime, policy: Policy) -> None:
    """Within the escalation window, or later with the exceptional circumstances recorded; the
    reviewer named must not have taken part in stage 1."""
    step_allowed_now(case, Step.escalate, step.by, now)
    found = Refusals()
    requested = step.requested_at or now
    if requested > now + CLOCK_SKEW:
        found.add(
            "The time the resident asked is in the future: give when they asked.", "requested_at"
        )
    window = case.clocks[ClockKey.escalation_window]
    if requested > window.due and not step.exceptional_circumstances:
        found.add(
            f"The resident asked after the {policy.complaints.escalation_window} working days to "
            f"escalate ended ({day_text(window.due_day)}). A late request can go ahead only with "
            "the exceptional circumstances recorded.",
            "exceptional_circumstances",
        )
    if step.reviewer:
        try:
            _not_in_stage1(case, step.reviewer.id, step.reviewer.name)
        except StepRefused as err:
            found.take(err)
    found.check()


def check_raise_new_issues(
    case: ComplaintState, step: RaiseNewIssues, now: datetime, policy: Policy
) -> None:
    step_allowed_now(case, Step.raise_new_issues, step.by, now)


def check_withdraw(case: ComplaintState, step: Withdraw, now: datetime, policy: Policy) -> None:
    step_allowed_now(case, Step.withdraw, step.by, now)


Rule = Callable[[ComplaintState, Any, datetime, Policy], None]
RULES: dict[Step, Rule] = {
    Step.accept: check_accept,
    Step.decline: check_decline,
    Step.record_service_request: check_record_service_request,
    Step.record_contact: check_record_contact,
    Step.assign: check_assign,
    Step.acknowledge: check_acknowledge,
    Step.extend: check_extend,
    Step.respond: check_respond,
    Step.escalate: check_escalate,
    Step.raise_new_issues: check_raise_new_issues,
    Step.withdraw: check_withdraw,
    Step.classify: check_classify,
    Step.complete_action: check_complete_action,
    Step.record_compensation: check_record_compensation,
    Step.refer_to_ombudsman: check_refer_to_ombudsman,
    Step.record_evidence_request: check_record_evidence_request,
    Step.record_evidence_sent: check_record_evidence_sent,
    Step.record_determination: check_record_determination,
    Step.record_ombudsman_order: check_record_ombudsman_order,
    Step.record_order_complied: check_record_order_complied,
}


def check(case: ComplaintState, name: Step, step: StaffStep, now: datetime, policy: Policy) -> None:
    """The rule for `name`: returns if the step may happen now, else raises StepRefused."""
    RULES[name](case, step, now, policy)
