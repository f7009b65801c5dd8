"""Who signs the responses of real cases, end to end on the time-skipping server: the steps, the
workflows, the letters activity with the staff accounts, and the letters as they were sent."""

from __future__ import annotations

import html
import re
import uuid
from pathlib import Path

import pytest

from config import Settings
from records.store import RecordsStore
from tests.support import (
    CATEGORY,
    JO,
    SAM,
    SURVEY_SECRET,
    complaint,
    create_staff,
    decided,
    enquiry,
    enquiry_step,
    letter_text,
    london,
    start,
    start_enquiry,
    step,
    travel_to,
)

LANDLORD = "West Kent Housing Association"
MONDAY = london(2027, 3, 1, 10)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """As the suite's conftest has it (this folder's conftest keeps no records database)."""
    return Settings(
        database_url=f"sqlite:///{tmp_path / 'records.db'}",
        outbox_dir=tmp_path / "outbox",
        task_queue=f"complaints-{uuid.uuid4().hex[:8]}",
        survey_secret=SURVEY_SECRET,
    )


@pytest.fixture
def staff(store: RecordsStore) -> RecordsStore:
    create_staff(store)  # jo.officer "Jo Officer", sam.reviewer "Sam Reviewer", mo.manager ...
    return store


def signed(store: RecordsStore, reference: str, key: str) -> str:
    """The sign-off of the letter as it was sent, one line."""
    body = letter_text(store, reference, key)
    block = re.search(r'<div class="sign-off">(.*?)</div>', body, re.S)
    assert block is not None
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", block.group(1))).split())


async def test_each_stage_is_signed_by_its_investigator_or_reviewer(env, worker, staff):
    await travel_to(env, MONDAY)
    case = complaint(MONDAY)
    ref = case.reference
    await start(env.client, case, worker.task_queue)
    await step(env.client, ref, "accept", by=JO.id, category=CATEGORY)
    await step(env.client, ref, "assign", by="mo.manager", owner=JO)
    await step(env.client, ref, "acknowledge", by=JO.id, points=case.points, outcome_sought="Fixed")
    decisions = [decided(p, "not_upheld", "We kept every appointment.") for p in case.points]
    # a manager sends the response the investigator wrote: the investigator signs it
    await step(
        env.client, ref, "respond", by="mo.manager", decisions=decisions, summary="Not upheld."
    )
    assert signed(staff, ref, "s1_response") == (
        f"Yours sincerely, Jo Officer Complaints Investigator, Customer Resolution Team {LANDLORD}"
    )

    await step(env.client, ref, "escalate", by="ali.advisor", reviewer=SAM)
    await step(
        env.client, ref, "acknowledge", by=SAM.id, points=case.points, outcome_sought="Fixed"
    )
    await step(env.client, ref, "respond", by=SAM.id, decisions=decisions, summary="Agreed.")
    assert signed(staff, ref, "s2_response") == (
        f"Yours sincerely, Sam Reviewer Complaints Reviewer, Customer Resolution Team {LANDLORD}"
    )


async def test_a_response_on_a_case_nobody_owns_is_signed_by_who_sent_it(env, worker, staff):
    await travel_to(env, MONDAY)
    case = complaint(MONDAY)
    ref = case.reference
    await start(env.client, case, worker.task_queue)
    await step(env.client, ref, "accept", by=JO.id, category=CATEGORY)
    await step(env.client, ref, "acknowledge", by=JO.id, points=case.points, outcome_sought="Fixed")
    decisions = [decided(p, "not_upheld", "We kept every appointment.") for p in case.points]
    await step(env.client, ref, "respond", by=JO.id, decisions=decisions, summary="Not upheld.")
    assert signed(staff, ref, "s1_response") == (
        f"Yours sincerely, Jo Officer Complaints Investigator, Customer Resolution Team {LANDLORD}"
    )


async def test_an_enquiry_reply_is_signed_by_the_officer_who_replied(env, worker, staff):
    await travel_to(env, MONDAY)
    first, second = enquiry(MONDAY), enquiry(MONDAY)
    for case in (first, second):
        await start_enquiry(env.client, case, worker.task_queue)
    message = "Dear Ann,\n\nYour rent statement is attached.\n\nKind regards,\nJo"
    await enquiry_step(env.client, first.reference, "reply", by=JO.id, message=message)
    assert signed(staff, first.reference, "reply:1") == (
        f"Yours sincerely, Jo Officer Customer Services Team {LANDLORD}"
    )
    body = letter_text(staff, first.reference, "reply:1")
    assert body.count("Dear ") == 1 and "Kind regards" not in body
    # a `by` with no account (a script, say): the team signs, and the letter is still sent
    await enquiry_step(env.client, second.reference, "reply", by="intake-script", message="Sent.")
    assert signed(staff, second.reference, "reply:1") == (
        f"Yours sincerely, Customer Services Team {LANDLORD}"
    )
