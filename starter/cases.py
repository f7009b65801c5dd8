"""Lodge complaints and perform staff steps. Each function takes a connected client, so the CLI,
the admin app and the tests all go through the same code."""

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
from domain.references import new_reference
from workflows.complaint import ComplaintWorkflow
from workflows.search_attributes import CASE_STAGE, CASE_STATUS, CASE_TYPE

_random = random.SystemRandom()


class StepRejected(Exception):
    """A staff step the case refused, with the plain-English reason."""


class CaseNotFound(Exception):
    pass


def new_complaint_reference() -> str:
    return new_reference("CMP", _random)


async def lodge(client: Client, complaint: LodgeComplaint, task_queue: str) -> str:
    """Start the complaint's workflow. Lodging the same reference twice starts nothing new."""
    await client.start_workflow(
        ComplaintWorkflow.run,
        complaint,
        id=workflow_id(complaint.reference),
        task_queue=task_queue,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        search_attributes=TypedSearchAttributes(
            [
                SearchAttributePair(CASE_TYPE, "complaint"),
                SearchAttributePair(CASE_STAGE, "triage"),
                SearchAttributePair(CASE_STATUS, "awaiting_triage"),
            ]
        ),
        static_summary=f"Complaint {complaint.reference}",
    )
    return complaint.reference


def parse_step(step: Step | str, payload: dict[str, Any]) -> Any:
    """Validate a step's payload, raising pydantic's ValidationError naming each bad field."""
    return STEP_MODELS[Step(step)].model_validate(payload)


async def perform_step(
    client: Client, reference: str, step: Step | str, payload: dict[str, Any]
) -> ComplaintStatus:
    name = Step(step)
    arg = parse_step(name, payload)
    handle = client.get_workflow_handle(workflow_id(reference))
    try:
        return await handle.execute_update(name.value, arg, result_type=ComplaintStatus)
    except WorkflowUpdateFailedError as err:
        raise StepRejected(_reason(err)) from err
    except RPCError as err:
        if err.status is RPCStatusCode.NOT_FOUND:
            raise CaseNotFound(f"No open case with reference {reference}.") from err
        raise


async def status(client: Client, reference: str) -> ComplaintStatus:
    handle = client.get_workflow_handle(workflow_id(reference))
    try:
        return await handle.query(ComplaintWorkflow.status)
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
