"""The staff and public web app: FastAPI with server-rendered Jinja2 pages (plain forms, no
front-end build), reading lists from the records database and changing cases only through
workflow Updates."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import HTTPException, RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.middleware.sessions import SessionMiddleware

from admin.accounts import ROLE_LABELS, AccountStore
from admin.off_loop import use_worker_threads
from admin.rate_limits import RateLimits
from admin.security import (
    CSRF_FIELD,
    Forbidden,
    SignInRequired,
    csrf_protect,
    csrf_token,
)
from admin.step_results import StepResults
from admin.temporal import (
    TEMPORAL_DOWN,
    CaseSystem,
    Client,
    ClientFactory,
    RPCError,
    TemporalDown,
    fallback_for,
)
from config import Settings
from domain.enquiry import reply_clock_text
from domain.urgency import due_soon_title
from records.store import WEB_WAIT_SECONDS, RecordsStore
from worker.codec import codec_from_settings
from worker.observability import keep_queries_out_of_access_log

HERE = Path(__file__).resolve().parent
log = logging.getLogger(__name__)
RECORDS_DOWN = "The records database is not answering. Try again in a minute."
LONDON = ZoneInfo("Europe/London")
templates = Jinja2Templates(directory=HERE / "templates")
# uvicorn's access log: paths without their query strings (searches carry names and postcodes)
keep_queries_out_of_access_log()


def _london(value: datetime | str | None, fmt: str = "%a %d %b %Y %H:%M") -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(LONDON).strftime(fmt)


def _words(value: object) -> str:
    return str(getattr(value, "value", value) or "").replace("_", " ")


templates.env.filters["london"] = _london
templates.env.filters["day"] = lambda v: _london(v, "%a %d %b %Y") if v else ""
templates.env.filters["words"] = _words
templates.env.globals["csrf_field"] = CSRF_FIELD
templates.env.globals["role_labels"] = ROLE_LABELS
templates.env.globals["due_soon_title"] = due_soon_title
templates.env.globals["reply_clock_text"] = reply_clock_text


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """A page with what every page needs: the signed-in account (if any) and the CSRF token."""
    return templates.TemplateResponse(
        request,
        name,
        {
            "account": getattr(request.state, "account", None),
            "csrf": csrf_token(request),
            "settings": request.app.state.settings,
            **context,
        },
        status_code=status_code,
    )


JSON_PREFIXES = ("/api/", "/inbound/")  # answered in JSON, errors too


def wants_json(request: Request) -> bool:
    return request.url.path.startswith(JSON_PREFIXES)


def temporal_down_page(request: Request, message: str = TEMPORAL_DOWN) -> Response:
    """The plain 503 answer while Temporal is down: a JSON body for the API, else the error page."""
    if wants_json(request):
        return JSONResponse({"detail": message}, status_code=503, headers={"Retry-After": "30"})
    return render(
        request, "error.html", 503, title="The case system is not answering", message=message
    )


def records_down_page(request: Request) -> Response:
    """The plain 503 answer while the records database is locked or down."""
    headers = {"Retry-After": "60"}
    if wants_json(request):
        return JSONResponse({"detail": RECORDS_DOWN}, status_code=503, headers=headers)
    page = render(
        request,
        "error.html",
        503,
        title="The records database is not answering",
        message=RECORDS_DOWN,
    )
    page.headers.update(headers)
    return page


def records_unreachable(exc: Exception) -> bool:
    """Whether an error from SQLAlchemy means the records database did not answer (locked,
    down, too slow, no connection free), rather than a fault in our own SQL."""
    if isinstance(exc, (OperationalError, PoolTimeout)):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


def create_app(
    settings: Settings,
    store: RecordsStore,
    client: Client | None = None,
    connect: ClientFactory | None = None,
) -> FastAPI:
    """`client` (tests) or `connect` (`python -m admin`: admin.temporal.connect, a lazy client)
    gives the Temporal client; the records store must already be migrated. The app starts and
    serves what needs only the records database while Temporal is down."""

    # The web app's own engine: a statement waits at most WEB_WAIT_SECONDS for a lock or a
    # connection, so a locked or unreachable database answers 503 within 2 s (`_records_down`).
    web_store = store.answering_within(WEB_WAIT_SECONDS)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        use_worker_threads()  # blocking work runs off the loop: admin/off_loop.py
        await app.state.case_system.start()
        yield
        if web_store is not store:
            web_store.dispose()

    app = FastAPI(
        title="Complaints and enquiries admin",
        description="Staff steps and case lists. Every unsafe request needs the session's "
        "CSRF token in the X-CSRF-Token header; sign in at /login first.",
        lifespan=lifespan,
        dependencies=[Depends(csrf_protect)],
        # staff-only copies of the docs are served by admin/routes/api.py
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    secret = settings.admin_secret_key
    if not secret:
        raise RuntimeError("ADMIN_SECRET_KEY is not set")
    app.add_middleware(
        SessionMiddleware,
        secret_key=secret,
        session_cookie="complaints_session",
        max_age=8 * 3600,
        same_site="lax",
        https_only=settings.production,
    )
    app.state.settings = settings
    app.state.store = web_store
    app.state.public_figures = {}  # the public performance page's figures, counted now and then
    app.state.accounts = AccountStore(web_store)
    # Temporal, through admin/temporal.py: routes that need it depend on `require_temporal`
    app.state.case_system = CaseSystem(settings, client=client, connect=connect)
    # what a step's Update returned, for the case page the browser is sent to next
    app.state.step_results = StepResults()
    # the Web UI's codec endpoint (admin/routes/codec.py) uses the same keys as our client
    app.state.codec = codec_from_settings(settings)
    # sign-in and the public form (admin/rate_limits.py): counters shared by every process
    app.state.rate_limits = RateLimits.from_settings(settings, app.state.store)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    @app.exception_handler(TemporalDown)
    async def _temporal_down(request: Request, exc: TemporalDown) -> Response:
        app.state.case_system.mark_down()
        fallback = fallback_for(request)
        answer = await fallback(request, exc) if fallback else None
        return answer or temporal_down_page(request, exc.message)

    @app.exception_handler(RPCError)
    async def _rpc_failed(request: Request, exc: RPCError) -> Response:
        # a Temporal call that admin/temporal.py did not wrap: still Temporal not answering
        return await _temporal_down(request, TemporalDown())

    @app.exception_handler(DBAPIError)
    @app.exception_handler(PoolTimeout)
    async def _records_down(request: Request, exc: Exception) -> Response:
        if not records_unreachable(exc):
            raise exc  # a fault of ours: the 500, logged without its message (observability)
        # the type only: an SQL error's text can quote the statement
        log.warning("records database not answering: %s", type(exc).__name__)
        return records_down_page(request)

    @app.exception_handler(SignInRequired)
    async def _sign_in(request: Request, exc: SignInRequired) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": "Sign in first."}, status_code=401)
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={target}", status_code=303)

    @app.exception_handler(Forbidden)
    async def _forbidden(request: Request, exc: Forbidden) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": exc.message}, status_code=403)
        return render(request, "error.html", 403, title="Not allowed", message=exc.message)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> Response:
        if 300 <= exc.status_code < 400 and exc.headers and "Location" in exc.headers:
            return RedirectResponse(exc.headers["Location"], status_code=exc.status_code)
        if wants_json(request) or not isinstance(exc.detail, str):
            return JSONResponse(
                {"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers
            )
        titles = {403: "Not allowed", 404: "Page not found", 429: "Too many attempts"}
        return render(
            request,
            "error.html",
            exc.status_code,
            title=titles.get(exc.status_code, "Something went wrong"),
            message=exc.detail,
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        problems = [
            {"field": ".".join(str(p) for p in e["loc"][1:]) or "body", "message": e["msg"]}
            for e in exc.errors()
        ]
        return JSONResponse({"detail": problems}, status_code=422)

    from admin.routes import register

    register(app)
    return app
