"""`GET /healthz`: which parts of the app answer. No sign-in (the Docker HEALTHCHECK calls it).

- 200 `{"status": "ok", "records": "ok", "temporal": "ok"}`: all well.
- 200 `{"status": "degraded", "records": "ok", "temporal": "down"}`: Temporal is not answering.
  The app is built to keep serving without it (queues, search, staff accounts, cases as last
  recorded; steps answer 503 until it is back: admin/temporal.py), so this is not a reason to
  restart or to take it out of a load balancer. Watch the `temporal` field instead.
- 503 `{"status": "down", "records": "down", "temporal": ...}`: the records database did not
  answer within WEB_WAIT_SECONDS. Nothing but this page works then.

The Temporal answer is CaseSystem's cached health check (at most one check every REMEMBER
seconds, each at most CHECK_TIMEOUT), so a flood of /healthz calls costs Temporal nothing.
"""

from __future__ import annotations

import logging
from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from admin.app import records_unreachable
from admin.off_loop import off_loop
from records.store import RecordsStore

router = APIRouter()
log = logging.getLogger(__name__)

State = Literal["ok", "down"]


class Health(BaseModel):
    status: Literal["ok", "degraded", "down"]
    records: State
    temporal: State


def _records_answer(store: RecordsStore) -> None:
    store.get_case("__healthcheck__")


async def _records(request: Request) -> State:
    try:
        await off_loop(_records_answer, request.app.state.store)
    except Exception as err:
        if not records_unreachable(err):
            raise
        log.warning("health check: records database not answering: %s", type(err).__name__)
        return "down"
    return "ok"


async def _temporal(request: Request) -> State:
    client = await request.app.state.case_system.client_if_up()
    return "ok" if client is not None else "down"


@router.get("/healthz", include_in_schema=False)
async def healthz(request: Request) -> JSONResponse:
    records, temporal = await _records(request), await _temporal(request)
    down = records == "down"
    status = "down" if down else "ok" if temporal == "ok" else "degraded"
    health = Health(status=status, records=records, temporal=temporal)
    return JSONResponse(
        health.model_dump(),
        status_code=503 if down else 200,
        headers={"Retry-After": "60"} if down else None,
    )
