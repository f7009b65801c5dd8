"""The retention job: `RetentionWorkflow`, started each night by the `retention` Schedule
(worker/setup.py), anonymises every closed case past its retention period (domain/retention.py)
and then every person record none of whose cases is kept (records/retention.py).

It works in batches: one activity (`anonymise_due_batch`) looks at up to BATCH_SIZE closed cases
after a reference, in reference order, and anonymises each one due in its own transaction;
the workflow counts what is done (the `progress` query) and moves on from the batch's last
reference. Killed mid-run, it loses nothing: a case is anonymised whole or not at all, a crash
between its rows and its files is finished by the next run's first activity
(`finish_anonymisations`), and the next run starts again from the beginning, where every case
already done is no longer a candidate. After MAX_BATCHES batches it continues as new, carrying
the count and its place.

Deterministic, no I/O: everything is done by activities.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from domain.retention import (
        BATCH_SIZE,
        SCHEDULE_ID,
        RetentionBatch,
        RetentionBatchDone,
        RetentionProgress,
        RetentionSweep,
    )

__all__ = ["SCHEDULE_ID", "RetentionWorkflow"]

BATCH_TIMEOUT = timedelta(minutes=2)
RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=5),
)
MAX_BATCHES = 200  # then continue as new, so a large backlog never makes a long history
GIVE_UP_AFTER = timedelta(hours=10)  # the schedule's execution timeout: tomorrow carries on


@workflow.defn
class RetentionWorkflow:
    def __init__(self) -> None:
        self._done = 0
        self._batches = 0
        self._after = ""
        self._finished = False

    @workflow.query
    def progress(self) -> RetentionProgress:
        return RetentionProgress(
            done=self._done, batches=self._batches, after=self._after, finished=self._finished
        )

    @workflow.run
    async def run(self, sweep: RetentionSweep) -> RetentionProgress:
        self._done, self._batches, self._after = sweep.done, sweep.batches, sweep.after
        if not sweep.after:
            await workflow.execute_activity(
                "finish_anonymisations",
                start_to_close_timeout=BATCH_TIMEOUT,
                retry_policy=RETRY,
                result_type=list[str],
            )
        started = self._batches
        while True:
            done: RetentionBatchDone = await workflow.execute_activity(
                "anonymise_due_batch",
                RetentionBatch(after=self._after, at=workflow.now(), limit=BATCH_SIZE),
                result_type=RetentionBatchDone,
                start_to_close_timeout=BATCH_TIMEOUT,
                retry_policy=RETRY,
            )
            self._done += len(done.anonymised)
            self._batches += 1
            if done.next_after is None:
                break
            self._after = done.next_after
            if self._batches - started >= MAX_BATCHES:
                workflow.continue_as_new(
                    RetentionSweep(after=self._after, done=self._done, batches=self._batches)
                )
        self._finished = True
        return self.progress()
