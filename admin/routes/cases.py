"""The case page: the resident, the complaint, every deadline, the timeline with its letters, and
a form for each step the case allows now and the signed-in role may take. Each form sends the
workflow Update; a refusal shows the workflow's reason, bad input names the field."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, ValidationError
from temporalio.service import RPCError

from admin.accounts import Account
from admin.app import render
from admin.forms import (
    CONTACT_METHODS,
    DECISIONS,
    DECLINE_REASONS,
    SPARE_POINTS,
    FormState,
    ParsedForm,
    Problem,
    StepContext,
    form_values,
    parse_step,
)
from admin.queues import LONDON, now_for, window_for
from admin.security import current_account, require_step
from domain.clocks import Clock, ClockKey
from domain.complaint import ComplaintStatus, Step, TimelineItem, workflow_id
from domain.urgency import COLOURS, PROMISE_LABELS, UrgencyWindow, deadline_urgency
from records.store import LetterRow
from starter.cases import CaseNotFound, StepRejected, is_enquiry, perform_step, status
from starter.cases import parse_step as validate_step

router = APIRouter(dependencies=[Depends(current_account)])

REFERENCE = re.compile(r"^[A-Z]{3}-[0-9A-Z]{4}-[0-9A-Z]{4}$")
FLASH_KEY = "flash"
NO_ANSWER = (
    "The case system did not answer, so we cannot tell whether the step was taken. "
    "Reload the case to check before trying again."
)

# Forms in the order staff usually need them: the step that moves the case on comes first.
STEP_ORDER: list[Step] = [
    Step.accept,
    Step.acknowledge,
    Step.respond,
    Step.escalate,
    Step.record_contact,
    Step.extend,
    Step.assign,
    Step.decline,
    Step.record_service_request,
    Step.raise_new_issues,
    Step.withdraw,
]
STEP_TITLES: dict[Step, str] = {
    Step.accept: "Accept the complaint",
    Step.decline: "Decline the complaint",
    Step.record_service_request: "Treat it as a service request",
    Step.record_contact: "Record contact with the resident",
    Step.assign: "Assign the case",
    Step.acknowledge: "Acknowledge the complaint",
    Step.extend: "Extend the response date",
    Step.respond: "Send the response",
    Step.escalate: "Escalate to stage 2",
    Step.raise_new_issues: "Open new issues as a new complaint",
    Step.withdraw: "Withdraw the complaint",
}
STEP_BUTTONS: dict[Step, str] = {
    Step.accept: "Accept as a stage 1 complaint",
    Step.decline: "Decline the complaint",
    Step.record_service_request: "Record as a service request",
    Step.record_contact: "Record contact",
    Step.assign: "Assign",
    Step.acknowledge: "Acknowledge",
    Step.extend: "Extend the response date",
    Step.respond: "Send the response",
    Step.escalate: "Escalate to stage 2",
    Step.raise_new_issues: "Open a new stage 1 complaint",
    Step.withdraw: "Withdraw the complaint",
}
DONE: dict[Step, str] = {
    Step.accept: "Accepted as a stage 1 complaint",
    Step.decline: "Declined. The letter explaining why is on its way",
    Step.record_service_request: "Recorded as a service request. The case is closed",
    Step.record_contact: "Contact recorded",
    Step.assign: "Assigned",
    Step.acknowledge: "Acknowledged",
    Step.extend: "Extended",
    Step.respond: "Response sent",
    Step.escalate: "Escalated to stage 2",
    Step.raise_new_issues: "New issues opened as a new complaint",
    Step.withdraw: "Withdrawn. The case is closed",
}


# ------------------------------------------------------------------------ flash


def flash(request: Request, message: str) -> None:
    request.session[FLASH_KEY] = message


def take_flash(request: Request) -> str | None:
    return request.session.pop(FLASH_KEY, None)


def day(moment: datetime) -> str:
    return f"{moment.astimezone(LONDON):%a %d %b %Y}"


# ------------------------------------------------------------------ the case view


@dataclass(frozen=True)
class TimelineRow:
    at: datetime
    what: str
    who: str | None = None
    letter: LetterRow | None = None


@dataclass(frozen=True)
class DeadlineRow:
    clock: Clock
    state: str
    colour: str


@dataclass
class CaseView:
    case: Any  # ComplaintStatus, or EnquiryStatus for an EnquiryView
    live: bool
    notice: str | None
    timeline: list[TimelineRow]
    deadlines: list[DeadlineRow]
    steps: list[Any]  # forms shown: allowed now and the role may take them
    others: list[Any]  # allowed now, but not for this role
    temporal_url: str
    staff: list[Account] = field(default_factory=list)


def normalise_reference(reference: str) -> str:
    ref = reference.strip().upper()
    if not REFERENCE.match(ref):
        raise HTTPException(404, f"There is no case with reference {reference}.")
    return ref


StatusT = TypeVar("StatusT", bound=BaseModel)  # ComplaintStatus or EnquiryStatus


async def live_or_recorded(
    request: Request,
    ref: str,
    query: Callable[[Any, str], Awaitable[StatusT]],
    model: type[StatusT],
) -> tuple[StatusT, str | None]:
    """The case from its workflow's `query` (a complaint's or an enquiry's status); if that is
    gone or unreachable, the last record of it as `model`, with why it is only that."""
    client = request.app.state.temporal
    reason = "The case system is not connected, so this is the last record of the case."
    if client is not None:
        try:
            return await query(client, ref), None
        except CaseNotFound:
            reason = (
                "This case's workflow is no longer kept, so this is its last record. "
                "Nothing can be changed here."
            )
        except RPCError:
            reason = "The case system did not answer, so this is the last record of the case."
    recorded = _recorded(request, ref, model)
    if recorded is None:
        raise HTTPException(404, f"There is no case with reference {ref}.")
    return recorded, reason


def _recorded(request: Request, ref: str, model: type[StatusT]) -> StatusT | None:
    store = request.app.state.store
    snapshot = store.get_case(ref)
    if snapshot is None or not snapshot.data:
        return None
    timeline = [
        TimelineItem(at=e.at, step=e.step, actor=e.actor, summary=e.summary)
        for e in store.events(ref)
    ]
    return model.model_validate({**snapshot.data, "timeline": timeline})


def timeline_rows(items: list[TimelineItem], letters: list[LetterRow]) -> list[TimelineRow]:
    """The case's timeline with its letters in among the steps, oldest first."""
    rows = [TimelineRow(at=i.at, what=i.summary, who=i.actor) for i in items]
    for letter in letters:
        when = letter.sent_at or letter.claimed_at
        rows.append(TimelineRow(at=when, what=letter.subject, letter=letter))
    return sorted(rows, key=lambda r: r.at)


def deadline_row(clock: Clock, window: UrgencyWindow) -> DeadlineRow:
    if clock.key is ClockKey.escalation_window:
        if clock.met_at:
            return DeadlineRow(clock, "Asked for stage 2", "green")
        if clock.lapsed_at:
            return DeadlineRow(clock, "Ended without a request", "grey")
        if clock.stopped_at:
            return DeadlineRow(clock, "No longer needed", "grey")
        return DeadlineRow(clock, "Open to the resident", "grey")
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


def active_staff(request: Request) -> list[Account]:
    return [a for a in request.app.state.accounts.all() if a.active]


async def load_case(request: Request, ref: str, account: Account) -> CaseView:
    return await build_view(
        CaseView, request, ref, account, status, ComplaintStatus, STEP_ORDER, workflow_id(ref)
    )


View = TypeVar("View", bound=CaseView)


async def build_view(
    view: type[View],
    request: Request,
    ref: str,
    account: Account,
    fetch: Any,
    model: type[Any],
    order: list[Any],
    wid: str,
) -> View:
    """A case page's data, complaint or enquiry: live from the workflow, or as last recorded."""
    case, notice = await live_or_recorded(request, ref, fetch, model)
    window = window_for(request.app.state.settings, now_for(request.app.state))
    allowed = set(case.allowed_steps) if notice is None else set()
    return view(
        case=case,
        live=notice is None,
        notice=notice,
        timeline=timeline_rows(case.timeline, request.app.state.store.letters(ref)),
        deadlines=[deadline_row(c, window) for c in case.clocks],
        steps=[s for s in order if s in allowed and account.may(s)],
        others=[s for s in order if s in allowed and not account.may(s)],
        temporal_url=temporal_url(request, wid),
        staff=active_staff(request),
    )


def case_page(
    request: Request,
    view: CaseView,
    *,
    status_code: int = 200,
    active: Step | None = None,
    form: FormState | None = None,
    problems: list[Problem] | None = None,
) -> Response:
    forms = {s: (form if s == active and form else FormState()) for s in view.steps}
    return render(
        request,
        "case.html",
        status_code,
        title=("Error: " if problems else "") + f"Complaint {view.case.reference}",
        view=view,
        case=view.case,
        forms=forms,
        problems=problems or [],
        flash=take_flash(request) if status_code == 200 else None,
        titles=STEP_TITLES,
        buttons=STEP_BUTTONS,
        decisions=DECISIONS,
        contact_methods=CONTACT_METHODS,
        decline_reasons=DECLINE_REASONS,
        spare_points=SPARE_POINTS,
    )


# -------------------------------------------------------------------------- routes


@router.get("/cases/{reference}", include_in_schema=False)
async def show_case(
    request: Request, reference: str, account: Account = Depends(current_account)
) -> Response:
    ref = normalise_reference(reference)
    if is_enquiry(ref):  # search and older links use /cases/ for every kind
        return RedirectResponse(f"/enquiries/{ref}", status_code=303)
    view = await load_case(request, ref, account)
    return case_page(request, view)


@router.post("/cases/{reference}/steps/{step_name}", include_in_schema=False)
async def take_step(
    request: Request,
    reference: str,
    step_name: str,
    account: Account = Depends(current_account),
) -> Response:
    ref = normalise_reference(reference)
    try:
        step = Step(step_name)
    except ValueError:
        raise HTTPException(404, f"There is no step called '{step_name}'.") from None
    require_step(account, step)
    values = form_values(await request.form())
    ctx = StepContext(
        account=account,
        accounts={a.id: a for a in active_staff(request)},
        now=now_for(request.app.state),
    )
    parsed = parse_step(step, values, ctx)
    problems = _problems(step, parsed)
    if problems:
        return await _again(request, ref, account, step, parsed.state(problems), problems, 400)
    try:
        result = await perform_step(request.app.state.temporal, ref, step, parsed.payload)
    except StepRejected as err:
        problems = [Problem(href=f"#step-{step.value}", text=str(err))]
        return await _again(request, ref, account, step, parsed.state([]), problems, 409)
    except CaseNotFound as err:
        raise HTTPException(404, f"{err} It may have closed; search for it.") from err
    except RPCError:
        problems = [Problem(href=f"#step-{step.value}", text=NO_ANSWER)]
        return await _again(request, ref, account, step, parsed.state([]), problems, 503)
    flash(request, success_message(step, result))
    return RedirectResponse(f"/cases/{ref}", status_code=303)


def _problems(step: Step, parsed: ParsedForm) -> list[Problem]:
    return form_problems(validate_step, step, parsed)


def form_problems(
    validate: Callable[[Any, Any], Any], step: Any, parsed: ParsedForm
) -> list[Problem]:
    """What is wrong with a step's form, before the workflow is asked: the domain model's own
    validation (`validate`, starter.cases.parse_step or parse_enquiry_step), in plain English."""
    try:
        validate(step, parsed.payload)
    except ValidationError as err:
        return parsed.explain(err)
    return list(parsed.problems)


async def _again(
    request: Request,
    ref: str,
    account: Account,
    step: Step,
    form: FormState,
    problems: list[Problem],
    status_code: int,
) -> Response:
    view = await load_case(request, ref, account)
    return again(case_page, request, view, step, form, problems, status_code)


def again(
    page: Callable[..., Response],
    request: Request,
    view: CaseView,
    step: Any,
    form: FormState,
    problems: list[Problem],
    status_code: int,
) -> Response:
    """The case page again with the step's form as sent and what was wrong with it."""
    if step not in view.steps:  # the case moved on meanwhile: show why above the page
        view.steps.append(step)
    return page(request, view, status_code=status_code, active=step, form=form, problems=problems)


def _clock(case: ComplaintStatus, *keys: ClockKey) -> Clock | None:
    found = [c for c in case.clocks if c.key in keys and c.open]
    return found[-1] if found else None


def success_message(step: Step, case: ComplaintStatus) -> str:
    """What the step did, and the date that matters next."""
    response = _clock(case, ClockKey.s1_response, ClockKey.s2_response)
    ack = _clock(case, ClockKey.s1_acknowledgement, ClockKey.s2_acknowledgement)
    window = _clock(case, ClockKey.escalation_window)
    if step is Step.acknowledge and response:
        return f"Acknowledged. Response due {day(response.due)}"
    if step is Step.extend and response:
        return f"Extended. Response now due {day(response.due)}"
    if step in (Step.accept, Step.escalate) and ack:
        return f"{DONE[step]}. Acknowledgement due {day(ack.due)}"
    if step is Step.respond and window:
        return f"Response sent. The resident can ask for stage 2 until {day(window.due)}"
    if step is Step.raise_new_issues and case.linked_references:
        return f"New issues opened as complaint {case.linked_references[-1]}"
    return DONE[step]


# ------------------------------------------------------------------------ letters


@router.get("/cases/{reference}/letters/{key}", include_in_schema=False)
async def show_letter(request: Request, reference: str, key: str) -> Response:
    ref = normalise_reference(reference)
    letter = request.app.state.store.get_letter(ref, key)
    if letter is None:
        raise HTTPException(404, f"Case {ref} has no letter '{key}'.")
    return render(request, "letter.html", title=letter.subject, ref=ref, letter=letter)
