"""The records activity: writes a case's snapshot and new timeline entries to the records
database, which the admin UI's lists, search and reports read.

Idempotent (see `RecordsStore.record`), so Temporal may retry it freely. A sync activity: the
worker runs it in its thread pool. The worker migrates the store before it starts polling.
"""

from __future__ import annotations

from temporalio import activity
from temporalio.exceptions import ApplicationError

from domain.records import RECORD_OUT_OF_STEP, RecordRequest
from records.store import RecordOutOfStep, RecordsStore


class RecordActivities:
    def __init__(self, store: RecordsStore) -> None:
        self.store = store

    @activity.defn(name="record_case")
    def record_case(self, request: RecordRequest) -> None:
        activity.logger.info(
            "Recording case %s (%d timeline entries)",
            request.case_reference,
            len(request.events),
        )
        try:
            self.store.record(request)
        except RecordOutOfStep as err:  # the workflow sends its whole record instead
            raise ApplicationError(str(err), type=RECORD_OUT_OF_STEP, non_retryable=True) from None
