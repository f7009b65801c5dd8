"""People known across cases (records/persons.py, domain/persons.py): linking a case to a person
from its page, and the person's page.

- From a case page (its "Person" section, admin/templates/_person.html): link the case to one of
  the people it is suggested to be (matched on email, phone, postcode; a postcode alone is
  weak), or make a new person from the case's details. Nothing links without this choice.
  Unlinking asks why and is logged.
- `/people/{PER-...}`: who they are, their cases of both kinds with stage and status, their
  reasonable adjustments, vulnerabilities and contact restrictions (each with its review date:
  record the next review, or end it), the log, and the letters about the record.

Who may: any signed-in member of staff links and unlinks cases and records adjustments and
vulnerabilities; only a manager records a contact restriction (`RESTRICTS`), which sends the
resident a letter at once (workflows/persons.py, so the route needs Temporal). Person URLs carry
only the opaque reference, never a name or an email address.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from temporalio.service import RPCError

from admin.access_log import logged
from admin.accounts import Account, Role
from admin.adjustment_forms import (
    CONTACT_ONLY_CHOICES,
    FORMAT_CHOICES,
    adjustments_payload,
    error_box,
)
from admin.app import LONDON, render
from admin.case_kinds import kind_of
from admin.forms import (
    FieldInfo,
    FormState,
    FormValues,
    Problem,
    date_answer,
    form_values,
    one,
    plain_message,
)
from admin.off_loop import off_loop
from admin.queues import now_for
from admin.routes.cases import flash, take_flash
from admin.security import Forbidden, current_account
from admin.temporal import Client, TemporalDown, require_temporal
from domain.adjustments import Adjustments, needs_in_words, staff_actions
from domain.persons import (
    RESTRICTION_LABELS,
    REVIEW_OWNER_LABELS,
    VULNERABILITY_LABELS,
    ItemKind,
    NewRestriction,
    ReviewOwner,
    Vulnerability,
    review_date_problem,
)
from domain.references import PATTERN
from records.access_log import Access
from records.persons import PersonRecords, PersonRefused
from workflows.persons import start_person_letter

router = APIRouter(dependencies=[Depends(current_account)])

RESTRICTS = frozenset({Role.manager})  # who may record a contact restriction
REVIEW = "review_on"  # every item form's review date: its day, month and year boxes
NEEDS_PREFIX = "person-"  # the adjustments boxes' ids on the person page


def _people(request: Request) -> PersonRecords:
    return PersonRecords(request.app.state.store)


def _reference(value: str, what: str = "person") -> str:
    value = value.strip().upper()
    if not PATTERN.match(value):
        raise HTTPException(404, f"There is no {what} {value}.")
    return value


def _today(request: Request) -> date:
    return now_for(request.app.state).astimezone(LONDON).date()


def _case_page(reference: str) -> str:
    return kind_of(reference).page_url(reference)


# ------------------------------------------------------------------------ from a case page


async def _again(
    request: Request,
    account: Account,
    reference: str,
    values: FormValues,
    problems: list[Problem],
    form_for: str,
) -> Response:
    """The person's page again (400) with the form `form_for` as posted and its problems."""
    return await _page(
        request,
        account,
        reference,
        form=_state(values, problems),
        form_for=form_for,
        problems=problems,
        status_code=400,
    )


@router.post("/people", include_in_schema=False)
async def create_person(request: Request, account: Account = Depends(current_account)) -> Response:
    """A new person from a case's details, with the case linked to them."""
    values = form_values(await request.form())
    case = _reference(one(values, "case"), "case")
    try:
        person = await off_loop(
            _people(request).create_from_case, case, account.id, now_for(request.app.state)
        )
    except PersonRefused as refused:
        flash(request, refused.message)
        return RedirectResponse(_case_page(case), status_code=303)
    flash(request, f"Person record {person} made from this case's details, and the case linked.")
    return RedirectResponse(f"{_case_page(case)}#person", status_code=303)


@router.post("/people/{reference}/cases", include_in_schema=False)
async def link_case(
    request: Request, reference: str, account: Account = Depends(current_account)
) -> Response:
    values = form_values(await request.form())
    person = _reference(reference)
    case = _reference(one(values, "case"), "case")
    try:
        await off_loop(_people(request).link, case, person, account.id, now_for(request.app.state))
    except PersonRefused as refused:
        flash(request, refused.message)
        return RedirectResponse(_case_page(case), status_code=303)
    flash(request, f"This case is now linked to person record {person}.")
    return RedirectResponse(f"{_case_page(case)}#person", status_code=303)


@router.post("/people/{reference}/unlink", include_in_schema=False)
async def unlink_case(
    request: Request, reference: str, account: Account = Depends(current_account)
) -> Response:
    values = form_values(await request.form())
    person, case = _reference(reference), _reference(one(values, "case"), "case")
    reason = one(values, "reason")
    if not reason or len(reason) > 500:
        flash(request, "Say why you are unlinking the case (up to 500 characters), then try again.")
        return RedirectResponse(f"{_case_page(case)}#person", status_code=303)
    done = await off_loop(
        _people(request).unlink, case, account.id, now_for(request.app.state), reason
    )
    if done != person:
        flash(request, f"This case was not linked to person record {person}.")
    else:
        flash(request, f"This case is no longer linked to person record {person}.")
    return RedirectResponse(f"{_case_page(case)}#person", status_code=303)


# ------------------------------------------------------------------------ the person's page


async def _page(
    request: Request,
    account: Account,
    reference: str,
    *,
    form: FormState | None = None,
    form_for: str = "",
    problems: list[Problem] | None = None,
    status_code: int = 200,
) -> Response:
    page = await off_loop(_people(request).page, reference)
    if page is None:
        raise HTTPException(404, f"There is no person {reference}.")
    accounts: list[Account] = await off_loop(request.app.state.accounts.all)
    names = {a.id: a.name for a in accounts}
    return render(
        request,
        "person.html",
        status_code,
        title=("Error: " if problems else "") + f"Person {reference}",
        page=page,
        person=page.person,
        names=names,
        owners=[(a.id, a.name) for a in accounts if a.active],
        today=_today(request),
        form=form or FormState(),
        form_for=form_for,
        blank=FormState(),
        problems=problems or [],
        flash=take_flash(request) if status_code == 200 else None,
        may_restrict=account.role in RESTRICTS,
        vulnerability_choices=[(v.value, label) for v, label in VULNERABILITY_LABELS.items()],
        restriction_choices=[(r.value, label) for r, label in RESTRICTION_LABELS.items()],
        review_owner_choices=[(o.value, label) for o, label in REVIEW_OWNER_LABELS.items()],
        vulnerability_labels=VULNERABILITY_LABELS,
        restriction_labels=RESTRICTION_LABELS,
        review_owner_labels=REVIEW_OWNER_LABELS,
        need_formats=FORMAT_CHOICES,
        contact_only_choices=CONTACT_ONLY_CHOICES,
        needs_prefix=NEEDS_PREFIX,
        needs_in_words=needs_in_words,
        staff_actions=staff_actions,
    )


@router.get("/people/{reference}", include_in_schema=False)
async def person_page(
    request: Request, reference: str, account: Account = Depends(current_account)
) -> Response:
    person = _reference(reference)
    response = await _page(request, account, person)
    await logged(request, Access.person_viewed, person=person, staff_id=account.id)
    return response


def _review_date(
    request: Request, values: FormValues, prefix: str, problems: list[Problem]
) -> date | None:
    answer = date_answer(values, REVIEW, "the review date")
    field = f"{prefix}-{REVIEW}"
    if answer.value is None:
        problems.append(
            Problem(f"#{field}-{answer.part}", answer.problem or "Enter the review date")
        )
        return None
    problem = review_date_problem(answer.value, _today(request))
    if problem:
        problems.append(Problem(f"#{field}-day", problem))
        return None
    return answer.value


def _review_owner(values: FormValues) -> ReviewOwner:
    try:
        return ReviewOwner(one(values, "review_owner"))
    except ValueError:
        return ReviewOwner.person_owner


def _state(values: FormValues, problems: list[Problem]) -> FormState:
    errors: dict[str, str] = {}
    for p in problems:
        errors.setdefault(p.href.removeprefix("#"), p.text)
    return FormState(values=values, errors=errors)


async def _record(
    request: Request,
    account: Account,
    reference: str,
    kind: ItemKind,
    data: dict[str, Any],
    review_on: date,
    review_owner: ReviewOwner,
) -> int:
    try:
        return await off_loop(
            _people(request).record,
            reference,
            kind,
            data,
            review_on,
            review_owner,
            account.id,
            now_for(request.app.state),
        )
    except PersonRefused as refused:
        raise HTTPException(404, refused.message) from None


@router.post("/people/{reference}/adjustments", include_in_schema=False)
async def record_adjustments(
    request: Request, reference: str, account: Account = Depends(current_account)
) -> Response:
    reference = _reference(reference)
    values = form_values(await request.form())
    problems: list[Problem] = []
    review_on = _review_date(request, values, "adjustments", problems)
    payload = adjustments_payload(lambda name: one(values, name))
    adjustments: Adjustments | None = None
    if payload is None:
        problems.insert(0, Problem(f"#{NEEDS_PREFIX}need_large_print", "Choose at least one need"))
    else:
        try:
            adjustments = Adjustments.model_validate(payload)
        except ValidationError as err:
            for e in err.errors():
                box = error_box(tuple(e["loc"]))
                message = str(e["msg"]).removeprefix("Value error, ")
                problems.insert(
                    0, Problem(f"#{NEEDS_PREFIX}{box}", message[:1].upper() + message[1:])
                )
    if problems or adjustments is None or review_on is None:
        return await _again(request, account, reference, values, problems, "adjustments")
    await _record(
        request,
        account,
        reference,
        ItemKind.adjustments,
        {"adjustments": adjustments.model_dump(mode="json", exclude_defaults=True)},
        review_on,
        _review_owner(values),
    )
    flash(request, "Reasonable adjustments recorded. Every case of this person shows them.")
    return RedirectResponse(f"/people/{reference}", status_code=303)


@router.post("/people/{reference}/vulnerabilities", include_in_schema=False)
async def record_vulnerability(
    request: Request, reference: str, account: Account = Depends(current_account)
) -> Response:
    reference = _reference(reference)
    values = form_values(await request.form())
    problems: list[Problem] = []
    try:
        kind = Vulnerability(one(values, "vulnerability"))
    except ValueError:
        kind = None
        problems.append(Problem("#vulnerability-vulnerability", "Choose the vulnerability"))
    note = one(values, "note") or None
    if kind is Vulnerability.other and not note:
        problems.append(Problem("#vulnerability-note", "Say what the vulnerability is in the note"))
    if note and len(note) > 2000:
        problems.append(
            Problem("#vulnerability-note", "The note must be 2,000 characters or fewer")
        )
    review_on = _review_date(request, values, "vulnerability", problems)
    if problems or kind is None or review_on is None:
        return await _again(request, account, reference, values, problems, "vulnerability")
    await _record(
        request,
        account,
        reference,
        ItemKind.vulnerability,
        {"vulnerability": kind.value, "note": note},
        review_on,
        _review_owner(values),
    )
    flash(request, "Vulnerability recorded. Every case of this person shows it.")
    return RedirectResponse(f"/people/{reference}", status_code=303)


RESTRICTION_FIELDS = {
    "restriction": FieldInfo("restriction-restriction", "what is restricted", kind="choice"),
    "details": FieldInfo("restriction-details", "exactly what the restriction is"),
    "reasons": FieldInfo("restriction-reasons", "why"),
    "evidence": FieldInfo("restriction-evidence", "the evidence"),
}


@router.post("/people/{reference}/restrictions", include_in_schema=False)
async def record_restriction(
    request: Request,
    reference: str,
    account: Account = Depends(current_account),
    client: Client = Depends(require_temporal),
) -> Response:
    """A manager records a contact restriction; the resident's letter is started at once."""
    reference = _reference(reference)
    if account.role not in RESTRICTS:
        raise Forbidden("Only a manager can restrict how a resident contacts us.")
    values = form_values(await request.form())
    problems: list[Problem] = []
    review_on = _review_date(request, values, "restriction", problems)
    payload = {name: one(values, name) for name in RESTRICTION_FIELDS}
    new: NewRestriction | None = None
    try:
        new = NewRestriction.model_validate(
            {**payload, "review_on": (review_on or date.max).isoformat()}
        )
    except ValidationError as err:
        for e in err.errors():
            info = RESTRICTION_FIELDS.get(str(e["loc"][0]) if e["loc"] else "")
            if info is not None:
                problems.append(Problem(f"#{info.id}", plain_message(e, info)))
    person = await off_loop(_people(request).person, reference)
    if person is None:
        raise HTTPException(404, f"There is no person {reference}.")
    if not person.details.writable:
        problems.append(
            Problem(
                "#restriction-restriction",
                "We must tell the resident in writing, and this person record has no email or "
                "postal address",
            )
        )
    if problems or new is None or review_on is None:
        return await _again(request, account, reference, values, problems, "restriction")
    item = await _record(
        request,
        account,
        reference,
        ItemKind.restriction,
        new.model_dump(mode="json"),
        review_on,
        ReviewOwner.recorded_by,
    )
    (letter,) = await off_loop(_people(request).restriction_letters, reference, item)
    try:
        await start_person_letter(client, letter, request.app.state.settings.task_queue)
    except (TemporalDown, RPCError):  # gone since the check: the morning's reviews send it
        flash(
            request,
            "Contact restriction recorded. Its letter will go with the next morning's reviews.",
        )
    else:
        flash(request, "Contact restriction recorded. The resident's letter is being sent.")
    return RedirectResponse(f"/people/{reference}", status_code=303)


@router.post("/people/{reference}/items/{item_id:int}/review", include_in_schema=False)
async def review_item(
    request: Request, reference: str, item_id: int, account: Account = Depends(current_account)
) -> Response:
    reference = _reference(reference)
    if await _is_restriction(request, reference, item_id) and account.role not in RESTRICTS:
        raise Forbidden("Only a manager can review a contact restriction.")
    values = form_values(await request.form())
    problems: list[Problem] = []
    review_on = _review_date(request, values, f"item-{item_id}", problems)
    note = one(values, "note") or None
    if problems or review_on is None:
        return await _again(request, account, reference, values, problems, f"item-{item_id}")
    try:
        await off_loop(
            _people(request).review,
            reference,
            item_id,
            review_on,
            note,
            account.id,
            now_for(request.app.state),
        )
    except PersonRefused as refused:
        flash(request, refused.message)
    else:
        flash(request, f"Reviewed: the next review is due on {review_on:%d %B %Y}.")
    return RedirectResponse(f"/people/{reference}", status_code=303)


@router.post("/people/{reference}/items/{item_id:int}/end", include_in_schema=False)
async def end_item(
    request: Request, reference: str, item_id: int, account: Account = Depends(current_account)
) -> Response:
    reference = _reference(reference)
    values = form_values(await request.form())
    if await _is_restriction(request, reference, item_id) and account.role not in RESTRICTS:
        raise Forbidden("Only a manager can end a contact restriction.")
    try:
        await off_loop(
            _people(request).end,
            reference,
            item_id,
            one(values, "note") or None,
            account.id,
            now_for(request.app.state),
        )
    except PersonRefused as refused:
        flash(request, refused.message)
    else:
        flash(request, "Ended: it no longer shows on this person's cases.")
    return RedirectResponse(f"/people/{reference}", status_code=303)


async def _is_restriction(request: Request, reference: str, item_id: int) -> bool:
    person = await off_loop(_people(request).person, reference)
    if person is None:
        raise HTTPException(404, f"There is no person {reference}.")
    return any(i.id == item_id and i.kind is ItemKind.restriction for i in person.items)


@router.post("/people/{reference}/owner", include_in_schema=False)
async def set_owner(
    request: Request, reference: str, account: Account = Depends(current_account)
) -> Response:
    reference = _reference(reference)
    values = form_values(await request.form())
    owner = one(values, "owner_id")
    found = await off_loop(request.app.state.accounts.get, owner) if owner else None
    if found is None or not found.active:
        flash(request, "Choose an active member of staff as the owner.")
        return RedirectResponse(f"/people/{reference}", status_code=303)
    try:
        await off_loop(
            _people(request).set_owner, reference, owner, account.id, now_for(request.app.state)
        )
    except PersonRefused as refused:
        raise HTTPException(404, refused.message) from None
    flash(request, f"{found.name} now owns this person record.")
    return RedirectResponse(f"/people/{reference}", status_code=303)
