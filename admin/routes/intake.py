"""Log a complaint made through any channel, and find cases by reference, name or postcode."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from temporalio.client import Client
from temporalio.service import RPCError

from activities.deadlines import calendar_from_settings
from admin.accounts import Account
from admin.app import render
from admin.forms import (
    CHANNELS,
    COMPLAINANT_TYPES,
    NEW_POINTS,
    PREFERRED_CONTACT,
    FormState,
    Problem,
    form_values,
    parse_complaint,
)
from admin.queues import LONDON, NEXT_STEP, now_for
from admin.routes.cases import flash
from admin.security import current_account
from domain.complaint import LodgeComplaint
from domain.working_days import WorkingCalendar
from starter.cases import lodge, new_complaint_reference

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
    )


@router.get("/complaints/new", include_in_schema=False)
async def new_complaint(request: Request) -> Response:
    return _form_page(request, FormState(), [])


@router.post("/complaints/new", include_in_schema=False)
async def log_complaint(request: Request, account: Account = Depends(current_account)) -> Response:
    values = form_values(await request.form())
    accounts = {a.id: a for a in request.app.state.accounts.all() if a.active}
    parsed = parse_complaint(
        values,
        reference=new_complaint_reference(),
        account=account,
        accounts=accounts,
        now=now_for(request.app.state),
    )
    try:
        complaint = LodgeComplaint.model_validate(parsed.payload)
    except ValidationError as err:
        problems = parsed.explain(err)
        return _form_page(request, parsed.state(problems), problems, 400)
    if parsed.problems:
        return _form_page(request, parsed.state(parsed.problems), parsed.problems, 400)
    settings = request.app.state.settings
    ref = await _try_lodge(request.app.state.temporal, complaint, settings.task_queue)
    if ref is None:
        problems = [Problem("#complaint-submit", NOT_LOGGED)]
        return _form_page(request, parsed.state([]), problems, 503)
    flash(request, _logged(ref, complaint.received_at, calendar_from_settings(settings)))
    return RedirectResponse(f"/cases/{ref}", status_code=303)


async def _try_lodge(client: Client | None, complaint: LodgeComplaint, queue: str) -> str | None:
    """The new case's reference; None when the case system is not connected or did not answer."""
    if client is None:
        return None
    try:
        return await lodge(client, complaint, queue)
    except RPCError:
        return None


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
