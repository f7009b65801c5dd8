"""Queue pages by keyset (admin/queues.py `load`, RecordsStore.list_cases), on SQLite and on
PostgreSQL (when TEST_DATABASE_URL is set): walked by "Next page" and "Previous page" cursors
they give every case exactly once, in the queue's order, however cases come and go between two
page loads; each page is one statement; the counts stop at COUNT_UP_TO; a cursor that cannot be
read gives the first page; old page numbers still work. The plans are test_queue_indexes.py's."""

from __future__ import annotations

import base64
import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

import admin.queues
from activities.deadlines import calendar_from_settings
from admin.queues import (
    PAGE_SIZE,
    SORTS,
    STAGE_PARTS,
    Queue,
    QueuePage,
    QueueRequest,
    load,
    rag,
)
from config import Settings
from domain.complaint import Stage
from domain.records import CaseSnapshot, RecordRequest
from domain.urgency import COLOUR_ORDER, WAITING_FROM, UrgencyWindow, queue_due
from records.store import RecordsStore
from tests.support import records_on

NOW = datetime(2027, 3, 10, 10, 0, tzinfo=UTC)  # a Wednesday
CALENDAR = calendar_from_settings(Settings())
STAGES = ["triage", "stage1", "stage1", "stage2"]


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RecordsStore]:
    with records_on(request.param, tmp_path, "keyset") as found:
        yield found


def case(n: int, reference: str, **changes: Any) -> CaseSnapshot:
    """Case `n`: due every four hours from six hours ago, three cases to each deadline (so page
    edges fall inside ties): red, amber and green; stages and received days repeating, so those
    orders tie too."""
    values: dict[str, Any] = {
        "reference": reference,
        "workflow_id": f"complaint-{reference}",
        "stage": STAGES[n % 4],
        "status": "awaiting_triage" if n % 4 == 0 else "investigating",
        "resident_name": f"Resident {n}",
        "postcode": "TN13 1AX",
        "channel": "phone",
        "received_at": NOW - timedelta(days=n % 5),
        "next_deadline": NOW + timedelta(hours=n // 3 * 4 - 6),
        "next_deadline_label": "Stage 1: response",
        "next_deadline_key": "s1_response",
        "updated_at": NOW,
    }
    values.update(changes)
    return CaseSnapshot.model_validate(values)


def fill(store: RecordsStore, count: int = 70) -> dict[str, CaseSnapshot]:
    """`count` open cases, their references shuffled against their deadlines (so the reference
    tie-break is not the order they were written in); one waits on the resident, one has no
    deadline."""
    numbers = list(range(count))
    random.Random(3).shuffle(numbers)
    cases = {}
    for n, m in enumerate(numbers):
        changes: dict[str, Any] = {}
        if n == 7:
            changes = {"status": "escalation_window"}
        if n == 8:
            changes = {"next_deadline": None, "next_deadline_key": None}
        snapshot = case(n, f"CMP-2027-{m:04d}", **changes)
        store.record(RecordRequest(snapshot=snapshot))
        cases[snapshot.reference] = snapshot
    return cases


def due_order(cases: dict[str, CaseSnapshot]) -> list[str]:
    """The team queue's order, worked out here: `queue_due`, then reference."""

    def key(c: CaseSnapshot) -> tuple[datetime, str]:
        return queue_due(c.stage, c.status, c.next_deadline, c.next_deadline_key), c.reference

    return [c.reference for c in sorted(cases.values(), key=key)]


def close(store: RecordsStore, snapshot: CaseSnapshot) -> None:
    closed = snapshot.model_copy(
        update={
            "stage": "closed",
            "status": "closed",
            "next_deadline": None,
            "next_deadline_key": None,
            "updated_at": NOW + timedelta(minutes=1),
        }
    )
    store.record(RecordRequest(snapshot=closed))


def page(store: RecordsStore, cursor: str | None = None, **kw: Any) -> QueuePage:
    return load(store, QueueRequest(queue=Queue.team, cursor=cursor, **kw), "jo", NOW, CALENDAR, 2)


def refs(shown: QueuePage) -> list[str]:
    return [row.case.reference for row in shown.rows]


def walk(store: RecordsStore, **kw: Any) -> list[QueuePage]:
    """Every page from the first by "Next page"."""
    pages = [page(store, **kw)]
    while pages[-1].next_cursor:
        pages.append(page(store, pages[-1].next_cursor, **kw))
        assert len(pages) < 20, "the walk never ends"
    return pages


def test_three_pages_by_cursor_give_every_case_once_in_due_order(store: RecordsStore) -> None:
    cases = fill(store)
    pages = walk(store)
    assert [len(p.rows) for p in pages] == [25, 25, 20]
    assert [r for p in pages for r in refs(p)] == due_order(cases)
    assert [p.showing for p in pages] == [
        "Showing 1 to 25 of 70 cases.",
        "Showing 26 to 50 of 70 cases.",
        "Showing 51 to 70 of 70 cases.",
    ]
    assert pages[0].previous_cursor is None and pages[-1].next_cursor is None
    assert [(p.page, p.pages) for p in pages] == [(1, 3), (2, 3), (3, 3)]

    back = [pages[-1]]  # and back again by "Previous page"
    while back[-1].previous_cursor:
        back.append(page(store, back[-1].previous_cursor))
    assert [refs(p) for p in reversed(back)] == [refs(p) for p in pages]
    assert [p.first for p in reversed(back)] == [1, 26, 51]


def test_cases_coming_and_going_between_pages_never_show_twice_or_go_missing(
    store: RecordsStore,
) -> None:
    cases = fill(store)
    first = page(store)
    order = due_order(cases)
    edge = cases[order[24]]  # the last case on the first page
    # Between the pages: a case on the first page closes, so does one due on the second; new
    # cases arrive due before everything, level with the edge just before it and just after it
    # (the tie-break: reference), and in the middle of the second page.
    close(store, cases[order[3]])
    close(store, cases[order[30]])
    before_edge = "CMP-2026-0000"  # sorts before any CMP-2027 reference
    after_edge = "CMP-2028-0000"
    arrived = {
        "CMP-2028-0001": case(0, "CMP-2028-0001", next_deadline=NOW - timedelta(days=3)),
        before_edge: case(1, before_edge, next_deadline=edge.next_deadline),
        after_edge: case(1, after_edge, next_deadline=edge.next_deadline),
        "CMP-2028-0002": case(2, "CMP-2028-0002", next_deadline=cases[order[40]].next_deadline),
    }
    for snapshot in arrived.values():
        store.record(RecordRequest(snapshot=snapshot))

    rest = [page(store, first.next_cursor)]
    while rest[-1].next_cursor:
        rest.append(page(store, rest[-1].next_cursor))
    later = [r for p in rest for r in refs(p)]
    now_open = {**cases, **arrived}
    del now_open[order[3]], now_open[order[30]]
    expected = due_order(now_open)
    after_first = expected[expected.index(edge.reference) + 1 :]
    assert later == after_first, "each case after the first page's last, once, in order"
    assert not set(later) & set(refs(first)), "nothing from the first page again"
    assert after_edge in later and before_edge not in later
    assert order[25] in later, "the case that led the second page is not skipped"
    # the position is counted afresh: 25 before, one of them closed, two new ones before the edge
    assert rest[0].first == expected.index(later[0]) + 1 == 27
    assert rest[0].total == len(now_open) == 72


def test_previous_page_after_cases_before_it_closed_gives_a_full_first_page(
    store: RecordsStore,
) -> None:
    cases = fill(store)
    second = page(store, page(store).next_cursor)
    order = due_order(cases)
    for reference in order[:5]:
        close(store, cases[reference])
    back = page(store, second.previous_cursor)
    assert refs(back) == order[5:30], "the first page as it is now: full, not 20 cases"
    assert back.first == 1 and back.previous_cursor is None


def test_a_cursor_past_the_end_gives_the_last_page(store: RecordsStore) -> None:
    cases = fill(store)
    pages = walk(store)
    for reference in refs(pages[2]):
        close(store, cases[reference])
    past = page(store, pages[1].next_cursor)
    assert refs(past) == refs(pages[1]) and past.next_cursor is None
    assert past.showing == "Showing 26 to 50 of 50 cases."


def test_each_page_is_one_statement(store: RecordsStore) -> None:
    fill(store)
    seen: list[str] = []

    def capture(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append(statement)

    event.listen(store.engine, "before_cursor_execute", capture)
    try:
        first = page(store)
        second = page(store, first.next_cursor)
        third = page(store, second.next_cursor)
        page(store, third.previous_cursor)
        page(store, "garbled")
    finally:
        event.remove(store.engine, "before_cursor_execute", capture)
    assert len(seen) == 5, seen
    for statement in seen:  # the page, and each count stopping at COUNT_UP_TO + 1
        assert statement.upper().count("LIMIT") == statement.lower().count("count(") + 1
    if store.engine.dialect.name == "postgresql":  # SQLite's dialect writes OFFSET 0 always
        assert not any("OFFSET" in statement.upper() for statement in seen), "keyset, no OFFSET"


def encoded(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode()


UNREADABLE = {
    "garbled": "garbled",
    "not base64": "!!!!",
    "cut short": "WzEsICJkdWUuYXNjIiwgImEiLCAyNSwgWyIyMDI3LTA",
    "not JSON": base64.urlsafe_b64encode(b"\xff\xfe not json").decode(),
    "not a list": encoded({"a": 1}),
    "keys not of the order's types": encoded([1, "due.asc", "a", 25, [1, 2]]),
    "a time without its zone": encoded(
        [1, "due.asc", "a", 25, ["2027-03-10T10:00:00", "CMP-2027-0001"]]
    ),
    "another order's": encoded([1, "reference.asc", "a", 25, ["CMP-2027-0001"]]),
    "no such direction": encoded([1, "due.asc", "x", 25, ["2027-03-10T10:00:00+00:00", "C"]]),
    "a negative position": encoded([1, "due.asc", "a", -1, ["2027-03-10T10:00:00+00:00", "C"]]),
    "too long": "A" * 5000,
}


@pytest.mark.parametrize("cursor", UNREADABLE.values(), ids=UNREADABLE.keys())
def test_a_cursor_that_cannot_be_read_gives_the_first_page(
    store: RecordsStore, cursor: str
) -> None:
    cases = fill(store, 30)
    shown = page(store, cursor)
    assert shown.cursor_ignored
    assert refs(shown) == due_order(cases)[:PAGE_SIZE] and shown.first == 1


@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("sort", SORTS)
def test_every_order_walks_forward_and_back_to_the_whole_queue_once(
    store: RecordsStore, sort: str, descending: bool
) -> None:
    """Each column's order (keys in different directions; stage computed; status and latest
    due read part by part) pages by its own cursor, either way, to the whole queue in the
    order worked out here."""
    cases = fill(store, 60)
    window = page(store).window
    pages = walk(store, sort=sort, descending=descending)
    listed = [r for p in pages for r in refs(p)]
    assert listed == in_order(list(cases.values()), sort, descending, window)
    back = [pages[-1]]
    while back[-1].previous_cursor:
        back.append(page(store, back[-1].previous_cursor, sort=sort, descending=descending))
    assert [r for p in reversed(back) for r in refs(p)] == listed


def in_order(
    cases: list[CaseSnapshot], sort: str, descending: bool, window: UrgencyWindow
) -> list[str]:
    """The references of `cases` in the queue's order for the column, worked out here (ties:
    due date, then reference, ascending, but where the column is the due date itself, the date
    received or the reference)."""

    def due(c: CaseSnapshot) -> datetime:
        return queue_due(c.stage, c.status, c.next_deadline, c.next_deadline_key)

    stage_rank = {"triage": 0, "stage1": 1, "stage2": 2}
    if sort == "due" and descending:  # latest first; nothing due from staff last
        ordered = sorted(cases, key=lambda c: (due(c), c.reference), reverse=True)
        ordered.sort(key=lambda c: due(c) >= WAITING_FROM)
    elif sort == "due":
        ordered = sorted(cases, key=lambda c: (due(c), c.reference))
    elif sort == "reference":
        ordered = sorted(cases, key=lambda c: c.reference, reverse=descending)
    elif sort == "received":
        ordered = sorted(cases, key=lambda c: (c.received_at, c.reference), reverse=descending)
    else:
        if sort == "status":
            rank = {c.reference: COLOUR_ORDER[rag(c, window)] for c in cases}
        else:
            rank = {c.reference: stage_rank.get(c.stage, 3) for c in cases}
        ordered = sorted(cases, key=lambda c: (due(c), c.reference))
        ordered.sort(key=lambda c: rank[c.reference], reverse=descending)
    return [c.reference for c in ordered]


def test_the_stage_order_reads_every_stage_a_case_can_have() -> None:
    """Each stage is read as its own part (admin.queues.STAGE_PARTS): a stage missing there
    would never show in that order."""
    listed = {part.right.value for _, part in STAGE_PARTS}
    assert listed == {stage.value for stage in Stage} | {"enquiry"}


def test_a_cursor_for_no_part_of_its_order_gives_the_first_page(store: RecordsStore) -> None:
    fill(store, 30)
    nowhere = encoded([1, "status.asc", "a", 25, [9, "2027-03-10T10:00:00+00:00", "C"]])
    shown = page(store, nowhere, sort="status")
    assert shown.cursor_ignored and shown.first == 1


def test_counts_stop_at_count_up_to(store: RecordsStore, monkeypatch: pytest.MonkeyPatch) -> None:
    cases = fill(store)
    monkeypatch.setattr(admin.queues, "COUNT_UP_TO", 30)
    pages = walk(store)
    assert [r for p in pages for r in refs(p)] == due_order(cases)
    assert [p.showing for p in pages] == [
        "Showing 1 to 25 of more than 30 cases.",  # 70 from here: counted to 31 and stopped
        "Showing 26 to 50 of more than 55 cases.",
        "Showing about 51 to 70 of about 70 cases.",  # 50 before: the cursor's count
    ]
    assert not any(p.total_exact for p in pages)
    assert [p.position_exact for p in pages] == [True, True, False]


def test_old_page_numbers_still_work(store: RecordsStore) -> None:
    cases = fill(store)
    order = due_order(cases)
    assert refs(page(store, page=2)) == order[25:50]
    past_end = page(store, page=9)
    assert refs(past_end) == order[50:], "past the end: the last page, on its boundary"
    assert (past_end.first, past_end.page, past_end.next_cursor) == (51, 3, None)
    assert refs(page(store, past_end.previous_cursor)) == order[25:50]
