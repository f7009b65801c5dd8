"""A resident's reasonable adjustments on the case pages (domain/adjustments.py): a GOV.UK
"important" banner listing each need in plain words; contact steps that offer no phone when
contact is only by another method, and show the interpreter's language and the contact times.
Through the app, the time-skipping Temporal server and a real worker."""

from __future__ import annotations

import re

from fastapi import FastAPI
from temporalio.testing import WorkflowEnvironment

from config import Settings
from records.store import RecordsStore
from tests.admin.conftest import admin_http, admin_sign_in
from tests.admin.test_enquiry_pages import lodged as lodged_enquiry
from tests.admin.test_enquiry_pages import settled as enquiry_settled
from tests.admin.test_one_way_in import NOW as INTAKE_NOW
from tests.admin.test_one_way_in import hidden, staff_complaint
from tests.admin.test_pages import JO, MO, error_summary, lodge, post, settled, staff, text, travel
from tests.support import CATEGORY, london, step

MONDAY = london(2027, 3, 1, 10)
RESIDENT = {
    "name": "Ann Example",
    "email": "ann@example.org",
    "phone": "07700 900123",
    "address": {"lines": ["1 High Street", "Sevenoaks"], "postcode": "TN13 1AA"},
    "preferred_contact": "phone",
}
NEEDS = {
    "large_print": True,
    "easy_read": True,
    "interpreter_language": "Polish",
    "contact_only_by": "email",
    "contact_times": "Weekdays after 10am",
    "contact_through": {"name": "Sam Example", "relationship": "daughter", "phone": "07700 900000"},
}


def banner(page: str) -> str:
    found = re.search(r'<div class="notification-banner".*?</div>\s*</div>', page, re.S)
    assert found, "no banner"
    return text(found.group(0))


def options(page: str, select_id: str) -> list[str]:
    found = re.search(rf'<select[^>]*id="{select_id}".*?</select>', page, re.S)
    assert found, f"no select {select_id}"
    return re.findall(r'<option value="([^"]*)"', found.group(0))


def radios(page: str, name: str) -> list[str]:
    return re.findall(rf'<input type="radio" id="[^"]+" name="{name}" value="([^"]*)"', page)


async def test_the_banner_and_a_contact_step_that_offers_no_phone(
    live_admin_app: FastAPI, env: WorkflowEnvironment, settings: Settings, store: RecordsStore
) -> None:
    app = live_admin_app
    await travel(env, app, MONDAY)
    ref = await lodge(env, settings, MONDAY, resident={**RESIDENT, "adjustments": NEEDS})
    plain = await lodge(env, settings, MONDAY)
    for case in (ref, plain):
        await step(env.client, case, "accept", by=JO, category=CATEGORY)
        await step(env.client, case, "assign", by=MO, owner=staff(app, JO))
        await settled(env, case)
    async with admin_http(app) as http:
        await admin_sign_in(http, JO)
        page = (await http.get(f"/cases/{ref}")).text
        shown = banner(page)
        assert shown.startswith("Important")
        for need in (
            "Large print letters (16 pt)",
            "Easy read",
            "Interpreter: Polish",
            "Contact by email only",
            "Contact times: Weekdays after 10am",
            "Contact through: Sam Example (daughter), 07700 900000",
            "Send an easy read version of each letter",
        ):
            assert need in shown, need
        assert 'role="region" aria-labelledby="adjustments-title"' in page
        # at the top: before the case's details and its steps
        assert page.index('id="adjustments"') < page.index('id="person-title"')
        # contact only by email: no phone, no video call, no letter; in person stays
        assert options(page, "record_contact-method") == ["email", "in_person"]
        needs = re.search(r'id="record_contact-contact-needs".*?</div>', page, re.S)
        assert needs, "the contact step shows the needs"
        assert "Interpreter needed: Polish" in text(needs.group(0))
        assert "Contact times: Weekdays after 10am" in text(needs.group(0))
        # a phone call posted anyway (an old page, a crafted post) is refused
        refused = await post(
            http,
            f"/cases/{ref}/steps/record_contact",
            page,
            {"method": "phone", "notes": "Called her"},
        )
        assert any(
            href == "#record_contact-method" and "reasonable adjustments" in message
            for href, message in error_summary(refused.text)
        )
        done = await post(
            http,
            f"/cases/{ref}/steps/record_contact",
            page,
            {"method": "email", "notes": "Emailed to agree the points"},
        )
        assert done.status_code in (200, 303)

        usual = (await http.get(f"/cases/{plain}")).text
        assert 'class="notification-banner"' not in usual
        assert options(usual, "record_contact-method")[0] == "phone"
        assert "video" in options(usual, "record_contact-method")
        assert 'id="record_contact-contact-needs"' not in usual


async def test_an_old_cases_free_text_shows_as_the_note(
    live_admin_app: FastAPI, env: WorkflowEnvironment, settings: Settings, store: RecordsStore
) -> None:
    app = live_admin_app
    await travel(env, app, MONDAY)
    ref = await lodge(
        env, settings, MONDAY, resident={**RESIDENT, "reasonable_adjustments": "Calls after 6pm"}
    )
    await settled(env, ref)
    async with admin_http(app) as http:
        await admin_sign_in(http, JO)
        page = (await http.get(f"/cases/{ref}")).text
        assert "Note: Calls after 6pm" in banner(page)
        assert "Calls after 6pm" in text(
            re.search(r'<dd id="reasonable-adjustments">.*?</dd>', page, re.S).group(0)
        )


async def test_an_enquiry_reply_offers_only_the_way_allowed(
    live_admin_app: FastAPI, env: WorkflowEnvironment, settings: Settings, store: RecordsStore
) -> None:
    app = live_admin_app
    await travel(env, app, london(2027, 3, 8, 10))
    ref = await lodged_enquiry(
        env,
        settings,
        enquirer={
            "name": "Ann Example",
            "email": "ann@example.org",
            "phone": "07700 900123",
            "address": {"lines": ["1 High Street"], "postcode": "TN13 1AA"},
            "adjustments": {"contact_only_by": "email", "interpreter_language": "Polish"},
        },
    )
    await enquiry_settled(env, ref)
    async with admin_http(app) as http:
        await admin_sign_in(http, JO)
        page = (await http.get(f"/enquiries/{ref}")).text
        assert "Interpreter: Polish" in banner(page)
        assert radios(page, "via") and set(radios(page, "via")) <= {"", "email"}
        assert set(radios(page, "via")) == {""}, "the usual way only: email"
        assert "Email (we send it): their usual way" in text(page)
        assert "Phone (you have called them)" not in text(page)
        reply = re.search(r'id="step-reply".*?</section>', page, re.S)
        assert reply and "Interpreter needed: Polish" in text(reply.group(0))
        assert radios(page, "method") == ["email"]  # how they want updates: email only


async def test_staff_record_the_needs_when_they_log_a_complaint(
    live_admin_app: FastAPI, env: WorkflowEnvironment, settings: Settings, store: RecordsStore
) -> None:
    app = live_admin_app
    await travel(env, app, INTAKE_NOW)
    async with admin_http(app) as http:
        await admin_sign_in(http, JO)
        form = await http.get("/complaints/new")
        page = form.text
        for box in (
            "complaint-need_large_print",
            "complaint-need_interpreter",
            "complaint-interpreter_language",
            "complaint-contact_only_by",
            "complaint-through_name",
        ):
            assert f'id="{box}"' in page, box
        assert 'class="checkboxes__conditional" id="complaint-conditional-interpreter"' in page
        # ticked, but what it asks for left blank: every problem at once, beside its box
        data = staff_complaint(
            submission=hidden(page, "submission"),
            need_interpreter="yes",
            interpreter_language="",
            need_contact_through="yes",
            through_name="Sam Example",
        )
        refused = await post(http, "/complaints/new", page, data)
        assert refused.status_code == 400
        problems = dict(error_summary(refused.text))
        assert problems["#complaint-interpreter_language"] == "Enter the language they need"
        assert problems["#complaint-through_phone"] == (
            "Enter a phone number or an email address for the person to contact them through"
        )
        assert 'id="complaint-need_interpreter" name="need_interpreter" value="yes" checked' in (
            refused.text
        )
        data.update(
            interpreter_language="Polish",
            through_phone="07700 900000",
            through_relationship="daughter",
            need_large_print="yes",
            need_contact_only="yes",
            contact_only_by="email",
            reasonable_adjustments="Hard of hearing",
        )
        lodged = await post(http, "/complaints/new", page, data)
        assert lodged.status_code == 303, lodged.text
        ref = lodged.headers["location"].removeprefix("/cases/")
        await settled(env, ref)
        shown = banner((await http.get(f"/cases/{ref}")).text)
        for need in (
            "Large print letters (16 pt)",
            "Interpreter: Polish",
            "Contact by email only",
            "Contact through: Sam Example (daughter), 07700 900000",
            "Note: Hard of hearing",
        ):
            assert need in shown, need
    html = store.get_letter(ref, "complaint_received").body_html or ""
    assert "font-size: 16pt" in html and "this letter in Polish" in html


async def test_a_letter_writer_is_offered_their_usual_way_once_and_no_social_media(
    live_admin_app: FastAPI, env: WorkflowEnvironment, settings: Settings, store: RecordsStore
) -> None:
    app = live_admin_app
    await travel(env, app, london(2027, 3, 8, 10))
    ref = await lodged_enquiry(
        env,
        settings,
        channel="letter",
        enquirer={
            "name": "Lee Letter",
            "email": "lee@example.org",
            "address": {"lines": ["2 High Street"], "postcode": "TN13 1AA"},
            "preferred_contact": "post",
        },
    )
    await enquiry_settled(env, ref)
    async with admin_http(app) as http:
        await admin_sign_in(http, JO)
        page = (await http.get(f"/enquiries/{ref}")).text
        reply = re.search(r'id="step-reply".*?</section>', page, re.S)
        assert reply
        shown = text(reply.group(0))
        assert "Letter by post (we send it): their usual way" in shown
        assert shown.count("Letter by post") == 1, "the usual way is offered once"
        assert "Social media" not in shown
        assert radios(reply.group(0), "via") == ["", "email"]
