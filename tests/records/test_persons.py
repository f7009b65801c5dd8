"""People known across cases in the records (records/persons.py, migration 0017), on SQLite and
PostgreSQL: suggestions on normalised email, phone and postcode (a postcode alone is weak),
nothing linked until staff choose, a case linked to one person at most, unlinking logged, items
with review dates, and which reviews fall due."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from domain.persons import ItemKind, MatchOn, ReviewOwner
from domain.records import RecordRequest
from records.persons import PersonEventKind, PersonRecords, PersonRefused
from records.store import RecordsStore
from tests.records.test_store import snapshot

T0 = datetime(2027, 3, 1, 10, tzinfo=UTC)
ANN = {
    "name": "Ann Example",
    "email": "Ann@Example.org",
    "phone": "+44 7700 900123",
    "address": {"lines": ["1 High Street", "Sevenoaks"], "postcode": "tn13 1aa"},
}


def record_case(
    store: RecordsStore, reference: str, person: dict[str, Any], kind: str = "complaint"
) -> None:
    field = "resident" if kind == "complaint" else "enquirer"
    store.record(
        RecordRequest(
            snapshot=snapshot(
                reference,
                kind=kind,
                workflow_id=f"{kind}-{reference}",
                resident_name=person["name"],
                data={field: person},
            )
        )
    )


def test_suggestions_only_until_staff_choose(store: RecordsStore) -> None:
    people = PersonRecords(store)
    record_case(store, "CMP-AAAA-0001", ANN)
    assert people.suggestions("CMP-AAAA-0001") == []  # nobody known yet
    ann = people.create_from_case("CMP-AAAA-0001", "jo.officer", T0)
    assert ann.startswith("PER-")

    # the same email in another case, typed differently: a strong suggestion, not a link
    record_case(
        store,
        "ENQ-AAAA-0002",
        {"name": "A. Example", "email": " ann@example.ORG ", "phone": "07700 900123"},
        kind="enquiry",
    )
    (found,) = people.suggestions("ENQ-AAAA-0002")
    assert (found.reference, found.strength, found.cases) == (ann, "strong", 1)
    assert found.on == [MatchOn.email, MatchOn.phone]
    assert people.for_case("ENQ-AAAA-0002") is None

    # a neighbour: the same postcode alone is a weak suggestion
    record_case(
        store,
        "CMP-AAAA-0003",
        {
            "name": "Bob Neighbour",
            "email": "bob@example.org",
            "address": {"lines": ["3 High Street"], "postcode": "TN13 1AA"},
        },
    )
    (weak,) = people.suggestions("CMP-AAAA-0003")
    assert (weak.on, weak.strength) == ([MatchOn.postcode], "weak")

    people.link("ENQ-AAAA-0002", ann, "ali.advisor", T0 + timedelta(minutes=5))
    people.link("ENQ-AAAA-0002", ann, "ali.advisor", T0 + timedelta(minutes=5))  # twice: once
    page = people.page(ann)
    assert page is not None
    assert [(c.reference, c.kind) for c in page.cases] == [
        ("CMP-AAAA-0001", "complaint"),
        ("ENQ-AAAA-0002", "enquiry"),
    ]
    with pytest.raises(PersonRefused, match="already linked"):
        people.create_from_case("ENQ-AAAA-0002", "ali.advisor", T0)


def test_unlinking_is_logged_and_a_case_has_one_person(store: RecordsStore) -> None:
    people = PersonRecords(store)
    record_case(store, "CMP-AAAA-0001", ANN)
    record_case(store, "CMP-AAAA-0002", ANN)
    ann = people.create_from_case("CMP-AAAA-0001", "jo.officer", T0)
    other = people.create_from_case("CMP-AAAA-0002", "jo.officer", T0)
    with pytest.raises(PersonRefused, match="Unlink it first"):
        people.link("CMP-AAAA-0002", ann, "jo.officer", T0)
    assert people.unlink("CMP-AAAA-0002", "mo.manager", T0, "Linked by mistake") == other
    assert people.unlink("CMP-AAAA-0002", "mo.manager", T0, "again") is None
    people.link("CMP-AAAA-0002", ann, "mo.manager", T0)
    events = [(e.event, e.reference, e.by) for e in people.case_events("CMP-AAAA-0002")]
    assert events == [
        (PersonEventKind.created, "CMP-AAAA-0002", "jo.officer"),
        (PersonEventKind.linked, "CMP-AAAA-0002", "jo.officer"),
        (PersonEventKind.unlinked, "CMP-AAAA-0002", "mo.manager"),
        (PersonEventKind.linked, "CMP-AAAA-0002", "mo.manager"),
    ]
    page = people.page(other)
    assert page is not None and page.cases == []
    assert page.events[-1].detail == "Linked by mistake"


def test_items_and_which_reviews_fall_due(store: RecordsStore) -> None:
    people = PersonRecords(store)
    record_case(store, "CMP-AAAA-0001", ANN)
    ann = people.create_from_case("CMP-AAAA-0001", "jo.officer", T0)
    needs = people.record(
        ann,
        ItemKind.adjustments,
        {"adjustments": {"large_print": True}},
        date(2027, 6, 1),
        ReviewOwner.person_owner,
        "ali.advisor",
        T0,
    )
    later = people.record(
        ann,
        ItemKind.vulnerability,
        {"vulnerability": "mental_health", "note": None},
        date(2027, 9, 1),
        ReviewOwner.recorded_by,
        "ali.advisor",
        T0,
    )
    assert people.due_reviews(date(2027, 5, 31)) == []
    assert [d.item_id for d in people.due_reviews(date(2027, 6, 1))] == [needs]
    people.review(ann, needs, date(2027, 12, 1), "Still needed", "jo.officer", T0)
    assert people.due_reviews(date(2027, 9, 1))[0].item_id == later
    people.end(ann, later, "Recovered", "jo.officer", T0)
    with pytest.raises(PersonRefused, match="already ended"):
        people.end(ann, later, None, "jo.officer", T0)
    assert people.due_reviews(date(2027, 10, 1)) == []
    link = people.for_case("CMP-AAAA-0001")
    assert link is not None
    assert [a.large_print for a in link.person.needs()] == [True]


def test_each_suggestion_counts_the_cases_of_that_person(store: RecordsStore) -> None:
    people = PersonRecords(store)
    record_case(store, "CMP-AAAA-0001", ANN)
    ann = people.create_from_case("CMP-AAAA-0001", "jo.officer", T0)
    record_case(store, "CMP-AAAA-0002", ANN)
    people.link("CMP-AAAA-0002", ann, "jo.officer", T0 + timedelta(minutes=1))
    neighbour = {**ANN, "name": "Bob Neighbour", "email": "bob@example.org", "phone": None}
    record_case(store, "CMP-AAAA-0003", neighbour)
    bob = people.create_from_case("CMP-AAAA-0003", "jo.officer", T0)
    record_case(store, "CMP-AAAA-0004", ANN)
    found = {s.reference: s.cases for s in people.suggestions("CMP-AAAA-0004")}
    assert found == {ann: 2, bob: 1}
