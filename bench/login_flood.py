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
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from admin.accounts import Role
from bench.common import PASSWORD, add_staff, app_env, csrf_in, percentile, sign_in, summary
from tests.processes import ServiceProcess
from tests.support import postgres_schema


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
        with postgres_schema(postgres, prefix="bench") as url:
            await run(url, flood, samples, seconds)
    else:
        tmp = Path(tempfile.mkdtemp(prefix="bench-login-"))
        await run(f"sqlite:///{tmp / 'records.db'}", flood, samples, seconds)


async def run(database_url: str, flood: int, samples: int, seconds: float) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="bench-login-"))
    env = app_env(
        tmp,
        database_url,
        TEMPORAL_ADDRESS="127.0.0.1:1",  # nothing listens there: no Temporal
        SIGN_IN_LIMIT_PER_ACCOUNT="1000000 per minute",
        SIGN_IN_LIMIT_PER_ADDRESS="1000000 per minute",
        LOG_FORMAT="json",
    )
    port = int(env["ADMIN_PORT"])
    base = f"http://127.0.0.1:{port}"
    env["PUBLIC_BASE_URL"] = base
    add_staff(database_url, "bench.officer", Role.case_officer)
    add_staff(database_url, "bench.manager", Role.manager)
    admin = ServiceProcess("admin", env, tmp / "admin.log", "Uvicorn running on")
    admin.start()
    where = make_url(database_url).render_as_string(hide_password=True)
    print(f"admin app on {base}, records database {where}, {os.cpu_count()} CPUs\n")
    try:
        async with httpx.AsyncClient(base_url=base, timeout=120) as http:
            await healthz_times(http, 20, 10)  # warm up
            rest = await healthz_times(http, samples, seconds)
            print(summary("/healthz at rest", rest, width=46))

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
            print(summary(f"/healthz during a flood of {flood} sign-ins", flooded, width=46))
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
        csrf = csrf_in((await manager.get("/staff")).text)
        visitor_token = csrf_in((await visitor.get("/login")).text)
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
                        "csrf_token": csrf,
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
