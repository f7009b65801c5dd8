"""Shared fixtures for the admin app's tests.

The app is driven in the test's own event loop through `httpx.ASGITransport` (not Starlette's
TestClient, which runs the app in another loop: the Temporal client belongs to this one).
`offline_admin_app` has no Temporal client, for everything that must be refused or checked before
a case is touched; `live_admin_app` has the time-skipping test server and a real worker.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from fastapi import FastAPI
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from admin.accounts import Role
from admin.app import create_app
from config import Settings
from records.store import RecordsStore
from tests.support import STAFF_ACCOUNTS, STAFF_PASSWORD, create_staff

ADMIN_SECRET = "test-secret-" + "x" * 32
ADMIN_STAFF: dict[str, tuple[str, Role]] = {
    account_id: (name, Role(role)) for account_id, (name, role) in STAFF_ACCOUNTS.items()
}
_CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def admin_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"admin_secret_key": ADMIN_SECRET})


@pytest.fixture
def admin_staff(store: RecordsStore) -> dict[str, tuple[str, Role]]:
    """One account per role (ids in ADMIN_STAFF), all with STAFF_PASSWORD."""
    create_staff(store)
    return ADMIN_STAFF


@pytest.fixture
def offline_admin_app(
    admin_settings: Settings, store: RecordsStore, admin_staff: dict[str, tuple[str, Role]]
) -> FastAPI:
    """The app with staff accounts but no Temporal client."""
    return create_app(admin_settings, store)


@pytest.fixture
def live_admin_app(
    admin_settings: Settings,
    store: RecordsStore,
    admin_staff: dict[str, tuple[str, Role]],
    env: WorkflowEnvironment,
    worker: Worker,
) -> FastAPI:
    """The app with staff accounts, the time-skipping Temporal server and a running worker."""
    return create_app(admin_settings, store, client=env.client)


@asynccontextmanager
async def admin_http(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client for `app` with its own cookie jar (one browser, one person)."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://testserver", follow_redirects=False
    ) as client:
        yield client


def csrf_in(html: str) -> str:
    """The CSRF token in a page's form."""
    found = _CSRF_INPUT.search(html)
    assert found, "no csrf_token field on the page"
    return found.group(1)


async def fresh_csrf(client: httpx.AsyncClient) -> str:
    """Start a session (anonymous) and return its CSRF token, from the sign-in page."""
    page = await client.get("/login")
    assert page.status_code == 200, page.text
    return csrf_in(page.text)


async def admin_sign_in(
    client: httpx.AsyncClient, username: str, password: str = STAFF_PASSWORD
) -> str:
    """Sign in through the form, as a browser would; returns the new session's CSRF token
    (from GET /api/session)."""
    token = await fresh_csrf(client)
    response = await client.post(
        "/login",
        data={"username": username, "password": password, "next": "/", "csrf_token": token},
    )
    assert response.status_code == 303, response.text
    session = await client.get("/api/session")
    assert session.status_code == 200, session.text
    return session.json()["csrf_token"]
