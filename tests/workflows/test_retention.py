"""The retention job (workflows/retention.py, records/retention.py) on the time-skipping server
with a real worker: a withdrawn complaint, time-skipped past its 6 years, is anonymised
everywhere (its record, timeline, letters ledger and outbox files, its evidence with the stored
object gone once nothing holds it, its person record) while another case keeps the same photo,
the reports' figures are the same before and after, and running the job again does nothing."""

from __future__ import annotations

import uuid
from datetime import date
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from config import Settings
from domain.complaint import ComplaintRecord
from domain.evidence import check_file
from domain.retention import MARKER, RetentionProgress, RetentionSweep
from records.annual_report import annual_report
from records.evidence import EvidenceSource, EvidenceStore
from records.persons import PersonRecords
from records.reports import promise_report
from records.retention import Retention
from records.storage import LocalStorage
from records.store import RecordsStore
from tests.records.test_persons import ANN, record_case
from tests.support import (
    CATEGORY,
    JO,
    POLICY,
    complaint,
    create_staff,
    london,
    start,
    step,
    travel_to,
)
from workflows.retention import RetentionWorkflow

MONDAY = london(2027, 3, 1, 10)
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84"
    b"\x00\x00\x00\x00IEND\xaeB`\x82"
)


def add_evidence(settings: Settings, store: RecordsStore, reference: str, data: bytes) -> str:
    checked = check_file("damp.png", data, settings.evidence_max_bytes)
    LocalStorage(settings.evidence_dir).put(data)
    EvidenceStore(store).add(
        reference,
        checked,
        note="Ann's bedroom wall",
        source=EvidenceSource.upload,
        by=JO.id,
        now=MONDAY,
    )
    return checked.sha256


async def run_job(env: WorkflowEnvironment, settings: Settings) -> RetentionProgress:
    with env.auto_time_skipping_disabled():
        return await env.client.execute_workflow(
            RetentionWorkflow.run,
            RetentionSweep(),
            id=f"retention-{uuid.uuid4().hex[:8]}",
            task_queue=settings.task_queue,
        )


def figures(store: RecordsStore) -> tuple[object, object]:
    promises = promise_report(store, date(2027, 1, 1), date(2027, 12, 31), POLICY)
    annual = annual_report(store, 2026, POLICY)
    return promises.model_dump(), annual.model_dump()


async def test_a_case_past_its_retention_is_anonymised_everywhere_and_still_counted(
    env: WorkflowEnvironment, worker, settings: Settings, store: RecordsStore
) -> None:
    create_staff(store)
    await travel_to(env, MONDAY)
    gone = complaint(MONDAY)
    await start(env.client, gone, settings.task_queue)
    kept = "CMP-KEPT-0001"  # another case, recorded (no workflow), that holds the same photo
    record_case(store, kept, ANN)
    ref = gone.reference
    await step(env.client, ref, "accept", by=JO.id, category=CATEGORY)
    await step(env.client, ref, "assign", by="mo.manager", owner=JO)
    await step(env.client, ref, "record_contact", by=JO.id, notes="Called Ann at home")
    await step(env.client, ref, "acknowledge", by=JO.id, points=gone.points, outcome_sought="x")
    await step(env.client, ref, "withdraw", by=JO.id, reason="Ann says the boiler is fixed.")
    sha = add_evidence(settings, store, ref, PNG)
    only_here = add_evidence(settings, store, ref, PNG + b"\x00")  # bytes no other case has
    add_evidence(settings, store, kept, PNG)  # the same photo on a kept case
    people = PersonRecords(store)
    ann = people.create_from_case(ref, JO.id, MONDAY)
    outbox = Path(settings.outbox_dir) / ref
    assert any(outbox.iterdir())
    before = figures(store)

    # not yet: a year on, the case is closed (its workflow done) but within its 6 years
    await travel_to(env, london(2028, 3, 1, 2))
    progress = await run_job(env, settings)
    assert (progress.done, progress.finished) == (0, True)
    assert store.get_case(ref).resident_name == "Ann Example"

    await travel_to(env, london(2033, 3, 2, 2))  # 6 years and a day after it closed
    progress = await run_job(env, settings)
    assert progress.done == 1  # the other case never closed: kept

    record = store.get_case(ref)
    assert (record.resident_name, record.postcode) == (MARKER, None)
    assert record.data["resident"]["email"] is None
    assert record.data["description"] == MARKER and set(record.data["points"]) == {MARKER}
    assert (record.stage, record.closure_reason, record.category) == (
        "closed",
        "withdrawn",
        CATEGORY,
    )
    ComplaintRecord.model_validate(record.data)  # its page still reads it
    assert "Ann" not in str(record.data) and "boiler" not in str(record.data).lower()
    events = store.events(ref)
    assert events and all(e.summary == MARKER for e in events)
    assert store.search_cases("ann") and ref not in [c.reference for c in store.search_cases("ann")]
    letters = store.letters(ref)
    assert letters and all(
        (row.recipient, row.subject) == (MARKER, MARKER) and "Ann" not in (row.body_html or "")
        for row in letters
    )
    assert not [p for p in outbox.iterdir()] if outbox.exists() else True
    storage = LocalStorage(settings.evidence_dir)
    assert EvidenceStore(store).for_case(ref).files == []
    assert not storage.path(only_here).exists()  # nothing holds it: deleted
    assert storage.get(sha) == PNG  # the kept case still holds it
    person = people.person(ann)
    assert person is not None and person.details.name == MARKER and person.details.email is None
    done = Retention(store, storage, settings.outbox_dir).done(ref)
    assert done is not None and (done.why.value, done.by, done.finished) == (
        "retention",
        "retention-job",
        True,
    )
    assert "6 years" in (done.rule or "")
    assert Retention(store, storage, settings.outbox_dir).done(ann) is not None

    assert figures(store) == before  # the reports count it just the same
    assert (await run_job(env, settings)).done == 0  # idempotent
    assert store.get_case(kept).resident_name == "Ann Example"
