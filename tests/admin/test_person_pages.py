"""People known across cases through the app (admin/routes/persons.py), with the time-skipping
Temporal server, a real worker and the records database: a case page suggests who the resident
may be and links nothing until staff choose; an adjustment recorded on one case's person shows
on the same person's next case (an enquiry) from the moment it is linked, marked as the person
record's; unlinking is logged; only a manager records a contact restriction, whose letter goes
at once and whose review reminds the manager; the restricted person's complaint is still
accepted."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from datetime import date

from fastapi import FastAPI
from temporalio.testing import WorkflowEnvironment

from config import Settings
from domain.persons import PersonReviews, restriction_letter_key, review_letter_key
from records.persons import PersonRecords
from records.store import LetterRow, RecordsStore
from tests.admin.conftest import admin_http, admin_sign_in
from tests.admin.test_adjustments_pages import banner
from tests.admin.test_pages import JO, MO, error_summary, lodge, post, text, travel
from tests.support import CATEGORY, enquiry, london, start_enquiry, step
from workflows.persons import PersonReviewsWorkflow

MONDAY = london(2027, 3, 1, 10)
ANN = {
    "name": "Ann Example",
    "email": "ann@example.org",
    "phone": "07700 900123",
    "address": {"lines": ["1 High Street", "Sevenoaks"], "postcode": "TN13 1AA"},
    "preferred_contact": "email",
}
REVIEW = {"review_on-day": "1", "review_on-month": "6", "review_on-year": "2027"}


def person_in(location: str) -> str:
    found = re.search(r"PER-[0-9A-Z]{4}-[0-9A-Z]{4}", location)
    assert found, location
    return found.group(0)


def section(page: str) -> str:
    found = re.search(r'<section aria-labelledby="person-record-title".*?</section>', page, re.S)
    assert found, "no person section"
    return text(found.group(0))


async def letter(store: RecordsStore, reference: str, key: str, seconds: float = 30) -> LetterRow:
    """The letter once the ledger has it sent (its workflow runs on the worker, in real time)."""
    deadline = time.monotonic() + seconds
    while True:
        row = store.get_letter(reference, key)
        if row is not None and row.sent:
            return row
        if time.monotonic() > deadline:
            raise AssertionError(f"letter {reference}/{key} not sent after {seconds}s")
        await asyncio.sleep(0.05)


async def test_linking_is_chosen_and_a_persons_adjustments_show_on_their_next_case(
    live_admin_app: FastAPI, env: WorkflowEnvironment, settings: Settings, store: RecordsStore
) -> None:
    app = live_admin_app
    await travel(env, app, MONDAY)
    first = await lodge(env, settings, MONDAY, resident=ANN)
    async with admin_http(app) as http:
        await admin_sign_in(http, JO)
        page = (await http.get(f"/cases/{first}")).text
        assert "not linked to a person record" in section(page)
        assert "No person record shares" in section(page)
        made = await post(http, "/people", page, {"case": first})
        assert made.status_code == 303
        ann = person_in(made.headers["location"] + (await http.get(f"/cases/{first}")).text)
        page = (await http.get(f"/cases/{first}")).text
        assert f"linked to person record {ann} (Ann Example), by {JO}" in section(page)

        # adjustments recorded on the person show on the case, marked as the person record's
        person_page = (await http.get(f"/people/{ann}")).text
        recorded = await post(
            http,
            f"/people/{ann}/adjustments",
            person_page,
            {
                "need_large_print": "yes",
                "need_interpreter": "yes",
                "interpreter_language": "Polish",
                "review_owner": "person_owner",
                **REVIEW,
            },
        )
        assert recorded.status_code == 303, text(recorded.text)
        shown = banner((await http.get(f"/cases/{first}")).text)
        assert f"From the person record {ann}" in shown
        assert "Large print letters (16 pt) (person record; review by 01 Jun 2027)" in shown
        assert "Interpreter: Polish (person record" in shown

        # the same person's next case, an enquiry, by the same email typed differently
        case = enquiry(
            london(2027, 3, 1, 9),
            enquirer={"name": "Ann Example", "email": "ANN@example.org "},
        )
        await start_enquiry(env.client, case, settings.task_queue)
        second = case.reference
        page = (await http.get(f"/enquiries/{second}")).text
        shown = section(page)
        assert f"{ann} Ann Example email address Strong match 1" in shown
        assert "person-needs" not in page  # suggested only: nothing shows until linked
        assert PersonRecords(store).for_case(second) is None
        linked = await post(http, f"/people/{ann}/cases", page, {"case": second})
        assert linked.headers["location"] == f"/enquiries/{second}#person"
        page = (await http.get(f"/enquiries/{second}")).text
        assert "Large print letters (16 pt) (person record" in banner(page)
        person_page = text((await http.get(f"/people/{ann}")).text)
        assert f"{first} Complaint" in person_page and f"{second} Enquiry" in person_page

        # a neighbour at the same postcode: a weak suggestion, said to be weak
        bob = await lodge(
            env,
            settings,
            MONDAY,
            resident={**ANN, "name": "Bob Neighbour", "email": "bob@example.org", "phone": None},
        )
        shown = section((await http.get(f"/cases/{bob}")).text)
        assert "postcode Weak match Postcode only: a weak match" in shown

        # unlinking asks why, and is logged on the case and the person
        page = (await http.get(f"/enquiries/{second}")).text
        await post(http, f"/people/{ann}/unlink", page, {"case": second, "reason": ""})
        assert PersonRecords(store).for_case(second) is not None  # no reason: not unlinked
        await post(http, f"/people/{ann}/unlink", page, {"case": second, "reason": "Wrong Ann"})
        page = (await http.get(f"/enquiries/{second}")).text
        assert "person-needs" not in page
        assert f"Unlinked from {ann} by {JO}" in section(page) and "(Wrong Ann)" in section(page)
        log = text((await http.get(f"/people/{ann}")).text)
        assert f"Unlinked {second}: Wrong Ann Jo Officer" in log


async def test_a_restriction_is_a_managers_and_writes_to_the_resident_who_can_still_complain(
    live_admin_app: FastAPI, env: WorkflowEnvironment, settings: Settings, store: RecordsStore
) -> None:
    app = live_admin_app
    await travel(env, app, MONDAY)
    ref = await lodge(env, settings, MONDAY, resident=ANN)
    ann = PersonRecords(store).create_from_case(ref, JO, MONDAY)
    restriction = {
        "restriction": "email_only",
        "details": "Email complaints@wkha.example; we reply within 5 working days.",
        "reasons": "On 22 February you shouted at our receptionist.",
        "evidence": "Incident log 22 Feb 2027.",
        **REVIEW,
    }
    async with admin_http(app) as http:
        await admin_sign_in(http, JO)
        page = (await http.get(f"/people/{ann}")).text
        assert "Record a contact restriction" not in page
        assert "Only a manager records" in page
        refused = await post(http, f"/people/{ann}/restrictions", page, restriction)
        assert refused.status_code == 403
    assert PersonRecords(store).person(ann).items == []  # type: ignore[union-attr]

    async with admin_http(app) as http:
        await admin_sign_in(http, MO)
        page = (await http.get(f"/people/{ann}")).text
        missing = await post(
            http, f"/people/{ann}/restrictions", page, {**restriction, "evidence": ""}
        )
        assert missing.status_code == 400
        assert ("#restriction-evidence", "Enter the evidence") in error_summary(missing.text)
        done = await post(http, f"/people/{ann}/restrictions", page, restriction)
        assert done.status_code == 303, text(done.text)
        (item,) = PersonRecords(store).person(ann).items  # type: ignore[union-attr]
        sent = await letter(store, ann, restriction_letter_key(item.id))
        assert sent.recipient == "ann@example.org"
        assert "Please contact us only by email." in (sent.body_html or "")
        assert "Mo Manager" in (sent.body_html or "")
        shown = banner((await http.get(f"/cases/{ref}")).text)
        assert "Contact restriction: Contact only by email. Email complaints@wkha.example" in shown
        assert "never stops a complaint being accepted" in shown
        assert "How you can contact us for now" in text((await http.get(f"/people/{ann}")).text)

    async with admin_http(app) as http:  # a case officer sees it, and cannot review or end it
        await admin_sign_in(http, JO)
        page = (await http.get(f"/people/{ann}")).text
        assert "Contact only by email" in text(page)
        assert f"/people/{ann}/items/{item.id}/end" not in page
        for action in ("review", "end"):
            tried = await post(http, f"/people/{ann}/items/{item.id}/{action}", page, REVIEW)
            assert tried.status_code == 403

    # the restriction does not touch the complaint: it is accepted as any other
    accepted = await step(env.client, ref, "accept", by=JO, category=CATEGORY)
    assert accepted.stage == "stage1"

    # at its review date, the morning's reviews remind the manager who decided
    await travel(env, app, london(2027, 6, 1, 7))
    with env.auto_time_skipping_disabled():
        result = await env.client.execute_workflow(
            PersonReviewsWorkflow.run,
            PersonReviews(),
            id=f"person-reviews-{uuid.uuid4().hex[:8]}",
            task_queue=settings.task_queue,
        )
    assert result.day == date(2027, 6, 1)
    reminder = await letter(store, ann, review_letter_key(item.id, date(2027, 6, 1)))
    assert reminder.recipient == "mo.manager@wkha.example"


async def test_person_pages_need_sign_in_and_a_real_reference(
    live_admin_app: FastAPI,
) -> None:
    async with admin_http(live_admin_app) as http:
        assert (await http.get("/people/PER-0000-0000")).status_code == 303  # to sign in
        await admin_sign_in(http, JO)
        assert (await http.get("/people/PER-0000-0000")).status_code == 404
        assert (await http.get("/people/not-a-reference")).status_code == 404
