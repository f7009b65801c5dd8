"""The admin app while the records database is locked or down: a plain 503 within a couple of
seconds (never a 500 after half a minute), `/healthz` naming the part that is down, and nothing
secret or personal in the log lines or in an SQL error.

- Locked: another connection holds `BEGIN EXCLUSIVE` on the SQLite file. Reads still answer (WAL
  lets them), writes (a password reset, a sign-in) answer 503.
- Down: the database file cannot be opened at all. Every page answers 503; the API and /healthz
  answer it in JSON.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from admin.accounts import AccountStore
from admin.app import RECORDS_DOWN
from config import Settings
from records.schema import StaffSession
from records.store import RecordsStore
from tests.admin.conftest import admin_http, admin_sign_in, fresh_csrf
from tests.support import STAFF_PASSWORD, create_staff

ANSWER_WITHIN = 10.0  # seconds: failing to answer by then fails the test (the app aims at 2)
NEW_PASSWORD = "a brand new secret password"


def database_file(settings: Settings) -> Path:
    return Path(settings.database_url.removeprefix("sqlite:///"))


@pytest.fixture
def locked(admin_settings: Settings, offline_admin_app: FastAPI) -> Iterator[None]:
    """Another program holds the records database's write lock for the whole test."""
    holder = sqlite3.connect(database_file(admin_settings), isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        yield
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def take_down(app: FastAPI, settings: Settings) -> None:
    """The database file cannot be opened any more (a directory stands in its place); the
    app's pooled connections are closed, as a restarted database server would close them."""
    app.state.store.dispose()
    path = database_file(settings)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    os.mkdir(path)


async def answer(call: Any) -> Any:
    return await asyncio.wait_for(call, ANSWER_WITHIN)


def assert_records_down_page(response: Any) -> None:
    assert response.status_code == 503, response.text
    assert RECORDS_DOWN in response.text
    assert response.headers["retry-after"].isdigit()


# ------------------------------------------------------------------------------- locked


async def test_a_write_while_the_database_is_locked_answers_503_and_logs_nothing_secret(
    offline_admin_app: FastAPI, admin_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    async with admin_http(offline_admin_app) as http:
        csrf = await admin_sign_in(http, "mo.manager")
        with Session(offline_admin_app.state.store.engine) as s:
            session_ids = list(s.scalars(select(StaffSession.id)))  # the manager's, now
        assert session_ids
        holder = sqlite3.connect(database_file(admin_settings), isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
        try:
            with caplog.at_level(logging.INFO):
                reset = await answer(
                    http.post(
                        "/staff/jo.officer",
                        data={"role": "case_officer", "active": "on", "password": NEW_PASSWORD},
                        headers={"X-CSRF-Token": csrf},
                    )
                )
                queue = await answer(http.get("/queues/mine"))
        finally:
            holder.execute("ROLLBACK")
            holder.close()
    assert_records_down_page(reset)
    assert "The records database is not answering" in reset.text  # the page's heading
    assert queue.status_code == 200, "reads go on while another program writes"
    logged = caplog.text + "".join(str(r.__dict__) for r in caplog.records)
    assert "records database not answering: OperationalError" in caplog.text
    for secret in (NEW_PASSWORD, csrf, *session_ids):
        assert secret not in logged


async def test_sign_in_while_the_database_is_locked_answers_503_not_500(
    offline_admin_app: FastAPI, locked: None
) -> None:
    async with admin_http(offline_admin_app) as http:
        token = await fresh_csrf(http)
        response = await answer(
            http.post(
                "/login",
                data={
                    "username": "jo.officer",
                    "password": STAFF_PASSWORD,
                    "next": "/",
                    "csrf_token": token,
                },
            )
        )
    assert response.status_code == 503, response.text


# --------------------------------------------------------------------------------- down


async def test_every_kind_of_page_answers_503_while_the_database_is_down(
    offline_admin_app: FastAPI, admin_settings: Settings
) -> None:
    async with admin_http(offline_admin_app) as http:
        await admin_sign_in(http, "jo.officer")
        take_down(offline_admin_app, admin_settings)
        queue = await answer(http.get("/queues/mine"))
        search = await answer(http.get("/search", params={"q": "Ann"}))
        api = await answer(http.get("/api/session"))
        health = await answer(http.get("/healthz"))
    assert_records_down_page(queue)
    assert_records_down_page(search)
    assert api.status_code == 503 and api.json() == {"detail": RECORDS_DOWN}
    assert api.headers["retry-after"].isdigit()
    assert health.status_code == 503
    assert health.json() == {"status": "down", "records": "down", "temporal": "down"}


async def test_sign_in_page_and_form_answer_503_while_the_database_is_down(
    offline_admin_app: FastAPI, admin_settings: Settings
) -> None:
    async with admin_http(offline_admin_app) as http:
        token = await fresh_csrf(http)
        take_down(offline_admin_app, admin_settings)
        response = await answer(
            http.post(
                "/login",
                data={"username": "jo.officer", "password": STAFF_PASSWORD, "csrf_token": token},
            )
        )
    assert response.status_code == 503, response.text


# ------------------------------------------------------------------------------ healthz


async def test_healthz_says_temporal_is_down_but_keeps_answering_200(
    offline_admin_app: FastAPI,
) -> None:
    async with admin_http(offline_admin_app) as http:
        health = await http.get("/healthz")
    assert health.status_code == 200
    assert health.json() == {"status": "degraded", "records": "ok", "temporal": "down"}


async def test_healthz_all_well(offline_admin_app: FastAPI) -> None:
    async def up() -> object:
        return object()  # a client: Temporal answered its health check

    offline_admin_app.state.case_system.client_if_up = up
    async with admin_http(offline_admin_app) as http:
        health = await http.get("/healthz")
    assert health.status_code == 200
    assert health.json() == {"status": "ok", "records": "ok", "temporal": "ok"}


# --------------------------------------------------------------------- SQL errors


def test_an_sql_error_does_not_carry_its_parameters(store: RecordsStore) -> None:
    """A failed statement's error (and so any traceback of it) shows the SQL, not the values:
    here a session id, as in a sign-in's INSERT."""
    create_staff(store)
    sid = AccountStore(store).open_session("jo.officer")
    with pytest.raises(IntegrityError) as failed, Session(store.engine) as s, s.begin():
        s.add(StaffSession(id=sid, account_id="jo.officer", created_at=datetime.now(UTC)))
    assert "INSERT INTO staff_sessions" in str(failed.value)
    assert sid not in str(failed.value) and "jo.officer" not in str(failed.value)
