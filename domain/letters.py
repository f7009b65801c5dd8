"""What a letter is, as the workflow asks for it and as the letters activity delivers it."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from pydantic import (
    ConfigDict,
    EmailStr,
    Field,
    ValidationError,
)

from domain.adjustments import Adjustments
from domain.people import Address, Compact, StaffMember, Strict
from domain.remedies import CompensationBasis


class LetterKind(StrEnum):
    # to the resident
    complaint_received = "complaint_received"
    stage1_acknowledgement = "stage1_acknowledgement"
    stage2_acknowledgement = "stage2_acknowledgement"
    extension = "extension"
    exceptional_extension = "exceptional_extension"
    stage1_response = "stage1_response"
    stage2_response = "stage2_response"
    refusal = "refusal"
    service_request = "service_request"
    withdrawal = "withdrawal"
    escalation_received = "escalation_received"
    new_complaint_opened = "new_complaint_opened"
    case_closed = "case_closed"
    satisfaction_survey = "satisfaction_survey"  # after a closure that SURVEYED_CLOSURES names
    actions_completed = "actions_completed"  # the last open action a response promised is done
    # to the resident, about an enquiry (customer service standards)
    enquiry_received = "enquiry_received"  # the automatic confirmation of an email
    enquiry_routed = "enquiry_routed"  # addressed to the chief executive or a director
    enquiry_reply = "enquiry_reply"
    enquiry_holding_reply = "enquiry_holding_reply"
    enquiry_passed_to_team = "enquiry_passed_to_team"
    enquiry_update = "enquiry_update"
    enquiry_service_request = "enquiry_service_request"
    # to the resident, about their person record (domain/persons.py)
    contact_restriction = "contact_restriction"
    # to staff
    deadline_reminder = "deadline_reminder"
    deadline_breach = "deadline_breach"
    person_review = "person_review"  # an item on a person record is due for review


STAFF_LETTERS = frozenset(
    {LetterKind.deadline_reminder, LetterKind.deadline_breach, LetterKind.person_review}
)
# Letters about a person record, not a case: their reference is the person's (PER-...), and a
# letter to the resident carries no link to a case page.
PERSON_LETTERS = frozenset({LetterKind.contact_restriction, LetterKind.person_review})
# Signed by customer services rather than the complaints team (an enquiry routed to the
# resolution team is answered by them).
SERVICES_LETTERS = frozenset(
    {
        LetterKind.enquiry_received,
        LetterKind.enquiry_reply,
        LetterKind.enquiry_holding_reply,
        LetterKind.enquiry_passed_to_team,
        LetterKind.enquiry_update,
        LetterKind.enquiry_service_request,
    }
)


class Delivery(StrEnum):
    email = "email"
    post = "post"


class Recipient(Strict):
    name: str
    email: EmailStr | None = None
    address: Address | None = None
    # "team" resolves to the team inbox from configuration inside the activity
    role: str = Field(default="resident", pattern="^(resident|owner|team)$")


class Decision(StrEnum):
    upheld = "upheld"
    partly_upheld = "partly_upheld"
    not_upheld = "not_upheld"


# The longest point of a complaint a response can decide: the public form's limit for a point is
# this, so every point a resident writes can be answered.
MAX_POINT_LENGTH = 5000


class PointDecision(Strict):
    point: str = Field(min_length=1, max_length=MAX_POINT_LENGTH)
    decision: Decision
    reasons: str = Field(min_length=1, max_length=5000)


class RemedyAction(Strict):
    """An action a response promises: `owner` is who does it as the letter says; `responsible`
    the member of staff the case reminds (none: the case's owner). Each is tracked until done."""

    action: str = Field(min_length=1, max_length=2000)
    owner: str = Field(min_length=1, max_length=200)
    due: date
    responsible: StaffMember | None = None


class Remedies(Strict):
    apology: str | None = Field(default=None, max_length=5000)
    actions: list[RemedyAction] = Field(default_factory=list, max_length=20)
    compensation: Decimal | None = Field(default=None, ge=0, max_digits=9, decimal_places=2)
    # at stage 2, when stage 1 offered compensation: whether this offer replaces or adds to it
    compensation_basis: CompensationBasis | None = None


class CompletedAction(Strict):
    action: str
    done_on: date


class LetterContext(Compact):
    """Everything any template may use. Fields a kind does not need stay empty."""

    reference: str
    resident_name: str
    stage: int | None = None
    points: list[str] = Field(default_factory=list)
    outcome_sought: str | None = None
    due: datetime | None = None
    previous_due: datetime | None = None
    reasons: str | None = None
    decisions: list[PointDecision] = Field(default_factory=list)
    remedies: Remedies | None = None
    escalation_deadline: datetime | None = None
    # the stage 1 offer a stage 2 offer replaces or adds to (remedies.compensation_basis says)
    earlier_compensation: Decimal | None = None
    completed_actions: list[CompletedAction] = Field(default_factory=list)
    decline_reason: str | None = None
    explanation: str | None = None
    # Who signs the letter: `owner_name` (the case's investigator, or its reviewer at stage 2)
    # if given; otherwise the member of staff whose id is `signed_by` (the officer who sent it),
    # by the name on their account when the letter is sent; otherwise the team alone.
    owner_name: str | None = None
    signed_by: str | None = None
    clock_label: str | None = None
    linked_reference: str | None = None
    # the case's own policy's promises, as its letters quote them
    contact_working_days: int | None = None
    acknowledgement_working_days: int | None = None
    escalation_working_days: int | None = None
    # enquiries
    message: str | None = None  # the reply as staff wrote it
    team: str | None = None  # who has the enquiry now
    next_steps: str | None = None
    addressed_to: str | None = None
    # the satisfaction survey: a random value from the workflow; the letters activity signs it
    # with the case reference into the survey link (letters/survey.py), so a retry renders the
    # same link and the workflow never holds the secret
    survey_nonce: str | None = Field(default=None, pattern="^[0-9a-f]{32}$")
    # the resident's needs that change how a letter is rendered (large print, the interpreter's
    # language): domain/adjustments.py `for_letters`; none for a case lodged before them
    adjustments: Adjustments | None = None


class LetterRequest(Compact):
    """`key` names the letter within its case (e.g. "s1_acknowledgement", "breach:s1_contact");
    (reference, key) is sent at most once however often the activity runs."""

    reference: str
    key: str = Field(min_length=1, max_length=120)
    kind: LetterKind
    delivery: Delivery
    recipient: Recipient
    context: LetterContext


class LetterReceipt(Strict):
    reference: str
    key: str
    delivery: Delivery
    sent_at: datetime
    already_sent: bool
    provider_id: str | None = None
    location: str | None = None  # outbox file, for local delivery


# --------------------------------------------------------------------------- one model a kind
# What each kind of letter must be given. The workflow checks a letter against its kind's model
# inside the step that makes it, so a step that would produce a broken letter is refused at the
# Update; the letters activity checks again before rendering.


class _Letter(Strict):
    model_config = ConfigDict(extra="ignore")


class _Due(_Letter):
    due: datetime


class _Promises(_Letter):
    contact_working_days: int = Field(ge=1)
    acknowledgement_working_days: int = Field(ge=1)


class _Received(_Due):
    contact_working_days: int = Field(ge=1)


class _Window(_Letter):
    escalation_working_days: int = Field(ge=1)


class _Acknowledgement(_Due):
    points: list[str] = Field(min_length=1)
    outcome_sought: str = Field(min_length=1)


class _Extension(_Due):
    previous_due: datetime
    reasons: str = Field(min_length=1)


class _ExceptionalExtension(_Due):
    reasons: str = Field(min_length=1)


class _Response(_Letter):
    decisions: list[PointDecision] = Field(min_length=1)


class _Stage1Response(_Response):
    escalation_deadline: datetime
    escalation_working_days: int = Field(ge=1)


class _Refusal(_Letter):
    decline_reason: str = Field(min_length=1)


class _NewComplaint(_Promises):
    linked_reference: str = Field(min_length=1)


class _ActionsCompleted(_Letter):
    completed_actions: list[CompletedAction] = Field(min_length=1)


class _Survey(_Letter):
    survey_nonce: str = Field(pattern="^[0-9a-f]{32}$")


class _StaffNotice(_Due):
    clock_label: str = Field(min_length=1)


class _Restriction(_Due):
    """A contact restriction: what it means for them (`explanation`), exactly what
    (`message`), why (`reasons`), and its review date (`due`)."""

    explanation: str = Field(min_length=1)
    message: str = Field(min_length=1)
    reasons: str = Field(min_length=1)


class _Routed(_Due):
    team: str = Field(min_length=1)


class _Message(_Letter):
    message: str = Field(min_length=1)


class _HoldingReply(_Due):
    reasons: str = Field(min_length=1)


class _PassedToTeam(_Due):
    team: str = Field(min_length=1)
    next_steps: str = Field(min_length=1)


class _ServiceRequestReply(_Due):
    message: str = Field(min_length=1)


LETTER_MODELS: dict[LetterKind, type[_Letter]] = {
    LetterKind.complaint_received: _Received,
    LetterKind.stage1_acknowledgement: _Acknowledgement,
    LetterKind.stage2_acknowledgement: _Acknowledgement,
    LetterKind.extension: _Extension,
    LetterKind.exceptional_extension: _ExceptionalExtension,
    LetterKind.stage1_response: _Stage1Response,
    LetterKind.stage2_response: _Response,
    LetterKind.refusal: _Refusal,
    LetterKind.service_request: _Letter,
    LetterKind.withdrawal: _Letter,
    LetterKind.escalation_received: _Promises,
    LetterKind.new_complaint_opened: _NewComplaint,
    LetterKind.case_closed: _Window,
    LetterKind.satisfaction_survey: _Survey,
    LetterKind.actions_completed: _ActionsCompleted,
    LetterKind.deadline_reminder: _StaffNotice,
    LetterKind.deadline_breach: _StaffNotice,
    LetterKind.enquiry_received: _Due,
    LetterKind.enquiry_routed: _Routed,
    LetterKind.enquiry_reply: _Message,
    LetterKind.enquiry_holding_reply: _HoldingReply,
    LetterKind.enquiry_passed_to_team: _PassedToTeam,
    LetterKind.enquiry_update: _Message,
    LetterKind.enquiry_service_request: _ServiceRequestReply,
    LetterKind.contact_restriction: _Restriction,
    LetterKind.person_review: _StaffNotice,
}

# How the letter checks name what is missing, for staff.
FIELD_NAMES: dict[str, str] = {
    "due": "the date it is due",
    "previous_due": "the date it was due before",
    "points": "the points of the complaint",
    "outcome_sought": "the outcome the resident is looking for",
    "reasons": "the reasons",
    "decisions": "a decision on each point",
    "escalation_deadline": "the last day to ask for stage 2",
    "decline_reason": "the reason we cannot accept it",
    "linked_reference": "the new complaint's reference",
    "clock_label": "which promise it is about",
    "team": "the team that has it",
    "message": "the reply itself",
    "survey_nonce": "the survey link's number",
    "completed_actions": "the actions completed",
    "next_steps": "the next steps",
    "contact_working_days": "the working days the policy gives to contact the resident",
    "acknowledgement_working_days": "the working days the policy gives to acknowledge",
    "escalation_working_days": "the working days the policy gives to ask for stage 2",
}


def letter_problems(kind: LetterKind, context: LetterContext) -> list[str]:
    """The field names this kind of letter needs and `context` lacks (empty when it can be made)."""
    model = LETTER_MODELS[kind]
    try:
        model.model_validate(context.model_dump(include=set(model.model_fields)))
    except ValidationError as err:
        return sorted({str(e["loc"][0]) for e in err.errors() if e["loc"]})
    return []


def describe_letter_problems(kind: LetterKind, missing: list[str]) -> str:
    wanted = ", ".join(FIELD_NAMES.get(name, name.replace("_", " ")) for name in missing)
    return (
        f"The {kind.value.replace('_', ' ')} letter this step sends cannot be made: it needs "
        f"{wanted}. Give them and try again."
    )
