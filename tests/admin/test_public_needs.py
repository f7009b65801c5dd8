"""The residents' complaint form records their needs (domain/adjustments.py): GOV.UK checkboxes
with what each asks for revealed under it, problems beside their boxes, the needs in plain words
on the "check your answers" page and carried on to the complaint lodged."""

from __future__ import annotations

from fastapi import FastAPI
from temporalio.testing import WorkflowEnvironment

from domain.adjustments import Adjustments, ContactThrough
from domain.complaint import workflow_id
from domain.people import ContactMethod
from tests.admin.conftest import admin_http, admin_sign_in, csrf_in
from tests.admin.test_check_answers import hidden_fields, rows
from tests.admin.test_pages import error_summary
from tests.admin.test_public_and_api import REFERENCE_IN_URL, api_complaint, form
from tests.support import settle
from workflows.complaint import ComplaintWorkflow

NEEDS = {
    "need_large_print": "yes",
    "need_interpreter": "yes",
    "interpreter_language": "Polish",
    "need_contact_only": "yes",
    "contact_only_by": "email",
    "need_contact_through": "yes",
    "through_name": "Sam Example",
    "through_relationship": "daughter",
    "through_phone": "07700 900000",
    "reasonable_adjustments": "I am hard of hearing",
}


async def test_the_form_asks_each_need_with_its_reveal(offline_admin_app: FastAPI) -> None:
    async with admin_http(offline_admin_app) as client:
        page = (await client.get("/complain")).text
    for need in ("large_print", "easy_read", "format", "interpreter", "contact_only"):
        assert f'<label for="need_{need}"><input type="checkbox" id="need_{need}"' in page
    for revealed in ("format", "interpreter_language", "contact_only_by", "contact_times"):
        assert f'id="{revealed}"' in page and f'for="{revealed}"' in page
    assert 'class="checkboxes__conditional" id="conditional-contact_through"' in page
    assert "Do you need any of these? (optional)" in page


async def test_a_need_ticked_without_what_it_asks_for_is_a_problem(
    offline_admin_app: FastAPI,
) -> None:
    async with admin_http(offline_admin_app) as client:
        csrf = csrf_in((await client.get("/complain")).text)
        answers = form(
            csrf,
            phone="",
            need_interpreter="yes",
            interpreter_language="",
            need_contact_only="yes",
            contact_only_by="phone",
        )
        bad = await client.post("/complain/check", data=answers)
        other = form(csrf, need_format="yes", format="other", reasonable_adjustments="")
        unnamed = await client.post("/complain/check", data=other)
    assert bad.status_code == 400
    problems = error_summary(bad.text)
    assert ("#phone", "Enter your phone number, or choose another way for us to contact you") in (
        problems
    )
    assert ("#interpreter_language", "Enter the language you need") in problems
    assert error_summary(unnamed.text) == [
        ("#reasonable_adjustments", "Tell us which format you need in the box below")
    ]
    # the answers are kept: the boxes ticked, the choice made
    assert 'id="need_interpreter" name="need_interpreter" value="yes" checked' in bad.text
    assert 'id="contact_only_by-phone" name="contact_only_by" value="phone" checked' in bad.text


async def test_the_needs_are_checked_then_lodged_with_the_complaint(
    live_admin_app: FastAPI, env: WorkflowEnvironment
) -> None:
    async with admin_http(live_admin_app) as client:
        csrf = csrf_in((await client.get("/complain")).text)
        check = await client.post("/complain/check", data=form(csrf, **NEEDS))
        assert check.status_code == 200, check.text
        shown = rows(check.text)
        assert shown["Do you need any of these?"].splitlines() == [
            "Large print letters (16 pt)",
            "Interpreter: Polish",
            "Contact by email only",
            "Contact through: Sam Example (daughter), 07700 900000",
        ]
        assert (
            shown["Anything else about the support or changes you need?"] == "I am hard of hearing"
        )
        assert 'formaction="/complain/change#need_large_print"' in check.text
        carried = hidden_fields(check.text)
        assert carried["need_interpreter"] == "yes" and carried["interpreter_language"] == "Polish"
        back = await client.post("/complain/change", data=carried)
        assert 'id="need_large_print" name="need_large_print" value="yes" checked' in back.text
        sent = await client.post("/complain", data=carried)
        assert sent.status_code == 303, sent.text
        found = REFERENCE_IN_URL.match(sent.headers["location"])
        assert found
    handle = env.client.get_workflow_handle_for(ComplaintWorkflow.run, workflow_id(found.group(1)))
    case = await settle(handle)
    assert case.resident.adjustments == Adjustments(
        large_print=True,
        interpreter_language="Polish",
        contact_only_by=ContactMethod.email,
        contact_through=ContactThrough(
            name="Sam Example", relationship="daughter", phone="07700 900000"
        ),
        note="I am hard of hearing",
    )


async def test_the_api_takes_the_needs_and_names_a_wrong_one(
    live_admin_app: FastAPI, env: WorkflowEnvironment
) -> None:
    resident = {"name": "Cal Example", "email": "cal@example.org", "preferred_contact": "email"}
    async with admin_http(live_admin_app) as client:
        headers = {"X-CSRF-Token": await admin_sign_in(client, "jo.officer")}
        needs = {"large_print": True, "interpreter_language": "Polish", "contact_only_by": "email"}
        lodged = await client.post(
            "/api/complaints",
            json=api_complaint(resident={**resident, "adjustments": needs}),
            headers=headers,
        )
        assert lodged.status_code == 201, lodged.text
        reference = lodged.json()["reference"]
        bad = await client.post(
            "/api/complaints",
            json=api_complaint(
                resident={**resident, "adjustments": {"contact_through": {"name": "Sam"}}}
            ),
            headers=headers,
        )
    assert bad.status_code == 422
    assert [p["field"] for p in bad.json()["detail"]] == ["resident.adjustments.contact_through"]
    case = await settle(env.client.get_workflow_handle(workflow_id(reference)))
    assert case.resident.adjustments == Adjustments(
        large_print=True, interpreter_language="Polish", contact_only_by=ContactMethod.email
    )
