"""Data protection for managers (domain/retention.py, records/retention.py,
records/access_log.py):

- `/data-protection`: export everything held about a person (a person record, or a case's
  resident when not linked) as a subject access ZIP (admin/subject_access.py); record an erasure
  request, with its lawful basis confirmed, which anonymises at once every closed case of theirs
  that may go and says which may not, and why; the anonymisations and erasure requests so far.
- `/access-log`: who viewed or exported which case's or person's data, filtered by case
  reference, person or staff id, newest first, in pages.

Everything here is logged in the access log. Managers only.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import FileResponse, Response
from starlette.background import BackgroundTask

from activities.retention import still_running
from admin.access_log import logged
from admin.accounts import Account
from admin.app import render
from admin.forms import form_values, one
from admin.off_loop import off_loop
from admin.queues import now_for
from admin.routes.evidence import download_headers, evidence_storage
from admin.security import current_account, require_role
from admin.subject_access import build, references_for
from admin.temporal import Client, require_temporal
from domain.references import PATTERN
from domain.retention import ERASURE_CHECKS, ErasureBasis, Refusal, Why, erasure_refusal
from domain.roles import Role
from domain.urgency import CLOSED_STAGE
from records.access_log import ACCESS_LABELS, Access, AccessLog
from records.retention import Retention

router = APIRouter(dependencies=[Depends(current_account)])
manager_only = require_role(Role.manager)
PAGE_SIZE = 50


def _ref(value: str | None) -> str | None:
    value = (value or "").strip().upper()
    if not value:
        return None
    if not PATTERN.match(value):
        raise HTTPException(404, f"{value} is not a case or person reference.")
    return value


def _target(person: str | None, case: str | None) -> tuple[str | None, str | None]:
    """(person, case): a PER- reference is a person, any other a case."""
    ref = _ref(person) or _ref(case)
    if ref is None:
        raise HTTPException(400, "Give a person record's reference or a case reference.")
    return (ref, None) if ref.startswith("PER-") else (None, ref)


def _retention(request: Request) -> Retention:
    settings = request.app.state.settings
    return Retention(request.app.state.store, evidence_storage(request), settings.outbox_dir)


@router.get("/data-protection", include_in_schema=False)
async def data_protection(request: Request, account: Account = Depends(manager_only)) -> Response:
    retention = _retention(request)
    return render(
        request,
        "data_protection.html",
        title="Data protection",
        checks=ERASURE_CHECKS,
        done=await off_loop(retention.all_done, 50),
        requests=await off_loop(retention.erasure_requests, 20),
        result=None,
    )


@router.get("/data-protection/subject-access", include_in_schema=False)
async def subject_access(
    request: Request,
    person: str | None = None,
    case: str | None = None,
    account: Account = Depends(manager_only),
) -> Response:
    person, case = _target(person, case)
    store = request.app.state.store
    if not await off_loop(references_for, store, person, case):
        raise HTTPException(404, f"Nothing is held under {person or case}.")
    fd, name = tempfile.mkstemp(prefix="subject-access-", suffix=".zip")
    os.close(fd)
    try:
        refs = await off_loop(
            build,
            store,
            evidence_storage(request),
            Path(name),
            person=person,
            case=case,
            now=now_for(request.app.state),
        )
    except BaseException:
        _remove(name)
        raise
    await logged(request, Access.subject_access_export, person=person, reference=case)
    for ref in refs if person else []:
        await logged(request, Access.subject_access_export, person=person, reference=ref)
    return FileResponse(
        name,
        media_type="application/zip",
        headers=download_headers(f"subject-access-{person or case}.zip"),
        background=BackgroundTask(_remove, name),
    )


def _remove(name: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(name)


@router.post("/data-protection/erasure", include_in_schema=False)
async def erasure(
    request: Request,
    account: Account = Depends(manager_only),
    client: Client = Depends(require_temporal),
) -> Response:
    values = form_values(await request.form())
    person, case = _target(one(values, "person"), one(values, "case"))
    confirmed = [b for b in ErasureBasis if one(values, f"check-{b.value}")]
    note = (one(values, "note") or "").strip()
    retention = _retention(request)
    problems = []
    if len(confirmed) < len(ErasureBasis):
        problems.append("Confirm every check below: erasure is only for a request the law allows.")
    if not note or len(note) > 1000:
        problems.append("Say what the request is and the basis for it (up to 1000 characters).")
    store = request.app.state.store
    refs = await off_loop(references_for, store, person, case)
    if not refs and person is None:
        problems.append(f"There is no case {case}.")
    if problems:
        return render(
            request,
            "data_protection.html",
            400,
            title="Error: Data protection",
            checks=ERASURE_CHECKS,
            done=await off_loop(retention.all_done, 50),
            requests=await off_loop(retention.erasure_requests, 20),
            result=None,
            problems=problems,
        )
    now = now_for(request.app.state)
    policy = request.app.state.settings.policy
    window = policy.ombudsman.referral_window_days if policy.ombudsman else None
    erased: list[str] = []
    refused: list[Refusal] = []
    for ref in refs:
        snap = await off_loop(store.get_case, ref)
        if snap is None or await off_loop(retention.done, ref) is not None:
            continue
        running = await still_running(client, snap.workflow_id)
        why = erasure_refusal(
            snap.kind, snap.stage == CLOSED_STAGE, running, snap.closed_at, window, now
        )
        if why is not None:
            refused.append(Refusal(reference=ref, why=why))
            continue
        rule = f"erasure request by {account.id}"
        if await off_loop(retention.anonymise_case, ref, Why.erasure, account.id, now, rule):
            erased.append(ref)
    people = [person] if person else await off_loop(retention.persons_of, refs)
    for who in people:
        if await off_loop(
            retention.anonymise_person_if_unkept, who, Why.erasure, account.id, now, "erasure"
        ):
            erased.append(who)
        elif person:
            refused.append(
                Refusal(reference=who, why="a case of theirs is kept, so the record is kept")
            )
    request_id = await off_loop(
        lambda: retention.record_erasure(
            person=person,
            reference=case,
            checks=[b.value for b in confirmed],
            note=note,
            by=account.id,
            now=now,
            erased=erased,
            refused=refused,
        )
    )
    await logged(request, Access.erasure, person=person, reference=case)
    return render(
        request,
        "data_protection.html",
        title="Data protection",
        checks=ERASURE_CHECKS,
        done=await off_loop(retention.all_done, 50),
        requests=await off_loop(retention.erasure_requests, 20),
        result={"id": request_id, "erased": erased, "refused": refused},
    )


@router.get("/access-log", include_in_schema=False)
async def access_log(
    request: Request,
    case: str | None = None,
    person: str | None = None,
    staff: str | None = None,
    page: int = 1,
    account: Account = Depends(manager_only),
) -> Response:
    page = max(1, page)
    staff = (staff or "").strip() or None
    rows, total = await off_loop(
        lambda: AccessLog(request.app.state.store).page(
            reference=_ref(case),
            person=_ref(person),
            staff_id=staff,
            offset=(page - 1) * PAGE_SIZE,
            limit=PAGE_SIZE,
        )
    )
    return render(
        request,
        "access_log.html",
        title="Access log",
        rows=rows,
        total=total,
        page=page,
        pages=max(1, -(-total // PAGE_SIZE)),
        filters={"case": case or "", "person": person or "", "staff": staff or ""},
        labels=ACCESS_LABELS,
    )
