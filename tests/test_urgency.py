"""One urgency rule (domain/urgency.py) for the work queues, the case pages and the daily sweep.

One set of cases, on Wednesday 23 December 2026 at 10:00 London time (Christmas Day and Monday
28 December, the Boxing Day substitute, are bank holidays, so the 2nd working day after it is
Tuesday 29 December), goes through the queues (SQL on a real records store), the case page's
deadline tags and the sweep's visibility queries (their pure parts: the at-risk cut-off and the
statuses left out); all must agree with the rule and with each other. The sweep's queries run
against the dev server in tests/test_sweep.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import Session

from activities.deadlines import calendar_from_settings
from activities.sweep import at_risk_cutoff, at_risk_query
from admin.app import create_app
from admin.queues import (
    QUEUE_URGENCIES,
    Queue,
    QueueRequest,
    load,
    queue_title,
    rag,
    urgency_sql,
    window_for,
)
from admin.routes.cases import deadline_row
from config import REPO_ROOT, Settings
from domain.clocks import CLOCK_LABELS, Clock, ClockKey
from domain.complaint import workflow_id
from domain.enquiry import enquiry_workflow_id
from domain.records import CaseSnapshot, RecordRequest
from domain.sweep import AT_RISK_QUERY, OVERDUE_QUERY
from domain.urgency import (
    CLOSED_STAGE,
    COLOURS,
    LABELS,
    PROMISE_LABELS,
    WAITING_STATUSES,
    Colour,
    Urgency,
    UrgencyWindow,
    deadline_urgency,
    due_soon_title,
    urgency,
)
from domain.working_days import WorkingCalendar
from records.schema import Case
from records.store import RecordsStore
from tests.admin.conftest import admin_http, admin_sign_in
from tests.records.conftest import postgres_url  # noqa: F401  (a fixture, for the store)
from tests.support import create_staff, london

NOW = london(2026, 12, 23, 10, 0)
SWEEP_DAY = date(2026, 12, 23)
MANAGER = "mo.manager"


def cob(y: int, m: int, d: int) -> datetime:
    """Close of business on a Monday to Thursday (17:15 London)."""
    return london(y, m, d, 17, 15)


# --------------------------------------------------------------------------- the cases


@dataclass(frozen=True)
class Example:
    name: str
    stage: str
    status: str
    next_deadline: datetime | None
    overdue: bool
    clocks: list[Clock]  # as the case page shows them
    expected: Urgency
    kind: str = "complaint"
    reference: str = field(default="")
    next_deadline_key: str | None = None  # which clock is next, where the test cares


def clock(key: ClockKey, due: datetime, **changes: Any) -> Clock:
    return Clock(
        key=key,
        label=CLOCK_LABELS[key],
        due=due.astimezone(UTC),
        due_day=due.date(),
        remind_at=(due - timedelta(days=1)).astimezone(UTC),
        original_due=due.astimezone(UTC),
        **changes,
    )


def examples() -> list[Example]:
    missed = cob(2026, 12, 22)
    today = cob(2026, 12, 23)
    one_day = cob(2026, 12, 24)  # Thursday 24 December
    two_days = cob(2026, 12, 29)  # Tuesday 29 December: 25 and 28 are bank holidays
    three_days = cob(2026, 12, 30)
    met = {"met_at": NOW - timedelta(days=1)}
    cases = [
        Example(
            "overdue",
            "stage1",
            "investigating",
            missed,
            True,
            [clock(ClockKey.s1_response, missed, breached_at=missed)],
            Urgency.overdue,
        ),
        Example(
            "due today",
            "triage",
            "awaiting_triage",
            today,
            False,
            [clock(ClockKey.s1_contact, today)],
            Urgency.due_today,
        ),
        Example(
            "due in 1 working day",
            "stage1",
            "awaiting_acknowledgement",
            one_day,
            False,
            [clock(ClockKey.s1_acknowledgement, one_day)],
            Urgency.due_soon,
        ),
        Example(
            "due in 2 working days",
            "stage2",
            "investigating",
            two_days,
            False,
            [clock(ClockKey.s2_response, two_days)],
            Urgency.due_soon,
        ),
        Example(
            "due in 3 working days",
            "stage1",
            "investigating",
            three_days,
            False,
            [clock(ClockKey.s1_response, three_days)],
            Urgency.on_track,
        ),
        Example(
            "escalation window ends tomorrow",
            "stage1",
            "escalation_window",
            one_day,
            False,
            [
                clock(ClockKey.s1_response, cob(2026, 11, 25), **met),
                clock(ClockKey.escalation_window, one_day),
            ],
            Urgency.waiting,
        ),
        Example(
            "enquiry awaiting the resident",
            "enquiry",
            "awaiting_resident",
            None,  # the reply met its clock; none runs while the resident has the next move
            False,
            [clock(ClockKey.enquiry_reply, cob(2026, 12, 22), **met)],
            Urgency.waiting,
            kind="enquiry",
        ),
        Example(
            "closed",
            CLOSED_STAGE,
            "closed",
            None,
            False,
            [clock(ClockKey.s1_response, cob(2026, 12, 21), **met)],
            Urgency.waiting,
        ),
        Example(  # closed, but an action the response promised is late: staff still owe it
            "closed, a promised action overdue",
            CLOSED_STAGE,
            "closed",
            missed,
            True,
            [
                clock(ClockKey.s2_response, cob(2026, 12, 14), **met),
                clock(ClockKey.remedy_action, missed, item=1, breached_at=missed),
            ],
            Urgency.overdue,
            next_deadline_key="remedy_action",
        ),
        Example(  # the resident has the escalation window, but staff owe the action due today
            "escalation window, a promised action due today",
            "stage1",
            "escalation_window",
            today,
            False,
            [
                clock(ClockKey.s1_response, cob(2026, 12, 14), **met),
                clock(ClockKey.remedy_action, today, item=1),
                clock(ClockKey.escalation_window, cob(2027, 1, 12)),
            ],
            Urgency.due_today,
            next_deadline_key="remedy_action",
        ),
    ]
    prefix = {"complaint": "CMP", "enquiry": "ENQ"}
    return [
        Example(**{**e.__dict__, "reference": f"{prefix[e.kind]}-{n:04d}-URGE"})
        for n, e in enumerate(cases, start=1)
    ]


CASES = examples()
BY_NAME = {e.name: e for e in CASES}


def snapshot(example: Example) -> CaseSnapshot:
    wid = (enquiry_workflow_id if example.kind == "enquiry" else workflow_id)(example.reference)
    return CaseSnapshot(
        reference=example.reference,
        kind=example.kind,
        stage=example.stage,
        status=example.status,
        resident_name="Ann Example",
        channel="phone",
        received_at=NOW - timedelta(days=30),
        next_deadline=example.next_deadline,
        next_deadline_key=example.next_deadline_key,
        overdue=example.overdue,
        workflow_id=wid,
        updated_at=NOW,
    )


@pytest.fixture(params=["sqlite", "postgresql"])
def records(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RecordsStore]:
    """A records store holding the cases: SQLite, and PostgreSQL when TEST_DATABASE_URL is set."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'urgency.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    store = RecordsStore(url)
    store.migrate()
    for example in CASES:
        store.record(RecordRequest(snapshot=snapshot(example)))
    yield store
    store.dispose()


@pytest.fixture
def calendar(settings: Settings) -> WorkingCalendar:
    return calendar_from_settings(settings)


@pytest.fixture
def window(settings: Settings) -> UrgencyWindow:
    assert settings.policy.urgency.due_soon_working_days == 2
    return window_for(settings, NOW)


# ------------------------------------------------------------------- the rule on its own


def test_the_rule_sorts_the_cases(window: UrgencyWindow) -> None:
    for e in CASES:
        got = urgency(e.stage, e.status, e.next_deadline, e.overdue, window, e.next_deadline_key)
        assert got is e.expected, e.name


def test_the_window_on_the_wednesday_before_christmas(window: UrgencyWindow) -> None:
    assert window.today == date(2026, 12, 23)
    assert window.now == NOW.astimezone(UTC)
    assert window.today_starts == datetime(2026, 12, 23, 0, 0, tzinfo=UTC)  # GMT in winter
    assert window.today_ends == datetime(2026, 12, 24, 0, 0, tzinfo=UTC)
    assert window.soon_ends == datetime(2026, 12, 29, 17, 15, tzinfo=UTC)
    assert window.due_soon_working_days == 2


@pytest.mark.parametrize(
    ("now", "days", "soon_ends"),
    [
        # Friday 18 December: Monday 21, Tuesday 22
        (london(2026, 12, 18, 9, 0), 2, cob(2026, 12, 22)),
        # Thursday 24 December: Friday 25 and Monday 28 are bank holidays
        (london(2026, 12, 24, 9, 0), 1, cob(2026, 12, 29)),
        (london(2026, 12, 24, 9, 0), 2, cob(2026, 12, 30)),
        # Christmas Day itself and the weekend after: today is not counted
        (london(2026, 12, 25, 9, 0), 1, cob(2026, 12, 29)),
        (london(2026, 12, 26, 9, 0), 2, cob(2026, 12, 30)),
        # a Friday closes at 16:45
        (london(2026, 12, 17, 9, 0), 1, london(2026, 12, 18, 16, 45)),
        # New Year's Day 2027 is a Friday: Thursday 31 December + 2 is Tuesday 5 January
        (london(2026, 12, 31, 9, 0), 2, cob(2027, 1, 5)),
        # summer time: the August bank holiday is Monday 31 August 2026
        (london(2026, 8, 28, 9, 0), 2, cob(2026, 9, 2)),
    ],
)
def test_soon_ends_at_close_of_business_on_the_nth_working_day_after_today(
    calendar: WorkingCalendar, now: datetime, days: int, soon_ends: datetime
) -> None:
    window = UrgencyWindow.at(now, calendar, days)
    assert window.soon_ends == soon_ends.astimezone(UTC)
    assert window.soon_ends.tzinfo is UTC
    assert UrgencyWindow.on(now.date(), calendar, days).soon_ends == window.soon_ends


def test_today_is_the_calendar_s_day_not_utc_s(calendar: WorkingCalendar) -> None:
    # 23:30 UTC on Friday 28 August 2026 is 00:30 on Saturday 29 August in London (BST)
    window = UrgencyWindow.at(datetime(2026, 8, 28, 23, 30, tzinfo=UTC), calendar, 2)
    assert window.today == date(2026, 8, 29)
    assert window.today_starts == datetime(2026, 8, 28, 23, 0, tzinfo=UTC)
    assert window.today_ends == datetime(2026, 8, 29, 23, 0, tzinfo=UTC)
    assert window.soon_ends == datetime(2026, 9, 2, 16, 15, tzinfo=UTC)  # Wed 2 Sep, 17:15 BST


def test_the_window_wants_an_aware_now_and_at_least_a_day(calendar: WorkingCalendar) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        UrgencyWindow.at(datetime(2026, 12, 23, 10, 0), calendar, 2)
    with pytest.raises(ValueError, match="at least 1"):
        UrgencyWindow.at(NOW, calendar, 0)


def test_the_boundaries(window: UrgencyWindow) -> None:
    def of(due: datetime, **kw: Any) -> Urgency:
        return urgency("stage1", "investigating", due, kw.get("overdue", False), window)

    assert of(window.now) is Urgency.due_today, "due this very moment: not missed yet"
    assert of(window.now - timedelta(seconds=1)) is Urgency.overdue, "passed, flag not landed"
    assert of(window.today_ends - timedelta(seconds=1)) is Urgency.due_today
    assert of(window.today_ends) is Urgency.due_soon
    assert of(window.soon_ends) is Urgency.due_soon, "close of business exactly is in"
    assert of(window.soon_ends + timedelta(seconds=1)) is Urgency.on_track
    assert of(window.soon_ends + timedelta(days=30), overdue=True) is Urgency.overdue
    naive = window.soon_ends.replace(tzinfo=None)  # as SQLite hands it back: UTC
    assert of(naive) is Urgency.due_soon
    assert urgency("stage1", "investigating", None, False, window) is Urgency.waiting


@pytest.mark.parametrize("status", sorted(WAITING_STATUSES))
def test_nothing_is_due_from_staff_while_the_resident_has_the_clock(
    window: UrgencyWindow, status: str
) -> None:
    for due in (window.now - timedelta(days=1), window.now, window.soon_ends):
        for overdue in (False, True):
            assert urgency("stage1", status, due, overdue, window) is Urgency.waiting
    assert urgency(CLOSED_STAGE, "closed", window.now, True, window) is Urgency.waiting
    # what a complaint led to is staff's, on a closed case or while the resident has the clock
    for stage, waiting in ((CLOSED_STAGE, "closed"), ("stage1", "escalation_window")):
        for key in ("remedy_action", "ombudsman_evidence", "ombudsman_order"):
            assert urgency(stage, waiting, window.now, True, window, key) is Urgency.overdue


def test_colours_and_words() -> None:
    assert {u: COLOURS[u] for u in Urgency} == {
        Urgency.overdue: Colour.red,
        Urgency.due_today: Colour.red,
        Urgency.due_soon: Colour.amber,
        Urgency.on_track: Colour.green,
        Urgency.waiting: Colour.grey,
    }
    assert set(LABELS) == set(PROMISE_LABELS) == set(Urgency)
    assert due_soon_title(2) == "Due within 2 working days"
    assert due_soon_title(1) == "Due within 1 working day"
    assert queue_title(Queue.due_soon, 3) == "Due within 3 working days"


# ------------------------------------------------- queues, case pages and sweep: one answer


def queue_members(store: RecordsStore, queue: Queue, calendar: WorkingCalendar) -> dict:
    page = load(store, QueueRequest(queue=queue), MANAGER, NOW, calendar, 2)
    return {row.case.reference: (row.rag, row.rag_text) for row in page.rows}


def test_the_queues_tag_and_hold_each_case_by_the_rule(
    records: RecordsStore, calendar: WorkingCalendar, window: UrgencyWindow
) -> None:
    team = queue_members(records, Queue.team, calendar)
    open_cases = [e for e in CASES if e.stage != CLOSED_STAGE or e.next_deadline]
    assert set(team) == {e.reference for e in open_cases}, "closed with nothing due: no queue"
    assert BY_NAME["closed, a promised action overdue"].reference in team
    for e in open_cases:
        assert team[e.reference] == (COLOURS[e.expected], LABELS[e.expected]), e.name
        assert rag(snapshot(e), window) is COLOURS[e.expected], e.name

    # the SQL form of the rule gives every row the same urgency as the Python form
    with Session(records.engine) as session:
        rows = session.execute(select(Case.reference, urgency_sql(window)))
        in_sql = {reference: value for reference, value in rows}
    assert in_sql == {e.reference: e.expected.value for e in CASES}

    for queue, held in QUEUE_URGENCIES.items():
        members = queue_members(records, queue, calendar)
        assert set(members) == {e.reference for e in CASES if e.expected in held}, queue
    assert set(queue_members(records, Queue.due_soon, calendar)) == {
        BY_NAME[n].reference
        for n in (
            "due today",
            "due in 1 working day",
            "due in 2 working days",
            "escalation window, a promised action due today",
        )
    }

    # sorting by status: red, amber, green, then grey (ties by due date, then reference)
    page = load(records, QueueRequest(queue=Queue.team, sort="status"), MANAGER, NOW, calendar, 2)
    colours = [row.rag for row in page.rows]
    order = list(Colour)
    assert colours == sorted(colours, key=order.index)
    assert [row.case.reference for row in page.rows][:3] == [
        BY_NAME["overdue"].reference,
        BY_NAME["closed, a promised action overdue"].reference,  # as late: by reference
        BY_NAME["due today"].reference,
    ]
    descending = load(
        records, QueueRequest(queue=Queue.team, sort="status", descending=True), MANAGER, NOW,
        calendar, 2,
    )  # fmt: skip
    colours = [row.rag for row in descending.rows]
    assert colours == sorted(colours, key=order.index, reverse=True)


def page_tag(example: Example, window: UrgencyWindow) -> tuple[Colour, str]:
    """The case page's tag for the case's next deadline (grey when none runs)."""
    rows = [deadline_row(c, window) for c in example.clocks]
    current = [r for r in rows if r.clock.open and r.clock.due == example.next_deadline]
    if not current:
        assert all(r.colour not in (Colour.red, Colour.amber) for r in rows), example.name
        return Colour.grey, ""
    return Colour(current[0].colour), current[0].state


def test_the_case_page_tags_each_deadline_by_the_same_rule(window: UrgencyWindow) -> None:
    for e in CASES:
        colour, words = page_tag(e, window)
        assert colour is COLOURS[e.expected], e.name
        if e.expected is not Urgency.waiting:
            assert words == PROMISE_LABELS[e.expected], e.name
    assert page_tag(BY_NAME["escalation window ends tomorrow"], window) == (
        Colour.grey,
        "Open to the resident",
    )
    # one deadline on its own, as the case page asks
    missed = BY_NAME["overdue"].clocks[0]
    assert deadline_urgency(missed.due, window, missed=True) is Urgency.overdue


def sweep_sections(window: UrgencyWindow, calendar: WorkingCalendar) -> dict[str, set[str]]:
    """Which cases the sweep's two queries would find, read off the query strings it sends.
    (Every case counts as running: a closed complaint's workflow may still be.)"""
    query = at_risk_query(at_risk_cutoff(SWEEP_DAY, calendar, 2))
    assert query.startswith(AT_RISK_QUERY)
    left_out = set(re.findall(r'CaseStatus != "(\w+)"', query))
    keys = re.search(r"NextDeadlineKey IN \(([^)]*)\)", query)
    assert keys, query
    follow_up = set(re.findall(r'"(\w+)"', keys.group(1)))
    stamp = re.search(r'NextDeadline < "([^"]+)"$', query)
    assert stamp, query
    before = datetime.fromisoformat(stamp.group(1))
    assert "Overdue = true" in OVERDUE_QUERY and "Overdue = false" in query
    return {
        "overdue": {e.reference for e in CASES if e.overdue},
        "at risk": {
            e.reference
            for e in CASES
            if not e.overdue
            and (e.status not in left_out or e.next_deadline_key in follow_up)
            and e.next_deadline is not None
            and e.next_deadline < before
        },
    }


def test_the_sweep_finds_what_the_queues_hold(
    records: RecordsStore, calendar: WorkingCalendar, window: UrgencyWindow
) -> None:
    cutoff = at_risk_cutoff(SWEEP_DAY, calendar, 2)
    assert cutoff == window.soon_ends == cob(2026, 12, 29).astimezone(UTC)
    query = at_risk_query(cutoff)
    for status in WAITING_STATUSES:
        assert f'CaseStatus != "{status}"' in query
    assert query.endswith('NextDeadline < "2026-12-29T17:15:01Z"')

    sections = sweep_sections(window, calendar)
    assert sections["overdue"] == set(queue_members(records, Queue.overdue, calendar))
    assert sections["at risk"] == set(queue_members(records, Queue.due_soon, calendar))
    assert BY_NAME["escalation window ends tomorrow"].reference not in sections["at risk"]
    assert BY_NAME["due in 3 working days"].reference not in sections["at risk"]


# ------------------------------------------------------------- the threshold is the policy's


async def test_the_queues_use_the_policy_s_due_soon(tmp_path: Path) -> None:
    policy = (REPO_ROOT / "policy" / "west-kent.toml").read_text(encoding="utf-8")
    assert "due_soon_working_days = 2" in policy
    policy_file = tmp_path / "three-days.toml"
    policy_file.write_text(policy.replace("due_soon_working_days = 2", "due_soon_working_days = 3"))
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'records.db'}",
        outbox_dir=tmp_path / "outbox",
        policy_file=policy_file,
        admin_secret_key="test-secret-" + "x" * 32,
    )
    assert settings.policy.urgency.due_soon_working_days == 3
    store = RecordsStore.from_settings(settings)
    store.migrate()
    for example in CASES:
        store.record(RecordRequest(snapshot=snapshot(example)))
    create_staff(store)
    app: FastAPI = create_app(settings, store)
    app.state.clock = lambda: NOW.astimezone(UTC)
    try:
        async with admin_http(app) as http:
            await admin_sign_in(http, MANAGER)
            page = (await http.get("/queues/due-soon")).text
    finally:
        store.dispose()
    assert "<h1" in page and "Due within 3 working days" in page
    assert "Amber: due within 3 working days." in page
    assert "Due within 2 working days" not in page  # the menu too
    three = BY_NAME["due in 3 working days"].reference
    assert f'data-reference="{three}"' in page
    assert f'data-reference="{BY_NAME["escalation window ends tomorrow"].reference}"' not in page
