"""Records store fixtures: every test runs on SQLite, and on PostgreSQL too when
TEST_DATABASE_URL is set (e.g. postgresql+psycopg://root@127.0.0.1:5432/test).

Each PostgreSQL test gets a schema of its own (selected through the connection's search_path)
that is dropped afterwards, so tests can run repeatedly, and in parallel, on a reused database."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from records.store import RecordsStore
from tests.support import postgres_schema

BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture
def postgres_url() -> Iterator[str]:
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        pytest.skip("TEST_DATABASE_URL is not set")
    with postgres_schema(base) as url:
        yield url


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'var' / 'records.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def make_store(database_url: str) -> Iterator[Callable[[], RecordsStore]]:
    """Builds stores on the test's database (several act like several worker processes);
    all are disposed of before the database is dropped."""
    stores: list[RecordsStore] = []

    def make() -> RecordsStore:
        store = RecordsStore(database_url)
        stores.append(store)
        return store

    yield make
    for store in stores:
        store.dispose()


@pytest.fixture
def store(make_store: Callable[[], RecordsStore]) -> RecordsStore:
    store = make_store()
    store.migrate()
    return store
