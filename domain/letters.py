"""What a letter is, as the workflow asks for it and as the letters activity delivers it."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from pydantic import EmailStr, Field

from domain.people import Address, Strict


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
    # to the resident, about an enquiry (customer service standards)
    enquiry_received = "enquiry_received"  # the automatic confirmation of an email
    enquiry_routed = "enquiry_routed"  # addressed to the chief executive or a director
    enquiry_reply = "enquiry_reply"
    enquiry_holding_reply = "enquiry_holding_reply"
    enquiry_passed_to_team = "enquiry_passed_to_team"
    enquiry_update = "enquiry_update"
    enquiry_service_request = "enquiry_service_request"
    # to staff
    deadline_reminder = "deadline_reminder"
    deadline_breach = "deadline_breach"


STAFF_LETTERS = frozenset({LetterKind.deadline_reminder, LetterKind.deadline_breach})
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


class PointDecision(Strict):
    point: str = Field(min_length=1, max_length=2000)
    decision: Decision
    reasons: str = Field(min_length=1, max_length=5000)


class RemedyAction(Strict):
    action: str = Field(min_length=1, max_length=2000)
    owner: str = Field(min_length=1, max_length=200)
    due: date


class Remedies(Strict):
    apology: str | None = Field(default=None, max_length=5000)
    actions: list[RemedyAction] = Field(default_factory=list)
    compensation: Decimal | None = Field(default=None, ge=0, max_digits=9, decimal_places=2)


class LetterContext(Strict):
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
    decline_reason: str | None = None
    explanation: str | None = None
    owner_name: str | None = None
    clock_label: str | None = None
    linked_reference: str | None = None
    # enquiries
    message: str | None = None  # the reply as staff wrote it
    team: str | None = None  # who has the enquiry now
    next_steps: str | None = None
    addressed_to: str | None = None


class LetterRequest(Strict):
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
