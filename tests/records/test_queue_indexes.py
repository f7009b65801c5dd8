"""A queue page and a search are read from indexes, not by scanning every case: the statements
the admin app runs (admin/queues.py `load`, RecordsStore.search_cases) are explained by the
database itself, SQLite and PostgreSQL (when TEST_DATABASE_URL is set). A queue page reached by
its "Next page" or "Previous page" cursor is one statement read from the index in the page's
order from the cursor on, or part by part for the stage, status and latest-due orders: no scan,
and no sort of the queue (tests/records/test_queue_keyset.py walks the pages). The speed at
100,000 cases is bench/scale.py's; this holds the plan that makes it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, insert

from activities.deadlines import calendar_from_settings
from admin.queues import _STAGE_RANK, Queue, QueueRequest, load
from config import Settings
from domain.records import RecordRequest
from records.schema import Case, CaseSearchWord
from records.store import RecordsStore, SortKey, _case_values, search_word_rows
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


def plan(store: RecordsStore, statement: str, parameters: Any, in_order: bool = False) -> str:
    """The plan; `in_order`: on PostgreSQL one that reads in order when an index can give it
    (on a table this small a sort would be cheaper; at 100,000 cases it is not)."""
    with store.engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            rows = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
            return "\n".join(str(r[-1]) for r in rows)
        connection.exec_driver_sql("SET enable_seqscan = off")  # tiny tables: as at 100,000
        if in_order:
            connection.exec_driver_sql("SET enable_sort = off")
            connection.exec_driver_sql("SET enable_bitmapscan = off")
        rows = connection.exec_driver_sql("EXPLAIN " + statement, parameters)
        return "\n".join(str(r[0]) for r in rows)


def cases(store: RecordsStore, count: int = 30) -> None:
    for n in range(count):
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


def sorts_the_queue(store: RecordsStore, statement: str, parameters: Any) -> bool:
    """The plan reads cases and then sorts them (every case of the queue, for all it knows),
    rather than reading them in order. Sorting what limited reads gave (the parts of a page
    read part by part, RecordsStore.list_cases) is not that."""
    if store.engine.dialect.name == "sqlite":
        with store.engine.connect() as connection:
            rows = list(connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters))
        under: dict[int, list[str]] = {}
        for _, parent, _, detail in rows:
            under.setdefault(parent, []).append(detail)
        return any(
            detail == "USE TEMP B-TREE FOR ORDER BY"
            and any(d.startswith(("SCAN cases", "SEARCH cases")) for d in under[parent])
            for _, parent, _, detail in rows
        )
    nodes = []  # (indent, node) for each node of the plan's tree
    for line in plan(store, statement, parameters, in_order=True).splitlines():
        text = line.strip()
        if not nodes or text.startswith("->"):
            nodes.append((len(line) - len(line.lstrip()), text.removeprefix("->").strip()))
    for n, (indent, node) in enumerate(nodes):
        if not node.startswith(("Sort", "Incremental Sort")):
            continue
        path: list[tuple[int, str]] = []  # the nodes from the sort down to this one
        for depth, below in nodes[n + 1 :]:
            if depth <= indent:
                break
            path = [p for p in path if p[0] < depth] + [(depth, below)]
            limited = any(p[1].startswith("Limit") for p in path[:-1])
            if "Scan" in below and " on cases" in below and not limited:
                return True
    return False


@pytest.mark.parametrize(
    ("queue", "changes"),
    [
        (Queue.team, {}),
        (Queue.mine, {}),
        (Queue.due_soon, {}),
        (Queue.team, {"kind": "complaint"}),
        (Queue.team, {"owner": "jo.officer"}),
        (Queue.team, {"sort": "reference"}),
        (Queue.team, {"sort": "reference", "descending": True}),
        (Queue.team, {"sort": "received", "descending": True}),
        (Queue.team, {"sort": "due", "descending": True}),
        (Queue.team, {"sort": "status"}),
        (Queue.team, {"sort": "status", "descending": True}),
        (Queue.team, {"sort": "stage"}),
        (Queue.team, {"sort": "stage", "descending": True}),
        (Queue.team, {"stage": "stage1"}),
    ],
)
def test_each_page_by_cursor_reads_the_index_in_order(
    store: RecordsStore, queue: Queue, changes: dict[str, Any]
) -> None:
    cases(store, 80)
    calendar = calendar_from_settings(Settings())

    def page(cursor: str | None = None) -> Any:
        wanted = QueueRequest(queue=queue, cursor=cursor, **changes)
        return load(store, wanted, "jo.officer", NOW, calendar, 2)

    first = page()
    assert first.next_cursor, "the queue has a second page"
    second = page(first.next_cursor)
    for cursor in (None, first.next_cursor, second.previous_cursor):
        ran = statements(store, lambda cursor=cursor: page(cursor))
        assert len(ran) == 1, "one statement a page"
        explained = plan(store, *ran[0], in_order=True)
        assert not scans_every_case(store, explained), explained
        assert not sorts_the_queue(store, *ran[0]), explained


def test_sorts_the_queue_sees_a_sort(store: RecordsStore) -> None:
    """The stage order, were it not read stage by stage, sorts the queue (so the test above
    can tell)."""
    cases(store, 30)
    whole_sort = [SortKey(_STAGE_RANK), SortKey(Case.queue_due), SortKey(Case.reference)]
    ran = statements(store, lambda: store.list_cases([Case.in_queue.is_(True)], whole_sort))
    assert len(ran) == 1 and sorts_the_queue(store, *ran[0])


def scans_every_word(store: RecordsStore, explained: str) -> bool:
    if store.engine.dialect.name == "sqlite":
        return any(
            line.startswith("SCAN case_search_words") and "USING" not in line
            for line in explained.splitlines()
        )
    return "Seq Scan on case_search_words" in explained


@pytest.mark.parametrize("text", ["okafor", "resident okaf", "okaf", "CMP-2027-00", "TN13"])
def test_search_reads_indexes(store: RecordsStore, text: str) -> None:
    cases(store)
    ran = statements(store, lambda: store.search_cases(text))
    assert len(ran) == 1, "one statement"
    explained = plan(store, *ran[0])
    assert not scans_every_case(store, explained), explained
    assert not scans_every_word(store, explained), explained


def many(store: RecordsStore, n: int) -> None:
    """`n` cases written straight into `cases` and `case_search_words` as the store writes them
    (recording each would take minutes), a tenth of them Okafors; then, on PostgreSQL,
    ANALYZE: the plans are the planner's own choice, with no setting turned off."""
    first = ["Amina", "Tom", "Grace", "Sam", "Jo", "Ali", "Priya"]
    last = ["Okafor", "Okoro", "Patel", "Smith", "Jones", "Evans", "Khan", "Nowak", "Lee", "Ng"]
    rows, words = [], []
    for i in range(n):
        case = snapshot(
            f"CMP-2027-{i:05d}",
            resident_name=f"{first[i % 7]} {last[i % 10]}",
            postcode=f"ZZ{i % 97} {i % 9}AB",
            received_at=NOW - timedelta(minutes=i * 7 % n),
        )
        rows.append({**_case_values(case), "created_at": NOW})
        words += [
            {"reference": case.reference, **row.model_dump()}
            for row in search_word_rows(case, None)
        ]
    with store.writer.begin() as connection:
        connection.execute(insert(Case), rows)
        connection.execute(insert(CaseSearchWord), words)
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql("ANALYZE")


def test_search_by_a_shared_name_stops_at_the_page(store: RecordsStore) -> None:
    """A name many cases share ("okafor": 300 of 3,000) is read from
    `ix_case_search_words_recent` newest first, and the reading stops at the page: no sort of
    the name's cases, and only the page's cases are read from `cases` (issue 14: a common name
    at 100,000 cases)."""
    many(store, 3000)
    ran = statements(store, lambda: store.search_cases("okafor", limit=5))
    assert len(ran) == 1, "one statement"
    statement, parameters = ran[0]
    with store.engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            rows = list(connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters))
            read = [
                parent
                for _, parent, _, detail in rows
                if detail.startswith("SEARCH")
                and "USING COVERING INDEX ix_case_search_words_recent (word=?)" in detail
            ]
            assert len(read) == 1, rows
            # read in the index's order, not sorted, so its LIMIT stops it
            assert not [d for _, p, _, d in rows if p == read[0] and "TEMP B-TREE" in d], rows
            assert not [d for *_, d in rows if d.startswith("SCAN cases")], rows
            return
        explained = "\n".join(
            str(r[0])
            for r in connection.exec_driver_sql(
                "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) " + statement, parameters
            )
        )
    lines = explained.splitlines()
    read = [
        n for n, line in enumerate(lines) if "Backward using ix_case_search_words_recent" in line
    ]
    assert len(read) == 1, explained
    assert "(actual rows=5 loops=1)" in lines[read[0]], explained  # of 300 with the name
    assert "Index Cond: (word = 'okafor'::text)" in lines[read[0] + 1], explained
    for line in lines:  # no more than the page read from `cases` by any part of the plan
        counted = re.search(r" on cases\b.*\(actual rows=(\d+) loops=(\d+)\)", line)
        if counted:
            assert int(counted[1]) * int(counted[2]) <= 5, explained
