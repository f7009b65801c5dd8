"""The case file in one click (admin/case_file.py), end to end: a two-stage complaint worked on the
time-skipping server (its stage 1 acknowledgement late), two files of evidence uploaded through
the app, then the case file built as a PDF and as a ZIP. The PDF's text, read back with pypdf,
holds every letter's subject and text, every deadline with met or breached, and every timeline
entry; the ZIP holds that PDF and the attachments byte for byte; each build is on the timeline;
only a manager, a stage 2 reviewer or the case's owner may build it."""

from __future__ import annotations

import html
import io
import re
import unicodedata
import zipfile

import pypdf
from fastapi import FastAPI
from temporalio.testing import WorkflowEnvironment

from admin.case_file import deadline, letter_body
from admin.pdf import to_pdf
from config import Settings
from domain.complaint import ComplaintStatus
from records.store import RecordsStore
from tests.admin.conftest import admin_http, admin_sign_in
from tests.admin.test_evidence_pages import PHOTO, upload
from tests.admin.test_pages import settled, staff, text, travel
from tests.support import CATEGORY, complaint, decided, london, start, step

JO, ALI, SAM, MO = "jo.officer", "ali.advisor", "sam.reviewer", "mo.manager"
RECEIVED = london(2027, 3, 1, 10)  # Monday: the stage 1 acknowledgement is due Monday 8 March


async def two_stage_case(env: WorkflowEnvironment, app: FastAPI, settings: Settings) -> str:
    """A complaint through both stages: Jo acknowledges stage 1 a day late (a breach), responds;
    the resident escalates; Sam reviews and responds at stage 2."""
    await travel(env, app, RECEIVED)
    case = complaint(RECEIVED)
    ref = case.reference
    await start(env.client, case, settings.task_queue)
    await step(env.client, ref, "accept", by=JO, category=CATEGORY)
    await step(env.client, ref, "assign", by=MO, owner=staff(app, JO))
    await step(env.client, ref, "record_contact", by=JO, notes="Called Ann to agree the points")
    await travel(env, app, london(2027, 3, 9, 10))
    await step(
        env.client, ref, "acknowledge", by=JO, points=case.points, outcome_sought="Boiler fixed"
    )
    await step(
        env.client,
        ref,
        "respond",
        by=JO,
        decisions=[decided(p, "upheld", "Two visits were missed.") for p in case.points],
        summary="We got this wrong and have booked the repair.",
        remedies={"apology": "We are sorry the engineer did not come."},
    )
    await step(env.client, ref, "escalate", by=ALI, reviewer=staff(app, SAM))
    await step(env.client, ref, "record_contact", by=SAM, notes="Discussed the stage 2 review")
    await step(
        env.client, ref, "acknowledge", by=SAM, points=case.points, outcome_sought="Boiler fixed"
    )
    await step(
        env.client,
        ref,
        "respond",
        by=SAM,
        decisions=[decided(p, "upheld", "The review agrees.") for p in case.points],
        summary="The review agrees with stage 1.",
        remedies={"apology": "We apologise again."},
    )
    return ref


def squeezed(value: str) -> str:
    """Text as compared with the PDF's: compatibility forms (ligatures) folded, no whitespace
    (the PDF breaks lines where the page does)."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", value))


def pdf_text(pdf: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return squeezed("".join(page.extract_text() or "" for page in reader.pages))


def text_nodes(letter_html: str) -> list[str]:
    """Every piece of text between tags of a letter's body, as shown."""
    body = str(letter_body(letter_html))
    return [
        html.unescape(piece).strip()
        for piece in re.split(r"<[^>]+>", body)
        if html.unescape(piece).strip()
    ]


async def test_the_case_file_holds_every_letter_deadline_and_timeline_entry(
    live_admin_app: FastAPI,
    env: WorkflowEnvironment,
    settings: Settings,
    store: RecordsStore,
) -> None:
    app = live_admin_app
    ref = await two_stage_case(env, app, settings)
    page = f"/cases/{ref}"
    report = to_pdf("<h1>Contractor's report</h1><p>Damp course failed.</p>")
    async with admin_http(app) as http:
        await admin_sign_in(http, JO)
        assert (await upload(http, page, "damp.jpg", PHOTO, "Damp by the boiler")).is_redirect
        assert (await upload(http, page, "report.pdf", report, "From Acme")).is_redirect
    case: ComplaintStatus = await settled(env, ref)
    letters = [letter for letter in store.letters(ref) if letter.sent]
    assert {"s1_acknowledgement", "s1_response", "s2_acknowledgement", "s2_response"} <= {
        letter.letter_key for letter in letters
    }

    async with admin_http(app) as http:
        await admin_sign_in(http, SAM)  # the stage 2 reviewer, who owns the case now
        shown = await http.get(page)
        assert "Download the case file (PDF)" in shown.text
        answer = await http.get(f"{page}/case-file.pdf")
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"] == "application/pdf"
        assert answer.headers["content-disposition"].startswith(
            f'attachment; filename="case-file-{ref}.pdf"'
        )
        assert answer.headers["x-content-type-options"] == "nosniff"
        found = pdf_text(answer.content)

    for heading in ("Index", "1.Casesummary", "2.Deadlines:metorbreached", "6.Attachments"):
        assert squeezed(heading) in found
    assert squeezed(f"Case file: complaint {ref}") in found
    # every letter as sent: its subject and every piece of its text
    for letter in letters:
        assert squeezed(letter.subject) in found, letter.letter_key
        for piece in text_nodes(letter.body_html or ""):
            assert squeezed(piece) in found, (letter.letter_key, piece)
    # every deadline, with met or breached
    outcomes = {c.key.value: deadline(c).outcome for c in case.clocks}
    assert outcomes["s1_acknowledgement"] == "Breached: met late"
    assert outcomes["s2_response"] == "Met"
    for clock in case.clocks:
        assert squeezed(f"{clock.label}") in found
        assert squeezed(deadline(clock).outcome) in found
    # the timeline, with who did what
    for item in case.timeline:
        assert squeezed(item.summary) in found, item.summary
    assert squeezed("Jo Officer (jo.officer)") in found
    assert squeezed("Sam Reviewer (sam.reviewer)") in found
    assert squeezed("Evidence added: damp.jpg (JPEG photo, 2 KB)") in found
    # the notes and the list of attachments
    assert squeezed("Called Ann to agree the points") in found
    assert squeezed("damp.jpg: Damp by the boiler") in found
    assert squeezed("attachments/01-damp.jpg") in found
    assert squeezed("attachments/02-report.pdf") in found

    async with admin_http(app) as http:
        await admin_sign_in(http, MO)
        answer = await http.get(f"{page}/case-file.zip")
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"] == "application/zip"
        assert answer.headers["content-disposition"].startswith(
            f'attachment; filename="case-file-{ref}.zip"'
        )
        with zipfile.ZipFile(io.BytesIO(answer.content)) as archive:
            assert archive.namelist() == [
                f"case-file-{ref}.pdf",
                "attachments/01-damp.jpg",
                "attachments/02-report.pdf",
            ]
            assert archive.read("attachments/01-damp.jpg") == PHOTO
            assert archive.read("attachments/02-report.pdf") == report
            zipped = pdf_text(archive.read(f"case-file-{ref}.pdf"))
        assert squeezed(letters[-1].subject) in zipped
        body = text((await http.get(page)).text)
        assert "Case file built: PDF sam.reviewer" in body
        assert "Case file built: ZIP with the PDF and the attachments mo.manager" in body


async def test_only_a_manager_a_reviewer_or_the_owner_may_build_the_case_file(
    live_admin_app: FastAPI, env: WorkflowEnvironment, settings: Settings
) -> None:
    app = live_admin_app
    await travel(env, app, RECEIVED)
    case = complaint(RECEIVED, owner=staff(app, JO))
    await start(env.client, case, settings.task_queue)
    page = f"/cases/{case.reference}"
    allowed = {JO: True, MO: True, SAM: True, ALI: False}
    for person, may in allowed.items():
        async with admin_http(app) as http:
            await admin_sign_in(http, person)
            shown = await http.get(page)
            assert ("Download the case file (PDF)" in shown.text) is may, person
            answer = await http.get(f"{page}/case-file.pdf")
            assert answer.status_code == (200 if may else 403), person
            if not may:
                assert "Only a manager, a stage 2 reviewer or the complaint's owner" in (
                    text(answer.text)
                )
    async with admin_http(app) as http:  # signed out
        answer = await http.get(f"{page}/case-file.zip")
        assert answer.status_code == 303 and answer.headers["location"].startswith("/login")
