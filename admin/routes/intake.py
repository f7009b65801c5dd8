"""Log a complaint made through any channel, and find cases by reference, name or postcode."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from temporalio.client import Client, WorkflowQueryFailedError
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from activities.deadlines import calendar_from_settings
from admin.accounts import Account
from admin.app import render
from admin.forms import (
    CHANNELS,
    COMPLAINANT_TYPES,
    NEW_POINTS,
    PREFERRED_CONTACT,
    RECEIVED_IN_FUTURE,
    SUBMISSION,
    FormState,
    Problem,
    form_values,
    new_submission,
    parse_complaint,
    submission_key,
)
from admin.queues import LONDON, NEXT_STEP, now_for
from admin.routes.cases import flash
from admin.security import current_account
from domain.complaint import LodgeComplaint
from domain.intake import ReceivedInFuture
from domain.working_days import WorkingCalendar
from starter.cases import LodgeResult, ReferencesTaken, lodge_once, new_complaint_reference

router = APIRouter(dependencies=[Depends(current_account)])
NOT_LOGGED = (
    "The case system did not answer, so the complaint may not have been logged. "
    "Search for the resident before trying again."
)


def _form_page(
    request: Request, form: FormState, problems: list[Problem], status_code: int = 200
) -> Response:
    now = now_for(request.app.state).astimezone(LONDON)
    return render(
        request,
        "new_complaint.html",
        status_code,
        title=("Error: " if problems else "") + "Log a complaint",
        form=form,
        problems=problems,
        today=now.strftime("%Y-%m-%d"),
        time_now=now.strftime("%H:%M"),
        channels=CHANNELS,
        complainant_types=COMPLAINANT_TYPES,
        preferred_contact=PREFERRED_CONTACT,
        point_boxes=NEW_POINTS,
        staff=[a for a in request.app.state.accounts.all() if a.active],
        submission_field=SUBMISSION,
        submission=submission_key(form.value(SUBMISSION)) or new_submission(),
    )


@router.get("/complaints/new", include_in_schema=False)
async def new_complaint(request: Request) -> Response:
    return _form_page(request, FormState(), [])


@router.post("/complaints/new", include_in_schema=False)
async def log_complaint(request: Request, account: Account = Depends(current_account)) -> Response:
    values = form_values(await request.form())
    accounts = {a.id: a for a in request.app.state.accounts.all() if a.active}
    now = now_for(request.app.state)
    parsed = parse_complaint(
        values,
        reference=new_complaint_reference(),  # replaced by the one lodge_once derives
        account=account,
        accounts=accounts,
        now=now,
    )
    try:
        complaint = LodgeComplaint.model_validate(parsed.payload)
    except ValidationError as err:
        problems = parsed.explain(err)
        return _form_page(request, parsed.state(problems), problems, 400)
    if parsed.problems:
        return _form_page(request, parsed.state(parsed.problems), parsed.problems, 400)
    settings = request.app.state.settings
    key = submission_key((values.get(SUBMISSION) or [""])[0])
    try:
        result = await _try_lodge(request, complaint, key, now)
    except ReceivedInFuture:  # parse_complaint applies the same rule: only if the clock jumped
        problems = [Problem("#complaint-received_date", RECEIVED_IN_FUTURE)]
        return _form_page(request, parsed.state(problems), problems, 400)
    if result is None:
        problems = [Problem("#complaint-submit", NOT_LOGGED)]
        return _form_page(request, parsed.state([]), problems, 503)
    if result.created:
        flash(
            request,
            _logged(result.reference, complaint.received_at, calendar_from_settings(settings)),
        )
    else:
        flash(request, f"Complaint {result.reference} was already logged: this is it")
    return RedirectResponse(f"/cases/{result.reference}", status_code=303)


async def _try_lodge(
    request: Request, complaint: LodgeComplaint, key: str | None, now: datetime
) -> LodgeResult | None:
    """What lodging did; None when the case system is not connected or did not answer."""
    client: Client | None = request.app.state.temporal
    if client is None:
        return None
    settings = request.app.state.settings
    try:
        return await lodge_once(
            client,
            complaint,
            settings.task_queue,
            policy=settings.policy,
            submission_key=key,
            now=now,
        )
    except (RPCError, WorkflowQueryFailedError, WorkflowAlreadyStartedError, ReferencesTaken):
        return None  # WorkflowAlreadyStartedError: no token, and a fresh reference in use


def _logged(ref: str, received_at: datetime, calendar: WorkingCalendar) -> str:
    received_on = calendar.received_on(received_at)
    return f"Complaint {ref} logged. It counts as received on {received_on:%a %d %b %Y}"


@router.get("/search", include_in_schema=False)
async def search(request: Request, q: str = "") -> Response:
    text = q.strip()[:200]
    results = request.app.state.store.search_cases(text) if text else []
    return render(
        request,
        "search.html",
        title="Search cases",
        q=text,
        results=results,
        next_step=NEXT_STEP,
    )
