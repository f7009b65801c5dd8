"""The two-stage complaints process: its states, the steps each state allows, and the messages
that start a complaint and move it on. Pure data; the workflow enforces it."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from pydantic import AwareDatetime, Field, model_validator

from domain.clocks import BankHolidays, Clock, ClockedRecord
from domain.letters import PointDecision, Remedies
from domain.ombudsman import OMBUDSMAN_REFERENCE, Determination, OmbudsmanCase, OrderKind
from domain.people import Channel, Resident, StaffMember, Strict
from domain.policy import Policy, PolicyStamp
from domain.remedies import Compensation, TrackedAction


class Stage(StrEnum):
    triage = "triage"
    stage1 = "stage1"
    stage2 = "stage2"
    closed = "closed"


class Status(StrEnum):
    awaiting_triage = "awaiting_triage"
    awaiting_acknowledgement = "awaiting_acknowledgement"
    investigating = "investigating"
    escalation_window = "escalation_window"  # stage 1 answered; the resident may ask for stage 2
    closed = "closed"


class Step(StrEnum):
    accept = "accept"
    decline = "decline"
    record_service_request = "record_service_request"
    record_contact = "record_contact"
    assign = "assign"
    acknowledge = "acknowledge"
    extend = "extend"
    respond = "respond"
    escalate = "escalate"
    raise_new_issues = "raise_new_issues"
    withdraw = "withdraw"
    classify = "classify"
    # what the response promised, tracked to completion (domain/remedies.py)
    complete_action = "complete_action"
    record_compensation = "record_compensation"
    # the Housing Ombudsman's involvement (domain/ombudsman.py)
    refer_to_ombudsman = "refer_to_ombudsman"
    record_evidence_request = "record_evidence_request"
    record_evidence_sent = "record_evidence_sent"
    record_determination = "record_determination"
    record_ombudsman_order = "record_ombudsman_order"
    record_order_complied = "record_order_complied"


class ClosureReason(StrEnum):
    declined = "declined"
    service_request = "service_request"
    withdrawn = "withdrawn"
    escalation_window_lapsed = "escalation_window_lapsed"
    final_response = "final_response"


# After which closures the resident is asked how satisfied they are (the satisfaction survey
# letter): only a complaint closed after we responded to it, at stage 2 or when the stage 1
# escalation window ran out. Not a declined complaint, a service request or a withdrawal: there
# was no complaint handling to rate.
SURVEYED_CLOSURES = frozenset(
    {ClosureReason.final_response, ClosureReason.escalation_window_lapsed}
)


def asks_satisfaction(reason: ClosureReason) -> bool:
    return reason in SURVEYED_CLOSURES


# The state machine, visible in one place: which steps each (stage, status) allows.
ALLOWED_STEPS: dict[tuple[Stage, Status], frozenset[Step]] = {
    (Stage.triage, Status.awaiting_triage): frozenset(
        {
            Step.accept,
            Step.decline,
            Step.record_service_request,
            Step.record_contact,
            Step.assign,
            Step.withdraw,
        }
    ),
    (Stage.stage1, Status.awaiting_acknowledgement): frozenset(
        {
            Step.acknowledge,
            Step.record_contact,
            Step.assign,
            Step.classify,
            Step.decline,
            Step.withdraw,
        }
    ),
    (Stage.stage1, Status.investigating): frozenset(
        {
            Step.record_contact,
            Step.extend,
            Step.respond,
            Step.assign,
            Step.classify,
            Step.withdraw,
        }
    ),
    (Stage.stage1, Status.escalation_window): frozenset(
        {Step.escalate, Step.assign, Step.withdraw}
    ),
    (Stage.stage2, Status.awaiting_acknowledgement): frozenset(
        {
            Step.acknowledge,
            Step.record_contact,
            Step.assign,
            Step.classify,
            Step.raise_new_issues,
            Step.withdraw,
        }
    ),
    (Stage.stage2, Status.investigating): frozenset(
        {
            Step.record_contact,
            Step.extend,
            Step.respond,
            Step.assign,
            Step.classify,
            Step.raise_new_issues,
            Step.withdraw,
        }
    ),
}
# A complaint's category, tenure and property are set when it is accepted and may be changed
# (`classify`) while a stage is open, up to that stage's response: the stage 1 response is counted
# under the category it went out with, and a stage 2 reviewer may correct it before the final
# response. Not in the escalation window, nor once closed.
# A case closed because nobody asked for stage 2 in time can still be escalated late, with
# exceptional circumstances recorded, until the late-escalation grace period ends.
LATE_ESCALATION_STEPS = frozenset({Step.escalate})
# Steps that follow what a complaint led to: open at any stage, and after closure while the case
# is kept (domain/complaint_rules.py TRACKING_STEPS says when each is open).
REMEDY_STEPS = frozenset({Step.complete_action, Step.record_compensation})
OMBUDSMAN_STEPS = frozenset(
    {
        Step.refer_to_ombudsman,
        Step.record_evidence_request,
        Step.record_evidence_sent,
        Step.record_determination,
        Step.record_ombudsman_order,
        Step.record_order_complied,
    }
)


class DeclineReason(StrEnum):
    """The complaints policy's "complaints we may not accept"."""

    first_report = "first_report"
    over_12_months = "over_12_months"
    already_considered = "already_considered"
    more_appropriate_route = "more_appropriate_route"
    alternative_policy_process = "alternative_policy_process"
    legal_proceedings = "legal_proceedings"
    about_policy = "about_policy"
    actions_of_resident = "actions_of_resident"
    outside_our_control = "outside_our_control"
    not_our_service = "not_our_service"
    unreasonable_manner = "unreasonable_manner"


DECLINE_REASON_TEXT: dict[DeclineReason, str] = {
    DeclineReason.first_report: (
        "it is about an issue being reported to us for the first time, so we will deal with it "
        "as a service request"
    ),
    DeclineReason.over_12_months: (
        "it was made more than 12 months after the incident, or after you became aware of it"
    ),
    DeclineReason.already_considered: (
        "it is about an issue that has already been considered through our complaints process"
    ),
    DeclineReason.more_appropriate_route: (
        "there is a more appropriate route, such as the First-tier Tribunal for rent or service "
        "charge concerns, or the Information Commissioner's Office for how we manage data"
    ),
    DeclineReason.alternative_policy_process: (
        "it is covered by another of our processes, such as antisocial behaviour or mutual exchange"
    ),
    DeclineReason.legal_proceedings: (
        "it is already subject to legal proceedings where a claim has been submitted to court"
    ),
    DeclineReason.about_policy: (
        "it is about one of our policies rather than how the policy has been applied"
    ),
    DeclineReason.actions_of_resident: "it is about the actions of one of our residents",
    DeclineReason.outside_our_control: (
        "it is about an individual or organisation that we have no control over"
    ),
    DeclineReason.not_our_service: "it is about a service we are not responsible for",
    DeclineReason.unreasonable_manner: (
        "it was communicated to us in a manner that was unreasonable, threatening or abusive"
    ),
}


class Tenure(StrEnum):
    """The complainant's tenure, as the Tenant Satisfaction Measures split complaints: low-cost
    rental accommodation (LCRA) and low-cost home ownership (LCHO)."""

    social_rent = "social_rent"
    shared_ownership = "shared_ownership"
    leaseholder = "leaseholder"
    not_resident = "not_resident"


TENURE_LABELS: dict[Tenure, str] = {
    Tenure.social_rent: "Social rent (LCRA)",
    Tenure.shared_ownership: "Shared ownership (LCHO)",
    Tenure.leaseholder: "Leaseholder",
    Tenure.not_resident: "Not a resident",
}
# A property or tenancy reference as the landlord's housing system writes it.
PROPERTY_REFERENCE = Field(
    default=None, min_length=1, max_length=60, pattern=r"^[A-Za-z0-9][A-Za-z0-9 /._-]*$"
)
CATEGORY_KEY = Field(default=None, min_length=1, max_length=60)


class LodgeComplaint(Strict):
    """Everything needed to open a complaint. `received_at` is when the resident got in touch,
    which may be earlier than when it was logged (and outside office hours)."""

    reference: str = Field(pattern=r"^[A-Z]{3}-[0-9A-Z]{4}-[0-9A-Z]{4}$")
    resident: Resident
    channel: Channel
    received_at: AwareDatetime
    description: str = Field(min_length=1, max_length=20000)
    points: list[str] = Field(default_factory=list, max_length=30)
    outcome_sought: str | None = Field(default=None, max_length=5000)
    incident_date: date | None = None
    became_aware_date: date | None = None
    owner: StaffMember | None = None
    lodged_by: str | None = None
    linked_reference: str | None = None
    tenure: Tenure | None = None
    property_reference: str | None = PROPERTY_REFERENCE
    # The policy the case is lodged under (lodge_once stamps the current one); it keeps it for
    # life. Cases lodged before cases carried a policy have none and run under legacy_policy().
    policy: Policy | None = None
    # The bank holidays it plans its first clocks with, stamped with the policy (lodge_once:
    # domain.clocks.bank_holidays_around); none: the case loads them itself.
    bank_holidays: BankHolidays | None = Field(default=None, max_length=10)
    late_escalation_grace_days: int | None = Field(default=None, ge=0, le=730)  # legacy cases only
    letter_retry_pause_seconds: int = Field(default=600, ge=1, le=86400)


# The shape of the records projection (ComplaintRecord, EnquiryRecord). 1: the first versioned one.
# 2: no longer keeps the next deadline (worked out from the clocks when read) or the effects
# queued at that moment; a complaint's keeps its policy's categories and root causes.
RECORD_VERSION = 2
# 2: a complaint's record adds category, tenure, property_reference and each decision's
# root_cause (all optional, so a version 1 record reads as a version 2 one with none of them).
# 3: adds the tracked actions, compensation, the Ombudsman's involvement, actions_outstanding
# and kept_until (all defaulted, so older records read as having none).
# 4: adds the incident and awareness dates and each stage's response summary and apology.
# 5: as RECORD_VERSION 2 (older records, which keep the next deadline, read the same).
COMPLAINT_RECORD_VERSION = 5


class StaffStep(Strict):
    by: str = Field(min_length=1, max_length=80, description="staff id of who did the step")


class Classification(Strict):
    """What reports count a complaint under. `category` is a key of the case's policy's
    `categories`."""

    category: str | None = CATEGORY_KEY
    tenure: Tenure | None = None
    property_reference: str | None = PROPERTY_REFERENCE


class Accept(Classification, StaffStep):
    """Accepting a complaint, with its classification if staff know it now."""


class Classify(Classification, StaffStep):
    """Set or change the category, tenure or property reference: any of them, the rest kept."""

    @model_validator(mode="after")
    def _something(self) -> Classify:
        if self.category is None and self.tenure is None and self.property_reference is None:
            raise ValueError("give a category, a tenure or a property reference to record")
        return self


class Decline(StaffStep):
    reason: DeclineReason
    explanation: str = Field(min_length=1, max_length=5000)


class RecordServiceRequest(StaffStep):
    notes: str = Field(min_length=1, max_length=5000)


class RecordContact(StaffStep):
    at: AwareDatetime | None = None  # defaults to now
    method: str = Field(default="phone", pattern="^(phone|email|in_person|letter|video)$")
    notes: str = Field(min_length=1, max_length=5000)


class Assign(StaffStep):
    owner: StaffMember
    # taking a case for oneself: refused if someone owns it by the time the step runs
    only_if_unowned: bool = False


class Acknowledge(StaffStep):
    points: list[str] = Field(min_length=1, max_length=30)
    outcome_sought: str = Field(min_length=1, max_length=5000)

    @model_validator(mode="after")
    def _no_blank_points(self) -> Acknowledge:
        if any(not p.strip() for p in self.points):
            raise ValueError("each point of the complaint must say something")
        return self


class Extend(StaffStep):
    """Standard extension: up to 10 (stage 1) or 20 (stage 2) working days, discussed with the
    resident. Exceptional: only after that, with the resident's agreement and an agreed date."""

    reasons: str = Field(min_length=1, max_length=5000)
    working_days: int | None = Field(default=None, ge=1, le=20)
    discussed_with_resident: bool = False
    exceptional: bool = False
    resident_agreed: bool = False
    agreed_date: date | None = None


class PointOutcome(PointDecision):
    """A decision on one point, with why it went wrong if it was upheld in whole or part: a key of
    the case's policy's `root_causes` (or, under a policy without that list, a few words)."""

    root_cause: str | None = Field(default=None, min_length=1, max_length=60)

    def for_letter(self) -> PointDecision:
        return PointDecision(point=self.point, decision=self.decision, reasons=self.reasons)


class Respond(StaffStep):
    decisions: list[PointOutcome] = Field(min_length=1)
    summary: str = Field(min_length=1, max_length=10000)
    remedies: Remedies = Remedies()


NOTE = Field(min_length=1, max_length=5000)


class CompleteAction(StaffStep):
    """One action the response promised is done: what was done, in a note."""

    action: int = Field(ge=1, description="the action's number on the case")
    done_on: date | None = None  # defaults to today
    note: str = NOTE


class RecordCompensation(StaffStep):
    """Compensation paid (an amount, on a day), or the resident declined the offer."""

    amount: Decimal = Field(default=Decimal("0"), ge=0, max_digits=9, decimal_places=2)
    paid_on: date | None = None  # defaults to today
    declined: bool = False
    note: str | None = Field(default=None, max_length=5000)

    @model_validator(mode="after")
    def _paid_or_declined(self) -> RecordCompensation:
        if self.declined and self.amount:
            raise ValueError("a declined offer pays nothing: give no amount, or untick declined")
        if not self.declined and not self.amount:
            raise ValueError("give the amount paid, or tick that the resident declined the offer")
        return self


class ReferToOmbudsman(StaffStep):
    ombudsman_reference: str = OMBUDSMAN_REFERENCE
    referred_on: date


class RecordEvidenceRequest(StaffStep):
    description: str = NOTE
    requested_on: date | None = None  # defaults to today
    due_on: date


class RecordEvidenceSent(StaffStep):
    request: int = Field(ge=1, description="the request's number on the case")
    sent_on: date | None = None  # defaults to today
    note: str = NOTE


class RecordDetermination(StaffStep):
    determination: Determination
    findings: str = Field(min_length=1, max_length=10000)
    determined_on: date


class RecordOmbudsmanOrder(StaffStep):
    kind: OrderKind
    description: str = NOTE
    made_on: date | None = None  # defaults to today
    due_on: date


class RecordOrderComplied(StaffStep):
    order: int = Field(ge=1, description="the order's number on the case")
    complied_on: date | None = None  # defaults to today
    evidence: str = NOTE


# `by` of a step the resident took themselves through their case link (admin/routes/resident.py).
RESIDENT_ONLINE = "resident (online)"


class Escalate(StaffStep):
    requested_at: AwareDatetime | None = None  # when the resident asked; defaults to now
    exceptional_circumstances: str | None = Field(default=None, max_length=5000)
    reviewer: StaffMember | None = None
    # what the resident said when asking (optional; the online form asks for both)
    reasons: str | None = Field(default=None, max_length=5000)
    outcome_sought: str | None = Field(default=None, max_length=5000)


class RaiseNewIssues(StaffStep):
    points: list[str] = Field(min_length=1, max_length=30)
    outcome_sought: str | None = Field(default=None, max_length=5000)


class Withdraw(StaffStep):
    reason: str = Field(min_length=1, max_length=5000)


class TimelineItem(Strict):
    at: datetime
    step: str
    actor: str | None = None
    summary: str


class StageResponse(Strict):
    """What a stage's response said beyond its decisions, for the case page."""

    summary: str
    apology: str | None = None
    by: str
    at: datetime


class ComplaintRecord(ClockedRecord):
    """A complaint as the records database keeps it (the projection lists, reports and the case
    page read when the workflow is not asked): everything but the timeline, which is kept as
    events. `record_version` says which shape this is; raise it when the shape changes."""

    record_version: int = COMPLAINT_RECORD_VERSION
    reference: str
    workflow_id: str
    stage: Stage
    status: Status
    closure_reason: ClosureReason | None = None
    owner: StaffMember | None = None
    resident: Resident
    channel: Channel
    received_at: datetime
    received_on: date | None = None
    description: str
    points: list[str]
    outcome_sought: str | None = None
    clocks: list[Clock]
    next_deadline: Clock | None = None
    overdue: bool
    allowed_steps: list[Step]
    stage1_participants: list[str]
    decisions: dict[str, list[PointOutcome]] = Field(default_factory=dict)
    category: str | None = None
    tenure: Tenure | None = None
    property_reference: str | None = None
    linked_references: list[str] = Field(default_factory=list)
    letters: list[str] = Field(default_factory=list)
    pending_effects: int = 0  # letters and records queued but not yet done
    letters_failing: list[str] = Field(default_factory=list)  # keys of letters still retrying
    closed_at: datetime | None = None
    policy: PolicyStamp | None = None
    actions: list[TrackedAction] = Field(default_factory=list)
    compensation: Compensation = Compensation()
    ombudsman: OmbudsmanCase | None = None
    # the response is out and something it promised is still open
    actions_outstanding: bool = False
    # a closed case is kept this long for the Ombudsman (a referral, its requests and orders)
    kept_until: datetime | None = None
    # when the issue happened and the resident became aware of it (the time limit runs from the
    # later), and what each stage's response said beyond its decisions
    incident_date: date | None = None
    became_aware_date: date | None = None
    time_limit_ends: date | None = None  # the last day a complaint about it was in time
    responses: dict[str, StageResponse] = Field(default_factory=dict)
    # the case's own policy's lists (key -> label) its forms offer (empty: none needed; records
    # written before these were kept have none)
    categories: dict[str, str] = Field(default_factory=dict)
    root_causes: dict[str, str] = Field(default_factory=dict)


class ComplaintStatus(ComplaintRecord):
    """The whole case as the `status` Query returns it: the record and its timeline."""

    timeline: list[TimelineItem]


# What each step's Update takes: the starter, the admin UI and the API all validate against it.
STEP_MODELS: dict[Step, type[StaffStep]] = {
    Step.accept: Accept,
    Step.decline: Decline,
    Step.record_service_request: RecordServiceRequest,
    Step.record_contact: RecordContact,
    Step.assign: Assign,
    Step.acknowledge: Acknowledge,
    Step.extend: Extend,
    Step.respond: Respond,
    Step.escalate: Escalate,
    Step.raise_new_issues: RaiseNewIssues,
    Step.withdraw: Withdraw,
    Step.classify: Classify,
    Step.complete_action: CompleteAction,
    Step.record_compensation: RecordCompensation,
    Step.refer_to_ombudsman: ReferToOmbudsman,
    Step.record_evidence_request: RecordEvidenceRequest,
    Step.record_evidence_sent: RecordEvidenceSent,
    Step.record_determination: RecordDetermination,
    Step.record_ombudsman_order: RecordOmbudsmanOrder,
    Step.record_order_complied: RecordOrderComplied,
}


def workflow_id(reference: str) -> str:
    return f"complaint-{reference}"
