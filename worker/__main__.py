"""`python -m worker`: runs the complaint workflows and their activities until Ctrl-C/SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from concurrent.futures import ThreadPoolExecutor

from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.deadlines import DeadlineActivities
from activities.letters import LetterActivities
from activities.records import RecordActivities
from activities.sweep import SweepActivities
from config import ConfigError, Settings
from records.store import RecordsStore
from worker.client import connect, exit_now, with_payload_keys
from worker.observability import configure_logging, runtime
from worker.setup import ensure_daily_sweep_schedule
from workflows.complaint import ComplaintWorkflow
from workflows.enquiry import EnquiryWorkflow
from workflows.sweep import DailySweepWorkflow

log = logging.getLogger("worker")


def build_worker(
    client: Client, settings: Settings, store: RecordsStore, executor: ThreadPoolExecutor
) -> Worker:
    letters = LetterActivities(settings, store)
    records = RecordActivities(store)
    sweep = SweepActivities(client, settings, store)
    return Worker(
        client,
        task_queue=settings.task_queue,
        workflows=[ComplaintWorkflow, EnquiryWorkflow, DailySweepWorkflow],
        activities=[
            DeadlineActivities(settings).plan_deadlines,
            records.record_case,
            letters.send_letter,
            sweep.is_working_day,
            sweep.run_sweep,
            sweep.email_sweep_report,
        ],
        activity_executor=executor,
        workflow_runner=SandboxedWorkflowRunner(
            restrictions=SandboxRestrictions.default.with_passthrough_modules(
                # pydantic imports these lazily when it first validates an email address
                "email_validator",
                "idna",
            )
        ),
    )


async def main(settings: Settings) -> None:
    settings = with_payload_keys(settings)
    configure_logging(settings)
    store = RecordsStore.from_settings(settings)
    store.migrate()
    client = await connect(settings, runtime(settings))
    if settings.metrics_address:
        log.info("metrics at http://%s/metrics", settings.metrics_address)
    if await ensure_daily_sweep_schedule(client, settings):
        log.info("created the daily-sweep schedule")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    with ThreadPoolExecutor(max_workers=16) as executor:
        worker = build_worker(client, settings, store, executor)
        log.info("polling task queue %s on %s", settings.task_queue, settings.temporal_address)
        async with worker:
            await stop.wait()
    log.info("worker stopped")


if __name__ == "__main__":
    try:
        checked = Settings.load()
    except ConfigError as err:
        print(f"worker: refusing to start: {err}", file=sys.stderr)
        exit_now(2)
    asyncio.run(main(checked))
    exit_now(0)
