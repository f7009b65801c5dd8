"""The residents' online form (/complain) and the JSON API (/api), end to end: through the app,
the time-skipping Temporal server, a real worker and the records database."""

from __future__ import annotations

import html
import re
from datetime import UTC, date, datetime
from typing import Any

from fastapi import FastAPI
from temporalio.testing import WorkflowEnvironment

from domain.complaint import Stage, Status, workflow_id
from domain.people import Channel, ComplainantType, ContactMethod
from domain.references import PATTERN
from records.store import RecordsStore
from tests.admin.conftest import admin_http, admin_sign_in, csrf_in
from tests.support import settle
from workflows.complaint import ComplaintWorkflow

REFERENCE_IN_URL = re.compile(r"^/complain/done/([A-Z]{3}-[0-9A-Z]{4}-[0-9A-Z]{4})$")


def form(csrf: str, **changes: str) -> dict[str, str]:
    """A complete, valid online form, as the browser posts it."""
    data = {
        "csrf_token": csrf,
        "name": "Ann Example",
        "email": "ann@example.org",
        "phone": "07700 900982",
        "address_line_1": "1 High Street",
        "address_line_2": "",
        "address_town": "Sevenoaks",
        "postcode": "tn13 1aa",
        "preferred_contact": "email",
        "complainant_type": "resident",
        "acting_for": "",
        "description": "My boiler repair appointment was missed twice.",
        "point_1": "The engineer did not come on 3 March",
        "point_2": "Nobody called back when I rang",
        "point_3": "",
        "point_4": "",
        "point_5": "",
        "outcome_sought": "Fix the boiler and apologise",
        "incident_date-day": "3",
        "incident_date-month": "3",
        "incident_date-year": "2025",
        "became_aware_date-day": "",
        "became_aware_date-month": "",
        "became_aware_date-year": "",
        "reasonable_adjustments": "Large print letters, please",
        "website": "",
    }
    data.update(changes)
    return data


def error_summary(page: str) -> list[tuple[str, str]]:
    """(href, message) for each link in the page's error summary."""
    summary = re.search(r'<div class="error-summary".*?</div>', page, re.S)
    assert summary, "no error summary on the page"
    return [
        (href, html.unescape(text))
        for href, text in re.findall(r'<a href="([^"]+)">([^<]+)</a>', summary.group(0))
    ]


def field_value(page: str, name: str) -> str:
    found = re.search(rf'<input[^>]*name="{name}"[^>]*value="([^"]*)"', page)
    assert found, f"no input {name}"
    return html.unescape(found.group(1))


def textarea_value(page: str, name: str) -> str:
    found = re.search(rf'<textarea[^>]*name="{name}"[^>]*>([^<]*)</textarea>', page)
    assert found, f"no textarea {name}"
    return html.unescape(found.group(1))


# -------------------------------------------------------------------------- /complain


async def test_the_form_has_labelled_fields_and_no_sign_in(offline_admin_app: FastAPI) -> None:
    async with admin_http(offline_admin_app) as client:
        page = await client.get("/complain")
    assert page.status_code == 200
    text = page.text
    for field_id in (
        "name",
        "email",
        "phone",
        "address_line_1",
        "postcode",
        "preferred_contact",
        "complainant_type",
        "complainant_type-third_party",
        "acting_for",
        "third_party_consent",
        "description",
        "point_1",
        "point_5",
        "outcome_sought",
        "incident_date-day",
        "became_aware_date-year",
        "reasonable_adjustments",
    ):
        assert f'for="{field_id}"' in text, f"no label for {field_id}"
        assert f'id="{field_id}"' in text
    assert "<legend" in text and "Continue" in text
    assert 'action="/complain/check"' in text, "the answers are checked before sending"
    assert 'name="csrf_token"' in text
    assert "Sign out" not in text and "error-summary" not in text


async def test_a_resident_complains_online_and_gets_the_reference_on_screen_and_by_email(
    live_admin_app: FastAPI, env: WorkflowEnvironment, store: RecordsStore
) -> None:
    async with admin_http(live_admin_app) as client:
        csrf = csrf_in((await client.get("/complain")).text)
        sent = await client.post("/complain", data=form(csrf))
        assert sent.status_code == 303, sent.text
        found = REFERENCE_IN_URL.match(sent.headers["location"])
        assert found, sent.headers["location"]
        reference = found.group(1)
        done = await client.get(sent.headers["location"])
    assert done.status_code == 200
    assert reference in done.text and "Complaint sent" in done.text
    assert "within 3 working days" in done.text and "within 5 working days" in done.text
    assert "Ann Example" not in done.text  # only the reference, nothing about the case

    handle = env.client.get_workflow_handle_for(ComplaintWorkflow.run, workflow_id(reference))
    case = await settle(handle)
    assert case.channel is Channel.online_form
    assert (case.stage, case.status) == (Stage.triage, Status.awaiting_triage)
    resident = case.resident
    assert (resident.name, resident.email, resident.phone) == (
        "Ann Example",
        "ann@example.org",
        "07700 900982",
    )
    assert resident.address is not None
    assert resident.address.lines == ["1 High Street", "Sevenoaks"]
    assert resident.address.postcode == "TN13 1AA"
    assert resident.preferred_contact is ContactMethod.email
    assert resident.complainant_type is ComplainantType.resident
    # the free text is the note of the resident's needs (domain/adjustments.py)
    assert resident.adjustments is not None
    assert resident.adjustments.note == "Large print letters, please"
    assert case.points == ["The engineer did not come on 3 March", "Nobody called back when I rang"]
    assert case.outcome_sought == "Fix the boiler and apologise"

    letters = {row.letter_key: row for row in store.letters(reference)}
    received = letters["complaint_received"]
    assert received.sent and received.delivery == "email"
    assert received.recipient == "ann@example.org"
    assert reference in (received.body_html or "")
    assert len(letters) == 1  # the app sent nothing of its own


async def test_sending_the_same_form_twice_lodges_one_complaint(
    live_admin_app: FastAPI, env: WorkflowEnvironment, store: RecordsStore
) -> None:
    async with admin_http(live_admin_app) as client:
        page = (await client.get("/complain")).text
        submission = re.search(r'name="submission" value="([^"]+)"', page).group(1)
        data = form(csrf_in(page), submission=submission)
        first = await client.post("/complain", data=data)
        again = await client.post("/complain", data=data)  # a double click, or back and resend
        other_page = (await client.get("/complain")).text
        assert re.search(r'name="submission" value="([^"]+)"', other_page).group(1) != submission
    assert first.status_code == again.status_code == 303
    assert first.headers["location"] == again.headers["location"]
    reference = REFERENCE_IN_URL.match(first.headers["location"]).group(1)
    await settle(env.client.get_workflow_handle(workflow_id(reference)))
    assert [row.letter_key for row in store.letters(reference)] == ["complaint_received"]


async def test_someone_complaining_for_a_resident_is_recorded_with_their_permission(
    live_admin_app: FastAPI, env: WorkflowEnvironment
) -> None:
    async with admin_http(live_admin_app) as client:
        csrf = csrf_in((await client.get("/complain")).text)
        sent = await client.post(
            "/complain",
            data=form(
                csrf,
                complainant_type="third_party",
                acting_for="Bea Resident",
                third_party_consent="yes",
                preferred_contact="post",
                email="",
                **{"incident_date-day": "", "incident_date-month": "", "incident_date-year": ""},
            ),
        )
    assert sent.status_code == 303, sent.text
    reference = REFERENCE_IN_URL.match(sent.headers["location"]).group(1)  # type: ignore[union-attr]
    handle = env.client.get_workflow_handle_for(ComplaintWorkflow.run, workflow_id(reference))
    case = await settle(handle)
    assert case.resident.complainant_type is ComplainantType.third_party
    assert case.resident.third_party_consent and case.resident.acting_for == "Bea Resident"
    assert case.resident.email is None and case.resident.preferred_contact is ContactMethod.post


async def test_problems_are_listed_in_plain_english_and_the_answers_kept(
    offline_admin_app: FastAPI,
) -> None:
    async with admin_http(offline_admin_app) as client:
        csrf = csrf_in((await client.get("/complain")).text)
        page = await client.post(
            "/complain",
            data=form(
                csrf,
                description="",
                email="ann-at-example",
                complainant_type="third_party",
                acting_for="Bea Resident",
            ),
        )
    assert page.status_code == 400
    text = page.text
    assert "<title>Error: Make a complaint" in text
    assert error_summary(text) == [
        ("#email", "Enter your email address in the correct format, like name@example.com"),
        (
            "#third_party_consent",
            "Confirm that the person you are complaining for has given us permission to "
            "talk to you",
        ),
        ("#description", "Enter what your complaint is about"),
    ]
    # each message again beside its field, which points to it
    assert 'id="email-error"' in text and 'aria-describedby="email-hint email-error"' in text
    assert 'id="description-error"' in text and 'id="third_party_consent-error"' in text
    assert "form-group--error" in text and "input--error" in text
    # the answers are kept
    assert field_value(text, "name") == "Ann Example"
    assert field_value(text, "email") == "ann-at-example"
    assert field_value(text, "acting_for") == "Bea Resident"
    assert textarea_value(text, "point_1") == "The engineer did not come on 3 March"
    assert textarea_value(text, "outcome_sought") == "Fix the boiler and apologise"
    assert 'value="third_party" checked' in text
    assert field_value(text, "incident_date-year") == "2025"
    assert field_value(text, "csrf_token") == csrf


async def test_every_required_answer_and_date_is_checked(offline_admin_app: FastAPI) -> None:
    cases: list[tuple[dict[str, str], list[tuple[str, str]]]] = [
        (
            {
                "name": "",
                "preferred_contact": "",
                "complainant_type": "",
                "point_1": "",
                "point_2": "",
            },
            [
                ("#name", "Enter your full name"),
                ("#preferred_contact", "Select how you would like us to contact you"),
                ("#complainant_type", "Select who is making the complaint"),
                ("#point_1", "Tell us at least one thing that went wrong"),
            ],
        ),
        (
            {"email": "", "address_line_1": "", "address_town": "", "postcode": ""},
            [("#email", "Enter an email address or a postal address, so we can write to you")],
        ),
        (
            {"address_line_1": "", "postcode": "NOT A CODE"},
            [
                ("#address_line_1", "Enter the first line of your address"),
                ("#postcode", "Enter a real postcode, like TN13 1AX"),
            ],
        ),
        (
            {"preferred_contact": "phone", "phone": ""},
            [("#phone", "Enter your phone number, or choose another way for us to contact you")],
        ),
        (
            {
                "incident_date-month": "",
                "became_aware_date-day": "31",
                "became_aware_date-month": "2",
                "became_aware_date-year": "2025",
            },
            [
                ("#incident_date-month", "The date it happened must include a month"),
                (
                    "#became_aware_date-day",
                    "Enter the date you found out about it as a real date, like 27 3 2027",
                ),
            ],
        ),
        (
            {"incident_date-year": str(date.today().year + 1)},
            [("#incident_date-day", "The date it happened must be today or in the past")],
        ),
        (
            {"name": "x" * 201},
            [("#name", "Your name must be 200 characters or fewer")],
        ),
    ]
    async with admin_http(offline_admin_app) as client:
        csrf = csrf_in((await client.get("/complain")).text)
        for changes, expected in cases:
            page = await client.post("/complain", data=form(csrf, **changes))
            assert page.status_code == 400, changes
            assert error_summary(page.text) == expected, changes


async def test_a_bot_filling_the_hidden_field_lodges_nothing(offline_admin_app: FastAPI) -> None:
    # The offline app has no Temporal client: lodging would fail with a 503 page.
    async with admin_http(offline_admin_app) as client:
        csrf = csrf_in((await client.get("/complain")).text)
        sent = await client.post("/complain", data=form(csrf, website="http://spam.example"))
    assert sent.status_code == 303
    assert REFERENCE_IN_URL.match(sent.headers["location"])


async def test_when_cases_cannot_be_lodged_the_resident_is_told_and_keeps_the_answers(
    offline_admin_app: FastAPI,
) -> None:
    async with admin_http(offline_admin_app) as client:
        csrf = csrf_in((await client.get("/complain")).text)
        page = await client.post("/complain", data=form(csrf))
    assert page.status_code == 503
    assert "could not send your complaint just now" in page.text
    assert textarea_value(page.text, "description").startswith("My boiler repair")


async def test_the_done_page_shows_only_a_reference_from_the_address(
    offline_admin_app: FastAPI,
) -> None:
    async with admin_http(offline_admin_app) as client:
        good = await client.get("/complain/done/CMP-7KQ3-XM2P")
        bad = await client.get("/complain/done/%3Cscript%3Ealert(1)%3C%2Fscript%3E")
        lower = await client.get("/complain/done/cmp-7kq3-xm2p")
    assert good.status_code == 200 and "CMP-7KQ3-XM2P" in good.text
    assert bad.status_code == 404 and "<script>alert" not in bad.text
    assert lower.status_code == 404


# ------------------------------------------------------------------------------- /api


def api_complaint(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "resident": {
            "name": "Cal Example",
            "email": "cal@example.org",
            "preferred_contact": "email",
        },
        "channel": "phone",
        "received_at": datetime.now(UTC).isoformat(),
        "description": "The communal lights have been out for a month.",
        "points": ["Lights out in the stairwell", "Reported three times"],
        "outcome_sought": "Lights fixed",
    }
    body.update(changes)
    return body


async def test_staff_lodge_read_and_step_a_case_through_the_api(
    live_admin_app: FastAPI, env: WorkflowEnvironment
) -> None:
    async with admin_http(live_admin_app) as client:
        csrf = await admin_sign_in(client, "jo.officer")
        headers = {"X-CSRF-Token": csrf}

        lodged = await client.post("/api/complaints", json=api_complaint(), headers=headers)
        assert lodged.status_code == 201, lodged.text
        reference = lodged.json()["reference"]
        assert PATTERN.fullmatch(reference)
        handle = env.client.get_workflow_handle(workflow_id(reference))
        await settle(handle)

        case = await client.get(f"/api/cases/{reference}")
        assert case.status_code == 200
        body = case.json()
        assert (body["stage"], body["status"]) == ("triage", "awaiting_triage")
        assert body["timeline"][0]["actor"] == "jo.officer"  # lodged_by is the account

        ack = {"points": ["Lights out in the stairwell"], "outcome_sought": "Lights fixed"}
        refused = await client.post(
            f"/api/cases/{reference}/steps/acknowledge", json=ack, headers=headers
        )
        assert refused.status_code == 409
        assert "'acknowledge' is not possible" in refused.json()["detail"]

        accepted = await client.post(
            f"/api/cases/{reference}/steps/accept", json={}, headers=headers
        )
        assert accepted.status_code == 200, accepted.text
        assert accepted.json()["status"] == "awaiting_acknowledgement"
        await settle(handle)

        acknowledged = await client.post(
            f"/api/cases/{reference}/steps/acknowledge", json=ack, headers=headers
        )
        assert acknowledged.status_code == 200, acknowledged.text
        result = acknowledged.json()
        assert (result["stage"], result["status"]) == ("stage1", "investigating")
        assert result["timeline"][-1]["actor"] == "jo.officer"
        await settle(handle)

        team = await client.get("/api/cases", params={"queue": "team"})
        assert team.status_code == 200
        listed = team.json()
        assert listed["queue"] == "team" and listed["page"] == 1
        assert [c["reference"] for c in listed["cases"]] == [reference]
        assert listed["cases"][0]["status"] == "investigating"

        found = await client.get("/api/search", params={"q": "cal exa"})
        assert [c["reference"] for c in found.json()["cases"]] == [reference]
        assert "data" not in found.json()["cases"][0]

        # the reference can be given; a second case with it is refused
        again = await client.post(
            "/api/complaints", json=api_complaint(reference=reference), headers=headers
        )
        assert again.status_code == 409 and reference in again.json()["detail"]


async def test_bad_api_bodies_get_422_naming_the_field(live_admin_app: FastAPI) -> None:
    async with admin_http(live_admin_app) as client:
        csrf = await admin_sign_in(client, "jo.officer")
        headers = {"X-CSRF-Token": csrf}
        bad_email = api_complaint(resident={"name": "Cal", "email": "not-an-email"})
        lodged = await client.post("/api/complaints", json=bad_email, headers=headers)
        assert lodged.status_code == 422
        assert [p["field"] for p in lodged.json()["detail"]] == ["resident.email"]

        by_someone_else = await client.post(
            "/api/complaints", json=api_complaint(lodged_by="someone.else"), headers=headers
        )
        assert by_someone_else.status_code == 422
        assert by_someone_else.json()["detail"][0]["field"] == "lodged_by"

        reference = (
            await client.post("/api/complaints", json=api_complaint(), headers=headers)
        ).json()["reference"]
        missing = await client.post(
            f"/api/cases/{reference}/steps/acknowledge", json={"points": []}, headers=headers
        )
        assert missing.status_code == 422
        fields = {p["field"] for p in missing.json()["detail"]}
        assert fields == {"points", "outcome_sought"}

        blank_point = await client.post(
            f"/api/cases/{reference}/steps/acknowledge",
            json={"points": ["  "], "outcome_sought": "Lights fixed"},
            headers=headers,
        )
        assert blank_point.status_code == 422
        assert "each point" in blank_point.json()["detail"][0]["message"]

        posing = await client.post(
            f"/api/cases/{reference}/steps/accept", json={"by": "mo.manager"}, headers=headers
        )
        assert posing.status_code == 422 and posing.json()["detail"][0]["field"] == "by"

        unknown = await client.get("/api/cases/CMP-0000-0000")
        assert unknown.status_code == 404
        assert unknown.json() == {"detail": "No case with reference CMP-0000-0000."}


async def test_a_role_that_may_not_take_a_step_gets_403(offline_admin_app: FastAPI) -> None:
    async with admin_http(offline_admin_app) as client:
        csrf = await admin_sign_in(client, "ali.advisor")
        refused = await client.post(
            "/api/cases/CMP-0000-0000/steps/accept", json={}, headers={"X-CSRF-Token": csrf}
        )
    assert refused.status_code == 403
    assert refused.json() == {
        "detail": "Your role (advisor) cannot 'accept'. Ask a colleague whose role can."
    }


async def test_the_api_refuses_anonymous_requests(offline_admin_app: FastAPI) -> None:
    async with admin_http(offline_admin_app) as client:
        for path in ("/api/session", "/api/cases", "/api/cases/CMP-0000-0000", "/api/search"):
            response = await client.get(path)
            assert response.status_code == 401, path
            assert response.json() == {"detail": "Sign in first."}


async def test_the_session_endpoint_gives_the_account_and_csrf_token(
    offline_admin_app: FastAPI,
) -> None:
    async with admin_http(offline_admin_app) as client:
        csrf = await admin_sign_in(client, "mo.manager")
        session = (await client.get("/api/session")).json()
    assert session == {
        "account": {
            "id": "mo.manager",
            "name": "Mo Manager",
            "email": "mo.manager@wkha.example",
            "role": "manager",
        },
        "csrf_token": csrf,
    }


async def test_the_openapi_document_lists_every_endpoint_with_its_body(
    offline_admin_app: FastAPI,
) -> None:
    async with admin_http(offline_admin_app) as client:
        await admin_sign_in(client, "jo.officer")  # in case the docs are staff-only
        spec = (await client.get("/api/openapi.json")).json()
        docs = await client.get("/api/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    assert '<html lang="en-GB">' in docs.text
    paths = spec["paths"]
    assert {
        "/api/session",
        "/api/complaints",
        "/api/cases",
        "/api/cases/{reference}",
        "/api/search",
        "/api/cases/{reference}/steps/accept",
        "/api/cases/{reference}/steps/acknowledge",
        "/api/cases/{reference}/steps/withdraw",
    } <= set(paths)
    assert not any(p.startswith(("/complain", "/login")) for p in paths)  # pages are not API
    schemas = spec["components"]["schemas"]
    assert "by" not in schemas["AcknowledgeBody"]["properties"]
    assert set(schemas["AcknowledgeBody"]["required"]) == {"points", "outcome_sought"}
    assert "lodged_by" not in schemas["NewComplaint"]["properties"]
    assert "reference" not in schemas["NewComplaint"].get("required", [])
    step = paths["/api/cases/{reference}/steps/acknowledge"]["post"]
    assert {"403", "409", "422"} <= set(step["responses"])
    assert step["security"] == [{"csrf": []}]
