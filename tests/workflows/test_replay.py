"""Cases live for weeks, so the workflow code must replay the histories of cases started by the
code before it. Two histories were recorded with the code of commit ad7a88f (before cases
carried a policy, before the step rules moved to domain/ and letters were checked in the step):
a complaint through both stages with an extension and a reminder, and an enquiry with a holding
reply and a breach. A third, complaint-remedies-d282dd2.json, was recorded with the code of commit
d282dd2 (before remedies were tracked and closed complaints kept for the Ombudsman): a complaint
through both stages with two promised actions and compensation at both stages. Replaying them
with today's code must raise no non-determinism error.

Two more (`*-db5f244.json`) were recorded with the code of commit db5f244, the last before cases
planned their own clocks, performed each commit's effects in one activity and answered every
patch with one marker: the code production cases were running then. And two (`*-lean.json`) with
that change, so a later change must replay them too. Two (`*-stamped.json`) with cases lodged by
lodge_once with their bank holidays (no local activity), under the shipped policy, the complaint
run on until it completes a year after its final response. All come from bench/history_length.py
(`--save`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from workflows.complaint import ComplaintWorkflow
from workflows.enquiry import EnquiryWorkflow

HISTORIES = Path(__file__).parent / "histories"


@pytest.mark.parametrize(
    "name",
    [
        "complaint-two-stages.json",
        "enquiry-holding-reply.json",
        "complaint-remedies-d282dd2.json",
        "complaint-two-stages-db5f244.json",
        "enquiry-db5f244.json",
        "complaint-two-stages-lean.json",
        "enquiry-lean.json",
        "complaint-two-stages-stamped.json",
        "enquiry-stamped.json",
    ],
)
async def test_a_case_started_by_earlier_code_replays(name: str) -> None:
    text = (HISTORIES / name).read_text()
    events = json.loads(text)["events"]
    assert events[-1]["eventType"] == "EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED"
    replayer = Replayer(
        workflows=[ComplaintWorkflow, EnquiryWorkflow], data_converter=pydantic_data_converter
    )
    result = await replayer.replay_workflow(WorkflowHistory.from_json(name, text))
    assert result.replay_failure is None, result.replay_failure
