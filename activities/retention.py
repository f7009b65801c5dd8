"""The retention job's activities (workflows/retention.py): finish what a crash left, and
anonymise one batch of closed cases past their retention period.

Idempotent: a case already anonymised is not a candidate, and anonymising one is one
transaction (records/retention.py), so a retried batch does each case once. A case whose
workflow is still running (a closed complaint kept for the Ombudsman, or for an action it
promised) is never anonymised by retention, whatever its dates say.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from temporalio import activity
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from config import Settings
from domain.retention import (
    JOB,
    RetentionBatch,
    RetentionBatchDone,
    Skipped,
    Why,
    retention_for,
    shortest_years,
    years_after,
)
from records.retention import Candidate, Retention
from records.storage import storage_from_settings
from records.store import RecordsStore


async def still_running(client: Client, workflow_id: str) -> bool:
    """Whether the case's workflow is running (a workflow Temporal no longer keeps is not)."""
    request = DescribeWorkflowExecutionRequest(
        namespace=client.namespace, execution=WorkflowExecution(workflow_id=workflow_id)
    )
    try:  # the raw call: only the status is read, no search attribute decoded
        described = await client.workflow_service.describe_workflow_execution(request)
    except RPCError as err:
        if err.status is RPCStatusCode.NOT_FOUND:
            return False
        raise
    status = described.workflow_execution_info.status
    return status == WorkflowExecutionStatus.RUNNING.value


class RetentionActivities:
    def __init__(self, client: Client, settings: Settings, store: RecordsStore) -> None:
        self.client = client
        self.settings = settings
        self.retention = Retention(store, storage_from_settings(settings), settings.outbox_dir)

    @activity.defn(name="finish_anonymisations")
    async def finish_anonymisations(self) -> list[str]:
        return await asyncio.to_thread(self.retention.finish_pending)

    @activity.defn(name="anonymise_due_batch")
    async def anonymise_due_batch(self, batch: RetentionBatch) -> RetentionBatchDone:
        current = self.settings.policy
        await asyncio.to_thread(self.retention.remember_policy, current, batch.at)
        known = await asyncio.to_thread(self.retention.policies)
        fewest = shortest_years([current, *known.values()])
        if fewest is None:
            return RetentionBatchDone()
        candidates = await asyncio.to_thread(
            self.retention.candidates, batch.after, years_after(batch.at, -fewest), batch.limit
        )
        done = RetentionBatchDone(
            looked_at=len(candidates),
            next_after=candidates[-1].reference if len(candidates) == batch.limit else None,
        )
        for case in candidates:
            activity.heartbeat(case.reference)
            why = await self._why_not(case, known, batch.at)
            if why is not None:
                done.skipped.append(Skipped(reference=case.reference, why=why))
                continue
            rule = self._rule(case, known)
            if await asyncio.to_thread(
                self.retention.anonymise_case, case.reference, Why.retention, JOB, batch.at, rule
            ):
                done.anonymised.append(case.reference)
        for person in await asyncio.to_thread(self.retention.persons_of, done.anonymised):
            if await asyncio.to_thread(
                self.retention.anonymise_person_if_unkept,
                person,
                Why.retention,
                JOB,
                batch.at,
                "no case of theirs is kept",
            ):
                done.persons.append(person)
        activity.logger.info(
            "Retention: %d looked at, %d anonymised, %d person records",
            done.looked_at,
            len(done.anonymised),
            len(done.persons),
        )
        return done

    async def _why_not(self, case: Candidate, known: dict, at: datetime) -> str | None:
        found = retention_for(case.kind, known.get(case.policy_hash or ""), self.settings.policy)
        if found is None:
            return "no retention period"
        due = years_after(case.closed_at, found[0])
        if at < due:
            return f"kept until {due.date():%d %B %Y}"
        if await still_running(self.client, case.workflow_id):
            return "running"
        return None

    def _rule(self, case: Candidate, known: dict) -> str:
        own = known.get(case.policy_hash or "")
        years, whose = retention_for(case.kind, own, self.settings.policy) or (0, "")
        policy = own if whose == "own" and own is not None else self.settings.policy
        return f"{years} years after closure ({policy.label}, {whose} policy)"
