"""A step the API took, whose case cannot then be read back (its record not yet written, and the
case service not answering the query), says the step was taken: a client that retried on a bare
503 would try to take it twice."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from temporalio.testing import WorkflowEnvironment

from admin.case_kinds import COMPLAINT
from admin.temporal import TemporalDown
from domain.complaint import workflow_id
from tests.admin.conftest import admin_http, admin_sign_in
from tests.admin.test_public_and_api import api_complaint
from tests.support import settle


async def test_a_step_taken_but_not_read_back_says_it_was_taken(
    live_admin_app: FastAPI, env: WorkflowEnvironment
) -> None:
    perform, status = COMPLAINT.perform, COMPLAINT.status

    async def ahead_of_its_record(*args: Any) -> Any:
        done = await perform(*args)
        return done.model_copy(update={"revision": done.revision + 100})

    async def no_answer(*args: Any) -> Any:
        raise TemporalDown()

    async with admin_http(live_admin_app) as client:
        headers = {"X-CSRF-Token": await admin_sign_in(client, "jo.officer")}
        lodged = await client.post("/api/complaints", json=api_complaint(), headers=headers)
        reference = lodged.json()["reference"]
        handle = env.client.get_workflow_handle(workflow_id(reference))
        await settle(handle)
        # frozen dataclass: put back below
        object.__setattr__(COMPLAINT, "perform", ahead_of_its_record)
        object.__setattr__(COMPLAINT, "status", no_answer)
        try:
            taken = await client.post(
                f"/api/cases/{reference}/steps/accept", json={}, headers=headers
            )
        finally:
            object.__setattr__(COMPLAINT, "perform", perform)
            object.__setattr__(COMPLAINT, "status", status)
        assert taken.status_code == 503
        detail = taken.text
        assert "The step was taken" in detail and "awaiting_acknowledgement" in detail
        assert "do not send the step again" in detail
        assert (await settle(handle)).status.value == "awaiting_acknowledgement"  # taken once
