"""The residents' online complaint form: open to everyone, no sign-in.

GOV.UK Design System patterns: one question per labelled field, an error summary at the top that
links to each field with a problem, the message again beside the field, and the resident's input
kept. The form is checked by building the same `LodgeComplaint` every other intake builds; each
problem is put in plain English against the field it belongs to.

The form posts to /complain/check, which shows the answers as a GOV.UK "check your answers"
page; its "Send complaint" button posts them (hidden fields) to /complain, which lodges the
complaint, and each "Change" button posts them to /complain/change, the form again with them
kept. Nothing is lodged before that button, and the form's submission token travels with the
answers, so sending twice lodges one complaint. (A form loaded before the check page existed
posts to /complain and is lodged as it was.)

The resident gets the reference on screen here and in writing: for online forms the workflow
sends the `complaint_received` letter itself, so this module sends nothing.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from admin import adjustment_forms
from admin.adjustment_forms import adjustments_payload, error_box
from admin.app import LONDON, render
from admin.forms import (
    DATE_PARTS,
    SUBMISSION,
    FormState,
    max_length,
    new_submission,
    read_date,
    submission_key,
)
from admin.queues import now_for
from admin.rate_limits import COMPLAINT_EMAIL, RateLimits, Refused, StorageError
from admin.temporal import (
    Client,
    ReferencesTaken,
    TemporalDown,
    WorkflowAlreadyStartedError,
    lodge_once,
    new_complaint_reference,
    require_temporal,
    when_temporal_down,
)
from domain.adjustments import Adjustments, needs_in_words
from domain.complaint import LodgeComplaint
from domain.intake import ReceivedInFuture
from domain.letters import MAX_POINT_LENGTH
from domain.people import Channel, ComplainantType, ContactMethod, Resident
from domain.references import PATTERN

router = APIRouter()
log = logging.getLogger(__name__)

MAX_POINTS = 5
POINT_FIELDS = tuple(f"point_{n}" for n in range(1, MAX_POINTS + 1))
HONEYPOT = "website"  # hidden from people; bots fill it in
# SUBMISSION (admin.forms): one token per form shown, so sending the same form twice lodges one
# complaint. The form has no "when" question: an online complaint is received when it is sent.
DATE_FIELDS = ("incident_date", "became_aware_date")
# What a date's messages call it ("The date it happened must include a year").
DATE_NOUN = {
    "incident_date": "the date it happened",
    "became_aware_date": "the date you found out about it",
}

# The most characters each text answer takes, as the models say (shown before sending). A point
# takes as many as a response's decision on it may quote (domain.letters.MAX_POINT_LENGTH).
LIMITS: dict[str, int | None] = {
    "name": max_length(Resident, "name"),
    "acting_for": max_length(Resident, "acting_for"),
    "reasonable_adjustments": max_length(Resident, "reasonable_adjustments"),
    "description": max_length(LodgeComplaint, "description"),
    "outcome_sought": max_length(LodgeComplaint, "outcome_sought"),
    **dict.fromkeys(POINT_FIELDS, MAX_POINT_LENGTH),
}

# The order the questions appear in, so the error summary follows the page.
FIELD_ORDER = (
    "name",
    "email",
    "phone",
    "address_line_1",
    "address_line_2",
    "address_town",
    "postcode",
    "preferred_contact",
    "complainant_type",
    "acting_for",
    "third_party_consent",
    "description",
    *POINT_FIELDS,
    "outcome_sought",
    "incident_date",
    "became_aware_date",
    *adjustment_forms.FIELDS,  # the needs' checkboxes, what each reveals, and the note
    "form",
)
# The free-text answers, read from the post as they are: every question but the checkbox and the
# dates (read in parts) — and "form", which only names whole-form errors.
TEXT_FIELDS = tuple(
    f for f in FIELD_ORDER if f not in {"third_party_consent", "form", *DATE_FIELDS}
)

# What each field is called in a message ("Your name must be 200 characters or fewer").
FIELD_NOUN = {
    "name": "Your name",
    "email": "Your email address",
    "phone": "Your phone number",
    "address_line_1": "Your address",
    "address_line_2": "Your address",
    "address_town": "Your town or city",
    "postcode": "Your postcode",
    "preferred_contact": "How you would like us to contact you",
    "complainant_type": "Who is making the complaint",
    "acting_for": "The name of the person you are complaining for",
    "description": "What your complaint is about",
    "outcome_sought": "What you would like us to do",
    "reasonable_adjustments": "The support you need",
    "interpreter_language": "The language you need",
    "contact_times": "When we can contact you",
    "through_name": "Their name",
    "through_relationship": "Who they are to you",
    "through_phone": "Their phone number",
    "through_email": "Their email address",
    "incident_date": "When it happened",
    "became_aware_date": "When you found out about it",
    **{f: f"Point {n}" for n, f in enumerate(POINT_FIELDS, start=1)},
}
REQUIRED = {
    "name": "Enter your full name",
    "preferred_contact": "Select how you would like us to contact you",
    "complainant_type": "Select who is making the complaint",
    "acting_for": "Enter the name of the person you are complaining for",
    "third_party_consent": (
        "Confirm that the person you are complaining for has given us permission to talk to you"
    ),
    "description": "Enter what your complaint is about",
    "point_1": "Tell us at least one thing that went wrong",
}
EMAIL_FORMAT = "Enter your email address in the correct format, like name@example.com"
# What to say when a need is ticked and what it asks for is missing or wrong.
NEEDS_MESSAGES = {
    "format": "Select the format you need",
    "interpreter_language": "Enter the language you need",
    "contact_only_by": "Select how we should contact you",
    "contact_times": "Enter when we can contact you",
    "through_name": "Enter the name of the person we should contact",
    "through_phone": "Enter a phone number or an email address for the person we should contact",
    "through_email": "Enter their email address in the correct format, like name@example.com",
}
OTHER_FORMAT = "Tell us which format you need in the box below"
EMAIL_OR_ADDRESS = "Enter an email address or a postal address, so we can write to you"
NEED_EMAIL = "Enter your email address, or choose another way for us to contact you"
NEED_ADDRESS = "Enter your postal address, or choose another way for us to contact you"
NEED_PHONE = "Enter your phone number, or choose another way for us to contact you"
POSTCODE_FORMAT = "Enter a real postcode, like TN13 1AX"
UK_POSTCODE = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}$")

CONTACT_CHOICES = (
    (ContactMethod.email.value, "Email"),
    (ContactMethod.post.value, "Post"),
    (ContactMethod.phone.value, "Phone"),
)
COMPLAINANT_CHOICES = (
    (ComplainantType.resident.value, "I live in one of your homes", None),
    (
        ComplainantType.neighbour.value,
        "I live near one of your homes, but I am not your resident",
        None,
    ),
    (ComplainantType.service_user.value, "I use one of your community or support services", None),
    (
        ComplainantType.group.value,
        "I am complaining for a group of residents",
        "For example, a residents' association",
    ),
    (
        ComplainantType.third_party.value,
        "I am complaining for someone else, with their permission",
        "For example, as a relative, a carer, an advocate or a support organisation",
    ),
)


@dataclass
class FormProblems:
    """Problems keyed by field name, each with the id of the element the summary links to."""

    messages: dict[str, str] = field(default_factory=dict)
    targets: dict[str, str] = field(default_factory=dict)

    def add(self, name: str, message: str, target: str | None = None) -> None:
        if name not in self.messages:  # the first problem found with a field is the one shown
            self.messages[name] = message
            self.targets[name] = target or _default_target(name)

    def summary(self) -> list[dict[str, str]]:
        def order(name: str) -> int:
            return FIELD_ORDER.index(name) if name in FIELD_ORDER else len(FIELD_ORDER)

        return [
            {"field": name, "href": f"#{self.targets[name]}", "text": self.messages[name]}
            for name in sorted(self.messages, key=order)
        ]

    def __bool__(self) -> bool:
        return bool(self.messages)


def _default_target(name: str) -> str:
    # A fieldset's error links to its first input: the first radio, or the day of a date.
    if name in DATE_FIELDS:
        return f"{name}-day"
    if name == "form":
        return "name"
    return name


@router.get("/complain", include_in_schema=False)
async def complain_page(request: Request) -> Response:
    return _form_page(request, values={}, problems=FormProblems())


def _not_sent(request: Request) -> str:
    phone = request.app.state.settings.landlord.phone
    return (
        "Sorry, we could not send your complaint just now. Your answers are still here: "
        f"try again in a few minutes, or call us on {phone}."
    )


def _too_many(request: Request, refused: Refused) -> str:
    sender = (
        "with this email address"
        if refused.rule == COMPLAINT_EMAIL
        else "from this internet connection"
    )
    phone = request.app.state.settings.landlord.phone
    return (
        f"You have sent too many complaints {sender}. Try again in {refused.wait}. "
        f"If it cannot wait, call us on {phone}."
    )


async def _over_limit(request: Request, values: dict[str, str]) -> Response | None:
    """The form again with the answers (429) if this complaint is over a limit on complaints
    from one address or with one email address (admin/rate_limits.py); None to go ahead."""
    limits: RateLimits = request.app.state.rate_limits
    problems = FormProblems()
    try:
        refused = await run_in_threadpool(
            limits.complaint_refused, limits.client_address(request), values["email"] or None
        )
    except StorageError as err:
        log.warning("rate limits not answering: %s", type(err.storage_error).__name__)
        problems.add("form", _not_sent(request))
        return _form_page(request, values, problems, status_code=503)
    if refused is None:
        return None
    problems.add("form", _too_many(request, refused))
    response = _form_page(request, values, problems, status_code=429)
    response.headers.update(refused.headers)
    return response


def _bot(values: dict[str, str]) -> Response | None:
    """Only a bot fills in the hidden field: look as if it worked, lodge nothing."""
    if values.get(HONEYPOT):
        return RedirectResponse(f"/complain/done/{new_complaint_reference()}", status_code=303)
    return None


async def _checked(request: Request) -> tuple[dict[str, str], FormProblems, LodgeComplaint | None]:
    """The form's answers, the problems with them, and the complaint they make (None if any)."""
    values = _values(await request.form())
    problems = FormProblems()
    return values, problems, _complaint(values, problems, now_for(request.app.state))


async def _answers_kept(request: Request, exc: TemporalDown) -> Response:
    """While Temporal is down: the problems with the answers (400), or, when there are none,
    the form again with them and a way to reach us (503)."""
    values, problems, complaint = await _checked(request)
    if (fake := _bot(values)) is not None:
        return fake
    if complaint is None:
        return _form_page(request, values, problems, status_code=400)
    problems.add("form", _not_sent(request))
    return _form_page(request, values, problems, status_code=503)


@router.post("/complain", include_in_schema=False)
@when_temporal_down(_answers_kept)
async def complain(request: Request, client: Client = Depends(require_temporal)) -> Response:
    values, problems, complaint = await _checked(request)
    if (fake := _bot(values)) is not None:
        return fake
    if complaint is None:
        return _form_page(request, values, problems, status_code=400)
    if (refused := await _over_limit(request, values)) is not None:
        return refused
    settings = request.app.state.settings
    try:
        result = await lodge_once(
            client,
            complaint,
            settings.task_queue,
            policy=settings.policy,
            submission_key=submission_key(values.get(SUBMISSION)),
            now=now_for(request.app.state),
        )
    except (
        TemporalDown,
        WorkflowAlreadyStartedError,  # no token, and a fresh reference in use (1 in 32^8)
        ReferencesTaken,
        ReceivedInFuture,  # received now: only if the clock jumped back
    ):
        log.exception("could not lodge online complaint")
        problems.add("form", _not_sent(request))
        return _form_page(request, values, problems, status_code=503)
    return RedirectResponse(f"/complain/done/{result.reference}", status_code=303)


@router.post("/complain/check", include_in_schema=False)
async def check_answers(request: Request) -> Response:
    """The answers to check before sending, or the form again with what is wrong (400)."""
    values, problems, complaint = await _checked(request)
    if (fake := _bot(values)) is not None:
        return fake
    if complaint is None:
        return _form_page(request, values, problems, status_code=400)
    response = render(
        request,
        "complain_check.html",
        title="Check your answers before sending your complaint",
        sections=_answers(values),
        hidden=[(k, v) for k, v in values.items() if k not in (HONEYPOT, SUBMISSION)],
        submission_field=SUBMISSION,
        submission=submission_key(values.get(SUBMISSION)) or new_submission(),
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/complain/change", include_in_schema=False)
async def change_answers(request: Request) -> Response:
    """The form again from the check page, with every answer as it was."""
    return _form_page(request, _values(await request.form()), FormProblems())


@dataclass(frozen=True)
class Answer:
    """One row of the check page: the question as the form asks it, the answer as the resident
    typed or chose it, and the box its "Change" button goes back to."""

    question: str
    answer: str
    field: str

    @property
    def target(self) -> str:
        """The id of the box the form page puts the resident back at."""
        return _default_target(self.field)


def _answers(values: dict[str, str]) -> list[tuple[str, list[Answer]]]:
    """The check page's answers, in the form's order: only what the resident gave, and only
    what the complaint will hold (no name of someone complained for, once they chose another
    answer)."""

    def given(question: str, name: str, answer: str | None = None) -> list[Answer]:
        text = values[name] if answer is None else answer
        return [Answer(question, text, name)] if text else []

    address = [values[f] for f in ("address_line_1", "address_line_2", "address_town")]
    address_text = "\n".join(line for line in [*address, values["postcode"]] if line)
    contact = dict(CONTACT_CHOICES).get(values["preferred_contact"], "")
    who = {value: label for value, label, _ in COMPLAINANT_CHOICES}
    third_party = values["complainant_type"] == ComplainantType.third_party.value
    about_you = [
        *given("Your full name", "name"),
        *given("Email address", "email"),
        *given("Phone number", "phone"),
        *given("Postal address", "address_line_1", address_text),
        *given("How would you like us to contact you?", "preferred_contact", contact),
        *given(
            "Who is making the complaint?",
            "complainant_type",
            who.get(values["complainant_type"], ""),
        ),
    ]
    if third_party:
        about_you += given("Name of the person you are complaining for", "acting_for")
        about_you += given(
            "Their permission",
            "third_party_consent",
            "They have given permission for you to talk to me about their complaint"
            if values["third_party_consent"] == "yes"
            else "",
        )
    complaint = [
        *given("What is your complaint about?", "description"),
        *(a for n, f in enumerate(POINT_FIELDS, start=1) for a in given(f"Point {n}", f)),
        *given("What would you like us to do to put it right?", "outcome_sought"),
        *given("When did it happen?", "incident_date", _date_as_typed(values, "incident_date")),
        *given(
            "When did you find out about it?",
            "became_aware_date",
            _date_as_typed(values, "became_aware_date"),
        ),
        *given("Do you need any of these?", "need_large_print", "\n".join(_needs_as_given(values))),
        *given("Anything else about the support or changes you need?", "reasonable_adjustments"),
    ]
    return [("About you", about_you), ("Your complaint", complaint)]


def _needs_as_given(values: dict[str, str]) -> list[str]:
    """The needs the resident ticked, in plain words (domain/adjustments.py), one a line."""
    payload = adjustments_payload(lambda name: values.get(name, ""))
    if not payload:
        return []
    return needs_in_words(Adjustments.model_validate(payload))  # checked before this page


def _date_as_typed(values: dict[str, str], name: str) -> str:
    """A date the resident gave, written out ("27 March 2026"); "" when they gave none."""
    answer = read_date({p: values[f"{name}-{p}"] for p in DATE_PARTS}, DATE_NOUN[name])
    return f"{answer.value.day} {answer.value:%B %Y}" if answer.value else ""


@router.get("/complain/done/{reference}", include_in_schema=False)
async def complain_done(request: Request, reference: str) -> Response:
    # Only the reference from the address, and only if it looks like one: nothing about the
    # case is looked up, so this page cannot show anyone's complaint.
    if not PATTERN.fullmatch(reference):
        return render(
            request,
            "error.html",
            404,
            title="Page not found",
            message="If you typed the web address, check it is correct.",
        )
    return render(request, "complain_done.html", title="Complaint sent", reference=reference)


def _form_page(
    request: Request,
    values: dict[str, str],
    problems: FormProblems,
    status_code: int = 200,
) -> Response:
    title = "Make a complaint"
    response = render(
        request,
        "complain.html",
        status_code,
        title=f"Error: {title}" if problems else title,
        heading=title,
        values=values,
        errors=problems.messages,
        error_summary=problems.summary(),
        point_fields=POINT_FIELDS,
        contact_choices=CONTACT_CHOICES,
        complainant_choices=COMPLAINANT_CHOICES,
        honeypot=HONEYPOT,
        submission_field=SUBMISSION,
        submission=submission_key(values.get(SUBMISSION)) or new_submission(),
        limits=LIMITS,
        # the needs' boxes (admin/templates/_adjustments_fields.html), as the staff forms have them
        needs_form=FormState(
            values={k: [v] for k, v in values.items() if v} if values else None,
            errors=problems.messages,
        ),
        need_formats=adjustment_forms.FORMAT_CHOICES,
        contact_only_choices=adjustment_forms.CONTACT_ONLY_CHOICES,
    )
    response.headers["Cache-Control"] = "no-store"  # the page holds the resident's answers
    return response


def _values(form: FormData) -> dict[str, str]:
    def text(name: str) -> str:
        value = form.get(name)
        return value.strip() if isinstance(value, str) else ""

    values = {name: text(name) for name in TEXT_FIELDS}
    for name in DATE_FIELDS:
        for part in DATE_PARTS:
            values[f"{name}-{part}"] = text(f"{name}-{part}")
    values["third_party_consent"] = "yes" if text("third_party_consent") == "yes" else ""
    values[HONEYPOT] = text(HONEYPOT)
    values[SUBMISSION] = text(SUBMISSION)
    return values


def _complaint(
    values: dict[str, str], problems: FormProblems, now: datetime
) -> LodgeComplaint | None:
    """The complaint the form describes, or None with every problem recorded in `problems`."""
    _check_contact(values, problems)
    _check_complainant(values, problems)
    if not values["description"]:
        problems.add("description", REQUIRED["description"])
    point_fields = [f for f in POINT_FIELDS if values[f]]
    if not point_fields:
        problems.add("point_1", REQUIRED["point_1"])
    for f in point_fields:
        if len(values[f]) > MAX_POINT_LENGTH:
            problems.add(f, f"{FIELD_NOUN[f]} must be {MAX_POINT_LENGTH:,} characters or fewer")
    dates = {name: _date(values, name, problems, now) for name in DATE_FIELDS}

    lines = [values[f] for f in ("address_line_1", "address_line_2", "address_town") if values[f]]
    postcode = _postcode(values["postcode"])
    third_party = values["complainant_type"] == ComplainantType.third_party.value
    data: dict[str, Any] = {
        "reference": new_complaint_reference(),
        "resident": {
            "name": values["name"],
            "email": values["email"] or None,
            "phone": values["phone"] or None,
            "address": {"lines": lines, "postcode": postcode} if lines or postcode else None,
            "preferred_contact": values["preferred_contact"] or ContactMethod.email.value,
            "complainant_type": values["complainant_type"] or ComplainantType.resident.value,
            "third_party_consent": third_party and values["third_party_consent"] == "yes",
            "acting_for": (values["acting_for"] or None) if third_party else None,
            # the needs ticked, what each asks for, and the note (admin/adjustment_forms.py)
            "adjustments": adjustments_payload(lambda name: values[name]),
        },
        "channel": Channel.online_form,
        "received_at": now,
        "description": values["description"],
        "points": [values[f] for f in point_fields],
        "outcome_sought": values["outcome_sought"] or None,
        **dates,
    }
    try:
        complaint = LodgeComplaint.model_validate(data)
    except ValidationError as err:
        for e in err.errors():
            name, message = _plain(e, point_fields)
            problems.add(name, message)
        return None
    return None if problems else complaint


def _check_contact(values: dict[str, str], problems: FormProblems) -> None:
    email, phone = values["email"], values["phone"]
    has_lines = bool(values["address_line_1"] or values["address_line_2"] or values["address_town"])
    has_address = has_lines or bool(values["postcode"])
    if email and "@" not in email:
        problems.add("email", EMAIL_FORMAT)
    if has_address:
        if not values["address_line_1"]:
            problems.add("address_line_1", "Enter the first line of your address")
        if not values["postcode"]:
            problems.add("postcode", "Enter your postcode")
        elif _postcode(values["postcode"]) is None:
            problems.add("postcode", POSTCODE_FORMAT)
    if not email and not has_address:
        problems.add("email", EMAIL_OR_ADDRESS)
    method = values["preferred_contact"]
    only = values["contact_only_by"] if values["need_contact_only"] == "yes" else ""
    if method not in {value for value, _ in CONTACT_CHOICES}:
        problems.add("preferred_contact", REQUIRED["preferred_contact"])
        return
    if only in {value for value, _ in CONTACT_CHOICES}:
        method = only  # the only way they want is how we contact them
    if method == ContactMethod.email and not email:
        problems.add("email", NEED_EMAIL)
    elif method == ContactMethod.post and not has_address:
        problems.add("address_line_1", NEED_ADDRESS)
    elif method == ContactMethod.phone and not phone:
        problems.add("phone", NEED_PHONE)


def _check_complainant(values: dict[str, str], problems: FormProblems) -> None:
    kind = values["complainant_type"]
    if kind not in {value for value, _, _ in COMPLAINANT_CHOICES}:
        problems.add("complainant_type", REQUIRED["complainant_type"])
    elif kind == ComplainantType.third_party:
        if not values["acting_for"]:
            problems.add("acting_for", REQUIRED["acting_for"])
        if values["third_party_consent"] != "yes":
            problems.add("third_party_consent", REQUIRED["third_party_consent"])


def _postcode(text: str) -> str | None:
    """A UK postcode written the usual way ("tn131ax" -> "TN13 1AX"), or None if it is not one."""
    compact = "".join(text.split()).upper()
    if not UK_POSTCODE.fullmatch(compact):
        return None
    return f"{compact[:-3]} {compact[-3:]}"


def _date(values: dict[str, str], name: str, problems: FormProblems, now: datetime) -> date | None:
    """An optional GOV.UK date input (day, month, year boxes): None when left blank."""
    answer = read_date({p: values[f"{name}-{p}"] for p in DATE_PARTS}, DATE_NOUN[name])
    if answer.problem:
        problems.add(name, answer.problem, f"{name}-{answer.part}")
        return None
    if answer.value is not None and answer.value > now.astimezone(LONDON).date():
        problems.add(name, f"{DATE_NOUN[name].capitalize()} must be today or in the past")
        return None
    return answer.value


def _plain(error: Any, point_fields: list[str]) -> tuple[str, str]:
    """The form field a pydantic error belongs to, and what to tell the resident."""
    loc = tuple(error["loc"])
    kind = error["type"]
    name = _field_for(loc, point_fields)
    if name in NEEDS_MESSAGES and kind != "string_too_long":
        return name, NEEDS_MESSAGES[name]
    if name == "reasonable_adjustments" and kind == "value_error":
        return name, OTHER_FORMAT
    if name == "resident":  # the resident model's own checks, across fields
        text = str(error.get("msg", ""))
        for means, field_name, message in (
            ("email address", "email", NEED_EMAIL),
            ("postal address", "address_line_1", NEED_ADDRESS),
            ("phone number", "phone", NEED_PHONE),
        ):
            if f"only but no {means}" in text:
                return field_name, message
        if "third_party_consent" in text:
            return "third_party_consent", REQUIRED["third_party_consent"]
        if "preferred_contact is post" in text:
            return "address_line_1", NEED_ADDRESS
        if "preferred_contact is email" in text:
            return "email", NEED_EMAIL
        return "email", EMAIL_OR_ADDRESS
    if name == "email":
        return name, EMAIL_FORMAT
    if name == "postcode":
        return name, POSTCODE_FORMAT
    noun = FIELD_NOUN.get(name, "This answer")
    if kind == "string_too_long":
        limit = error.get("ctx", {}).get("max_length")
        return name, f"{noun} must be {limit:,} characters or fewer"
    if kind in {"missing", "string_too_short"} and name in REQUIRED:
        return name, REQUIRED[name]
    if kind == "too_long":  # too many items in a list
        return name, f"Tell us no more than {MAX_POINTS} things that went wrong"
    return name, f"Check {noun[0].lower()}{noun[1:]}: it is not in a form we can accept"


def _field_for(loc: tuple[Any, ...], point_fields: list[str]) -> str:
    match loc:
        case ("resident",):
            return "resident"
        case ("resident", "adjustments", *rest):
            return error_box(tuple(rest))
        case ("resident", "address", "lines", *_):
            return "address_line_1"
        case ("resident", "address", "postcode"):
            return "postcode"
        case ("resident", "address", *_):
            return "address_line_1"
        case ("resident", str(name), *_) if name in FIELD_NOUN:
            return name
        case ("points", int(index), *_) if index < len(point_fields):
            return point_fields[index]
        case ("points", *_):
            return "point_1"
        case (str(name), *_) if name in FIELD_NOUN:
            return name
    return "form"
