"""Every workflow a test runs is replayed from its history with the SDK's Replayer when the test's
server shuts down (tests/conftest.py `env`): a change that makes a history no longer replay (the
shape of temporalio/sdk-python#1591: an Update on a cold case writing a history that does not
replay) fails the test that made that history, not a landlord's case weeks later.

The time-skipping server cannot list workflows, so the client records each workflow it starts,
and each history names the child workflows it started."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import (
    Client,
    Interceptor,
    OutboundInterceptor,
    StartWorkflowInput,
    WorkflowHandle,
)
from temporalio.service import RPCError
from temporalio.worker import Replayer

from worker.__main__ import WORKFLOWS, workflow_runner


class StartedWorkflows(Interceptor):
    """Remembers the id of every workflow started through the client."""

    def __init__(self) -> None:
        self.ids: list[str] = []

    def intercept_client(self, next: OutboundInterceptor) -> OutboundInterceptor:
        return _Recording(next, self.ids)


class _Recording(OutboundInterceptor):
    def __init__(self, next: OutboundInterceptor, ids: list[str]) -> None:
        super().__init__(next)
        self._ids = ids

    async def start_workflow(self, input: StartWorkflowInput) -> WorkflowHandle[Any, Any]:
        handle = await super().start_workflow(input)
        self._ids.append(input.id)
        return handle


async def replay_all(client: Client, ids: list[str]) -> list[str]:
    """Replay the history of each workflow (and each child it started); the failures, as text."""
    replayer = Replayer(
        workflows=WORKFLOWS,
        data_converter=client.data_converter,
        workflow_runner=workflow_runner(),  # as the worker runs them
    )
    failures: list[str] = []
    seen: set[str] = set()
    todo = list(dict.fromkeys(ids))
    while todo:
        wid = todo.pop()
        if wid in seen:
            continue
        seen.add(wid)
        try:
            history = await client.get_workflow_handle(wid).fetch_history()
        except RPCError:
            continue  # gone (a test that deletes or never started it)
        for event in history.events:
            if event.event_type == EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
                todo.append(
                    event.start_child_workflow_execution_initiated_event_attributes.workflow_id
                )
        result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
        if result.replay_failure is not None:
            failures.append(f"{wid}: {result.replay_failure!r}")
            if folder := os.environ.get("REPLAY_FAILURES_DIR"):  # to look into by hand
                Path(folder, f"{wid}.json").write_text(history.to_json())
    return failures
