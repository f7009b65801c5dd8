"""Enquiries: log one from any channel, and the enquiry page (the enquirer, the message, its
clocks, the timeline with its letters, the suggested reply to a public post) with a form for
each step the enquiry allows now and the signed-in role may take. Each form sends the
EnquiryWorkflow Update; a refusal shows the workflow's reason, bad input names the field."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from temporalio.client import Client, WorkflowQueryFailedError
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from activities.deadlines import calendar_from_settings
from admin.accounts import Account
from admin.app import render
from admin.enquiry_forms import (
    COMPLAINT_POINTS,
    ENQUIRER_CONTACT,
    ENQUIRY_CHANNELS,
    ENQUIRY_REFERENCE,
    UPDATE_PREFERENCES,
    EnquiryStepContext,
    parse_enquiry,
    parse_enquiry_step,
    via_options,
)
from admin.forms import (
    RECEIVED_IN_FUTURE,
    SUBMISSION,
    FormState,
    ParsedForm,
    Problem,
    form_values,
    new_submission,
    submission_key,
)
from admin.queues import LONDON, now_for
from admin.routes.cases import (
    NO_ANSWER,
    CaseView,
    active_staff,
    again,
    build_view,
    flash,
    form_problems,
    live_or_recorded,
    normalise_reference,
    show_letter,
    take_flash,
)
from admin.security import current_account, require_step
from domain.enquiry import (
    CHANNEL_LABELS,
    EnquiryState,
    EnquiryStatus,
    EnquiryStep,
    LodgeEnquiry,
    enquiry_workflow_id,
)
from domain.intake import ReceivedInFuture
from starter.cases import (
    CaseNotFound,
    LodgeResult,
    ReferencesTaken,
    StepRejected,
    enquiry_status,
    is_enquiry,
    lodge_once,
    new_enquiry_reference,
    perform_enquiry_step,
    same_submission,
)
from starter.cases import parse_enquiry_step as validate_step

router = APIRouter(dependencies=[Depends(current_account)])

NOT_LOGGED = (
    "The case system did not answer, so the enquiry may not have been logged. "
    "Search for the resident before trying again."
)

# Forms in the order staff usually need them: the reply first.
STEP_ORDER: list[EnquiryStep] = [
    EnquiryStep.reply,
    EnquiryStep.holding_reply,
    EnquiryStep.pass_to_team,
    EnquiryStep.record_service_request,
    EnquiryStep.record_update_preference,
    EnquiryStep.convert,
    EnquiryStep.raise_complaint,
    EnquiryStep.assign,
    EnquiryStep.close,
]
STEP_TITLES: dict[EnquiryStep, str] = {
    EnquiryStep.reply: "Reply to the enquiry",
    EnquiryStep.holding_reply: "Send a holding reply",
    EnquiryStep.pass_to_team: "Pass it to another team",
    EnquiryStep.record_service_request: "Record it as a service request",
    EnquiryStep.record_update_preference: "Record how the resident wants updates",
    EnquiryStep.convert: "Turn it into a complaint",
    EnquiryStep.raise_complaint: "Raise a complaint about the service request",
    EnquiryStep.assign: "Assign the enquiry",
    EnquiryStep.close: "Close without a reply",
}
STEP_BUTTONS: dict[EnquiryStep, str] = {
    EnquiryStep.reply: "Send or record the reply",
    EnquiryStep.holding_reply: "Send or record the holding reply",
    EnquiryStep.pass_to_team: "Pass to the team",
    EnquiryStep.record_service_request: "Record the service request",
    EnquiryStep.record_update_preference: "Record the preference",
    EnquiryStep.convert: "Turn it into a complaint",
    EnquiryStep.raise_complaint: "Raise the complaint",
    EnquiryStep.assign: "Assign",
    EnquiryStep.close: "Close the enquiry",
}


# ---------------------------------------------------------------- the enquiry view


class EnquiryView(CaseView):
    @property
    def enquiry(self) -> EnquiryStatus:
        return self.case

    @property
    def needs_contact(self) -> bool:
        """A complaint needs an email or postal address, and this enquiry has neither."""
        person = self.enquiry.enquirer
        return person.email is None and person.address is None


def enquiry_reference(reference: str) -> str:
    ref = normalise_reference(reference)
    if not is_enquiry(ref):
        raise HTTPException(404, f"There is no enquiry with reference {reference}.")
    return ref


async def load_enquiry(request: Request, ref: str, account: Account) -> EnquiryView:
    wid = enquiry_workflow_id(ref)
    return await build_view(
        EnquiryView, request, ref, account, enquiry_status, EnquiryStatus, STEP_ORDER, wid
    )


def enquiry_page(
    request: Request,
    view: EnquiryView,
    *,
    status_code: int = 200,
    active: EnquiryStep | None = None,
    form: FormState | None = None,
    problems: list[Problem] | None = None,
) -> Response:
    forms = {s: (form if s == active and form else FormState()) for s in view.steps}
    return render(
        request,
        "enquiry.html",
        status_code,
        title=("Error: " if problems else "") + f"Enquiry {view.enquiry.reference}",
        view=view,
        enquiry=view.enquiry,
        channel_label=CHANNEL_LABELS[view.enquiry.channel],
        forms=forms,
        problems=problems or [],
        flash=take_flash(request) if status_code == 200 else None,
        titles=STEP_TITLES,
        buttons=STEP_BUTTONS,
        via=via_options(view.enquiry),
        update_preferences=UPDATE_PREFERENCES,
        complaint_points=COMPLAINT_POINTS,
    )


# ------------------------------------------------------------------ log an enquiry


def _form_page(
    request: Request,
    form: FormState,
    problems: list[Problem],
    status_code: int = 200,
) -> Response:
    now = now_for(request.app.state).astimezone(LONDON)
    # The form carries a submission token (and shows the reference derived from it), so a second
    # press of the button finds the enquiry the first one logged instead of logging it twice.
    submission = submission_key(form.value(SUBMISSION)) or new_submission()
    return render(
        request,
        "new_enquiry.html",
        status_code,
        title=("Error: " if problems else "") + "Log an enquiry",
        form=form,
        problems=problems,
        submission_field=SUBMISSION,
        submission=submission,
        reference=new_enquiry_reference(submission),
        today=now.strftime("%Y-%m-%d"),
        time_now=now.strftime("%H:%M"),
        channels=ENQUIRY_CHANNELS,
        preferred_contact=ENQUIRER_CONTACT,
        staff=active_staff(request),
    )


@router.get("/enquiries/new", include_in_schema=False)
async def new_enquiry(request: Request) -> Response:
    return _form_page(request, FormState(), [])


@router.post("/enquiries/new", include_in_schema=False)
async def log_enquiry(request: Request, account: Account = Depends(current_account)) -> Response:
    values = form_values(await request.form())
    key = submission_key((values.get(SUBMISSION) or [""])[0])
    # A form shown before forms carried a submission token posts only the reference it chose.
    posted = (values.get("reference") or [""])[0].strip().upper()
    chosen = posted if not key and ENQUIRY_REFERENCE.match(posted) else None
    now = now_for(request.app.state)
    parsed = parse_enquiry(
        values,
        reference=chosen or new_enquiry_reference(),  # with a key, lodge_once derives it
        account=account,
        accounts={a.id: a for a in active_staff(request)},
        now=now,
    )
    try:
        enquiry = LodgeEnquiry.model_validate(parsed.payload)
    except ValidationError as err:
        problems = parsed.explain(err)
        return _form_page(request, parsed.state(problems), problems, 400)
    if parsed.problems:
        problems = parsed.problems
        return _form_page(request, parsed.state(problems), problems, 400)
    try:
        result = await _try_lodge(request, enquiry, key, chosen is not None, now)
    except ReceivedInFuture:  # parse_enquiry applies the same rule: only if the clock jumped
        problems = [Problem("#enquiry-received_date", RECEIVED_IN_FUTURE)]
        return _form_page(request, parsed.state(problems), problems, 400)
    if result is None:
        problems = [Problem("#enquiry-submit", NOT_LOGGED)]
        return _form_page(request, parsed.state([]), problems, 503)
    if result.created:
        flash(request, _logged(request, enquiry.model_copy(update={"reference": result.reference})))
    else:
        flash(request, f"Enquiry {result.reference} was already logged: this is it")
    return RedirectResponse(f"/enquiries/{result.reference}", status_code=303)


async def _try_lodge(
    request: Request, enquiry: LodgeEnquiry, key: str | None, chosen: bool, now: datetime
) -> LodgeResult | None:
    """What lodging did; None when the case system is not connected or did not answer.
    `chosen`: the reference came with the form (no token): if it is in use by this same
    enquiry, that one is it; by another, a fresh reference is drawn."""
    client: Client | None = request.app.state.temporal
    if client is None:
        return None
    settings = request.app.state.settings
    queue, policy = settings.task_queue, settings.policy
    try:
        try:
            return await lodge_once(
                client, enquiry, queue, policy=policy, submission_key=key, now=now
            )
        except WorkflowAlreadyStartedError:
            if chosen and await same_submission(client, enquiry):
                return LodgeResult(reference=enquiry.reference, kind="enquiry", created=False)
            fresh = enquiry.model_copy(update={"reference": new_enquiry_reference()})
            return await lodge_once(client, fresh, queue, policy=policy, now=now)
    except (RPCError, WorkflowQueryFailedError, WorkflowAlreadyStartedError, ReferencesTaken):
        return None


def _logged(request: Request, enquiry: LodgeEnquiry) -> str:
    calendar = calendar_from_settings(request.app.state.settings)
    received_on = calendar.received_on(enquiry.received_at)
    days = request.app.state.settings.policy.enquiries.reply_working_days[enquiry.channel.value]
    due = calendar.add_working_days(received_on, days)
    return (
        f"Enquiry {enquiry.reference} logged. It counts as received on {received_on:%a %d %b %Y}"
        f"; the reply is due by the end of {due:%a %d %b %Y}"
    )


# ----------------------------------------------------------------- the enquiry page


@router.get("/enquiries/{reference}", include_in_schema=False)
async def show_enquiry(
    request: Request, reference: str, account: Account = Depends(current_account)
) -> Response:
    ref = normalise_reference(reference)
    if not is_enquiry(ref):
        return RedirectResponse(f"/cases/{ref}", status_code=303)
    return enquiry_page(request, await load_enquiry(request, ref, account))


@router.post("/enquiries/{reference}/steps/{step_name}", include_in_schema=False)
async def take_enquiry_step(
    request: Request,
    reference: str,
    step_name: str,
    account: Account = Depends(current_account),
) -> Response:
    ref = enquiry_reference(reference)
    try:
        step = EnquiryStep(step_name)
    except ValueError:
        raise HTTPException(404, f"There is no step called '{step_name}'.") from None
    require_step(account, step)  # type: ignore[arg-type]  # Account.may takes either kind
    values = form_values(await request.form())
    enquiry, notice = await live_or_recorded(request, ref, enquiry_status, EnquiryStatus)
    ctx = EnquiryStepContext(
        account=account,
        accounts={a.id: a for a in active_staff(request)},
        now=now_for(request.app.state),
        enquiry=enquiry,
    )
    parsed = parse_enquiry_step(step, values, ctx)
    problems = _problems(step, parsed)
    if problems:
        return await _again(request, ref, account, step, parsed.state(problems), problems, 400)
    here = f"#step-{step.value}"
    client = request.app.state.temporal
    if client is None or notice:
        problems = [Problem(here, notice or NO_ANSWER)]
        return await _again(request, ref, account, step, parsed.state([]), problems, 503)
    try:
        result = await perform_enquiry_step(client, ref, step, parsed.payload)
    except StepRejected as err:
        problems = [Problem(here, str(err))]
        return await _again(request, ref, account, step, parsed.state([]), problems, 409)
    except CaseNotFound as err:
        raise HTTPException(404, f"{err} It may have closed; search for it.") from err
    except RPCError:
        problems = [Problem(here, NO_ANSWER)]
        return await _again(request, ref, account, step, parsed.state([]), problems, 503)
    flash(request, success_message(step, result))
    return RedirectResponse(f"/enquiries/{ref}", status_code=303)


def _problems(step: EnquiryStep, parsed: ParsedForm) -> list[Problem]:
    return form_problems(validate_step, step, parsed)


async def _again(
    request: Request,
    ref: str,
    account: Account,
    step: EnquiryStep,
    form: FormState,
    problems: list[Problem],
    status_code: int,
) -> Response:
    view = await load_enquiry(request, ref, account)
    return again(enquiry_page, request, view, step, form, problems, status_code)


def success_message(step: EnquiryStep, enquiry: EnquiryStatus) -> str:
    """What the step did, in the workflow's own words (they carry the date that matters next)."""
    said = [item.summary for item in enquiry.timeline if item.step == step.value]
    message = said[-1] if said else STEP_TITLES[step]
    if enquiry.state is EnquiryState.closed and step is not EnquiryStep.close:
        message += ". The enquiry is closed"
    return message


# ------------------------------------------------------------------------ letters


@router.get("/enquiries/{reference}/letters/{key}", include_in_schema=False)
async def show_enquiry_letter(request: Request, reference: str, key: str) -> Response:
    return await show_letter(request, enquiry_reference(reference), key)
