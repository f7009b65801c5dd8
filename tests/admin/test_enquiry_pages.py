"""The enquiry pages, end to end: logging an enquiry, the enquiry queues, the enquiry page and its
step forms. Through the app, the time-skipping Temporal server, a real worker and the records
database. Monday 8 March 2027 is the day throughout: an online enquiry that morning is due by
the end of Tuesday 9 March."""

from __future__ import annotations

import html
import re
from datetime import date
from typing import Any

from fastapi import FastAPI
from temporalio.testing import WorkflowEnvironment

from config import Settings
from domain.clocks import ClockKey
from domain.enquiry import EnquiryOutcome, EnquiryState, enquiry_workflow_id, private_channel_reply
from domain.letters import Delivery
from records.store import RecordsStore
from tests.admin.conftest import admin_http, admin_sign_in
from tests.admin.test_pages import (
    error_summary,
    post,
    queue_rows,
    take_button,
    text,
    textarea,
    travel,
)
from tests.date_inputs import box_value, boxes
from tests.support import POLICY, clock, complaint, enquiry, london, settle, start, start_enquiry

JO, ALI, MO = "jo.officer", "ali.advisor", "mo.manager"
MONDAY = london(2027, 3, 8, 10)
EVERY_STEP_BUT_ASSIGN = {
    "reply",
    "holding_reply",
    "pass_to_team",
    "record_service_request",
    "record_update_preference",
    "convert",
    "close",
}


async def settled(env: WorkflowEnvironment, ref: str) -> Any:
    return await settle(env.client.get_workflow_handle(enquiry_workflow_id(ref)))


async def lodged(env: WorkflowEnvironment, settings: Settings, **overrides: Any) -> str:
    case = enquiry(london(2027, 3, 8, 9), **overrides)
    await start_enquiry(env.client, case, settings.task_queue)
    return case.reference


def forms_on(page: str, ref: str) -> set[str]:
    """The step forms on the page (not "Take this case", which is the assign step too)."""
    found = re.findall(
        rf'<section class="step" id="step-(\w+)".*?action="/enquiries/{ref}/steps/(\w+)"',
        page,
        re.S,
    )
    return {section for section, action in found if section == action}


def row(page: str, ref: str) -> str:
    found = re.search(rf'<tr data-reference="{ref}">.*?</tr>', page, re.S)
    assert found, f"{ref} is not in the queue"
    return found.group(0)


def _new_enquiry(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "channel": "online_form",
        "received_date": "2027-03-08",
        "received_time": "09:30",
        "name": "Ann Example",
        "email": "ann@example.org",
        "phone": "07700 900123",
        "address_lines": "1 High Street\nSevenoaks",
        "postcode": "tn13 1aa",
        "social_handle": "",
        "preferred_contact": "email",
        "reasonable_adjustments": "Large print, please",
        "subject": "Rent statement",
        "message": "Please send me a copy of my rent statement for this year.",
        "addressed_to": "",
        "callback_from": "",
        "callback_from_returns_on": "",
        "owner": "",
    }
    data.update(changes)
    return data


async def test_an_enquiry_logged_through_the_form_is_queued_shown_and_answered_by_email(
    live_admin_app: FastAPI, env: WorkflowEnvironment, settings: Settings, store: RecordsStore
) -> None:
    app = live_admin_app
    await travel(env, app, MONDAY)
    a_complaint = complaint(london(2027, 3, 8, 9))
    await start(env.client, a_complaint, settings.task_queue)

    async with admin_http(app) as http:
        await admin_sign_in(http, ALI)
        form = await http.get("/enquiries/new")
        assert form.status_code == 200
        shown = [
            box_value(form.text, f"enquiry-received_date-{p}") for p in ("day", "month", "year")
        ]
        assert shown == ["8", "3", "2027"] and 'value="10:00"' in form.text, "now, UK time"
        for label in (
            'for="enquiry-channel"',
            'for="enquiry-received_date-day"',
            'for="enquiry-name"',
        ):
            assert label in form.text
        chosen = re.search(r'name="reference" value="(ENQ-[0-9A-Z-]+)"', form.text)
        assert chosen, "the form carries its reference, so a second press logs nothing new"

        bad = await post(http, "/enquiries/new", form.text, _new_enquiry(name="", channel=""))
        assert bad.status_code == 400
        problems = dict(error_summary(bad.text))
        assert problems["#enquiry-name"] == "Enter the name of the person getting in touch"
        assert problems["#enquiry-channel"] == "Choose how the resident got in touch"
        assert textarea(bad.text, "enquiry-message") == _new_enquiry()["message"], "input kept"

        unreachable = await post(
            http,
            "/enquiries/new",
            form.text,
            _new_enquiry(email="", phone="", address_lines="", postcode=""),
        )
        assert unreachable.status_code == 400
        assert error_summary(unreachable.text) == [
            (
                "#enquiry-email",
                "Give at least one way to reply: an email address, a phone number, "
                "a postal address or a social media name",
            )
        ]

        ref = chosen.group(1)
        location = f"/enquiries/{ref}"
        logged = await post(http, "/enquiries/new", form.text, _new_enquiry(reference=ref))
        assert (logged.status_code, logged.headers["location"]) == (303, location), logged.text
        assert (
            f"Enquiry {ref} logged. It counts as received on Mon 08 Mar 2027; "
            "the reply is due by the end of Tue 09 Mar 2027"
        ) in text((await http.get(location)).text)
        twice = await post(http, "/enquiries/new", form.text, _new_enquiry(reference=ref))
        assert (twice.status_code, twice.headers["location"]) == (303, location)
        assert f"Enquiry {ref} was already logged" in text((await http.get(location)).text)

        case = await settled(env, ref)
        assert case.received_on == date(2027, 3, 8)
        assert clock(case, ClockKey.enquiry_reply).due_day == date(2027, 3, 9)
        assert case.enquirer.address.postcode == "TN13 1AA"
        assert case.timeline[0].actor == ALI

        enquiries = (await http.get("/queues/team?kind=enquiry")).text
        assert queue_rows(enquiries) == {ref: "amber"}, "due within 2 working days"
        assert "Team cases: enquiries" in text(enquiries)
        listed = text(row(enquiries, ref))
        for expected in ("Ann Example", "Enquiry", "Reply", "Tue 09 Mar 2027 17:15"):
            assert expected in listed, expected
        assert f'href="/enquiries/{ref}"' in row(enquiries, ref)
        both = queue_rows((await http.get("/queues/team")).text)
        assert set(both) == {ref, a_complaint.reference}
        complaints = queue_rows((await http.get("/queues/team?kind=complaint")).text)
        assert list(complaints) == [a_complaint.reference]
        assert list(queue_rows((await http.get("/queues/due-soon?kind=enquiry")).text)) == [ref]

        page = await http.get(location)
        assert page.status_code == 200
        body = text(page.text)
        for expected in (
            "Ann Example",
            "ann@example.org",
            "07700 900123",
            "1 High Street Sevenoaks TN13 1AA",
            "Large print, please",
            "How Online contact form",
            "Counts as received on Mon 08 Mar 2027",
            "Rent statement",
            _new_enquiry()["message"],
            "Reply to the enquiry Tue 09 Mar 2027 17:15 Due soon",
        ):
            assert expected in body, expected
        ui = f"{settings.temporal_ui_url}/namespaces/default/workflows/enquiry-{ref}"
        assert f'href="{ui}"' in page.text
        assert forms_on(page.text, ref) == EVERY_STEP_BUT_ASSIGN

        old_link = await http.get(f"/cases/{ref.lower()}")
        assert (old_link.status_code, old_link.headers["location"]) == (303, location)
        found = await http.get("/search", params={"q": "tn13 1aa"})
        assert f'href="/cases/{ref}"' in found.text and "Reply" in text(found.text)

        replied = await post(
            http,
            f"/enquiries/{ref}/steps/reply",
            page.text,
            {"message": "Your rent statement is attached.", "via": "email", "closes": "yes"},
        )
        assert replied.status_code == 303, replied.text
        assert replied.headers["location"] == location
        case = await settled(env, ref)
        assert (case.state, case.outcome) == (EnquiryState.closed, EnquiryOutcome.answered)
        reply_clock = clock(case, ClockKey.enquiry_reply)
        assert reply_clock.met_at is not None and reply_clock.breached_at is None
        assert case.timeline[-2].actor == ALI
        letter = store.get_letter(ref, "reply:1")
        assert letter is not None and letter.sent and letter.delivery is Delivery.email
        assert "Your rent statement is attached." in html.unescape(letter.body_html or "")

        shown = await http.get(location)
        body = text(shown.text)
        assert "Replied by email. The enquiry is closed" in body
        assert "Reply to the enquiry Tue 09 Mar 2027 17:15 Met" in body
        assert forms_on(shown.text, ref) == set()
        link = f'href="/enquiries/{ref}/letters/reply%3A1"'
        assert link in shown.text, "the timeline links the letter"
        preview = await http.get(f"/enquiries/{ref}/letters/reply%3A1")
        assert preview.status_code == 200
        assert f"Back to enquiry {ref}" in text(preview.text)
        assert ref not in queue_rows((await http.get("/queues/team")).text), "closed: no queue"


async def test_refused_steps_bad_input_and_roles(
    live_admin_app: FastAPI, env: WorkflowEnvironment, settings: Settings
) -> None:
    app = live_admin_app
    await travel(env, app, MONDAY)
    ref = await lodged(env, settings)

    async with admin_http(app) as http:
        await admin_sign_in(http, ALI)
        page = await http.get(f"/enquiries/{ref}")
        assert forms_on(page.text, ref) == EVERY_STEP_BUT_ASSIGN, "advisors do not assign"
        assert "assign the enquiry" in text(page.text), "told a colleague can"
        forbidden = await post(http, f"/enquiries/{ref}/steps/assign", page.text, {"owner": ALI})
        assert forbidden.status_code == 403

        refused = await post(
            http,
            f"/enquiries/{ref}/steps/holding_reply",
            page.text,
            {"estimated_date": "2027-03-09", "reasons": "Waiting for the rent team", "via": ""},
        )
        assert refused.status_code == 409
        assert error_summary(refused.text) == [
            (
                "#step-holding_reply",
                "The estimated date must be after the current due date (Tue 09 Mar 2027).",
            )
        ]
        assert textarea(refused.text, "holding_reply-reasons") == "Waiting for the rent team"

        bad = await post(
            http,
            f"/enquiries/{ref}/steps/reply",
            page.text,
            {"message": "  ", "via": "email", "closes": "yes"},
        )
        assert bad.status_code == 400
        assert error_summary(bad.text) == [("#reply-message", "Enter the reply")]
        bad_date = await post(
            http,
            f"/enquiries/{ref}/steps/record_service_request",
            page.text,
            {"description": "Fix the gate", **boxes("target_date", "31 2 2027"), "via": ""},
        )
        assert bad_date.status_code == 400
        assert error_summary(bad_date.text) == [
            (
                "#record_service_request-target_date-day",
                "Enter the target date as a real date, like 27 3 2027",
            )
        ]
        no_year = await post(
            http,
            f"/enquiries/{ref}/steps/record_service_request",
            page.text,
            {"description": "Fix the gate", **boxes("target_date", "19 3 "), "via": ""},
        )
        assert error_summary(no_year.text) == [
            ("#record_service_request-target_date-year", "The target date must include a year")
        ]
        assert box_value(no_year.text, "record_service_request-target_date-day") == "19"
        case = await settled(env, ref)
        assert case.state is EnquiryState.open and len(case.timeline) == 1, "nothing happened"

    async with admin_http(app) as http:
        await admin_sign_in(http, MO)
        page = await http.get(f"/enquiries/{ref}")
        assert "assign" in forms_on(page.text, ref), "managers may assign"
        assigned = await post(http, f"/enquiries/{ref}/steps/assign", page.text, {"owner": JO})
        assert assigned.status_code == 303
        case = await settled(env, ref)
        assert case.owner and case.owner.id == JO
        mine = await http.get("/queues/mine")
        assert ref not in queue_rows(mine.text), "Mo's queue, not Jo's"


async def test_passing_to_a_team_shows_the_team_and_its_deadline_then_a_complaint(
    live_admin_app: FastAPI, env: WorkflowEnvironment, settings: Settings, store: RecordsStore
) -> None:
    app = live_admin_app
    await travel(env, app, MONDAY)
    ref = await lodged(env, settings)

    async with admin_http(app) as http:
        await admin_sign_in(http, JO)
        page = await http.get(f"/enquiries/{ref}")
        passed = await post(
            http,
            f"/enquiries/{ref}/steps/pass_to_team",
            page.text,
            {"team": "Repairs", "next_steps": "A surveyor will visit.", "owner": "", "via": ""},
        )
        assert passed.status_code == 303, passed.text
        case = await settled(env, ref)
        assert (case.state, case.team) == (EnquiryState.with_team, "Repairs")
        assert clock(case, ClockKey.team_reply).due_day == date(2027, 3, 15)
        assert store.get_letter(ref, "passed_to_team:1") is not None, "the resident is told"

        shown = await http.get(f"/enquiries/{ref}")
        body = text(shown.text)
        for expected in (
            "Passed to Repairs; resident told by email; team to reply by Mon 15 Mar 2027",
            "Team Repairs",
            "Team: fix or update the resident Mon 15 Mar 2027 17:15 Open",
            "Reply to the enquiry Tue 09 Mar 2027 17:15 Met",
        ):
            assert expected in body, expected
        assert forms_on(shown.text, ref) == {
            "reply",
            "holding_reply",
            "record_update_preference",
            "convert",
            "close",
        }
        queued = text(row((await http.get("/queues/team?kind=enquiry")).text, ref))
        assert "Team to fix or update" in queued and "Mon 15 Mar 2027 17:15" in queued

        converted = await post(
            http,
            f"/enquiries/{ref}/steps/convert",
            shown.text,
            {"points": ["The surveyor never came", ""], "outcome_sought": "A visit"},
        )
        assert converted.status_code == 303, converted.text
        case = await settled(env, ref)
        assert case.outcome is EnquiryOutcome.converted_to_complaint
        (complaint_ref,) = case.linked_references
        final = await http.get(f"/enquiries/{ref}")
        assert f'<a href="/cases/{complaint_ref}">{complaint_ref}</a>' in final.text
        assert f"Converted to complaint {complaint_ref}" in text(final.text)


async def test_a_public_social_media_post_shows_the_reply_to_post(
    live_admin_app: FastAPI, env: WorkflowEnvironment, settings: Settings, store: RecordsStore
) -> None:
    app = live_admin_app
    await travel(env, app, MONDAY)
    ref = await lodged(
        env,
        settings,
        channel="social_media",
        public_post=True,
        enquirer={"name": "Sid Social", "social_handle": "@sidsocial"},
    )

    async with admin_http(app) as http:
        await admin_sign_in(http, ALI)
        page = await http.get(f"/enquiries/{ref}")
        assert textarea(page.text, "suggested-public-reply") == private_channel_reply(ref)
        body = text(page.text)
        assert "post this reply under their post on the platform (to @sidsocial)" in body
        assert "How Social media: a public post" in body
        vias = re.findall(r'id="reply-via[^"]*" name="via" value="([^"]*)"', page.text)
        assert vias == [""], "only ways that reach them, the usual one once"
        assert "Social media (you have replied on the platform): their usual way" in body

        recorded = await post(
            http,
            f"/enquiries/{ref}/steps/reply",
            page.text,
            {"message": private_channel_reply(ref), "via": "social_media"},  # closes unticked
        )
        assert recorded.status_code == 303, recorded.text
        case = await settled(env, ref)
        assert case.state is EnquiryState.awaiting_resident
        assert store.letters(ref) == [], "a reply on the platform sends no letter"

        shown = await http.get(f"/enquiries/{ref}")
        assert "Replied on social media; waiting for the resident" in text(shown.text)
        assert 'id="suggested-public-reply"' not in shown.text, "posted already"
        queue = (await http.get("/queues/team?kind=enquiry")).text
        assert queue_rows(queue) == {ref: "grey"}
        assert "Wait for the resident" in text(row(queue, ref))


async def test_a_service_request_and_a_complaint_about_it_from_a_phone_only_enquiry(
    live_admin_app: FastAPI, env: WorkflowEnvironment, settings: Settings
) -> None:
    app = live_admin_app
    await travel(env, app, MONDAY)
    ref = await lodged(
        env, settings, channel="phone", enquirer={"name": "Pat Phone", "phone": "07700 900456"}
    )

    async with admin_http(app) as http:
        await admin_sign_in(http, JO)
        page = await http.get(f"/enquiries/{ref}")
        recorded = await post(
            http,
            f"/enquiries/{ref}/steps/record_service_request",
            page.text,
            {"description": "Replace the broken gate", "target_date": "19/3/2027", "via": ""},
        )
        assert recorded.status_code == 303, recorded.text
        shown = await http.get(f"/enquiries/{ref}")
        body = text(shown.text)
        assert "Service request Replace the broken gate" in body
        assert "Service request: target date Fri 19 Mar 2027 16:45" in body
        assert "raise_complaint" in forms_on(shown.text, ref)
        assert 'for="raise_complaint-contact_email"' in shown.text, "no email or address yet"

        unhappy = {"dissatisfaction": "Nobody has been to look at the gate", "points": ["", ""]}
        refused = await post(http, f"/enquiries/{ref}/steps/raise_complaint", shown.text, unhappy)
        assert refused.status_code == 409
        ((href, reason),) = error_summary(refused.text)
        assert href == "#step-raise_complaint"
        assert "A complaint needs an email or postal address" in reason

        raised = await post(
            http,
            f"/enquiries/{ref}/steps/raise_complaint",
            shown.text,
            {**unhappy, "contact_email": "pat@example.org"},
        )
        assert raised.status_code == 303, raised.text
        case = await settled(env, ref)
        assert case.state is EnquiryState.service_request, "the request carries on"
        (complaint_ref,) = case.linked_references
        final = text((await http.get(f"/enquiries/{ref}")).text)
        assert f"Complaint {complaint_ref} raised about how the request is handled" in final
        queued = text(row((await http.get("/queues/team?kind=enquiry")).text, ref))
        assert "Service request target" in queued


async def test_a_case_officer_takes_an_unowned_enquiry_and_sees_its_policy(
    live_admin_app: FastAPI, env: WorkflowEnvironment, settings: Settings
) -> None:
    app = live_admin_app
    await travel(env, app, MONDAY)
    ref = await lodged(env, settings)

    async with admin_http(app) as http:
        await admin_sign_in(http, ALI)
        page = await http.get(f"/enquiries/{ref}")
        assert not take_button(page.text, ref, "enquiries"), "advisors do not take cases"

    async with admin_http(app) as http:
        await admin_sign_in(http, JO)
        page = await http.get(f"/enquiries/{ref}")
        body = text(page.text)
        assert f"Policy {POLICY.name}, version {POLICY.version}" in body
        assert take_button(page.text, ref, "enquiries")
        assert "assign" not in forms_on(page.text, ref)
        taken = await post(http, f"/enquiries/{ref}/steps/assign", page.text, {"owner": JO})
        assert (taken.status_code, taken.headers["location"]) == (303, f"/enquiries/{ref}")
        shown = await http.get(f"/enquiries/{ref}")
        assert "You have taken this case: it is in My cases" in text(shown.text)
        assert not take_button(shown.text, ref, "enquiries")
        case = await settled(env, ref)
        assert case.owner and case.owner.id == JO
        assert ref in queue_rows((await http.get("/queues/mine")).text)
