"""How long a case's workflow history gets, on the time-skipping server with the real activities:
a full two-stage complaint (every step, one standard extension per stage, reminders) and a complex
enquiry (email confirmation, passed to a team, update preference, a holding reply, three progress
updates with their reminders, the closing reply).

    .venv/bin/python bench/history_length.py

Prints the number of history events and their encoded size. Run by hand; nothing asserts on it.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from config import Settings
from domain.complaint import workflow_id
from records.store import RecordsStore
from tests.support import (
    JO,
    SAM,
    complaint,
    enquiry,
    enquiry_step,
    london,
    settle,
    start_enquiry,
    step,
    travel_to,
)
from worker.__main__ import build_worker
from worker.client import exit_now
from worker.setup import register_search_attributes

BIN = Path(sys.executable).parent


async def main() -> None:
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(BIN / "temporal-test-server"),
        data_converter=pydantic_data_converter,
    )
    await register_search_attributes(env.client)
    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(16) as executor:
        settings = Settings(
            database_url=f"sqlite:///{tmp}/records.db",
            outbox_dir=Path(tmp) / "outbox",
            task_queue=f"bench-{uuid.uuid4().hex[:6]}",
            evidence_dir=Path(tmp) / "evidence",
            survey_secret="bench-survey-secret",  # the closing survey letter signs its link
        )
        store = RecordsStore.from_settings(settings)
        store.migrate()
        async with build_worker(env.client, settings, store, executor):
            started = time.perf_counter()
            received = london(2027, 3, 1, 9)
            await travel_to(env, received)
            case = complaint(received)
            ref = case.reference
            c = env.client
            await c.start_workflow(
                "ComplaintWorkflow", case, id=workflow_id(ref), task_queue=settings.task_queue
            )
            handle = c.get_workflow_handle(workflow_id(ref))
            await settle(handle)
            decisions = [{"point": p, "decision": "upheld", "reasons": "r"} for p in case.points]
            await step(c, ref, "accept", by=JO.id)
            await step(c, ref, "assign", by="manager", owner=JO)
            await step(c, ref, "record_contact", by=JO.id, notes="Called")
            await travel_to(env, london(2027, 3, 5, 12))  # past the acknowledgement reminder
            await step(c, ref, "acknowledge", by=JO.id, points=case.points, outcome_sought="x")
            await step(
                c, ref, "extend", by=JO.id, reasons="r", working_days=5,
                discussed_with_resident=True,
            )  # fmt: skip
            await travel_to(env, london(2027, 3, 25, 12))
            await step(c, ref, "respond", by=JO.id, decisions=decisions, summary="s")
            await step(c, ref, "escalate", by="advisor", reviewer=SAM)
            await step(c, ref, "record_contact", by=SAM.id, notes="Called")
            await step(c, ref, "acknowledge", by=SAM.id, points=case.points, outcome_sought="x")
            await step(
                c, ref, "extend", by=SAM.id, reasons="r", working_days=10,
                discussed_with_resident=True,
            )  # fmt: skip
            await travel_to(env, london(2027, 5, 10, 12))
            await step(c, ref, "respond", by=SAM.id, decisions=decisions, summary="s")
            await handle.result()
            elapsed = time.perf_counter() - started
            history = await handle.fetch_history()
            size = len(history.to_json().encode())
            if "--by-type" in sys.argv:
                import collections

                by: collections.Counter[str] = collections.Counter()
                count: collections.Counter[str] = collections.Counter()
                for e in history.events:
                    kind = e.WhichOneof("attributes") or "?"
                    by[kind] += e.ByteSize()
                    count[kind] += 1
                for kind, n in by.most_common():
                    print(f"{kind:<60} {count[kind]:>4} events {n / 1024:>7.1f} KiB")
            letters = len(store.letters(ref))
            entries = len(store.events(ref))

            received = london(2027, 6, 1, 9)
            await travel_to(env, received)
            enq = enquiry(received, channel="help_email")
            eref = enq.reference
            ehandle = await start_enquiry(c, enq, settings.task_queue)
            await enquiry_step(
                c, eref, "pass_to_team", by=JO.id, team="Repairs team", next_steps="Survey"
            )
            await enquiry_step(c, eref, "record_update_preference", by=JO.id, method="email")
            await travel_to(env, london(2027, 6, 7, 12))
            await enquiry_step(
                c, eref, "holding_reply", by=JO.id, estimated_date="2027-06-11", reasons="r"
            )
            for week in (10, 16, 22):
                await travel_to(env, london(2027, 6, week, 12))
                await enquiry_step(c, eref, "reply", by=JO.id, message="Update", closes=False)
            await enquiry_step(c, eref, "reply", by=JO.id, message="Fixed")
            await ehandle.result()
            ehistory = await ehandle.fetch_history()
            esize = len(ehistory.to_json().encode())
            eletters = len(store.letters(eref))
    await env.shutdown()
    print(f"full two-stage case: {len(history.events)} history events, {size / 1024:.0f} KiB")
    print(f"letters sent: {letters}; timeline entries: {entries}")
    print(f"wall time on the time-skipping server: {elapsed:.1f} s")
    print(
        f"complex enquiry: {len(ehistory.events)} history events, {esize / 1024:.0f} KiB; "
        f"letters sent: {eletters}"
    )


if __name__ == "__main__":
    asyncio.run(main())
    exit_now(0)
