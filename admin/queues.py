"""The staff work queues: which open cases each queue holds, their red/amber/green status, and
how a queue page is sorted, filtered and split into pages. Read from the records database only
(never by querying every workflow), so a queue costs one indexed query however many cases run.

- mine: open cases the signed-in account owns;   team: every open case;
- due-today: the next deadline falls on today (Europe/London);
- due-soon: the next deadline is no later than close of business on the 2nd working day from
  today (today's included);   overdue: a deadline has been missed and the step is still to do.

Red = overdue or due today; amber = due within 2 working days; green = later. A case at stage 1's
escalation window waits for the resident, not for staff: it is grey and in no "due" queue; so is
an enquiry we replied to asking the resident for something (it has no clock running).
Closed cases are in no queue (search finds them). Complaints and enquiries share the queues; the
`kind` filter shows one or the other.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import case, or_

from domain.records import CaseSnapshot
from domain.working_days import WorkingCalendar
from records.schema import Case
from records.store import RecordsStore

LONDON = ZoneInfo("Europe/London")
PAGE_SIZE = 25
UNASSIGNED = "unassigned"  # the owner filter's value for cases nobody owns
WAITING_FOR_RESIDENT = "escalation_window"  # the status in which nothing is due from staff


class Queue(StrEnum):
    mine = "mine"
    team = "team"
    due_today = "due-today"
    due_soon = "due-soon"
    overdue = "overdue"


QUEUE_TITLES: dict[Queue, str] = {
    Queue.mine: "My cases",
    Queue.team: "Team cases",
    Queue.due_today: "Due today",
    Queue.due_soon: "Due within 2 working days",
    Queue.overdue: "Overdue",
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


class Rag(StrEnum):
    red = "red"
    amber = "amber"
    green = "green"
    grey = "grey"


RAG_TEXT: dict[Rag, str] = {
    Rag.red: "Due today",
    Rag.amber: "Due soon",
    Rag.green: "On track",
    Rag.grey: "Waiting",
}


@dataclass(frozen=True)
class Window:
    """Today's bounds (UTC) as the queues see them."""

    now: datetime
    today: date
    today_starts: datetime
    today_ends: datetime  # midnight at the start of tomorrow, London time
    soon_ends: datetime  # close of business on the 2nd working day after today

    @classmethod
    def at(cls, now: datetime, calendar: WorkingCalendar) -> Window:
        local = now.astimezone(LONDON)
        today = local.date()
        starts = datetime.combine(today, datetime.min.time(), tzinfo=LONDON)
        ends = datetime.combine(today + timedelta(days=1), datetime.min.time(), tzinfo=LONDON)
        soon = calendar.close_of_business(calendar.add_working_days(today, 2))
        return cls(
            now=now.astimezone(UTC),
            today=today,
            today_starts=starts.astimezone(UTC),
            today_ends=ends.astimezone(UTC),
            soon_ends=soon.astimezone(UTC),
        )


def rag(snapshot: CaseSnapshot, window: Window) -> Rag:
    """The case's red/amber/green status (the same rule as `_rag_rank`, in Python)."""
    due = snapshot.next_deadline
    if snapshot.status == WAITING_FOR_RESIDENT or snapshot.stage == "closed":
        return Rag.grey
    if snapshot.overdue:
        return Rag.red
    if due is None:
        return Rag.grey
    due = due if due.tzinfo else due.replace(tzinfo=UTC)
    if due < window.today_ends:
        return Rag.red
    if due <= window.soon_ends:
        return Rag.amber
    return Rag.green


def _rag_rank(window: Window) -> Any:
    return case(
        (Case.status == WAITING_FOR_RESIDENT, 3),
        (Case.overdue.is_(True), 0),
        (Case.next_deadline.is_(None), 3),
        (Case.next_deadline < window.today_ends, 0),
        (Case.next_deadline <= window.soon_ends, 1),
        else_=2,
    )


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
    rag: Rag

    @property
    def rag_text(self) -> str:
        """What the colour means, in words (colour alone tells a screen reader nothing)."""
        if self.rag is Rag.red and self.case.overdue:
            return "Overdue"
        return RAG_TEXT[self.rag]


@dataclass(frozen=True)
class QueuePage:
    request: QueueRequest
    rows: list[Row]
    total: int
    window: Window
    pages: int = field(default=1)

    @property
    def first(self) -> int:
        return 0 if not self.total else (self.request.page - 1) * PAGE_SIZE + 1

    @property
    def last(self) -> int:
        return self.first + len(self.rows) - 1 if self.rows else 0


def conditions(request: QueueRequest, window: Window, account_id: str) -> list[Any]:
    """SQL conditions on `Case` for the queue and its filters."""
    where: list[Any] = [Case.stage != "closed"]
    queue = request.queue
    if queue is Queue.mine:
        where.append(Case.owner_id == account_id)
    elif queue is Queue.due_today:
        where += [
            Case.status != WAITING_FOR_RESIDENT,
            Case.next_deadline >= window.today_starts,
            Case.next_deadline < window.today_ends,
        ]
    elif queue is Queue.due_soon:
        where += [
            Case.status != WAITING_FOR_RESIDENT,
            Case.overdue.is_(False),
            Case.next_deadline <= window.soon_ends,
        ]
    elif queue is Queue.overdue:
        where.append(Case.overdue.is_(True))
    if request.kind:
        where.append(Case.kind == request.kind)
    if request.stage:
        where.append(Case.stage == request.stage)
    if request.owner == UNASSIGNED:
        where.append(Case.owner_id.is_(None))
    elif request.owner:
        where.append(Case.owner_id == request.owner)
    return where


def ordering(request: QueueRequest, window: Window) -> list[Any]:
    """ORDER BY for the chosen column, ties broken by due date, then reference. Cases with no
    deadline due from staff come last whichever way the due date is sorted."""
    no_deadline = or_(Case.next_deadline.is_(None), Case.status == WAITING_FOR_RESIDENT)
    keys: dict[str, Any] = {
        "due": Case.next_deadline,
        "reference": Case.reference,
        "stage": _STAGE_RANK,
        "status": _rag_rank(window),
        "received": Case.received_at,
    }
    chosen = keys[request.sort]
    chosen = chosen.desc() if request.descending else chosen.asc()
    if request.sort == "due":
        return [no_deadline, chosen, Case.reference]
    return [chosen, no_deadline, Case.next_deadline, Case.reference]


def next_step(snapshot: CaseSnapshot) -> str:
    """What staff do next: triage first; then contact the resident while that promise is the
    next one due; otherwise the step the case's status waits for."""
    due_next = (snapshot.data.get("next_deadline") or {}).get("key")
    if snapshot.status != "awaiting_triage" and due_next in CONTACT_CLOCKS:
        return "Contact the resident"
    return NEXT_STEP.get(snapshot.status, snapshot.status.replace("_", " ").capitalize())


def load(
    store: RecordsStore,
    request: QueueRequest,
    account_id: str,
    now: datetime,
    calendar: WorkingCalendar,
) -> QueuePage:
    """One page of a queue. A page past the end shows the last page."""
    window = Window.at(now, calendar)
    where = conditions(request, window, account_id)
    order = ordering(request, window)
    offset = (request.page - 1) * PAGE_SIZE
    cases, total = store.list_cases(where, order, offset=offset, limit=PAGE_SIZE)
    pages = max(1, math.ceil(total / PAGE_SIZE))
    if request.page > pages:
        request = QueueRequest(**{**request.__dict__, "page": pages})
        offset = (pages - 1) * PAGE_SIZE
        cases, total = store.list_cases(where, order, offset=offset, limit=PAGE_SIZE)
    rows = [Row(case=c, next_step=next_step(c), rag=rag(c, window)) for c in cases]
    return QueuePage(request=request, rows=rows, total=total, window=window, pages=pages)


def now_for(state: Any) -> datetime:
    """Now, for the app whose `state` this is: `state.clock()` when set (tests pin it to the
    time-skipping server's clock), else the system clock."""
    clock: Callable[[], datetime] | None = getattr(state, "clock", None)
    return clock() if clock else datetime.now(UTC)
