"""Who may name whom (domain/roles.py, admin/naming.py): only a manager sets or changes a case's
owner, on every path (lodging through the API and the pages, assigning, passing an enquiry to a
team), but for a case officer taking a case nobody owns; whoever is named as an owner or a stage
2 reviewer is an active staff account whose role allows it, and a reviewer took no part in
stage 1. Staff are named by staff id: their name and email come from the staff accounts, never
from the request. Through the app, the time-skipping Temporal server, a real worker and the
records database."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from temporalio.testing import WorkflowEnvironment

from admin.accounts import AccountStore, NewAccount, Role
from config import Settings
from domain.complaint import Stage
from domain.enquiry import enquiry_workflow_id
from records.store import RecordsStore
from tests.admin.conftest import admin_http, admin_sign_in
from tests.admin.test_pages import error_summary, lodge, pin_clock, post, settled, staff, text
from tests.support import (
    CATEGORY,
    STAFF_PASSWORD,
    decided,
    enquiry,
    settle,
    start_enquiry,
    step,
)

JO, ALI, SAM, MO = "jo.officer", "ali.advisor", "sam.reviewer", "mo.manager"
JO_EMAIL = f"{JO}@wkha.example"  # from the staff accounts (tests/support.py create_staff)
MADE_UP = "mallory.outsider"
OUTSIDER = {"id": MADE_UP, "name": "Mallory", "email": "mallory@evil.example"}
TWO_POINTS = ["Boiler repair appointment missed twice", "Nobody called back"]


# --------------------------------------------------------------------------- helpers


def add_account(store: RecordsStore, account_id: str, role: Role, active: bool = True) -> None:
    accounts = AccountStore(store)
    accounts.create(
        NewAccount(
            id=account_id,
            name=account_id.split(".")[0].title(),
            email=f"{account_id}@wkha.example",
            role=role,
            password=STAFF_PASSWORD,
        )
    )
    if not active:
        accounts.update(account_id, active=False)


async def now_of(env: WorkflowEnvironment, app: FastAPI) -> datetime:
    """The test server's time, which the app takes as its own."""
    now = await env.get_current_time()
    pin_clock(app, now)
    return now


def new_complaint(received: datetime, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "resident": {"name": "Cal Example", "email": "cal@example.org"},
        "channel": "phone",
        "received_at": (received - timedelta(hours=1)).isoformat(),
        "description": "The communal lights have been out for a month.",
    }
    return body | changes


def new_enquiry(received: datetime, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "enquirer": {"name": "Eli Enquirer", "email": "eli@example.org"},
        "channel": "help_email",
        "received_at": (received - timedelta(hours=1)).isoformat(),
        "subject": "Rent over Christmas",
        "message": "When is my rent due over Christmas?",
    }
    return body | changes


def problem(response: httpx.Response) -> tuple[int, str, str]:
    """An answer's (status, field, message), for a 422 naming one field."""
    assert response.status_code == 422, response.text
    (only,) = response.json()["detail"]
    return response.status_code, only["field"], only["message"]


# ------------------------------------------------------------------ lodging, API


async def test_only_a_manager_sets_the_owner_when_lodging_through_the_api(
    live_admin_app: FastAPI, env: WorkflowEnvironment, store: RecordsStore
) -> None:
    app = live_admin_app
    now = await now_of(env, app)
    async with admin_http(app) as http:
        csrf = await admin_sign_in(http, ALI)
        headers = {"X-CSRF-Token": csrf}
        for path, body in (
            ("/api/complaints", new_complaint(now, owner=ALI)),
            ("/api/complaints", new_complaint(now, owner=MADE_UP)),
            ("/api/enquiries", new_enquiry(now, owner=ALI)),
        ):
            refused = await http.post(path, json=body, headers=headers)
            assert refused.status_code == 403, refused.text
            detail = refused.json()["detail"]
            assert "Only a manager can choose the owner (owner), and you are an advisor" in detail
            assert "Leave owner out" in detail

        # the old shape, a whole member of staff with an outside address, is no staff id
        posing = await http.post(
            "/api/complaints", json=new_complaint(now, owner=OUTSIDER), headers=headers
        )
        assert posing.status_code == 422 and posing.json()["detail"][0]["field"] == "owner"

        lodged = await http.post("/api/complaints", json=new_complaint(now), headers=headers)
        assert lodged.status_code == 201, "without an owner, an advisor lodges as before"
    assert (await settled(env, lodged.json()["reference"])).owner is None

    async with admin_http(app) as http:
        csrf = await admin_sign_in(http, JO)
        headers = {"X-CSRF-Token": csrf}
        for_sam = await http.post(
            "/api/complaints", json=new_complaint(now, owner=SAM), headers=headers
        )
        assert for_sam.status_code == 403
        assert "you can name only yourself" in for_sam.json()["detail"]
        for_herself = await http.post(
            "/api/complaints", json=new_complaint(now, owner=JO), headers=headers
        )
        assert for_herself.status_code == 201, "a case officer takes the new case herself"
    owner = (await settled(env, for_herself.json()["reference"])).owner
    assert owner.model_dump() == {"id": JO, "name": "Jo Officer", "email": JO_EMAIL}


async def test_a_manager_names_only_an_active_account_that_may_own_cases(
    live_admin_app: FastAPI, env: WorkflowEnvironment, store: RecordsStore
) -> None:
    app = live_admin_app
    add_account(store, "kim.officer", Role.case_officer, active=False)
    now = await now_of(env, app)
    async with admin_http(app) as http:
        csrf = await admin_sign_in(http, MO)
        headers = {"X-CSRF-Token": csrf}

        async def lodge_with(path: str, **changes: Any) -> httpx.Response:
            body = (new_complaint if path == "/api/complaints" else new_enquiry)(now, **changes)
            return await http.post(path, json=body, headers=headers)

        for path in ("/api/complaints", "/api/enquiries"):
            made_up = await lodge_with(path, owner=MADE_UP)
            assert problem(made_up) == (
                422,
                "owner",
                f"There is no member of staff with the id '{MADE_UP}'. "
                "Give the staff id of an active account.",
            )
            inactive = await lodge_with(path, owner="kim.officer")
            assert problem(inactive)[:2] == (422, "owner")
            assert "is not active" in problem(inactive)[2]
            assert "Choose someone whose account is active" in problem(inactive)[2]
            advisor = await lodge_with(path, owner=ALI)
            assert problem(advisor) == (
                422,
                "owner",
                "Ali Advisor (ali.advisor) is an advisor, who cannot own cases. "
                "Choose a case officer, a stage 2 reviewer or a manager.",
            )
            posing = await lodge_with(path, owner=OUTSIDER)
            assert posing.status_code == 422 and posing.json()["detail"][0]["field"] == "owner"

        callback = await lodge_with(
            "/api/enquiries", channel="callback", callback_from=MADE_UP, owner=JO
        )
        assert problem(callback)[:2] == (422, "callback_from")

        lodged = await lodge_with("/api/complaints", owner=JO)
        assert lodged.status_code == 201, lodged.text
        lodged_enquiry = await lodge_with("/api/enquiries", owner=SAM)
        assert lodged_enquiry.status_code == 201, lodged_enquiry.text

    case = await settled(env, lodged.json()["reference"])
    assert case.owner.model_dump() == {
        "id": JO,
        "name": "Jo Officer",
        "email": f"{JO}@wkha.example",
    }
    handle = env.client.get_workflow_handle(enquiry_workflow_id(lodged_enquiry.json()["reference"]))
    assert (await settle(handle)).owner.email == f"{SAM}@wkha.example"


# ------------------------------------------------------------------- steps, API


async def _responded(env: WorkflowEnvironment, settings: Settings, app: FastAPI) -> str:
    """A complaint Sam (a reviewer) owned and answered at stage 1: it can be escalated."""
    ref = await lodge(env, settings, await env.get_current_time(), owner=staff(app, SAM))
    await step(env.client, ref, "accept", by=SAM, category=CATEGORY)
    await step(env.client, ref, "acknowledge", by=SAM, points=TWO_POINTS, outcome_sought="Fix")
    decisions = [decided(p, "upheld", "We were wrong") for p in TWO_POINTS]
    await step(env.client, ref, "respond", by=SAM, decisions=decisions, summary="Sorry")
    await now_of(env, app)
    return ref


async def test_an_escalation_names_an_active_reviewer_who_took_no_part_in_stage_1(
    live_admin_app: FastAPI, env: WorkflowEnvironment, settings: Settings, store: RecordsStore
) -> None:
    app = live_admin_app
    add_account(store, "rue.reviewer", Role.reviewer, active=False)
    ref = await _responded(env, settings, app)
    async with admin_http(app) as http:
        csrf = await admin_sign_in(http, ALI)
        headers = {"X-CSRF-Token": csrf}

        async def escalate(reviewer: Any) -> httpx.Response:
            url = f"/api/cases/{ref}/steps/escalate"
            return await http.post(url, json={"reviewer": reviewer}, headers=headers)

        assert problem(await escalate(MADE_UP))[:2] == (422, "reviewer")
        assert (await escalate(OUTSIDER)).status_code == 422
        assert problem(await escalate(JO)) == (
            422,
            "reviewer",
            "Jo Officer (jo.officer) is a case officer, who cannot review stage 2. "
            "Choose a stage 2 reviewer or a manager.",
        )
        assert problem(await escalate(SAM)) == (
            422,
            "reviewer",
            "Sam Reviewer (sam.reviewer) took part in stage 1 of this complaint, and stage 2 "
            "must be reviewed by someone who did not. Choose someone else.",
        )
        inactive = problem(await escalate("rue.reviewer"))
        assert inactive[:2] == (422, "reviewer") and "is not active" in inactive[2]
        assert (await settled(env, ref)).stage is Stage.stage1, "nothing refused was done"

        escalated = await escalate(MO)
        assert escalated.status_code == 200, escalated.text
        assert escalated.json()["owner"] == {
            "id": MO,
            "name": "Mo Manager",
            "email": f"{MO}@wkha.example",
        }

    async with admin_http(app) as http:
        csrf = await admin_sign_in(http, MO)
        headers = {"X-CSRF-Token": csrf}
        url = f"/api/cases/{ref}/steps/assign"
        to_sam = await http.post(url, json={"owner": SAM}, headers=headers)
        assert problem(to_sam)[:2] == (422, "owner") and "took part in stage 1" in to_sam.text
        to_ali = await http.post(url, json={"owner": ALI}, headers=headers)
        assert problem(to_ali)[:2] == (422, "owner") and "cannot own cases" in to_ali.text
        to_nobody = await http.post(url, json={"owner": MADE_UP}, headers=headers)
        assert problem(to_nobody)[:2] == (422, "owner")
        to_jo = await http.post(url, json={"owner": JO}, headers=headers)
        assert to_jo.status_code == 200, "Jo took no part in stage 1"
        assert to_jo.json()["owner"]["email"] == f"{JO}@wkha.example"


async def test_passing_an_enquiry_to_a_team_names_its_owner_as_assigning_does(
    live_admin_app: FastAPI, env: WorkflowEnvironment, settings: Settings
) -> None:
    app = live_admin_app
    now = await now_of(env, app)
    case = enquiry(now - timedelta(hours=1))
    await start_enquiry(env.client, case, settings.task_queue, now=now)
    url = f"/api/enquiries/{case.reference}/steps/pass_to_team"
    body = {"team": "Repairs", "next_steps": "A surveyor will visit.", "via": "email"}

    async with admin_http(app) as http:
        csrf = await admin_sign_in(http, JO)
        refused = await http.post(url, json=body | {"owner": SAM}, headers={"X-CSRF-Token": csrf})
        assert refused.status_code == 403 and "Only a manager" in refused.json()["detail"]

    async with admin_http(app) as http:
        csrf = await admin_sign_in(http, MO)
        headers = {"X-CSRF-Token": csrf}
        made_up = await http.post(url, json=body | {"owner": MADE_UP}, headers=headers)
        assert problem(made_up)[:2] == (422, "owner")
        passed = await http.post(url, json=body | {"owner": SAM}, headers=headers)
        assert passed.status_code == 200, passed.text
        assert passed.json()["owner"]["email"] == f"{SAM}@wkha.example"

    async with admin_http(app) as http:
        csrf = await admin_sign_in(http, JO)
        taking = await http.post(url, json=body | {"owner": JO}, headers={"X-CSRF-Token": csrf})
        assert taking.status_code == 403, "Sam has it now: naming herself would change hands"
        assert "you can name only yourself, taking a case nobody owns" in taking.json()["detail"]


# ------------------------------------------------------------------------ pages


async def test_the_log_a_complaint_page_offers_an_owner_only_to_whom_may_name_one(
    live_admin_app: FastAPI, env: WorkflowEnvironment
) -> None:
    app = live_admin_app
    now = (await now_of(env, app)) - timedelta(hours=1)
    form = {
        "channel": "phone",
        "received_date": f"{now:%Y-%m-%d}",
        "received_time": f"{now:%H:%M}",
        "complainant_type": "resident",
        "name": "Eve Example",
        "email": "eve@example.org",
        "preferred_contact": "email",
        "description": "The lift has been broken for three weeks.",
    }
    async with admin_http(app) as http:
        await admin_sign_in(http, ALI)
        page = await http.get("/complaints/new")
        assert 'name="owner"' not in page.text, "an advisor names no owner"
        sent = await post(http, "/complaints/new", page.text, form | {"owner": JO})
        assert sent.status_code == 400
        assert error_summary(sent.text) == [
            (
                "#complaint-owner",
                "Only a manager can choose the owner (owner), and you are an advisor. Leave "
                "owner out: a manager can assign the case later, or a case officer can take it.",
            )
        ]

    async with admin_http(app) as http:
        await admin_sign_in(http, JO)
        page = await http.get("/complaints/new")
        assert 'value="jo.officer"' in page.text and 'value="sam.reviewer"' not in page.text

    async with admin_http(app) as http:
        await admin_sign_in(http, MO)
        page = await http.get("/complaints/new")
        owners = page.text.split('id="complaint-owner"')[1].split("</select>")[0]
        assert 'value="sam.reviewer"' in owners and 'value="ali.advisor"' not in owners
        sent = await post(http, "/complaints/new", page.text, form | {"owner": ALI})
        assert sent.status_code == 400
        assert dict(error_summary(sent.text))["#complaint-owner"].endswith(
            "cannot own cases. Choose a case officer, a stage 2 reviewer or a manager."
        )
        logged = await post(http, "/complaints/new", page.text, form | {"owner": SAM})
        assert logged.status_code == 303, logged.text


async def test_the_escalate_and_assign_forms_refuse_whom_the_rules_do(
    live_admin_app: FastAPI, env: WorkflowEnvironment, settings: Settings
) -> None:
    app = live_admin_app
    ref = await _responded(env, settings, app)
    async with admin_http(app) as http:
        await admin_sign_in(http, ALI)
        page = await http.get(f"/cases/{ref}")
        for reviewer, why in (
            (SAM, "took part in stage 1 of this complaint"),
            (JO, "is a case officer, who cannot review stage 2"),
        ):
            sent = await post(
                http, f"/cases/{ref}/steps/escalate", page.text, {"reviewer": reviewer}
            )
            assert sent.status_code == 400
            assert why in dict(error_summary(sent.text))["#escalate-reviewer"]
        assert (await settled(env, ref)).stage is Stage.stage1

    async with admin_http(app) as http:
        await admin_sign_in(http, MO)
        page = await http.get(f"/cases/{ref}")
        sent = await post(http, f"/cases/{ref}/steps/assign", page.text, {"owner": ALI})
        assert sent.status_code == 400
        assert "cannot own cases" in dict(error_summary(sent.text))["#assign-owner"]
        sent = await post(http, f"/cases/{ref}/steps/escalate", page.text, {"reviewer": MO})
        assert sent.status_code == 303, text(sent.text)
    assert (await settled(env, ref)).owner.id == MO


async def test_only_a_manager_names_who_in_a_team_has_an_enquiry_on_its_page(
    live_admin_app: FastAPI, env: WorkflowEnvironment, settings: Settings
) -> None:
    app = live_admin_app
    now = await now_of(env, app)
    case = enquiry(now - timedelta(hours=1), owner=staff(app, JO))
    await start_enquiry(env.client, case, settings.task_queue, now=now)
    url = f"/enquiries/{case.reference}"
    form = {"team": "Repairs", "next_steps": "A surveyor will visit.", "via": ""}
    async with admin_http(app) as http:
        await admin_sign_in(http, JO)
        page = await http.get(url)
        assert 'id="pass_to_team-owner"' not in page.text
        sent = await post(http, f"{url}/steps/pass_to_team", page.text, form | {"owner": SAM})
        assert sent.status_code == 400
        assert "Only a manager" in dict(error_summary(sent.text))["#pass_to_team-owner"]

    async with admin_http(app) as http:
        await admin_sign_in(http, MO)
        page = await http.get(url)
        assert 'id="pass_to_team-owner"' in page.text
        sent = await post(http, f"{url}/steps/pass_to_team", page.text, form | {"owner": SAM})
        assert sent.status_code == 303, text(sent.text)
    handle = env.client.get_workflow_handle(enquiry_workflow_id(case.reference))
    assert (await settle(handle)).owner.id == SAM
