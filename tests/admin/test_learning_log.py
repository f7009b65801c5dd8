"""The learning log, as staff and residents see it (admin/routes/learning.py, records/learning.py):

- any signed-in member of staff records a lesson linked to complaints; a reference that is no
  complaint in the records (unknown, an enquiry's, not a reference) is refused against its field;
- case officers, reviewers and managers add an improvement (what will change, an active owner who
  may own it, a due date in day/month/year boxes, not in the past) and mark it done with a note;
  advisors may not; open improvements come first, by due date, overdue ones marked;
- the public "you said, we did" page, open without sign-in, lists done improvements that have a
  public summary, with the month and service area and nothing personal, and answers 429 after
  its limit;
- all of it on SQLite and on PostgreSQL (TEST_DATABASE_URL), whose migration is checked too.
"""

from __future__ import annotations

import html
import os
import re
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, timedelta
from pathlib import Path

import httpx
import pytest
from alembic import command
from fastapi import FastAPI
from sqlalchemy import inspect

from admin.app import create_app
from config import Settings
from domain.records import CaseSnapshot, RecordRequest, TimelineEntry
from records.learning import (
    CompleteImprovement,
    LearningLog,
    LearningRefused,
    NewImprovement,
    NewLesson,
)
from records.store import RecordsStore, alembic_config
from tests.admin.conftest import admin_http, admin_sign_in, csrf_in
from tests.support import create_staff, london, postgres_schema

NOW = london(2027, 3, 8, 10)  # a Monday
TODAY = date(2027, 3, 8)
COMPLAINT, OTHER_COMPLAINT = "CMP-LRN0-0001", "CMP-LRN0-0002"
ENQUIRY = "ENQ-LRN0-0001"
RESIDENT = "Rita Resident"
PUBLIC_WORDS = (
    "We now text you the day before a repair visit, and again when the operative sets off."
)
LIMIT = int(Settings().public_page_limit_per_address.split()[0])


def text(page: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def errors(page: str) -> dict[str, str]:
    """The error summary: field id -> message."""
    summary = page.split('id="error-summary"', 1)[1].split("</div>", 1)[0]
    return {
        href: html.unescape(message)
        for href, message in re.findall(r'<a href="#([^"]+)">([^<]+)</a>', summary)
    }


def snapshot(reference: str, kind: str) -> RecordRequest:
    return RecordRequest(
        snapshot=CaseSnapshot(
            reference=reference,
            kind=kind,
            stage="stage1" if kind == "complaint" else "enquiry",
            status="investigating" if kind == "complaint" else "open",
            resident_name=RESIDENT,
            postcode="ME19 4QQ",
            channel="phone",
            received_at=NOW - timedelta(days=20),
            workflow_id=f"{kind}-{reference}",
            data={},
            updated_at=NOW,
        ),
        events=[TimelineEntry(seq=1, at=NOW, step="lodged", summary="Lodged by phone")],
    )


# ------------------------------------------------------------------------------ fixtures


@pytest.fixture(params=["sqlite", "postgresql"])
def learning_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'learning.db'}"
        return
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        pytest.skip("TEST_DATABASE_URL is not set")
    with postgres_schema(base, prefix="learning_test") as url:
        yield url


@pytest.fixture
def learning_store(learning_url: str) -> Iterator[RecordsStore]:
    store = RecordsStore(learning_url)
    store.migrate()
    create_staff(store)
    store.record(snapshot(COMPLAINT, "complaint"))
    store.record(snapshot(OTHER_COMPLAINT, "complaint"))
    store.record(snapshot(ENQUIRY, "enquiry"))
    yield store
    store.dispose()


@pytest.fixture
def app(admin_settings: Settings, learning_store: RecordsStore) -> Iterator[FastAPI]:
    app = create_app(admin_settings, learning_store)
    app.state.clock = lambda: NOW.astimezone(UTC)
    yield app
    if app.state.store is not learning_store:
        app.state.store.dispose()


@pytest.fixture
async def staff(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with admin_http(app) as client:
        yield client


async def record_lesson(
    client: httpx.AsyncClient, references: str, **fields: str
) -> httpx.Response:
    page = await client.get("/learning")
    assert page.status_code == 200, page.text
    data = {
        "title": "Repair visits were missed when the contractor changed",
        "service_area": "Repairs",
        "detail": "Nobody told the new contractor about booked visits.",
        "references": references,
        "csrf_token": csrf_in(page.text),
        **fields,
    }
    return await client.post("/learning/lessons", data=data)


def due_boxes(day: date) -> dict[str, str]:
    return {
        "improvement-due-day": str(day.day),
        "improvement-due-month": str(day.month),
        "improvement-due-year": str(day.year),
    }


async def add_improvement(client: httpx.AsyncClient, lesson: str, **fields: str) -> httpx.Response:
    page = await client.get(lesson)
    data = {
        "action": "Text residents the day before each repair visit",
        "owner_id": "sam.reviewer",
        **due_boxes(TODAY + timedelta(days=12)),
        "public_summary": PUBLIC_WORDS,
        "csrf_token": csrf_in(page.text),
        **fields,
    }
    return await client.post(f"{lesson}/improvements", data=data)


async def mark_done(
    client: httpx.AsyncClient, lesson: str, improvement_id: int, note: str, **fields: str
) -> httpx.Response:
    page = await client.get(lesson)
    data = {"note": note, "csrf_token": csrf_in(page.text), **fields}
    return await client.post(f"/learning/improvements/{improvement_id}/done", data=data)


def improvement_ids(page: str) -> list[int]:
    return [int(n) for n in re.findall(r'id="improvement-(\d+)"', page)]


# --------------------------------------------------------------------------------- tests


async def test_any_signed_in_staff_record_a_lesson_linked_to_complaints(
    staff: httpx.AsyncClient,
) -> None:
    await admin_sign_in(staff, "ali.advisor")  # an advisor: the least of the roles
    menu = await staff.get("/queues/mine")
    assert '<a href="/learning">Learning</a>' in menu.text

    recorded = await record_lesson(staff, f"{COMPLAINT.lower()}, {OTHER_COMPLAINT}")
    assert recorded.status_code == 303, text(recorded.text)
    lesson_url = recorded.headers["location"]
    assert re.fullmatch(r"/learning/lessons/\d+", lesson_url)

    page = await staff.get(lesson_url)
    assert page.status_code == 200
    shown = text(page.text)
    assert f"Lesson {lesson_url.rsplit('/', 1)[1]} recorded, linked to {COMPLAINT}, " in shown
    assert "Repair visits were missed when the contractor changed" in shown
    assert f'<a href="/cases/{COMPLAINT}">{COMPLAINT}</a>' in page.text
    assert f'<a href="/cases/{OTHER_COMPLAINT}">{OTHER_COMPLAINT}</a>' in page.text
    assert "Repairs" in shown and "ali.advisor" in shown
    # advisors record lessons; improvements are for the roles that own cases
    assert "Add an improvement" not in shown
    assert "Case officers, stage 2 reviewers and managers add improvements" in shown

    listed = text((await staff.get("/learning")).text)
    assert "Repair visits were missed when the contractor changed" in listed
    assert f"{COMPLAINT} , {OTHER_COMPLAINT}" in listed and "None yet" in listed


async def test_a_reference_that_is_no_complaint_is_refused_against_its_field(
    staff: httpx.AsyncClient, learning_store: RecordsStore
) -> None:
    await admin_sign_in(staff, "jo.officer")
    cases = {
        "CMP-0000-0009": "There is no complaint CMP-0000-0009 in the records: check the reference",
        ENQUIRY.lower(): (
            f"{ENQUIRY} is an enquiry, not a complaint: only complaints can be linked to a lesson"
        ),
        f"{COMPLAINT} nonsense": "'nonsense' is not a reference: like CMP-2027-0001",
        "": "Enter the reference of at least one complaint, like CMP-2027-0001",
    }
    for references, message in cases.items():
        refused = await record_lesson(staff, references)
        assert refused.status_code == 400, references
        assert errors(refused.text) == {"lesson-references": message}
        assert "Error: Learning from complaints" in refused.text
        # the answers are kept, the message is beside the field too
        assert 'value="Repair visits were missed when the contractor changed"' in refused.text
        assert f'id="lesson-references-error">{message}<' in html.unescape(refused.text)
    blank = await record_lesson(staff, COMPLAINT, title="", service_area="")
    assert errors(blank.text) == {
        "lesson-title": "Enter what you learned",
        "lesson-service-area": "Enter the service area",
    }
    assert LearningLog(learning_store).lessons() == [], "nothing was recorded"

    # linking one more to a lesson: the same rule, against the link's field
    lesson_url = (await record_lesson(staff, COMPLAINT)).headers["location"]
    page = await staff.get(lesson_url)
    linked = await staff.post(
        f"{lesson_url}/cases", data={"reference": ENQUIRY, "csrf_token": csrf_in(page.text)}
    )
    assert linked.status_code == 400
    assert errors(linked.text) == {
        "link-reference": (
            f"{ENQUIRY} is an enquiry, not a complaint: only complaints can be linked to a lesson"
        )
    }
    linked = await staff.post(
        f"{lesson_url}/cases",
        data={"reference": OTHER_COMPLAINT, "csrf_token": csrf_in(page.text)},
    )
    assert linked.status_code == 303
    assert f">{OTHER_COMPLAINT}</a>" in (await staff.get(lesson_url)).text


async def test_an_improvement_with_an_owner_and_a_due_date_is_tracked_and_done_with_a_note(
    app: FastAPI, staff: httpx.AsyncClient
) -> None:
    await admin_sign_in(staff, "jo.officer")
    lesson_url = (await record_lesson(staff, COMPLAINT)).headers["location"]

    # what is wrong is said against the field, and nothing is added
    problems = {
        "past": (due_boxes(TODAY - timedelta(days=1)), "improvement-due-day"),
        "no month": ({**due_boxes(TODAY), "improvement-due-month": ""}, "improvement-due-month"),
        "no such day": (
            {**due_boxes(TODAY), "improvement-due-day": "31", "improvement-due-month": "2"},
            "improvement-due-day",
        ),
    }  # fmt: skip
    messages = {
        "past": "The due date must be today or in the future",
        "no month": "The due date must include a month",
        "no such day": "Enter the due date as a real date, like 27 3 2027",
    }
    for name, (boxes, field) in problems.items():
        refused = await add_improvement(staff, lesson_url, **boxes)
        assert refused.status_code == 400, name
        assert errors(refused.text) == {field: messages[name]}, name
        assert 'id="improvement-due-error"' in refused.text, "beside the date's boxes"
    refused = await add_improvement(staff, lesson_url, owner_id="ali.advisor", action="")
    assert errors(refused.text) == {"improvement-action": "Enter what will change"}
    refused = await add_improvement(staff, lesson_url, owner_id="ali.advisor")
    assert errors(refused.text) == {
        "improvement-owner": "Ali Advisor cannot own an improvement: choose a case officer, "
        "a stage 2 reviewer or a manager"
    }
    refused = await add_improvement(staff, lesson_url, public_summary=f"Thanks to {COMPLAINT}")
    assert errors(refused.text) == {
        "improvement-public-summary": "The public summary is shown to everyone: leave out case "
        "references, email addresses and postcodes"
    }
    assert improvement_ids((await staff.get(lesson_url)).text) == []

    added = await add_improvement(staff, lesson_url)
    assert added.status_code == 303, text(added.text)
    later = await add_improvement(
        staff,
        lesson_url,
        action="Give the contractor our booked visits every morning",
        owner_id="mo.manager",
        public_summary="",
        **due_boxes(TODAY + timedelta(days=30)),
    )
    assert later.status_code == 303
    page = await staff.get(lesson_url)
    shown = text(page.text)
    assert "Improvement added for Mo Manager, due 07 April 2027." in shown
    assert "Text residents the day before each repair visit" in shown
    assert "Sam Reviewer" in shown and "20 March 2027" in shown
    first, second = improvement_ids(page.text)

    # an advisor may see it, not add to it or mark it done
    async with admin_http(app) as advisor:
        await admin_sign_in(advisor, "ali.advisor")
        assert (await add_improvement(advisor, lesson_url)).status_code == 403
        refused = await mark_done(advisor, lesson_url, first, "Done")
        assert refused.status_code == 403
        assert "Only a case officer, reviewer, manager can do this." in text(refused.text)

    # a done note is required
    no_note = await mark_done(staff, lesson_url, first, "  ")
    assert no_note.status_code == 400
    assert errors(no_note.text) == {f"done-{first}-note": "Enter what was done"}

    # the list: open ones first, soonest due first, overdue marked once the due day has passed
    app.state.clock = lambda: (NOW + timedelta(days=14)).astimezone(UTC)
    listed = (await staff.get("/learning")).text
    assert improvement_ids(listed) == [first, second]
    row = listed.split(f'id="improvement-{first}"', 1)[1].split("</tr>", 1)[0]
    assert "Overdue" in row
    assert "Overdue" not in listed.split(f'id="improvement-{second}"', 1)[1].split("</tr>", 1)[0]

    done = await mark_done(staff, lesson_url, first, "Texts go out from the repairs system.")
    assert done.status_code == 303, text(done.text)
    page = text((await staff.get(lesson_url)).text)
    assert f"Improvement {first} marked done." in page
    assert "Texts go out from the repairs system." in page and "jo.officer" in page
    again = await mark_done(staff, lesson_url, first, "Once more")
    assert again.status_code == 400
    assert errors(again.text) == {f"done-{first}-note": "This improvement is already marked done"}
    listed = (await staff.get("/learning")).text
    assert improvement_ids(listed) == [second, first], "the open one first, then the done one"
    row = listed.split(f'id="improvement-{first}"', 1)[1].split("</tr>", 1)[0]
    assert "Done Mon 22 Mar 2027" in text(row)
    assert "1 of 2 done" in text(listed)


async def test_you_said_we_did_lists_done_improvements_with_nothing_personal(
    app: FastAPI, staff: httpx.AsyncClient
) -> None:
    await admin_sign_in(staff, "mo.manager")
    lesson_url = (await record_lesson(staff, COMPLAINT)).headers["location"]
    await add_improvement(staff, lesson_url)  # done, with a public summary
    await add_improvement(staff, lesson_url, public_summary="", action="Private: retrain Bob")
    await add_improvement(staff, lesson_url, public_summary="Not done yet, so not shown.")
    first, second, third = improvement_ids((await staff.get(lesson_url)).text)
    app.state.clock = lambda: london(2027, 4, 2, 15).astimezone(UTC)
    assert (await mark_done(staff, lesson_url, first, "Sam set up the texts")).status_code == 303
    assert (await mark_done(staff, lesson_url, second, "Bob retrained")).status_code == 303

    async with admin_http(app) as resident:  # nobody signed in
        page = await resident.get("/you-said-we-did")
    assert page.status_code == 200
    shown = text(page.text)
    assert PUBLIC_WORDS in shown
    assert "Repairs" in shown and "April 2027" in shown
    assert shown.count("April 2027") == 1, "only the done improvement with a public summary"
    assert "Not done yet" not in shown and "Bob" not in shown
    for private in (
        COMPLAINT,
        RESIDENT,
        "ME19",
        "Sam set up the texts",  # the done note is for staff
        "Repair visits were missed",  # so is the lesson itself
        "Sam Reviewer",
        "sam.reviewer",
        "Mo Manager",
        "mo.manager",
        "Sign out",
        "/learning",
    ):
        assert private not in page.text, private
    assert third


async def test_the_public_page_is_rate_limited_per_client_address(app: FastAPI) -> None:
    async with admin_http(app) as resident:
        answers = [(await resident.get("/you-said-we-did")).status_code for _ in range(LIMIT)]
        assert answers == [200] * LIMIT
        over = await resident.get("/you-said-we-did")
        other = await resident.get("/complain")
    assert over.status_code == 429
    assert "Try again in 10 minutes." in text(over.text)
    assert 590 <= int(over.headers["retry-after"]) <= 600
    assert "Nothing to show yet" not in over.text, "no list over the limit"
    assert other.status_code == 200, "its own limit: the rest of the site still answers"


def test_the_store_and_its_migration(learning_store: RecordsStore, learning_url: str) -> None:
    """The tables as the reports issue will count them, on each backend; the migration goes
    down and up again."""
    columns = {
        table: {c["name"] for c in inspect(learning_store.engine).get_columns(table)}
        for table in ("lessons", "lesson_cases", "improvements")
    }
    assert columns == {
        "lessons": {"id", "title", "detail", "service_area", "created_by", "created_at"},
        "lesson_cases": {"lesson_id", "reference", "linked_by", "linked_at"},
        "improvements": {
            "id", "lesson_id", "action", "owner_id", "due_on", "public_summary", "created_by",
            "created_at", "done_at", "done_by", "done_note",
        },
    }  # fmt: skip
    log = LearningLog(learning_store)
    lesson = log.record_lesson(
        NewLesson(title="Say when", service_area="Repairs", references=[COMPLAINT]),
        by="jo.officer",
        now=NOW,
    )
    with pytest.raises(LearningRefused) as refused:
        log.link_case(lesson.id, ENQUIRY, by="jo.officer", now=NOW)
    assert refused.value.field == "reference"
    log.link_case(lesson.id, OTHER_COMPLAINT, by="jo.officer", now=NOW)
    log.link_case(lesson.id, OTHER_COMPLAINT, by="jo.officer", now=NOW)  # once only
    new = NewImprovement(
        lesson_id=lesson.id,
        action="Text first",
        owner_id="jo.officer",
        due_on=TODAY,
        public_summary="We text first.",
    )
    added = log.add_improvement(new, by="mo.manager", today=TODAY, now=NOW)
    with pytest.raises(LearningRefused):
        log.add_improvement(new, by="mo.manager", today=TODAY + timedelta(days=1), now=NOW)
    log.complete_improvement(added.id, CompleteImprovement(note="Done"), by="jo.officer", now=NOW)
    assert [lesson.id for lesson in log.lessons_for_case(OTHER_COMPLAINT.lower())] == [lesson.id]
    assert log.lessons_for_case(ENQUIRY) == []
    assert log.lessons_for_case(COMPLAINT)[0].references == [COMPLAINT, OTHER_COMPLAINT]
    [said] = log.you_said_we_did()
    assert said.model_dump() == {
        "summary": "We text first.",
        "service_area": "Repairs",
        "done_month": "March 2027",
        "done_on": TODAY,
    }


def test_the_migration_goes_down_and_up(learning_url: str) -> None:
    """0006 alone (the later migrations are another piece of work's): down to 0005 removes the
    three tables, up again brings them back."""
    store = RecordsStore(learning_url)
    tables = {"lessons", "lesson_cases", "improvements"}
    try:
        for target, present in (("0006", True), ("0005", False), ("0006", True)):
            with store.writer.begin() as connection:
                config = alembic_config(connection)
                if present:
                    command.upgrade(config, target)
                else:
                    command.downgrade(config, target)
            names = set(inspect(store.engine).get_table_names())
            assert (tables <= names) if present else not (tables & names), target
    finally:
        store.dispose()
