"""The work queues: my cases, team cases, due today, due within N working days (the policy's
`urgency.due_soon_working_days`), overdue; each for complaints, enquiries or both. And search.
Both read the records database only, so they work while Temporal is down; every read runs off
the event loop (admin/off_loop.py)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response

from activities.deadlines import calendar_from_settings
from admin.accounts import Account
from admin.app import render
from admin.off_loop import off_loop
from admin.queues import (
    KINDS,
    NEXT_STEP,
    SORTS,
    STAGES,
    UNASSIGNED,
    Queue,
    QueueRequest,
    load,
    now_for,
    queue_title,
)
from admin.security import current_account

router = APIRouter(dependencies=[Depends(current_account)])

COLUMN_TITLES: dict[str, str] = {
    "reference": "Reference",
    "stage": "Stage",
    "due": "Due",
    "status": "Status",
    "received": "Received",
}


@router.get("/", include_in_schema=False)
async def home() -> Response:
    return RedirectResponse("/queues/mine", status_code=303)


@router.get("/queues/{name}", include_in_schema=False)
async def show_queue(
    request: Request,
    name: str,
    sort: str | None = None,
    direction: str | None = Query(None, alias="dir"),
    stage: str | None = None,
    owner: str | None = None,
    page: str | None = None,
    kind: str | None = None,
    cursor: str | None = None,
    account: Account = Depends(current_account),
) -> Response:
    try:
        queue = Queue(name)
    except ValueError:
        raise HTTPException(404, f"There is no queue called '{name}'.") from None
    wanted = QueueRequest.parse(queue, sort, direction, stage, owner, page, kind, cursor)
    settings = request.app.state.settings
    due_soon = settings.policy.urgency.due_soon_working_days
    result = await off_loop(
        load,
        request.app.state.store,
        wanted,
        account.id,
        now_for(request.app.state),
        calendar_from_settings(settings),
        due_soon,
    )
    staff = await off_loop(request.app.state.accounts.all)
    title = queue_title(queue, due_soon)
    if wanted.kind:
        title = f"{title}: {KINDS[wanted.kind].lower()}"
    return render(
        request,
        "queue.html",
        title=title,
        queue=queue,
        result=result,
        columns=COLUMN_TITLES,
        sorts=SORTS,
        stages=STAGES,
        kinds=KINDS,
        staff=staff,
        staff_names={a.id: a.name for a in staff},
        unassigned=UNASSIGNED,
    )


@router.get("/search", include_in_schema=False)
async def search(request: Request, q: str = "") -> Response:
    text = q.strip()[:200]
    results = await off_loop(request.app.state.store.search_cases, text) if text else []
    return render(
        request,
        "search.html",
        title="Search cases",
        q=text,
        results=results,
        next_step=NEXT_STEP,
    )
