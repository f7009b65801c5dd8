"""What a complaint led to, where staff work: the respond form's actions (who does each, when,
and the member of staff responsible) and, at stage 2, how its compensation stands to stage 1's;
the forms that follow each up; the case page's "Putting things right" and "Housing Ombudsman"
sections, and "Actions outstanding" on the case and in the queues."""

from __future__ import annotations

import re
from datetime import date, datetime

from fastapi import FastAPI
from temporalio.testing import WorkflowEnvironment

from config import Settings
from domain.complaint import Stage
from records.store import RecordsStore
from tests.admin.conftest import admin_http, admin_sign_in
from tests.admin.test_pages import (
    ALI,
    JO,
    MO,
    SAM,
    TWO_POINTS,
    error_summary,
    forms_on,
    lodge,
    post,
    settled,
    text,
    travel,
)
from tests.support import CATEGORY, decided, letter_keys, letter_text, london, step
from tests.support import SAM as SAM_MEMBER

MONDAY = london(2027, 3, 1, 10)  # the first test's day; each test has its own, later one
NEXT_MONDAY = london(2027, 3, 8, 10)
MONDAY_AFTER = london(2027, 3, 15, 10)

ANSWER = {
    "point_0": TWO_POINTS[0],
    "decision_0": "upheld",
    "reasons_0": "Two visits were missed",
    "root_cause_0": "contractor",
    "point_1": TWO_POINTS[1],
    "decision_1": "not_upheld",
    "reasons_1": "We called back the same day",
    "summary": "Sorry about the visits",
}
TWO_ACTIONS = {
    "action_0": "Replace the boiler",
    "action_owner_0": "Our repairs team",
    "action_due_0": "2027-03-22",
    "action_responsible_0": JO,
    "action_1": "Retrain the call centre on call-backs",
    "action_owner_1": "Our customer services manager",
    "action_due_1": "2027-04-05",
    "compensation": "£50",
}


async def investigating(
    env: WorkflowEnvironment, app: FastAPI, settings: Settings, day: datetime
) -> str:
    """Lodged on `day` (the test server's clock and the app's moved there), accepted, owned by
    Sam and acknowledged."""
    await travel(env, app, day)
    ref = await lodge(env, settings, day)
    await step(env.client, ref, "accept", by=JO, category=CATEGORY)
    await step(env.client, ref, "assign", by=MO, owner=SAM_MEMBER.model_dump())
    await step(env.client, ref, "acknowledge", by=SAM, points=TWO_POINTS, outcome_sought="Fix")
    return ref


def section(page: str, section_id: str) -> str:
    found = re.search(rf'<section[^>]*id="{section_id}".*?</section>', page, re.S)
    assert found, f"no section {section_id}"
    return text(found.group(0))


def queue_row(page: str, ref: str) -> str:
    found = re.search(rf'<tr data-reference="{ref}">.*?</tr>', page, re.S)
    assert found, f"{ref} is not in the queue"
    return text(found.group(0))


async def test_the_respond_form_promises_actions_that_are_tracked_until_done(
    live_admin_app: FastAPI, env: WorkflowEnvironment, settings: Settings, store: RecordsStore
) -> None:
    app = live_admin_app
    ref = await investigating(env, app, settings, MONDAY)

    async with admin_http(app) as http:
        await admin_sign_in(http, SAM)
        page = await http.get(f"/cases/{ref}")
        assert 'id="respond-action_responsible_2"' in page.text, "three action rows"
        assert 'id="respond-compensation_basis"' not in page.text, "stage 1: nothing to add to"

        # A row half filled, and an advisor made responsible: each named, all at once.
        bad = await post(
            http,
            f"/cases/{ref}/steps/respond",
            page.text,
            {**ANSWER, "action_0": "Replace the boiler", "action_responsible_0": ALI},
        )
        assert bad.status_code == 400
        problems = dict(error_summary(bad.text))
        assert problems["#respond-action_responsible_0"].startswith(
            "Ali Advisor cannot own cases, so cannot be responsible for action 1"
        )
        assert "#respond-action_due_0-day" in problems and "#respond-action_owner_0" in problems
        assert 'value="Replace the boiler"' in bad.text, "what was typed is kept"

        # A due date that has passed: the case's own reason.
        late = await post(
            http,
            f"/cases/{ref}/steps/respond",
            page.text,
            {**ANSWER, **TWO_ACTIONS, "action_due_1": "2027-02-26"},
        )
        assert late.status_code == 409
        assert (
            "Action 2 ('Retrain the call centre on call-backs') is due Fri 26 Feb 2027, which "
            "has passed" in text(late.text)
        )

        done = await post(http, f"/cases/{ref}/steps/respond", page.text, {**ANSWER, **TWO_ACTIONS})
        assert done.status_code == 303, done.text
        await settled(env, ref)
        page = await http.get(f"/cases/{ref}")
        assert 'id="actions-outstanding"' in page.text
        putting_right = section(page.text, "putting-right")
        assert (
            "1 Stage 1 Replace the boiler Our repairs team Jo Officer Mon 22 Mar 2027 Open"
            in putting_right
        )
        assert (
            "2 Stage 1 Retrain the call centre on call-backs Our customer services manager "
            "Sam Reviewer (the case owner) Mon 05 Apr 2027 Open" in putting_right
        )
        assert "Offered at stage 1 £50.00" in putting_right
        assert "Still owed £50.00" in putting_right
        team = await http.get("/queues/team")
        assert "Actions outstanding" in queue_row(team.text, ref)

    letter = text(letter_text(store, ref, "s1_response"))
    assert "Replace the boiler" in letter and "Retrain the call centre" in letter
    rows = store.tracking(ref).actions
    assert [(a.n, a.responsible_id, a.due_on) for a in rows] == [
        (1, JO, date(2027, 3, 22)),
        (2, None, date(2027, 4, 5)),
    ]
    assert store.get_case(ref).actions_outstanding

    # Jo, a case officer responsible for action 1, records it done; then the second.
    async with admin_http(app) as http:
        await admin_sign_in(http, JO)
        page = await http.get(f"/cases/{ref}")
        assert {"complete_action", "record_compensation"} <= forms_on(page.text, ref)
        assert "refer_to_ombudsman" not in forms_on(page.text, ref), "for reviewers and managers"
        no_note = await post(
            http, f"/cases/{ref}/steps/complete_action", page.text, {"action": "1"}
        )
        assert no_note.status_code == 400
        assert "#complete_action-note" in dict(error_summary(no_note.text))
        first = await post(
            http,
            f"/cases/{ref}/steps/complete_action",
            page.text,
            {"action": "1", "note": "New boiler fitted on 10 March"},
        )
        assert first.status_code == 303, first.text
        shown = await http.get(first.headers["location"])
        assert "Action recorded as done. 1 action still open" in text(shown.text)
        assert "Done on Mon 01 Mar 2027" in section(shown.text, "putting-right")
        again = await post(
            http,
            f"/cases/{ref}/steps/complete_action",
            shown.text,
            {"action": "1", "note": "Twice"},
        )
        assert again.status_code == 409
        assert "Action 1 was already done on Mon 01 Mar 2027" in text(again.text)
        second = await post(
            http,
            f"/cases/{ref}/steps/complete_action",
            shown.text,
            {"action": "2", "note": "Team briefed"},
        )
        assert second.status_code == 303, second.text
        shown = await http.get(second.headers["location"])
        assert "Every action is done: the resident's letter saying so is on its way" in text(
            shown.text
        )
        assert 'id="actions-outstanding"' in shown.text, "until the compensation is paid too"

        paid = await post(
            http,
            f"/cases/{ref}/steps/record_compensation",
            shown.text,
            {"amount": "£50.00", "note": "By bank transfer"},
        )
        assert paid.status_code == 303, paid.text
        shown = await http.get(paid.headers["location"])
        assert "Compensation recorded. Nothing more is owed" in text(shown.text)
        assert "Paid £50.00 on Mon 01 Mar 2027" in section(shown.text, "putting-right")
        assert 'id="actions-outstanding"' not in shown.text

    await settled(env, ref)
    assert "actions_completed:2" in letter_keys(store, ref)
    assert not store.get_case(ref).actions_outstanding
    assert [p.amount for p in store.tracking(ref).compensation_payments] == [50]


async def test_a_stage_2_offer_says_how_it_stands_to_stage_1s(
    live_admin_app: FastAPI, env: WorkflowEnvironment, settings: Settings, store: RecordsStore
) -> None:
    app = live_admin_app
    await travel(env, app, NEXT_MONDAY)
    ref = await lodge(env, settings, NEXT_MONDAY)
    await step(env.client, ref, "accept", by=JO, category=CATEGORY)
    await step(env.client, ref, "acknowledge", by=JO, points=TWO_POINTS, outcome_sought="Fix")
    decisions = [decided(p) for p in TWO_POINTS]
    await step(
        env.client,
        ref,
        "respond",
        by=JO,
        decisions=decisions,
        summary="Sorry",
        remedies={"compensation": "75.00"},
    )
    await step(env.client, ref, "escalate", by=ALI)
    await step(env.client, ref, "assign", by=MO, owner=SAM_MEMBER.model_dump())
    await step(env.client, ref, "acknowledge", by=SAM, points=TWO_POINTS, outcome_sought="Fix")
    answer = {
        **ANSWER,
        "decision_1": "upheld",
        "root_cause_1": "delay",
        "compensation": "100",
        "action_0": "Visit to apologise in person",
        "action_owner_0": "Our housing manager",
        "action_due_0": "2027-03-22",
    }

    async with admin_http(app) as http:
        await admin_sign_in(http, SAM)
        page = await http.get(f"/cases/{ref}")
        assert "how it stands to stage 1's offer of £75.00" in text(page.text)
        unsaid = await post(http, f"/cases/{ref}/steps/respond", page.text, answer)
        assert unsaid.status_code == 409
        assert (
            "Stage 1 offered £75.00 in compensation. Say whether this offer replaces it or "
            "adds to it" in text(unsaid.text)
        )
        done = await post(
            http,
            f"/cases/{ref}/steps/respond",
            page.text,
            {**answer, "compensation_basis": "adds"},
        )
        assert done.status_code == 303, done.text
        case = await settled(env, ref)
        assert case.stage is Stage.closed
        shown = await http.get(f"/cases/{ref}")
        putting_right = section(shown.text, "putting-right")
        assert "Offered at stage 2 £100.00 on Mon 08 Mar 2027 (in addition to stage 1's offer)" in (
            putting_right
        )
        assert "Offered in all £175.00" in putting_right
        assert "Kept for the Ombudsman until" in text(shown.text)
        # closed, but staff still owe the action: it stays in the queues
        row = queue_row((await http.get("/queues/team")).text, ref)
        assert "Put right: do the action" in row and "Actions outstanding" in row
        assert "Put right: action 1" in row, "the deadline's label"

    assert "we are offering <strong>£175.00</strong> in all" in letter_text(
        store, ref, "s2_response"
    )
    offers = store.tracking(ref).compensation_offers
    assert [(o.stage, o.amount, o.basis) for o in offers] == [(1, 75, None), (2, 100, "adds")]


async def test_the_ombudsmans_case_is_recorded_on_the_complaint(
    live_admin_app: FastAPI, env: WorkflowEnvironment, settings: Settings, store: RecordsStore
) -> None:
    app = live_admin_app
    ref = await investigating(env, app, settings, MONDAY_AFTER)

    async with admin_http(app) as http:
        await admin_sign_in(http, MO)
        page = await http.get(f"/cases/{ref}")
        assert 'id="ombudsman"' not in page.text, "no section until it is referred"
        referred = await post(
            http,
            f"/cases/{ref}/steps/refer_to_ombudsman",
            page.text,
            {"ombudsman_reference": "202412345", "referred_on": "2027-03-15"},
        )
        assert referred.status_code == 303, referred.text
        page = await http.get(referred.headers["location"])
        assert "Referral to the Housing Ombudsman recorded" in text(page.text)
        assert 'id="with-ombudsman"' in page.text
        asked = await post(
            http,
            f"/cases/{ref}/steps/record_evidence_request",
            page.text,
            {"description": "The repair records", "due_on": "2027-03-29"},
        )
        assert asked.status_code == 303, asked.text
        page = await http.get(asked.headers["location"])
        assert "The Ombudsman's request for evidence recorded. Due Mon 29 Mar 2027" in text(
            page.text
        )
        early = await post(
            http,
            f"/cases/{ref}/steps/record_ombudsman_order",
            page.text,
            {"kind": "order", "description": "Pay £200", "due_on": "2027-03-01"},
        )
        assert early.status_code == 409, "due before it was made"
        ordered = await post(
            http,
            f"/cases/{ref}/steps/record_ombudsman_order",
            page.text,
            {"kind": "order", "description": "Pay £200", "due_on": "2027-04-12"},
        )
        assert ordered.status_code == 303, ordered.text
        page = await http.get(ordered.headers["location"])
        found = await post(
            http,
            f"/cases/{ref}/steps/record_determination",
            page.text,
            {
                "determination": "service_failure",
                "findings": "The landlord missed two repair visits.",
                "determined_on": "2027-03-15",
            },
        )
        assert found.status_code == 303, found.text

    async with admin_http(app) as http:
        await admin_sign_in(http, JO)  # a case officer sends the evidence and complies
        page = await http.get(f"/cases/{ref}")
        assert {"record_evidence_sent", "record_order_complied"} <= forms_on(page.text, ref)
        sent = await post(
            http,
            f"/cases/{ref}/steps/record_evidence_sent",
            page.text,
            {"request": "1", "note": "Repair log and call notes"},
        )
        assert sent.status_code == 303, sent.text
        complied = await post(
            http,
            f"/cases/{ref}/steps/record_order_complied",
            page.text,
            {"order": "1", "evidence": "Payment confirmation"},
        )
        assert complied.status_code == 303, complied.text
        page = await http.get(f"/cases/{ref}")
        ombudsman = section(page.text, "ombudsman")
        for expected in (
            "Ombudsman's reference 202412345",
            "Referred on Mon 15 Mar 2027",
            "Service failure on Mon 15 Mar 2027 The landlord missed two repair visits.",
            "1 The repair records Mon 15 Mar 2027 Mon 29 Mar 2027 Sent Mon 15 Mar 2027",
            "1 Order Pay £200 Mon 15 Mar 2027 Mon 12 Apr 2027 Complied Mon 15 Mar 2027",
        ):
            assert expected in ombudsman, expected

    await settled(env, ref)
    tracking = store.tracking(ref)
    assert tracking.ombudsman and tracking.ombudsman.determination == "service_failure"
    assert [r.sent_on for r in tracking.ombudsman_requests] == [date(2027, 3, 15)]
    assert [o.complied_on for o in tracking.ombudsman_orders] == [date(2027, 3, 15)]
