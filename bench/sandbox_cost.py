"""What the workflow sandbox costs: the CPU to replay a finished case's history in the SDK's
sandbox as the worker runs it (`worker.__main__.workflow_runner`: our workflow modules passed
through), in the sandbox re-executing our workflow modules for each run (as the worker did before
December 2026), and unsandboxed (`WORKER_SANDBOX=false`), in turn, in one run. A cold step and
every new case pay this.

    .venv/bin/python bench/sandbox_cost.py [--replays 20]

Replays the two-stage complaint of tests/workflows/histories (lodged under the shipped policy, run
to completion). Prints CPU and wall milliseconds a replay for each runner, twice. Run by hand or
by `make bench`; nothing asserts on it.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer, UnsandboxedWorkflowRunner, WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from worker.__main__ import WORKFLOWS, workflow_runner

HISTORY = (
    Path(__file__).resolve().parent.parent
    / "tests/workflows/histories/complaint-two-stages-stamped.json"
)


async def measure(name: str, runner: WorkflowRunner, history: WorkflowHistory, n: int) -> None:
    replayer = Replayer(
        workflows=WORKFLOWS, data_converter=pydantic_data_converter, workflow_runner=runner
    )
    await replayer.replay_workflow(history)  # imports and the like, once
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(n):
        await replayer.replay_workflow(history)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    print(f"{name:<24} CPU {1000 * cpu / n:6.1f} ms a replay, wall {1000 * wall / n:6.1f} ms")


async def main(n: int) -> None:
    history = WorkflowHistory.from_json("complaint", HISTORY.read_text())
    events = len(history.events)
    print(f"replaying a finished two-stage complaint ({events} events), {n} times each:")
    reloading = SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules("email_validator", "idna")
    )
    for _ in range(2):
        await measure("sandboxed (the worker's)", workflow_runner(), history, n)
        await measure("sandboxed, reloading", reloading, history, n)
        await measure("unsandboxed", UnsandboxedWorkflowRunner(), history, n)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--replays", type=int, default=20)
    asyncio.run(main(parser.parse_args().replays))
