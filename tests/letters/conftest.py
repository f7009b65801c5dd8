"""Fixtures for the letters tests: settings with a private outbox, a fake SendGrid, and
realistic letter requests for every kind."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

import pytest

from config import Settings
from domain.letters import (
    STAFF_LETTERS,
    CompletedAction,
    Decision,
    Delivery,
    LetterContext,
    LetterKind,
    LetterRequest,
    PointDecision,
    Recipient,
    Remedies,
    RemedyAction,
)
from domain.people import Address
from tests.fakes.sendgrid_server import FakeSendGrid
from tests.support import SURVEY_SECRET

REFERENCE = "CMP-2026-0042"
RESIDENT_NAME = "Eleanor Quigley-Adebayo"
RESIDENT_EMAIL = "eleanor.quigley@example.org"
RESIDENT_ADDRESS = Address(
    lines=["Flat 3, Orchard House", "12 Mill Lane", "Sevenoaks"], postcode="TN13 2QX"
)
OWNER_NAME = "Priya Shah"
OWNER_EMAIL = "priya.shah@wkha.org.uk"
NOW = datetime(2026, 12, 1, 10, 30, tzinfo=UTC)  # Tuesday 1 December 2026

POINTS = [
    "The repair to the kitchen ceiling leak, reported on 2 October, has not been done.",
    "Two repair appointments were missed without warning.",
    "Nobody called back when promised.",
]
OUTCOME = "Fix the leak, make good the ceiling, and compensate me for the missed days at work."


def context_for(kind: LetterKind, **overrides: Any) -> LetterContext:
    """A realistic context for `kind`, as the complaint workflow would fill it."""
    base: dict[str, Any] = {
        "reference": REFERENCE,
        "resident_name": RESIDENT_NAME,
        "stage": 1,
        "points": list(POINTS),
        "outcome_sought": OUTCOME,
        # West Kent's promises, as the complaint workflow copies them from the case's policy
        "contact_working_days": 3,
        "acknowledgement_working_days": 5,
        "escalation_working_days": 20,
    }
    due = datetime(2026, 12, 29, 17, 15, tzinfo=UTC)  # Tuesday 29 December 2026, 5:15pm
    decisions = [
        PointDecision(
            point=POINTS[0],
            decision=Decision.upheld,
            reasons="Our contractor did not order the part in time.",
        ),
        PointDecision(
            point=POINTS[1],
            decision=Decision.partly_upheld,
            reasons="One appointment was missed; the other was cancelled by text the day before.",
        ),
        PointDecision(
            point=POINTS[2],
            decision=Decision.not_upheld,
            reasons="Our records show we called back on 14 October and left a voicemail.",
        ),
    ]
    remedies = Remedies(
        apology="We are sorry that the leak was not fixed when we said it would be.",
        actions=[
            RemedyAction(
                action="Repair the leak and replaster the kitchen ceiling",
                owner="Repairs Team",
                due=date(2027, 1, 15),
            )
        ],
        compensation=Decimal("1234.50"),
    )
    enquiry: dict[str, Any] = {"stage": None, "points": [], "outcome_sought": None}
    enquiry_due = datetime(2026, 12, 2, 17, 15, tzinfo=UTC)  # Wednesday 2 December 2026
    per_kind: dict[LetterKind, dict[str, Any]] = {
        LetterKind.complaint_received: {"due": due},
        LetterKind.stage1_acknowledgement: {"due": due, "owner_name": OWNER_NAME},
        LetterKind.stage2_acknowledgement: {
            "stage": 2,
            "due": datetime(2027, 2, 23, 17, 15, tzinfo=UTC),
            "owner_name": "Tom Reid",
        },
        LetterKind.extension: {
            "due": datetime(2027, 1, 12, 17, 15, tzinfo=UTC),
            "previous_due": due,
            "reasons": "We are waiting for a report from the roofing contractor.",
        },
        LetterKind.exceptional_extension: {
            "due": datetime(2027, 2, 5, 16, 45, tzinfo=UTC),
            "previous_due": datetime(2027, 1, 12, 17, 15, tzinfo=UTC),
            "reasons": "The structural survey cannot take place until late January.",
        },
        LetterKind.stage1_response: {
            "decisions": decisions,
            "remedies": remedies,
            "reasons": "We have partly upheld your complaint.",
            "escalation_deadline": datetime(2027, 1, 27, 17, 15, tzinfo=UTC),
            "owner_name": OWNER_NAME,
        },
        LetterKind.stage2_response: {
            "stage": 2,
            "decisions": decisions,
            "remedies": remedies,
            "reasons": "Having reviewed the stage 1 response, we agree with most of it.",
            "owner_name": "Tom Reid",
        },
        LetterKind.refusal: {
            "decline_reason": (
                "it was made more than 12 months after the incident, or after you became "
                "aware of it"
            ),
            "explanation": "The leak you describe was repaired in March 2024.",
        },
        LetterKind.service_request: {
            "explanation": "A repairs operative will call you within 2 working days to book."
        },
        LetterKind.withdrawal: {"reasons": "The repair has now been done."},
        LetterKind.escalation_received: {
            "stage": 2,
            "due": datetime(2027, 1, 20, 17, 15, tzinfo=UTC),
            "owner_name": "Tom Reid",
        },
        LetterKind.new_complaint_opened: {
            "stage": 2,
            "points": ["The caretaker was rude to me on 3 January."],
            "linked_reference": "CMP-2027-0007",
        },
        LetterKind.case_closed: {},
        LetterKind.satisfaction_survey: {"survey_nonce": "0123456789abcdef0123456789abcdef"},
        LetterKind.actions_completed: {
            "completed_actions": [
                CompletedAction(
                    action="Repair the leak and replaster the kitchen ceiling",
                    done_on=date(2027, 1, 12),  # Tuesday
                ),
                CompletedAction(
                    action="Check the loft above the kitchen for further leaks",
                    done_on=date(2027, 1, 14),  # Thursday
                ),
            ]
        },
        LetterKind.deadline_reminder: {"due": due, "clock_label": "Stage 1: response"},
        LetterKind.deadline_breach: {"due": due, "clock_label": "Stage 1: response"},
        # enquiries have no stage, points or outcome sought
        LetterKind.enquiry_received: enquiry | {"due": enquiry_due},
        LetterKind.enquiry_routed: enquiry
        | {
            "team": "Customer resolution team",
            "due": enquiry_due,
            "addressed_to": "our Chief Executive",
        },
        LetterKind.enquiry_reply: enquiry | {"message": "Your rent account is now up to date."},
        LetterKind.enquiry_holding_reply: enquiry
        | {"due": enquiry_due, "reasons": "We are checking your payments with our bank."},
        LetterKind.enquiry_passed_to_team: enquiry
        | {
            "team": "Repairs",
            "next_steps": "A surveyor will look at the damp in your bathroom.",
            "due": enquiry_due,
        },
        LetterKind.enquiry_update: enquiry
        | {"message": "The surveyor's report is back.", "team": "Repairs", "due": enquiry_due},
        LetterKind.enquiry_service_request: enquiry
        | {"message": "We will replace the broken fence panel.", "due": enquiry_due},
        # about a person record (domain/persons.py)
        LetterKind.contact_restriction: {
            "explanation": "Please contact us only by email.",
            "message": "Email complaints@wkha.example; we will reply within 5 working days.",
            "reasons": "On 4 January you shouted at our receptionist and threatened her.",
            "due": datetime(2027, 4, 5, 12, 0, tzinfo=UTC),
        },
        LetterKind.person_review: {
            "due": datetime(2027, 4, 5, 12, 0, tzinfo=UTC),
            "clock_label": "Review of the contact restriction recorded on the person record",
        },
    }
    return LetterContext(**(base | per_kind[kind] | overrides))


def request_for(
    kind: LetterKind, delivery: Delivery = Delivery.email, key: str | None = None, **context: Any
) -> LetterRequest:
    if kind in STAFF_LETTERS:
        recipient = Recipient(name=OWNER_NAME, email=OWNER_EMAIL, role="owner")
    else:
        recipient = Recipient(name=RESIDENT_NAME, email=RESIDENT_EMAIL, address=RESIDENT_ADDRESS)
    return LetterRequest(
        reference=REFERENCE,
        key=key or kind.value,
        kind=kind,
        delivery=delivery,
        recipient=recipient,
        context=context_for(kind, **context),
    )


@dataclass(frozen=True)
class SampleCase:
    """The sample case's personal data and dates, for assertions."""

    reference: str = REFERENCE
    resident_name: str = RESIDENT_NAME
    resident_email: str = RESIDENT_EMAIL
    resident_address: Address = field(default_factory=lambda: RESIDENT_ADDRESS)
    owner_name: str = OWNER_NAME
    owner_email: str = OWNER_EMAIL
    points: tuple[str, ...] = tuple(POINTS)
    outcome_sought: str = OUTCOME
    now: datetime = NOW


class MakeRequest(Protocol):
    def __call__(
        self,
        kind: LetterKind,
        delivery: Delivery = ...,
        key: str | None = ...,
        **context: Any,
    ) -> LetterRequest: ...


@pytest.fixture
def case() -> SampleCase:
    return SampleCase()


@pytest.fixture
def make_request() -> MakeRequest:
    """`make_request(kind, delivery=Delivery.email, key=None, **context overrides)`."""
    return request_for


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """No SendGrid key: email goes to the outbox under tmp_path."""
    return Settings(outbox_dir=tmp_path / "outbox", survey_secret=SURVEY_SECRET)


@pytest.fixture
def fake_sendgrid() -> Iterator[FakeSendGrid]:
    with FakeSendGrid(api_key="SG.test-key") as fake:
        yield fake


@pytest.fixture
def sendgrid_settings(tmp_path: Path, fake_sendgrid: FakeSendGrid) -> Settings:
    return Settings(
        outbox_dir=tmp_path / "outbox",
        sendgrid_api_key="SG.test-key",
        sendgrid_host=fake_sendgrid.url,
        survey_secret=SURVEY_SECRET,
    )
