"""What reports will count, held in migrated columns: a complaint's category, tenure and
property on its `cases` row, and each point's decision and root cause in `case_point_outcomes`,
kept in step with the newest snapshot (never an older one). SQLite always, PostgreSQL when
TEST_DATABASE_URL is set."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, inspect, select

from domain.records import PointOutcomeRow, RecordRequest
from records.outcomes import CasePointOutcome
from records.schema import Case
from records.store import RecordsStore
from tests.records.test_store import T0, snapshot

UPHELD = PointOutcomeRow(stage=1, point_index=0, decision="upheld", root_cause="delay")
NOT_UPHELD = PointOutcomeRow(stage=1, point_index=1, decision="not_upheld")


def record(store: RecordsStore, minutes: int, **changes) -> None:
    updated = T0 + timedelta(minutes=minutes)
    store.record(RecordRequest(snapshot=snapshot(updated_at=updated, **changes)))


def test_the_migration_adds_the_columns_and_the_table(store: RecordsStore) -> None:
    schema = inspect(store.engine)
    columns = {c["name"]: c for c in schema.get_columns("cases")}
    for name in ("category", "tenure", "property_reference"):
        assert columns[name]["nullable"], name
    indexed = {i["column_names"][0] for i in schema.get_indexes("cases")}
    assert {"category", "tenure", "property_reference"} <= indexed
    outcome_columns = [c["name"] for c in schema.get_columns("case_point_outcomes")]
    assert outcome_columns == [
        "id",
        "reference",
        "stage",
        "point_index",
        "decision",
        "root_cause",
    ]


def test_classification_and_outcomes_follow_the_newest_snapshot(store: RecordsStore) -> None:
    ref = "CMP-2025-0001"
    record(store, 1, category="repairs", tenure="social_rent", property_reference="WK/1")
    case = store.get_case(ref)
    assert (case.category, case.tenure, case.property_reference) == (
        "repairs",
        "social_rent",
        "WK/1",
    )
    assert store.point_outcomes(ref) == []

    record(
        store,
        3,
        category="damp_and_mould",
        tenure="social_rent",
        point_outcomes=[UPHELD, NOT_UPHELD],
    )
    assert store.get_case(ref).category == "damp_and_mould"
    assert store.point_outcomes(ref) == [UPHELD, NOT_UPHELD]

    # a retried older snapshot changes nothing
    record(store, 2, category="repairs", point_outcomes=[])
    assert store.get_case(ref).category == "damp_and_mould"
    assert store.point_outcomes(ref) == [UPHELD, NOT_UPHELD]

    # stage 2 decides the points again: stage 1's rows stay, a changed row is rewritten in place
    stage2 = UPHELD.model_copy(update={"stage": 2, "root_cause": "contractor"})
    record(store, 4, category="damp_and_mould", point_outcomes=[UPHELD, NOT_UPHELD, stage2])
    assert store.point_outcomes(ref) == [UPHELD, NOT_UPHELD, stage2]
    with store.engine.connect() as connection:
        counted = connection.execute(
            select(CasePointOutcome.root_cause, func.count())
            .where(CasePointOutcome.decision.in_(["upheld", "partly_upheld"]))
            .group_by(CasePointOutcome.root_cause)
            .order_by(CasePointOutcome.root_cause)
        ).all()
        assert counted == [("contractor", 1), ("delay", 1)]
        by_category = connection.execute(
            select(Case.category, func.count()).group_by(Case.category)
        ).all()
        assert by_category == [("damp_and_mould", 1)]
