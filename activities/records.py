"""The records activity: writes a case's snapshot and new timeline entries to the records
database, which the admin UI's lists, search and reports read.

Idempotent (see `RecordsStore.record`), so Temporal may retry it freely. A sync activity: the
worker runs it in its thread pool.
"""

from __future__ import annotations

import threading

from temporalio import activity

from activities.settings import Settings
from domain.records import RecordRequest
from records.store import RecordsStore

_lock = threading.RLock()
_store: RecordsStore | None = None
_migrated = False


def set_store(store: RecordsStore | None) -> None:
    """Use `store` for this process (the worker and tests inject one); None goes back to the
    store built lazily from the environment's settings."""
    global _store, _migrated
    with _lock:
        _store = store
        _migrated = False


def get_store() -> RecordsStore:
    """The process-wide store, created from `Settings.from_env()` on first use."""
    global _store
    with _lock:
        if _store is None:
            _store = RecordsStore.from_settings(Settings.from_env())
        return _store


def _ready_store() -> RecordsStore:
    """The store, migrated once per process in case the worker did not migrate at start-up."""
    global _migrated
    with _lock:
        store = get_store()
        if not _migrated:
            store.migrate()
            _migrated = True
        return store


@activity.defn(name="record_case")
def record_case(request: RecordRequest) -> None:
    activity.logger.info(
        "Recording case %s (%d timeline entries)",
        request.snapshot.reference,
        len(request.events),
    )
    _ready_store().record(request)
