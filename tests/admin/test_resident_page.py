"""The resident's own case page, by the personal link in their letters (`/your-case/<token>`):
the link in the stage 1 response opens a page with where the case stands, what happens next and
by when, and every letter sent to them; "Ask for stage 2" sends the workflow's `escalate` step as
the resident; a tampered, revoked or unknown link opens nothing; every view is logged; the token
never reaches the access log."""

from __future__ import annotations

import logging
import re
from datetime import timedelta

import pytest
from fastapi import FastAPI
from temporalio.testing import WorkflowEnvironment

from config import Settings
from domain.complaint import RESIDENT_ONLINE
from domain.enquiry import enquiry_workflow_id
from letters.case_link import make_token
from records.case_links import CaseLinks, LinkEvent
from records.store import RecordsStore
from tests.admin.conftest import admin_http, admin_sign_in, csrf_in
from tests.admin.test_pages import JO, MO, TWO_POINTS, lodge, post, settled, staff, text, travel
from tests.support import CATEGORY, decided, enquiry, london, settle, start_enquiry, step
from worker.observability import DROP_QUERY_STRINGS
from workflows.cases import new_enquiry_reference

MONDAY = london(2027, 3, 1, 10)
LINK = re.compile(r'href="http://[^"]+(/your-case/[A-Za-z0-9_.\-]+)"')


def link_in(store: RecordsStore, ref: str, key: str) -> str:
    letter = store.get_letter(ref, key)
    assert letter is not None and letter.body_html, f"no letter {key}"
    found = LINK.search(letter.body_html)
    assert found, f"letter {key} carries no link to the resident's page"
    return found.group(1)


async def responded(env: WorkflowEnvironment, settings: Settings) -> str:
    ref = await lodge(env, settings, MONDAY)
    await step(env.client, ref, "accept", by=JO, category=CATEGORY)
    await step(env.client, ref, "acknowledge", by=JO, points=TWO_POINTS, outcome_sought="Fix")
    await step(
        env.client,
        ref,
        "respond",
        by=JO,
        decisions=[decided(p) for p in TWO_POINTS],
        summary="We missed two visits.",
        remedies={
            "apology": "Sorry.",
            "actions": [
                {"action": "Repair the boiler", "owner": "Repairs", "due": "2027-03-19"},
            ],
        },
    )
    await settled(env, ref)
    return ref


async def test_the_link_in_the_stage_1_response_opens_the_case_and_asks_for_stage_2(
    live_admin_app: FastAPI, env: WorkflowEnvironment, settings: Settings, store: RecordsStore
) -> None:
    app = live_admin_app
    await travel(env, app, MONDAY)
    ref = await responded(env, settings)
    link = link_in(store, ref, "s1_response")
    assert link == link_in(store, ref, "s1_acknowledgement"), "every letter, the same link"
    async with admin_http(app) as resident:
        page = await resident.get(link)
        assert page.status_code == 200, page.text
        shown = text(page.text)
        assert f"Your complaint, reference {ref}" in shown
        assert "We have sent our stage 1 response" in shown
        assert re.search(r"ask us to look at your complaint again \(stage 2\) by \w+day", shown)
        assert "Repair the boiler, by Friday 19 March 2027" in shown
        letters = re.findall(r'href="(/your-case/[^"]+/letters/([^"]+))"', page.text)
        keys = [k for _, k in letters]
        assert "s1_acknowledgement" in keys and "s1_response" in keys
        assert not any(k.startswith(("reminder", "breach")) for k in keys), "staff letters"
        assert JO not in page.text, "the page names no member of staff"
        letter = await resident.get(dict((k, u) for u, k in letters)["s1_response"])
        assert letter.status_code == 200 and "We missed two visits." in letter.text

        form = await resident.get(f"{link}/stage-2")
        assert form.status_code == 200
        sent = await post(
            resident,
            f"{link}/stage-2",
            form.text,
            {"reasons": "The repair is still not done.", "outcome_sought": "A date for it."},
        )
        assert sent.status_code == 303 and sent.headers["location"] == link
        after = await resident.get(link)
        assert "We have your request for stage 2" in text(after.text)

    case = await settled(env, ref)
    assert case.stage == "stage2"
    asked = case.timeline[-1]
    assert asked.actor == RESIDENT_ONLINE
    assert "The repair is still not done." in asked.summary
    assert "A date for it." in asked.summary
    assert {c.key for c in case.clocks if c.open} >= {"s2_contact", "s2_acknowledgement"}
    use = CaseLinks(store).use(ref)
    assert use.counts[LinkEvent.viewed] == 2
    assert use.counts[LinkEvent.letter_read] == 1
    assert use.counts[LinkEvent.asked_for_stage2] == 1

    async with admin_http(app) as staff:
        await admin_sign_in(staff, JO)
        case_page = text((await staff.get(f"/cases/{ref}")).text)
        assert "Escalated to stage 2. Why: The repair is still not done." in case_page
        assert "Viewed 2 times" in case_page


async def test_after_the_window_the_resident_must_say_why_they_ask_late(
    live_admin_app: FastAPI, env: WorkflowEnvironment, settings: Settings, store: RecordsStore
) -> None:
    app = live_admin_app
    await travel(env, app, MONDAY)
    ref = await responded(env, settings)
    link = link_in(store, ref, "s1_response")
    window = next(c for c in (await settled(env, ref)).clocks if c.key == "escalation_window")
    await travel(env, app, window.due + timedelta(days=2))
    case = await settled(env, ref)
    assert case.stage == "closed"
    async with admin_http(app) as resident:
        page = text((await resident.get(link)).text)
        assert "The time to ask for stage 2 has ended" in page
        form = await resident.get(f"{link}/stage-2")
        refused = await post(resident, f"{link}/stage-2", form.text, {"reasons": "Still broken"})
        assert refused.status_code == 400
        assert "Tell us why you are asking now" in text(refused.text)
        sent = await post(
            resident,
            f"{link}/stage-2",
            refused.text,
            {"exceptional_circumstances": "I was in hospital.", "reasons": "Still broken"},
        )
        assert sent.status_code == 303
    case = await settled(env, ref)
    assert case.stage == "stage2"
    assert "exceptional circumstances: I was in hospital." in case.timeline[-1].summary


@pytest.mark.parametrize("how", ["tampered", "revoked", "other salt", "no such case"])
async def test_a_link_that_opens_nothing_shows_nothing(
    live_admin_app: FastAPI,
    env: WorkflowEnvironment,
    settings: Settings,
    store: RecordsStore,
    how: str,
) -> None:
    app = live_admin_app
    await travel(env, app, MONDAY)
    ref = await lodge(env, settings, MONDAY)
    await settled(env, ref)
    link = f"/your-case/{make_token(app.state.settings, ref, 0)}"
    async with admin_http(app) as resident:
        assert (await resident.get(link)).status_code == 200, "the case's link opens it"
    if how == "tampered":
        link = link[:-2] + ("AA" if not link.endswith("AA") else "BB")
    elif how == "revoked":
        async with admin_http(app) as staff:
            await admin_sign_in(staff, MO)
            page = await staff.get(f"/cases/{ref}")
            revoked = await post(staff, f"/cases/{ref}/resident-link/revoke", page.text, {})
            assert revoked.status_code == 303
            assert "Revoked" in text((await staff.get(f"/cases/{ref}")).text)
    elif how == "other salt":
        from letters.survey import make_token as survey_token

        link = f"/your-case/{survey_token(app.state.settings, ref, '0' * 32)}"
    else:
        link = f"/your-case/{make_token(app.state.settings, 'CMP-2027-ZZZZ', 0)}"
    async with admin_http(app) as stranger:
        for path in (link, f"{link}/letters/s1_acknowledgement", f"{link}/stage-2"):
            answer = await stranger.get(path)
            assert answer.status_code == 404, (how, path)
            assert "This link is not valid" in answer.text
            assert ref not in answer.text
    if how == "revoked":
        new_link = f"/your-case/{make_token(app.state.settings, ref, 1)}"
        async with admin_http(app) as resident:
            assert (await resident.get(new_link)).status_code == 200, "the next generation opens"


async def test_only_a_manager_or_the_owner_may_revoke(
    live_admin_app: FastAPI, env: WorkflowEnvironment, settings: Settings, store: RecordsStore
) -> None:
    app = live_admin_app
    await travel(env, app, MONDAY)
    ref = await lodge(env, settings, MONDAY)
    await settled(env, ref)
    async with admin_http(app) as staff:
        await admin_sign_in(staff, JO)  # a case officer who does not own it
        page = await staff.get(f"/cases/{ref}")
        token = csrf_in(page.text)
        refused = await staff.post(f"/cases/{ref}/resident-link/revoke", data={"csrf_token": token})
        assert refused.status_code == 403
    assert CaseLinks(store).current(ref) == 0


def test_the_token_is_kept_out_of_the_access_log() -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        "",
        0,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/your-case/eyJhIjoxfQ.abc/letters/receipt?x=1", "1.1", 200),
        None,
    )
    DROP_QUERY_STRINGS.filter(record)
    assert (
        record.getMessage()
        == '127.0.0.1:5000 - "GET /your-case/[token]/letters/receipt HTTP/1.1" 200'
    )


async def test_a_resident_asks_for_a_call_back_from_their_complaint_page(
    live_admin_app: FastAPI, env: WorkflowEnvironment, settings: Settings, store: RecordsStore
) -> None:
    app = live_admin_app
    await travel(env, app, MONDAY)
    needs = {"large_print": True, "interpreter_language": "Polish"}
    resident = {"name": "Ann Example", "email": "ann@example.org", "adjustments": needs}
    ref = await lodge(env, settings, MONDAY, resident=resident)
    await step(env.client, ref, "accept", by=JO, category=CATEGORY)
    await step(env.client, ref, "assign", by=JO, owner=staff(app, JO))
    await settled(env, ref)
    link = f"/your-case/{make_token(app.state.settings, ref, 0)}"
    async with admin_http(app) as resident:
        page = await resident.get(link)
        assert f'href="{link}/call-back"' in page.text
        assert f'href="{link}/reply"' not in page.text, "a complaint has no 'reply to us'"
        form = await resident.get(f"{link}/call-back")
        submission = re.search(r'name="submission" value="([^"]+)"', form.text)
        assert submission, "the form carries a submission token"
        token = {"submission": submission[1]}
        empty = await post(resident, f"{link}/call-back", form.text, {"phone": " ", **token})
        assert empty.status_code == 400
        assert "Enter phone number to call" in text(empty.text)
        typed = {"phone": "07700 900999", "best_time": "Mornings", "about": "The repair date"}
        sent = await post(resident, f"{link}/call-back", empty.text, {**typed, **token})
        assert sent.status_code == 303 and sent.headers["location"] == link
        again = await post(resident, f"{link}/call-back", empty.text, {**typed, **token})
        assert again.status_code == 303, "the same form sent twice lodges one enquiry"
        assert "We will call you back" in text((await resident.get(link)).text)
        assert (await resident.get(f"{link}/reply")).status_code == 303
    enquiry = await settle(
        env.client.get_workflow_handle(enquiry_workflow_id(new_enquiry_reference(submission[1])))
    )
    assert enquiry.subject == f"Please call me back about {ref}"
    assert enquiry.linked_references == [ref]
    assert enquiry.owner is not None and enquiry.owner.id == JO, "in the case owner's queue"
    assert enquiry.enquirer.phone == "07700 900999"
    assert enquiry.enquirer.preferred_contact == "phone"
    assert "Best time to call: Mornings" in enquiry.message
    adjustments = enquiry.enquirer.adjustments
    assert adjustments is not None and adjustments.large_print, "the needs go with it"
    assert adjustments.interpreter_language == "Polish"
    recorded = store.get_case(enquiry.reference)
    assert recorded is not None and recorded.owner_id == JO
    assert CaseLinks(store).use(ref).counts[LinkEvent.asked_for_call_back] == 1


async def test_an_enquirer_replies_from_their_page(
    live_admin_app: FastAPI, env: WorkflowEnvironment, settings: Settings, store: RecordsStore
) -> None:
    app = live_admin_app
    await travel(env, app, MONDAY)
    first = enquiry(MONDAY)
    await start_enquiry(env.client, first, settings.task_queue)
    link = f"/your-case/{make_token(app.state.settings, first.reference, 0)}"
    async with admin_http(app) as resident:
        page = await resident.get(link)
        assert "We have your enquiry" in text(page.text)
        assert "We will reply to you by" in text(page.text)
        assert "Ask for stage 2" not in page.text
        form = await resident.get(f"{link}/reply")
        token = re.search(r'name="submission" value="([^"]+)"', form.text)
        assert token
        sent = await post(
            resident,
            f"{link}/reply",
            form.text,
            {"message": "It is the 2025-26 statement I need.", "submission": token[1]},
        )
        assert sent.status_code == 303
        assert "We have your message" in text((await resident.get(link)).text)
    reply = await settle(
        env.client.get_workflow_handle(enquiry_workflow_id(new_enquiry_reference(token[1])))
    )
    assert reply.subject == f"Reply about {first.reference}"
    assert reply.linked_references == [first.reference]
    assert "It is the 2025-26 statement I need." in reply.message
    assert reply.enquirer.email == "ann@example.org"


async def test_asking_for_stage_2_in_time_needs_no_reasons(
    live_admin_app: FastAPI, env: WorkflowEnvironment, settings: Settings, store: RecordsStore
) -> None:
    """The policy: "You do not need to give reasons" to ask for stage 2 within the window."""
    app = live_admin_app
    await travel(env, app, MONDAY)
    ref = await responded(env, settings)
    link = link_in(store, ref, "s1_response")
    async with admin_http(app) as resident:
        form = await resident.get(f"{link}/stage-2")
        sent = await post(resident, f"{link}/stage-2", form.text, {})
        assert sent.status_code == 303 and sent.headers["location"] == link
    assert (await settled(env, ref)).stage == "stage2"
