"""Sessions end when their account changes, and the logs carry nothing personal.

- A session cookie (even a copy of it, in another browser) stops working once its account is
  closed, and stays dead when the account is opened again; the same after a password reset. A
  manager resetting their own password stays signed in where they did it, and only there.
- `python -m admin`, run for real: its access log names each request's path without the query
  string (searches carry residents' names and postcodes), in both log formats.
- A logged exception shows its type and where it happened, never its message.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel, ValidationError

from records.store import RecordsStore
from tests.admin.conftest import admin_http, admin_sign_in, fresh_csrf
from tests.conftest import STACK_PAYLOAD_KEYS
from tests.processes import ServiceProcess, free_port
from tests.support import STAFF_PASSWORD, create_staff
from worker.observability import DROP_QUERY_STRINGS, JsonFormatter, TextFormatter

COOKIE = "complaints_session"
NEW_PASSWORD = "a brand new secret password"


async def signed_in_copy(app: FastAPI, username: str) -> tuple[httpx.Cookies, str]:
    """Sign `username` in; return the browser's cookies (to copy) and its CSRF token."""
    async with admin_http(app) as http:
        csrf = await admin_sign_in(http, username)
        return http.cookies, csrf


async def with_cookie(app: FastAPI, cookie: str, path: str = "/queues/mine") -> httpx.Response:
    """A request from another browser carrying a copied session cookie."""
    async with admin_http(app) as other:
        return await other.get(path, headers={"Cookie": f"{COOKIE}={cookie}"})


def works(response: httpx.Response) -> bool:
    if response.status_code == 200:
        return True
    assert response.status_code == 303 and response.headers["location"].startswith("/login")
    return False


async def change(app: FastAPI, target: str, **form: str) -> None:
    async with admin_http(app) as manager:
        csrf = await admin_sign_in(manager, "mo.manager")
        answer = await manager.post(f"/staff/{target}", data=form, headers={"X-CSRF-Token": csrf})
        assert answer.status_code == 303, answer.text


async def test_closing_an_account_ends_its_sessions_for_good(offline_admin_app: FastAPI) -> None:
    app = offline_admin_app
    cookies, _ = await signed_in_copy(app, "jo.officer")
    copied = cookies[COOKIE]
    assert works(await with_cookie(app, copied))
    await change(app, "jo.officer", role="case_officer")  # "active" unticked: closed
    assert not works(await with_cookie(app, copied))
    await change(app, "jo.officer", role="case_officer", active="on")  # opened again
    assert not works(await with_cookie(app, copied)), "reopening brought an old session back"
    async with admin_http(app) as http:
        await admin_sign_in(http, "jo.officer")  # a new sign-in works
        assert (await http.get("/queues/mine")).status_code == 200


async def test_an_empty_active_field_closes_the_account_as_an_unticked_box_does(
    offline_admin_app: FastAPI,
) -> None:
    """A hand-made post may send `active=` empty: that is not a tick."""
    app = offline_admin_app
    cookies, _ = await signed_in_copy(app, "jo.officer")
    await change(app, "jo.officer", role="case_officer", active="")
    assert not works(await with_cookie(app, cookies[COOKIE]))
    async with admin_http(app) as http:  # and a closed account cannot sign in
        answer = await http.post(
            "/login",
            data={
                "username": "jo.officer",
                "password": STAFF_PASSWORD,
                "csrf_token": await fresh_csrf(http),
            },
        )
        assert answer.status_code == 400


async def test_a_password_reset_ends_the_accounts_sessions(offline_admin_app: FastAPI) -> None:
    app = offline_admin_app
    cookies, _ = await signed_in_copy(app, "jo.officer")
    copied = cookies[COOKIE]
    other_cookies, _ = await signed_in_copy(app, "sam.reviewer")
    await change(app, "jo.officer", role="case_officer", active="on", password=NEW_PASSWORD)
    assert not works(await with_cookie(app, copied))
    assert works(await with_cookie(app, other_cookies[COOKIE])), "only jo's sessions end"
    async with admin_http(app) as http:
        await admin_sign_in(http, "jo.officer", NEW_PASSWORD)
        assert (await http.get("/queues/mine")).status_code == 200


async def test_a_role_change_keeps_the_session(offline_admin_app: FastAPI) -> None:
    app = offline_admin_app
    cookies, _ = await signed_in_copy(app, "jo.officer")
    await change(app, "jo.officer", role="reviewer", active="on")
    assert works(await with_cookie(app, cookies[COOKIE]))


async def test_a_manager_resetting_their_own_password_stays_signed_in_only_there(
    offline_admin_app: FastAPI,
) -> None:
    app = offline_admin_app
    elsewhere, _ = await signed_in_copy(app, "mo.manager")
    async with admin_http(app) as here:
        csrf = await admin_sign_in(here, "mo.manager")
        answer = await here.post(
            "/staff/mo.manager",
            data={"role": "manager", "active": "on", "password": NEW_PASSWORD},
            headers={"X-CSRF-Token": csrf},
        )
        assert answer.status_code == 303
        page = await here.get("/staff")
        assert page.status_code == 200 and "Password reset and account mo.manager" in page.text
    assert not works(await with_cookie(app, elsewhere[COOKIE]))


# ------------------------------------------------------------------------- access log


@pytest.fixture
def admin_process(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[tuple[str, Path]]:
    """`python -m admin` on a free port, with staff accounts and no Temporal; its log file."""
    log_format = request.param
    url = f"sqlite:///{tmp_path / 'records.db'}"
    store = RecordsStore(url)
    store.migrate()
    create_staff(store)
    store.dispose()
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "OUTBOX_DIR": str(tmp_path / "outbox"),
        "ADMIN_HOST": "127.0.0.1",
        "ADMIN_PORT": str(port),
        "ADMIN_SECRET_KEY": "access-log-test-" + uuid.uuid4().hex,
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "PAYLOAD_KEYS": STACK_PAYLOAD_KEYS,
        "TEMPORAL_ADDRESS": "127.0.0.1:1",  # nothing listens: the app starts without it
        "LOG_FORMAT": log_format,
        "PYTHONUNBUFFERED": "1",
    }
    log = tmp_path / "admin.log"
    admin = ServiceProcess("admin", env, log, "Uvicorn running on")
    admin.start()
    try:
        yield f"http://127.0.0.1:{port}", log
    finally:
        admin.stop()


@pytest.mark.parametrize("admin_process", ["json", "text"], indirect=True)
def test_the_access_log_has_paths_without_query_strings(admin_process: tuple[str, Path]) -> None:
    base, log = admin_process
    with httpx.Client(base_url=base, timeout=10, follow_redirects=False) as http:
        token = http.get("/login").text.split('name="csrf_token" value="')[1].split('"')[0]
        signed_in = http.post(
            "/login",
            data={"username": "jo.officer", "password": STAFF_PASSWORD, "csrf_token": token},
        )
        assert signed_in.status_code == 303
        assert http.get("/search", params={"q": "Ann Example"}).status_code == 200
        assert http.get("/api/search", params={"q": "TN13 1AA"}).status_code == 200
        assert http.get("/queues/team", params={"owner": "ann.example"}).status_code == 200
        http.cookies.clear()
        assert http.get("/search", params={"q": "Bob Resident"}).status_code == 303
        assert http.get("/login", params={"next": "/search?q=Cat Resident"}).status_code == 200
        assert http.get("/healthz").status_code == 200
    lines = [line for line in log.read_text().splitlines() if "HTTP/1.1" in line]
    if lines[0].startswith("{"):  # LOG_FORMAT=json: one object a line
        assert all(json.loads(line)["logger"] == "uvicorn.access" for line in lines)
        lines = [json.loads(line)["message"] for line in lines]
    assert any('"GET /search HTTP/1.1" 200' in line for line in lines), lines
    assert any('"GET /search HTTP/1.1" 303' in line for line in lines), lines
    assert any('"GET /api/search HTTP/1.1"' in line for line in lines), lines
    assert any('"GET /queues/team HTTP/1.1" 200' in line for line in lines), lines
    assert any('"GET /login HTTP/1.1" 200' in line for line in lines), lines
    for personal in ("Ann", "TN13", "ann.example", "Bob", "Cat", "q=", "?"):
        assert personal not in "\n".join(lines), personal


def test_the_admin_app_drops_query_strings_from_the_access_log_once_imported() -> None:
    import admin.app  # noqa: F401 - importing it is what attaches the filter

    access = logging.getLogger("uvicorn.access")
    assert DROP_QUERY_STRINGS in access.filters
    record = access.makeRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/api/search?q=TN13+1AA", "1.1", 200),
        None,
    )
    assert access.filter(record)
    assert record.getMessage() == '127.0.0.1:5000 - "GET /api/search HTTP/1.1" 200'


# ---------------------------------------------------------------------------- exceptions


class Resident(BaseModel):
    name: str
    age: int


def logged_error() -> logging.LogRecord:
    """The record uvicorn logs for an exception a route did not handle: here a validation error
    quoting what a resident typed."""
    typed = {"name": " ".join(["Ann", "Example"]), "age": "TN13 " + "1AA"}
    try:
        Resident.model_validate(typed)  # the source lines must not show the values either
    except ValidationError:
        message = "Exception in ASGI application"
        return logging.LogRecord(
            "uvicorn.error", logging.ERROR, __file__, 1, message, (), sys.exc_info()
        )
    raise AssertionError("the model took a postcode for an age")


def test_a_logged_exception_shows_its_type_and_place_not_its_message() -> None:
    record = logged_error()
    text = TextFormatter("%(levelname)s %(name)s %(message)s").format(record)
    assert "pydantic_core._pydantic_core.ValidationError (message not logged)" in text
    assert "test_sessions_and_logs.py" in text and "in logged_error" in text
    entry = json.loads(JsonFormatter().format(record))
    assert entry["error"] == "pydantic_core._pydantic_core.ValidationError"
    assert "logged_error" in entry["where"]
    for personal in ("Ann Example", "TN13"):
        assert personal not in text and personal not in json.dumps(entry)


def test_a_traceback_another_formatter_cached_is_not_reused() -> None:
    record = logged_error()
    assert "TN13 1AA" in logging.Formatter().format(record)  # it caches record.exc_text
    assert "TN13 1AA" not in TextFormatter().format(record)
