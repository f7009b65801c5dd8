"""What the workflow hands the records activity: the case as it now stands and what happened."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import Field

from domain.people import Strict


class TimelineEntry(Strict):
    """One thing that happened on a case. `seq` counts from 1 within the case and, with the
    reference, makes writing the entry idempotent."""

    seq: int = Field(ge=1)
    at: datetime
    step: str
    actor: str | None = None
    summary: str
    details: dict[str, Any] = Field(default_factory=dict)


class CaseSummary(Strict):
    """A case as lists and search show it."""

    reference: str
    kind: str = "complaint"
    stage: str
    status: str
    owner_id: str | None = None
    resident_name: str
    postcode: str | None = None
    channel: str
    received_at: datetime
    next_deadline: datetime | None = None
    next_deadline_label: str | None = None
    next_deadline_key: str | None = None  # which clock (domain.clocks.ClockKey), for urgency
    overdue: bool = False
    closure_reason: str | None = None
    closed_at: datetime | None = None
    linked_references: list[str] = Field(default_factory=list)


class PointOutcomeRow(Strict):
    """One point's decision at a stage, for reports to count (`case_point_outcomes`)."""

    stage: int = Field(ge=1, le=2)
    point_index: int = Field(ge=0)
    decision: str
    root_cause: str | None = None


class ActionRow(Strict):
    """An action a response promised, tracked to completion (`case_actions`)."""

    n: int = Field(ge=1)
    stage: int = Field(ge=1, le=2)
    action: str
    owner: str
    responsible_id: str | None = None
    due_on: date
    done_on: date | None = None
    done_by: str | None = None
    note: str | None = None


class CompensationOfferRow(Strict):
    """Compensation offered in a stage's response (`compensation_offers`)."""

    stage: int = Field(ge=1, le=2)
    amount: Decimal
    offered_on: date
    basis: str | None = None  # replaces / adds (stage 2, when stage 1 offered some)


class CompensationPaymentRow(Strict):
    """Compensation paid, or the offer declined (`compensation_payments`)."""

    seq: int = Field(ge=1)
    amount: Decimal
    paid_on: date
    declined: bool = False


class OmbudsmanRow(Strict):
    """The Ombudsman's case about a complaint (`ombudsman_cases`)."""

    ombudsman_reference: str
    referred_on: date
    determination: str | None = None
    determined_on: date | None = None
    findings: str | None = None


class OmbudsmanRequestRow(Strict):
    """A request for evidence from the Ombudsman (`ombudsman_requests`)."""

    n: int = Field(ge=1)
    description: str
    requested_on: date
    due_on: date
    sent_on: date | None = None


class OmbudsmanOrderRow(Strict):
    """An order or recommendation of the Ombudsman (`ombudsman_orders`)."""

    n: int = Field(ge=1)
    kind: str  # order, recommendation, complaint_handling_failure
    description: str
    made_on: date
    due_on: date
    complied_on: date | None = None
    evidence: str | None = None


class ClockRow(Strict):
    """One of a case's clocks as reports count it (`case_clocks`): which promise, when it was
    due, and what became of it (domain/promises.py `Outcome`). Made by the records store from
    the clocks in the snapshot's `data`."""

    clock: str  # domain.clocks.clock_id: the key, or "remedy_action:2"
    key: str
    item: int | None = None
    channel: str  # the case's: an enquiry's reply clock is the promise of its channel
    due: datetime
    due_day: date
    due_month: str  # YYYY-MM of due_day, for monthly figures
    original_due_day: date
    extensions: int = 0
    extended_by_working_days: int = 0
    exceptional_extension: bool = False
    started_on: date | None = None
    met_at: datetime | None = None
    met_on: date | None = None
    breached_at: datetime | None = None
    outcome: str
    # working days from started_on to met_on (none without both, or without the calendar)
    working_days_taken: int | None = None


class CaseSnapshot(CaseSummary):
    """The projection the admin UI lists and reports read. Personal data lives only here and in
    the case's (encrypted) workflow payloads, never in search attributes or logs."""

    workflow_id: str
    # What reports count a complaint under (none for enquiries, or complaints not yet classified)
    category: str | None = None
    tenure: str | None = None
    property_reference: str | None = None
    point_outcomes: list[PointOutcomeRow] = Field(default_factory=list)
    # what a complaint led to (complaints only): each list is the whole of it as it now stands
    actions: list[ActionRow] = Field(default_factory=list)
    compensation_offers: list[CompensationOfferRow] = Field(default_factory=list)
    compensation_payments: list[CompensationPaymentRow] = Field(default_factory=list)
    ombudsman: OmbudsmanRow | None = None
    ombudsman_requests: list[OmbudsmanRequestRow] = Field(default_factory=list)
    ombudsman_orders: list[OmbudsmanOrderRow] = Field(default_factory=list)
    actions_outstanding: bool = False
    data: dict[str, Any] = Field(default_factory=dict)  # the full status, for the case page
    updated_at: datetime

    def summary(self) -> CaseSummary:
        return CaseSummary.model_validate(self.model_dump(include=set(CaseSummary.model_fields)))


class RecordRequest(Strict):
    snapshot: CaseSnapshot
    events: list[TimelineEntry] = Field(default_factory=list)
