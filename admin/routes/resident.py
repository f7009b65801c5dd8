"""The resident's own case page: `/your-case/<token>`, open without sign-in to whoever holds the
personal link from their letters (letters/case_link.py).

It shows where the case stands, what happens next and by when, and every letter we sent the
resident (domain/resident_view.py, from the case as last recorded), and, for a complaint during
its escalation window or the late grace period after it, "Ask for stage 2": a form that sends the
workflow's `escalate` step as the resident (domain.complaint.RESIDENT_ONLINE).

The link alone shows nothing beyond its one case. A link we did not sign, one whose case has moved
on to a newer link (revoked by staff, records/case_links.py), or one whose case is no longer
recorded, answers the same 404 "This link is not valid". Every page is rate limited per client
address (PUBLIC_PAGE_LIMIT_PER_ADDRESS) and every view and request is logged in the records
(`case_link_events`); the token never reaches the logs (worker/observability.py masks it in the
access log). The pages name no member of staff.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, ValidationError

from admin.app import render, templates
from admin.case_kinds import COMPLAINT, ENQUIRY, CaseKind, kind_of
from admin.forms import SUBMISSION, new_submission, submission_key
from admin.off_loop import off_loop
from admin.public_pages import link_not_valid, too_many_views
from admin.queues import now_for
from admin.routes.cases import _recorded
from admin.temporal import (
    CaseNotFound,
    ReferencesTaken,
    StepRejected,
    TemporalDown,
    WorkflowAlreadyStartedError,
    lodge_once,
)
from domain.complaint import RESIDENT_ONLINE, ComplaintStatus, Escalate, Step
from domain.enquiry import Enquirer, EnquiryChannel, LodgeEnquiry
from domain.people import ContactMethod
from domain.resident_view import ResidentView, Stage2Request, complaint_view, enquiry_view
from letters.case_link import PATH, CaseLink, read_token
from records.case_links import CaseLinks, LinkEvent
from records.store import LetterRow, RecordsStore

router = APIRouter()
log = logging.getLogger(__name__)
templates.env.filters["longday"] = lambda d: f"{d:%A} {d.day} {d:%B %Y}" if d else ""

SENT_KEY = "resident_stage2_sent"
MAX_TEXT = Escalate.model_fields["reasons"].metadata[0].max_length
FIELDS = {
    "reasons": "Why you are not satisfied with our response",
    "outcome_sought": "What you would like us to do to put things right",
    "exceptional_circumstances": "Why you are asking now",
}


@dataclass(frozen=True)
class OpenCase:
    link: CaseLink
    token: str
    kind: CaseKind
    record: Any  # the kind's status model, as last recorded

    @property
    def reference(self) -> str:
        return self.link.reference

    @property
    def home(self) -> str:
        return f"{PATH}/{self.token}"


def _links(request: Request) -> CaseLinks:
    return CaseLinks(request.app.state.store)


def _not_valid(request: Request) -> Response:
    return link_not_valid(
        request,
        "Check that you copied the whole link from our most recent letter. Links in older "
        "letters may have been replaced. If it still does not work, call us and give your "
        "reference number.",
    )


def _open(store: RecordsStore, link: CaseLink) -> Any:
    if CaseLinks(store).current(link.reference) != link.generation:
        return None
    return _recorded(store, kind_of(link.reference), link.reference)


async def open_case(request: Request, token: str) -> OpenCase | Response:
    """The case the link opens, or the page to answer with instead (429, or 404 for a link that
    opens nothing: the same page whatever the reason, so it tells a stranger nothing)."""
    if (limited := await too_many_views(request)) is not None:
        return limited
    link = read_token(request.app.state.settings, token)
    if link is None:
        return _not_valid(request)
    record = await off_loop(_open, request.app.state.store, link)
    if record is None:
        return _not_valid(request)
    return OpenCase(link=link, token=token, kind=kind_of(link.reference), record=record)


async def _log(request: Request, case: OpenCase, event: LinkEvent) -> None:
    now = now_for(request.app.state)
    await off_loop(_links(request).log, case.reference, event, case.link.generation, now)


def _resident_letters(store: RecordsStore, reference: str) -> list[LetterRow]:
    return [
        letter
        for letter in store.letters(reference)
        if letter.recipient_role == "resident" and letter.sent
    ]


def view_of(case: OpenCase, request: Request) -> ResidentView:
    now = now_for(request.app.state)
    if case.kind is ENQUIRY:
        return enquiry_view(case.record, now)
    return complaint_view(case.record, now)


@router.get(PATH + "/{token}", include_in_schema=False)
async def your_case(request: Request, token: str) -> Response:
    case = await open_case(request, token)
    if isinstance(case, Response):
        return case
    await _log(request, case, LinkEvent.viewed)
    letters = await off_loop(_resident_letters, request.app.state.store, case.reference)
    sent = request.session.pop(SENT_KEY, None)
    contact = request.session.pop(CONTACT_SENT_KEY, None)
    return render(
        request,
        "resident_case.html",
        title=f"Your {case.kind.noun} {case.reference}",
        case=case,
        view=view_of(case, request),
        letters=sorted(letters, key=lambda letter: letter.sent_at or letter.claimed_at),
        sent=sent if sent == case.reference else None,
        contacted=contact[1] if contact and contact[0] == case.reference else None,
        contact_forms=[f for f in CONTACT_FORMS.values() if case.kind.name in f.for_kinds],
    )


@router.get(PATH + "/{token}/letters/{key}", include_in_schema=False)
async def your_letter(request: Request, token: str, key: str) -> Response:
    case = await open_case(request, token)
    if isinstance(case, Response):
        return case
    letter = await off_loop(request.app.state.store.get_letter, case.reference, key)
    if letter is None or letter.recipient_role != "resident" or not letter.sent:
        return render(
            request,
            "error.html",
            404,
            title="Page not found",
            message="We have no letter of that name on your case.",
        )
    await _log(request, case, LinkEvent.letter_read)
    return render(request, "resident_letter.html", title=letter.subject, case=case, letter=letter)


# ------------------------------------------------------------------ ask for stage 2


class Stage2Form(BaseModel):
    reasons: str = ""
    outcome_sought: str = ""
    exceptional_circumstances: str = ""


def _stage2_page(
    request: Request,
    case: OpenCase,
    how: Stage2Request,
    form: Stage2Form,
    errors: dict[str, str],
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "resident_stage2.html",
        status_code,
        title=("Error: " if errors else "") + "Ask for stage 2",
        case=case,
        view=view_of(case, request),
        late=how is Stage2Request.late,
        values=form.model_dump(),
        errors=errors,
        labels=FIELDS,
        max_text=MAX_TEXT,
    )


def _problems(form: Stage2Form, late: bool) -> dict[str, str]:
    errors: dict[str, str] = {}
    if late and not form.exceptional_circumstances.strip():
        errors["exceptional_circumstances"] = (
            "Tell us why you are asking now, after the time to ask for stage 2 ended"
        )
    for name, label in FIELDS.items():
        if len(getattr(form, name).strip()) > MAX_TEXT:
            errors[name] = f"{label} must be {MAX_TEXT} characters or fewer"
    return errors


async def stage2_case(request: Request, token: str) -> tuple[OpenCase, Stage2Request] | Response:
    """The complaint the link opens and how it may ask for stage 2 now; else the page to answer
    with (the case page when it takes no request now)."""
    case = await open_case(request, token)
    if isinstance(case, Response):
        return case
    how = view_of(case, request).stage2
    if case.kind is not COMPLAINT or how is None:
        return RedirectResponse(case.home, status_code=303)
    return case, how


@router.get(PATH + "/{token}/stage-2", include_in_schema=False)
async def stage2_form(request: Request, token: str) -> Response:
    found = await stage2_case(request, token)
    if isinstance(found, Response):
        return found
    case, how = found
    return _stage2_page(request, case, how, Stage2Form(), {})


@router.post(PATH + "/{token}/stage-2", include_in_schema=False)
async def ask_for_stage2(request: Request, token: str) -> Response:
    found = await stage2_case(request, token)
    if isinstance(found, Response):
        return found
    case, how = found
    posted = await request.form()
    form = Stage2Form(**{name: str(posted.get(name) or "") for name in FIELDS})
    late = how is Stage2Request.late
    errors = _problems(form, late)
    if errors:
        return _stage2_page(request, case, how, form, errors, 400)
    try:
        step = Escalate(
            by=RESIDENT_ONLINE,
            reasons=form.reasons.strip() or None,
            outcome_sought=form.outcome_sought.strip() or None,
            exceptional_circumstances=(form.exceptional_circumstances.strip() or None)
            if late
            else None,
        )
    except ValidationError:  # checked above; a guard, not a path
        return _stage2_page(request, case, how, form, _problems(form, True), 400)
    payload = step.model_dump(mode="json", exclude_none=True)
    client = await request.app.state.case_system.client_if_up()
    try:
        if client is None:
            raise TemporalDown()
        result: ComplaintStatus = await COMPLAINT.perform(
            client, case.reference, Step.escalate, payload
        )
    except (TemporalDown, CaseNotFound):
        request.app.state.case_system.mark_down()
        return _not_sent(request, case, how, form)
    except StepRejected:
        # Already asked (two presses, two tabs) or the time to ask ran out meanwhile: the case
        # page says where it stands now. The staff wording of the refusal is not shown.
        log.info("online stage 2 request refused for %s", case.reference)
        return RedirectResponse(case.home, status_code=303)
    await _log(request, case, LinkEvent.asked_for_stage2)
    log.info("online stage 2 request for %s", case.reference)
    request.session[SENT_KEY] = result.reference
    return RedirectResponse(case.home, status_code=303)


def _not_sent(request: Request, case: OpenCase, how: Stage2Request, form: Stage2Form) -> Response:
    phone = request.app.state.settings.landlord.phone
    error = (
        "We could not send your request just now. Try again in a few minutes, or call us on "
        f"{phone} and give your reference number."
    )
    return _stage2_page(request, case, how, form, {"send": error}, 503)


# --------------------------------------------------- ask us to call you back, reply to us


@dataclass(frozen=True)
class ContactForm:
    """One of the resident's two ways to get in touch from their page. Each becomes an enquiry
    from the online form (the standards' next-working-day reply), linked to the case and owned
    by the case's owner, so it lands in their queue."""

    slug: str
    title: str
    fields: dict[str, str]  # name -> label
    required: frozenset[str]
    limits: dict[str, int]
    subject: str  # with {reference}
    button: str
    for_kinds: frozenset[str]


CALL_BACK = ContactForm(
    slug="call-back",
    title="Ask us to call you back",
    fields={
        "phone": "Phone number to call",
        "best_time": "When is the best time to call? (optional)",
        "about": "What would you like to talk about? (optional)",
    },
    required=frozenset({"phone"}),
    limits={"phone": Enquirer.model_fields["phone"].metadata[0].max_length, "best_time": 200},
    subject="Please call me back about {reference}",
    button="Ask for a call back",
    for_kinds=frozenset({"complaint", "enquiry"}),
)
REPLY = ContactForm(
    slug="reply",
    title="Reply to us",
    fields={"message": "Your message"},
    required=frozenset({"message"}),
    limits={},
    subject="Reply about {reference}",
    button="Send my reply",
    for_kinds=frozenset({"enquiry"}),
)
CONTACT_FORMS = {f.slug: f for f in (CALL_BACK, REPLY)}
MAX_MESSAGE = 5000
CONTACT_SENT_KEY = "resident_contact_sent"


def _contact_page(
    request: Request,
    case: OpenCase,
    form: ContactForm,
    values: dict[str, str],
    errors: dict[str, str],
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "resident_contact.html",
        status_code,
        title=("Error: " if errors else "") + form.title,
        case=case,
        form=form,
        values=values,
        errors=errors,
        limit=lambda name: form.limits.get(name, MAX_MESSAGE),
        submission_field=SUBMISSION,
        submission=submission_key(values.get(SUBMISSION)) or new_submission(),
    )


def _contact_form(case: OpenCase, slug: str) -> ContactForm | None:
    form = CONTACT_FORMS.get(slug)
    return form if form and case.kind.name in form.for_kinds else None


def _contact_problems(form: ContactForm, values: dict[str, str]) -> dict[str, str]:
    errors: dict[str, str] = {}
    for name, label in form.fields.items():
        label = label.removesuffix(" (optional)")
        value = values.get(name, "").strip()
        if name in form.required and not value:
            errors[name] = f"Enter {label[:1].lower() + label[1:]}"
        elif len(value) > (limit := form.limits.get(name, MAX_MESSAGE)):
            errors[name] = f"{label} must be {limit} characters or fewer"
    return errors


def _enquiry_from(
    case: OpenCase, form: ContactForm, values: dict[str, str], reference: str, now: datetime
) -> LodgeEnquiry:
    person = case.record.resident if case.kind is COMPLAINT else case.record.enquirer
    phone = values.get("phone", "").strip() or person.phone
    lines = [f"Sent from the resident's own page for {case.reference}."]
    if form is CALL_BACK:
        lines.append(f"Please call back on {phone}.")
        if values.get("best_time", "").strip():
            lines.append(f"Best time to call: {values['best_time'].strip()}")
        if values.get("about", "").strip():
            lines.append(f"About: {values['about'].strip()}")
    else:
        lines.append(values["message"].strip())
    enquirer = Enquirer(
        name=person.name,
        email=person.email,
        phone=phone,
        address=person.address,
        preferred_contact=ContactMethod.phone if form is CALL_BACK else person.preferred_contact,
        reasonable_adjustments=person.reasonable_adjustments,
        adjustments=person.adjustments,
    )
    return LodgeEnquiry(
        reference=reference,
        enquirer=enquirer,
        channel=EnquiryChannel.online_form,
        received_at=now,
        subject=form.subject.format(reference=case.reference),
        message="\n\n".join(lines),
        owner=case.record.owner,
        linked_reference=case.reference,
    )


async def contact_case(
    request: Request, token: str, slug: str
) -> tuple[OpenCase, ContactForm] | Response:
    """The case the link opens and the contact form asked for; else the page to answer with
    (the case page when its kind has no such form)."""
    case = await open_case(request, token)
    if isinstance(case, Response):
        return case
    form = _contact_form(case, slug)
    if form is None:
        return RedirectResponse(case.home, status_code=303)
    return case, form


@router.get(PATH + "/{token}/{slug}", include_in_schema=False)
async def contact_form(request: Request, token: str, slug: str) -> Response:
    found = await contact_case(request, token, slug)
    if isinstance(found, Response):
        return found
    case, form = found
    return _contact_page(request, case, form, {}, {})


@router.post(PATH + "/{token}/{slug}", include_in_schema=False)
async def send_contact(request: Request, token: str, slug: str) -> Response:
    found = await contact_case(request, token, slug)
    if isinstance(found, Response):
        return found
    case, form = found
    posted = await request.form()
    values = {name: str(posted.get(name) or "") for name in [*form.fields, SUBMISSION]}
    errors = _contact_problems(form, values)
    if errors:
        return _contact_page(request, case, form, values, errors, 400)
    limits = request.app.state.rate_limits
    refused = await off_loop(limits.complaint_refused, limits.client_address(request), None)
    if refused is not None:
        errors = {"send": f"You have sent us a lot just now. Try again in {refused.wait}."}
        page = _contact_page(request, case, form, values, errors, 429)
        page.headers.update(refused.headers)
        return page
    key = submission_key(values.get(SUBMISSION))
    now = now_for(request.app.state)
    settings = request.app.state.settings
    enquiry = _enquiry_from(case, form, values, ENQUIRY.new_reference(key), now)
    client = await request.app.state.case_system.client_if_up()
    try:
        if client is None:
            raise TemporalDown()
        queue, policy = settings.task_queue, settings.policy
        lodged = await lodge_once(
            client, enquiry, queue, policy=policy, submission_key=key, now=now
        )
    except (TemporalDown, WorkflowAlreadyStartedError, ReferencesTaken):
        request.app.state.case_system.mark_down()
        phone = settings.landlord.phone
        errors = {
            "send": "We could not send this just now. Try again in a few minutes, or call us on "
            f"{phone} and give your reference number."
        }
        return _contact_page(request, case, form, values, errors, 503)
    if lodged.created:  # not the same form sent again
        event = LinkEvent.asked_for_call_back if form is CALL_BACK else LinkEvent.replied
        await _log(request, case, event)
        log.info("resident %s sent from the page of %s", form.slug, case.reference)
    request.session[CONTACT_SENT_KEY] = [case.reference, form.slug]
    return RedirectResponse(case.home, status_code=303)
