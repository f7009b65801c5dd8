"""Queue pages and search at 10,000 and 100,000 open cases, on SQLite and PostgreSQL.

    .venv/bin/python bench/scale.py [--sizes 10000 100000] [--repeat 30] [--postgres-url URL]

Rows go straight into `cases` and `case_search_words` with bulk INSERTs (recording each case
through RecordsStore.record would take hours at this size), shaped as the store writes them
(`queue_columns`, `search_words`, each word with its case's received_at): a mix of complaints
and enquiries, stages and owners, deadlines over the next month and some past, a tenth closed;
names "Firstname Surname" from small lists so a name search finds many. Each queue page
(admin/queues.py `load`, the code the admin app runs: team, mine, due today, due soon, overdue;
the team queue's pages 40 and 300 reached by "Next page" cursors, page 39 by "Previous page"
from 40, and pages 40 and 300 by an old page number (an OFFSET); the team queue sorted by
reference, date received, latest due, stage and status, and filtered by stage) and each search
(RecordsStore.search_cases: a reference, a postcode, "okoro", a tenth of the cases' surname,
typed whole and as its start "oko", and two words) is timed beside its anchor, the primary key
lookup of one case, in the same run. PostgreSQL runs when --postgres-url is given or
TEST_DATABASE_URL is set, in a schema of its own, dropped at the end. The goal (issue: queues
flat to 100,000): p95 at most 50 ms on PostgreSQL and 100 ms on SQLite at 100,000, for every
page and search. Run by hand or by `make bench`; nothing asserts on it.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from activities.deadlines import calendar_from_settings
from admin.queues import Queue, QueueRequest, load
from config import Settings
from records.schema import Case, CaseSearchWord, postcode_key
from records.store import RecordsStore, queue_columns, search_words
from tests.support import postgres_schema

NOW = datetime(2027, 3, 10, 10, 0, tzinfo=UTC)
FIRST = ["Amina", "Tom", "Grace", "Sam", "Jo", "Ali", "Priya", "Owen", "Maya", "Luca"]
LAST = ["Okafor", "O'Brien", "Okoro", "Patel", "Smith", "Jones", "Evans", "Khan", "Nowak", "Lee"]
OWNERS = [None, "jo.officer", "sam.reviewer", "mo.manager", *[f"officer{i}" for i in range(20)]]
STATES = [
    ("complaint", "triage", "awaiting_triage"),
    ("complaint", "stage1", "awaiting_acknowledgement"),
    ("complaint", "stage1", "investigating"),
    ("complaint", "stage1", "escalation_window"),
    ("complaint", "stage2", "investigating"),
    ("enquiry", "enquiry", "open"),
    ("enquiry", "enquiry", "with_team"),
    ("complaint", "closed", "closed"),
]


def rows(n: int, seed: int = 7) -> Iterator[tuple[dict[str, Any], list[str]]]:
    rnd = random.Random(seed)
    for i in range(n):
        kind, stage, status = rnd.choice(STATES)
        closed = stage == "closed"
        deadline = None if closed else NOW + timedelta(hours=rnd.randint(-240, 24 * 30))
        key = None if deadline is None else "s1_response"
        name = f"{rnd.choice(FIRST)} {rnd.choice(LAST)}"
        prefix = "ENQ" if kind == "enquiry" else "CMP"
        reference = f"{prefix}-{i // 10000:04d}-{i % 10000:04d}"
        postcode = f"ZZ{i % 97} {i % 9}AB"
        row = {
            "reference": reference,
            "kind": kind,
            "workflow_id": f"{kind}-{reference}",
            "stage": stage,
            "status": status,
            "owner_id": rnd.choice(OWNERS),
            "resident_name": name,
            "postcode": postcode,
            "postcode_key": postcode_key(postcode),
            "channel": "phone",
            "received_at": NOW - timedelta(days=rnd.randint(0, 60)),
            "next_deadline": deadline,
            "next_deadline_label": "Stage 1: response" if deadline else None,
            "next_deadline_key": key,
            "overdue": bool(deadline and deadline < NOW and rnd.random() < 0.5),
            "closure_reason": "final_response" if closed else None,
            "closed_at": NOW if closed else None,
            "linked_references": [],
            "actions_outstanding": False,
            "data": {},
            "updated_at": NOW,
            "created_at": NOW,
            **queue_columns(stage, status, deadline, key),
        }
        yield row, search_words(name)


def fill(store: RecordsStore, n: int) -> None:
    batch: list[dict[str, Any]] = []
    words: list[dict[str, Any]] = []
    with store.writer.begin() as connection:
        for row, found in rows(n):
            batch.append(row)
            words += [
                {"reference": row["reference"], "word": w, "received_at": row["received_at"]}
                for w in found
            ]
            if len(batch) >= 5000:
                connection.execute(insert(Case), batch)
                connection.execute(insert(CaseSearchWord), words)
                batch, words = [], []
        if batch:
            connection.execute(insert(Case), batch)
            connection.execute(insert(CaseSearchWord), words)


def timed(work: Callable[[], Any], repeat: int) -> list[float]:
    work()  # warm
    out = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        out.append((time.perf_counter() - started) * 1000)
    return out


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def report(store: RecordsStore, label: str, repeat: int) -> None:
    calendar = calendar_from_settings(Settings())
    anchor = timed(lambda: store.get_case("CMP-0000-0042"), repeat)
    base = statistics.median(anchor)

    def page(queue: Queue, **kw: Any) -> Callable[[], Any]:
        wanted = QueueRequest(queue=queue, **kw)
        return lambda: load(store, wanted, "jo.officer", NOW, calendar, 2)

    # pages 40 and 300 as staff reach them: "Next page" from the first (walked once, untimed);
    # page 300 is past the 1,000 cases a page counts either side of it (admin/queues.py)
    shown = page(Queue.team)()
    cursors: dict[int, str] = {}
    while shown.page < 300 and shown.next_cursor:
        cursors[shown.page + 1] = shown.next_cursor
        shown = page(Queue.team, cursor=shown.next_cursor)()
        if shown.page == 40:
            back_to_39 = shown.previous_cursor
    assert shown.first == 299 * 25 + 1, shown.showing

    work = {
        "team": page(Queue.team),
        "mine": page(Queue.mine),
        "due today": page(Queue.due_today),
        "due soon": page(Queue.due_soon),
        "overdue": page(Queue.overdue),
        "team, enquiries": page(Queue.team, kind="enquiry"),
        "team, page 40": page(Queue.team, cursor=cursors[40]),
        "team, page 39 (prev)": page(Queue.team, cursor=back_to_39),
        "team, page 300": page(Queue.team, cursor=cursors[300]),
        "team, page 40 offset": page(Queue.team, page=40),
        "team, page 300 offset": page(Queue.team, page=300),
        "team, stage 1": page(Queue.team, stage="stage1"),
        "team by reference": page(Queue.team, sort="reference"),
        "team by received": page(Queue.team, sort="received", descending=True),
        "team, latest due": page(Queue.team, sort="due", descending=True),
        "team by stage": page(Queue.team, sort="stage"),
        "team by status": page(Queue.team, sort="status", descending=True),
        "search reference": lambda: store.search_cases("CMP-0003-12"),
        "search postcode": lambda: store.search_cases("ZZ41 3"),
        "search name": lambda: store.search_cases("okoro"),
        "search name start": lambda: store.search_cases("oko"),
        "search two words": lambda: store.search_cases("grace okafor"),
    }
    print(f"\n{label}: anchor (one case by reference) p50 {base:.2f} ms")
    for name, run in work.items():
        found = timed(run, repeat)
        print(
            f"  {name:<22} p50 {statistics.median(found):7.2f} ms  p95 {p(found, 0.95):7.2f} ms"
            f"  ({statistics.median(found) / base:5.1f}x anchor)"
        )


@contextmanager
def sqlite_store(folder: Path) -> Iterator[RecordsStore]:
    store = RecordsStore(f"sqlite:///{folder / 'scale.db'}")
    store.migrate()
    try:
        yield store
    finally:
        store.dispose()


def main(sizes: list[int], repeat: int, postgres_url: str | None) -> None:
    for n in sizes:
        with ExitStack() as stack:
            folder = Path(tempfile.mkdtemp(prefix="scale-"))
            stack.callback(shutil.rmtree, folder, True)
            store = stack.enter_context(sqlite_store(folder))
            started = time.perf_counter()
            fill(store, n)
            print(f"\nSQLite: {n:,} cases written in {time.perf_counter() - started:.1f} s")
            report(store, f"SQLite, {n:,} cases", repeat)
            if postgres_url:
                url = stack.enter_context(postgres_schema(postgres_url, prefix="scale"))
                pg = RecordsStore(url)
                stack.callback(pg.dispose)
                pg.migrate()
                fill(pg, n)
                with pg.writer.begin() as connection:
                    connection.exec_driver_sql("ANALYZE")
                report(pg, f"PostgreSQL, {n:,} cases", repeat)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--postgres-url", default=os.environ.get("TEST_DATABASE_URL"))
    args = parser.parse_args()
    main(args.sizes, args.repeat, args.postgres_url)
