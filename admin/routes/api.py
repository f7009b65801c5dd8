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
Errors are `{"detail": "plain message"}`, or for bad input (422)
`{"detail": [{"field": "resident.email", "message": "..."}]}`. While Temporal is down, every
route that needs it answers 503 at once (admin/temporal.py).

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
from admin.case_kinds import KINDS, CaseKind
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
from domain.people import Strict
from domain.records import CaseSummary
from domain.references import PATTERN

csrf_header = APIKeyHeader(
    name=CSRF_HEADER,
    scheme_name="csrf",
    description="The token from GET /api/session; needed on every POST. Sign in at /login "
    "first: the session cookie is sent by the browser.",
    auto_error=False,
)


# ---------------------------------------------------------------------------- models


class Problem(BaseModel):
    detail: str = Field(description="What was wrong and what to do, in plain English")


class FieldProblem(BaseModel):
    field: str = Field(description="Where in the body, dotted: resident.email, points.0")
    message: str


class ValidationProblems(BaseModel):
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
    page: int
    pages: int
    total: int
    cases: list[QueueCase]


class SearchResults(BaseModel):
    query: str
    cases: list[CaseSummary]


def _without(
    model: type[BaseModel], name: str, drop: set[str], doc: str, **extra: Any
) -> type[BaseModel]:
    """`model`'s fields but those in `drop`, plus `extra`: a request body that stays in step
    with the domain model it feeds."""
    fields: dict[str, Any] = {
        n: (f.annotation, f) for n, f in model.model_fields.items() if n not in drop
    }
    fields.update(extra)
    return create_model(name, __base__=Strict, __doc__=doc, **fields)


def new_case_body(kind: CaseKind) -> type[BaseModel]:
    """What `POST` lodging takes: the kind's lodge model, the reference optional, who lodged it
    always the signed-in account."""
    return _without(
        kind.lodge_model,
        f"New{kind.label}",
        {"reference", "lodged_by"},
        f"{kind.a_noun.capitalize()} to lodge: as `{kind.lodge_model.__name__}`, but the "
        "reference is optional (a new one is made) and who lodged it is always the signed-in "
        "account.",
        reference=(
            str | None,
            Field(
                default=None,
                pattern=PATTERN.pattern,
                description=f"Leave it out to get a new reference, like {kind.prefix}-7KQ3-XM2P",
            ),
        ),
    )


def step_bodies(kind: CaseKind) -> dict[Any, type[BaseModel]]:
    """Each step's body: its domain model without `by`, which is always the signed-in account."""
    return {
        step: _without(
            model,
            f"{model.__name__}Body",
            {"by"},
            (model.__doc__ or f"The '{step.value}' step.").strip(),
        )
        for step, model in kind.step_models.items()
    }


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
NOT_SIGNED_IN = {401: {"model": Problem, "description": "Not signed in: sign in at /login"}}
NO_CSRF = {403: {"model": Problem, "description": "No CSRF token, or your role may not"}}
DOWN = {
    503: {
        "model": Problem,
        "description": "Temporal is not answering: nothing was changed; try again shortly",
    }
}

router = APIRouter(
    prefix="/api",
    dependencies=[Depends(current_account), Security(csrf_header)],
    responses=NOT_SIGNED_IN,
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

    `received_at` is when the resident got in touch: one in the future (beyond a minute's
    leeway) is refused with 422 naming `received_at`."""
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
            **NO_CSRF,
            409: {"model": Problem, "description": "A case with that reference exists"},
            422: {"model": ValidationProblems, "description": f"The body is not a valid {noun}"},
            503: {
                "model": Problem,
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
        page: int = Query(1, ge=1),
        of_kind: str | None = Query(
            kind.name if kind else None,
            alias="kind",
            pattern="^(complaint|enquiry)$",
            include_in_schema=kind is None,
            description="complaint or enquiry: only that kind of case",
        ),
    ) -> CaseList:
        settings = request.app.state.settings
        chosen = kind.name if kind else of_kind
        asked = queues.QueueRequest.parse(queue, sort, direction, stage, owner, str(page), chosen)
        result = queues.load(
            request.app.state.store,
            asked,
            account.id,
            queues.now_for(request.app.state),
            calendar_from_settings(settings),
            settings.policy.urgency.due_soon_working_days,
        )
        return CaseList(
            queue=queue,
            page=result.request.page,
            pages=result.pages,
            total=result.total,
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
        "records database: it works while Temporal is down.",
        tags=[kind.name if kind else "cases"],
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
        responses={404: {"model": Problem, "description": f"No {kind.noun} with that reference"}}
        | DOWN,
    )


def _add_step_route(
    kind: CaseKind, step: Any, body_model: type[BaseModel], out: type[BaseModel]
) -> None:
    reference_of = _reference(kind)
    may_ask = _may(kind, step)

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
            if step == kind.assign:
                case = await kind.status(client, ref)
                try:
                    payload = assign_payload(case, account.role, account.id, payload)
                except AssignRefused as err:
                    raise Forbidden(str(err)) from None
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
        return _describe(kind, out, result, account)

    words = step.value.replace("_", " ")
    assign_note = (
        "\n\nA manager may assign anyone; a case officer or reviewer may only take an unowned "
        "case, assigning it to themselves (403 otherwise)."
        if step == kind.assign
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
            "409 with the reason." + assign_note + "\n\n" + (body_model.__doc__ or "").strip()
        ),
        tags=[f"{kind.name} steps"],
        responses={
            403: {"model": Problem, "description": "No CSRF token, or your role cannot do this"},
            404: {"model": Problem, "description": f"No open {kind.noun} with that reference"},
            409: {"model": Problem, "description": "The case refused the step: why"},
            422: {"model": ValidationProblems, "description": "The body is not valid"},
            503: {
                "model": Problem,
                "description": "Temporal is not answering: nothing was changed (or, if it "
                "stopped answering mid-step, read the case before sending it again)",
            },
        },
    )


@router.get("/search", response_model=SearchResults, tags=["cases"])
async def search(
    request: Request,
    q: str = Query("", max_length=200, description="A reference, a name or a postcode"),
) -> SearchResults:
    """Cases whose reference or postcode starts with `q`, or whose resident's name contains it;
    newest first, at most 50. Closed cases too. From the records database."""
    found = request.app.state.store.search_cases(q, limit=50)
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
    return get_swagger_ui_html(
        openapi_url="/api/openapi.json", title=f"{request.app.title} – API documentation"
    )
