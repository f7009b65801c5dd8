from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from temporalio.testing import ActivityEnvironment

from activities import records as records_activity
from activities.records import get_store, record_case, set_store
from domain.records import CaseSnapshot, RecordRequest, TimelineEntry
from records.store import RecordsStore

T0 = datetime(2025, 3, 3, 9, 30, tzinfo=UTC)


def request(status: str = "awaiting_acknowledgement", hours: int = 0) -> RecordRequest:
    return RecordRequest(
        snapshot=CaseSnapshot(
            reference="CMP-2025-0042",
            workflow_id="complaint-CMP-2025-0042",
            stage="stage1",
            status=status,
            resident_name="Amina Okafor",
            postcode="TN13 1AX",
            channel="email",
            received_at=T0,
            updated_at=T0 + timedelta(hours=hours),
        ),
        events=[
            TimelineEntry(seq=1, at=T0, step="lodged", summary="Complaint received by email"),
        ],
    )


@pytest.fixture(autouse=True)
def fresh_store() -> Iterator[None]:
    set_store(None)
    yield
    store = records_activity._store
    set_store(None)
    if store is not None:
        store.dispose()


def test_record_case_migrates_on_first_use_and_is_idempotent(tmp_path: Path) -> None:
    store = RecordsStore(f"sqlite:///{tmp_path / 'records.db'}")  # deliberately not migrated
    set_store(store)
    env = ActivityEnvironment()

    env.run(record_case, request())
    env.run(record_case, request())  # a retry changes nothing
    env.run(record_case, request("acknowledged", hours=1))

    case = store.get_case("CMP-2025-0042")
    assert case is not None and case.status == "acknowledged"
    assert [e.summary for e in store.events("CMP-2025-0042")] == ["Complaint received by email"]


def test_store_is_built_lazily_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'env' / 'records.db'}"
    monkeypatch.setenv("DATABASE_URL", url)

    ActivityEnvironment().run(record_case, request())

    assert get_store() is get_store()
    reader = RecordsStore(url)
    try:
        assert reader.get_case("CMP-2025-0042") is not None
    finally:
        reader.dispose()
