"""What the workflow hands the records activity: the case as it now stands and what happened."""

from __future__ import annotations

from datetime import datetime
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


class CaseSnapshot(CaseSummary):
    """The projection the admin UI lists and reports read. Personal data lives only here and in
    the case's (encrypted) workflow payloads, never in search attributes or logs."""

    workflow_id: str
    # What reports count a complaint under (none for enquiries, or complaints not yet classified)
    category: str | None = None
    tenure: str | None = None
    property_reference: str | None = None
    point_outcomes: list[PointOutcomeRow] = Field(default_factory=list)
    data: dict[str, Any] = Field(default_factory=dict)  # the full status, for the case page
    updated_at: datetime

    def summary(self) -> CaseSummary:
        return CaseSummary.model_validate(self.model_dump(include=set(CaseSummary.model_fields)))


class RecordRequest(Strict):
    snapshot: CaseSnapshot
    events: list[TimelineEntry] = Field(default_factory=list)
