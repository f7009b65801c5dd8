"""One way in: every intake path lodges through `workflows.cases.lodge_once`. For each of them —
the staff "Log a complaint" and "Log an enquiry" forms, the residents' /complain form,
`POST /api/complaints`, SendGrid's inbound email and `python -m starter lodge` / `lodge-enquiry`
— the same submission sent twice makes one case and one receipt letter, and a `received_at` two
days in the future is refused, naming the field (the residents' form and email have no such
field: they are received when they arrive).

Through the app (or the starter's own code), the time-skipping Temporal server, a real worker and
the records database. The app's clock and the test server are on Wednesday 3 March 2027, 10:30.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import Session
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

import starter.__main__ as starter_cli
from config import Settings
from domain.complaint import workflow_id
from domain.enquiry import enquiry_workflow_id
from domain.policy import legacy_policy
from records.schema import Case
from records.store import RecordsStore
from tests.admin.conftest import ADMIN_SECRET, admin_http, admin_sign_in, csrf_in
from tests.admin.test_pages import error_summary, post, text, travel
from tests.admin.test_public_and_api import REFERENCE_IN_URL
from tests.admin.test_public_and_api import form as complain_form
from tests.support import letter_keys, london, settle
from worker.codec import new_key_line
from workflows.cases import new_complaint_reference, new_enquiry_reference

NOW = london(2027, 3, 3, 10, 30)  # a Wednesday
TWO_DAYS_ON = NOW + timedelta(days=2)
INBOUND_SECRET = "inbound-" + "k" * 40
MESSAGE_ID = "<one-way-in-4b1f@mail.example.org>"
FUTURE = "is in the future; give when the resident got in touch"
RECEIVED_IN_FUTURE = "The date and time it was received is in the future"


@pytest.fixture
def admin_settings(settings: Settings) -> Settings:
    """The conftest's app settings, with email intake on too."""
    return settings.model_copy(
        update={"admin_secret_key": ADMIN_SECRET, "inbound_parse_secret": INBOUND_SECRET}
    )


@pytest.fixture
async def app(live_admin_app: FastAPI, env: WorkflowEnvironment) -> FastAPI:
    await travel(env, live_admin_app, NOW)
    return live_admin_app


# --------------------------------------------------------------------------- helpers


def cases_recorded(store: RecordsStore) -> list[str]:
    """The reference of every case row in the records database."""
    with Session(store.engine) as session:
        return sorted(session.scalars(select(Case.reference)))


async def started(client: Client, wid: str) -> bool:
    """Whether a workflow with this id exists on the server."""
    try:
        await client.get_workflow_handle(wid).describe()
    except RPCError as err:
        if err.status is RPCStatusCode.NOT_FOUND:
            return False
        raise
    return True


def hidden(page: str, name: str) -> str:
    found = re.search(rf'<input type="hidden" name="{name}" value="([^"]*)"', page)
    assert found, f"no hidden {name} field on the page"
    return html.unescape(found.group(1))


def staff_complaint(**changes: str) -> dict[str, Any]:
    """The "Log a complaint" form, filled in: an emailed complaint, so it gets a receipt letter."""
    data: dict[str, Any] = {
        "channel": "email",
        "received_date": "2027-03-03",
        "received_time": "09:15",
        "complainant_type": "resident",
        "name": "Eve Evening",
        "acting_for": "",
        "email": "eve@example.org",
        "phone": "",
        "address_lines": "4 Station Road\nEdenbridge",
        "postcode": "tn8 5aa",
        "preferred_contact": "email",
        "reasonable_adjustments": "",
        "description": "The lift has been broken for three weeks.",
        "points": ["The lift is broken", "", "", "", ""],
        "outcome_sought": "Lift repaired",
        "incident_date": "",
        "became_aware_date": "",
        "owner": "",
    }
    data.update(changes)
    return data


def staff_enquiry(**changes: str) -> dict[str, Any]:
    """The "Log an enquiry" form: an email to the help address, which gets a confirmation."""
    data: dict[str, Any] = {
        "channel": "help_email",
        "received_date": "2027-03-03",
        "received_time": "09:15",
        "name": "Ann Example",
        "email": "ann@example.org",
        "phone": "",
        "address_lines": "",
        "postcode": "",
        "social_handle": "",
        "preferred_contact": "email",
        "reasonable_adjustments": "",
        "subject": "Rent statement",
        "message": "Please send me a copy of my rent statement for this year.",
        "addressed_to": "",
        "callback_from": "",
        "callback_from_returns_on": "",
        "owner": "",
    }
    data.update(changes)
    return data


def api_complaint(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "resident": {"name": "Cal Example", "email": "cal@example.org"},
        "channel": "email",
        "received_at": (NOW - timedelta(hours=1)).isoformat(),
        "description": "The communal lights have been out for a month.",
        "points": ["Lights out in the stairwell"],
        "outcome_sought": "Lights fixed",
    }
    body.update(changes)
    return body


def sendgrid_email(date_header: str = "Wed, 3 Mar 2027 10:29:41 +0000") -> dict[str, str]:
    """The parsed fields SendGrid's Inbound Parse posts for an email to the help address."""
    headers = "\n".join(
        [
            "From: Ann Example <ann@example.org>",
            "To: help@wkha.org.uk",
            "Subject: Rent statement",
            f"Date: {date_header}",
            f"Message-ID: {MESSAGE_ID}",
        ]
    )
    return {
        "headers": headers + "\n",
        "from": "Ann Example <ann@example.org>",
        "to": "help@wkha.org.uk",
        "subject": "Rent statement",
        "text": "Please could you send me a copy of my rent statement?",
        "envelope": json.dumps({"to": ["help@wkha.org.uk"], "from": "ann@example.org"}),
    }


async def send_email(app: FastAPI, fields: dict[str, str]) -> httpx.Response:
    async with admin_http(app) as http:
        # a file part makes it multipart/form-data, as SendGrid posts it
        return await http.post(
            f"/inbound/sendgrid/{INBOUND_SECRET}",
            data=fields,
            files={"attachment1": ("note.txt", b"hello", "text/plain")},
        )


# ---------------------------------------------------------------- staff: log a complaint


async def test_staff_log_a_complaint_twice_makes_one_case_and_one_receipt_letter(
    app: FastAPI, env: WorkflowEnvironment, store: RecordsStore, admin_settings: Settings
) -> None:
    async with admin_http(app) as http:
        await admin_sign_in(http, "jo.officer")
        form = await http.get("/complaints/new")
        token = hidden(form.text, "submission")
        assert token != hidden((await http.get("/complaints/new")).text, "submission")
        data = staff_complaint(submission=token)
        first = await post(http, "/complaints/new", form.text, data)
        again = await post(http, "/complaints/new", form.text, data)  # a double click
        assert first.status_code == again.status_code == 303, first.text
        assert first.headers["location"] == again.headers["location"]
        ref = first.headers["location"].removeprefix("/cases/")
        assert ref == new_complaint_reference(token)
        page = text((await http.get(f"/cases/{ref}")).text)
        assert f"Complaint {ref} was already logged: this is it" in page

    case = await settle(env.client.get_workflow_handle(workflow_id(ref)))
    assert case.received_at == london(2027, 3, 3, 9, 15)
    assert case.policy == admin_settings.policy.stamp() != legacy_policy().stamp()
    assert cases_recorded(store) == [ref]
    assert letter_keys(store, ref) == ["complaint_received"]


async def test_staff_log_a_complaint_received_in_the_future_is_refused_beside_the_field(
    app: FastAPI, env: WorkflowEnvironment, store: RecordsStore
) -> None:
    async with admin_http(app) as http:
        await admin_sign_in(http, "jo.officer")
        form = await http.get("/complaints/new")
        token = hidden(form.text, "submission")
        future = staff_complaint(
            submission=token, received_date=f"{TWO_DAYS_ON:%Y-%m-%d}", received_time="10:30"
        )
        refused = await post(http, "/complaints/new", form.text, future)
        assert refused.status_code == 400
        # an old page's single date box still posts: the date input links its day box
        assert error_summary(refused.text) == [("#complaint-received_date-day", RECEIVED_IN_FUTURE)]
        beside = re.search(
            r'id="complaint-received-error"><span class="visually-hidden">Error:</span> ([^<]+)<',
            refused.text,
        )
        assert beside and beside.group(1) == RECEIVED_IN_FUTURE
        assert hidden(refused.text, "submission") == token, "the same submission, corrected"
        assert not await started(env.client, workflow_id(new_complaint_reference(token)))
        assert cases_recorded(store) == []

        fixed = await post(http, "/complaints/new", refused.text, staff_complaint(submission=token))
        assert fixed.headers["location"] == f"/cases/{new_complaint_reference(token)}"


# ---------------------------------------------------------------- staff: log an enquiry


async def test_staff_log_an_enquiry_twice_makes_one_enquiry_and_one_confirmation(
    app: FastAPI, env: WorkflowEnvironment, store: RecordsStore, admin_settings: Settings
) -> None:
    async with admin_http(app) as http:
        await admin_sign_in(http, "ali.advisor")
        form = await http.get("/enquiries/new")
        token = hidden(form.text, "submission")
        ref = new_enquiry_reference(token)
        assert hidden(form.text, "reference") == ref, "the form shows the reference it will get"
        data = staff_enquiry(submission=token, reference=ref)
        first = await post(http, "/enquiries/new", form.text, data)
        again = await post(http, "/enquiries/new", form.text, data)
        assert first.status_code == again.status_code == 303, first.text
        assert first.headers["location"] == again.headers["location"] == f"/enquiries/{ref}"
        page = text((await http.get(f"/enquiries/{ref}")).text)
        assert f"Enquiry {ref} was already logged: this is it" in page

    case = await settle(env.client.get_workflow_handle(enquiry_workflow_id(ref)))
    assert case.policy == admin_settings.policy.stamp()
    assert cases_recorded(store) == [ref]
    assert letter_keys(store, ref) == ["enquiry_received"]


async def test_staff_log_an_enquiry_received_in_the_future_is_refused_beside_the_field(
    app: FastAPI, env: WorkflowEnvironment, store: RecordsStore
) -> None:
    async with admin_http(app) as http:
        await admin_sign_in(http, "ali.advisor")
        form = await http.get("/enquiries/new")
        token = hidden(form.text, "submission")
        future = staff_enquiry(
            submission=token, received_date=f"{TWO_DAYS_ON:%Y-%m-%d}", received_time="10:30"
        )
        refused = await post(http, "/enquiries/new", form.text, future)
    assert refused.status_code == 400
    assert error_summary(refused.text) == [("#enquiry-received_date-day", RECEIVED_IN_FUTURE)]
    beside = re.search(
        r'id="enquiry-received-error"><span class="visually-hidden">Error:</span> ([^<]+)<',
        refused.text,
    )
    assert beside and beside.group(1) == RECEIVED_IN_FUTURE
    assert not await started(env.client, enquiry_workflow_id(new_enquiry_reference(token)))
    assert cases_recorded(store) == []


# ------------------------------------------------------------------ residents: /complain


async def test_the_online_form_sent_twice_makes_one_complaint_and_one_receipt_letter(
    app: FastAPI, env: WorkflowEnvironment, store: RecordsStore
) -> None:
    async with admin_http(app) as http:
        page = (await http.get("/complain")).text
        token = hidden(page, "submission")
        data = complain_form(csrf_in(page), submission=token)
        first = await http.post("/complain", data=data)
        again = await http.post("/complain", data=data)
    assert first.status_code == again.status_code == 303, first.text
    assert first.headers["location"] == again.headers["location"]
    found = REFERENCE_IN_URL.match(first.headers["location"])
    assert found and found.group(1) == new_complaint_reference(token)
    ref = found.group(1)
    await settle(env.client.get_workflow_handle(workflow_id(ref)))
    assert cases_recorded(store) == [ref]
    assert letter_keys(store, ref) == ["complaint_received"]


async def test_the_online_form_is_received_when_it_is_sent_whatever_it_posts(
    app: FastAPI, env: WorkflowEnvironment
) -> None:
    """The residents' form asks no "when": a received time posted with it is not read."""
    async with admin_http(app) as http:
        page = (await http.get("/complain")).text
        data = complain_form(
            csrf_in(page),
            submission=hidden(page, "submission"),
            received_at=TWO_DAYS_ON.isoformat(),
            received_date=f"{TWO_DAYS_ON:%Y-%m-%d}",
            received_time="10:30",
        )
        sent = await http.post("/complain", data=data)
    assert sent.status_code == 303, sent.text
    ref = REFERENCE_IN_URL.match(sent.headers["location"]).group(1)
    case = await settle(env.client.get_workflow_handle(workflow_id(ref)))
    assert case.received_at == NOW


# -------------------------------------------------------------------- POST /api/complaints


async def test_the_api_with_an_idempotency_key_lodges_once(
    app: FastAPI, env: WorkflowEnvironment, store: RecordsStore, admin_settings: Settings
) -> None:
    async with admin_http(app) as http:
        csrf = await admin_sign_in(http, "jo.officer")
        headers = {"X-CSRF-Token": csrf, "Idempotency-Key": "9b2f7c1e-0d4a-4c55-8f0e-3a1d2b6c7e90"}
        first = await http.post("/api/complaints", json=api_complaint(), headers=headers)
        assert first.status_code == 201, first.text
        ref = first.json()["reference"]
        assert first.json() == {"reference": ref, "created": True}
        handle = env.client.get_workflow_handle(workflow_id(ref))
        await settle(handle)

        again = await http.post("/api/complaints", json=api_complaint(), headers=headers)
        assert again.status_code == 200, again.text
        assert again.json() == {"reference": ref, "created": False}

        # the case moves on; a late retry still finds it
        step = await http.post(f"/api/cases/{ref}/steps/accept", json={}, headers=headers)
        assert step.status_code == 200, step.text
        await settle(handle)
        late = await http.post("/api/complaints", json=api_complaint(), headers=headers)
        assert (late.status_code, late.json()) == (200, {"reference": ref, "created": False})

        # without a key, each request is a new complaint
        plain = {"X-CSRF-Token": csrf}
        other = await http.post("/api/complaints", json=api_complaint(), headers=plain)
        assert other.status_code == 201 and other.json()["reference"] != ref
        await settle(env.client.get_workflow_handle(workflow_id(other.json()["reference"])))

    case = await settle(handle)
    assert case.policy == admin_settings.policy.stamp()
    assert cases_recorded(store) == sorted([ref, other.json()["reference"]])
    assert letter_keys(store, ref) == ["complaint_received"]


async def test_the_api_refuses_a_future_received_at_naming_the_field(
    app: FastAPI, env: WorkflowEnvironment, store: RecordsStore
) -> None:
    async with admin_http(app) as http:
        csrf = await admin_sign_in(http, "jo.officer")
        headers = {"X-CSRF-Token": csrf, "Idempotency-Key": "future-1"}
        body = api_complaint(received_at=TWO_DAYS_ON.isoformat())
        refused = await http.post("/api/complaints", json=body, headers=headers)
        assert refused.status_code == 422, refused.text
        [problem] = refused.json()["detail"]
        assert problem["field"] == "received_at"
        assert problem["message"] == f"{TWO_DAYS_ON.isoformat(timespec='minutes')} {FUTURE}"

        both = await http.post(
            "/api/complaints", json=api_complaint(reference="CMP-7KQ3-XM2P"), headers=headers
        )
        assert both.status_code == 422
        assert [p["field"] for p in both.json()["detail"]] == ["reference"]

        bad_key = await http.post(
            "/api/complaints",
            json=api_complaint(),
            headers={"X-CSRF-Token": csrf, "Idempotency-Key": "x" * 256},
        )
        assert bad_key.status_code == 422
        assert [p["field"] for p in bad_key.json()["detail"]] == ["Idempotency-Key"]

        schema = (await http.get("/api/openapi.json")).json()
    assert not await started(
        env.client, workflow_id(new_complaint_reference("api:jo.officer:future-1"))
    )
    assert cases_recorded(store) == []
    operation = schema["paths"]["/api/complaints"]["post"]
    [header] = [p for p in operation["parameters"] if p["in"] == "header"]
    assert header["name"] == "Idempotency-Key" and not header["required"]
    assert "Idempotency-Key" in operation["description"]
    assert "received_at" in operation["description"]
    assert "200" in operation["responses"]


# ---------------------------------------------------------------------------- email


async def test_the_same_email_posted_twice_makes_one_enquiry_and_one_confirmation(
    app: FastAPI, env: WorkflowEnvironment, store: RecordsStore, admin_settings: Settings
) -> None:
    first = await send_email(app, sendgrid_email())
    assert first.status_code == 200, first.text
    ref = first.json()["reference"]
    assert ref == new_enquiry_reference(MESSAGE_ID)
    case = await settle(env.client.get_workflow_handle(enquiry_workflow_id(ref)))
    again = await send_email(app, sendgrid_email())
    assert again.json() == {"reference": ref}
    assert case.policy == admin_settings.policy.stamp()
    assert cases_recorded(store) == [ref]
    assert letter_keys(store, ref) == ["enquiry_received"]


async def test_an_email_is_received_when_it_arrives_whatever_its_date_header_says(
    app: FastAPI, env: WorkflowEnvironment
) -> None:
    response = await send_email(app, sendgrid_email(f"{TWO_DAYS_ON:%a, %d %b %Y %H:%M:%S %z}"))
    assert response.status_code == 200, response.text
    ref = response.json()["reference"]
    case = await settle(env.client.get_workflow_handle(enquiry_workflow_id(ref)))
    assert case.received_at == NOW


# --------------------------------------------------------------------- the command line


@pytest.fixture
def cli(
    monkeypatch: pytest.MonkeyPatch, env: WorkflowEnvironment, worker: Worker
) -> Callable[..., Any]:
    """`python -m starter`'s own code (parser and run), connected to the test server."""

    async def connect(settings: Settings) -> Client:
        return env.client

    monkeypatch.setattr(starter_cli, "connect", connect)

    async def run(settings: Settings, *argv: str) -> int:
        return await starter_cli.run(starter_cli.parser().parse_args(list(argv)), settings)

    return run


LODGE = {
    "lodge": [
        "lodge", "--name", "Ann Example", "--email", "ann@example.org", "--channel", "email",
        "--description", "Boiler repair missed", "--point", "Repair missed twice",
    ],
    "lodge-enquiry": [
        "lodge-enquiry", "--channel", "help_email", "--name", "Ann Example",
        "--email", "ann@example.org", "--subject", "Rent statement",
        "--message", "Please send my rent statement.",
    ],
}  # fmt: skip
RECEIPT = {"lodge": "complaint_received", "lodge-enquiry": "enquiry_received"}


@pytest.mark.parametrize("command", ["lodge", "lodge-enquiry"])
async def test_the_starter_with_a_submission_key_lodges_once(
    command: str,
    cli: Callable[..., Any],
    settings: Settings,
    store: RecordsStore,
    env: WorkflowEnvironment,
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = [*LODGE[command], "--submission-key", "intake-2026-0412"]
    assert await cli(settings, *args) == 0
    ref = capsys.readouterr().out.strip()
    wid = workflow_id(ref) if command == "lodge" else enquiry_workflow_id(ref)
    case = await settle(env.client.get_workflow_handle(wid))

    assert await cli(settings, *args) == 0
    out, err = capsys.readouterr()
    assert out.strip() == ref
    assert f"already lodged: {'complaint' if command == 'lodge' else 'enquiry'} {ref}" in err

    assert case.policy == settings.policy.stamp()
    assert cases_recorded(store) == [ref]
    assert letter_keys(store, ref) == [RECEIPT[command]]

    # without a key, each run is a new case, as before
    assert await cli(settings, *LODGE[command]) == 0
    other = capsys.readouterr().out.strip()
    assert other != ref
    other_wid = workflow_id(other) if command == "lodge" else enquiry_workflow_id(other)
    await settle(env.client.get_workflow_handle(other_wid))
    assert cases_recorded(store) == sorted([ref, other])


@pytest.mark.parametrize("command", ["lodge", "lodge-enquiry"])
def test_the_starter_refuses_a_future_received_at_with_exit_2_naming_the_field(
    command: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # nothing listens on port 1: refused before connecting, so no Temporal is needed
    monkeypatch.setenv("TEMPORAL_ADDRESS", "127.0.0.1:1")
    monkeypatch.setenv("PAYLOAD_KEYS", new_key_line("test"))
    future = datetime.now(UTC) + timedelta(days=2)
    code = starter_cli.main(
        [*LODGE[command], "--received-at", future.isoformat(), "--submission-key", "k-1"]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert err == f"error: received_at: {future.isoformat(timespec='minutes')} {FUTURE}\n"


def test_the_starter_refuses_a_submission_key_with_a_reference(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TEMPORAL_ADDRESS", "127.0.0.1:1")
    monkeypatch.setenv("PAYLOAD_KEYS", new_key_line("test"))
    args = [*LODGE["lodge"], "--reference", "CMP-7KQ3-XM2P", "--submission-key", "k-1"]
    assert starter_cli.main(args) == 2
    assert capsys.readouterr().err.startswith("error: --submission-key: leave out the reference")
