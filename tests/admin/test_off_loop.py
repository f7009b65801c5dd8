"""Blocking work stays off the event loop: argon2 and every records-database call of the admin
app's pages run in worker threads (admin/off_loop.py), so slow sign-ins do not hold up anyone
else's request.

- While sign-ins (and password resets) are stuck in their password hash, /healthz still answers:
  a hash on the event loop would stop every other request until it finished.
- Every page of the queues, search, staff, case and letter routes, and /healthz, calls the
  records store and the accounts only from a worker thread, never from the event loop's.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from contextlib import AsyncExitStack
from typing import Any

import pytest
from fastapi import FastAPI

import admin.accounts
from tests.admin.conftest import admin_http, admin_sign_in, fresh_csrf
from tests.admin.test_pages import _new_complaint
from tests.admin.test_temporal_down import RECORDED_COMPLAINT, down_app  # noqa: F401 - fixture
from tests.support import STAFF_PASSWORD

GATE_SECONDS = 20.0  # the longest a gated hash waits: a failing app fails, it does not hang


class GatedHasher:
    """argon2, but each hash waits at a gate until the test opens it, counting who waits."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.gate = threading.Event()
        self.lock = threading.Lock()
        self.waiting = 0

    def _wait(self) -> None:
        with self.lock:
            self.waiting += 1
        try:
            self.gate.wait(GATE_SECONDS)
        finally:
            with self.lock:
                self.waiting -= 1

    def hash(self, password: str) -> str:
        self._wait()
        return self.real.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        self._wait()
        return self.real.verify(password_hash, password)


@pytest.fixture
def gated(monkeypatch: pytest.MonkeyPatch) -> GatedHasher:
    hasher = GatedHasher(admin.accounts._hasher)
    monkeypatch.setattr(admin.accounts, "_hasher", hasher)
    # one hash per CPU core at a time: room for all of this test's hashes to wait together
    monkeypatch.setattr(admin.accounts, "_HASHING", threading.BoundedSemaphore(16))
    return hasher


async def until(condition: Callable[[], bool], seconds: float = GATE_SECONDS * 0.75) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.01)
    return True


async def test_healthz_answers_while_sign_ins_wait_in_their_password_hash(
    offline_admin_app: FastAPI, gated: GatedHasher, admin_staff: dict[str, Any]
) -> None:
    """Four people sign in at once (one with a wrong password) while every hash is held: all
    four must be waiting in their hash together, and /healthz must answer meanwhile."""
    people = list(admin_staff)
    passwords = [STAFF_PASSWORD, STAFF_PASSWORD, STAFF_PASSWORD, "not the password at all"]
    async with AsyncExitStack() as stack:
        probe = await stack.enter_async_context(admin_http(offline_admin_app))
        browsers = [await stack.enter_async_context(admin_http(offline_admin_app)) for _ in people]
        stack.callback(gated.gate.set)  # whatever happens, no hash is left waiting
        tokens = [await fresh_csrf(http) for http in browsers]
        sign_ins = [
            asyncio.create_task(
                http.post(
                    "/login",
                    data={"username": who, "password": pw, "next": "/", "csrf_token": token},
                )
            )
            for http, who, pw, token in zip(browsers, people, passwords, tokens, strict=True)
        ]
        all_waiting = await until(lambda: gated.waiting == len(people))
        health = await asyncio.wait_for(probe.get("/healthz"), GATE_SECONDS)
        still_waiting = gated.waiting
        gated.gate.set()
        answers = await asyncio.gather(*sign_ins)
    assert all_waiting, "the sign-ins never waited in their hashes together: hashing blocks"
    assert health.status_code == 200 and health.json()["records"] == "ok"
    assert still_waiting == len(people), "/healthz answered only once the hashes were done"
    assert [a.status_code for a in answers] == [303, 303, 303, 400]


async def test_password_resets_hash_off_the_event_loop(
    offline_admin_app: FastAPI, gated: GatedHasher
) -> None:
    """A manager's password resets wait in their hash; the staff page still answers."""
    gated.gate.set()  # signing in needs a hash too
    async with admin_http(offline_admin_app) as http:
        csrf = await admin_sign_in(http, "mo.manager")
        gated.gate.clear()
        resets = [
            asyncio.create_task(
                http.post(
                    f"/staff/{who}",
                    data={"role": role, "active": "on", "password": f"new password {who}"},
                    headers={"X-CSRF-Token": csrf},
                )
            )
            for who, role in (("jo.officer", "case_officer"), ("sam.reviewer", "reviewer"))
        ]
        all_waiting = await until(lambda: gated.waiting == 2)
        page = await asyncio.wait_for(http.get("/staff"), GATE_SECONDS)
        still_waiting = gated.waiting
        gated.gate.set()
        answers = await asyncio.gather(*resets)
    assert all_waiting, "the resets never waited in their hashes together: hashing blocks"
    assert page.status_code == 200 and "jo.officer" in page.text
    assert still_waiting == 2, "the staff page answered only once the hashes were done"
    assert [a.status_code for a in answers] == [303, 303]


class Watched:
    """A stand-in for app.state.store or app.state.accounts that notes, for every method called,
    whether it ran on the event loop's thread."""

    def __init__(self, target: Any, name: str, loop_thread: int, calls: list[str]) -> None:
        self._target, self._name, self._loop, self._calls = target, name, loop_thread, calls

    def __getattr__(self, attr: str) -> Any:
        value = getattr(self._target, attr)
        if not callable(value):
            return value

        def call(*args: Any, **kwargs: Any) -> Any:
            on_loop = threading.get_ident() == self._loop
            self._calls.append(f"{self._name}.{attr}{' ON THE LOOP' if on_loop else ''}")
            return value(*args, **kwargs)

        return call


async def test_every_records_call_of_the_pages_runs_in_a_worker_thread(
    down_app: FastAPI,  # noqa: F811 - the fixture imported above
) -> None:
    calls: list[str] = []
    loop = threading.get_ident()
    app = down_app
    app.state.store = Watched(app.state.store, "store", loop, calls)
    app.state.accounts = Watched(app.state.accounts, "accounts", loop, calls)
    async with admin_http(app) as http:
        csrf = await admin_sign_in(http, "mo.manager")
        header = {"X-CSRF-Token": csrf}
        pages = [
            await http.get("/queues/mine"),
            await http.get("/queues/team", params={"kind": "complaint", "sort": "due"}),
            await http.get("/search", params={"q": "Rita"}),
            await http.get("/staff"),
            await http.post(
                "/staff",
                data={
                    "id": "new.person",
                    "name": "New Person",
                    "email": "new.person@wkha.example",
                    "role": "advisor",
                    "password": "a long new password",
                },
                headers=header,
            ),
            await http.post(
                "/staff/ali.advisor", data={"role": "advisor", "active": "on"}, headers=header
            ),
            await http.get("/complaints/new"),
            await http.get("/enquiries/new"),
            await http.post("/complaints/new", data=_new_complaint(), headers=header),
            await http.get(f"/cases/{RECORDED_COMPLAINT}"),
            await http.get("/cases/CMP-0000-0009"),
            await http.get(f"/cases/{RECORDED_COMPLAINT}/letters/s1_acknowledgement"),
            await http.get("/healthz"),
        ]
    assert [p.status_code for p in pages] == [
        200, 200, 200, 200, 303, 303, 200, 200, 503, 503, 503, 404, 200
    ]  # fmt: skip
    called = {c.removesuffix(" ON THE LOOP") for c in calls}
    assert {
        "accounts.session_account",
        "accounts.all",
        "accounts.create",
        "accounts.get",
        "accounts.update",
        "store.list_cases",
        "store.search_cases",
        "store.get_case",
        "store.events",
        "store.letters",
        "store.get_letter",
    } <= called, called
    assert [c for c in calls if c.endswith("ON THE LOOP")] == []
