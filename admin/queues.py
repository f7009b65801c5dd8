"""The staff work queues: which open cases each queue holds, their red/amber/green status, and
how a queue page is sorted, filtered and split into pages. Read from the records database only
(never by querying every workflow), so a queue costs one indexed query however many cases run.

- mine: open cases the signed-in account owns;   team: every open case;
- due-today, due-soon, overdue: by the one urgency rule (domain/urgency.py), which the case pages
  and the daily sweep use too. Due-soon holds what is due today as well: everything due from
  staff by close of business on the Nth working day after today (N from the policy).

A case waiting for the resident (stage 1's escalation window, or an enquiry we replied to asking
for something) is grey and in no "due" queue. Closed cases are in no queue (search finds them).
Complaints and enquiries share the queues; the `kind` filter shows one or the other.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import and_, case, or_

from activities.deadlines import calendar_from_settings
from config import Settings
from domain.records import CaseSnapshot
from domain.urgency import (
    CLOSED_STAGE,
    COLOUR_ORDER,
    COLOURS,
    FOLLOW_UP_KEYS,
    LABELS,
    WAITING_FROM,
    WAITING_STATUSES,
    Colour,
    Urgency,
    UrgencyWindow,
    due_soon_title,
    urgency,
)
from domain.working_days import WorkingCalendar
from records.schema import Case
from records.store import RecordsStore

PAGE_SIZE = 25
UNASSIGNED = "unassigned"  # the owner filter's value for cases nobody owns

Rag = Colour  # the queues' (and the API's) name for a case's colour


class Queue(StrEnum):
    mine = "mine"
    team = "team"
    due_today = "due-today"
    due_soon = "due-soon"
    overdue = "overdue"


def queue_title(queue: Queue, due_soon_working_days: int) -> str:
    titles = {
        Queue.mine: "My cases",
        Queue.team: "Team cases",
        Queue.due_today: "Due today",
        Queue.due_soon: due_soon_title(due_soon_working_days),
        Queue.overdue: "Overdue",
    }
    return titles[queue]


# Which urgencies each "due" queue holds.
QUEUE_URGENCIES: dict[Queue, frozenset[Urgency]] = {
    Queue.due_today: frozenset({Urgency.due_today}),
    Queue.due_soon: frozenset({Urgency.due_today, Urgency.due_soon}),
    Queue.overdue: frozenset({Urgency.overdue}),
}

SORTS = ("due", "reference", "stage", "status", "received")
STAGES: dict[str, str] = {"triage": "Triage", "stage1": "Stage 1", "stage2": "Stage 2"}
KINDS: dict[str, str] = {"complaint": "Complaints", "enquiry": "Enquiries"}

# What staff do next, by the case's status (the workflow's allowed steps say exactly which).
# Complaint and enquiry statuses have different names, so one map serves both (and search).
NEXT_STEP: dict[str, str] = {
    "awaiting_triage": "Triage",
    "awaiting_acknowledgement": "Acknowledge",
    "investigating": "Respond",
    "escalation_window": "Wait for any stage 2 request",
    "closed": "None: closed",
    # enquiries (domain.enquiry.EnquiryState)
    "open": "Reply",
    "awaiting_resident": "Wait for the resident",
    "with_team": "Team to fix or update",
    "service_request": "Service request target",
}

CONTACT_CLOCKS = frozenset({"s1_contact", "s2_contact"})
# A closed complaint stays in the queues while a clock of what it led to runs: what to do next.
FOLLOW_UP: dict[str, str] = {
    "remedy_action": "Put right: do the action",
    "ombudsman_evidence": "Send the Ombudsman the evidence",
    "ombudsman_order": "Comply with the Ombudsman's order",
}


def window_for(settings: Settings, now: datetime) -> UrgencyWindow:
    """The urgency window at `now` under the settings' policy (its calendar and due-soon)."""
    days = settings.policy.urgency.due_soon_working_days
    return UrgencyWindow.at(now, calendar_from_settings(settings), days)


def rag(snapshot: CaseSnapshot, window: UrgencyWindow) -> Rag:
    """The case's red/amber/green/grey status."""
    return COLOURS[case_urgency(snapshot, window)]


def case_urgency(snapshot: CaseSnapshot, window: UrgencyWindow) -> Urgency:
    return urgency(
        snapshot.stage,
        snapshot.status,
        snapshot.next_deadline,
        snapshot.overdue,
        window,
        snapshot.next_deadline_key,
    )


# The rule of domain.urgency.urgency, in SQL, branch for branch.
def _waiting() -> Any:
    """`owed_by_staff`'s negation (domain/urgency.py)."""
    follow_up = Case.next_deadline_key.in_(sorted(FOLLOW_UP_KEYS))
    return and_(
        or_(Case.next_deadline_key.is_(None), ~follow_up),
        or_(Case.stage == CLOSED_STAGE, Case.status.in_(sorted(WAITING_STATUSES))),
    )


def _late(window: UrgencyWindow) -> Any:
    return or_(Case.overdue.is_(True), Case.next_deadline < window.now)


def urgency_sql(window: UrgencyWindow) -> Any:
    """A CASE giving each row's `Urgency` value."""
    return case(
        (_waiting(), Urgency.waiting.value),
        (_late(window), Urgency.overdue.value),
        (Case.next_deadline.is_(None), Urgency.waiting.value),
        (Case.next_deadline < window.today_ends, Urgency.due_today.value),
        (Case.next_deadline <= window.soon_ends, Urgency.due_soon.value),
        else_=Urgency.on_track.value,
    )


def _colour_rank(window: UrgencyWindow) -> Any:
    ranks = {u.value: COLOUR_ORDER[COLOURS[u]] for u in Urgency}
    return case(ranks, value=urgency_sql(window))


def _in_queue(queue: Queue, window: UrgencyWindow) -> list[Any]:
    """A "due" queue's conditions: its urgencies, plus the bounds they imply on `queue_due`
    (a deadline due from staff is its own `queue_due`; the resident's sort after WAITING_FROM),
    which the database answers from its index."""
    held = urgency_sql(window).in_(sorted(u.value for u in QUEUE_URGENCIES[queue]))
    if queue is Queue.overdue:
        # A case flagged overdue has an open clock of staff's past its due time, so its next
        # deadline (the earliest open one, its `queue_due`) is past too: the bound loses nothing.
        return [held, Case.queue_due < window.now]
    ends = window.today_ends if queue is Queue.due_today else window.soon_ends
    return [held, Case.queue_due >= window.now, Case.queue_due <= ends]


_STAGE_RANK = case(
    (Case.stage == "triage", 0),
    (Case.stage == "stage1", 1),
    (Case.stage == "stage2", 2),
    else_=3,
)


@dataclass(frozen=True)
class QueueRequest:
    """A queue page as the URL asks for it, already checked."""

    queue: Queue
    sort: str = "due"
    descending: bool = False
    stage: str | None = None
    owner: str | None = None
    page: int = 1
    kind: str | None = None  # "complaint", "enquiry", or None for both

    @classmethod
    def parse(
        cls,
        queue: Queue,
        sort: str | None,
        direction: str | None,
        stage: str | None,
        owner: str | None,
        page: str | None,
        kind: str | None = None,
    ) -> QueueRequest:
        try:
            number = max(1, int(page or 1))
        except ValueError:
            number = 1
        return cls(
            queue=queue,
            sort=sort if sort in SORTS else "due",
            descending=direction == "desc",
            stage=stage if stage in STAGES else None,
            owner=(owner or "").strip() or None,
            page=number,
            kind=kind if kind in KINDS else None,
        )

    def params(self, **changes: Any) -> dict[str, str]:
        """Query parameters for a link to this queue with some of them changed."""
        values: dict[str, Any] = {
            "sort": self.sort,
            "dir": "desc" if self.descending else "asc",
            "stage": self.stage,
            "owner": self.owner,
            "kind": self.kind,
            "page": self.page,
        }
        values.update(changes)
        return {k: str(v) for k, v in values.items() if v not in (None, "", 1) or k == "sort"}


@dataclass(frozen=True)
class Row:
    case: CaseSnapshot
    next_step: str
    urgency: Urgency

    @property
    def rag(self) -> Rag:
        return COLOURS[self.urgency]

    @property
    def rag_text(self) -> str:
        """What the colour means, in words (colour alone tells a screen reader nothing)."""
        return LABELS[self.urgency]

    @property
    def outstanding(self) -> str | None:
        """What the response promised that is still open, in words: "Actions outstanding" while
        an action is, else "Compensation owed" while money is (None when nothing is)."""
        if not self.case.actions_outstanding:
            return None
        actions = self.case.data.get("actions") or []
        if any(a.get("done_at") is None for a in actions):
            return "Actions outstanding"
        return "Compensation owed"


@dataclass(frozen=True)
class QueuePage:
    request: QueueRequest
    rows: list[Row]
    total: int
    window: UrgencyWindow
    pages: int = field(default=1)

    @property
    def first(self) -> int:
        return 0 if not self.total else (self.request.page - 1) * PAGE_SIZE + 1

    @property
    def last(self) -> int:
        return self.first + len(self.rows) - 1 if self.rows else 0


def conditions(request: QueueRequest, window: UrgencyWindow, account_id: str) -> list[Any]:
    """SQL conditions on `Case` for the queue and its filters."""
    # open cases, and closed ones with a promise still on a clock (an action, the Ombudsman's)
    where: list[Any] = [Case.in_queue.is_(True)]
    queue = request.queue
    if queue is Queue.mine:
        where.append(Case.owner_id == account_id)
    elif queue in QUEUE_URGENCIES:
        where += _in_queue(queue, window)
    if request.kind:
        where.append(Case.kind == request.kind)
    if request.stage:
        where.append(Case.stage == request.stage)
    if request.owner == UNASSIGNED:
        where.append(Case.owner_id.is_(None))
    elif request.owner:
        where.append(Case.owner_id == request.owner)
    return where


def ordering(request: QueueRequest, window: UrgencyWindow) -> list[Any]:
    """ORDER BY for the chosen column, ties broken by due date, then reference. Cases with no
    deadline due from staff come last whichever way the due date is sorted. The default, due
    soonest first, is `queue_due` then reference: the order of the queue indexes, so a page is
    read straight from an index."""
    if request.sort == "due" and not request.descending:
        return [Case.queue_due, Case.reference]
    no_deadline = Case.queue_due >= WAITING_FROM
    keys: dict[str, Any] = {
        "due": Case.queue_due,
        "reference": Case.reference,
        "stage": _STAGE_RANK,
        "status": _colour_rank(window),
        "received": Case.received_at,
    }
    chosen = keys[request.sort]
    chosen = chosen.desc() if request.descending else chosen.asc()
    if request.sort == "due":
        return [no_deadline, chosen, Case.reference]
    return [chosen, Case.queue_due, Case.reference]


def next_step(snapshot: CaseSnapshot) -> str:
    """What staff do next: triage first; then contact the resident while that promise is the
    next one due; otherwise the step the case's status waits for."""
    due_next = (snapshot.data.get("next_deadline") or {}).get("key")
    if snapshot.status != "awaiting_triage" and due_next in CONTACT_CLOCKS:
        return "Contact the resident"
    if due_next in FOLLOW_UP and snapshot.status in ("closed", "escalation_window"):
        return FOLLOW_UP[due_next]
    return NEXT_STEP.get(snapshot.status, snapshot.status.replace("_", " ").capitalize())


def load(
    store: RecordsStore,
    request: QueueRequest,
    account_id: str,
    now: datetime,
    calendar: WorkingCalendar,
    due_soon_working_days: int,
) -> QueuePage:
    """One page of a queue. A page past the end shows the last page."""
    window = UrgencyWindow.at(now, calendar, due_soon_working_days)
    where = conditions(request, window, account_id)
    order = ordering(request, window)
    offset = (request.page - 1) * PAGE_SIZE
    cases, total = store.list_cases(where, order, offset=offset, limit=PAGE_SIZE)
    pages = max(1, math.ceil(total / PAGE_SIZE))
    if request.page > pages:
        request = QueueRequest(**{**request.__dict__, "page": pages})
        offset = (pages - 1) * PAGE_SIZE
        cases, total = store.list_cases(where, order, offset=offset, limit=PAGE_SIZE)
    rows = [Row(case=c, next_step=next_step(c), urgency=case_urgency(c, window)) for c in cases]
    return QueuePage(request=request, rows=rows, total=total, window=window, pages=pages)


def now_for(state: Any) -> datetime:
    """Now, for the app whose `state` this is: `state.clock()` when set (tests pin it to the
    time-skipping server's clock), else the system clock."""
    clock: Callable[[], datetime] | None = getattr(state, "clock", None)
    return clock() if clock else datetime.now(UTC)
