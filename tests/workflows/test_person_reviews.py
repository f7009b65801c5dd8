"""The letters of person records (workflows/persons.py), on the time-skipping server with a real
worker: a contact restriction's letter to the resident goes once however often it is started;
each item's review date reminds its owner once, when the reviews workflow runs on or after it
(time skipped past the date), read back from the letters ledger and the outbox."""

from __future__ import annotations

import uuid
from datetime import date
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from config import Settings
from domain.persons import (
    ItemKind,
    NewRestriction,
    PersonReviews,
    PersonReviewsDone,
    Restriction,
    ReviewOwner,
    restriction_letter_key,
    review_letter_key,
)
from records.persons import PersonRecords
from records.store import RecordsStore
from tests.records.test_persons import ANN, record_case
from tests.support import create_staff, london, travel_to
from workflows.persons import PersonReviewsWorkflow, start_person_letter

NOW = london(2027, 3, 1, 10)


async def finished(env: WorkflowEnvironment, wid: str) -> None:
    """Wait for workflow `wid` to complete, in real time: waiting with time skipping on would
    let the server skip ahead (years) while an activity runs."""
    with env.auto_time_skipping_disabled():
        await env.client.get_workflow_handle(wid).result()


async def reviews(env: WorkflowEnvironment, settings: Settings) -> PersonReviewsDone:
    """Run the reviews workflow now, as the schedule would, and wait for the letters it starts."""
    with env.auto_time_skipping_disabled():
        done = await env.client.execute_workflow(
            PersonReviewsWorkflow.run,
            PersonReviews(),
            id=f"person-reviews-{uuid.uuid4().hex[:8]}",
            task_queue=settings.task_queue,
        )
    for wid in done.started:  # each letter's own workflow
        await finished(env, wid)
    return done


def outbox(settings: Settings, reference: str) -> list[str]:
    folder = Path(settings.outbox_dir) / reference
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


async def test_an_adjustments_review_reminds_its_owner_once_when_it_falls_due(
    env: WorkflowEnvironment, worker, settings: Settings, store: RecordsStore
) -> None:
    create_staff(store)
    await travel_to(env, NOW)
    people = PersonRecords(store)
    record_case(store, "CMP-AAAA-0001", ANN)
    ann = people.create_from_case("CMP-AAAA-0001", "jo.officer", NOW)  # jo owns the record
    item = people.record(
        ann,
        ItemKind.adjustments,
        {"adjustments": {"large_print": True}},
        date(2027, 3, 10),  # a Wednesday
        ReviewOwner.person_owner,
        "ali.advisor",
        NOW,
    )
    assert (await reviews(env, settings)).started == []  # not due yet

    await travel_to(env, london(2027, 3, 10, 7))
    done = await reviews(env, settings)
    assert (done.day, done.due, len(done.started)) == (date(2027, 3, 10), 1, 1)
    key = review_letter_key(item, date(2027, 3, 10))
    letter = store.get_letter(ann, key)
    assert letter is not None and letter.sent and letter.recipient_role == "owner"
    assert letter.recipient == "jo.officer@wkha.example"  # the record's owner, not the recorder
    assert letter.subject == (
        "Review due Wednesday 10 March 2027: Review of the reasonable adjustments recorded on "
        f"the person record – person record {ann}"
    )
    assert "Ann" not in (letter.body_html or "")  # nothing about the person but the reference
    assert outbox(settings, ann) == [Path(letter.location or "").name]  # one file, by its key

    # the next morning: still due (nobody reviewed it), and not sent again
    await travel_to(env, london(2027, 3, 11, 7))
    again = await reviews(env, settings)
    assert (again.due, again.started) == (1, [])
    assert [row.letter_key for row in store.letters(ann)] == [key]

    # reviewed, with a new date: the next reminder is a new letter on that date
    people.review(ann, item, date(2027, 6, 1), "Still needs large print", "jo.officer", NOW)
    await travel_to(env, london(2027, 6, 1, 7))
    assert len((await reviews(env, settings)).started) == 1
    assert store.get_letter(ann, review_letter_key(item, date(2027, 6, 1))) is not None


async def test_a_restriction_letter_goes_once_and_its_review_reminds_the_manager(
    env: WorkflowEnvironment, worker, settings: Settings, store: RecordsStore
) -> None:
    create_staff(store)
    await travel_to(env, NOW)
    people = PersonRecords(store)
    record_case(store, "CMP-AAAA-0001", ANN)
    ann = people.create_from_case("CMP-AAAA-0001", "jo.officer", NOW)
    restriction = NewRestriction(
        restriction=Restriction.email_only,
        details="Email complaints@wkha.example; we will reply within 5 working days.",
        reasons="On 22 February you shouted at our receptionist and threatened her.",
        evidence="Incident log 22 Feb 2027; receptionist's statement.",
        review_on=date(2027, 6, 1),
    )
    item = people.record(
        ann,
        ItemKind.restriction,
        restriction.model_dump(mode="json"),
        restriction.review_on,
        ReviewOwner.recorded_by,
        "mo.manager",
        NOW,
    )
    (letter,) = people.restriction_letters(ann, item)
    for _ in range(2):  # started twice (a retry, the morning's catch-up): one letter
        wid = await start_person_letter(env.client, letter, settings.task_queue)
        await finished(env, wid)
    sent = store.get_letter(ann, restriction_letter_key(item))
    assert sent is not None and sent.sent and sent.recipient == "Ann@example.org"
    body = sent.body_html or ""
    for words in (
        "Please contact us only by email.",
        "Email complaints@wkha.example",
        "shouted at our receptionist",
        "Tuesday 1 June 2027",
        "This does not stop you making a complaint",
        "Mo Manager",  # who decided signs it
    ):
        assert words in body, words
    assert "Incident log" not in body  # the evidence is kept for staff, not sent
    assert outbox(settings, ann) == [Path(sent.location or "").name]
    assert (await reviews(env, settings)).started == []  # its letter has gone: nothing to do

    await travel_to(env, london(2027, 6, 1, 7))
    done = await reviews(env, settings)
    assert len(done.started) == 1
    reminder = store.get_letter(ann, review_letter_key(item, date(2027, 6, 1)))
    assert reminder is not None and reminder.recipient == "mo.manager@wkha.example"
    assert "contact restriction" in reminder.subject


async def test_a_restriction_whose_letter_was_never_started_is_sent_by_the_reviews(
    env: WorkflowEnvironment, worker, settings: Settings, store: RecordsStore
) -> None:
    create_staff(store)
    await travel_to(env, NOW)
    people = PersonRecords(store)
    record_case(store, "CMP-AAAA-0001", ANN)
    ann = people.create_from_case("CMP-AAAA-0001", "jo.officer", NOW)
    item = people.record(
        ann,
        ItemKind.restriction,
        NewRestriction(
            restriction=Restriction.set_times,
            details="Phone us only on Tuesdays, 10am to midday.",
            reasons="Over 40 calls a day in February.",
            evidence="Call log, February 2027.",
            review_on=date(2027, 9, 1),
        ).model_dump(mode="json"),
        date(2027, 9, 1),
        ReviewOwner.recorded_by,
        "mo.manager",
        NOW,
    )
    # as if Temporal was down the moment it was recorded: the next reviews send it
    done = await reviews(env, settings)
    assert (done.due, len(done.started)) == (0, 1)
    sent = store.get_letter(ann, restriction_letter_key(item))
    assert sent is not None and sent.sent
