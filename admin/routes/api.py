"""The JSON API: the same actions as the staff pages, for every kind of case in
admin/case_kinds.py, with the same sign-in, roles, CSRF check and validation, documented by
FastAPI at /api/docs.

    complaints                                  enquiries
    POST /api/complaints        lodge           POST /api/enquiries
    GET  /api/complaints        a work queue    GET  /api/enquiries
    GET  /api/cases/{ref}       the case        GET  /api/enquiries/{ref}
    POST /api/cases/{ref}/steps/{step}          POST /api/enquiries/{ref}/steps/{step}
    GET  /api/cases (a work queue of both kinds), GET /api/search, GET /api/session

Sign in with `POST /login` (a form, like the page), keep the session cookie, then
`GET /api/session` for the CSRF token to send as `X-CSRF-Token` on every POST.
Errors are `{"detail": "plain message"}` (`ErrorBody`), or for bad input (422)
`{"detail": [{"field": "resident.email", "message": "..."}]}` (`ValidationProblems`); the
OpenAPI document lists every status each route answers. While Temporal is down, every route
that needs it answers 503 at once (admin/temporal.py); so does every route while the records
database is not answering.

Bodies are as strict as their schema (admin/api_bodies.py): a date-time is ISO 8601 text with
its offset, and staff (an owner, a reviewer) are named by staff id, checked against the staff
accounts by the rules in domain/roles.py (admin/naming.py): only a manager sets or changes an
owner, but for a case officer or reviewer taking a case nobody owns (403 otherwise), and whoever
is named must be an active account whose role allows it (422 naming the field otherwise).

No `from __future__ import annotations` here: each route is built in a loop with its own body
and answer models, and FastAPI reads those annotations at run time.
"""

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request, Security
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.security import APIKeyHeader
from pydantic import BaseModel, Field, ValidationError, create_model

from activities.deadlines import calendar_from_settings
from admin import queues
from admin.accounts import Account, Role
from admin.api_bodies import names_staff, new_case_body, step_bodies
from admin.case_kinds import KINDS, CaseKind
from admin.naming import name_fields, needs_case
from admin.off_loop import off_loop
from admin.routes.cases import case_after
from admin.security import CSRF_HEADER, Forbidden, csrf_token, current_account, require_step
from admin.temporal import (
    CaseNotFound,
    Client,
    ReferencesTaken,
    StepRejected,
    TemporalDown,
    WorkflowAlreadyStartedError,
    lodge_once,
    require_temporal,
)
from domain.intake import ReceivedInFuture
from domain.offered import AssignRefused, assign_payload, may_ask, may_take, offered_steps
from domain.records import CaseSummary
from domain.references import PATTERN
from domain.roles import CannotBeNamed, RoleMayNotName

csrf_header = APIKeyHeader(
    name=CSRF_HEADER,
    scheme_name="csrf",
    description="The token from GET /api/session; needed on every POST. Sign in at /login "
    "first: the session cookie is sent by the browser.",
    auto_error=False,
)


# ---------------------------------------------------------------------------- models


class ErrorBody(BaseModel):
    """Every error but bad input (422): what was wrong and what to do."""

    detail: str = Field(description="What was wrong and what to do, in plain English")


class FieldProblem(BaseModel):
    field: str = Field(description="Where in the body, dotted: resident.email, points.0")
    message: str


class ValidationProblems(BaseModel):
    """Bad input (422): each problem, with the field it is about."""

    detail: list[FieldProblem]


class AccountOut(BaseModel):
    id: str
    name: str
    email: str
    role: Role


class SessionOut(BaseModel):
    account: AccountOut
    csrf_token: str = Field(description=f"Send it as the {CSRF_HEADER} header on every POST")


class Lodged(BaseModel):
    reference: str
    created: bool = Field(
        default=True,
        description="false: an earlier request with the same Idempotency-Key lodged it",
    )


class QueueCase(CaseSummary):
    next_step: str = Field(description="What staff do next")
    rag: queues.Rag = Field(
        description=(
            "red: overdue or due today; amber: due soon (within the policy's "
            "urgency.due_soon_working_days)"
        )
    )


class CaseList(BaseModel):
    queue: queues.Queue
    page: int = Field(description="This page's number (as near as `total_exact` says)")
    pages: int = Field(description="How many pages: at least this many unless `total_exact`")
    total: int = Field(
        description="How many cases: exact when `total_exact`; otherwise more than this many, "
        f"or about this many (counted only up to {queues.COUNT_UP_TO:,} either side of the page)"
    )
    total_exact: bool = True
    next_cursor: str | None = Field(
        None, description="Send as `cursor` for the next page; null on the last page"
    )
    previous_cursor: str | None = Field(
        None, description="Send as `cursor` for the previous page; null on the first page"
    )
    cases: list[QueueCase]


class SearchResults(BaseModel):
    query: str
    cases: list[CaseSummary]


def case_out(kind: CaseKind) -> type[BaseModel]:
    """The case as its status Query gives it, with what the signed-in account may do now."""
    return create_model(
        f"{kind.label}Out",
        __base__=kind.status_model,
        __doc__=f"The whole {kind.noun} as it stands now, and what you may do on it.",
        offered_steps=(
            list[kind.step],  # type: ignore[name-defined]
            Field(
                description="The steps you may take now: those the case allows, that your role "
                "may ask for and, at stage 2, that you may do having (or not) taken part in "
                "stage 1. The others in `allowed_steps` are for a colleague."
            ),
        ),
        may_take=(
            bool,
            Field(description="Nobody owns it and you may take it: the `assign` step, to you"),
        ),
    )


def _describe(kind: CaseKind, out: type[BaseModel], case: Any, account: Account) -> Any:
    return out(
        **case.model_dump(),
        offered_steps=offered_steps(case, account.role, account.id),
        may_take=may_take(case, account.role, account.id),
    )


# --------------------------------------------------------------------------- helpers

IDEMPOTENCY_KEY = "Idempotency-Key"
MAX_PAGE = 1_000_000  # a page number the records database can take (an OFFSET it can count)
Responses = dict[int | str, dict[str, Any]]


def _error(status: int, description: str) -> Responses:
    return {status: {"model": ErrorBody, "description": description}}


NOT_SIGNED_IN = _error(401, "Not signed in: sign in at /login")
RECORDS_DOWN = _error(
    503, "The records database is not answering: nothing was changed; try again in a minute"
)
DOWN = _error(
    503,
    "Temporal (or the records database) is not answering: nothing was changed; try again shortly",
)
BAD_QUERY = {422: {"model": ValidationProblems, "description": "A parameter is not valid"}}
UNREADABLE = _error(400, "The body could not be read: send JSON, in UTF-8")
# Every route: signed in (401), and the records database answering (503: sign-in reads it).
router = APIRouter(
    prefix="/api",
    dependencies=[Depends(current_account), Security(csrf_header)],
    responses=NOT_SIGNED_IN | RECORDS_DOWN,
)


def _invalid(err: ValidationError) -> JSONResponse:
    """422 in the same shape as the app's handler for bad request bodies."""
    problems = [
        {"field": ".".join(str(p) for p in e["loc"]) or "body", "message": e["msg"]}
        for e in err.errors()
    ]
    return JSONResponse({"detail": problems}, status_code=422)


def _problems(field: str, message: str) -> JSONResponse:
    """422 naming one field, in the same shape as _invalid."""
    return JSONResponse({"detail": [{"field": field, "message": message}]}, status_code=422)


async def _named(
    request: Request,
    model: type,
    data: dict[str, Any],
    account: Account,
    case: Any = None,
) -> dict[str, Any]:
    """`data` with each member of staff it names by staff id in full, from the staff accounts,
    once domain/roles.py's rules allow it: 403 (RoleMayNotName) or CannotBeNamed for the
    caller to answer 422 naming the field."""
    accounts = request.app.state.accounts
    try:
        return await off_loop(
            name_fields, model, data, lookup=accounts.get, actor=account, case=case
        )
    except RoleMayNotName as err:  # its reason names the field and says what to do
        raise Forbidden(err.reason) from None


def _reference(kind: CaseKind) -> Callable[[str], str]:
    """The path's reference: 404 unless it is one of this kind's (before Temporal is asked)."""

    def check(reference: str) -> str:
        if not (PATTERN.fullmatch(reference) and kind.owns(reference)):
            raise HTTPException(404, detail=f"No {kind.noun} with reference {reference}.")
        return reference

    return check


def _may(kind: CaseKind, step: Any) -> Callable[[Account], Account]:
    """403 for a role that may not ask for the step. A role that takes unowned cases may ask for
    `assign` for itself: checked against the case once it is read."""

    def check(account: Account = Depends(current_account)) -> Account:
        if not may_ask(account.role, step, kind.assign):
            require_step(account, step)  # 403 with the role's reason
        return account

    return check


# ---------------------------------------------------------------------------- routes


@router.get("/session", response_model=SessionOut, tags=["session"])
async def session(request: Request, account: Account = Depends(current_account)) -> SessionOut:
    """Who is signed in, and the CSRF token to send as `X-CSRF-Token` on every POST."""
    return SessionOut(
        account=AccountOut(
            id=account.id, name=account.name, email=account.email, role=account.role
        ),
        csrf_token=csrf_token(request),
    )


def _add_lodge_route(kind: CaseKind) -> None:
    body_model = new_case_body(kind)
    noun = kind.noun

    async def lodge(
        request: Request,
        body: body_model,
        account: Account = Depends(current_account),
        idempotency_key: str | None = Header(
            default=None,
            alias=IDEMPOTENCY_KEY,
            min_length=1,
            max_length=255,
            pattern=r"^[!-~]+$",
            description=f"A key you make once per {noun} (a UUID, say; printable ASCII, up to "
            f"255 characters) and send again with every retry of it: the {noun} is lodged once.",
        ),
        client: Client = Depends(require_temporal),
    ) -> Lodged | JSONResponse:
        data = body.model_dump(exclude_unset=True)
        if idempotency_key and data.get("reference"):
            return _problems(
                "reference",
                f"leave the reference out when sending an {IDEMPOTENCY_KEY}: "
                "the reference is derived from the key",
            )
        data["reference"] = data.get("reference") or kind.new_reference(None)
        data["lodged_by"] = account.id
        try:
            data = await _named(request, kind.lodge_model, data, account)
        except CannotBeNamed as err:
            return _problems(err.field, err.reason)
        try:
            case = kind.lodge_model.model_validate(data)
        except ValidationError as err:
            return _invalid(err)
        settings = request.app.state.settings
        try:
            result = await lodge_once(
                client,
                case,
                settings.task_queue,
                policy=settings.policy,
                submission_key=f"api:{account.id}:{idempotency_key}" if idempotency_key else None,
                now=queues.now_for(request.app.state),
            )
        except ReceivedInFuture as err:
            return _problems(err.field, err.reason)
        except WorkflowAlreadyStartedError as err:
            raise HTTPException(
                409,
                detail=f"There is already a case with reference {case.reference}. "
                "Leave the reference out to get a new one.",
            ) from err
        except (TemporalDown, ReferencesTaken) as err:
            raise TemporalDown(
                f"The case service did not answer, so the {noun} may not have been lodged. "
                f"Send it again with the same {IDEMPOTENCY_KEY} to be sure it is lodged once."
            ) from err
        lodged = Lodged(reference=result.reference, created=result.created)
        if not result.created:
            return JSONResponse(lodged.model_dump(), status_code=200)
        return lodged

    lodge.__doc__ = f"""Lodge {kind.a_noun}: starts its workflow (and its clocks) and returns
    the reference.

    **Retrying safely.** Send an `Idempotency-Key` header, made once per {noun} and sent again
    with every retry of it. The reference is derived from the key (and the signed-in account),
    so if the first request did lodge the {noun} (its answer was lost, say), the retry answers
    200 with that {noun}'s reference and `created: false` instead of lodging it twice. Leave
    `reference` out of the body when you send a key. Without a key, every request lodges a new
    {noun}.

    `received_at` is when the resident got in touch, as ISO 8601 text with its offset: one in
    the future (beyond a minute's leeway) is refused with 422 naming `received_at`.

    **Staff are named by staff id.** Only a manager may name the `owner`; a case officer or
    reviewer may name only themselves (403 otherwise). The owner must be an active case
    officer, stage 2 reviewer or manager (422 naming `owner` otherwise). The case takes their
    name and email from their account."""
    router.add_api_route(
        kind.api_lodge_path.removeprefix("/api"),
        lodge,
        methods=["POST"],
        status_code=201,
        response_model=Lodged,
        name=f"lodge_{kind.name}",
        operation_id=f"lodge_{kind.name}",
        summary=f"Lodge {kind.a_noun}",
        tags=[kind.name],
        responses={
            200: {
                "model": Lodged,
                "description": f"Already lodged by an earlier request with this "
                f"{IDEMPOTENCY_KEY}: its reference, `created: false`",
            },
            **UNREADABLE,
            **_error(403, "No CSRF token, or your role may not set the owner"),
            409: {"model": ErrorBody, "description": "A case with that reference exists"},
            422: {
                "model": ValidationProblems,
                "description": f"The body is not a valid {noun}, or a member of staff it names "
                "may not be named there (the field says which)",
            },
            503: {
                "model": ErrorBody,
                "description": f"Temporal did not answer: send it again with the same "
                f"{IDEMPOTENCY_KEY}",
            },
        },
    )


def _add_list_route(path: str, kind: CaseKind | None) -> None:
    what = f"{kind.noun} " if kind else ""

    async def list_cases(
        request: Request,
        account: Account = Depends(current_account),
        queue: queues.Queue = Query(queues.Queue.mine, description="Which work queue"),
        sort: str | None = Query(None, description=f"One of: {', '.join(queues.SORTS)}"),
        direction: str | None = Query(None, alias="dir", pattern="^(asc|desc)$"),
        stage: str | None = Query(None, description="triage, stage1 or stage2"),
        owner: str | None = Query(None, description=f"A staff id, or '{queues.UNASSIGNED}'"),
        page: int = Query(
            1,
            ge=1,
            le=MAX_PAGE,
            description="A page number (an offset: a deep one costs more); `cursor` is better",
        ),
        cursor: str | None = Query(
            None,
            max_length=queues.MAX_CURSOR,
            description="`next_cursor` or `previous_cursor` from a page of this queue, in the "
            "same order: that page, read from an index at the same cost at any depth, and "
            "never repeating or missing a case as cases come and go (`page` is then ignored)",
        ),
        of_kind: str | None = Query(
            kind.name if kind else None,
            alias="kind",
            pattern="^(complaint|enquiry)$",
            include_in_schema=kind is None,
            description="complaint or enquiry: only that kind of case",
        ),
    ) -> Any:
        settings = request.app.state.settings
        chosen = kind.name if kind else of_kind
        asked = queues.QueueRequest.parse(
            queue, sort, direction, stage, owner, str(page), chosen, cursor
        )
        result = await off_loop(
            queues.load,
            request.app.state.store,
            asked,
            account.id,
            queues.now_for(request.app.state),
            calendar_from_settings(settings),
            settings.policy.urgency.due_soon_working_days,
        )
        if result.cursor_ignored:
            return _problems(
                "cursor",
                "Not a cursor from this queue in this order: send one "
                "that a page gave, unchanged, or none for the first page",
            )
        return CaseList(
            queue=queue,
            page=result.page,
            pages=result.pages,
            total=result.total,
            total_exact=result.total_exact,
            next_cursor=result.next_cursor,
            previous_cursor=result.previous_cursor,
            cases=[
                QueueCase(**row.case.summary().model_dump(), next_step=row.next_step, rag=row.rag)
                for row in result.rows
            ],
        )

    router.add_api_route(
        path,
        list_cases,
        methods=["GET"],
        response_model=CaseList,
        name=f"list_{kind.name if kind else 'cases'}",
        operation_id=f"list_{kind.name if kind else 'cases'}",
        summary=f"A work queue of {kind.noun + 's' if kind else 'cases'}",
        description=f"One page of a work queue of {what}cases (as on the queue pages), from the "
        "records database: it works while Temporal is down. Walk the queue with `cursor` "
        "(each page's `next_cursor`); `page` numbers still work, at a cost that grows with "
        "the page number.",
        tags=[kind.name if kind else "cases"],
        responses=BAD_QUERY,
    )


def _add_case_route(kind: CaseKind, out: type[BaseModel]) -> None:
    reference_of = _reference(kind)

    async def get_case(
        ref: str = Depends(reference_of),
        account: Account = Depends(current_account),
        client: Client = Depends(require_temporal),
    ) -> Any:
        try:
            case = await kind.status(client, ref)
        except CaseNotFound as err:
            raise HTTPException(404, detail=str(err)) from err
        return _describe(kind, out, case, account)

    router.add_api_route(
        f"{kind.api_path.removeprefix('/api')}/{{reference}}",
        get_case,
        methods=["GET"],
        response_model=out,
        name=f"get_{kind.name}",
        operation_id=f"get_{kind.name}",
        summary=f"The {kind.noun}",
        description=f"The whole {kind.noun} as it stands now, from its workflow, with the steps "
        "you may take now.",
        tags=[kind.name],
        responses=_error(404, f"No {kind.noun} with that reference") | DOWN | BAD_QUERY,
    )


def _add_step_route(
    kind: CaseKind, step: Any, body_model: type[BaseModel], out: type[BaseModel]
) -> None:
    reference_of = _reference(kind)
    may_ask = _may(kind, step)
    model = kind.step_models[step]

    async def take_step(
        request: Request,
        body: body_model,
        account: Account = Depends(may_ask),
        ref: str = Depends(reference_of),
        client: Client = Depends(require_temporal),
    ) -> Any:
        payload = body.model_dump(exclude_unset=True)
        payload["by"] = account.id
        try:
            case = None
            if step == kind.assign or needs_case(model, payload):
                case = await kind.status(client, ref)
            if step == kind.assign:
                try:
                    payload = assign_payload(case, account.role, account.id, payload)
                except AssignRefused as err:
                    raise Forbidden(str(err)) from None
            try:
                payload = await _named(request, model, payload, account, case)
            except CannotBeNamed as err:
                return _problems(err.field, err.reason)
            result = await kind.perform(client, ref, step, payload)
        except ValidationError as err:  # the step model's own checks, across fields
            return _invalid(err)
        except StepRejected as err:
            raise HTTPException(409, detail=str(err)) from err
        except CaseNotFound as err:
            raise HTTPException(404, detail=str(err)) from err
        except TemporalDown as err:
            raise TemporalDown(
                "The case service did not answer, so we cannot tell whether the step was taken. "
                f"Read the {kind.noun} (GET) before sending it again."
            ) from err
        try:
            after = await case_after(request, kind, client, result)
        except TemporalDown as err:  # not recorded yet, and then no answer to the query
            raise TemporalDown(
                f"The step was taken: the {kind.noun} is now {result.stage}, {result.status}. "
                f"The case service did not answer when it was read back; read the {kind.noun} "
                "(GET) to see it, and do not send the step again."
            ) from err
        return _describe(kind, out, after, account)

    words = step.value.replace("_", " ")
    assign_note = (
        "\n\nA manager may assign anyone; a case officer or reviewer may only take an unowned "
        "case, assigning it to themselves (403 otherwise)."
        if step == kind.assign
        else ""
    )
    named_note = (
        "\n\nStaff are named by staff id, and must be active accounts whose role allows it "
        "(422 naming the field otherwise); the case takes their name and email from the account."
        if any(names_staff(f.annotation) for f in model.model_fields.values())
        else ""
    )
    router.add_api_route(
        f"{kind.api_path.removeprefix('/api')}/{{reference}}/steps/{step.value}",
        take_step,
        methods=["POST"],
        response_model=out,
        name=f"{kind.name}_step_{step.value}",
        operation_id=f"{kind.name}_step_{step.value}",
        summary=f"{kind.label} step: {words}",
        description=(
            f"Take the '{words}' step on the {kind.noun}. `by` is always the signed-in account. "
            "The case's workflow checks the step is allowed now; if it is not, the answer is "
            "409 with the reason."
            + assign_note
            + named_note
            + "\n\n"
            + (body_model.__doc__ or "").strip()
        ),
        tags=[f"{kind.name} steps"],
        responses={
            **UNREADABLE,
            403: {"model": ErrorBody, "description": "No CSRF token, or your role cannot do this"},
            404: {"model": ErrorBody, "description": f"No open {kind.noun} with that reference"},
            409: {"model": ErrorBody, "description": "The case refused the step: why"},
            422: {
                "model": ValidationProblems,
                "description": "The body is not valid, or a member of staff it names may not be "
                "named there (the field says which)",
            },
            503: {
                "model": ErrorBody,
                "description": "Temporal is not answering: nothing was changed (or, if it "
                "stopped answering mid-step, read the case before sending it again)",
            },
        },
    )


@router.get("/search", response_model=SearchResults, tags=["cases"], responses=BAD_QUERY)
async def search(
    request: Request,
    q: str = Query("", max_length=200, description="A reference, a name or a postcode"),
) -> SearchResults:
    """Cases whose reference or postcode starts with `q`, or whose resident's name contains it;
    newest first, at most 50. Closed cases too. From the records database."""
    found = await off_loop(request.app.state.store.search_cases, q, limit=50)
    return SearchResults(query=q, cases=[c.summary() for c in found])


_add_list_route("/cases", None)
for _kind in KINDS:
    _add_lodge_route(_kind)
    _add_list_route(_kind.api_lodge_path.removeprefix("/api"), _kind)
    _out = case_out(_kind)
    _add_case_route(_kind, _out)
    for _step, _body in step_bodies(_kind).items():
        _add_step_route(_kind, _step, _body, _out)


# The API's own documentation, for signed-in staff only. FastAPI's built-in /api/docs and
# /api/openapi.json (set up in `create_app`) are matched first and are public; these take over
# once `create_app` passes `docs_url=None, openapi_url=None`.
@router.get("/openapi.json", include_in_schema=False)
async def openapi_schema(request: Request) -> JSONResponse:
    return JSONResponse(request.app.openapi())


@router.get("/docs", include_in_schema=False)
async def openapi_docs(request: Request) -> HTMLResponse:
    page = get_swagger_ui_html(
        openapi_url="/api/openapi.json", title=f"{request.app.title} – API documentation"
    )
    html = bytes(page.body).decode().replace("<html>", '<html lang="en-GB">', 1)
    return HTMLResponse(html, status_code=page.status_code)
