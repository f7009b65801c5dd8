"""The records activity: writes a case's snapshot and new timeline entries to the records
database, which the admin UI's lists, search and reports read.

Idempotent (see `RecordsStore.record`), so Temporal may retry it freely. A sync activity: the
worker runs it in its thread pool. The worker migrates the store before it starts polling.
"""

from __future__ import annotations

from temporalio import activity

from domain.records import RecordRequest
from records.store import RecordsStore


class RecordActivities:
    def __init__(self, store: RecordsStore) -> None:
        self.store = store

    @activity.defn(name="record_case")
    def record_case(self, request: RecordRequest) -> None:
        activity.logger.info(
            "Recording case %s (%d timeline entries)",
            request.snapshot.reference,
            len(request.events),
        )
        self.store.record(request)
