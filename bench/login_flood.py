"""/healthz while the sign-in form is flooded, and how fast the app answers with the records
database locked. Runs `python -m admin` as a real process on a free port, with a temporary SQLite
records database, one staff account and no Temporal (pointed at a port where nothing listens).

    .venv/bin/python bench/login_flood.py [--flood 60] [--samples 200] [--seconds 30]
        [--postgres postgresql+psycopg://root@127.0.0.1:5432/test]

1. /healthz p50/p95 at rest (one request at a time).
2. The same while `--flood` browsers sign in at once, over and over (each fetches the form, then
   posts it: half with the right password, half with a wrong one); the ratio of the p95s.
3. With the records database locked by another connection: the time to the answer (and its
   status) of a queue page, a password reset on the staff page, /login and /healthz. SQLite:
   `BEGIN EXCLUSIVE` on the file (WAL lets reads go on under it; writes should answer 503 within
   2 s). PostgreSQL (`--postgres`, in a schema of its own, dropped afterwards): every table
   locked ACCESS EXCLUSIVE, so reads wait too and every page should answer 503 within 2 s.

The sign-in rate limits are raised for the run (SIGN_IN_LIMIT_PER_*), so every attempt hashes
a password. Prints figures; asserts nothing about time.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import os
import re
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from admin.accounts import AccountStore, NewAccount, Role
from records.store import RecordsStore
from tests.processes import ServiceProcess, free_port
from worker.codec import new_key_line

PASSWORD = "bench password 123"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def summary(name: str, seconds: list[float]) -> str:
    ms = [s * 1000 for s in seconds]
    return (
        f"{name:<46} n={len(ms):>4}  p50 {percentile(ms, 50):7.1f} ms  "
        f"p95 {percentile(ms, 95):7.1f} ms  max {max(ms):7.1f} ms  "
        f"mean {statistics.fmean(ms):7.1f} ms"
    )


async def healthz_times(http: httpx.AsyncClient, samples: int, seconds: float) -> list[float]:
    """Up to `samples` /healthz calls one after another (10 ms apart), for at most `seconds`."""
    times: list[float] = []
    deadline = time.perf_counter() + seconds
    while len(times) < samples and time.perf_counter() < deadline:
        started = time.perf_counter()
        answer = await http.get("/healthz")
        times.append(time.perf_counter() - started)
        assert answer.status_code == 200, answer.text
        await asyncio.sleep(0.01)
    return times


async def token(http: httpx.AsyncClient) -> str:
    found = CSRF.search((await http.get("/login")).text)
    assert found, "no CSRF token on the sign-in page"
    return found.group(1)


async def sign_in(http: httpx.AsyncClient, username: str, password: str) -> int:
    answer = await http.post(
        "/login",
        data={
            "username": username,
            "password": password,
            "next": "/",
            "csrf_token": await token(http),
        },
    )
    return answer.status_code


async def browser(
    base: str, right: bool, stop: asyncio.Event, statuses: collections.Counter[int]
) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=120) as http:
        while not stop.is_set():
            password = PASSWORD if right else "not the password"
            statuses[await sign_in(http, "bench.officer", password)] += 1
            http.cookies.clear()  # a new browser each time


async def timed(call: object) -> tuple[float, int]:
    started = time.perf_counter()
    answer = await call  # type: ignore[misc]
    return time.perf_counter() - started, answer.status_code


@contextlib.contextmanager
def postgres_schema(base_url: str) -> Iterator[str]:
    """A schema of its own on the PostgreSQL database at `base_url`: the URL to use it."""
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(base_url).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@contextlib.contextmanager
def locked(database_url: str) -> Iterator[str]:
    """Another program holds the records database's lock; says how."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        holder = sqlite3.connect(url.database or "", isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
        try:
            yield "BEGIN EXCLUSIVE held on the SQLite file by another connection"
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        return
    engine = create_engine(url)
    with engine.connect() as connection:
        tables = inspect(connection).get_table_names()
        connection.execute(text(f"LOCK TABLE {', '.join(tables)} IN ACCESS EXCLUSIVE MODE"))
        try:
            yield f"every table of the PostgreSQL schema locked ({len(tables)}) by another session"
        finally:
            connection.rollback()
    engine.dispose()


async def main(flood: int, samples: int, seconds: float, postgres: str | None) -> None:
    if postgres:
        with postgres_schema(postgres) as url:
            await run(url, flood, samples, seconds)
    else:
        tmp = Path(tempfile.mkdtemp(prefix="bench-login-"))
        await run(f"sqlite:///{tmp / 'records.db'}", flood, samples, seconds)


async def run(database_url: str, flood: int, samples: int, seconds: float) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="bench-login-"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "OUTBOX_DIR": str(tmp / "outbox"),
        "ADMIN_HOST": "127.0.0.1",
        "ADMIN_PORT": str(port),
        "ADMIN_SECRET_KEY": uuid.uuid4().hex * 2,
        "PUBLIC_BASE_URL": base,
        "PAYLOAD_KEYS": new_key_line("bench"),
        "TEMPORAL_ADDRESS": "127.0.0.1:1",  # nothing listens there: no Temporal
        "SIGN_IN_LIMIT_PER_ACCOUNT": "1000000 per minute",
        "SIGN_IN_LIMIT_PER_ADDRESS": "1000000 per minute",
        "LOG_FORMAT": "json",
    }
    store = RecordsStore(env["DATABASE_URL"])
    store.migrate()
    accounts = AccountStore(store)
    for account_id, role in (("bench.officer", Role.case_officer), ("bench.manager", Role.manager)):
        accounts.create(
            NewAccount(
                id=account_id,
                name=account_id.replace(".", " ").title(),
                email=f"{account_id}@example.org",
                role=role,
                password=PASSWORD,
            )
        )
    store.dispose()
    admin = ServiceProcess("admin", env, tmp / "admin.log", "Uvicorn running on")
    admin.start()
    where = make_url(database_url).render_as_string(hide_password=True)
    print(f"admin app on {base}, records database {where}, {os.cpu_count()} CPUs\n")
    try:
        async with httpx.AsyncClient(base_url=base, timeout=120) as http:
            await healthz_times(http, 20, 10)  # warm up
            rest = await healthz_times(http, samples, seconds)
            print(summary("/healthz at rest", rest))

            stop = asyncio.Event()
            statuses: collections.Counter[int] = collections.Counter()
            browsers = [
                asyncio.create_task(browser(base, i % 2 == 0, stop, statuses)) for i in range(flood)
            ]
            await asyncio.sleep(2)  # let the flood build up
            started = time.perf_counter()
            flooded = await healthz_times(http, samples, seconds)
            elapsed = time.perf_counter() - started
            stop.set()
            await asyncio.gather(*browsers)
            print(summary(f"/healthz during a flood of {flood} sign-ins", flooded))
            print(
                f"{'':<46} sign-in answers: {dict(sorted(statuses.items()))} "
                f"(303 signed in, 400 wrong password) in {elapsed + 2:.1f} s"
            )
            ratio = percentile(flooded, 95) / percentile(rest, 95)
            print(f"{'p95 during the flood / p95 at rest':<46} {ratio:.1f}x\n")

        await locked_database(base, database_url)
    finally:
        admin.stop()


async def locked_database(base: str, database_url: str) -> None:
    async with (
        httpx.AsyncClient(base_url=base, timeout=120) as manager,
        httpx.AsyncClient(base_url=base, timeout=120) as visitor,
    ):
        assert await sign_in(manager, "bench.manager", PASSWORD) == 303
        csrf = CSRF.search((await manager.get("/staff")).text)
        assert csrf
        visitor_token = await token(visitor)
        with locked(database_url) as how:
            print(f"with {how}:")
            checks = {
                "GET /queues/mine (a read)": manager.get("/queues/mine"),
                "POST /staff/bench.officer (password reset)": manager.post(
                    "/staff/bench.officer",
                    data={
                        "role": "case_officer",
                        "active": "on",
                        "password": "another bench password",
                        "csrf_token": csrf.group(1),
                    },
                ),
                "POST /login (right password)": visitor.post(
                    "/login",
                    data={
                        "username": "bench.officer",
                        "password": PASSWORD,
                        "csrf_token": visitor_token,
                    },
                ),
                "GET /healthz": manager.get("/healthz"),
            }
            for name, call in checks.items():
                took, status = await timed(call)
                print(f"  {name:<44} {status}  in {took * 1000:7.1f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--flood", type=int, default=60, help="sign-ins at once")
    parser.add_argument("--samples", type=int, default=200, help="/healthz calls per phase")
    parser.add_argument("--seconds", type=float, default=30, help="longest a phase lasts")
    parser.add_argument("--postgres", help="a PostgreSQL URL to run on instead of SQLite")
    args = parser.parse_args()
    asyncio.run(main(args.flood, args.samples, args.seconds, args.postgres))
