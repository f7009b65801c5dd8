"""The workflows' client API: lodge complaints and enquiries, perform staff steps, read a case.
Each function takes a connected client, so the starter, the admin app (through admin/temporal.py)
and the tests all go through the same code.

Client side only: no workflow definition may import this module (workflow code runs in Temporal's
sandbox; this module starts workflows and talks to the server)."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from domain.clocks import bank_holidays_around
from domain.complaint import STEP_MODELS, ComplaintStatus, LodgeComplaint, Step, workflow_id
from domain.enquiry import (
    ENQUIRY_STEP_MODELS,
    EnquiryStatus,
    EnquiryStep,
    LodgeEnquiry,
    enquiry_workflow_id,
)
from domain.intake import check_received_at
from domain.policy import Policy
from domain.references import new_reference
from domain.step_result import StepResult
from workflows.complaint import ComplaintWorkflow
from workflows.enquiry import EnquiryWorkflow
from workflows.search_attributes import CASE_STAGE, CASE_STATUS, CASE_TYPE

_random = random.SystemRandom()


class StepRejected(Exception):
    """A staff step the case refused, with the plain-English reason; `reasons`: each problem
    found, as {"text", "field"} (the step's field it is about, dotted, or None)."""

    def __init__(self, message: str, reasons: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.reasons = reasons or [{"text": message, "field": None}]


class CaseNotFound(Exception):
    pass


def new_complaint_reference(seed: str | None = None) -> str:
    """A fresh reference, or, given a seed (a form's submission token), always the same one for
    it: the same form sent twice then finds the complaint it already made."""
    return new_reference("CMP", random.Random(seed) if seed else _random)


def new_enquiry_reference(seed: str | None = None) -> str:
    """As new_complaint_reference; the seed is an email's Message-ID."""
    return new_reference("ENQ", random.Random(seed) if seed else _random)


def is_enquiry(reference: str) -> bool:
    return reference.upper().startswith("ENQ-")


# tries of references derived from one submission key before giving up: the key itself, then
# key#1, key#2... (each further one needs another 1 in 32^8 collision)
REFERENCE_ATTEMPTS = 5


class ReferencesTaken(Exception):
    """Every reference derived from a submission key belongs to another case."""


class LodgeResult(BaseModel):
    """What lodging did: the case's reference, and whether this call started it (False: the
    same submission had already lodged it)."""

    model_config = ConfigDict(frozen=True)

    reference: str
    kind: Literal["complaint", "enquiry"]
    created: bool


@dataclass(frozen=True)
class _Kind:
    name: Literal["complaint", "enquiry"]
    new_reference: Callable[[str | None], str]
    start: Callable[..., Any]  # lodge / lodge_enquiry
    same: Callable[..., Any]  # _same_complaint / _same_enquiry


async def lodge_once(
    client: Client,
    case: LodgeComplaint | LodgeEnquiry,
    task_queue: str,
    *,
    policy: Policy,
    submission_key: str | None = None,
    now: datetime | None = None,
) -> LodgeResult:
    """Lodge a complaint or an enquiry: the one way in for every intake (forms, API, email, CLI).

    - A `received_at` more than a minute after `now` (default: the system clock) is refused with
      `domain.intake.ReceivedInFuture`, naming the field, before anything starts.
    - The case is stamped with `policy` (the landlord's current one, `settings.policy`), which it
      keeps for life, and with the bank holidays of the years around its receipt on that
      policy's calendar, so it plans its first clocks with no activity.
    - With a `submission_key` (a form's submission token, an Idempotency-Key, a Message-ID) the
      reference is derived from the key, so sending the same submission again finds the case the
      first one started and returns it with created=False. A derived reference that belongs to a
      different case (1 in 32^8) moves on to the next one derived from the key (key#1, ...), so
      a retry still finds its own case; ReferencesTaken after REFERENCE_ATTEMPTS.
    - Without a key the case's own reference is used, and a reference in use raises
      WorkflowAlreadyStartedError.

    RPCError and WorkflowQueryFailedError (Temporal unreachable, no worker to answer) go to the
    caller.
    """
    check_received_at(case.received_at, now or datetime.now(UTC))
    kind = _KINDS[type(case)]
    holidays = bank_holidays_around(policy, case.received_at)
    stamped = case.model_copy(update={"policy": policy, "bank_holidays": holidays})
    if not submission_key:
        await kind.start(client, stamped, task_queue)
        return LodgeResult(reference=stamped.reference, kind=kind.name, created=True)
    for attempt in range(REFERENCE_ATTEMPTS):
        seed = submission_key if attempt == 0 else f"{submission_key}#{attempt}"
        candidate = stamped.model_copy(update={"reference": kind.new_reference(seed)})
        try:
            await kind.start(client, candidate, task_queue)
        except WorkflowAlreadyStartedError:
            if await kind.same(client, candidate):
                return LodgeResult(reference=candidate.reference, kind=kind.name, created=False)
            continue  # another case has this reference: the next one derived from the key
        return LodgeResult(reference=candidate.reference, kind=kind.name, created=True)
    raise ReferencesTaken(
        f"Every reference derived from this submission ({REFERENCE_ATTEMPTS} tried) belongs to "
        "another case."
    )


async def same_submission(client: Client, case: LodgeComplaint | LodgeEnquiry) -> bool:
    """Whether the case already lodged under `case.reference` was made by the same submission:
    compared on what its status Query returns that no step changes."""
    return bool(await _KINDS[type(case)].same(client, case))


async def _same_complaint(client: Client, complaint: LodgeComplaint) -> bool:
    try:
        existing = await status(client, complaint.reference)
    except CaseNotFound:
        return False
    mine = (complaint.resident.name, complaint.channel, complaint.description)
    return (existing.resident.name, existing.channel, existing.description) == mine


async def _same_enquiry(client: Client, enquiry: LodgeEnquiry) -> bool:
    """The same Message-ID for an email; otherwise the same person, channel and message."""
    try:
        existing = await enquiry_status(client, enquiry.reference)
    except CaseNotFound:
        return False
    if enquiry.message_id:
        return existing.message_id == enquiry.message_id

    def key(case: LodgeEnquiry | EnquiryStatus) -> tuple[Any, ...]:
        person = case.enquirer
        email = str(person.email).lower() if person.email else None
        return (person.name, email, case.channel, case.subject, case.message)

    return key(existing) == key(enquiry)


async def lodge(client: Client, complaint: LodgeComplaint, task_queue: str) -> str:
    """Start the complaint's workflow as it is: no checks, no policy stamp (intake goes through
    lodge_once). Raises WorkflowAlreadyStartedError for a reference in use."""
    await _start_case(
        client, ComplaintWorkflow.run, complaint, workflow_id(complaint.reference), task_queue,
        ("complaint", "triage", "awaiting_triage"),
    )  # fmt: skip
    return complaint.reference


async def lodge_enquiry(client: Client, enquiry: LodgeEnquiry, task_queue: str) -> str:
    """As lodge, for an enquiry."""
    await _start_case(
        client, EnquiryWorkflow.run, enquiry, enquiry_workflow_id(enquiry.reference), task_queue,
        ("enquiry", "enquiry", "open"),
    )  # fmt: skip
    return enquiry.reference


async def _start_case(
    client: Client, run: Any, case: Any, wid: str, task_queue: str, kind: tuple[str, str, str]
) -> None:
    """Start a case's workflow (REJECT_DUPLICATE: a reference in use raises
    WorkflowAlreadyStartedError) with its search attributes (type, stage, status) set from the
    start, so it is findable before its first workflow task runs."""
    case_type, stage, state = kind
    await client.start_workflow(
        run,
        case,
        id=wid,
        task_queue=task_queue,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        search_attributes=TypedSearchAttributes(
            [
                SearchAttributePair(CASE_TYPE, case_type),
                SearchAttributePair(CASE_STAGE, stage),
                SearchAttributePair(CASE_STATUS, state),
            ]
        ),
        static_summary=f"{case_type.capitalize()} {case.reference}",
    )


_KINDS: dict[type, _Kind] = {
    LodgeComplaint: _Kind("complaint", new_complaint_reference, lodge, _same_complaint),
    LodgeEnquiry: _Kind("enquiry", new_enquiry_reference, lodge_enquiry, _same_enquiry),
}


def parse_step(step: Step | str, payload: dict[str, Any]) -> Any:
    """Validate a complaint step's payload, raising ValidationError naming each bad field."""
    return STEP_MODELS[Step(step)].model_validate(payload)


def parse_enquiry_step(step: EnquiryStep | str, payload: dict[str, Any]) -> Any:
    return ENQUIRY_STEP_MODELS[EnquiryStep(step)].model_validate(payload)


async def perform_step(
    client: Client, reference: str, step: Step | str, payload: dict[str, Any]
) -> StepResult:
    """Take the step; where the case now stands (the whole case: `status`, or its record once
    the record shows the result's revision)."""
    name = Step(step)
    arg = parse_step(name, payload)
    return await _update(client, workflow_id(reference), reference, name, arg)


async def perform_enquiry_step(
    client: Client, reference: str, step: EnquiryStep | str, payload: dict[str, Any]
) -> StepResult:
    name = EnquiryStep(step)
    arg = parse_enquiry_step(name, payload)
    return await _update(client, enquiry_workflow_id(reference), reference, name, arg)


async def _update(
    client: Client, wid: str, reference: str, name: Step | EnquiryStep, arg: Any
) -> StepResult:
    handle = client.get_workflow_handle(wid)
    try:
        return await handle.execute_update(name.value, arg, result_type=StepResult)
    except WorkflowUpdateFailedError as err:
        raise StepRejected(_reason(err), _reasons(err)) from err
    except RPCError as err:
        if err.status is RPCStatusCode.NOT_FOUND:
            raise CaseNotFound(
                f"No open case with reference {reference}: it may be closed already."
            ) from err
        raise


async def status(client: Client, reference: str) -> ComplaintStatus:
    return await _query(client, workflow_id(reference), reference, ComplaintWorkflow.status)


async def enquiry_status(client: Client, reference: str) -> EnquiryStatus:
    wid = enquiry_workflow_id(reference)
    return await _query(client, wid, reference, EnquiryWorkflow.status)


async def _query(client: Client, wid: str, reference: str, query: Any) -> Any:
    handle = client.get_workflow_handle(wid)
    try:
        return await handle.query(query)
    except RPCError as err:
        if err.status is RPCStatusCode.NOT_FOUND:
            raise CaseNotFound(f"No case with reference {reference}.") from err
        raise


def _reasons(err: WorkflowUpdateFailedError) -> list[dict[str, Any]] | None:
    cause = err.cause
    if not isinstance(cause, ApplicationError):
        return None
    found = [
        {"text": str(d["text"]), "field": d.get("field")}
        for d in cause.details
        if isinstance(d, dict) and d.get("text")
    ]
    return found or None


def _reason(err: WorkflowUpdateFailedError) -> str:
    cause = err.cause
    if isinstance(cause, ApplicationError):
        return cause.message
    return str(cause or err)


def describe_validation_error(err: ValidationError) -> list[str]:
    """'resident.email: value is not a valid email address' — one line a problem."""
    lines = []
    for e in err.errors():
        where = ".".join(str(p) for p in e["loc"]) or "input"
        lines.append(f"{where}: {e['msg']}")
    return lines
