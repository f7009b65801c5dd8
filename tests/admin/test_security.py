"""The admin app's security promises, checked against every route the app has, so a route added
later is covered without touching this file:

- every route but the public allow-list refuses an anonymous request (pages redirect to sign-in,
  the API answers 401);
- every unsafe request (POST, PUT, PATCH, DELETE) without the session's CSRF token, or with a
  wrong one, is refused with 403, even when signed in;
- sign-in is rate limited, the session cookie is HttpOnly and SameSite=Lax, signing out ends the
  session, the `next` redirect stays on this site, passwords are stored as argon2 hashes, and
  production mode refuses to start without a secret key or with the demo password.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.routing import Mount

import admin.__main__ as admin_main
from admin.accounts import DEMO_MANAGER_ID, AccountStore
from admin.app import create_app
from admin.security import UNSAFE
from config import Settings
from records.schema import StaffAccount
from records.store import RecordsStore
from tests.admin.conftest import (
    ADMIN_SECRET,
    ADMIN_STAFF,
    STAFF_PASSWORD,
    admin_http,
    admin_sign_in,
    fresh_csrf,
)

# Open without sign-in: the residents' form, sign-in itself, the health check, the public
# "you said, we did" page, static files.
PUBLIC: frozenset[tuple[str, str]] = frozenset(
    {
        ("GET", "/complain"),
        ("POST", "/complain"),
        # the form's "check your answers" page, and back to the form from it (nothing lodged)
        ("POST", "/complain/check"),
        ("POST", "/complain/change"),
        ("GET", "/complain/done/{reference}"),
        ("GET", "/healthz"),
        ("GET", "/you-said-we-did"),
        ("GET", "/performance"),  # figures only: rate limited like the page above
        *{("GET", "/annual-reports"), ("GET", "/annual-reports/{year_label}")},  # as above
        ("GET", "/survey/{token}"),
        ("POST", "/survey/{token}"),
        # the resident's own case, by the personal link in their letters (admin/routes/resident.py)
        ("GET", "/your-case/{token}"),
        ("GET", "/your-case/{token}/letters/{key}"),
        ("GET", "/your-case/{token}/stage-2"),
        ("POST", "/your-case/{token}/stage-2"),
        ("GET", "/your-case/{token}/{slug}"),  # ask us to call you back; reply to us
        ("POST", "/your-case/{token}/{slug}"),
        ("GET", "/login"),
        ("POST", "/login"),
        # CORS preflights for the Temporal Web UI's codec calls: browsers send them without
        # credentials; they answer headers naming the Web UI's origin only (admin/routes/codec.py)
        ("OPTIONS", "/codec/encode"),
        ("OPTIONS", "/codec/decode"),
        # SendGrid's Inbound Parse webhook: protected by the secret in its URL (and optionally
        # basic auth) instead of a session; 404 without them (admin/routes/inbound.py)
        ("POST", "/inbound/sendgrid/{secret}"),
    }
)
# Unsafe routes without the CSRF check (admin/security.py says why): they check a secret instead.
CSRF_EXEMPT: frozenset[tuple[str, str]] = frozenset({("POST", "/inbound/sendgrid/{secret}")})
PUBLIC_MOUNTS = frozenset({"/static"})
_PARAM = re.compile(r"{(\w+)(?::(\w+))?}")


def fastapi_docs(app: FastAPI) -> frozenset[tuple[str, str]]:
    """FastAPI's own documentation routes, public while `create_app` configures them (the API
    router also serves staff-only ones at the same paths, used once those are switched off)."""
    found: set[tuple[str, str]] = set()
    for url in (app.openapi_url, app.docs_url, app.swagger_ui_oauth2_redirect_url):
        if url and (url != app.swagger_ui_oauth2_redirect_url or app.docs_url):
            found |= {("GET", url), ("HEAD", url)}
    return frozenset(found)


def every_route(app: FastAPI) -> Iterator[tuple[str, str, Any]]:
    """(method, path, route) for every method of every route, included routers' too."""
    for context in iter_route_contexts(app.routes):
        route = context.route
        if isinstance(route, Mount) or context.methods is None:
            continue
        for method in sorted(context.methods):
            yield method, context.path, route


def sample_path(path: str) -> str:
    """The path with each parameter filled with a dummy value of the right shape."""

    def fill(match: re.Match[str]) -> str:
        convertor = match.group(2)
        if convertor in {"int", "float"}:
            return "1"
        if convertor == "uuid":
            return "00000000-0000-0000-0000-000000000000"
        return "CMP-0000-0000"

    return _PARAM.sub(fill, path)


def is_public(app: FastAPI, method: str, path: str) -> bool:
    return (method, path) in PUBLIC | fastapi_docs(app) or (
        method == "HEAD" and ("GET", path) in PUBLIC
    )


@pytest.fixture
def app(offline_admin_app: FastAPI) -> FastAPI:
    return offline_admin_app


def test_the_route_list_is_complete_and_the_allow_list_is_not_stale(app: FastAPI) -> None:
    routes = {(method, path) for method, path, _ in every_route(app)}
    assert routes >= PUBLIC, f"allow-listed routes that no longer exist: {PUBLIC - routes}"
    # the enumeration reaches inside included routers (FastAPI nests them)
    assert ("GET", "/api/session") in routes
    assert ("POST", "/api/cases/{reference}/steps/accept") in routes
    assert len([r for r in routes if not is_public(app, *r)]) >= 15
    mounts = {getattr(r, "path", None) for r in app.routes if isinstance(r, Mount)}
    assert mounts == PUBLIC_MOUNTS


async def test_every_non_public_route_refuses_an_anonymous_request(app: FastAPI) -> None:
    checked = []
    async with admin_http(app) as client:
        for method, path, _ in every_route(app):
            if is_public(app, method, path):
                continue
            url = sample_path(path)
            headers = {}
            if method in UNSAFE:
                # An anonymous session's valid CSRF token (fetched afresh: POST /logout clears
                # the session), so the request reaches the sign-in check.
                headers["X-CSRF-Token"] = await fresh_csrf(client)
            response = await client.request(method, url, headers=headers, json={})
            where = f"{method} {path}"
            if path.startswith(("/api/", "/codec/")):  # JSON for programs, not pages
                assert response.status_code == 401, where
                if method != "HEAD":
                    assert response.json() == {"detail": "Sign in first."}, where
            else:
                # to sign-in, back to the page afterwards (sign-out just goes to sign-in)
                assert response.status_code == 303, where
                assert response.headers["location"] in {f"/login?next={url}", "/login"}, where
            checked.append(where)
    assert checked


async def test_the_public_routes_are_open(app: FastAPI) -> None:
    async with admin_http(app) as client:
        for url in ("/complain", "/complain/done/CMP-0000-0000", "/healthz", "/login"):
            assert (await client.get(url)).status_code == 200, url
        assert (await client.get("/static/app.css")).status_code == 200


async def test_every_unsafe_route_refuses_a_missing_or_wrong_csrf_token(app: FastAPI) -> None:
    unsafe = [(m, p) for m, p, _ in every_route(app) if m in UNSAFE and (m, p) not in CSRF_EXEMPT]
    assert ("POST", "/complain") in unsafe and ("POST", "/login") in unsafe
    async with admin_http(app) as client:
        good = await admin_sign_in(client, "mo.manager")  # may take every step
        wrong = good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB")
        for method, path in unsafe:
            url, where = sample_path(path), f"{method} {path}"
            attempts: list[dict[str, Any]] = [
                {"json": {}},  # no token at all
                {"data": {"anything": "x"}},  # a form without the field
                {"json": {}, "headers": {"X-CSRF-Token": wrong}},
                {"data": {"csrf_token": wrong}},
                {"data": {"csrf_token": ""}},
            ]
            for attempt in attempts:
                response = await client.request(method, url, **attempt)
                assert response.status_code == 403, f"{where} {attempt}"
                assert "did not come from this site" in response.text, where
        # and the session is still signed in: only the requests were refused
        assert (await client.get("/api/session")).status_code == 200


async def test_a_token_from_another_session_is_refused(app: FastAPI) -> None:
    async with admin_http(app) as mallory, admin_http(app) as jo:
        other = await admin_sign_in(mallory, "ali.advisor")
        await admin_sign_in(jo, "jo.officer")
        response = await jo.post("/api/complaints", json={}, headers={"X-CSRF-Token": other})
    assert response.status_code == 403


async def test_sign_in_is_rate_limited_after_five_failures(app: FastAPI) -> None:
    async with admin_http(app) as client:
        csrf = await fresh_csrf(client)

        async def attempt(password: str) -> httpx.Response:
            return await client.post(
                "/login",
                data={"username": "jo.officer", "password": password, "csrf_token": csrf},
            )

        for n in range(5):
            failed = await attempt(f"wrong password {n}")
            assert failed.status_code == 400
            assert "The username or password is not right." in failed.text
        sixth = await attempt("wrong password 5")
        assert sixth.status_code == 429
        assert "You have tried to sign in too many times. Try again in 15 minutes." in sixth.text
        # even the right password waits now
        right = await attempt(STAFF_PASSWORD)
        assert right.status_code == 429
        assert (await client.get("/api/session")).status_code == 401


async def test_the_session_cookie_is_httponly_and_samesite_lax(
    app: FastAPI, admin_settings: Settings, store: RecordsStore
) -> None:
    async with admin_http(app) as client:
        cookie = (await client.get("/login")).headers["set-cookie"].lower()
    assert cookie.startswith("complaints_session=")
    assert "httponly" in cookie and "samesite=lax" in cookie
    assert "secure" not in cookie  # development runs on plain http://127.0.0.1

    production = create_app(admin_settings.model_copy(update={"app_env": "production"}), store)
    async with admin_http(production) as client:
        cookie = (await client.get("/login")).headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" in cookie


async def test_signing_out_ends_the_session(app: FastAPI) -> None:
    async with admin_http(app) as client:
        csrf = await admin_sign_in(client, "jo.officer")
        out = await client.post("/logout", data={"csrf_token": csrf})
        assert out.status_code == 303 and out.headers["location"] == "/login"
        assert (await client.get("/api/session")).status_code == 401
        assert (await client.get("/api/cases")).status_code == 401


async def test_a_copy_of_the_cookie_from_before_signing_out_is_refused(app: FastAPI) -> None:
    async with admin_http(app) as client:
        csrf = await admin_sign_in(client, "jo.officer")
        stolen = client.cookies["complaints_session"]
        await client.post("/logout", data={"csrf_token": csrf})
    async with admin_http(app) as thief:
        thief.cookies.set("complaints_session", stolen)
        assert (await thief.get("/api/session")).status_code == 401


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example",
        "//evil.example/login",
        "https://evil.example/",
        "http:evil.example",
        "/\\evil.example",
        "/\t/evil.example",
        "/\\/evil.example",
    ],
)
async def test_the_next_redirect_stays_on_this_site(app: FastAPI, target: str) -> None:
    async with admin_http(app) as client:
        page = await client.get("/login", params={"next": target})
        assert 'value="//' not in page.text and "https://evil" not in page.text
        csrf = await fresh_csrf(client)
        response = await client.post(
            "/login",
            data={
                "username": "jo.officer",
                "password": STAFF_PASSWORD,
                "next": target,
                "csrf_token": csrf,
            },
        )
    assert response.status_code == 303
    location = response.headers["location"]
    # where a browser goes: it reads a backslash as a slash and drops tabs and newlines
    browser_reads = re.sub(r"[\t\r\n]", "", location.replace("\\", "/"))
    assert urlsplit(urljoin("http://testserver/login", browser_reads)).netloc == "testserver"


async def test_a_signed_in_redirect_goes_back_to_the_page_asked_for(app: FastAPI) -> None:
    async with admin_http(app) as client:
        first = await client.get("/api/session")
        assert first.status_code == 401
        csrf = await fresh_csrf(client)
        response = await client.post(
            "/login",
            data={
                "username": "jo.officer",
                "password": STAFF_PASSWORD,
                "next": "/queues/team?page=2",
                "csrf_token": csrf,
            },
        )
    assert response.headers["location"] == "/queues/team?page=2"


def test_passwords_are_stored_as_argon2_hashes(app: FastAPI, store: RecordsStore) -> None:
    with Session(store.engine) as session:
        rows = session.execute(select(StaffAccount.id, StaffAccount.password_hash)).all()
    assert {account_id for account_id, _ in rows} == set(ADMIN_STAFF)
    for account_id, password_hash in rows:
        assert password_hash.startswith("$argon2id$"), account_id
        assert STAFF_PASSWORD not in password_hash


# ------------------------------------------------------------------------ production mode


@pytest.fixture
def production(settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setattr(admin_main, "DEMO_PASSWORD_FILE", tmp_path / "demo-manager-password")
    monkeypatch.setattr(admin_main, "DEV_SECRET_FILE", tmp_path / "admin-secret")
    env = {"APP_ENV": "production", "DATABASE_URL": settings.database_url}
    return Settings.from_env(env)


def test_production_refuses_to_start_without_a_secret_key(production: Settings) -> None:
    assert production.production and production.admin_secret_key is None
    with pytest.raises(admin_main.RefuseToStart, match="ADMIN_SECRET_KEY"):
        admin_main.prepare(production)
    assert not admin_main.DEV_SECRET_FILE.exists()  # no made-up key in production


def test_production_refuses_to_start_while_the_demo_manager_has_its_demo_password(
    production: Settings,
) -> None:
    # A first run in development creates the demo manager and its password file...
    store = RecordsStore.from_settings(production)
    store.migrate()
    assert AccountStore(store).ensure_demo_manager(str(admin_main.DEMO_PASSWORD_FILE))
    # ...and production will not start with it.
    with_key = production.model_copy(update={"admin_secret_key": ADMIN_SECRET})
    with pytest.raises(admin_main.RefuseToStart, match="demo password"):
        admin_main.prepare(with_key)
    # Once the password is changed it starts.
    AccountStore(store).update(DEMO_MANAGER_ID, password="a new long password 123")
    # ...but not without the secret that checks the satisfaction survey links...
    with pytest.raises(admin_main.RefuseToStart, match="SURVEY_SECRET"):
        admin_main.prepare(with_key)
    # ...and with it, it starts.
    started, _ = admin_main.prepare(with_key.model_copy(update={"survey_secret": "a secret"}))
    assert started.admin_secret_key == ADMIN_SECRET
    assert started.survey_secret == "a secret"
