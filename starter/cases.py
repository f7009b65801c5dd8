"""Lodge complaints and enquiries and perform staff steps. Each function takes a connected
client, so the CLI, the admin app and the tests all go through the same code."""

from __future__ import annotations

import random
from typing import Any

from pydantic import ValidationError
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from domain.complaint import STEP_MODELS, ComplaintStatus, LodgeComplaint, Step, workflow_id
from domain.enquiry import (
    ENQUIRY_STEP_MODELS,
    EnquiryStatus,
    EnquiryStep,
    LodgeEnquiry,
    enquiry_workflow_id,
)
from domain.references import new_reference
from workflows.complaint import ComplaintWorkflow
from workflows.enquiry import EnquiryWorkflow
from workflows.search_attributes import CASE_STAGE, CASE_STATUS, CASE_TYPE

_random = random.SystemRandom()


class StepRejected(Exception):
    """A staff step the case refused, with the plain-English reason."""


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


async def lodge(client: Client, complaint: LodgeComplaint, task_queue: str) -> str:
    """Start the complaint's workflow. Lodging the same reference twice starts nothing new."""
    await _start_case(
        client, ComplaintWorkflow.run, complaint, workflow_id(complaint.reference), task_queue,
        ("complaint", "triage", "awaiting_triage"),
    )  # fmt: skip
    return complaint.reference


async def lodge_enquiry(client: Client, enquiry: LodgeEnquiry, task_queue: str) -> str:
    """Start the enquiry's workflow; raises WorkflowAlreadyStartedError for a reference in use."""
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


def parse_step(step: Step | str, payload: dict[str, Any]) -> Any:
    """Validate a complaint step's payload, raising ValidationError naming each bad field."""
    return STEP_MODELS[Step(step)].model_validate(payload)


def parse_enquiry_step(step: EnquiryStep | str, payload: dict[str, Any]) -> Any:
    return ENQUIRY_STEP_MODELS[EnquiryStep(step)].model_validate(payload)


async def perform_step(
    client: Client, reference: str, step: Step | str, payload: dict[str, Any]
) -> ComplaintStatus:
    name = Step(step)
    arg = parse_step(name, payload)
    return await _update(client, workflow_id(reference), reference, name, arg, ComplaintStatus)


async def perform_enquiry_step(
    client: Client, reference: str, step: EnquiryStep | str, payload: dict[str, Any]
) -> EnquiryStatus:
    name = EnquiryStep(step)
    arg = parse_enquiry_step(name, payload)
    wid = enquiry_workflow_id(reference)
    return await _update(client, wid, reference, name, arg, EnquiryStatus)


async def _update(
    client: Client, wid: str, reference: str, name: Step | EnquiryStep, arg: Any, result: Any
) -> Any:
    handle = client.get_workflow_handle(wid)
    try:
        return await handle.execute_update(name.value, arg, result_type=result)
    except WorkflowUpdateFailedError as err:
        raise StepRejected(_reason(err)) from err
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
