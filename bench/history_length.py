"""How long a case's workflow history gets, on the time-skipping server with the real activities:
a full two-stage complaint (every step, one standard extension per stage, reminders, then kept
until it completes a year after its final response: the satisfaction survey and the Ombudsman
window) and a complex enquiry (email confirmation, passed to a team, update preference, a holding
reply, three progress updates with their reminders, the closing reply). Both are lodged as every
intake lodges them (lodge_once, under the shipped policy, with its bank holidays), and the
complaint is taken as that policy asks (a category, root causes for upheld points).

    .venv/bin/python bench/history_length.py

Prints the number of history events and their encoded size (`WorkflowHistory.to_json()`, as
`temporal workflow show --output json` writes it, and without the indentation). `--by-type` adds
the bytes by event type and activity; `--save` writes both histories to /tmp. Run by hand and by
`make bench`; nothing asserts on it.

Between steps it waits for the case's records row and letters ledger, never the status query: on
the time-skipping test server a query that arrives during a workflow task adds a workflow task to
the history, which the real server does not.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from config import Settings
from domain.complaint import workflow_id
from domain.enquiry import enquiry_workflow_id
from records.store import RecordsStore
from tests.support import (
    CATEGORY,
    JO,
    SAM,
    _jsonable,
    complaint,
    decided,
    enquiry,
    london,
    travel_to,
)
from worker.__main__ import build_worker
from worker.client import exit_now
from worker.setup import register_search_attributes
from workflows.cases import lodge_once, perform_enquiry_step, perform_step

BIN = Path(sys.executable).parent


# the enquiry runs after the complaint has completed (a year after its final response): 104 weeks
# on, so its days fall on the same weekdays as they were written for (June 2027)
LATER = timedelta(weeks=104)


async def skip_to(env: WorkflowEnvironment, moment: Any) -> None:
    """Skip the clock (timers fire on the way), then a moment for the letters they queue."""
    await travel_to(env, moment)
    await asyncio.sleep(0.3)


async def settled(store: RecordsStore, ref: str, revision: int, seconds: float = 30) -> None:
    """Until the records row shows `revision` and every letter it lists is sent; then a moment
    for the workflow task that takes the activity's completion in."""
    deadline = time.monotonic() + seconds
    while True:
        row = store.get_case(ref)
        if row is not None and (row.revision or 0) >= revision:
            sent = {r.letter_key for r in store.letters(ref) if r.sent}
            if set(row.data.get("letters", [])) <= sent:
                break
        if time.monotonic() > deadline:
            raise AssertionError(f"{ref} did not settle at revision {revision}")
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.2)


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
            await lodge_once(c, case, settings.task_queue, policy=settings.policy, now=received)
            handle = c.get_workflow_handle(workflow_id(ref))
            await settled(store, ref, 1)

            async def step(c: Client, ref: str, name: str, **payload: Any) -> None:
                done = await perform_step(c, ref, name, _jsonable(payload))
                await settled(store, ref, done.revision)

            async def enquiry_step(c: Client, ref: str, name: str, **payload: Any) -> None:
                done = await perform_enquiry_step(c, ref, name, _jsonable(payload))
                await settled(store, ref, done.revision)

            decisions = [decided(p) for p in case.points]
            await step(c, ref, "accept", by=JO.id, category=CATEGORY)
            await step(c, ref, "assign", by="manager", owner=JO)
            await step(c, ref, "record_contact", by=JO.id, notes="Called")
            await skip_to(env, london(2027, 3, 5, 12))  # past the acknowledgement reminder
            await step(c, ref, "acknowledge", by=JO.id, points=case.points, outcome_sought="x")
            await step(
                c, ref, "extend", by=JO.id, reasons="r", working_days=5,
                discussed_with_resident=True,
            )  # fmt: skip
            await skip_to(env, london(2027, 3, 25, 12))
            await step(c, ref, "respond", by=JO.id, decisions=decisions, summary="s")
            await step(c, ref, "escalate", by="advisor", reviewer=SAM)
            await step(c, ref, "record_contact", by=SAM.id, notes="Called")
            await step(c, ref, "acknowledge", by=SAM.id, points=case.points, outcome_sought="x")
            await step(
                c, ref, "extend", by=SAM.id, reasons="r", working_days=10,
                discussed_with_resident=True,
            )  # fmt: skip
            await skip_to(env, london(2027, 5, 10, 12))
            await step(c, ref, "respond", by=SAM.id, decisions=decisions, summary="s")
            # the policy keeps a closed complaint open to the Ombudsman's questions for a while
            # (its satisfaction survey goes on the way): skip until the case completes
            await env.sleep(timedelta(days=400))
            await handle.result()
            elapsed = time.perf_counter() - started
            history = await handle.fetch_history()
            size = len(history.to_json().encode())
            compact = len(json.dumps(json.loads(history.to_json()), separators=(",", ":")))
            if "--save" in sys.argv:
                Path("/tmp/history-complaint.json").write_text(history.to_json())
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
                acts: collections.Counter[str] = collections.Counter()
                asize: collections.Counter[str] = collections.Counter()
                for e in history.events:
                    if e.HasField("activity_task_scheduled_event_attributes"):
                        a = e.activity_task_scheduled_event_attributes
                        acts[a.activity_type.name] += 1
                        asize[a.activity_type.name] += e.ByteSize()
                for name, n in acts.most_common():
                    print(f"  activity {name:<40} {n:>3} {asize[name] / 1024:>7.1f} KiB")
            letters = len(store.letters(ref))
            entries = len(store.events(ref))

            received = london(2027, 6, 1, 9) + LATER
            await travel_to(env, received)
            enq = enquiry(received, channel="help_email")
            eref = enq.reference
            await lodge_once(c, enq, settings.task_queue, policy=settings.policy, now=received)
            ehandle = c.get_workflow_handle(enquiry_workflow_id(eref))
            await settled(store, eref, 1)
            await enquiry_step(
                c, eref, "pass_to_team", by=JO.id, team="Repairs team", next_steps="Survey"
            )
            await enquiry_step(c, eref, "record_update_preference", by=JO.id, method="email")
            await skip_to(env, london(2027, 6, 7, 12) + LATER)
            await enquiry_step(
                c,
                eref,
                "holding_reply",
                by=JO.id,
                reasons="r",
                estimated_date=(date(2027, 6, 11) + LATER).isoformat(),
            )
            for week in (10, 16, 22):
                await skip_to(env, london(2027, 6, week, 12) + LATER)
                await enquiry_step(c, eref, "reply", by=JO.id, message="Update", closes=False)
            await enquiry_step(c, eref, "reply", by=JO.id, message="Fixed")
            await ehandle.result()
            ehistory = await ehandle.fetch_history()
            esize = len(ehistory.to_json().encode())
            ecompact = len(json.dumps(json.loads(ehistory.to_json()), separators=(",", ":")))
            if "--save" in sys.argv:
                Path("/tmp/history-enquiry.json").write_text(ehistory.to_json())
            eletters = len(store.letters(eref))
    await env.shutdown()
    print(
        f"full two-stage case: {len(history.events)} history events, {size / 1024:.0f} KiB "
        f"({compact / 1024:.0f} KiB unindented)"
    )
    print(f"letters sent: {letters}; timeline entries: {entries}")
    print(f"wall time on the time-skipping server: {elapsed:.1f} s")
    print(
        f"complex enquiry: {len(ehistory.events)} history events, {esize / 1024:.0f} KiB "
        f"({ecompact / 1024:.0f} KiB unindented); "
        f"letters sent: {eletters}"
    )


if __name__ == "__main__":
    asyncio.run(main())
    exit_now(0)
