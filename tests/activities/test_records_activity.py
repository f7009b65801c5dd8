from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from temporalio.testing import ActivityEnvironment

from activities.records import RecordActivities
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


def test_record_case_is_idempotent_and_never_rolls_back(tmp_path: Path) -> None:
    store = RecordsStore(f"sqlite:///{tmp_path / 'records.db'}")
    store.migrate()
    activities = RecordActivities(store)
    env = ActivityEnvironment()

    env.run(activities.record_case, request())
    env.run(activities.record_case, request())  # a retry changes nothing
    env.run(activities.record_case, request("acknowledged", hours=1))
    env.run(activities.record_case, request("awaiting_acknowledgement"))  # late retry of the first

    case = store.get_case("CMP-2025-0042")
    assert case is not None and case.status == "acknowledged"
    assert [e.summary for e in store.events("CMP-2025-0042")] == ["Complaint received by email"]
    store.dispose()
