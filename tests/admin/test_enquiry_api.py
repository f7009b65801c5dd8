"""The JSON API for enquiries, from the same registry-driven handlers as complaints
(admin/case_kinds.py, admin/routes/api.py): lodge with an Idempotency-Key, read, list, take and
step an enquiry; the answers say which steps the signed-in person may take; and the OpenAPI
document describes every route with each error it can answer. Through the app, the
time-skipping Temporal server, a real worker and the records database."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from temporalio.testing import WorkflowEnvironment

from admin.case_kinds import KINDS
from domain.enquiry import EnquiryStep, enquiry_workflow_id
from records.store import RecordsStore
from tests.admin.conftest import admin_http, admin_sign_in
from tests.admin.test_pages import travel
from tests.support import letter_keys, london, settle

NOW = london(2027, 3, 8, 10)  # a Monday
EVERYONE_BUT_MANAGERS = sorted(s.value for s in EnquiryStep if s is not EnquiryStep.assign)


def api_enquiry(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "enquirer": {"name": "Eli Enquirer", "email": "eli@example.org"},
        "channel": "help_email",
        "received_at": london(2027, 3, 8, 9, 30).isoformat(),
        "subject": "Rent over Christmas",
        "message": "When is my rent due over Christmas?",
    }
    body.update(changes)
    return body


async def test_staff_lodge_read_take_and_answer_an_enquiry_through_the_api(
    live_admin_app: FastAPI, env: WorkflowEnvironment, store: RecordsStore
) -> None:
    app = live_admin_app
    await travel(env, app, NOW)
    async with admin_http(app) as http:
        csrf = await admin_sign_in(http, "jo.officer")
        plain = {"X-CSRF-Token": csrf}
        keyed = {**plain, "Idempotency-Key": "7d1c6a2e-enquiry-1"}

        first = await http.post("/api/enquiries", json=api_enquiry(), headers=keyed)
        assert first.status_code == 201, first.text
        ref = first.json()["reference"]
        assert ref.startswith("ENQ-") and first.json()["created"] is True
        handle = env.client.get_workflow_handle(enquiry_workflow_id(ref))
        await settle(handle)
        again = await http.post("/api/enquiries", json=api_enquiry(), headers=keyed)
        assert (again.status_code, again.json()) == (200, {"reference": ref, "created": False})

        read = await http.get(f"/api/enquiries/{ref}")
        assert read.status_code == 200, read.text
        enquiry = read.json()
        assert (enquiry["state"], enquiry["owner"]) == ("open", None)
        assert enquiry["timeline"][0]["actor"] == "jo.officer"
        assert sorted(enquiry["offered_steps"]) == sorted(
            set(EVERYONE_BUT_MANAGERS) & set(enquiry["allowed_steps"])
        ), "every allowed step but assign: only managers assign"
        assert enquiry["may_take"] is True

        listed = await http.get("/api/enquiries", params={"queue": "team"})
        assert [c["reference"] for c in listed.json()["cases"]] == [ref]
        assert listed.json()["cases"][0]["kind"] == "enquiry"
        complaints = await http.get("/api/complaints", params={"queue": "team"})
        assert complaints.json()["cases"] == []

        for_sam = await http.post(
            f"/api/enquiries/{ref}/steps/assign",
            json={"owner": "sam.reviewer"},  # staff are named by staff id
            headers=plain,
        )
        assert for_sam.status_code == 403
        assert "only to yourself" in for_sam.json()["detail"]
        taken = await http.post(
            f"/api/enquiries/{ref}/steps/assign", json={"owner": "jo.officer"}, headers=plain
        )
        assert taken.status_code == 200, taken.text
        assert taken.json()["owner"]["id"] == "jo.officer" and taken.json()["may_take"] is False
        await settle(handle)

        no_message = await http.post(
            f"/api/enquiries/{ref}/steps/reply", json={"via": "email"}, headers=plain
        )
        assert no_message.status_code == 422
        assert [p["field"] for p in no_message.json()["detail"]] == ["message"]

        reply = {"message": "Your rent is due on the usual day.", "via": "email"}
        replied = await http.post(f"/api/enquiries/{ref}/steps/reply", json=reply, headers=plain)
        assert replied.status_code == 200, replied.text
        assert (replied.json()["state"], replied.json()["offered_steps"]) == ("closed", [])
        await settle(handle)
        twice = await http.post(f"/api/enquiries/{ref}/steps/reply", json=reply, headers=plain)
        assert twice.status_code == 404, "a closed enquiry's workflow takes no more steps"
        assert "it may be closed already" in twice.json()["detail"]

        not_an_enquiry = await http.get("/api/enquiries/CMP-0000-0000")
        assert not_an_enquiry.status_code == 404
        assert not_an_enquiry.json() == {"detail": "No enquiry with reference CMP-0000-0000."}
        unknown = await http.get("/api/enquiries/ENQ-0000-0000")
        assert unknown.json() == {"detail": "No case with reference ENQ-0000-0000."}
        assert (await http.get(f"/api/cases/{ref}")).status_code == 404

    assert letter_keys(store, ref) == ["enquiry_received", "reply:1"], "confirmation, reply"


async def test_an_advisor_may_answer_but_not_assign_through_the_api(
    offline_admin_app: FastAPI,
) -> None:
    async with admin_http(offline_admin_app) as http:
        csrf = await admin_sign_in(http, "ali.advisor")
        refused = await http.post(
            "/api/enquiries/ENQ-0000-0000/steps/assign",
            json={"owner": "ali.advisor"},
            headers={"X-CSRF-Token": csrf},
        )
    assert refused.status_code == 403
    assert refused.json() == {
        "detail": "Your role (advisor) cannot 'assign'. Ask a colleague whose role can."
    }


async def test_the_openapi_document_describes_both_kinds_and_every_error(
    offline_admin_app: FastAPI,
) -> None:
    async with admin_http(offline_admin_app) as http:
        await admin_sign_in(http, "jo.officer")
        spec = (await http.get("/api/openapi.json")).json()
    paths, schemas = spec["paths"], spec["components"]["schemas"]
    for kind in KINDS:
        lodge = paths[kind.api_lodge_path]["post"]
        assert {"200", "201", "401", "403", "409", "422", "503"} <= set(lodge["responses"])
        assert any(p["name"] == "Idempotency-Key" for p in lodge["parameters"])
        assert "get" in paths[kind.api_lodge_path], "a work queue of the kind"
        read = paths[f"{kind.api_path}/{{reference}}"]["get"]
        assert {"200", "401", "404", "503"} <= set(read["responses"])
        out = read["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        assert {"offered_steps", "may_take"} <= set(schemas[out.split("/")[-1]]["properties"])
        for step in kind.step:
            operation = paths[f"{kind.api_path}/{{reference}}/steps/{step.value}"]["post"]
            responses = operation["responses"]
            assert {"200", "401", "403", "404", "409", "422", "503"} <= set(responses), step
            for status in ("401", "403", "404", "409", "422", "503"):
                assert responses[status]["content"]["application/json"]["schema"], status
            assert operation["security"] == [{"csrf": []}]
            body = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
            assert "by" not in schemas[body.split("/")[-1]].get("properties", {})
    assert "lodged_by" not in schemas["NewEnquiry"]["properties"]
    assert schemas["ValidationProblems"]["properties"]["detail"]["items"]
