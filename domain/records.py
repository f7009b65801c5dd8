"""What the workflow hands the records activity: the case as it now stands and what happened."""

from __future__ import annotations

import copy
import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import (
    ConfigDict,
    Field,
    SerializationInfo,
    SerializerFunctionWrapHandler,
    model_serializer,
    model_validator,
)

from domain.letters import LetterRequest
from domain.people import Compact, Strict


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
    # Which commit of the case this is (1 at lodging, one more each change); none for records
    # written before cases counted them. A step's result names the revision it made, so a page
    # can tell whether the row shows it yet.
    revision: int | None = Field(default=None, ge=1)

    def summary(self) -> CaseSummary:
        return CaseSummary.model_validate(self.model_dump(include=set(CaseSummary.model_fields)))


class DataChange(Strict):
    """One change to a JSON document: the value now at `path` (keys and list indexes from the
    top; an index equal to a list's length adds an item at its end). As JSON, the pair
    `[path, value]`: a case's history keeps hundreds of them."""

    # keys are kept exactly (a key may be text someone typed)
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)

    path: list[str | int] = Field(min_length=1)
    value: Any = None

    @model_validator(mode="before")
    @classmethod
    def _from_pair(cls, data: Any) -> Any:
        if isinstance(data, list | tuple) and len(data) == 2:
            return {"path": data[0], "value": data[1]}
        return data

    @model_serializer(mode="wrap")
    def _as_pair(self, handler: SerializerFunctionWrapHandler, info: SerializationInfo) -> Any:
        data = handler(self)
        return [data["path"], data["value"]] if info.mode == "json" else data


DIFF_DEPTH = 4  # deeper than this, a changed value is sent whole


def json_changes(before: Any, after: Any, path: tuple[str | int, ...] = ()) -> list[DataChange]:
    """What turns JSON `before` into `after`: only the leaves that changed, where the shape
    allows (an object keeping its keys, a list keeping its earlier items' places) and they are
    shorter as JSON than the value they are in, else the changed value whole (a list of steps
    that all moved up one place goes as the list). In a stable order (the workflow computes
    it)."""
    if before == after:
        return []
    if len(path) >= DIFF_DEPTH:
        return [DataChange(path=list(path), value=after)]
    if isinstance(before, dict) and isinstance(after, dict) and before.keys() <= after.keys():
        parts = [
            change
            for key in sorted(after)
            for change in json_changes(before.get(key, _ABSENT), after[key], (*path, key))
        ]
    elif isinstance(before, list) and isinstance(after, list) and len(after) >= len(before):
        parts = [
            change
            for i, item in enumerate(after)
            for change in json_changes(before[i] if i < len(before) else _ABSENT, item, (*path, i))
        ]
    else:
        return [DataChange(path=list(path), value=after)]
    if not path:
        return parts
    whole = [DataChange(path=list(path), value=after)]
    return parts if _json_length(parts) < _json_length(whole) else whole


def _json_length(changes: list[DataChange]) -> int:
    return len(json.dumps([[c.path, c.value] for c in changes], separators=(",", ":")))


# The snapshot's fields the records keep as rows of their own tables (records/store.py CaseRows):
# a change to one is sent whole, and the rows of those not changed are left as they are.
CHILD_ROW_FIELDS = frozenset(
    {
        "point_outcomes",
        "actions",
        "compensation_offers",
        "compensation_payments",
        "ombudsman",
        "ombudsman_requests",
        "ombudsman_orders",
    }
)


def record_changes(before: dict[str, Any], after: dict[str, Any]) -> list[DataChange]:
    """What turns one snapshot (as JSON) into the next: leaves as `json_changes` finds them, and
    each child-row field that changed whole."""
    out: list[DataChange] = []
    for key in sorted(after.keys() | before.keys()):
        old, new = before.get(key, _ABSENT), after.get(key)
        if key in CHILD_ROW_FIELDS:
            if old != new:
                out.append(DataChange(path=[key], value=new))
        else:
            out += json_changes(old, new, (key,))
    return out


class _Absent:
    """A key or item `before` lacks (never equal to a JSON value, so it is sent)."""


_ABSENT = _Absent()


def apply_json_changes(document: Any, changes: list[DataChange], *, in_place: bool = False) -> Any:
    """`document` (JSON: dicts and lists) with the changes made, in a copy (or, `in_place`, in
    the document itself: one made for the purpose, as the records store's); making the same
    changes twice is harmless."""
    out = document if in_place else copy.deepcopy(document)
    for change in changes:
        *parents, last = change.path
        here = out
        for step in parents:
            here = here[step]
        if isinstance(here, list):
            if not isinstance(last, int) or last > len(here):
                raise ValueError(f"{change.path}: past the end of a list of {len(here)}")
            if last == len(here):
                here.append(change.value)
                continue
        here[last] = change.value
    return out


# The error type a records activity answers when changes do not follow the row's revision: the
# case then sends its whole record (records.store.RecordOutOfStep, workflows/case.py).
RECORD_OUT_OF_STEP = "RecordOutOfStep"


class RecordRequest(Compact):
    """A commit of the case for the records: the snapshot, and its new timeline entries. After
    the first, a commit sends `changes` instead of the snapshot: what turns the snapshot of the
    revision before (as JSON) into this one's. Most of a case stays the same from step to step,
    and every record request is kept in the case's workflow history."""

    snapshot: CaseSnapshot | None = None
    events: list[TimelineEntry] = Field(default_factory=list)
    reference: str | None = None  # with changes
    revision: int | None = Field(default=None, ge=2)  # with changes: the revision they make
    changes: list[DataChange] | None = None

    @model_validator(mode="after")
    def _whole_or_changes(self) -> RecordRequest:
        if (self.snapshot is None) == (self.changes is None):
            raise ValueError("a record request has a snapshot or changes, not both or neither")
        if self.changes is not None and (self.reference is None or self.revision is None):
            raise ValueError("changes need the case's reference and the revision they make")
        return self

    @property
    def case_reference(self) -> str:
        return self.snapshot.reference if self.snapshot is not None else str(self.reference)


class EffectsRequest(Compact):
    """One commit's side effects (activities/effects.py): its record, then its letters."""

    record: RecordRequest | None = None
    letters: list[LetterRequest] = Field(default_factory=list)


class EffectsOutcome(Compact):
    """What did not go: letters that failed (the workflow sends each again alone), letters the
    provider refused outright, and a record the store could not take as changes."""

    failed: dict[str, str] = Field(default_factory=dict)
    refused: dict[str, str] = Field(default_factory=dict)
    record_out_of_step: bool = False
