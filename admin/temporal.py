"""The admin app's way to Temporal: connecting, knowing quickly whether it answers, and the case
functions the pages and the API use (workflows.cases, with every "cannot reach Temporal" failure
turned into one exception, `TemporalDown`, which the app answers with 503 and a plain message).

- `connect` makes a lazy client: the app starts, and keeps serving what needs only the records
  database (queues, search, staff accounts, sign-in), while Temporal is down; the client connects
  on first use and reconnects by itself once Temporal is back.
- `require_temporal` is the dependency of every route that needs Temporal. It asks the server's
  health service with a short timeout (no retries) and remembers the answer for a couple of
  seconds, so a route answers 503 at once instead of after the client's retries, and a page does
  not pay for the check twice. Between checks, a call's own retries stop after 1.5 s.
- A route may say how it answers while Temporal is down (`when_temporal_down`): a case page shows
  the case as last recorded, a form keeps what was typed. Still with 503.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from functools import wraps
from typing import Any, ParamSpec, TypeVar

from fastapi import Request
from fastapi.responses import Response
from temporalio.client import Client, RetryConfig, WorkflowQueryFailedError
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.runtime import Runtime
from temporalio.service import RPCError

from config import Settings
from worker.client import PayloadKeysMissing
from worker.codec import data_converter
from workflows import cases
from workflows.cases import (
    CaseNotFound,
    LodgeResult,
    ReferencesTaken,
    StepRejected,
    is_enquiry,
    new_complaint_reference,
    new_enquiry_reference,
    parse_enquiry_step,
    parse_step,
)

log = logging.getLogger(__name__)

TEMPORAL_DOWN = (
    "The case system is not answering, so this cannot be done just now. "
    "Try again in a few minutes; queues, search and case records still work."
)
RECORDED_NOTICE = (
    "The case system is not answering, so this is the case as last recorded; "
    "nothing can be changed until it is back."
)
CHECK_TIMEOUT = 1.0  # seconds the health check may take
REMEMBER = 2.0  # seconds an answer of the health check is trusted
# A call that cannot reach Temporal stops retrying after this long (the SDK's default is 10 s):
# staff get the 503 page within about 2 s of Temporal going away, even between health checks.
CALL_RETRIES = RetryConfig(max_elapsed_time_millis=1500, max_interval_millis=500)

P = ParamSpec("P")
R = TypeVar("R")


class TemporalDown(Exception):
    """Temporal cannot be reached (or did not answer): the app answers 503 with `message`."""

    def __init__(self, message: str = TEMPORAL_DOWN) -> None:
        super().__init__(message)
        self.message = message


async def connect(settings: Settings, runtime: Runtime | None = None) -> Client:
    """As worker.client.connect (payloads sealed with PAYLOAD_KEYS, production refused without
    them), but lazy: nothing is dialled until the first call, so an unreachable Temporal does not
    stop the app starting."""
    if settings.production and not settings.payload_keys:
        raise PayloadKeysMissing(
            "APP_ENV=production needs PAYLOAD_KEYS set: make a key with "
            "`python -m worker.codec new-key` (see .env.example)."
        )
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=data_converter(settings),
        runtime=runtime,
        lazy=True,
        retry_config=CALL_RETRIES,
    )


ClientFactory = Callable[[Settings], Awaitable[Client]]


class CaseSystem:
    """The app's Temporal client and whether it answers now. `client` is given (tests) or made by
    `connect` on first use (a failed connect is tried again on a later request)."""

    def __init__(
        self,
        settings: Settings,
        client: Client | None = None,
        connect: ClientFactory | None = None,
        *,
        check_timeout: float = CHECK_TIMEOUT,
        remember: float = REMEMBER,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self._client = client
        self._connect = connect
        self.check_timeout = check_timeout
        self.remember = remember
        self._clock = clock
        self._up = False
        self._checked_at: float | None = None
        self._lock: asyncio.Lock | None = None

    async def start(self) -> None:
        """Make the client now (at app startup), so bad settings (production without
        PAYLOAD_KEYS) stop the app; an unreachable Temporal does not."""
        await self._get_client(raise_bad_settings=True)

    async def client_if_up(self) -> Client | None:
        """The client if Temporal answered its health check within the last `remember` seconds
        (asking it now if not), else None."""
        if self._fresh():
            return self._client if self._up else None
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:  # one check at a time; the others use its answer
            if not self._fresh():
                self._up = await self._check()
                self._checked_at = self._clock()
        return self._client if self._up else None

    def mark_down(self) -> None:
        """A call failed: treat Temporal as down until the next check is due."""
        self._up = False
        self._checked_at = self._clock()

    def _fresh(self) -> bool:
        return self._checked_at is not None and self._clock() - self._checked_at < self.remember

    async def _get_client(self, raise_bad_settings: bool = False) -> Client | None:
        if self._client is None and self._connect is not None:
            try:
                self._client = await asyncio.wait_for(
                    self._connect(self.settings), self.check_timeout
                )
            except PayloadKeysMissing:
                if raise_bad_settings:
                    raise
                return None
            except Exception as err:  # unreachable, refused, timed out: tried again later
                log.warning("cannot connect to Temporal: %s", type(err).__name__)
                return None
        return self._client

    async def _check(self) -> bool:
        client = await self._get_client()
        if client is None:
            return False
        try:
            return await asyncio.wait_for(
                client.service_client.check_health(timeout=timedelta(seconds=self.check_timeout)),
                self.check_timeout + 0.5,
            )
        except (RPCError, RuntimeError, TimeoutError) as err:
            # RuntimeError: a lazy client that cannot make its first connection
            log.warning("Temporal is not answering: %s", type(err).__name__)
            return False


async def require_temporal(request: Request) -> Client:
    """The dependency of every route that needs Temporal: its client, or TemporalDown (503)."""
    client = await request.app.state.case_system.client_if_up()
    if client is None:
        raise TemporalDown()
    return client


# -------------------------------------------------------------- answering while down

# A route's own answer while Temporal is down; None: the plain 503 page or JSON body
Fallback = Callable[[Request, TemporalDown], Awaitable[Response | None]]
_FALLBACK = "temporal_down_fallback"
E = TypeVar("E", bound=Callable[..., Any])


def when_temporal_down(fallback: Fallback) -> Callable[[E], E]:
    """Mark a route's endpoint with how it answers while Temporal is down (still 503): e.g. the
    case as last recorded, or the form again with what was typed."""

    def mark(endpoint: E) -> E:
        setattr(endpoint, _FALLBACK, fallback)
        return endpoint

    return mark


def fallback_for(request: Request) -> Fallback | None:
    route = request.scope.get("route")
    return getattr(getattr(route, "endpoint", None), _FALLBACK, None)


# ----------------------------------------------------------------- the case functions


def _unreachable(err: BaseException) -> bool:
    if isinstance(err, RPCError | WorkflowQueryFailedError):
        return True
    # a lazy client whose connection cannot be made raises RuntimeError("Failed client connect")
    return isinstance(err, RuntimeError) and "connect" in str(err).lower()


def _down_as_503(call: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """`call` with Temporal's "cannot reach" failures raised as TemporalDown; the case's own
    answers (StepRejected, CaseNotFound, ...) pass through."""

    @wraps(call)
    async def wrapped(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await call(*args, **kwargs)
        except Exception as err:
            if _unreachable(err):
                raise TemporalDown() from err
            raise

    return wrapped


lodge_once = _down_as_503(cases.lodge_once)
same_submission = _down_as_503(cases.same_submission)
status = _down_as_503(cases.status)
enquiry_status = _down_as_503(cases.enquiry_status)
perform_step = _down_as_503(cases.perform_step)
perform_enquiry_step = _down_as_503(cases.perform_enquiry_step)

__all__ = [
    "RECORDED_NOTICE",
    "TEMPORAL_DOWN",
    "CaseNotFound",
    "CaseSystem",
    "Client",
    "LodgeResult",
    "RPCError",
    "ReferencesTaken",
    "StepRejected",
    "TemporalDown",
    "WorkflowAlreadyStartedError",
    "connect",
    "enquiry_status",
    "fallback_for",
    "is_enquiry",
    "lodge_once",
    "new_complaint_reference",
    "new_enquiry_reference",
    "parse_enquiry_step",
    "parse_step",
    "perform_enquiry_step",
    "perform_step",
    "require_temporal",
    "same_submission",
    "status",
    "when_temporal_down",
]
