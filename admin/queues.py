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

Pages are read by keyset, never by OFFSET: "Next page" and "Previous page" carry a cursor (the
sort keys of the last, or first, case shown: its `queue_due` and reference for the default order,
base64 JSON, no personal data), and each page is one indexed statement reading from there, with
the cases before and after it counted only up to COUNT_UP_TO. So a page costs the same at any
depth and any size of queue, and a case added or closed between two pages never shows twice or
pushes another out of sight. A cursor that cannot be read gives the first page.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import DateTime, Integer, String, and_, case, or_

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
from records.store import COUNT_UP_TO, CasePage, RecordsStore, SortKey

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
# Every stage a case's record can have (domain.complaint.Stage; an enquiry is "enquiry" until
# closed), each read from ix_cases_queue_stage in due order: the stage column's parts. Enquiries
# and closed cases share the last place, so they are two parts of one value.
STAGE_PARTS = tuple(
    (rank, Case.stage == stage)
    for rank, stage in ((0, "triage"), (1, "stage1"), (2, "stage2"), (3, "enquiry"), (3, "closed"))
)


@dataclass(frozen=True)
class QueueRequest:
    """A queue page as the URL asks for it, already checked."""

    queue: Queue
    sort: str = "due"
    descending: bool = False
    stage: str | None = None
    owner: str | None = None
    page: int = 1  # an old page number (an OFFSET): still honoured, no longer linked to
    kind: str | None = None  # "complaint", "enquiry", or None for both
    cursor: str | None = None  # "Next page" / "Previous page" (Cursor), as the link gives it

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
        cursor: str | None = None,
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
            cursor=(cursor or "").strip() or None,
        )

    @property
    def order_name(self) -> str:
        """The order a cursor belongs to: one read in another order would mean nothing."""
        return f"{self.sort}.{'desc' if self.descending else 'asc'}"

    def params(self, **changes: Any) -> dict[str, str]:
        """Query parameters for a link to this queue with some of them changed: a link to
        another page gives its `cursor`; any other change starts again from the first page."""
        values: dict[str, Any] = {
            "sort": self.sort,
            "dir": "desc" if self.descending else "asc",
            "stage": self.stage,
            "owner": self.owner,
            "kind": self.kind,
        }
        values.update(changes)
        return {k: str(v) for k, v in values.items() if v not in (None, "") or k == "sort"}


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
class Cursor:
    """Where a page starts: after the case whose sort keys are `keys` ("Next page"), or before it
    ("Previous page"); `position` is how many cases came before that edge when the link was made
    (for "Showing 51 to 75", as near as it can be once cases have come and gone). In a link it
    is base64url JSON: the order's name, the sort keys, the direction, the position."""

    after: bool
    keys: tuple[Any, ...]
    position: int

    def encode(self, order_name: str) -> str:
        keys = [k.isoformat() if isinstance(k, datetime) else k for k in self.keys]
        text = json.dumps([1, order_name, "a" if self.after else "b", self.position, keys])
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str, order_name: str, order: Sequence[SortKey]) -> Cursor | None:
        """The cursor `text` encodes for this order, or None when it is not one (garbled, cut
        short, for another order, or its keys not of the order's types)."""
        if len(text) > MAX_CURSOR:
            return None
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            version, name, direction, position, keys = json.loads(raw)
            if (version, name) != (1, order_name) or direction not in ("a", "b"):
                return None
            if type(position) is not int or not 0 <= position <= 10**9:
                return None
            if not isinstance(keys, list) or len(keys) != len(order):
                return None
            values = tuple(_key_value(key, value) for key, value in zip(order, keys, strict=True))
            if order[0].parts and values[0] not in {value for value, _ in order[0].parts}:
                return None
        except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
            return None
        return cls(after=direction == "a", keys=values, position=position)


MAX_CURSOR = 600  # characters: a cursor is about a hundred


def _key_value(key: SortKey, value: Any) -> Any:
    """A sort key's value from a cursor, as its column's type (anything else: ValueError)."""
    kind = key.expression.type
    kind = getattr(kind, "impl", kind)
    if isinstance(kind, DateTime) and isinstance(value, str):
        found = datetime.fromisoformat(value)
        if found.tzinfo is None:
            raise ValueError("a time without its zone")
        return found
    if isinstance(kind, Integer) and type(value) is int:
        return value
    if isinstance(kind, String) and isinstance(value, str) and len(value) <= 200:
        return value
    raise ValueError(f"{value!r} is not a {kind}")


@dataclass(frozen=True)
class QueuePage:
    """One page of a queue. `position` is how many cases come before it and `total` how many
    there are; each exact while within COUNT_UP_TO of the page (`position_exact`,
    `total_exact`), else as near as the cursor knew (position) or at least (total)."""

    request: QueueRequest
    rows: list[Row]
    window: UrgencyWindow
    position: int = 0
    position_exact: bool = True
    total: int = 0
    total_at_least: bool = False  # more cases than COUNT_UP_TO from the page on: `total` or more
    next_cursor: str | None = None
    previous_cursor: str | None = None
    cursor_ignored: bool = False  # the link's cursor could not be read: this is the first page

    @property
    def total_exact(self) -> bool:
        return self.position_exact and not self.total_at_least

    @property
    def first(self) -> int:
        return self.position + 1 if self.rows else 0

    @property
    def last(self) -> int:
        return self.position + len(self.rows)

    @property
    def page(self) -> int:
        """The page's number, counted in pages of PAGE_SIZE (as near as `position` is)."""
        return self.position // PAGE_SIZE + 1

    @property
    def pages(self) -> int:
        """How many pages (at least, when the total is not exact)."""
        return max(self.page, math.ceil(self.total / PAGE_SIZE), 1)

    @property
    def showing(self) -> str:
        """Which cases these are, in words: "Showing 51 to 75 of 230 cases.", with "about"
        where a count is the cursor's (beyond COUNT_UP_TO), "more than" where it stopped."""
        if not self.rows:
            return "No cases here."
        about = "" if self.position_exact else "about "
        of = "more than " if self.total_at_least else about
        cases = "case" if self.total == 1 and not of else "cases"
        return f"Showing {about}{self.first:,} to {self.last:,} of {of}{self.total:,} {cases}."


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


def ordering(request: QueueRequest, window: UrgencyWindow) -> list[SortKey]:
    """The sort keys for the chosen column, each order ending in the reference (unique, so a
    cursor marks one place), each page read from an index in that order from its cursor:

    - due soonest first (the default): `queue_due`, reference: the queue indexes' order;
    - due latest first: the cases with a deadline due from staff, latest first, then those with
      none (waiting on the resident, or no deadline), likewise: two ranges of `queue_due`, each
      read backwards;
    - status: red, amber, green, grey (or the reverse), each by due date then reference. Each
      colour is a range of `queue_due` (grey: at or after WAITING_FROM; red: before the end of
      today, which holds the overdue too: a case flagged overdue has a past deadline, the
      bound the overdue queue relies on too), so each is read as its own index range;
    - stage: triage, stage 1, stage 2, then enquiries and closed cases (or the reverse), each by
      due date then reference: each stage read from ix_cases_queue_stage (STAGE_PARTS);
    - reference, date received: ix_cases_queue_reference, ix_cases_queue_received.

    (The indexes other than ix_cases_queue are migration 0020's.)"""
    due, reference = SortKey(Case.queue_due), SortKey(Case.reference)
    desc = request.descending
    if request.sort == "due" and not desc:
        return [due, reference]
    if request.sort == "due":
        waiting = (0, Case.queue_due < WAITING_FROM), (1, Case.queue_due >= WAITING_FROM)
        rank = case((Case.queue_due >= WAITING_FROM, 1), else_=0)
        return [
            SortKey(rank, parts=waiting),
            SortKey(Case.queue_due, True),
            SortKey(Case.reference, True),
        ]
    if request.sort == "reference":
        return [SortKey(Case.reference, desc)]
    if request.sort == "received":
        return [SortKey(Case.received_at, desc), SortKey(Case.reference, desc)]
    if request.sort == "status":
        rank, colours = _colour_ranges(window)
        return [SortKey(rank, desc, colours), due, reference]
    return [SortKey(_STAGE_RANK, desc, STAGE_PARTS), due, reference]


def _colour_ranges(window: UrgencyWindow) -> tuple[Any, tuple[tuple[int, Any], ...]]:
    """The status column's sort key (COLOUR_ORDER: red first) as ranges of `queue_due`: the
    rank's SQL expression and each colour's range."""
    due = Case.queue_due
    red, amber, green, grey = (
        COLOUR_ORDER[c] for c in (Colour.red, Colour.amber, Colour.green, Colour.grey)
    )
    rank = case(
        (due < window.today_ends, red),
        (due <= window.soon_ends, amber),
        (due < WAITING_FROM, green),
        else_=grey,
    )
    parts = (
        (red, due < window.today_ends),
        (amber, and_(due >= window.today_ends, due <= window.soon_ends)),
        (green, and_(due > window.soon_ends, due < WAITING_FROM)),
        (grey, due >= WAITING_FROM),
    )
    return rank, parts


def next_step(snapshot: CaseSnapshot) -> str:
    """What staff do next: triage first; then contact the resident while that promise is the
    next one due; otherwise the step the case's status waits for."""
    due_next = snapshot.next_deadline_key
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
    """One page of a queue, in one statement: from the request's cursor, or its old page number
    (an OFFSET, for links and API callers from before cursors), or the first page. Two rare
    cases take a second statement: a page past the end (everything after the cursor gone, or a
    page number too high) shows the last page; "Previous page" with fewer than a page of cases
    left before it (some closed since) shows the first page, full."""
    window = UrgencyWindow.at(now, calendar, due_soon_working_days)
    where = conditions(request, window, account_id)
    order = ordering(request, window)
    cursor = None
    if request.cursor:
        cursor = Cursor.decode(request.cursor, request.order_name, order)
    ignored = request.cursor is not None and cursor is None

    def read(**how: Any) -> CasePage:
        return store.list_cases(where, order, limit=PAGE_SIZE, count_up_to=COUNT_UP_TO, **how)

    offset = 0 if cursor else (request.page - 1) * PAGE_SIZE
    if cursor and not cursor.after:
        found = read(before=cursor.keys)
        guess = cursor.position - len(found.cases)
        if not found.more and len(found.cases) < PAGE_SIZE:  # cases gone: the first page, full
            found, guess = read(), 0
    else:
        found = read(after=cursor.keys, offset=offset) if cursor else read(offset=offset)
        guess = cursor.position if cursor else offset
        if not found.cases and guess:  # past the end: the last page
            found = read(last=True)
            guess = max(0, guess - len(found.cases))
            if not cursor and found.before is not None:  # an old page number: on its boundary
                total = found.before + len(found.cases)
                keep = total - (math.ceil(total / PAGE_SIZE) - 1) * PAGE_SIZE
                found = found._replace(
                    cases=found.cases[-keep:],
                    keys=found.keys[-keep:],
                    before=total - keep,
                    remaining=keep,
                )
    position = found.before if found.before is not None else max(guess, COUNT_UP_TO + 1)
    position_exact = found.before is not None
    at_least = found.remaining is None
    total = position + (max(COUNT_UP_TO, len(found.cases)) if at_least else found.remaining or 0)
    rows = [
        Row(case=c, next_step=next_step(c), urgency=case_urgency(c, window)) for c in found.cases
    ]
    after_page = found.remaining is None or found.remaining > len(found.cases)
    name = request.order_name
    next_cursor = previous_cursor = None
    if rows and after_page:
        next_cursor = Cursor(True, found.keys[-1], position + len(rows)).encode(name)
    if rows and position > 0:
        previous_cursor = Cursor(False, found.keys[0], position).encode(name)
    return QueuePage(
        request=replace(
            request, page=position // PAGE_SIZE + 1, cursor=None if ignored else request.cursor
        ),
        rows=rows,
        window=window,
        position=position,
        position_exact=position_exact,
        total=total,
        total_at_least=at_least,
        next_cursor=next_cursor,
        previous_cursor=previous_cursor,
        cursor_ignored=ignored,
    )


def now_for(state: Any) -> datetime:
    """Now, for the app whose `state` this is: `state.clock()` when set (tests pin it to the
    time-skipping server's clock), else the system clock."""
    clock: Callable[[], datetime] | None = getattr(state, "clock", None)
    return clock() if clock else datetime.now(UTC)
