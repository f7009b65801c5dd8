"""Evidence on a case, and the case file, for every kind of case (admin/case_kinds.py):

- POST {case page}/evidence: upload a document or photo with a note (any signed-in staff). The
  file is checked by its content and size (domain/evidence.py), its bytes kept in the evidence
  storage under their SHA-256 (records/storage.py), its row in `evidence_files`. A refused file
  shows the case page again with the reason, naming the file, at the upload box. The same file
  added to a case again is the one already there: the page says so.
- GET {case page}/evidence/{id}: the file, to signed-in staff only, always as a download
  (`Content-Disposition: attachment`, `X-Content-Type-Options: nosniff`, a sandboxing CSP),
  never shown inline; each download is on the case's timeline.
- GET {case page}/case-file.pdf and .zip: the case file (admin/case_file.py), for a manager, a
  stage 2 reviewer or the case's owner (`may_build_case_file`); each build is on the timeline.

A case is read from its workflow while Temporal answers, else as last recorded: uploads,
downloads and case files all work while Temporal is down. Logs name the case reference, the
file's id and the staff id, never a file name (file names are personal data too).
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from starlette.background import BackgroundTask
from starlette.datastructures import UploadFile

from admin.access_log import logged
from admin.accounts import Account
from admin.app import templates
from admin.case_file import (
    CaseFile,
    Row,
    build_pdf,
    deadline,
    london,
    notes_of,
    who,
    write_zip,
)
from admin.case_kinds import KINDS, CaseKind
from admin.forms import Problem
from admin.off_loop import off_loop
from admin.queues import now_for
from admin.routes.cases import (
    GONE,
    build_view,
    case_page,
    flash,
    page_reference,
    recorded,
    timeline_rows,
)
from admin.security import Forbidden, current_account
from admin.temporal import RECORDED_NOTICE, CaseNotFound, TemporalDown
from domain.evidence import MAX_NOTE, EvidenceRefused, check_file, size_in_words
from domain.roles import may_build_case_file as may_build
from records.access_log import Access
from records.evidence import EvidenceEvent, EvidenceSource, EvidenceStore
from records.storage import EvidenceMissing, EvidenceStorage, storage_from_settings

router = APIRouter(dependencies=[Depends(current_account)])
log = logging.getLogger(__name__)

NO_FILE = "Choose a file to upload"
NO_NOTE = "Enter a note saying what the file is"
LONG_NOTE = f"The note must be {MAX_NOTE:,} characters or fewer"


def may_build_case_file(account: Account | None, case: Any) -> bool:
    """domain.roles.may_build_case_file for the signed-in person and the case."""
    if account is None:
        return False
    owner = getattr(case, "owner", None)
    return may_build(account.role, account.id, owner.id if owner else None)


templates.env.globals["may_build_case_file"] = may_build_case_file
templates.env.globals["size_words"] = size_in_words


def evidence_storage(request: Request) -> EvidenceStorage:
    """The app's evidence storage, made from its settings on first use (tests may set
    `app.state.evidence_storage` first)."""
    state = request.app.state
    storage: EvidenceStorage | None = getattr(state, "evidence_storage", None)
    if storage is None:
        storage = storage_from_settings(state.settings)
        state.evidence_storage = storage
    return storage


async def case_now(request: Request, kind: CaseKind, ref: str) -> tuple[Any, str | None]:
    """The case from its workflow while Temporal answers, else as last recorded (with the
    notice saying so); 404 if there is no such case."""
    client = await request.app.state.case_system.client_if_up()
    notice = RECORDED_NOTICE
    if client is not None:
        try:
            return await kind.status(client, ref), None
        except CaseNotFound:
            notice = GONE
        except TemporalDown:
            request.app.state.case_system.mark_down()
    case = await recorded(request, kind, ref)
    if case is None:
        raise HTTPException(404, f"There is no {kind.noun} with reference {ref}.")
    return case, notice


def content_disposition(filename: str) -> str:
    """`attachment` with the name in plain ASCII (anything else as _) and in full (RFC 6266)."""
    plain = "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in filename)
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(filename, safe='')}"


def download_headers(filename: str) -> dict[str, str]:
    return {
        "Content-Disposition": content_disposition(filename),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": "private, no-store",
    }


# ------------------------------------------------------------------------------- upload


async def upload(request: Request, kind: CaseKind, ref: str, account: Account) -> Response:
    form = await request.form()
    sent = form.get("file")
    note = str(form.get("note") or "").strip()
    request.state.evidence_note = note
    problems = []
    if not isinstance(sent, UploadFile) or not sent.filename:
        problems.append(Problem("#evidence-file", NO_FILE))
    if not note:
        problems.append(Problem("#evidence-note", NO_NOTE))
    elif len(note) > MAX_NOTE:
        problems.append(Problem("#evidence-note", LONG_NOTE))
    case, notice = await case_now(request, kind, ref)
    checked, too_big = None, False
    if isinstance(sent, UploadFile) and sent.filename:
        limit = request.app.state.settings.evidence_max_bytes
        data = await sent.read(limit + 1)
        try:
            checked = check_file(sent.filename, data, limit, size=sent.size)
        except EvidenceRefused as refused:
            log.info("evidence refused on %s: %s", ref, refused.reason)
            problems.insert(0, Problem("#evidence-file", refused.message))
            too_big = refused.reason == "size"
    if problems or checked is None:
        view = await build_view(request, kind, case, account, notice)
        return case_page(request, view, status_code=413 if too_big else 400, problems=problems)
    await off_loop(evidence_storage(request).put, data)  # its key is checked.sha256
    now = now_for(request.app.state)
    item, new = await off_loop(
        EvidenceStore(request.app.state.store).add,
        ref,
        checked,
        note=note,
        source=EvidenceSource.upload,
        by=account.id,
        now=now,
    )
    if new:
        log.info("evidence %s added to %s by %s", item.id, ref, account.id)
        flash(request, f"{item.filename} is added to the {kind.noun}'s evidence")
    else:
        flash(
            request,
            f"That file is already on the {kind.noun}, as {item.filename}: it was not added again",
        )
    return RedirectResponse(kind.page_url(ref) + "#evidence", status_code=303)


# ----------------------------------------------------------------------------- download


async def linked_of(request: Request, kind: CaseKind, ref: str) -> list[str]:
    """The case's linked references, from its record (or its workflow, before its first)."""
    snapshot = await off_loop(request.app.state.store.get_case, ref)
    if snapshot is not None:
        return list(snapshot.linked_references)
    case, _ = await case_now(request, kind, ref)
    return list(case.linked_references)


async def download(
    request: Request, kind: CaseKind, ref: str, file_id: int, account: Account
) -> Response:
    evidence = EvidenceStore(request.app.state.store)
    found = await off_loop(evidence.for_case, ref, await linked_of(request, kind, ref))
    item = found.file(file_id)
    if item is None:
        raise HTTPException(404, f"{kind.label} {ref} has no file {file_id}.")
    try:
        data = await off_loop(evidence_storage(request).get, item.sha256)
    except EvidenceMissing:
        log.error("evidence %s on %s: its stored copy is missing or damaged", item.id, ref)
        raise HTTPException(
            500,
            "The stored copy of this file is missing or damaged. Tell the system's "
            "administrator the case reference and the file's number, "
            f"{item.id}.",
        ) from None
    now = now_for(request.app.state)
    await off_loop(
        evidence.log, ref, EvidenceEvent.downloaded, by=account.id, now=now, file_id=item.id
    )
    log.info("evidence %s on %s downloaded by %s", item.id, ref, account.id)
    await logged(request, Access.evidence_downloaded, reference=ref, staff_id=account.id)
    return Response(
        data, media_type=item.content_type, headers=download_headers(item.download_name)
    )


# ---------------------------------------------------------------------------- case file


async def gather(request: Request, kind: CaseKind, ref: str, account: Account) -> CaseFile:
    """Everything the case file holds; Forbidden unless this person may build it."""
    case, notice = await case_now(request, kind, ref)
    if not may_build_case_file(account, case):
        raise Forbidden(
            f"Only a manager, a stage 2 reviewer or the {kind.noun}'s owner can download its "
            "case file."
        )
    store = request.app.state.store
    letters = await off_loop(store.letters, ref)
    evidence = await off_loop(EvidenceStore(store).for_case, ref, case.linked_references)
    names = {a.id: a.name for a in await off_loop(request.app.state.accounts.all)}
    rows = timeline_rows(case.timeline, letters, getattr(case, "letters", []), evidence.timeline())
    return CaseFile(
        kind=kind,
        case=case,
        notice=notice,
        summary=summary_rows(kind, case, names),
        deadlines=[deadline(c) for c in case.clocks],
        timeline=[
            _file_row(r, names) for r in rows if r.pending_key is None or r.letter is not None
        ],
        letters=letters,
        notes=notes_of(case.timeline, evidence, names),
        evidence=evidence,
        landlord=request.app.state.settings.landlord,
        printed_at=now_for(request.app.state),
        printed_by=who(account.id, names),
        names=names,
    )


def _file_row(row: Any, names: dict[str, str]) -> Row:
    if row.letter is not None:
        letter = row.letter
        state = "sent" if letter.sent else "not sent yet"
        what = f"Letter ({state}) to the {letter.recipient_role} by {letter.delivery.value}: "
        return Row(at=row.at, what=what + letter.subject, who="The system")
    return Row(at=row.at, what=row.what, who=who(row.who, names))


def summary_rows(kind: CaseKind, case: Any, names: dict[str, str]) -> list[tuple[str, str]]:
    """The case summary, as (label, value) lines."""
    person = getattr(case, kind.person_key)
    rows = [("Reference", case.reference), ("Kind", kind.label)]
    rows.append(("Name", person.name))
    if person.email:
        rows.append(("Email", str(person.email)))
    if person.phone:
        rows.append(("Phone", person.phone))
    if person.address:
        rows.append(("Address", ", ".join([*person.address.lines, person.address.postcode])))
    rows.append(("Received", f"{london(case.received_at)} by {_words(case.channel)}"))
    if kind.name == "complaint":
        rows += [
            ("Stage and status", f"{_words(case.stage)}: {_words(case.status)}"),
            ("The complaint", case.description),
            ("Points", "; ".join(case.points) or "None recorded"),
            ("Outcome sought", case.outcome_sought or "Not recorded"),
        ]
        if case.category:
            rows.append(("Category", _words(case.category)))
        for stage, decisions in case.decisions.items():
            said = "; ".join(f"{d.point}: {_words(d.decision)}" for d in decisions)
            rows.append((f"Decisions at {_words(stage)}", said))
    else:
        rows += [
            ("State", _words(case.state)),
            ("Subject", case.subject),
            ("Message", case.message),
        ]
        if case.team:
            rows.append(("Team", case.team))
    owner = case.owner
    rows.append(("Owner", who(owner.id, names) if owner else "Not assigned"))
    outcome = getattr(case, kind.closed_by)
    if case.closed_at:
        rows.append(("Closed", f"{london(case.closed_at)}: {_words(outcome)}"))
    if case.linked_references:
        rows.append(("Linked cases", ", ".join(case.linked_references)))
    if case.policy:
        rows.append(("Policy", f"{case.policy.name}, version {case.policy.version}"))
    return rows


def _words(value: Any) -> str:
    return str(getattr(value, "value", value) or "").replace("_", " ")


async def case_file_pdf(request: Request, kind: CaseKind, ref: str, account: Account) -> Response:
    parts = await gather(request, kind, ref, account)
    pdf = await off_loop(build_pdf, parts)
    await _logged(request, ref, EvidenceEvent.case_file_pdf, account)
    return Response(pdf, media_type="application/pdf", headers=download_headers(parts.pdf_name))


async def case_file_zip(request: Request, kind: CaseKind, ref: str, account: Account) -> Response:
    parts = await gather(request, kind, ref, account)
    pdf = await off_loop(build_pdf, parts)
    fd, name = tempfile.mkstemp(prefix="case-file-", suffix=".zip")
    os.close(fd)
    try:
        await off_loop(write_zip, parts, pdf, evidence_storage(request), Path(name))
    except EvidenceMissing:
        _remove(name)
        log.error("case file of %s: an attachment's stored copy is missing or damaged", ref)
        raise HTTPException(
            500,
            "A file on this case is missing from the evidence storage, so the ZIP cannot be "
            "made. The PDF still can. Tell the system's administrator the case reference.",
        ) from None
    except BaseException:
        _remove(name)
        raise
    await _logged(request, ref, EvidenceEvent.case_file_zip, account)
    return FileResponse(
        name,
        media_type="application/zip",
        headers=download_headers(parts.zip_name),
        background=BackgroundTask(_remove, name),
    )


def _remove(name: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(name)


async def _logged(request: Request, ref: str, event: EvidenceEvent, account: Account) -> None:
    now = now_for(request.app.state)
    await off_loop(EvidenceStore(request.app.state.store).log, ref, event, by=account.id, now=now)
    log.info("case file of %s built (%s) by %s", ref, event.value, account.id)
    await logged(request, Access.case_file_built, reference=ref, staff_id=account.id)


# ------------------------------------------------------------------------------- routes


def add_evidence_routes(kind: CaseKind) -> None:
    reference = Depends(page_reference(kind))

    async def upload_evidence(
        request: Request, ref: str = reference, account: Account = Depends(current_account)
    ) -> Response:
        return await upload(request, kind, ref, account)

    async def download_evidence(
        request: Request,
        file_id: int,
        ref: str = reference,
        account: Account = Depends(current_account),
    ) -> Response:
        return await download(request, kind, ref, file_id, account)

    async def case_file_as_pdf(
        request: Request, ref: str = reference, account: Account = Depends(current_account)
    ) -> Response:
        return await case_file_pdf(request, kind, ref, account)

    async def case_file_as_zip(
        request: Request, ref: str = reference, account: Account = Depends(current_account)
    ) -> Response:
        return await case_file_zip(request, kind, ref, account)

    path = f"{kind.page_path}/{{reference}}"
    for url, endpoint, method in (
        (f"{path}/evidence", upload_evidence, "POST"),
        (f"{path}/evidence/{{file_id}}", download_evidence, "GET"),
        (f"{path}/case-file.pdf", case_file_as_pdf, "GET"),
        (f"{path}/case-file.zip", case_file_as_zip, "GET"),
    ):
        router.add_api_route(
            url,
            endpoint,
            methods=[method],
            name=f"{kind.name}_{endpoint.__name__}",
            include_in_schema=False,
        )


for _kind in KINDS:
    add_evidence_routes(_kind)
