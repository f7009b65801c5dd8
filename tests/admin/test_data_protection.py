"""Data protection in the admin app (admin/routes/data_protection.py) on the real stack: the
access log shows who opened which case and person; a subject access export holds the person's
complaint and enquiry (index, records, letters as sent, evidence, the person record); an erasure
request anonymises at once what may go, records it, and says what could not be erased and why."""

from __future__ import annotations

import io
import zipfile

from fastapi import FastAPI
from temporalio.testing import WorkflowEnvironment

from config import Settings
from domain.evidence import check_file
from domain.records import RecordRequest
from domain.retention import MARKER
from records.evidence import EvidenceSource, EvidenceStore
from records.persons import PersonRecords
from records.retention import Retention
from records.storage import LocalStorage
from records.store import RecordsStore
from tests.admin.conftest import admin_http, admin_sign_in
from tests.admin.test_pages import JO, MO, lodge, post, text, travel
from tests.records.test_persons import ANN
from tests.records.test_store import snapshot
from tests.support import CATEGORY, enquiry, london, start_enquiry, step

NOW = london(2027, 3, 1, 10)
PHOTO = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 64


async def test_access_log_subject_access_and_erasure(
    env: WorkflowEnvironment, live_admin_app: FastAPI, settings: Settings, store: RecordsStore
) -> None:
    await travel(env, live_admin_app, NOW)
    complaint_ref = await lodge(env, settings, NOW)
    asked = enquiry(NOW)
    await start_enquiry(env.client, asked, settings.task_queue)
    people = PersonRecords(store)
    ann = people.create_from_case(complaint_ref, JO, NOW)
    people.link(asked.reference, ann, JO, NOW)
    # an old enquiry of hers, closed long ago (its workflow gone from Temporal)
    old = "ENQ-OLD0-0001"
    store.record(
        RecordRequest(
            snapshot=snapshot(
                old,
                kind="enquiry",
                workflow_id=f"enquiry-{old}",
                stage="closed",
                status="closed",
                closed_at=london(2025, 1, 6),
                resident_name="Ann Example",
                data={"enquirer": ANN},
            )
        )
    )
    people.link(old, ann, JO, NOW)
    checked = check_file("wall.jpg", PHOTO, settings.evidence_max_bytes)
    LocalStorage(settings.evidence_dir).put(PHOTO)
    EvidenceStore(store).add(
        asked.reference, checked, note="Damp", source=EvidenceSource.upload, by=JO, now=NOW
    )

    await step(env.client, complaint_ref, "accept", by=JO, category=CATEGORY)
    await step(env.client, complaint_ref, "withdraw", by=JO, reason="Fixed.")  # a letter

    async with admin_http(live_admin_app) as jo:
        await admin_sign_in(jo, JO)
        assert (await jo.get(f"/cases/{complaint_ref}")).status_code == 200
        assert (await jo.get(f"/people/{ann}")).status_code == 200
        assert (await jo.get("/access-log")).status_code == 403  # managers only

    async with admin_http(live_admin_app) as mo:
        await admin_sign_in(mo, MO)
        log = text((await mo.get(f"/access-log?case={complaint_ref}")).text)
        assert f"{JO} Viewed the case page {complaint_ref}" in log
        log = text((await mo.get(f"/access-log?staff={JO}")).text)
        assert f"Viewed the person record {ann}" in log and "2 entries" in log

        # subject access: both kinds of case, as one ZIP with an index
        answer = await mo.get(f"/data-protection/subject-access?person={ann}")
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"] == "application/zip"
        names = zipfile.ZipFile(io.BytesIO(answer.content)).namelist()
        archive = zipfile.ZipFile(io.BytesIO(answer.content))
        index = archive.read("index.html").decode()
        assert complaint_ref in index and asked.reference in index and ann in index
        for ref in (complaint_ref, asked.reference):
            record = archive.read(f"cases/{ref}/record.html").decode()
            assert "Ann Example" in record and "Timeline" in record and "Deadlines" in record
            sent = [r for r in store.letters(ref) if r.recipient_role == "resident"]
            kept = sorted(n for n in names if n.startswith(f"cases/{ref}/letters/"))
            assert kept == sorted(f"cases/{ref}/letters/{r.letter_key}.html" for r in sent)
            for row in sent:  # as sent
                assert archive.read(f"cases/{ref}/letters/{row.letter_key}.html").decode() == (
                    row.body_html
                )
        assert f"cases/{complaint_ref}/letters/withdrawal.html" in names
        photo = [n for n in names if n.startswith(f"cases/{asked.reference}/evidence/")]
        assert len(photo) == 1 and archive.read(photo[0]) == PHOTO
        assert "Ann Example" in archive.read("person.html").decode()
        log = text((await mo.get(f"/access-log?person={ann}")).text)
        assert f"{MO} Exported a subject access request" in log

        # erasure: the withdrawn complaint goes at once; the open enquiry and the person stay
        page = (await mo.get("/data-protection")).text
        refused = await post(mo, "/data-protection/erasure", page, {"person": ann, "note": "x"})
        assert refused.status_code == 400 and "Confirm every check" in text(refused.text)
        checks = {
            f"check-{b}": "yes"
            for b in (
                "identity_checked",
                "no_longer_necessary",
                "no_legal_claim",
                "no_legal_obligation",
            )
        }
        done = await post(
            mo,
            "/data-protection/erasure",
            page,
            {"person": ann, "note": "Asked by letter, 1 March 2027", **checks},
        )
        said = text(done.text)
        assert done.status_code == 200, said
        assert f"Anonymised now: {old}." in said
        assert f"{complaint_ref}: it is closed but still running" in said  # the Ombudsman's year
        assert f"{asked.reference}: it is still open" in said
        assert f"{ann}: a case of theirs is kept" in said
    assert store.get_case(old).resident_name == MARKER
    for kept in (complaint_ref, asked.reference):
        assert store.get_case(kept).resident_name == "Ann Example"
    storage = LocalStorage(settings.evidence_dir)
    done_row = Retention(store, storage, settings.outbox_dir).done(old)
    assert done_row is not None and (done_row.why.value, done_row.by) == ("erasure", MO)
    assert Retention(store, storage, settings.outbox_dir).erasure_requests()[0]["erased"] == [old]
