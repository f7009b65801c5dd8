"""The JSON API: the same actions as the staff pages, with the same sign-in, roles, CSRF check and
validation, documented by FastAPI at /api/docs.

Sign in with `POST /login` (a form, like the page), keep the session cookie, then
`GET /api/session` for the CSRF token to send as `X-CSRF-Token` on every POST.
Errors are `{"detail": "plain message"}`, or for bad input (422)
`{"detail": [{"field": "resident.email", "message": "..."}]}`.

No `from __future__ import annotations` here: each step's route is built in a loop with its own
body model, and FastAPI reads those annotations at run time.
"""

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request, Security
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.security import APIKeyHeader
from pydantic import BaseModel, Field, ValidationError, create_model
from temporalio.client import Client, WorkflowQueryFailedError
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from activities.deadlines import calendar_from_settings
from admin import queues
from admin.accounts import Account, Role
from admin.security import CSRF_HEADER, csrf_token, current_account, require_step
from domain.complaint import STEP_MODELS, ComplaintStatus, LodgeComplaint, Step
from domain.intake import ReceivedInFuture
from domain.people import Strict
from domain.records import CaseSummary
from domain.references import PATTERN
from starter.cases import (
    CaseNotFound,
    ReferencesTaken,
    StepRejected,
    lodge_once,
    new_complaint_reference,
    perform_step,
    status,
)

csrf_header = APIKeyHeader(
    name=CSRF_HEADER,
    scheme_name="csrf",
    description="The token from GET /api/session; needed on every POST. Sign in at /login "
    "first: the session cookie is sent by the browser.",
    auto_error=False,
)
router = APIRouter(
    prefix="/api",
    dependencies=[Depends(current_account), Security(csrf_header)],
    responses={401: {"description": "Not signed in: sign in at /login first."}},
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
    rag: queues.Rag = Field(description="red: overdue or due today; amber: due within 2 days")


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


NewComplaint = _without(
    LodgeComplaint,
    "NewComplaint",
    {"reference", "lodged_by"},
    "A complaint to lodge: as `LodgeComplaint`, but the reference is optional (a new one is "
    "made) and who lodged it is always the signed-in account.",
    reference=(
        str | None,
        Field(
            default=None,
            pattern=PATTERN.pattern,
            description="Leave it out to get a new reference, like CMP-7KQ3-XM2P",
        ),
    ),
)

# Each step's body: its domain model without `by`, which is always the signed-in account.
STEP_BODIES: dict[Step, type[BaseModel]] = {
    step: _without(
        model,
        f"{model.__name__}Body",
        {"by"},
        (model.__doc__ or f"The '{step.value}' step.").strip(),
    )
    for step, model in STEP_MODELS.items()
}


# --------------------------------------------------------------------------- helpers


def _temporal(request: Request) -> Client:
    client: Client | None = request.app.state.temporal
    if client is None:
        raise HTTPException(503, detail="The case service is not connected. Try again shortly.")
    return client


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


def _may(step: Step) -> Callable[[Account], Account]:
    def check(account: Account = Depends(current_account)) -> Account:
        require_step(account, step)
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


IDEMPOTENCY_KEY = "Idempotency-Key"


@router.post(
    "/complaints",
    status_code=201,
    response_model=Lodged,
    tags=["cases"],
    responses={
        200: {
            "model": Lodged,
            "description": f"Already lodged by an earlier request with this {IDEMPOTENCY_KEY}: "
            "its reference, `created: false`",
        },
        409: {"model": Problem, "description": "A case with that reference exists"},
        422: {"model": ValidationProblems, "description": "The body is not a valid complaint"},
        503: {"model": Problem, "description": "The case service did not answer: send it again"},
    },
)
async def lodge_complaint(
    request: Request,
    body: NewComplaint,
    account: Account = Depends(current_account),
    idempotency_key: str | None = Header(
        default=None,
        alias=IDEMPOTENCY_KEY,
        min_length=1,
        max_length=255,
        pattern=r"^[!-~]+$",
        description="A key you make once per complaint (a UUID, say; printable ASCII, up to 255 "
        "characters) and send again with every retry of it: the complaint is lodged once.",
    ),
) -> Lodged | JSONResponse:
    """Lodge a complaint: starts its workflow (and its clocks) and returns the reference.

    **Retrying safely.** Send an `Idempotency-Key` header, made once per complaint and sent again
    with every retry of it. The reference is derived from the key (and the signed-in account), so
    if the first request did lodge the complaint (its answer was lost, say), the retry answers
    200 with that complaint's reference and `created: false` instead of lodging it twice. Leave
    `reference` out of the body when you send a key. Without a key, every request lodges a new
    complaint.

    `received_at` is when the resident got in touch: one in the future (beyond a minute's
    leeway) is refused with 422 naming `received_at`."""
    data = body.model_dump(exclude_unset=True)
    if idempotency_key and data.get("reference"):
        return _problems(
            "reference",
            f"leave the reference out when sending an {IDEMPOTENCY_KEY}: "
            "the reference is derived from the key",
        )
    data["reference"] = data.get("reference") or new_complaint_reference()
    data["lodged_by"] = account.id
    try:
        complaint = LodgeComplaint.model_validate(data)
    except ValidationError as err:
        return _invalid(err)
    settings = request.app.state.settings
    try:
        result = await lodge_once(
            _temporal(request),
            complaint,
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
            detail=f"There is already a case with reference {complaint.reference}. "
            "Leave the reference out to get a new one.",
        ) from err
    except (RPCError, WorkflowQueryFailedError, ReferencesTaken) as err:
        raise HTTPException(
            503,
            detail="The case service did not answer, so the complaint may not have been lodged. "
            f"Send it again with the same {IDEMPOTENCY_KEY} to be sure it is lodged once.",
        ) from err
    lodged = Lodged(reference=result.reference, created=result.created)
    if not result.created:
        return JSONResponse(lodged.model_dump(), status_code=200)
    return lodged


@router.get("/cases", response_model=CaseList, tags=["cases"])
async def list_cases(
    request: Request,
    account: Account = Depends(current_account),
    queue: queues.Queue = Query(queues.Queue.mine, description="Which work queue"),
    sort: str | None = Query(None, description=f"One of: {', '.join(queues.SORTS)}"),
    direction: str | None = Query(None, alias="dir", pattern="^(asc|desc)$"),
    stage: str | None = Query(None, description="triage, stage1 or stage2"),
    owner: str | None = Query(None, description=f"A staff id, or '{queues.UNASSIGNED}'"),
    page: int = Query(1, ge=1),
) -> CaseList:
    """One page of a work queue (as on the queue pages), from the records database."""
    settings = request.app.state.settings
    asked = queues.QueueRequest.parse(queue, sort, direction, stage, owner, str(page))
    result = queues.load(
        request.app.state.store,
        asked,
        account.id,
        queues.now_for(request.app.state),
        calendar_from_settings(settings),
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


@router.get(
    "/cases/{reference}",
    response_model=ComplaintStatus,
    tags=["cases"],
    responses={404: {"model": Problem, "description": "No case with that reference"}},
)
async def get_case(request: Request, reference: str) -> ComplaintStatus:
    """The whole case as it stands now, from its workflow."""
    if not PATTERN.fullmatch(reference):
        raise HTTPException(404, detail=f"No case with reference {reference}.")
    try:
        return await status(_temporal(request), reference)
    except CaseNotFound as err:
        raise HTTPException(404, detail=str(err)) from err


@router.get("/search", response_model=SearchResults, tags=["cases"])
async def search(
    request: Request,
    q: str = Query("", max_length=200, description="A reference, a name or a postcode"),
) -> SearchResults:
    """Cases whose reference or postcode starts with `q`, or whose resident's name contains it;
    newest first, at most 50. Closed cases too."""
    found = request.app.state.store.search_cases(q, limit=50)
    return SearchResults(query=q, cases=[c.summary() for c in found])


def _add_step_route(step: Step) -> None:
    body_model = STEP_BODIES[step]
    may_take = _may(step)

    async def take_step(
        request: Request,
        reference: str,
        body: body_model,
        account: Account = Depends(may_take),
    ) -> ComplaintStatus | JSONResponse:
        if not PATTERN.fullmatch(reference):
            raise HTTPException(404, detail=f"No open case with reference {reference}.")
        payload = body.model_dump(exclude_unset=True)
        payload["by"] = account.id
        try:
            return await perform_step(_temporal(request), reference, step, payload)
        except ValidationError as err:  # the step model's own checks, across fields
            return _invalid(err)
        except StepRejected as err:
            raise HTTPException(409, detail=str(err)) from err
        except CaseNotFound as err:
            raise HTTPException(404, detail=str(err)) from err
        except RPCError as err:
            raise HTTPException(
                503, detail="The case service did not answer. Try again shortly."
            ) from err

    words = step.value.replace("_", " ")
    router.add_api_route(
        f"/cases/{{reference}}/steps/{step.value}",
        take_step,
        methods=["POST"],
        response_model=ComplaintStatus,
        name=f"step_{step.value}",
        operation_id=f"step_{step.value}",
        summary=f"Step: {words}",
        description=(
            f"Take the '{words}' step on the case. `by` is always the signed-in account. "
            "The case's workflow checks the step is allowed now; if it is not, the answer is "
            "409 with the reason.\n\n" + (STEP_MODELS[step].__doc__ or "").strip()
        ),
        tags=["steps"],
        responses={
            403: {"model": Problem, "description": "Your role cannot take this step"},
            404: {"model": Problem, "description": "No open case with that reference"},
            409: {"model": Problem, "description": "The case refused the step: why"},
            422: {"model": ValidationProblems, "description": "The body is not valid"},
        },
    )


for _step in Step:
    _add_step_route(_step)


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
