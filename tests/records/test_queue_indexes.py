"""A queue page and a search are read from indexes, not by scanning every case: the statements
the admin app runs (admin/queues.py `load`, RecordsStore.search_cases) are explained by the
database itself, SQLite and PostgreSQL (when TEST_DATABASE_URL is set). The speed at 100,000
cases is bench/scale.py's; this holds the plan that makes it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from activities.deadlines import calendar_from_settings
from admin.queues import Queue, QueueRequest, load
from config import Settings
from domain.records import RecordRequest
from records.store import RecordsStore
from tests.records.test_store import snapshot
from tests.support import records_on

NOW = datetime(2027, 3, 10, 10, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RecordsStore]:
    """The records on SQLite, and on PostgreSQL too when TEST_DATABASE_URL is set."""
    with records_on(request.param, tmp_path, "plans") as found:
        yield found


def statements(store: RecordsStore, work: Any) -> list[tuple[str, Any]]:
    """The SELECTs on `cases` that `work` runs, with their parameters as sent."""
    seen: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "cases" in statement:
            seen.append((statement, parameters))

    event.listen(store.engine, "before_cursor_execute", capture)
    try:
        work()
    finally:
        event.remove(store.engine, "before_cursor_execute", capture)
    return seen


def plan(store: RecordsStore, statement: str, parameters: Any) -> str:
    with store.engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            rows = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
            return "\n".join(str(r[-1]) for r in rows)
        connection.exec_driver_sql("SET enable_seqscan = off")  # tiny tables: as at 100,000
        rows = connection.exec_driver_sql("EXPLAIN " + statement, parameters)
        return "\n".join(str(r[0]) for r in rows)


def cases(store: RecordsStore) -> None:
    for n in range(30):
        store.record(
            RecordRequest(
                snapshot=snapshot(
                    f"CMP-2027-{n:04d}",
                    resident_name=f"Resident {n} Okafor",
                    next_deadline=NOW + timedelta(hours=n - 5),
                    owner_id="jo.officer" if n % 2 else None,
                )
            )
        )


def scans_every_case(store: RecordsStore, explained: str) -> bool:
    if store.engine.dialect.name == "sqlite":
        return any(
            line.startswith("SCAN cases") and "USING" not in line for line in explained.splitlines()
        )
    return "Seq Scan on cases" in explained


@pytest.mark.parametrize("queue", [Queue.team, Queue.mine, Queue.due_soon])
def test_a_queue_page_reads_an_index(store: RecordsStore, queue: Queue) -> None:
    cases(store)
    calendar = calendar_from_settings(Settings())
    wanted = QueueRequest(queue=queue)
    ran = statements(store, lambda: load(store, wanted, "jo.officer", NOW, calendar, 2))
    assert ran, "the page ran its query"
    for statement, parameters in ran:
        explained = plan(store, statement, parameters)
        assert not scans_every_case(store, explained), explained
    page = load(store, wanted, "jo.officer", NOW, calendar, 2)
    dues = [row.case.next_deadline for row in page.rows]
    assert dues == sorted(dues), "due soonest first"


@pytest.mark.parametrize("text", ["okafor", "resident okaf", "CMP-2027-00", "TN13"])
def test_search_reads_indexes(store: RecordsStore, text: str) -> None:
    cases(store)
    ran = statements(store, lambda: store.search_cases(text))
    assert ran
    for statement, parameters in ran:
        explained = plan(store, statement, parameters)
        assert not scans_every_case(store, explained), explained
