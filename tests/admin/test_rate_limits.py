"""Rate limits on sign-in and on the residents' form (admin/rate_limits.py), as people see them:
the refusal page (429, Retry-After, "Try again in ..."), one allowance shared by every app
process (records database on SQLite and PostgreSQL, or Redis), X-Forwarded-For read only from
TRUSTED_PROXIES, and exactly the limit let through when many requests race for it."""

from __future__ import annotations

import asyncio
import os
import threading
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from ipaddress import ip_network
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from fastapi import FastAPI
from limits.storage import RedisStorage
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.requests import Request

from admin.app import create_app
from admin.rate_limits import RateLimits, SqlStorage, client_address, redis_storage
from config import Settings
from records.schema import RateLimitCounter
from records.store import RecordsStore
from tests.admin.conftest import ADMIN_SECRET, csrf_in
from tests.admin.test_public_and_api import error_summary, field_value, form, textarea_value
from tests.conftest import STACK_PAYLOAD_KEYS
from tests.processes import ServiceProcess, free_port
from tests.records.conftest import postgres_url  # noqa: F401 - a fixture, for PostgreSQL runs
from tests.support import STAFF_PASSWORD, create_staff

# CI sets TEST_REDIS_URL (.ci/run): there, a Redis that does not answer fails the tests
REDIS_URL = os.environ.get("TEST_REDIS_URL")
PROXY = "10.0.0.2"  # a trusted proxy in these tests: TRUSTED_PROXIES=10.0.0.0/8
PHONE = "01732 749400"
# settings a process started here must not take from this environment
OUR_SETTINGS = {
    "DATABASE_URL",
    "REDIS_URL",
    "TRUSTED_PROXIES",
    "SIGN_IN_LIMIT_PER_ACCOUNT",
    "SIGN_IN_LIMIT_PER_ADDRESS",
}


class Clock:
    """The limits' clock, moved by hand: windows end without anyone sleeping."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def admin_settings(settings: Settings) -> Settings:
    # this module's apps (live_admin_app too): a trusted proxy, and small limits on the form
    return settings.model_copy(
        update={
            "admin_secret_key": ADMIN_SECRET,
            "trusted_proxies": (ip_network("10.0.0.0/8"),),
            "complaint_limit_per_address": "3 per hour",
            "complaint_limit_per_email": "2 per day",
        }
    )


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'shared' / 'records.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def stores(database_url: str) -> Iterator[Callable[[], RecordsStore]]:
    """Stores on one records database, each as another app process would open it."""
    made: list[RecordsStore] = []

    def make() -> RecordsStore:
        store = RecordsStore(database_url)
        if not made:
            store.migrate()
            create_staff(store)
        made.append(store)
        return store

    yield make
    for store in made:
        store.dispose()


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A key prefix of this test's own in the test Redis; its keys are deleted afterwards."""
    if not REDIS_URL:
        pytest.skip("TEST_REDIS_URL is not set")
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    client.ping()
    prefix = f"test-rate-limits-{uuid.uuid4().hex[:12]}"
    yield prefix
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)
    client.close()


@asynccontextmanager
async def browser_at(app: FastAPI, address: str) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client whose connection comes from `address` (as the app's peer)."""
    transport = httpx.ASGITransport(app=app, client=(address, 51000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def sign_in(
    client: httpx.AsyncClient,
    username: str = "jo.officer",
    password: str = "wrong password",
    forwarded_for: str | None = None,
) -> httpx.Response:
    csrf = csrf_in((await client.get("/login")).text)
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    return await client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf},
        headers=headers,
    )


def with_clock(app: FastAPI, clock: Clock) -> FastAPI:
    settings = app.state.settings
    storage = SqlStorage(app.state.store.engine, clock=clock)
    app.state.rate_limits = RateLimits(settings, storage, clock=clock)
    return app


def stored_keys(store: RecordsStore) -> list[str]:
    with Session(store.engine) as session:
        return list(session.scalars(select(RateLimitCounter.key)))


# ------------------------------------------------------------------------------ sign-in


async def test_the_sixth_failed_sign_in_is_refused_until_the_window_ends(
    offline_admin_app: FastAPI,
) -> None:
    clock = Clock()
    app = with_clock(offline_admin_app, clock)
    async with browser_at(app, "203.0.113.5") as client:
        for _ in range(5):
            failed = await sign_in(client)
            assert failed.status_code == 400
            assert "The username or password is not right." in failed.text
        clock.advance(60)
        sixth = await sign_in(client)
        assert sixth.status_code == 429
        assert "You have tried to sign in too many times. Try again in 14 minutes." in sixth.text
        assert sixth.headers["Retry-After"] == str(15 * 60 - 60)
        right = await sign_in(client, password=STAFF_PASSWORD)  # the right password waits too
        assert right.status_code == 429
        assert (await client.get("/api/session")).status_code == 401

        clock.advance(15 * 60 - 60)  # the window opened by the first failure has ended
        signed_in = await sign_in(client, password=STAFF_PASSWORD)
        assert signed_in.status_code == 303
        assert (await client.get("/api/session")).status_code == 200


async def test_signing_in_clears_the_failures(offline_admin_app: FastAPI) -> None:
    async with browser_at(offline_admin_app, "203.0.113.5") as client:
        for _ in range(4):
            assert (await sign_in(client)).status_code == 400
        assert (await sign_in(client, password=STAFF_PASSWORD)).status_code == 303
        for _ in range(5):  # a fresh allowance, for the account and for the address
            assert (await sign_in(client)).status_code == 400
        assert (await sign_in(client)).status_code == 429


async def test_failures_add_up_per_account_from_any_address(offline_admin_app: FastAPI) -> None:
    for n in range(5):
        async with browser_at(offline_admin_app, f"203.0.113.{n + 1}") as client:
            assert (await sign_in(client)).status_code == 400
    async with browser_at(offline_admin_app, "198.51.100.9") as client:
        refused = await sign_in(client)
        other_account = await sign_in(client, username="sam.reviewer")
    assert refused.status_code == 429 and "Try again in 15 minutes." in refused.text
    assert other_account.status_code == 400  # the refusal did not count against the address


async def test_two_app_processes_share_one_allowance(
    stores: Callable[[], RecordsStore], admin_settings: Settings
) -> None:
    # With the limiter in each process's memory, five failures spread over two processes
    # left each with an allowance still to use.
    one, two = create_app(admin_settings, stores()), create_app(admin_settings, stores())
    async with browser_at(one, "203.0.113.5") as a, browser_at(two, "203.0.113.5") as b:
        for client in (a, b, a, b, a):
            assert (await sign_in(client)).status_code == 400
        refused = await sign_in(b)
    assert refused.status_code == 429
    assert "Try again in 15 minutes." in refused.text


async def test_sign_in_counters_hold_no_names_or_addresses(
    offline_admin_app: FastAPI, store: RecordsStore
) -> None:
    async with browser_at(offline_admin_app, "203.0.113.77") as client:
        await sign_in(client, username="Jo.Officer")
    keys = stored_keys(store)
    assert len(keys) == 2  # one for the account, one for the address
    for key in keys:
        assert "jo" not in key.lower() and "officer" not in key.lower()
        assert "203.0.113" not in key


async def test_a_slow_password_check_does_not_hold_up_other_requests(
    offline_admin_app: FastAPI,
) -> None:
    app = offline_admin_app
    checking, release = threading.Event(), threading.Event()
    authenticate = app.state.accounts.authenticate

    def slow(username: str, password: str) -> Any:
        checking.set()
        release.wait(timeout=5)  # on the event loop, this would stall every other request
        return authenticate(username, password)

    app.state.accounts.authenticate = slow
    async with browser_at(app, "203.0.113.5") as client:
        signing_in = asyncio.create_task(sign_in(client))
        assert await asyncio.to_thread(checking.wait, 5)
        other = await client.get("/complain")
        assert other.status_code == 200
        assert not signing_in.done()  # the form was served while the password was checked
        release.set()
        assert (await signing_in).status_code == 400


# ------------------------------------------------------------------- proxies and addresses


async def test_x_forwarded_for_is_ignored_from_a_peer_that_is_not_a_trusted_proxy(
    offline_admin_app: FastAPI,
) -> None:
    # Another account and another made-up forwarded address each time: only the address of the
    # connection itself can be counted, so the sixth is refused.
    async with browser_at(offline_admin_app, "203.0.113.5") as client:
        for n in range(5):
            failed = await sign_in(client, f"someone.{n}", forwarded_for=f"198.51.100.{n}")
            assert failed.status_code == 400
        refused = await sign_in(client, "someone.5", forwarded_for="198.51.100.5")
    assert refused.status_code == 429


async def test_with_no_trusted_proxies_x_forwarded_for_is_ignored_even_from_localhost(
    admin_settings: Settings, store: RecordsStore, admin_staff: Any
) -> None:
    app = create_app(admin_settings.model_copy(update={"trusted_proxies": ()}), store)
    async with browser_at(app, "127.0.0.1") as client:
        for n in range(5):
            failed = await sign_in(client, f"someone.{n}", forwarded_for=f"1.2.3.{n}")
            assert failed.status_code == 400
        refused = await sign_in(client, "someone.5", forwarded_for="1.2.3.5")
    assert refused.status_code == 429


async def test_x_forwarded_for_from_a_trusted_proxy_names_the_client(
    offline_admin_app: FastAPI,
) -> None:
    async with browser_at(offline_admin_app, PROXY) as client:
        # six people behind the proxy, one failure each: nobody is refused
        for n in range(6):
            failed = await sign_in(client, f"someone.{n}", forwarded_for=f"198.51.100.{n}")
            assert failed.status_code == 400
        # one person behind the proxy making up the hops to the left of theirs: still one person
        # (10.0.0.3 is another trusted proxy in the chain)
        for n in range(5):
            chain = f"192.0.2.{n}, 203.0.113.9, 10.0.0.3"
            failed = await sign_in(client, f"other.{n}", forwarded_for=chain)
            assert failed.status_code == 400
        refused = await sign_in(client, "other.5", forwarded_for="192.0.2.99, 203.0.113.9")
    assert refused.status_code == 429


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        ("203.0.113.5", "198.51.100.1", "203.0.113.5"),  # not from a trusted proxy
        (PROXY, "198.51.100.1", "198.51.100.1"),
        (PROXY, "192.0.2.1, 198.51.100.1, 10.9.9.9", "198.51.100.1"),  # rightmost untrusted
        (PROXY, "10.1.1.1, 10.2.2.2", "10.1.1.1"),  # all trusted: the first
        (PROXY, "not-an-address, 198.51.100.1", "198.51.100.1"),
        (PROXY, "198.51.100.1, junk", PROXY),  # a hop no proxy wrote: the proxy's own
        (PROXY, "[2001:db8:1:2::7]:443", "2001:db8:1:2::/64"),  # IPv6: its /64
        (PROXY, "198.51.100.1:5555", "198.51.100.1"),
        ("2001:db8:1:2:aaaa::1", None, "2001:db8:1:2::/64"),
        ("::ffff:203.0.113.5", None, "203.0.113.5"),
        (PROXY, None, PROXY),
    ],
)
def test_the_client_address(peer: str, forwarded: str | None, expected: str) -> None:
    headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded else []
    request = Request({"type": "http", "client": (peer, 51000), "headers": headers})
    assert client_address(request, (ip_network("10.0.0.0/8"),)) == expected


async def test_uvicorn_itself_honours_x_forwarded_for_only_from_trusted_proxies(
    tmp_path: Path,
) -> None:
    """`python -m admin` as deployed, on localhost: two processes on one database share the
    allowance, and a made-up X-Forwarded-For from 127.0.0.1 (uvicorn's own default trust)
    changes nothing until TRUSTED_PROXIES names it."""

    def start(name: str, database: Path, **extra: str) -> tuple[ServiceProcess, str]:
        port = free_port()
        env = {
            **{k: v for k, v in os.environ.items() if k not in OUR_SETTINGS},
            "DATABASE_URL": f"sqlite:///{database}",
            "ADMIN_PORT": str(port),
            "ADMIN_SECRET_KEY": ADMIN_SECRET,
            "PAYLOAD_KEYS": STACK_PAYLOAD_KEYS,
            "TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}",  # not needed to sign in
            "OUTBOX_DIR": str(tmp_path / "outbox"),
            "PYTHONUNBUFFERED": "1",
            **extra,
        }
        service = ServiceProcess("admin", env, tmp_path / f"{name}.log", "Uvicorn running on")
        service.start()
        return service, f"http://127.0.0.1:{port}"

    async def attempts(urls: list[str], n: int) -> list[int]:
        statuses = []
        clients = [httpx.AsyncClient(base_url=url, timeout=30) for url in urls]
        try:
            for i in range(n):
                client = clients[i % len(clients)]
                statuses.append(
                    (
                        await sign_in(client, f"someone.{i}", forwarded_for=f"198.51.100.{i}")
                    ).status_code
                )
        finally:
            for client in clients:
                await client.aclose()
        return statuses

    for database in (tmp_path / "untrusted.db", tmp_path / "trusted.db"):
        store = RecordsStore(f"sqlite:///{database}")
        store.migrate()
        create_staff(store)  # no demo manager written to the repository's var/
        store.dispose()

    one, url_one = start("one", tmp_path / "untrusted.db")
    two, url_two = start("two", tmp_path / "untrusted.db")
    try:
        assert await attempts([url_one, url_two], 6) == [400] * 5 + [429]
    finally:
        one.stop()
        two.stop()

    trusting, url = start("trusting", tmp_path / "trusted.db", TRUSTED_PROXIES="127.0.0.1")
    try:
        assert await attempts([url], 6) == [400] * 6
    finally:
        trusting.stop()


# -------------------------------------------------------------------------- the form


async def test_the_form_takes_three_complaints_an_hour_from_one_address(
    live_admin_app: FastAPI,
) -> None:
    async with browser_at(live_admin_app, "203.0.113.5") as client:
        csrf = csrf_in((await client.get("/complain")).text)
        for _ in range(4):  # forms sent back to be put right do not count
            unfinished = await client.post("/complain", data=form(csrf, description=""))
            assert unfinished.status_code == 400
        for n in range(3):
            sent = await client.post("/complain", data=form(csrf, email=f"r{n}@example.org"))
            assert sent.status_code == 303, sent.text
        refused = await client.post(
            "/complain",
            data=form(csrf, name="Bo Example", email="bo@example.org", point_2="And again"),
        )
    assert refused.status_code == 429
    assert 3590 <= int(refused.headers["Retry-After"]) <= 3600
    assert error_summary(refused.text) == [
        (
            "#name",
            "You have sent too many complaints from this internet connection. "
            f"Try again in 60 minutes. If it cannot wait, call us on {PHONE}.",
        )
    ]
    # what was typed is all still there
    assert field_value(refused.text, "name") == "Bo Example"
    assert field_value(refused.text, "email") == "bo@example.org"
    assert textarea_value(refused.text, "point_2") == "And again"
    assert textarea_value(refused.text, "description").startswith("My boiler repair")
    assert refused.headers["Cache-Control"] == "no-store"


async def test_the_form_takes_two_complaints_a_day_with_one_email_address(
    live_admin_app: FastAPI, store: RecordsStore
) -> None:
    async with browser_at(live_admin_app, PROXY) as client:
        csrf = csrf_in((await client.get("/complain")).text)

        async def send(email: str, address: str) -> httpx.Response:
            data = form(csrf, email=email)
            return await client.post("/complain", data=data, headers={"X-Forwarded-For": address})

        assert (await send("ann@example.org", "198.51.100.1")).status_code == 303
        assert (await send("Ann+again@Example.org", "198.51.100.2")).status_code == 303
        refused = await send(" ANN@example.org", "198.51.100.3")
        # someone else, from the address that was just refused: its allowance is untouched
        other = await send("bo@example.org", "198.51.100.3")
    assert refused.status_code == 429
    assert 86_390 <= int(refused.headers["Retry-After"]) <= 86_400
    assert error_summary(refused.text) == [
        (
            "#name",
            "You have sent too many complaints with this email address. "
            f"Try again in 24 hours. If it cannot wait, call us on {PHONE}.",
        )
    ]
    assert field_value(refused.text, "email") == "ANN@example.org"
    assert other.status_code == 303
    keys = " ".join(stored_keys(store)).lower()
    assert keys and "ann" not in keys and "example" not in keys and "198.51.100" not in keys


# -------------------------------------------------------------------- storage backends


def _race(limits: list[RateLimits], threads: int) -> int:
    """`threads` complaints at once from one address, spread over `limits` (one per process):
    how many were let through."""
    start = threading.Barrier(threads)

    def one(n: int) -> bool:
        start.wait()
        return limits[n % len(limits)].complaint_refused("203.0.113.5", None) is None

    with ThreadPoolExecutor(max_workers=threads) as pool:
        return sum(pool.map(one, range(threads)))


def test_racing_requests_on_the_records_database_get_exactly_the_limit(
    stores: Callable[[], RecordsStore], admin_settings: Settings
) -> None:
    settings = admin_settings.model_copy(update={"complaint_limit_per_address": "5 per hour"})
    limits = [RateLimits(settings, SqlStorage(stores().engine)) for _ in range(2)]
    assert _race(limits, 16) == 5


def test_racing_requests_on_redis_get_exactly_the_limit(
    admin_settings: Settings, redis_prefix: str
) -> None:
    settings = admin_settings.model_copy(update={"complaint_limit_per_address": "5 per hour"})
    limits = [RateLimits(settings, redis_storage(REDIS_URL, redis_prefix)) for _ in range(2)]
    assert _race(limits, 16) == 5


async def test_with_redis_url_two_app_processes_share_one_allowance_in_redis(
    admin_settings: Settings, store: RecordsStore, admin_staff: Any, redis_prefix: str
) -> None:
    settings = admin_settings.model_copy(update={"redis_url": REDIS_URL})
    apps = [create_app(settings, store), create_app(settings, store)]
    for app in apps:
        assert isinstance(app.state.rate_limits.storage, RedisStorage)  # REDIS_URL chose it
        # this test's own keys in the shared Redis
        app.state.rate_limits = RateLimits(settings, redis_storage(REDIS_URL, redis_prefix))
    async with browser_at(apps[0], "203.0.113.5") as a, browser_at(apps[1], "203.0.113.5") as b:
        for client in (a, b, a, b, a):
            assert (await sign_in(client)).status_code == 400
        refused = await sign_in(b)
        assert refused.status_code == 429
        assert "Try again in 15 minutes." in refused.text
        assert 890 <= int(refused.headers["Retry-After"]) <= 900
    assert stored_keys(store) == []  # nothing counted in the records database
    keys = redis.Redis.from_url(REDIS_URL).keys(f"{redis_prefix}:*")
    assert len(keys) == 2 and not any(b"jo" in k or b"203.0.113" in k for k in keys)


async def test_sign_in_says_so_plainly_when_redis_is_not_answering(
    admin_settings: Settings, store: RecordsStore, admin_staff: Any
) -> None:
    nobody_there = f"redis://127.0.0.1:{free_port()}"
    settings = admin_settings.model_copy(update={"redis_url": nobody_there})
    app = create_app(settings, store)
    async with browser_at(app, "203.0.113.5") as client:
        response = await sign_in(client, password=STAFF_PASSWORD)
        assert (await client.get("/api/session")).status_code == 401
    assert response.status_code == 503
    assert "Sign-in is not working just now. Try again in a few minutes." in response.text


def test_ended_windows_are_cleared_out_of_the_records_database(store: RecordsStore) -> None:
    clock = Clock()
    storage = SqlStorage(store.engine, clock=clock)
    storage.PURGE_EVERY = 3
    storage.incr("ended", 60)
    clock.advance(61)
    assert storage.get("ended") == 0  # the window is over...
    storage.incr("current", 60)
    assert storage.incr("current", 60) == 2
    assert stored_keys(store) == ["current"]  # ...and its row is gone
