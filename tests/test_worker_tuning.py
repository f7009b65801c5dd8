"""The worker's capacity comes from configuration (WORKER_MAX_CACHED_WORKFLOWS and the rest):
what the settings say is what the worker is built with."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from temporalio.worker import PollerBehaviorSimpleMaximum, UnsandboxedWorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from config import Settings, WorkerTuning
from records.store import RecordsStore
from worker.__main__ import build_worker


async def test_the_worker_takes_its_tuning_from_the_settings(
    env, settings: Settings, store: RecordsStore, monkeypatch
) -> None:
    monkeypatch.setenv("WORKER_MAX_CACHED_WORKFLOWS", "0")
    monkeypatch.setenv("WORKER_WORKFLOW_POLLERS", "2")
    monkeypatch.setenv("WORKER_MAX_CONCURRENT_ACTIVITIES", "8")
    tuning = Settings().worker
    assert tuning == WorkerTuning(
        max_cached_workflows=0, workflow_pollers=2, max_concurrent_activities=8
    )
    tuned = settings.model_copy(update={"worker": tuning})
    with ThreadPoolExecutor(max_workers=tuning.max_concurrent_activities) as executor:
        config = build_worker(env.client, tuned, store, executor).config()
    assert config["max_cached_workflows"] == 0
    assert config["workflow_task_poller_behavior"] == PollerBehaviorSimpleMaximum(2)
    assert config["activity_task_poller_behavior"] == PollerBehaviorSimpleMaximum(5)
    assert config["max_concurrent_activities"] == 8
    assert isinstance(config["workflow_runner"], SandboxedWorkflowRunner)  # by default


async def test_the_sandbox_can_be_turned_off(
    env, settings: Settings, store: RecordsStore, monkeypatch
) -> None:
    monkeypatch.setenv("WORKER_SANDBOX", "false")
    tuned = settings.model_copy(update={"worker": Settings().worker})
    with ThreadPoolExecutor(max_workers=2) as executor:
        config = build_worker(env.client, tuned, store, executor).config()
    assert isinstance(config["workflow_runner"], UnsandboxedWorkflowRunner)
