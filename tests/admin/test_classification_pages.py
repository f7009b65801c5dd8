"""What reports count a complaint under, where staff already work: the category, tenure and
property on the "log a complaint", accept and classify forms; each upheld point's root cause on
the respond form; all of it on the case page and in the records database."""

from __future__ import annotations

import re
from datetime import date

from fastapi import FastAPI
from temporalio.testing import WorkflowEnvironment

from config import Settings
from domain.complaint import Status, Tenure
from records.store import RecordsStore
from tests.admin.conftest import admin_http, admin_sign_in
from tests.admin.test_pages import (
    JO,
    TWO_POINTS,
    _new_complaint,
    error_summary,
    forms_on,
    lodge,
    pin_clock,
    post,
    settled,
    text,
    travel,
)
from tests.admin.test_public_and_api import api_complaint
from tests.date_inputs import boxes
from tests.support import CATEGORY, london, step

MONDAY = london(2027, 3, 1, 10)


def options(page: str, select_id: str) -> list[tuple[str, str]]:
    found = re.search(rf'<select[^>]*id="{select_id}"[^>]*>(.*?)</select>', page, re.S)
    assert found, f"no select {select_id}"
    return re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', found.group(1))


def selected(page: str, select_id: str) -> str | None:
    found = re.search(rf'<select[^>]*id="{select_id}"[^>]*>(.*?)</select>', page, re.S)
    assert found, f"no select {select_id}"
    chosen = re.search(r'<option value="([^"]*)" selected', found.group(1))
    return chosen.group(1) if chosen else None


async def test_accept_and_classify_forms_record_category_tenure_and_property(
    live_admin_app: FastAPI, env: WorkflowEnvironment, settings: Settings, store: RecordsStore
) -> None:
    app = live_admin_app
    ref = await lodge(env, settings, MONDAY)
    pin_clock(app, MONDAY)

    async with admin_http(app) as http:
        await admin_sign_in(http, JO)
        page = await http.get(f"/cases/{ref}")
        categories = options(page.text, "accept-category")
        assert ("damp_and_mould", "Damp and mould") in categories, "the case's policy's list"
        assert ("shared_ownership", "Shared ownership (LCHO)") in options(
            page.text, "accept-tenure"
        )
        assert "Category Not recorded yet" in text(page.text)

        done = await post(
            http,
            f"/cases/{ref}/steps/accept",
            page.text,
            {"category": "repairs", "tenure": "social_rent", "property_reference": "WK/0042/7"},
        )
        assert done.status_code == 303, done.text
        shown = await http.get(f"/cases/{ref}")
        body = text(shown.text)
        for expected in (
            "Category Repairs and maintenance",
            "Tenure Social rent (LCRA)",
            "Property WK/0042/7",
            "Accepted as a stage 1 complaint (category Repairs and maintenance, tenure Social "
            "rent (LCRA), property WK/0042/7)",
        ):
            assert expected in body, expected
        assert "classify" in forms_on(shown.text, ref)
        assert selected(shown.text, "classify-category") == "repairs", "what the case has now"

        bad = await post(http, f"/cases/{ref}/steps/classify", shown.text, {"category": ""})
        assert bad.status_code == 400
        assert dict(error_summary(bad.text))["#classify-category"].startswith(
            "Give a category, a tenure or a property reference"
        )
        moved = await post(
            http, f"/cases/{ref}/steps/classify", shown.text, {"category": "damp_and_mould"}
        )
        assert moved.status_code == 303, moved.text
        body = text((await http.get(f"/cases/{ref}")).text)
        assert "Category, tenure and property saved" in body
        assert "Category Damp and mould" in body and "Property WK/0042/7" in body

    await settled(env, ref)
    row = store.get_case(ref)
    assert (row.category, row.tenure, row.property_reference) == (
        "damp_and_mould",
        "social_rent",
        "WK/0042/7",
    )


async def test_the_respond_form_asks_each_upheld_points_root_cause(
    live_admin_app: FastAPI, env: WorkflowEnvironment, settings: Settings, store: RecordsStore
) -> None:
    app = live_admin_app
    ref = await lodge(env, settings, MONDAY)
    await step(env.client, ref, "accept", by=JO)
    await step(env.client, ref, "acknowledge", by=JO, points=TWO_POINTS, outcome_sought="Fix")
    pin_clock(app, await env.get_current_time())
    async with admin_http(app) as http:
        await admin_sign_in(http, JO)
        page = await http.get(f"/cases/{ref}")
        needs = re.search(r'id="respond-needs-category">(.*?)</div>', page.text, re.S)
        assert needs and "This complaint has no category yet" in text(needs.group(1))
    await step(env.client, ref, "classify", by=JO, category=CATEGORY)
    answer = {
        "point_0": TWO_POINTS[0],
        "decision_0": "upheld",
        "reasons_0": "Two visits were missed",
        "root_cause_0": "",
        "point_1": TWO_POINTS[1],
        "decision_1": "not_upheld",
        "reasons_1": "We called back the same day",
        "summary": "Sorry about the visits",
        "no_remedy": "yes",  # upheld, and nothing to put right: confirmed
    }

    async with admin_http(app) as http:
        await admin_sign_in(http, JO)
        page = await http.get(f"/cases/{ref}")
        assert 'id="respond-needs-category"' not in page.text
        assert ("contractor", "Contractor performance") in options(
            page.text, "respond-root_cause_0"
        )
        refused = await post(http, f"/cases/{ref}/steps/respond", page.text, answer)
        assert refused.status_code == 409, "the case refuses it: its reason, the input kept"
        assert "Point 1 ('Boiler repair appointment missed twice') is upheld: give its root " in (
            text(refused.text)
        )
        assert "Two visits were missed</textarea>" in refused.text
        done = await post(
            http, f"/cases/{ref}/steps/respond", page.text, {**answer, "root_cause_0": "contractor"}
        )
        assert done.status_code == 303, done.text
        case = await settled(env, ref)
        assert case.status is Status.escalation_window
        shown = text((await http.get(f"/cases/{ref}")).text)
        assert "Point Decision Reasons Root cause" in shown
        assert "Upheld Two visits were missed Contractor performance" in shown
        assert "Not upheld We called back the same day –" in shown
    assert [o.root_cause for o in store.point_outcomes(ref)] == ["contractor", None]


async def test_log_a_complaint_takes_tenure_and_property(
    live_admin_app: FastAPI, env: WorkflowEnvironment, settings: Settings, store: RecordsStore
) -> None:
    app = live_admin_app
    await travel(env, app, MONDAY)
    async with admin_http(app) as http:
        await admin_sign_in(http, JO)
        form = await http.get("/complaints/new")
        assert ("leaseholder", "Leaseholder") in options(form.text, "complaint-tenure")
        done = await post(
            http,
            "/complaints/new",
            form.text,
            _new_complaint(
                **boxes("received_date", date(2027, 3, 1)),
                received_time="09:30",
                tenure="leaseholder",
                property_reference="FLAT 3/KINGS COURT",
            ),
        )
        assert done.status_code == 303, done.text
        ref = done.headers["location"].rsplit("/", 1)[-1]
        case = await settled(env, ref)
        assert case.tenure is Tenure.leaseholder
        assert case.property_reference == "FLAT 3/KINGS COURT"
        body = text((await http.get(f"/cases/{ref}")).text)
        assert "Tenure Leaseholder" in body and "Category Not recorded yet" in body
    assert store.get_case(ref).tenure == "leaseholder"


async def test_the_api_lodges_with_tenure_and_classifies(
    live_admin_app: FastAPI, env: WorkflowEnvironment, store: RecordsStore
) -> None:
    async with admin_http(live_admin_app) as client:
        csrf = await admin_sign_in(client, JO)
        headers = {"X-CSRF-Token": csrf}
        body = api_complaint(tenure="shared_ownership", property_reference="SO-1187")
        lodged = await client.post("/api/complaints", json=body, headers=headers)
        assert lodged.status_code == 201, lodged.text
        ref = lodged.json()["reference"]
        await settled(env, ref)

        wrong = await client.post(
            f"/api/cases/{ref}/steps/accept", json={"category": "plumbing"}, headers=headers
        )
        assert wrong.status_code == 409
        assert "'plumbing' is not a category in this case's policy" in wrong.json()["detail"]
        accepted = await client.post(
            f"/api/cases/{ref}/steps/accept", json={"category": "communication"}, headers=headers
        )
        assert accepted.status_code == 200, accepted.text
        assert accepted.json()["category"] == "communication"
        await settled(env, ref)
        moved = await client.post(
            f"/api/cases/{ref}/steps/classify", json={"tenure": "leaseholder"}, headers=headers
        )
        assert moved.status_code == 200, moved.text
        result = moved.json()
        assert (result["category"], result["tenure"], result["property_reference"]) == (
            "communication",
            "leaseholder",
            "SO-1187",
        )
        nothing = await client.post(f"/api/cases/{ref}/steps/classify", json={}, headers=headers)
        assert nothing.status_code == 422
    await settled(env, ref)
    assert store.get_case(ref).tenure == "leaseholder"
