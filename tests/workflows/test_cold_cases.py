"""Cold cases: the same journeys again with a worker that keeps no case in memory
(`WORKER_MAX_CACHED_WORKFLOWS=0`), so every step, timer and letter replays its case's history
first, as on a worker whose cache holds fewer cases than the landlord has open. Both stages of a
complaint with every step, what it led to and the Ombudsman's clocks, an enquiry's steps, and
steps sent at the same moment (the Update-on-a-cold-workflow shape of temporalio/sdk-python#1591).
Each history is then replayed again by the `env` fixture (tests/replay_all.py): zero
non-determinism."""

from __future__ import annotations

from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from config import Settings, WorkerTuning
from records.store import RecordsStore
from tests.workflows.test_complaint_lifecycle import (  # noqa: F401  (collected here too)
    test_two_stage_case_across_christmas,
)
from tests.workflows.test_concurrent_steps import (  # noqa: F401
    test_an_escalation_naming_a_reviewer_against_that_reviewer_taking_the_case,
    test_the_same_action_done_twice_at_once_one_is_refused,
    test_two_holding_replies_on_one_enquiry_one_is_refused,
    test_two_responses_one_is_refused,
    test_two_stage_1_extensions_of_8_days_one_is_refused,
)
from tests.workflows.test_enquiry_triage import (  # noqa: F401
    test_converted_complaint_counts_from_the_enquirys_receipt,
    test_service_request_monitored_and_a_complaint_while_it_carries_on,
)
from tests.workflows.test_remedies_and_ombudsman import (  # noqa: F401
    test_actions_remind_their_owner_breach_and_end_with_the_completion_letter,
    test_ombudsman_requests_and_orders_run_on_clocks_until_done,
)
from worker.__main__ import build_worker


@pytest.fixture
async def worker(
    env: WorkflowEnvironment, settings: Settings, store: RecordsStore
) -> AsyncIterator[Worker]:
    """The worker as `python -m worker` builds it, with no workflow cache."""
    cold = settings.model_copy(update={"worker": WorkerTuning(max_cached_workflows=0)})
    with ThreadPoolExecutor(max_workers=cold.worker.max_concurrent_activities) as executor:
        w = build_worker(env.client, cold, store, executor)
        assert w.config()["max_cached_workflows"] == 0
        async with w:
            yield w
