"""On SQLite one transaction writes at a time. A worker's activity threads (16 of them, recording
cases and claiming letters) queue for that in the process, and never lean on SQLite's busy wait,
which sleeps longer each time it finds the lock taken while the lock stands free."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from sqlalchemy import event

from records.store import RecordsStore
from tests.records.test_store import letter_request

THREADS, EACH = 8, 15


def without_busy_wait(store: RecordsStore) -> RecordsStore:
    """The store, its connections failing at once on a taken lock (no busy timeout)."""

    @event.listens_for(store.engine, "connect")
    def _no_wait(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute("PRAGMA busy_timeout=0")

    return store


def test_writers_in_one_process_take_turns_and_never_find_the_database_locked(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'records.db'}"
    RecordsStore(url).migrate()
    # two stores on one file in one process (the worker's, the web app's answering_within)
    stores = [without_busy_wait(RecordsStore(url)) for _ in range(2)]
    barrier = threading.Barrier(THREADS)
    errors: list[BaseException] = []

    def write(n: int) -> None:
        store = stores[n % 2]
        barrier.wait()
        try:
            for i in range(EACH):
                request = letter_request(reference=f"CMP-2025-{n:04d}", key=f"letter-{i}")
                store.claim_letter(request, "amina@example.org", "Subject")
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert sum(len(stores[0].letters(f"CMP-2025-{n:04d}")) for n in range(THREADS)) == (
        THREADS * EACH
    )
    for store in stores:
        store.dispose()
