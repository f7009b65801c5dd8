"""The case pages, for every kind of case in admin/case_kinds.py (complaints at /cases/{ref},
enquiries at /enquiries/{ref}): the case, its deadlines, the timeline with its letters, and a
form for each step offered to the signed-in person now (domain/offered.py); "Take this case" on
an unowned case; logging a new case. Each form sends the workflow Update; a refusal shows the
workflow's reason, bad input names the field.

While Temporal is down a case page answers 503 with the case as last recorded, read-only, and a
"log a ..." form answers 503 with what was typed kept (admin/temporal.py, `when_temporal_down`).

Every read of the records database runs off the event loop (admin/off_loop.py).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, ValidationError

from admin import case_reads
from admin.access_log import logged
from admin.accounts import ROLE_LABELS, Account, AccountStore
from admin.app import render
from admin.case_kinds import KINDS, CaseKind, kind_of
from admin.case_reads import PageData, ShownCase
from admin.case_reads import recorded_case as _recorded  # admin/routes/resident.py too
from admin.forms import (
    LONDON,
    RECEIVED_IN_FUTURE,
    SUBMISSION,
    FormState,
    FormValues,
    ParsedForm,
    Problem,
    StepContext,
    form_values,
    form_with_problems,
    new_submission,
    parse_step,
    submission_key,
)
from admin.off_loop import off_loop
from admin.person_panel import PersonPanel
from admin.queues import now_for, window_for
from admin.security import Forbidden, current_account, require_step
from admin.temporal import (
    RECORDED_NOTICE,
    TEMPORAL_DOWN,
    CaseNotFound,
    Client,
    LodgeResult,
    ReferencesTaken,
    StepRejected,
    TemporalDown,
    WorkflowAlreadyStartedError,
    lodge_once,
    require_temporal,
    same_submission,
    when_temporal_down,
)
from domain.clocks import Clock, ClockKey
from domain.complaint import TimelineItem
from domain.intake import ReceivedInFuture
from domain.offered import AssignRefused, assign_payload, may_ask, may_take, offered_steps
from domain.references import PATTERN
from domain.step_result import StepResult
from domain.urgency import COLOURS, PROMISE_LABELS, Urgency, UrgencyWindow, deadline_urgency
from records.access_log import Access
from records.case_links import CaseLinks, LinkUse
from records.evidence import CaseEvidence, EvidenceStore, TimelineLine
from records.form_drafts import Draft, FormDrafts
from records.learning import LessonView
from records.store import LetterRow, RecordsStore

router = APIRouter(dependencies=[Depends(current_account)])
log = logging.getLogger(__name__)

FLASH_KEY = "flash"
NO_ANSWER = (
    "The case system did not answer, so we cannot tell whether the step was taken. "
    "Reload the case to check before trying again."
)
GONE = (
    "This case's workflow is no longer kept, so this is its last record. "
    "Nothing can be changed here."
)
TAKEN = "You have taken this case: it is in My cases"


# ------------------------------------------------------------------------ flash


def flash(request: Request, message: str) -> None:
    request.session[FLASH_KEY] = message


def take_flash(request: Request) -> str | None:
    return request.session.pop(FLASH_KEY, None)


# ------------------------------------------------------------------ the case view


@dataclass(frozen=True)
class TimelineRow:
    at: datetime | None  # None: a letter queued and not yet claimed by the letters activity
    what: str
    who: str | None = None
    letter: LetterRow | None = None
    pending_key: str | None = None  # such a letter's key


@dataclass(frozen=True)
class DeadlineRow:
    clock: Clock
    state: str
    colour: str


@dataclass
class CaseView:
    kind: CaseKind
    case: Any  # the kind's status model
    live: bool  # from the workflow now, not the last record
    notice: str | None  # why it is only the last record
    timeline: list[TimelineRow]
    deadlines: list[DeadlineRow]
    steps: list[Any]  # forms shown: offered to this person now
    others: list[Any]  # allowed now, for a colleague
    take: bool  # "Take this case" offered
    temporal_url: str
    staff: list[Account] = field(default_factory=list)
    lessons: list[LessonView] = field(default_factory=list)  # the learning log's, complaints only
    link: LinkUse | None = None  # the resident's personal link: its use, and revocation
    evidence: CaseEvidence | None = None  # its files and what was done with them (evidence.py)
    person: PersonPanel | None = None  # its person record, or who it may be (person_panel.py)
    timeline_hidden: int = 0  # earlier timeline entries not shown (`latest_rows`)

    @property
    def timeline_total(self) -> int:
        """Every entry of the timeline, shown or not."""
        return len(self.timeline) + self.timeline_hidden

    def staff_choices(self, stage1_note: bool = False) -> list[tuple[str, str]]:
        """The staff to choose from (an owner, a reviewer) as (id, label); with `stage1_note`,
        saying who took part in stage 1 (they may not review stage 2)."""
        took_part = set(getattr(self.case, "stage1_participants", ()))
        return [
            (
                a.id,
                f"{a.name} ({ROLE_LABELS[a.role]})"
                + (", took part in stage 1" if stage1_note and a.id in took_part else ""),
            )
            for a in self.staff
        ]


def timeline_rows(
    items: list[TimelineItem],
    letters: list[LetterRow],
    queued: list[str] = (),
    evidence: list[TimelineLine] = (),
) -> list[TimelineRow]:
    """The case's timeline with its letters and its evidence's events (records/evidence.py) in
    among the steps, oldest first, then the letters the case has queued (`queued`: its letter
    keys) that the ledger has not got yet: a step's letters are sent a moment after the step,
    and the page says they are on their way."""
    rows = [TimelineRow(at=i.at, what=i.summary, who=i.actor) for i in items]
    rows += [TimelineRow(at=e.at, what=e.what, who=e.who) for e in evidence]
    for letter in letters:
        when = letter.sent_at or letter.claimed_at
        rows.append(TimelineRow(at=when, what=letter.subject, letter=letter))
    rows.sort(key=lambda r: r.at)
    in_ledger = {letter.letter_key for letter in letters}
    rows += [
        TimelineRow(at=None, what=key, pending_key=key) for key in queued if key not in in_ledger
    ]
    return rows


WHOLE_TIMELINE = "timeline"  # ?timeline=all: the case page with every entry


def latest_rows(
    rows: list[TimelineRow],
    unread: int = 0,
    since: datetime | None = None,
    shown: int | None = None,  # case_reads.TIMELINE_SHOWN
) -> tuple[list[TimelineRow], int]:
    """The latest `shown` of a timeline's dated rows (`timeline_rows`), and its letters still
    being sent, with how many earlier entries that leaves out. `unread`: the case's earliest
    entries, not read (admin/case_reads.py), before the first one read (at `since`): the letters
    and evidence from before then are left out with them, so nothing shows out of its place."""
    shown = case_reads.TIMELINE_SHOWN if shown is None else shown
    dated = [r for r in rows if r.at is not None]
    pending = [r for r in rows if r.at is None]
    hidden = unread
    if unread and since is not None:
        kept = [r for r in dated if r.at >= since]
        hidden += len(dated) - len(kept)
        dated = kept
    if len(dated) > shown:
        hidden += len(dated) - shown
        dated = dated[-shown:]
    return dated + pending, hidden


def deadline_row(clock: Clock, window: UrgencyWindow) -> DeadlineRow:
    if clock.key is ClockKey.escalation_window:
        if clock.met_at:
            return DeadlineRow(clock, "Asked for stage 2", "green")
        if clock.lapsed_at:
            return DeadlineRow(clock, "Ended without a request", "grey")
        if clock.stopped_at:
            return DeadlineRow(clock, "No longer needed", "grey")
        return DeadlineRow(clock, PROMISE_LABELS[Urgency.waiting], "grey")
    if clock.met_at:
        late = clock.breached_at is not None
        return DeadlineRow(clock, "Met late" if late else "Met", "red" if late else "green")
    if clock.stopped_at:
        missed = clock.breached_at is not None
        return DeadlineRow(
            clock, "Missed" if missed else "No longer needed", "red" if missed else "grey"
        )
    level = deadline_urgency(clock.due, window, missed=clock.breached_at is not None)
    return DeadlineRow(clock, PROMISE_LABELS[level], COLOURS[level])


def temporal_url(request: Request, wid: str) -> str:
    """The Temporal Web UI's page for the workflow `wid`."""
    settings = request.app.state.settings
    base = settings.temporal_ui_url.rstrip("/")
    return f"{base}/namespaces/{settings.temporal_namespace}/workflows/{wid}"


async def active_staff(request: Request) -> list[Account]:
    """The active staff accounts, read once per request however many parts of the page ask."""
    found: list[Account] | None = getattr(request.state, "active_staff", None)
    if found is None:
        found = await off_loop(case_reads.active_staff, request.app.state.accounts)
        request.state.active_staff = found
    return found


async def recorded(request: Request, kind: CaseKind, ref: str) -> BaseModel | None:
    """The case as last recorded in the records database, as the kind's status model."""
    return await off_loop(_recorded, request.app.state.store, kind, ref)


async def case_after(request: Request, kind: CaseKind, client: Client, result: StepResult) -> Any:
    """The whole case as a step left it: its record, once that shows the step's revision, else
    the workflow's status query. (The Update answers only where the case stands.)"""
    store, ref = request.app.state.store, result.reference
    found = await off_loop(case_reads.wait_for_record, store, kind, ref, result.revision, None)
    return found.case if found else await kind.status(client, ref)


# Work begun by one request for the next (the page after a step), or alongside its own: kept
# here until done, as asyncio keeps only a weak reference to a task.
_BACKGROUND: set[asyncio.Task[Any]] = set()


def _begin(work: Awaitable[Any]) -> asyncio.Task[Any]:
    task = asyncio.ensure_future(work)
    _BACKGROUND.add(task)
    task.add_done_callback(_finished)
    return task


def _finished(task: asyncio.Task[Any]) -> None:
    _BACKGROUND.discard(task)
    if not task.cancelled() and task.exception() is not None:
        # the page awaiting it answers for it; a page never asked for leaves only this
        log.debug("work begun for a page failed: %s", type(task.exception()).__name__)


@dataclass
class AfterStep:
    """What a step's POST leaves for the case page the browser is sent to next, in this process
    (admin/step_results.py): that page's reads, begun with the Update."""

    reads: asyncio.Task[tuple[PageData, ShownCase]]


async def _after_step(
    state: Any,
    kind: CaseKind,
    client: Client,
    result: StepResult,
    reads: Awaitable[PageData],
    account_id: str,
) -> tuple[PageData, ShownCase]:
    """The page after a step: its reads (`reads`, begun with the Update) and the case from its
    record (admin/case_reads.py), else from the workflow's status query; were that not answered
    either, the page of the case as last recorded says the step was taken all the same."""
    ref = result.reference
    found = await off_loop(
        case_reads.after_step,
        state.store,
        kind,
        ref,
        result.revision,
        account_id=account_id,
        page=kind.page_url(ref),
    )
    data = await reads
    if found is not None:
        return data, found
    try:
        return data, ShownCase(await kind.status(client, ref))
    except TemporalDown as err:
        raise TemporalDown(taken_not_shown(kind, result)) from err


def taken_not_shown(kind: CaseKind, result: StepResult) -> str:
    stage = {"stage1": "stage 1", "stage2": "stage 2"}.get(result.stage, result.stage)
    where = f"{stage.replace('_', ' ')}, {result.status.replace('_', ' ')}"
    return (
        f"Your step was taken: the {kind.noun} is now {where}. The case system did not answer "
        f"when the {kind.noun} was read back, so this is it as last recorded, which may not "
        "show the step yet. Do not take the step again: reload this page in a minute."
    )


async def _page_data(
    request: Request,
    kind: CaseKind,
    ref: str,
    linked: list[str] | None = None,
    with_letters: bool = True,
) -> PageData:
    """The page's reads that do not depend on what the case says now (case_reads.page_data),
    with the staff list if this request has read it already."""
    state = request.app.state
    staff = getattr(request.state, "active_staff", None)
    return await off_loop(
        case_reads.page_data, state.store, state.accounts, kind, ref, staff, linked, with_letters
    )


async def build_view(
    request: Request,
    kind: CaseKind,
    case: Any,
    account: Account,
    notice: str | None = None,
    *,
    data: PageData | Awaitable[PageData] | None = None,
    unread: int = 0,
    whole_timeline: bool = False,
) -> CaseView:
    """A case page's data: live when `notice` is None, else read-only with the notice. `data`:
    the page's other reads (admin/case_reads.py), if begun already; `unread`: timeline entries
    before those in `case.timeline`."""
    live = notice is None
    ref = case.reference
    linked = list(case.linked_references)
    store = request.app.state.store
    if data is None:
        data = await _page_data(request, kind, ref, linked)
    elif not isinstance(data, PageData):
        data = await data
    evidence = data.evidence
    if evidence is None or data.linked != linked:
        evidence = await off_loop(EvidenceStore(store).for_case, ref, linked)
    request.state.active_staff = data.staff
    window = window_for(request.app.state.settings, now_for(request.app.state))
    offered = set(offered_steps(case, account.role, account.id)) if live else set()
    allowed = set(case.allowed_steps) if live else set()
    letters = data.letters if data.letters is not None else await off_loop(store.letters, ref)
    rows = timeline_rows(case.timeline, letters, getattr(case, "letters", []), evidence.timeline())
    hidden = 0
    if not whole_timeline:
        since = case.timeline[0].at if case.timeline else None
        rows, hidden = latest_rows(rows, unread, since)
    return CaseView(
        kind=kind,
        case=case,
        live=live,
        notice=notice,
        timeline=rows,
        deadlines=[deadline_row(c, window) for c in case.clocks],
        steps=[s for s in kind.step_order if s in offered],
        others=[s for s in kind.step_order if s in allowed - offered],
        take=live and may_take(case, account.role, account.id),
        temporal_url=temporal_url(request, kind.workflow_id(ref)),
        staff=data.staff,
        lessons=data.lessons,
        link=data.link,
        evidence=evidence,
        person=data.person,
        timeline_hidden=hidden,
    )


async def live_view(
    request: Request,
    kind: CaseKind,
    ref: str,
    account: Account,
    client: Client,
    whole_timeline: bool = False,
) -> CaseView:
    """The case from its workflow (or as this person's step on it just left it); if the
    workflow is no longer kept, its last record. The page's other reads run meanwhile."""
    after: AfterStep | None = request.app.state.step_results.take(account.id, ref)
    if after is not None and not whole_timeline:  # the step's page has the latest entries
        letters = _begin(off_loop(request.app.state.store.letters, ref))  # as they are now
        try:
            data, shown = await after.reads
        except CaseNotFound:
            return await _last_record(request, kind, ref, account, None, whole_timeline)
        fresh = replace(data, letters=await letters) if data.fresh else None  # else read again
        return await build_view(
            request,
            kind,
            shown.case,
            account,
            data=fresh,
            unread=shown.unread,
            whole_timeline=whole_timeline,
        )
    reads = _begin(_page_data(request, kind, ref))  # while the case is read
    try:
        case = await kind.status(client, ref)
    except CaseNotFound:
        return await _last_record(request, kind, ref, account, reads, whole_timeline)
    return await build_view(request, kind, case, account, data=reads, whole_timeline=whole_timeline)


async def _last_record(
    request: Request,
    kind: CaseKind,
    ref: str,
    account: Account,
    data: Awaitable[PageData] | None,
    whole_timeline: bool,
) -> CaseView:
    """The page of a case whose workflow is no longer kept: its last record, read-only."""
    case = await recorded(request, kind, ref)
    if case is None:
        raise HTTPException(404, f"There is no {kind.noun} with reference {ref}.")
    return await build_view(
        request, kind, case, account, GONE, data=data, whole_timeline=whole_timeline
    )


def case_page(
    request: Request,
    view: CaseView,
    *,
    status_code: int = 200,
    active: Any = None,
    form: FormState | None = None,
    problems: list[Problem] | None = None,
) -> Response:
    kind = view.kind
    forms = {s: (form if s == active and form else FormState()) for s in view.steps}
    return render(
        request,
        kind.template,
        status_code,
        title=("Error: " if problems else "") + f"{kind.label} {view.case.reference}",
        view=view,
        case=view.case,
        forms=forms,
        problems=problems or [],
        flash=take_flash(request) if status_code == 200 else None,
        titles=kind.titles,
        buttons=kind.buttons,
        **kind.page_context(view.case),
    )


def again(
    request: Request,
    view: CaseView,
    step: Any,
    form: FormState,
    problems: list[Problem],
    status_code: int,
) -> Response:
    """The case page again with the step's form as sent and what was wrong with it."""
    if view.live and step not in view.steps:  # the case moved on meanwhile: show why above
        view.steps.append(step)
    return case_page(
        request, view, status_code=status_code, active=step, form=form, problems=problems
    )


def form_problems(kind: CaseKind, step: Any, parsed: ParsedForm) -> list[Problem]:
    """What is wrong with a step's form, before the workflow is asked: the domain model's own
    validation, in plain English."""
    try:
        kind.validate_step(step, parsed.payload)
    except ValidationError as err:
        return parsed.explain(err)
    return list(parsed.problems)


# ------------------------------------------------------- while Temporal is down


def recorded_page(kind: CaseKind) -> Callable[..., Any]:
    """A case page (or a step on it) while Temporal is down: 503 with the case as last recorded,
    read-only; the plain 503 page for a case never recorded."""

    async def answer(request: Request, exc: TemporalDown) -> Response | None:
        ref = str(request.path_params.get("reference", "")).strip().upper()
        account: Account | None = getattr(request.state, "account", None)
        case = await recorded(request, kind, ref) if PATTERN.match(ref) else None
        if case is None or account is None:
            return None
        view = await build_view(request, kind, case, account, RECORDED_NOTICE)
        # a step whose answer was lost says so; otherwise the notice says it all
        problems = [] if exc.message == TEMPORAL_DOWN else [Problem("#read-only", exc.message)]
        return case_page(request, view, status_code=503, problems=problems)

    return answer


def form_kept(kind: CaseKind) -> Callable[..., Any]:
    """A "log a ..." form sent while Temporal is down: what is wrong with it (400), or, when
    nothing is, 503 with the form again as typed."""

    async def answer(request: Request, exc: TemporalDown) -> Response:
        checked = await check_new_case(request, kind, request.state.account)
        if checked.problems:
            return await checked.page(request, 400)
        problems = [Problem(f"#{kind.name}-submit", exc.message)]
        return await new_case_page(request, kind, checked.parsed.state([]), problems, 503)

    return answer


# ------------------------------------------------------------------ parameters


def _normalised(reference: str) -> str:
    ref = reference.strip().upper()
    if not PATTERN.match(ref):
        raise HTTPException(404, f"There is no case with reference {reference}.")
    return ref


def page_reference(kind: CaseKind, elsewhere: bool = False) -> Callable[[str], Awaitable[str]]:
    """The path's reference, upper-cased; 404 if it is not one of this kind's. With
    `elsewhere`, a reference of another kind goes to that kind's page instead (search and older
    links use /cases/ for every kind)."""

    async def reference_param(reference: str) -> str:  # async: it blocks on nothing
        ref = _normalised(reference)
        owner = kind_of(ref)
        if owner is not kind:
            if not elsewhere:
                raise HTTPException(404, f"There is no {kind.noun} with reference {ref}.")
            location = {"Location": owner.page_url(ref)}
            raise HTTPException(303, "That case is on another page.", headers=location)
        return ref

    return reference_param


def step_param(kind: CaseKind) -> Callable[..., Any]:
    """The path's step: 404 if the kind has none of that name; 403 if the person's role may not
    ask for it (a role that takes unowned cases may ask for `assign`, for itself: checked
    against the case once it is read)."""

    async def step_of(step_name: str, account: Account = Depends(current_account)) -> Any:
        try:
            step = kind.step(step_name)
        except ValueError:
            raise HTTPException(404, f"There is no step called '{step_name}'.") from None
        if not may_ask(account.role, step, kind.assign):
            require_step(account, step)  # 403 with the role's reason
        return step

    return step_of


def _first(values: FormValues, name: str) -> str:
    return (values.get(name) or [""])[0]


# ------------------------------------------------------------------ the case page


def add_case_pages(kind: CaseKind) -> None:
    """The "log a ..." form, the case page, its step forms and its letters, for `kind`."""
    reference = Depends(page_reference(kind))
    any_reference = Depends(page_reference(kind, elsewhere=True))
    step_of = Depends(step_param(kind))
    down_page = when_temporal_down(recorded_page(kind))

    async def new_case(request: Request) -> Response:
        return await new_case_page(request, kind, FormState(), [])

    @when_temporal_down(form_kept(kind))
    async def log_case(
        request: Request,
        account: Account = Depends(current_account),
        client: Client = Depends(require_temporal),
    ) -> Response:
        return await log_new_case(request, kind, account, client)

    @down_page
    async def show_case(
        request: Request,
        ref: str = any_reference,
        account: Account = Depends(current_account),
        client: Client = Depends(require_temporal),
    ) -> Response:
        whole = request.query_params.get(WHOLE_TIMELINE) == "all"
        view = await live_view(request, kind, ref, account, client, whole)
        # written while the page is made
        viewed = _begin(logged(request, Access.case_viewed, reference=ref, staff_id=account.id))
        try:
            step_done(request, view, account)
            key = request.query_params.get(DRAFT)
            if key and (shown := await draft_page(request, kind, view, account, key)) is not None:
                return shown
            return case_page(request, view)
        finally:
            await viewed

    @down_page
    async def take_step(
        request: Request,
        ref: str = reference,
        step: Any = step_of,
        account: Account = Depends(current_account),
        client: Client = Depends(require_temporal),
    ) -> Response:
        return await perform_from_form(request, kind, ref, step, account, client)

    async def show_letter(request: Request, key: str, ref: str = reference) -> Response:
        letter = await off_loop(request.app.state.store.get_letter, ref, key)
        if letter is None:
            raise HTTPException(404, f"{kind.label} {ref} has no letter '{key}'.")
        await logged(request, Access.letter_viewed, reference=ref)
        return render(request, "letter.html", title=letter.subject, ref=ref, letter=letter)

    async def revoke_link(
        request: Request, ref: str = reference, account: Account = Depends(current_account)
    ) -> Response:
        await revoke_resident_link(request, kind, ref, account)
        return RedirectResponse(kind.page_url(ref) + "#resident-link", status_code=303)

    path = f"{kind.page_path}/{{reference}}"
    for url, endpoint, method in (
        (kind.new_path, new_case, "GET"),  # before {reference}, which would take "new"
        (kind.new_path, log_case, "POST"),
        (path, show_case, "GET"),
        (f"{path}/steps/{{step_name}}", take_step, "POST"),
        (f"{path}/letters/{{key}}", show_letter, "GET"),
        (f"{path}/resident-link/revoke", revoke_link, "POST"),
    ):
        router.add_api_route(
            url,
            endpoint,
            methods=[method],
            name=f"{kind.name}_{endpoint.__name__}",
            include_in_schema=False,
        )


LINK_REVOKED = (
    "The resident's link is revoked: it opens nothing now. The next letter we send them carries "
    "a new one."
)


async def revoke_resident_link(
    request: Request, kind: CaseKind, ref: str, account: Account
) -> None:
    """A manager, or the case's owner, revokes the resident's personal link (a letter went to
    the wrong address, someone else has it). Read from the records: it works on a closed case
    and while Temporal is down."""
    case = await recorded(request, kind, ref)
    if case is None:
        raise HTTPException(404, f"There is no {kind.noun} with reference {ref}.")
    if account.role != "manager" and owner_of(case) != account.id:
        raise Forbidden("Only a manager or the case's owner can revoke the resident's link.")
    now = now_for(request.app.state)
    await off_loop(CaseLinks(request.app.state.store).revoke, ref, account.id, now)
    log.info("resident link revoked for %s", ref)
    flash(request, LINK_REVOKED)


async def perform_from_form(
    request: Request, kind: CaseKind, ref: str, step: Any, account: Account, client: Client
) -> Response:
    """Send the step's form to the case's workflow; the case page again if anything was
    wrong, else to the case page with what the step did.

    The form is read against the case as last recorded (one indexed row, no workflow query):
    what the form needs of the case (the person, the owner, who took part in stage 1) is in the
    record, and the workflow checks the step against the case as it is now anyway. A case not
    yet recorded is asked of its workflow."""
    values = form_values(await request.form())
    state = request.app.state
    case, staff = await off_loop(_form_reads, state.store, state.accounts, kind, ref)
    request.state.active_staff = staff  # the page's reads (`_page_data`) take it from here
    if case is None:
        try:
            case = await kind.status(client, ref)
        except CaseNotFound as err:
            raise HTTPException(404, f"{err} It may have closed; search for it.") from err
    ctx = StepContext(
        account=account,
        accounts={a.id: a for a in staff},
        now=now_for(request.app.state),
        case=case,
    )
    parsed = parse_step(kind.step_parsers, step, values, ctx)
    problems = form_problems(kind, step, parsed)
    if problems:
        return await to_the_form(request, kind, ref, step, account, parsed.values, problems, 400)
    payload = parsed.payload
    if step == kind.assign:
        try:
            payload = assign_payload(case, account.role, account.id, payload)
        except AssignRefused as err:
            raise Forbidden(str(err)) from None
    here = f"#step-{step.value}"
    # What the page after the step shows besides the case does not depend on the step: read it
    # in a worker thread while the Update runs.
    reads = _begin(_page_data(request, kind, ref, list(case.linked_references), False))
    try:
        result = await kind.perform(client, ref, step, payload)
    except StepRejected as err:
        problems = refusal_problems(parsed, step, here, err)
        return await to_the_form(request, kind, ref, step, account, parsed.values, problems, 409)
    except CaseNotFound as err:
        raise HTTPException(404, f"{err} It may have closed; search for it.") from err
    except TemporalDown as err:
        raise TemporalDown(NO_ANSWER) from err
    # The browser is sent to the case page at once; the case is read meanwhile (`live_view`),
    # and the page says what the step did (`step_done`).
    shown = _begin(_after_step(state, kind, client, result, reads, account.id))
    state.step_results.put(account.id, ref, AfterStep(shown))
    request.session[STEP_DONE] = {"ref": ref, "step": step.value, "unowned": case.owner is None}
    return RedirectResponse(kind.page_url(ref), status_code=303)


def _form_reads(
    store: RecordsStore, accounts: AccountStore, kind: CaseKind, ref: str
) -> tuple[BaseModel | None, list[Account]]:
    """What a step's form is read against: the case as recorded (without its timeline), and
    the active staff; in one worker thread."""
    return _recorded(store, kind, ref, False), case_reads.active_staff(accounts)


# The session's note of a step just taken, for the case page it is sent to: that page says what
# the step did, from the case it shows (so a page served by another process says it too).
STEP_DONE = "step_done"


def step_done(request: Request, view: CaseView, account: Account) -> None:
    """Flash what this person's step just did, if the page shows the case it was taken on."""
    done = request.session.get(STEP_DONE)
    if not isinstance(done, dict) or done.get("ref") != view.case.reference:
        return
    del request.session[STEP_DONE]
    kind = view.kind
    try:
        step = kind.step(done.get("step", ""))
    except ValueError:
        return
    case = view.case
    taken = step == kind.assign and done.get("unowned") and owner_of(case) == account.id
    flash(request, TAKEN if taken else kind.success(step, case))


def refusal_problems(parsed: ParsedForm, step: Any, here: str, err: StepRejected) -> list[Problem]:
    """Every problem the case's rule found, each linked to the form's box for the field it is
    about: the form's own field map, else the box named by the forms' convention
    (`{step}-{field}`), else the step's own place on the page."""
    out: list[Problem] = []
    for reason in err.reasons:
        href, name = here, reason.get("field")
        if name:
            loc = tuple(int(p) if p.isdigit() else p for p in str(name).split("."))
            info = parsed._field(loc, reason["text"])
            if info is not parsed.fallback:
                href = f"#{info.id}"
            elif len(loc) == 1:
                href = f"#{step.value}-{name}"
        out.append(Problem(href, reason["text"]))
    return out


DRAFT = "draft"


async def to_the_form(
    request: Request,
    kind: CaseKind,
    ref: str,
    step: Any,
    account: Account,
    values: FormValues,
    problems: list[Problem],
    status_code: int,
) -> Response:
    """POST/redirect/GET: keep the form as posted with its problems (records/form_drafts.py)
    and send the browser to the case page, which shows them; a reload then sends nothing."""
    page = kind.page_url(ref)
    draft = Draft(
        step=step.value,
        status_code=status_code,
        values=values,
        problems=[(p.href, p.text) for p in problems],
    )
    now = now_for(request.app.state)
    key = await off_loop(FormDrafts(request.app.state.store).save, account.id, page, draft, now)
    return RedirectResponse(f"{page}?{DRAFT}={key}#error-summary", status_code=303)


async def draft_page(
    request: Request, kind: CaseKind, view: CaseView, account: Account, key: str
) -> Response | None:
    """The case page with a kept step form and its problems; None if the draft is not this
    person's for this page, or has expired (the plain case page then)."""
    page = kind.page_url(view.case.reference)
    now = now_for(request.app.state)
    draft = await off_loop(FormDrafts(request.app.state.store).load, key, account.id, page, now)
    if draft is None:
        return None
    try:
        step = kind.step(draft.step)
    except ValueError:
        return None
    problems = [Problem(href, text) for href, text in draft.problems]
    form = form_with_problems(draft.values, problems)
    # The page answers with the status the step got (400 bad input, 409 refused), so the
    # refusal is visible to monitoring and to tests as it was before the redirect.
    return again(request, view, step, form, problems, draft.status_code)


def owner_of(case: Any) -> str | None:
    return case.owner.id if case.owner else None


# ---------------------------------------------------------------------- log a case


async def new_case_page(
    request: Request,
    kind: CaseKind,
    form: FormState,
    problems: list[Problem],
    status_code: int = 200,
) -> Response:
    now = now_for(request.app.state).astimezone(LONDON)
    # The form carries a submission token (and the reference derived from it), so a second
    # press of the button finds the case the first one logged instead of logging it twice.
    submission = submission_key(form.value(SUBMISSION)) or new_submission()
    return render(
        request,
        kind.new_template,
        status_code,
        title=("Error: " if problems else "") + f"Log {kind.a_noun}",
        form=form,
        problems=problems,
        submission_field=SUBMISSION,
        submission=submission,
        reference=kind.new_reference(submission),
        today=now.strftime("%Y-%m-%d"),
        time_now=now.strftime("%H:%M"),
        staff=await active_staff(request),
        **kind.new_context,
    )


def not_logged(kind: CaseKind) -> str:
    return (
        f"The case system did not answer, so the {kind.noun} may not have been logged. "
        "Search for the resident before trying again."
    )


@dataclass
class NewCase:
    """A "log a ..." form, checked: the case to lodge, or the problems with the form."""

    kind: CaseKind
    parsed: ParsedForm
    case: Any  # the kind's lodge model, or None
    problems: list[Problem]
    key: str | None  # the form's submission token
    chosen: bool  # the reference came with the form (a form without a token)

    async def page(self, request: Request, status_code: int) -> Response:
        form = self.parsed.state(self.problems)
        return await new_case_page(request, self.kind, form, self.problems, status_code)


async def check_new_case(request: Request, kind: CaseKind, account: Account) -> NewCase:
    values = form_values(await request.form())
    key = submission_key(_first(values, SUBMISSION))
    # A form shown before forms carried a submission token posts only the reference it chose.
    posted = _first(values, "reference").strip().upper()
    chosen = posted if not key and kind.owns(posted) and PATTERN.match(posted) else None
    parsed = kind.parse_new(
        values,
        reference=chosen or kind.new_reference(None),  # with a key, lodge_once derives it
        account=account,
        accounts={a.id: a for a in await active_staff(request)},
        now=now_for(request.app.state),
    )
    try:
        case = kind.lodge_model.model_validate(parsed.payload)
    except ValidationError as err:
        return NewCase(kind, parsed, None, parsed.explain(err), key, bool(chosen))
    return NewCase(kind, parsed, case, list(parsed.problems), key, bool(chosen))


async def log_new_case(
    request: Request, kind: CaseKind, account: Account, client: Client
) -> Response:
    checked = await check_new_case(request, kind, account)
    if checked.problems:
        return await checked.page(request, 400)
    now = now_for(request.app.state)
    try:
        result = await _lodge(request, kind, client, checked.case, checked.key, checked.chosen, now)
    except ReceivedInFuture:  # the parser applies the same rule: only if the clock jumped
        checked.problems = [Problem(f"#{kind.name}-received_date-day", RECEIVED_IN_FUTURE)]
        return await checked.page(request, 400)
    except (TemporalDown, WorkflowAlreadyStartedError, ReferencesTaken) as err:
        raise TemporalDown(not_logged(kind)) from err
    if result.created:
        lodged = checked.case.model_copy(update={"reference": result.reference})
        flash(request, kind.logged(request.app.state.settings, lodged))
    else:
        flash(request, f"{kind.label} {result.reference} was already logged: this is it")
    return RedirectResponse(kind.page_url(result.reference), status_code=303)


async def _lodge(
    request: Request,
    kind: CaseKind,
    client: Client,
    case: Any,
    key: str | None,
    chosen: bool,
    now: datetime,
) -> LodgeResult:
    """Lodge through lodge_once. `chosen`: the reference came with the form (no token): if it
    is in use by this same case, that one is it; by another, a fresh reference is drawn."""
    settings = request.app.state.settings
    queue, policy = settings.task_queue, settings.policy
    try:
        return await lodge_once(client, case, queue, policy=policy, submission_key=key, now=now)
    except WorkflowAlreadyStartedError:
        if not chosen:
            raise  # no token, and a fresh reference in use (1 in 32^8)
        if await same_submission(client, case):
            return LodgeResult(reference=case.reference, kind=kind.name, created=False)
        fresh = case.model_copy(update={"reference": kind.new_reference(None)})
        return await lodge_once(client, fresh, queue, policy=policy, now=now)


for _kind in KINDS:
    add_case_pages(_kind)
