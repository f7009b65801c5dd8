"""How long the case file takes to build (admin/case_file.py): a two-stage complaint, worked on the
time-skipping server with the real worker (a standard extension at each stage, so reminders and
extension letters too), with 20 attachments uploaded through the admin app (10 photos and 10
PDFs, `--attachment-kb` each, incompressible bytes as real photos are), then the case file
fetched through the app as a signed-in manager: the PDF, and the ZIP of the PDF and the
attachments. Everything in one process (httpx's ASGI transport), so the figures are the app's
own work: reading the case, the records and the evidence storage, WeasyPrint, the ZIP.

    .venv/bin/python bench/case_file.py [--attachments 20 --attachment-kb 1024 --repeat 5]

Each figure is printed beside its anchor, measured in the same run, round by round: WeasyPrint
rendering a plain one-page PDF (what any PDF costs here at least). Run by hand; nothing asserts
on it.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import sys
import tempfile
import time
import uuid
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from admin.app import create_app
from admin.pdf import to_pdf
from bench.common import csrf_in, summary
from config import Settings
from records.store import RecordsStore
from tests.support import (
    CATEGORY,
    STAFF_PASSWORD,
    complaint,
    create_staff,
    decided,
    london,
    settle,
    start,
    step,
    travel_to,
)
from worker.__main__ import build_worker
from worker.setup import register_search_attributes

BIN = Path(sys.executable).parent
JO, ALI, SAM, MO = "jo.officer", "ali.advisor", "sam.reviewer", "mo.manager"
ONE_PAGE = "<h1>A plain page</h1>" + "<p>Some text on one page of A4.</p>" * 20


def attachment(n: int, size: int) -> tuple[str, bytes]:
    """A photo (JPEG magic) or a PDF (PDF magic) of `size` bytes, incompressible."""
    if n % 2:
        return f"photo-{n:02d}.jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + os.urandom(size - 11)
    return f"document-{n:02d}.pdf", b"%PDF-1.7\n" + os.urandom(size - 9)


async def two_stage_case(env: WorkflowEnvironment, settings: Settings, staff: dict) -> str:
    received = london(2027, 3, 1, 10)
    await travel_to(env, received)
    case = complaint(received)
    ref = case.reference
    c = env.client
    await start(c, case, settings.task_queue)
    decisions = [decided(p, "upheld", "Two visits were missed.") for p in case.points]
    await step(c, ref, "accept", by=JO, category=CATEGORY)
    await step(c, ref, "assign", by=MO, owner=staff[JO])
    await step(c, ref, "record_contact", by=JO, notes="Called Ann to agree the points")
    await travel_to(env, london(2027, 3, 5, 12))  # past the acknowledgement reminder
    await step(c, ref, "acknowledge", by=JO, points=case.points, outcome_sought="Boiler fixed")
    await step(
        c, ref, "extend", by=JO, reasons="Waiting for the contractor's report", working_days=5,
        discussed_with_resident=True,
    )  # fmt: skip
    await travel_to(env, london(2027, 3, 25, 12))
    await step(
        c, ref, "respond", by=JO, decisions=decisions, summary="We got this wrong.",
        remedies={"apology": "We are sorry."},
    )  # fmt: skip
    await step(c, ref, "escalate", by=ALI, reviewer=staff[SAM])
    await step(c, ref, "record_contact", by=SAM, notes="Discussed the review")
    await step(c, ref, "acknowledge", by=SAM, points=case.points, outcome_sought="Boiler fixed")
    await step(
        c, ref, "extend", by=SAM, reasons="A second survey", working_days=10,
        discussed_with_resident=True,
    )  # fmt: skip
    await travel_to(env, london(2027, 5, 10, 12))
    await step(
        c, ref, "respond", by=SAM, decisions=decisions, summary="The review agrees.",
        remedies={"apology": "We apologise again."},
    )  # fmt: skip
    return ref


async def timed(call: object) -> float:
    started = time.perf_counter()
    await call  # type: ignore[misc]
    return time.perf_counter() - started


async def main(args: argparse.Namespace) -> None:
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(BIN / "temporal-test-server"),
        data_converter=pydantic_data_converter,
    )
    await register_search_attributes(env.client)
    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(8) as executor:
        settings = Settings(
            database_url=f"sqlite:///{tmp}/records.db",
            outbox_dir=Path(tmp) / "outbox",
            evidence_dir=Path(tmp) / "evidence",
            evidence_max_bytes=max(20 * 1024 * 1024, args.attachment_kb * 1024),
            task_queue=f"bench-{uuid.uuid4().hex[:6]}",
            admin_secret_key=uuid.uuid4().hex * 2,
            survey_secret="bench-survey-secret",
        )
        store = RecordsStore.from_settings(settings)
        store.migrate()
        create_staff(store)
        app = create_app(settings, store, client=env.client)
        staff = {a.id: a.as_staff() for a in app.state.accounts.all()}
        async with build_worker(env.client, settings, store, executor):
            ref = await two_stage_case(env, settings, staff)
            app.state.clock = lambda: london(2027, 5, 10, 13)
            page = f"/cases/{ref}"
            transport = httpx.ASGITransport(app=app)
            async with (
                app.router.lifespan_context(app),
                httpx.AsyncClient(
                    transport=transport, base_url="http://bench", timeout=300
                ) as http,
            ):
                token = csrf_in((await http.get("/login")).text)
                await http.post(
                    "/login",
                    data={"username": MO, "password": STAFF_PASSWORD, "csrf_token": token},
                )
                for n in range(1, args.attachments + 1):
                    name, data = attachment(n, args.attachment_kb * 1024)
                    shown = await http.get(page)
                    answer = await http.post(
                        f"{page}/evidence",
                        data={"csrf_token": csrf_in(shown.text), "note": f"Evidence {n}"},
                        files={"file": (name, data)},
                    )
                    assert answer.status_code == 303, answer.text
                await settle(env.client.get_workflow_handle(f"complaint-{ref}"))
                letters = len(store.letters(ref))

                anchor, pdfs, zips = [], [], []
                pdf = zipped = b""
                for _ in range(args.repeat):
                    anchor.append(await timed(asyncio.to_thread(to_pdf, ONE_PAGE)))
                    started = time.perf_counter()
                    answer = await http.get(f"{page}/case-file.pdf")
                    pdfs.append(time.perf_counter() - started)
                    assert answer.status_code == 200, answer.text
                    pdf = answer.content
                    started = time.perf_counter()
                    answer = await http.get(f"{page}/case-file.zip")
                    zips.append(time.perf_counter() - started)
                    assert answer.status_code == 200, answer.text
                    zipped = answer.content
    await env.shutdown()

    import pypdf

    pages = len(pypdf.PdfReader(io.BytesIO(pdf)).pages)
    with zipfile.ZipFile(io.BytesIO(zipped)) as archive:
        files = len(archive.namelist()) - 1
    attached = args.attachments * args.attachment_kb / 1024
    print(
        f"two-stage complaint: {letters} letters, {args.attachments} attachments "
        f"({attached:.0f} MB); case file PDF {pages} pages, {len(pdf) / 1024:.0f} KB; "
        f"ZIP {len(zipped) / 1024 / 1024:.1f} MB with {files} attachments"
    )
    print(summary("anchor: a plain one-page PDF (WeasyPrint)", anchor))
    print(summary("case file PDF (GET .../case-file.pdf)", pdfs))
    print(summary("case file ZIP (GET .../case-file.zip)", zips))
    median = sorted(anchor)[len(anchor) // 2]
    print(
        f"PDF = {sorted(pdfs)[len(pdfs) // 2] / median:.1f}x the anchor; "
        f"ZIP = {sorted(zips)[len(zips) // 2] / median:.1f}x the anchor (medians)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--attachments", type=int, default=20)
    parser.add_argument("--attachment-kb", type=int, default=1024)
    parser.add_argument("--repeat", type=int, default=5)
    asyncio.run(main(parser.parse_args()))
