"""What a case page (admin/routes/cases.py) reads from the records database, and how the page
after a staff step gets the case as the step left it. Everything here blocks: call it through
`off_loop` (admin/off_loop.py).

A step's Update answers only where the case now stands (domain/step_result.py). The whole case
is its record once that shows the step's revision: the record is written by the activity the
step's commit queued, moments after the Update answers. So the page after a step is read in two
worker threads: one begun with the Update, reading what the page shows besides the case
(`page_data`, which does not depend on what the step did), and one begun as soon as the Update
answers (`after_step`), which clears the person's kept forms, looks at the record's revision
every few milliseconds (one indexed column), then reads the record with the latest entries of its
timeline (`TIMELINE_SHOWN`); the browser follows the redirect meanwhile. A record that does not
show the step within RECORD_WAITS is not waited for: the page asks the workflow instead.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from admin.accounts import Account, AccountStore
from admin.case_kinds import CaseKind
from admin.person_panel import PersonPanel, panel_for
from domain.complaint import TimelineItem
from domain.records import TimelineEntry
from records.case_links import CaseLinks, LinkUse
from records.evidence import CaseEvidence, EvidenceStore
from records.form_drafts import FormDrafts
from records.learning import LearningLog, LessonView
from records.persons import PersonRecords
from records.store import LetterRow, RecordsStore

log = logging.getLogger(__name__)

# A case page shows the latest entries of its timeline, oldest first as ever, with a link to them
# all ("Show all"): a long case (a contact logged every week for a year) stays as quick to show,
# and to step on, as a new one. The case file (admin/case_file.py) always holds every entry.
TIMELINE_SHOWN = 50

# How long the page after a step waits for the case's record to show the step before asking the
# workflow instead (seconds between looks, 70 ms in all): the record is usually there within
# 10-20 ms of the Update's answer (longer only while letters queued before it are slow to go).
RECORD_WAITS = (0.002, 0.002, 0.003, 0.003, 0.003, 0.003, 0.004, 0.004, 0.005, 0.005, 0.006)
RECORD_WAITS += (0.008, 0.01, 0.012)

# The page after a step shows what was read for it while the Update ran if the browser asks for
# the page within this many seconds of that read (it follows the redirect at once); later (a slow
# network, a test that waits for the letters), the page reads them again: a letter sent meanwhile
# shows as sent.
FRESH_FOR = 1.0


def recorded_case(
    store: RecordsStore,
    kind: CaseKind,
    ref: str,
    with_timeline: bool = True,
    at_least: int | None = None,
) -> BaseModel | None:
    """The case as recorded (None: no record; or, with `at_least`, none of that revision yet)."""
    snapshot = store.get_case(ref)
    if snapshot is None or not snapshot.data:
        return None
    if at_least is not None and (snapshot.revision or 0) < at_least:
        return None
    timeline = _items(store.events(ref)) if with_timeline else []
    try:
        return kind.status_model.model_validate({**snapshot.data, "timeline": timeline})
    except ValidationError:  # a record of a shape this code does not know
        log.warning("case %s: its record cannot be read as a %s", ref, kind.noun)
        return None


@dataclass(frozen=True)
class ShownCase:
    """A case for its page: `case.timeline` holds its latest entries, `unread` more came before
    them (0: the whole timeline)."""

    case: Any
    unread: int = 0


def _items(entries: list[TimelineEntry]) -> list[TimelineItem]:
    return [TimelineItem(at=e.at, step=e.step, actor=e.actor, summary=e.summary) for e in entries]


def latest_recorded(
    store: RecordsStore, kind: CaseKind, ref: str, at_least: int, latest: int | None
) -> ShownCase | None:
    """The case as recorded once its record shows revision `at_least` (None before), with the
    latest `latest` entries of its timeline (all of them: None)."""
    if store.revision(ref) < at_least:
        return None
    if latest is None:
        whole = recorded_case(store, kind, ref, True, at_least)
        return None if whole is None else ShownCase(whole)
    case = recorded_case(store, kind, ref, False, at_least)
    if case is None:
        return None
    entries, unread = store.latest_events(ref, latest)
    return ShownCase(case.model_copy(update={"timeline": _items(entries)}), unread)


def wait_for_record(
    store: RecordsStore, kind: CaseKind, ref: str, at_least: int, latest: int | None
) -> ShownCase | None:
    """`latest_recorded` once the record shows revision `at_least`, looking every few
    milliseconds (RECORD_WAITS) in this one thread; None if it does not show it in time."""
    found = latest_recorded(store, kind, ref, at_least, latest)
    for pause in RECORD_WAITS:
        if found is not None:
            return found
        time.sleep(pause)
        found = latest_recorded(store, kind, ref, at_least, latest)
    return found


@dataclass
class PageData:
    """What a case page shows besides the case, from the records database."""

    letters: list[LetterRow] | None  # None: not read (the page after a step reads them itself)
    lessons: list[LessonView]
    staff: list[Account]
    link: LinkUse
    person: PersonPanel
    evidence: CaseEvidence | None  # None: not read (the case's linked references not known)
    linked: list[str] | None  # the linked references `evidence` was read with
    read_at: float = field(default_factory=time.monotonic)

    @property
    def fresh(self) -> bool:
        return time.monotonic() - self.read_at <= FRESH_FOR


def active_staff(accounts: AccountStore) -> list[Account]:
    return [a for a in accounts.all() if a.active]


def page_data(
    store: RecordsStore,
    accounts: AccountStore,
    kind: CaseKind,
    ref: str,
    staff: list[Account] | None = None,
    linked: list[str] | None = None,
    with_letters: bool = True,
) -> PageData:
    """The page's reads that do not depend on what the case says now (with its evidence, when
    its linked references are known), one after another: together a few milliseconds, done
    while the case itself is read (a query, a step's record), in one thread and one connection
    at a time. `staff`: the active staff, if read already."""
    return PageData(
        letters=store.letters(ref) if with_letters else None,
        lessons=LearningLog(store).lessons_for_case(ref) if kind.name == "complaint" else [],
        staff=active_staff(accounts) if staff is None else staff,
        link=CaseLinks(store).use(ref),
        person=panel_for(PersonRecords(store), ref),
        evidence=None if linked is None else EvidenceStore(store).for_case(ref, linked),
        linked=linked,
    )


def after_step(
    store: RecordsStore, kind: CaseKind, ref: str, revision: int, *, account_id: str, page: str
) -> ShownCase | None:
    """What the page after a step reads once the Update has answered, in one thread: the
    person's kept forms for the page cleared (the step went through), then the case once its
    record shows the step's `revision` (None: not in time). Not its letters: the page reads the
    ledger when it is asked for, so a letter sent by then shows as sent."""
    FormDrafts(store).clear(account_id, page)
    return wait_for_record(store, kind, ref, revision, TIMELINE_SHOWN)
