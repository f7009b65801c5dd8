"""What a complaint led to, in migrated tables (records/tracking.py): the actions a response
promised, compensation offered and paid, and the Housing Ombudsman's case, requests and orders,
each table kept in step with the newest snapshot (touching only the rows that differ), and
`cases.actions_outstanding`. SQLite always, PostgreSQL when TEST_DATABASE_URL is set."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from alembic import command
from sqlalchemy import event, func, inspect, select, text

from domain.records import (
    ActionRow,
    CompensationOfferRow,
    CompensationPaymentRow,
    OmbudsmanOrderRow,
    OmbudsmanRequestRow,
    OmbudsmanRow,
    RecordRequest,
)
from records.schema import Base, Case
from records.store import RecordsStore, alembic_config
from records.tracking import (
    CaseAction,
    CompensationOffer,
    CompensationPayment,
    OmbudsmanCase,
    Tracking,
)
from tests.records.test_store import HEAD, T0, entry, snapshot

REF = "CMP-2025-0001"
TABLES = {
    "case_actions",
    "compensation_offers",
    "compensation_payments",
    "ombudsman_cases",
    "ombudsman_requests",
    "ombudsman_orders",
}
D = date(2025, 3, 20)

REPAIR = ActionRow(
    n=1,
    stage=1,
    action="Treat the mould in the bedroom",
    owner="Repairs team",
    responsible_id="jo.officer",
    due_on=D + timedelta(days=14),
)
SURVEY = ActionRow(n=2, stage=1, action="Survey the roof", owner="Surveyor", due_on=D)
CALL = ActionRow(n=3, stage=1, action="Call back", owner="Jo Officer", due_on=D, note="Before 5pm")
OFFER1 = CompensationOfferRow(stage=1, amount=Decimal("125.50"), offered_on=D)
PAID = CompensationPaymentRow(seq=1, amount=Decimal("125.50"), paid_on=D + timedelta(days=3))
HOS = OmbudsmanRow(ombudsman_reference="202412345", referred_on=D + timedelta(days=60))
EVIDENCE = OmbudsmanRequestRow(
    n=1,
    description="The complaint file and repair records",
    requested_on=D + timedelta(days=61),
    due_on=D + timedelta(days=82),
)
APOLOGY = OmbudsmanOrderRow(
    n=1,
    kind="order",
    description="Apologise in writing",
    made_on=D + timedelta(days=120),
    due_on=D + timedelta(days=148),
)
REVIEW = OmbudsmanOrderRow(
    n=2,
    kind="recommendation",
    description="Review the damp and mould policy",
    made_on=D + timedelta(days=120),
    due_on=D + timedelta(days=210),
)

FIRST = Tracking(
    actions=[REPAIR, SURVEY, CALL],
    compensation_offers=[OFFER1],
    ombudsman=HOS,
    ombudsman_requests=[EVIDENCE],
    ombudsman_orders=[APOLOGY, REVIEW],
)


def record(store: RecordsStore, minutes: int, tracking: Tracking, **changes: Any) -> None:
    updated = T0 + timedelta(minutes=minutes)
    case = snapshot(updated_at=updated, **tracking.model_dump(), **changes)
    store.record(RecordRequest(snapshot=case))


def ids(store: RecordsStore, model: type[Base]) -> dict[tuple[Any, ...], int]:
    """Each row's id by its key, to see which rows were rewritten in place."""
    key = {CaseAction: "n", CompensationOffer: "stage", CompensationPayment: "seq"}[model]
    with store.engine.connect() as connection:
        rows = connection.execute(select(getattr(model, key), model.id)).all()
    return dict(rows)


@contextmanager
def writes(store: RecordsStore) -> Iterator[list[str]]:
    """The INSERT, UPDATE and DELETE statements run on the store's engine meanwhile."""
    seen: list[str] = []

    def capture(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().split(None, 1)[0].upper() in {"INSERT", "UPDATE", "DELETE"}:
            seen.append(" ".join(statement.split()))

    event.listen(store.engine, "before_cursor_execute", capture)
    try:
        yield seen
    finally:
        event.remove(store.engine, "before_cursor_execute", capture)


def test_the_migration_adds_the_tables_and_the_column(store: RecordsStore) -> None:
    schema = inspect(store.engine)
    assert set(schema.get_table_names()) >= TABLES
    columns = {c["name"]: c for c in schema.get_columns("case_actions")}
    assert list(columns) == [
        "id",
        "reference",
        "n",
        "stage",
        "action",
        "owner",
        "responsible_id",
        "due_on",
        "done_on",
        "done_by",
        "note",
    ]
    assert [name for name, c in columns.items() if c["nullable"]] == [
        "responsible_id",
        "done_on",
        "done_by",
        "note",
    ]
    unique = {
        table: {tuple(u["column_names"]) for u in schema.get_unique_constraints(table)}
        for table in TABLES
    }
    assert unique == {
        "case_actions": {("reference", "n")},
        "compensation_offers": {("reference", "stage")},
        "compensation_payments": {("reference", "seq")},
        "ombudsman_cases": {("reference",)},
        "ombudsman_requests": {("reference", "n")},
        "ombudsman_orders": {("reference", "n")},
    }
    for table in TABLES:
        [fk] = schema.get_foreign_keys(table)
        assert (fk["constrained_columns"], fk["referred_table"]) == (["reference"], "cases")
    assert ["due_on"] in [i["column_names"] for i in schema.get_indexes("case_actions")]
    money = {c["name"]: c["type"] for c in schema.get_columns("compensation_payments")}
    assert (money["amount"].precision, money["amount"].scale) == (11, 2)
    outstanding = {c["name"]: c for c in schema.get_columns("cases")}["actions_outstanding"]
    assert not outstanding["nullable"]
    assert ["actions_outstanding"] in [i["column_names"] for i in schema.get_indexes("cases")]


def test_unknown_case_has_no_tracking(store: RecordsStore) -> None:
    assert store.tracking("CMP-0000-0000") == Tracking()


def test_tracking_follows_the_newest_snapshot(store: RecordsStore) -> None:
    record(store, 1, FIRST)
    assert store.tracking(REF) == FIRST
    assert store.get_case(REF).actions_outstanding is False  # as the snapshot said
    actions_before = ids(store, CaseAction)

    # The repair is done, the survey dropped, the call back's note changed; stage 2 adds to the
    # offer, which is paid; the Ombudsman determines; the evidence was sent; one order is gone.
    done = REPAIR.model_copy(update={"done_on": D + timedelta(days=10), "done_by": "jo.officer"})
    call = CALL.model_copy(update={"note": "Rang on the 21st"})
    extra = ActionRow(n=4, stage=2, action="Replace the window", owner="Repairs", due_on=D)
    offer2 = CompensationOfferRow(
        stage=2, amount=Decimal("300.00"), offered_on=D + timedelta(days=40), basis="adds"
    )
    declined = CompensationPaymentRow(
        seq=2, amount=Decimal("300"), paid_on=D + timedelta(days=45), declined=True
    )
    determined = HOS.model_copy(
        update={
            "determination": "maladministration",
            "determined_on": D + timedelta(days=120),
            "findings": "Delay in repairs",
        }
    )
    sent = EVIDENCE.model_copy(update={"sent_on": D + timedelta(days=70)})
    second = Tracking(
        actions=[done, call, extra],
        compensation_offers=[OFFER1, offer2],
        compensation_payments=[PAID, declined],
        ombudsman=determined,
        ombudsman_requests=[sent],
        ombudsman_orders=[REVIEW],
    )
    record(store, 5, second, actions_outstanding=True)

    assert store.tracking(REF) == second
    assert store.get_case(REF).actions_outstanding is True
    after = ids(store, CaseAction)
    # changed rows are rewritten in place, the dropped one deleted, the new one added
    assert after[1] == actions_before[1] and after[3] == actions_before[3]
    assert 2 not in after and set(after) == {1, 3, 4}
    assert store.tracking(REF).actions[0].done_on == date(2025, 3, 30)

    # a retried older snapshot changes nothing
    record(store, 3, FIRST)
    assert store.tracking(REF) == second
    assert store.get_case(REF).actions_outstanding is True

    # the Ombudsman's case, its requests and orders can go (zero or one case row)
    third = second.model_copy(
        update={"ombudsman": None, "ombudsman_requests": [], "ombudsman_orders": []}
    )
    record(store, 7, third, actions_outstanding=False)
    assert store.tracking(REF) == third
    assert store.tracking(REF).ombudsman is None
    assert store.get_case(REF).actions_outstanding is False


def test_an_unchanged_snapshot_writes_no_child_rows(store: RecordsStore) -> None:
    record(store, 1, FIRST)
    with writes(store) as seen:
        record(store, 2, FIRST)  # newer, but with the same rows
    assert [s for s in seen if any(table in s for table in TABLES)] == []
    assert any(s.startswith("UPDATE cases") for s in seen)  # the case row itself is updated

    changed = FIRST.model_copy(
        update={"actions": [REPAIR, SURVEY, CALL.model_copy(update={"note": "Rang"})]}
    )
    with writes(store) as seen:
        record(store, 3, changed)
    touched = [s for s in seen if any(table in s for table in TABLES)]
    assert len(touched) == 1 and touched[0].startswith("UPDATE case_actions SET note=")


def test_reports_can_count_and_total_with_sql(store: RecordsStore) -> None:
    record(
        store,
        1,
        Tracking(
            actions=[REPAIR, SURVEY],
            compensation_offers=[OFFER1],
            compensation_payments=[
                PAID,
                CompensationPaymentRow(seq=2, amount=Decimal("0.25"), paid_on=D),
                CompensationPaymentRow(seq=3, amount=Decimal("99.99"), paid_on=D, declined=True),
            ],
        ),
        actions_outstanding=True,
    )
    other = "CMP-2025-0002"
    store.record(RecordRequest(snapshot=snapshot(reference=other, updated_at=T0)))
    with store.engine.connect() as connection:
        paid = connection.scalar(
            select(func.sum(CompensationPayment.amount)).where(
                CompensationPayment.declined.is_(False)
            )
        )
        assert Decimal(paid) == Decimal("125.75")
        due_by = connection.scalar(
            select(func.count())
            .select_from(CaseAction)
            .where(CaseAction.done_on.is_(None), CaseAction.due_on <= D)
        )
        assert due_by == 1  # the survey; the repair is due later
        outstanding = connection.scalars(
            select(Case.reference).where(Case.actions_outstanding.is_(True))
        ).all()
        assert outstanding == [REF]
        assert connection.scalar(select(func.count()).select_from(OmbudsmanCase)) == 0
    assert store.tracking(REF).compensation_payments[1].amount == Decimal("0.25")
    assert store.tracking(other) == Tracking()


def test_the_migration_goes_down_and_up(store: RecordsStore) -> None:
    """Down to 0008 removes the six tables and the column (rows and all), up again brings them
    back; the case and its other rows stay."""
    record(store, 1, FIRST, actions_outstanding=True)
    store.record(RecordRequest(snapshot=snapshot(updated_at=T0), events=[entry(1)]))
    for target, present in (("0008", False), (HEAD, True)):
        with store.writer.begin() as connection:
            config = alembic_config(connection)
            if present:
                command.upgrade(config, target)
            else:
                command.downgrade(config, target)
        schema = inspect(store.engine)
        names = set(schema.get_table_names())
        columns = {c["name"] for c in schema.get_columns("cases")}
        assert (names >= TABLES) if present else not (TABLES & names), target
        assert ("actions_outstanding" in columns) is present, target
        with store.engine.connect() as connection:
            assert connection.scalar(text("SELECT reference FROM cases")) == REF
            assert connection.scalar(text("SELECT reference FROM case_events")) == REF
    assert store.tracking(REF) == Tracking()
    assert store.get_case(REF).actions_outstanding is False  # the server default
    record(store, 2, FIRST, actions_outstanding=True)
    assert store.tracking(REF) == FIRST
    assert store.get_case(REF).actions_outstanding is True
