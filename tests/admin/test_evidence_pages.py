"""Evidence on a case through the admin app, end to end (the time-skipping Temporal server, a real
worker, the records database and the evidence folder): uploads checked by content and size, the
same file kept once, downloads only as attachments and only for signed-in staff, every upload and
download on the timeline; an inbound email's attachments kept on its enquiry (a refused one noted,
the enquiry still lodged, SendGrid's retry changing nothing) and shown on the complaint the
enquiry becomes."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from temporalio.testing import WorkflowEnvironment

from admin.pdf import to_pdf
from config import Settings
from records.evidence import EvidenceEventRow, EvidenceFile
from records.store import RecordsStore
from tests.admin.conftest import ADMIN_SECRET, admin_http, admin_sign_in, csrf_in
from tests.admin.test_inbound_parse import INBOUND_SECRET, URL, sendgrid_post
from tests.admin.test_pages import error_summary, lodge, text, travel
from tests.support import london, settle
from workflows.cases import enquiry_status

JO, ALI, MO = "jo.officer", "ali.advisor", "mo.manager"
LIMIT = 64 * 1024
RECEIVED = london(2027, 3, 1, 10)
PHOTO = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01" + bytes(range(256)) * 8
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + bytes(512)


@pytest.fixture
def admin_settings(settings: Settings) -> Settings:
    """The app's settings with a small evidence limit and email intake on."""
    return settings.model_copy(
        update={
            "admin_secret_key": ADMIN_SECRET,
            "evidence_max_bytes": LIMIT,
            "inbound_parse_secret": INBOUND_SECRET,
        }
    )


@pytest.fixture(scope="module")
def report_pdf() -> bytes:
    return to_pdf("<h1>Contractor's report</h1><p>Damp course failed at the back wall.</p>")


def stored_objects(settings: Settings) -> list[Path]:
    root = Path(settings.evidence_dir)
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def count(store: RecordsStore, model: type) -> int:
    with store.reading() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


async def upload(
    http: httpx.AsyncClient, page: str, name: str, data: bytes, note: str = "A note"
) -> httpx.Response:
    shown = await http.get(page)
    return await http.post(
        f"{page}/evidence",
        data={"csrf_token": csrf_in(shown.text), "note": note},
        files={"file": (name, data, "application/octet-stream")},
    )


def file_links(page: str, case_page: str) -> dict[str, str]:
    """{file name: its download link} in the evidence table."""
    found = re.findall(
        rf'<a href="({re.escape(case_page)}/evidence/\d+)" download>([^<]+)</a>', page
    )
    return {html.unescape(name): href for href, name in found}


# --------------------------------------------------------------------------- uploads


async def test_staff_upload_a_photo_and_a_pdf_and_download_them_as_attachments(
    live_admin_app: FastAPI,
    env: WorkflowEnvironment,
    settings: Settings,
    admin_settings: Settings,
    store: RecordsStore,
    report_pdf: bytes,
) -> None:
    app = live_admin_app
    await travel(env, app, RECEIVED)
    ref = await lodge(env, settings, RECEIVED)
    page = f"/cases/{ref}"
    async with admin_http(app) as http:
        await admin_sign_in(http, ALI)  # any member of staff may add evidence
        added = await upload(http, page, "damp.jpg", PHOTO, "Damp in the back bedroom")
        assert added.status_code == 303, added.text
        assert added.headers["location"] == f"{page}#evidence"
        shown = await http.get(page)
        assert "damp.jpg is added to the complaint's evidence" in text(shown.text)
        added = await upload(http, page, "Contractor report.pdf", report_pdf, "From Acme Damp")
        assert added.status_code == 303, added.text

        shown = await http.get(page)
        body = text(shown.text)
        links = file_links(shown.text, page)
        assert set(links) == {"damp.jpg", "Contractor report.pdf"}
        assert "JPEG photo, 2 KB" in body and "Damp in the back bedroom" in body
        assert "PDF document" in body and "From Acme Damp" in body
        assert "Evidence added: damp.jpg (JPEG photo, 2 KB) ali.advisor" in body
        assert "Evidence added: Contractor report.pdf (PDF document" in body
        assert len(stored_objects(admin_settings)) == 2

        got = await http.get(links["damp.jpg"])
        assert got.status_code == 200
        assert got.content == PHOTO
        assert got.headers["content-type"] == "image/jpeg"
        assert got.headers["content-disposition"].startswith('attachment; filename="damp.jpg"')
        assert got.headers["x-content-type-options"] == "nosniff"
        assert "sandbox" in got.headers["content-security-policy"]
        got = await http.get(links["Contractor report.pdf"])
        assert got.content == report_pdf and got.headers["content-type"] == "application/pdf"
        assert got.headers["content-disposition"] == (
            'attachment; filename="Contractor report.pdf"; '
            "filename*=UTF-8''Contractor%20report.pdf"
        )

        body = text((await http.get(page)).text)
        assert "Evidence downloaded: damp.jpg ali.advisor" in body
        assert "Evidence downloaded: Contractor report.pdf ali.advisor" in body

        # a file number of no file on this case
        assert (await http.get(f"{page}/evidence/999")).status_code == 404

    # signed out: no file, no upload
    async with admin_http(app) as http:
        answer = await http.get(links["damp.jpg"])
        assert answer.status_code == 303 and answer.headers["location"].startswith("/login")
        answer = await http.post(f"{page}/evidence", files={"file": ("x.jpg", PHOTO)})
        assert answer.status_code == 403
    assert count(store, EvidenceFile) == 2


async def test_an_executable_named_jpg_and_a_file_over_the_limit_are_refused(
    live_admin_app: FastAPI,
    env: WorkflowEnvironment,
    settings: Settings,
    admin_settings: Settings,
    store: RecordsStore,
) -> None:
    app = live_admin_app
    await travel(env, app, RECEIVED)
    ref = await lodge(env, settings, RECEIVED)
    page = f"/cases/{ref}"
    async with admin_http(app) as http:
        await admin_sign_in(http, JO)
        refused = await upload(http, page, "holiday photo.jpg", EXE)
        assert refused.status_code == 400
        [(href, message)] = error_summary(refused.text)
        assert href == "#evidence-file"
        assert message.startswith("“holiday photo.jpg” is not a type of file we can keep")
        assert "whatever its name says" in message
        assert 'id="evidence-file-error"' in refused.text
        assert 'value="A note"' not in refused.text and ">A note</textarea>" in refused.text

        too_big = await upload(http, page, "scan.pdf", b"%PDF-1.4\n" + bytes(LIMIT))
        assert too_big.status_code == 413
        [(href, message)] = error_summary(too_big.text)
        assert href == "#evidence-file"
        assert message.startswith("“scan.pdf” is 64 KB: larger than the 64 KB a file may be.")

        nothing = await http.post(
            f"{page}/evidence", data={"csrf_token": csrf_in(too_big.text), "note": ""}
        )
        assert nothing.status_code == 400
        assert error_summary(nothing.text) == [
            ("#evidence-file", "Choose a file to upload"),
            ("#evidence-note", "Enter a note saying what the file is"),
        ]
    assert stored_objects(admin_settings) == []
    assert count(store, EvidenceFile) == 0


async def test_the_same_file_twice_is_kept_once(
    live_admin_app: FastAPI,
    env: WorkflowEnvironment,
    settings: Settings,
    admin_settings: Settings,
    store: RecordsStore,
) -> None:
    app = live_admin_app
    await travel(env, app, RECEIVED)
    ref = await lodge(env, settings, RECEIVED)
    other = await lodge(env, settings, RECEIVED)
    async with admin_http(app) as http:
        await admin_sign_in(http, JO)
        assert (await upload(http, f"/cases/{ref}", "damp.jpg", PHOTO)).status_code == 303
        again = await upload(http, f"/cases/{ref}", "damp again.jpg", PHOTO)
        assert again.status_code == 303
        shown = await http.get(f"/cases/{ref}")
        assert "That file is already on the complaint, as damp.jpg: it was not added again" in (
            text(shown.text)
        )
        assert list(file_links(shown.text, f"/cases/{ref}")) == ["damp.jpg"]
        # the same photo on another case: a row of its own, the same stored object
        assert (await upload(http, f"/cases/{other}", "damp.jpg", PHOTO)).status_code == 303
    assert count(store, EvidenceFile) == 2
    assert len(stored_objects(admin_settings)) == 1


# ----------------------------------------------------------------------- inbound email


async def test_an_emails_attachments_stay_with_the_enquiry_and_the_complaint_it_becomes(
    live_admin_app: FastAPI,
    env: WorkflowEnvironment,
    admin_settings: Settings,
    store: RecordsStore,
) -> None:
    app = live_admin_app
    wednesday = london(2027, 3, 3, 10, 30)
    await travel(env, app, wednesday)
    fields = sendgrid_post(
        attachments="2",
        **{
            "attachment-info": json.dumps(
                {
                    "attachment1": {"filename": "meter.jpg", "type": "image/jpeg"},
                    "attachment2": {"filename": "invoice.pdf", "type": "application/pdf"},
                }
            )
        },
    )
    files = [
        ("attachment1", ("meter.jpg", PHOTO, "image/jpeg")),
        ("attachment2", ("invoice.pdf", EXE, "application/pdf")),  # an executable, renamed
    ]
    async with admin_http(app) as http:
        lodged = await http.post(URL, data=fields, files=files)
        assert lodged.status_code == 200, lodged.text
        ref = lodged.json()["reference"]
        again = await http.post(URL, data=fields, files=files)  # SendGrid's retry
        assert again.json() == {"reference": ref}
    case = await settle(env.client.get_workflow_handle(f"enquiry-{ref}"))
    assert case.message.endswith(
        "[This email had 2 attachments. 1 kept with the enquiry as evidence. 1 not kept (a type "
        "or size we do not keep: see the timeline); it is still in the mailbox it was sent to.]"
    )
    assert count(store, EvidenceFile) == 1
    assert count(store, EvidenceEventRow) == 1  # the refusal, noted once
    assert len(stored_objects(admin_settings)) == 1

    async with admin_http(app) as http:
        await admin_sign_in(http, JO)
        page = f"/enquiries/{ref}"
        shown = await http.get(page)
        body = text(shown.text)
        assert list(file_links(shown.text, page)) == ["meter.jpg"]
        assert "Email attachment kept as evidence: meter.jpg (JPEG photo, 2 KB) The system" in body
        assert "Email attachment not kept: “invoice.pdf” is not a type of file we can keep" in body

        converted = await http.post(
            f"{page}/steps/convert",
            data={
                "csrf_token": csrf_in(shown.text),
                "points": ["The meter was read wrongly"],
                "outcome_sought": "A corrected bill",
            },
        )
        assert converted.status_code == 303, converted.text
        await settle(env.client.get_workflow_handle(f"enquiry-{ref}"))
        (complaint_ref,) = (await enquiry_status(env.client, ref)).linked_references
        complaint_page = f"/cases/{complaint_ref}"
        shown = await http.get(complaint_page)
        body = text(shown.text)
        links = file_links(shown.text, complaint_page)
        assert list(links) == ["meter.jpg"]
        assert f"from enquiry {ref}" in body
        assert f"On enquiry {ref}: email attachment kept as evidence: meter.jpg" in body
        got = await http.get(links["meter.jpg"])
        assert got.status_code == 200 and got.content == PHOTO
        assert "Evidence downloaded: meter.jpg jo.officer" in text(
            (await http.get(complaint_page)).text
        )
