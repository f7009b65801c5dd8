"""A case's commits after the first are recorded as changes to the one before
(domain.records.record_changes), so its workflow history keeps only what changed: the records row
must come out exactly as if each snapshot had been sent whole, on both databases."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.records import (
    CaseSnapshot,
    DataChange,
    PointOutcomeRow,
    RecordRequest,
    apply_json_changes,
    json_changes,
    record_changes,
)
from records.store import RecordOutOfStep, RecordsStore
from tests.records.test_store import entry

T0 = datetime(2027, 3, 1, 9, tzinfo=UTC)
REF = "CMP-7Y9S-JH42"

leaves = st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=3)
documents = st.recursive(
    leaves,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=2), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(before=documents, after=documents)
def test_the_changes_turn_one_document_into_the_other_and_again_change_nothing(before, after):
    changes = json_changes(before, after, ("doc",))
    assert apply_json_changes({"doc": before}, changes) == {"doc": after}
    once = apply_json_changes({"doc": before}, changes)
    assert apply_json_changes(once, changes) == once  # a retried request
    # made in the document itself, when it is the caller's to change (the records store's)
    mine = {"doc": copy.deepcopy(before)}
    assert apply_json_changes(mine, changes, in_place=True) is mine
    assert mine == {"doc": after}


def test_only_what_changed_is_sent():
    due = {"due": "2027-03-04T17:15:00Z", "label": "Stage 1: contact the resident"}
    before = {"clocks": [{"key": "a", "met_at": None, **due}], "stage": "stage1"}
    after = {
        "clocks": [{"key": "a", "met_at": "now", **due}, {"key": "b", "met_at": None}],
        "stage": "stage1",
    }
    assert json_changes(before, after) == [
        DataChange(path=["clocks", 0, "met_at"], value="now"),
        DataChange(path=["clocks", 1], value={"key": "b", "met_at": None}),
    ]
    # a list that lost an item is sent whole
    assert json_changes(after, before) == [DataChange(path=["clocks"], value=before["clocks"])]


def test_a_value_whose_changes_are_longer_than_it_is_sent_whole():
    """Steps allowed now, each moved up a place: one list, not a change for each item."""
    before = {"data": {"allowed_steps": ["accept", "assign", "decline", "record_contact"]}}
    after = {"data": {"allowed_steps": ["assign", "classify", "extend", "record_contact"]}}
    changes = json_changes(before, after)
    assert changes == [
        DataChange(path=["data", "allowed_steps"], value=after["data"]["allowed_steps"])
    ]
    assert apply_json_changes(before, changes) == after


def test_a_child_row_field_that_changed_is_sent_whole():
    rows = [{"stage": 1, "point_index": 0, "decision": "upheld", "root_cause": None}]
    changed = [{**rows[0], "root_cause": "communication"}]
    assert record_changes({"point_outcomes": rows}, {"point_outcomes": changed}) == [
        DataChange(path=["point_outcomes"], value=changed)
    ]


def snapshot(n: int, **changes: Any) -> CaseSnapshot:
    values: dict[str, Any] = {
        "reference": REF,
        "workflow_id": f"complaint-{REF}",
        "stage": "stage1",
        "status": "awaiting_acknowledgement",
        "resident_name": "Ann Example",
        "postcode": "TN13 1AA",
        "channel": "email",
        "received_at": T0,
        "next_deadline": T0 + timedelta(days=7),
        "next_deadline_label": "Stage 1 acknowledgement",
        "data": {
            "contacts": [{"key": "s1_contact", "met_at": None}],
            "allowed_steps": ["acknowledge", "extend"],
        },
        "point_outcomes": [PointOutcomeRow(stage=1, point_index=0, decision="upheld")],
        "updated_at": T0 + timedelta(minutes=n),
        "revision": n,
    }
    values.update(changes)
    return CaseSnapshot(**values)


def as_changes(before: CaseSnapshot, after: CaseSnapshot, *entries: Any) -> RecordRequest:
    """The request the workflow sends for `after`, the commit after `before`."""
    assert after.revision is not None
    return RecordRequest(
        reference=REF,
        revision=after.revision,
        changes=record_changes(before.model_dump(mode="json"), after.model_dump(mode="json")),
        events=list(entries),
    )


def recorded(store: RecordsStore) -> dict[str, Any]:
    found = store.get_case(REF)
    assert found is not None
    return found.model_dump(mode="json")


def test_changes_make_the_same_row_as_the_whole_snapshot(store: RecordsStore):
    first = snapshot(1)
    second = snapshot(
        2,
        status="awaiting_response",
        owner_id="jo.officer",
        data={
            "contacts": [
                {"key": "s1_contact", "met_at": "2027-03-01T10:00:00Z"},
                {"key": "s1_response", "met_at": None},
            ],
            "allowed_steps": ["respond"],
        },
    )
    store.record(RecordRequest(snapshot=first, events=[entry(1)]))
    request = as_changes(first, second, entry(2))
    assert len(request.model_dump_json()) < len(second.model_dump_json()) / 2
    store.record(request)
    row = recorded(store)
    assert row == {**second.model_dump(mode="json"), "point_outcomes": [], "actions": []}
    assert [e.seq for e in store.events(REF)] == [1, 2]
    # the point outcomes, not changed, are left as they were
    assert [p.decision for p in store.point_outcomes(REF)] == ["upheld"]

    store.record(request)  # the activity retried: nothing changes, the event is not doubled
    assert recorded(store) == row and [e.seq for e in store.events(REF)] == [1, 2]


def test_a_changed_child_row_field_replaces_its_rows(store: RecordsStore):
    first = snapshot(1)
    second = snapshot(
        2,
        point_outcomes=[
            PointOutcomeRow(stage=1, point_index=0, decision="upheld", root_cause="repairs"),
            PointOutcomeRow(stage=1, point_index=1, decision="not_upheld"),
        ],
    )
    store.record(RecordRequest(snapshot=first))
    store.record(as_changes(first, second))
    assert [(p.point_index, p.decision, p.root_cause) for p in store.point_outcomes(REF)] == [
        (0, "upheld", "repairs"),
        (1, "not_upheld", None),
    ]


def test_an_older_request_after_a_newer_one_changes_nothing(store: RecordsStore):
    first, second, third = snapshot(1), snapshot(2, status="a"), snapshot(3, status="b")
    store.record(RecordRequest(snapshot=first))
    store.record(as_changes(first, second))
    store.record(as_changes(second, third))
    store.record(as_changes(first, second))  # a late retry of revision 2
    assert recorded(store)["status"] == "b" and recorded(store)["revision"] == 3


@pytest.mark.parametrize("row_revision", [None, 1])
def test_changes_to_a_row_not_at_the_revision_before_are_refused(
    store: RecordsStore, row_revision: int | None
):
    """A row written before records counted revisions (or restored from a backup) cannot take
    changes: the store says so, and the workflow sends its whole record instead."""
    store.record(RecordRequest(snapshot=snapshot(1, revision=row_revision)))
    with pytest.raises(RecordOutOfStep):
        store.record(as_changes(snapshot(2), snapshot(3, status="b"), entry(5)))
    assert recorded(store)["status"] == "awaiting_acknowledgement"
    assert store.events(REF) == []  # the transaction was rolled back: the whole record brings it
    store.record(RecordRequest(snapshot=snapshot(3, status="b"), events=[entry(5)]))
    assert recorded(store)["revision"] == 3 and [e.seq for e in store.events(REF)] == [5]
    # the changes still queued behind it find the row already there
    store.record(as_changes(snapshot(2), snapshot(3, status="b")))
    assert recorded(store)["status"] == "b"
