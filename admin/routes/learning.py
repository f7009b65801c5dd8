"""The learning log's pages (records/learning.py), and the public "you said, we did" page.

Staff (signed in):
- `/learning`: improvements, open ones first by due date (overdue ones marked), then done ones;
  the lessons; a form to record a lesson linked to one or more complaints.
- `/learning/lessons/{id}`: a lesson, its complaints and improvements; link another complaint,
  add an improvement, mark one done with a note.

Who may: any signed-in member of staff records a lesson and links complaints to it; case
officers, stage 2 reviewers and managers (records.learning.IMPROVERS, the roles that own cases)
add improvements, own them and mark them done. Advisors see the forms' outcome, not the forms.

Public, no sign-in: `/you-said-we-did`, the done improvements that have a public summary, newest
first, with the month done and the service area: no names, no staff, no case references. It is
rate limited per client address (PUBLIC_PAGE_LIMIT_PER_ADDRESS, admin/rate_limits.py); over the
limit it answers 429 with "Try again in N minutes".
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from admin.accounts import Account, Role
from admin.app import LONDON, render
from admin.forms import (
    DATE_PARTS,
    FieldInfo,
    FormState,
    Problem,
    date_answer,
    form_values,
    one,
    plain_message,
)
from admin.off_loop import off_loop
from admin.public_pages import too_many_views
from admin.queues import now_for
from admin.routes.cases import flash, take_flash
from admin.security import current_account, require_role
from records.learning import (
    IMPROVERS,
    MAX_REFERENCES,
    CompleteImprovement,
    LearningLog,
    LearningRefused,
    LessonView,
    NewImprovement,
    NewLesson,
)

staff = APIRouter(dependencies=[Depends(current_account)])
public = APIRouter()
router = APIRouter()
improver = require_role(*(role for role in Role if role in IMPROVERS))  # in Role's order

# The public page's limit, per client address, in the `limits` notation (as config.py's).
DUE = "improvement-due"  # the due date's boxes: improvement-due-day, -month, -year

LESSON_FIELDS: dict[str, FieldInfo] = {
    "title": FieldInfo("lesson-title", "what you learned"),
    "service_area": FieldInfo("lesson-service-area", "the service area"),
    "detail": FieldInfo("lesson-detail", "more detail"),
    "references": FieldInfo("lesson-references", "the complaint references"),
}
IMPROVEMENT_FIELDS: dict[str, FieldInfo] = {
    "action": FieldInfo("improvement-action", "what will change"),
    "owner_id": FieldInfo("improvement-owner", "an owner", kind="choice"),
    "due_on": FieldInfo(f"{DUE}-day", "the due date", kind="date"),
    "public_summary": FieldInfo("improvement-public-summary", "the public summary"),
}


def done_fields(improvement_id: int) -> dict[str, FieldInfo]:
    return {
        "note": FieldInfo(f"done-{improvement_id}-note", "what was done"),
        "public_summary": FieldInfo(f"done-{improvement_id}-public-summary", "the public summary"),
    }


def _log(request: Request) -> LearningLog:
    return LearningLog(request.app.state.store)


def _problem(info: FieldInfo, text: str) -> Problem:
    return Problem(f"#{info.id}", text)


def _explain(err: ValidationError, fields: dict[str, FieldInfo]) -> list[Problem]:
    out: list[Problem] = []
    for error in err.errors():
        name = str(error["loc"][0]) if error["loc"] else ""
        info = fields.get(name)
        if info is None:
            continue
        problem = _problem(info, _message(name, error, info))
        if problem not in out:
            out.append(problem)
    return out


def _message(name: str, error: ErrorDetails, info: FieldInfo) -> str:
    if name == "references" and error["type"] in ("too_short", "missing"):
        return "Enter the reference of at least one complaint, like CMP-2027-0001"
    if name == "references" and error["type"] == "too_long":
        return f"Link at most {MAX_REFERENCES} complaints at once"
    return plain_message(error, info)


def _state(values: dict[str, list[str]], problems: list[Problem], due_field: bool) -> FormState:
    errors: dict[str, str] = {}
    for p in problems:
        key = p.href.removeprefix("#")
        if due_field and key.startswith(f"{DUE}-"):
            key = DUE  # the date's group shows the message
        errors.setdefault(key, p.text)
    return FormState(values=values, errors=errors)


# ------------------------------------------------------------------------ the list


async def _list_page(
    request: Request,
    account: Account,
    form: FormState | None = None,
    problems: list[Problem] | None = None,
    status_code: int = 200,
) -> Response:
    learning = _log(request)
    improvements = await off_loop(learning.improvements)
    lessons = await off_loop(learning.lessons)
    today = now_for(request.app.state).astimezone(LONDON).date()
    return render(
        request,
        "learning.html",
        status_code,
        title=("Error: " if problems else "") + "Learning from complaints",
        improvements=improvements,
        lessons=lessons,
        today=today,
        form=form or FormState(),
        problems=problems or [],
        flash=take_flash(request) if status_code == 200 else None,
        may_improve=account.role in IMPROVERS,
    )


@staff.get("/learning", include_in_schema=False)
async def learning(request: Request, account: Account = Depends(current_account)) -> Response:
    return await _list_page(request, account)


@staff.post("/learning/lessons", include_in_schema=False)
async def record_lesson(request: Request, account: Account = Depends(current_account)) -> Response:
    values = form_values(await request.form())
    references = one(values, "references").replace(",", " ").split()
    payload = {
        "title": one(values, "title"),
        "service_area": one(values, "service_area"),
        "detail": one(values, "detail") or None,
        "references": references,
    }
    try:
        new = NewLesson.model_validate(payload)
    except ValidationError as err:
        problems = _explain(err, LESSON_FIELDS)
        return await _list_page(request, account, _state(values, problems, False), problems, 400)
    try:
        lesson = await off_loop(
            _log(request).record_lesson, new, by=account.id, now=now_for(request.app.state)
        )
    except LearningRefused as refused:
        problems = [_problem(LESSON_FIELDS[refused.field], refused.message)]
        return await _list_page(request, account, _state(values, problems, False), problems, 400)
    flash(request, f"Lesson {lesson.id} recorded, linked to {', '.join(lesson.references)}.")
    return RedirectResponse(f"/learning/lessons/{lesson.id}", status_code=303)


# ------------------------------------------------------------------------ a lesson


async def _lesson_page(
    request: Request,
    account: Account,
    lesson_id: int,
    form: FormState | None = None,
    problems: list[Problem] | None = None,
    status_code: int = 200,
    form_for: str = "",
) -> Response:
    """The lesson's page; `form` holds the posted values and errors of the form `form_for`
    ("link", "improvement", "done-<id>"), the page's other forms are shown fresh."""
    lesson: LessonView | None = await off_loop(_log(request).lesson, lesson_id)
    if lesson is None:
        raise HTTPException(404, f"There is no lesson {lesson_id}.")
    accounts: list[Account] = await off_loop(request.app.state.accounts.all)
    owners = [(a.id, a.name) for a in accounts if a.active and a.role in IMPROVERS]
    form = form or FormState()
    today = now_for(request.app.state).astimezone(LONDON).date()
    return render(
        request,
        "learning_lesson.html",
        status_code,
        title=("Error: " if problems else "") + f"Lesson {lesson.id}",
        lesson=lesson,
        owners=owners,
        today=today,
        form=form,
        form_for=form_for,
        empty_form=FormState(),
        due_values={f"{DUE}-{p}": form.value(f"{DUE}-{p}") for p in DATE_PARTS},
        due_name=DUE,
        problems=problems or [],
        flash=take_flash(request) if status_code == 200 else None,
        may_improve=account.role in IMPROVERS,
    )


@staff.get("/learning/lessons/{lesson_id:int}", include_in_schema=False)
async def lesson_page(
    request: Request, lesson_id: int, account: Account = Depends(current_account)
) -> Response:
    return await _lesson_page(request, account, lesson_id)


@staff.post("/learning/lessons/{lesson_id:int}/cases", include_in_schema=False)
async def link_case(
    request: Request, lesson_id: int, account: Account = Depends(current_account)
) -> Response:
    values = form_values(await request.form())
    info = FieldInfo("link-reference", "the complaint's reference")
    try:
        lesson = await off_loop(
            _log(request).link_case,
            lesson_id,
            one(values, "reference"),
            by=account.id,
            now=now_for(request.app.state),
        )
    except LookupError as missing:
        raise HTTPException(404, str(missing)) from None
    except LearningRefused as refused:
        problems = [_problem(info, refused.message)]
        form = _state(values, problems, False)
        return await _lesson_page(request, account, lesson_id, form, problems, 400, "link")
    flash(request, f"{one(values, 'reference').upper()} linked to lesson {lesson.id}.")
    return RedirectResponse(f"/learning/lessons/{lesson_id}", status_code=303)


def _due_date(values: dict[str, list[str]], problems: list[Problem]) -> str | None:
    """The due date from its day, month and year boxes (ISO, for the model), or None with the
    problem noted."""
    answer = date_answer(values, DUE, "the due date")
    if answer.value is None:
        problems.append(Problem(f"#{DUE}-{answer.part}", answer.problem or "Enter the due date"))
        return None
    return answer.value.isoformat()


@staff.post("/learning/lessons/{lesson_id:int}/improvements", include_in_schema=False)
async def add_improvement(
    request: Request, lesson_id: int, account: Account = Depends(improver)
) -> Response:
    values = form_values(await request.form())
    problems: list[Problem] = []
    due = _due_date(values, problems)
    payload: dict[str, Any] = {
        "lesson_id": lesson_id,
        "action": one(values, "action"),
        "owner_id": one(values, "owner_id"),
        "due_on": due or date.max.isoformat(),  # checked above; a placeholder to check the rest
        "public_summary": one(values, "public_summary") or None,
    }
    new: NewImprovement | None = None
    try:
        new = NewImprovement.model_validate(payload)
    except ValidationError as err:
        problems += _explain(err, IMPROVEMENT_FIELDS)
    if problems or new is None:
        form = _state(values, problems, True)
        return await _lesson_page(request, account, lesson_id, form, problems, 400, "improvement")
    now = now_for(request.app.state)
    try:
        added = await off_loop(
            _log(request).add_improvement,
            new,
            by=account.id,
            today=now.astimezone(LONDON).date(),
            now=now,
        )
    except LookupError as missing:
        raise HTTPException(404, str(missing)) from None
    except LearningRefused as refused:
        problems = [_problem(IMPROVEMENT_FIELDS[refused.field], refused.message)]
        form = _state(values, problems, True)
        return await _lesson_page(request, account, lesson_id, form, problems, 400, "improvement")
    flash(request, f"Improvement added for {added.owner_name}, due {added.due_on:%d %B %Y}.")
    return RedirectResponse(f"/learning/lessons/{lesson_id}", status_code=303)


@staff.post("/learning/improvements/{improvement_id:int}/done", include_in_schema=False)
async def complete_improvement(
    request: Request, improvement_id: int, account: Account = Depends(improver)
) -> Response:
    learning = _log(request)
    found = await off_loop(learning.improvement, improvement_id)
    if found is None:
        raise HTTPException(404, f"There is no improvement {improvement_id}.")
    values = form_values(await request.form())
    fields = done_fields(improvement_id)
    payload = {
        "note": one(values, "note"),
        "public_summary": one(values, "public_summary") or None,
    }
    try:
        done = CompleteImprovement.model_validate(payload)
        await off_loop(
            learning.complete_improvement,
            improvement_id,
            done,
            by=account.id,
            now=now_for(request.app.state),
        )
    except ValidationError as err:
        problems = _explain(err, fields)
    except LearningRefused as refused:
        problems = [_problem(fields[refused.field], refused.message)]
    else:
        flash(request, f"Improvement {improvement_id} marked done.")
        return RedirectResponse(f"/learning/lessons/{found.lesson_id}", status_code=303)
    form = _state(values, problems, False)
    return await _lesson_page(
        request, account, found.lesson_id, form, problems, 400, f"done-{improvement_id}"
    )


# ------------------------------------------------------------------- you said, we did


@public.get("/you-said-we-did", include_in_schema=False)
async def you_said_we_did(request: Request) -> Response:
    if (limited := await too_many_views(request)) is not None:
        return limited
    done = await off_loop(_log(request).you_said_we_did)
    return render(request, "you_said_we_did.html", title="You said, we did", improvements=done)


router.include_router(staff)
router.include_router(public)
