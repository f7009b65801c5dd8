"""What writing a case's record costs the worker, beside a bare write transaction on the same
database, in the same run: every record request of a full two-stage complaint (the stamped replay
fixture, tests/workflows/histories/complaint-two-stages-stamped.json: the whole snapshot at
lodging, then one set of changes a commit) written for `--cases` cases, each under its own
reference, through `RecordsStore.record` as the effects activity writes them.

    .venv/bin/python bench/record_write.py [--cases 40] [--database-url URL]

Anchor: one transaction updating one column of the case's row (BEGIN, UPDATE, COMMIT), as many
times. Prints p50/p95 of the first record (whole), of the changes, and of the anchor, and the
ratio of the changes' p50 to the anchor's. On SQLite by default (a temporary file); with
`--database-url` on that database (PostgreSQL: in a schema of its own, dropped afterwards).
Run by hand and by `make bench`; nothing asserts on it.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import update

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import percentile, summary
from domain.records import RecordRequest
from records.schema import Case
from records.store import RecordsStore
from tests.support import postgres_schema

HISTORY = (
    Path(__file__).resolve().parent.parent
    / "tests/workflows/histories/complaint-two-stages-stamped.json"
)


def record_requests() -> tuple[str, list[str]]:
    """The fixture's reference and its record requests, as JSON, in order."""
    events = json.loads(HISTORY.read_text())["events"]
    found = []
    for event in events:
        if event["eventType"] != "EVENT_TYPE_ACTIVITY_TASK_SCHEDULED":
            continue
        payload = event["activityTaskScheduledEventAttributes"]["input"]["payloads"][0]
        record = json.loads(base64.b64decode(payload["data"]))["record"]
        if record:
            found.append(json.dumps(record))
    reference = RecordRequest.model_validate_json(found[0]).case_reference
    return reference, found


def main(cases: int, url: str | None) -> None:
    with contextlib.ExitStack() as stack:
        if url is None:
            url = f"sqlite:///{tempfile.mkdtemp(prefix='bench-')}/records.db"
        elif url.startswith("postgresql"):
            url = stack.enter_context(postgres_schema(url, prefix="record_write"))
        store = RecordsStore(url)
        stack.callback(store.dispose)
        store.migrate()
        fixture_ref, requests = record_requests()
        whole: list[float] = []
        changes: list[float] = []
        anchor: list[float] = []
        for i in range(cases):
            ref = f"CMP-{i:04d}-BNCH"
            for n, raw in enumerate(requests):
                request = RecordRequest.model_validate_json(raw.replace(fixture_ref, ref))
                started = time.perf_counter()
                store.record(request)
                (changes if n else whole).append(time.perf_counter() - started)
                started = time.perf_counter()
                with store.writer.begin() as connection:
                    connection.execute(
                        update(Case).where(Case.reference == ref).values(revision=Case.revision)
                    )
                anchor.append(time.perf_counter() - started)
        print(f"{len(requests)} record requests of a two-stage complaint x {cases} cases, "
              f"on {store.engine.dialect.name}")  # fmt: skip
        print(summary("record, whole (lodging)", whole))
        print(summary("record, changes (a commit)", changes))
        print(summary("anchor: a one-column write", anchor))
        ratio = percentile(changes, 50) / percentile(anchor, 50)
        print(f"ratio p50 changes / anchor {ratio:.2f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=40, help="cases written (default 40)")
    parser.add_argument("--database-url", help="a database other than a temporary SQLite file")
    arguments = parser.parse_args()
    main(arguments.cases, arguments.database_url)
