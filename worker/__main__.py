"""`python -m worker`: runs the complaint workflows and their activities until Ctrl-C/SIGTERM.

A stop (SIGTERM, as `docker stop` and every deploy send, or SIGINT from Ctrl-C) is graceful: the
worker stops taking new tasks and gives the activities already running up to
GRACEFUL_SHUTDOWN_TIMEOUT to finish, so a letter the provider is accepting is marked sent in the
ledger before the process exits (and is not sent again by the next worker). Only a worker that
dies outright (SIGKILL, power loss) can leave a letter sent but unrecorded.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from temporalio.client import Client
from temporalio.worker import PollerBehaviorSimpleMaximum, UnsandboxedWorkflowRunner, Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.deadlines import DeadlineActivities
from activities.effects import EffectActivities
from activities.letters import LetterActivities
from activities.persons import PersonActivities
from activities.records import RecordActivities
from activities.retention import RetentionActivities
from activities.sweep import SweepActivities
from config import ConfigError, Settings
from records.store import RecordsStore
from worker.client import (
    SurveySecretMissing,
    connect,
    exit_now,
    with_payload_keys,
    with_survey_secret,
)
from worker.observability import configure_logging, runtime
from worker.setup import (
    ensure_daily_sweep_schedule,
    ensure_person_reviews_schedule,
    ensure_retention_schedule,
)
from workflows.case import DEADLINES_TIMEOUT, LETTER_TIMEOUT, RECORD_TIMEOUT
from workflows.complaint import ComplaintWorkflow
from workflows.enquiry import EnquiryWorkflow
from workflows.persons import REVIEWS_TIMEOUT, PersonLetterWorkflow, PersonReviewsWorkflow
from workflows.retention import BATCH_TIMEOUT, RetentionWorkflow
from workflows.sweep import EMAIL_TIMEOUT, QUICK_TIMEOUT, SWEEP_TIMEOUT, DailySweepWorkflow

log = logging.getLogger("worker")

# How long a stopping worker lets the activities it has started run on before cancelling them:
# longer than any of their start-to-close timeouts (the letter's LETTER_TIMEOUT, and the daily
# sweep's report email, which may send several), so none is cut off halfway. By then Temporal has
# timed the attempt out itself. It is a maximum: the worker exits as soon as they are done.
# docker-compose.yml's stop_grace_period for the worker must be longer still.
LONGEST_ACTIVITY = max(
    DEADLINES_TIMEOUT,
    LETTER_TIMEOUT,
    RECORD_TIMEOUT,
    QUICK_TIMEOUT,
    SWEEP_TIMEOUT,
    EMAIL_TIMEOUT,
    REVIEWS_TIMEOUT,
    BATCH_TIMEOUT,
)
GRACEFUL_SHUTDOWN_TIMEOUT = LONGEST_ACTIVITY + timedelta(seconds=15)


# Every workflow the worker runs; the replay checks (tests/replay_all.py, bench/cold_cases.py)
# replay with these and this runner, as the worker runs them.
WORKFLOWS = [
    ComplaintWorkflow,
    EnquiryWorkflow,
    DailySweepWorkflow,
    PersonLetterWorkflow,
    PersonReviewsWorkflow,
    RetentionWorkflow,
]


def workflow_runner(*passthrough: str) -> SandboxedWorkflowRunner:
    """The workflow sandbox, with our workflow modules, pydantic's lazy email imports (and
    `passthrough`) passed in. The sandbox still refuses what would break replay (the clock,
    randomness, I/O) as the workflows run; passing `workflows` through spares each new run of a
    case re-executing those modules (they keep only constants at module level), a quarter of a
    replay's CPU (bench/sandbox_cost.py)."""
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(
            "workflows",
            # pydantic imports these lazily when it first validates an email address
            "email_validator",
            "idna",
            *passthrough,
        )
    )


def build_worker(
    client: Client, settings: Settings, store: RecordsStore, executor: ThreadPoolExecutor
) -> Worker:
    deadlines = DeadlineActivities(settings)
    letters = LetterActivities(settings, store)
    records = RecordActivities(store)
    effects = EffectActivities(records, letters)
    sweep = SweepActivities(client, settings, store)
    persons = PersonActivities(client, settings, store)
    retention = RetentionActivities(client, settings, store)
    tuning = settings.worker
    return Worker(
        client,
        task_queue=settings.task_queue,
        workflows=WORKFLOWS,
        activities=[
            deadlines.plan_deadlines,
            deadlines.bank_holidays,
            records.record_case,
            effects.perform_effects,
            letters.send_letter,
            sweep.is_working_day,
            sweep.run_sweep,
            sweep.email_sweep_report,
            persons.remind_person_reviews,
            retention.finish_anonymisations,
            retention.anonymise_due_batch,
        ],
        activity_executor=executor,
        graceful_shutdown_timeout=GRACEFUL_SHUTDOWN_TIMEOUT,
        max_cached_workflows=tuning.max_cached_workflows,
        workflow_task_poller_behavior=PollerBehaviorSimpleMaximum(tuning.workflow_pollers),
        activity_task_poller_behavior=PollerBehaviorSimpleMaximum(tuning.activity_pollers),
        max_concurrent_workflow_tasks=tuning.max_concurrent_workflow_tasks,
        max_concurrent_activities=tuning.max_concurrent_activities,
        workflow_runner=workflow_runner() if tuning.sandbox else UnsandboxedWorkflowRunner(),
    )


async def main(settings: Settings) -> None:
    settings = with_survey_secret(with_payload_keys(settings))
    configure_logging(settings)
    store = RecordsStore.from_settings(settings)
    store.migrate()
    client = await connect(settings, runtime(settings))
    if settings.metrics_address:
        log.info("metrics at http://%s/metrics", settings.metrics_address)
    if await ensure_daily_sweep_schedule(client, settings):
        log.info("created the daily-sweep schedule")
    if await ensure_person_reviews_schedule(client, settings):
        log.info("created the person-reviews schedule")
    if await ensure_retention_schedule(client, settings):
        log.info("created the retention schedule")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def stop_on(sig: signal.Signals) -> None:
        if not stop.is_set():
            log.info(
                "%s: stopping; activities already running get up to %ds to finish",
                sig.name,
                GRACEFUL_SHUTDOWN_TIMEOUT.total_seconds(),
            )
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop_on, sig)
    with ThreadPoolExecutor(max_workers=settings.worker.max_concurrent_activities) as executor:
        worker = build_worker(client, settings, store, executor)
        log.info("polling task queue %s on %s", settings.task_queue, settings.temporal_address)
        run = asyncio.create_task(worker.run())
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait([run, stopping], return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        # no new tasks; running activities finish (up to GRACEFUL_SHUTDOWN_TIMEOUT), then exit
        await worker.shutdown()
        await run  # raises if the worker failed rather than being stopped
    log.info("worker stopped")


if __name__ == "__main__":
    try:
        checked = Settings.load()
    except ConfigError as err:
        print(f"worker: refusing to start: {err}", file=sys.stderr)
        exit_now(2)
    try:
        asyncio.run(main(checked))
    except SurveySecretMissing as err:
        print(f"worker: refusing to start: {err}", file=sys.stderr)
        exit_now(2)
    except Exception:
        log.exception("worker failed")
        exit_now(1)
    exit_now(0)
