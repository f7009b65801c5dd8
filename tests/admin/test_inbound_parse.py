"""Email intake through SendGrid's Inbound Parse webhook (admin/routes/inbound.py), end to end:
the app on the time-skipping Temporal server with a real worker, the records database and the
outbox. Posts are built as SendGrid sends them: multipart/form-data with the raw header block,
the parsed fields and the attachments as file parts."""

from __future__ import annotations

import email
import email.policy
import json
import logging
from datetime import UTC, date
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from temporalio.testing import WorkflowEnvironment

from admin.app import create_app
from config import Settings
from domain.enquiry import EnquiryChannel, EnquiryStatus, enquiry_workflow_id
from domain.references import PATTERN
from records.schema import Case, Letter
from records.store import RecordsStore
from tests.admin.conftest import ADMIN_SECRET, admin_http
from tests.support import clock, enquiry, letter_keys, london, settle, start_enquiry, travel_to
from workflows.cases import enquiry_status, new_enquiry_reference

INBOUND_SECRET = "inbound-" + "s" * 40
URL = f"/inbound/sendgrid/{INBOUND_SECRET}"
CEO = "ceo@wkha.org.uk"
WEDNESDAY = london(2027, 3, 3, 10, 30)  # a help_email now is due by the end of Thursday 4 March
MESSAGE_ID = "<CAF7p9Zq=Xx8m1u0bQe3a@mail.example.org>"
TEXT = (
    "Hello,\n\nPlease could you send me a copy of my rent statement for this year? "
    "I have attached a photo of the meter reading you asked for.\n\nThanks,\nAnn"
)


@pytest.fixture
def admin_settings(settings: Settings) -> Settings:
    """The app's settings with email intake on (the conftest's, plus the secret)."""
    return settings.model_copy(
        update={
            "admin_secret_key": ADMIN_SECRET,
            "inbound_parse_secret": INBOUND_SECRET,
            "executive_addresses": (CEO,),
        }
    )


@pytest.fixture
async def app(live_admin_app: FastAPI, env: WorkflowEnvironment) -> FastAPI:
    """The live app, with the test server and the app's clock on Wednesday 3 March 2027."""
    await travel_to(env, WEDNESDAY)
    live_admin_app.state.clock = lambda: WEDNESDAY.astimezone(UTC)
    return live_admin_app


def headers_block(
    message_id: str | None = MESSAGE_ID,
    to: str = "help@wkha.org.uk",
    subject: str = "Rent statement",
    extra: str = "",
) -> str:
    lines = [
        "Received: by mx0028p1mdw1.sendgrid.net with SMTP id 4kLq2xY8Tz "
        "Wed, 03 Mar 2027 10:29:52 +0000 (UTC)",
        "Received: from mail-yb1-f171.google.com (mail-yb1-f171.google.com [209.85.219.171]) "
        "by mx0028p1mdw1.sendgrid.net (Postfix) with ESMTPS id 0B9C2A0051 "
        "for <help@wkha.org.uk>; Wed, 03 Mar 2027 10:29:52 +0000 (UTC)",
        "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.org; s=20230601; "
        "h=to:subject:message-id:date:from:mime-version; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJ=",
        "MIME-Version: 1.0",
        "From: Ann Example <ann@example.org>",
        "Date: Wed, 3 Mar 2027 10:29:41 +0000",
        *([f"Message-ID: {message_id}"] if message_id else []),
        f"Subject: {subject}",
        f"To: {to}",
        'Content-Type: multipart/mixed; boundary="000000000000a1b2c3d4e5f6"',
        *([extra] if extra else []),
    ]
    return "\n".join(lines) + "\n"


def sendgrid_post(
    *,
    to: str = "help@wkha.org.uk",
    envelope_to: str | None = None,
    message_id: str | None = MESSAGE_ID,
    subject: str = "Rent statement",
    extra_header: str = "",
    **overrides: str | None,
) -> dict[str, str]:
    """The form fields SendGrid's Inbound Parse posts for one email (default parameters)."""
    fields: dict[str, str | None] = {
        "headers": headers_block(message_id, to, subject, extra_header),
        "dkim": "{@example.org : pass}",
        "to": to,
        "from": "Ann Example <ann@example.org>",
        "cc": "",
        "subject": subject,
        "text": TEXT,
        "html": '<div dir="ltr"><p>Hello,</p><p>Please could you send me a copy of my rent '
        "statement for this year?</p></div>",
        "sender_ip": "209.85.219.171",
        "spam_score": "0.1",
        "spam_report": "Spam detection software, running on the system "
        '"mx0028p1mdw1.sendgrid.net", has NOT identified this incoming email as spam.',
        "envelope": json.dumps(
            {"to": [envelope_to or to.split("<")[-1].rstrip(">")], "from": "ann@example.org"}
        ),
        "attachments": "1",
        "attachment-info": json.dumps(
            {
                "attachment1": {
                    "filename": "meter.jpg",
                    "name": "meter.jpg",
                    "type": "image/jpeg",
                    "content-id": "ii_m1x2y3z40",
                }
            }
        ),
        "charsets": json.dumps(
            {
                "to": "UTF-8",
                "cc": "UTF-8",
                "subject": "UTF-8",
                "from": "UTF-8",
                "text": "UTF-8",
                "html": "UTF-8",
            }
        ),
        "SPF": "pass",
    }
    fields.update(overrides)
    return {k: v for k, v in fields.items() if v is not None}


ATTACHMENT = {
    "attachment1": ("meter.jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF" + b"\x00" * 64, "image/jpeg")
}


async def post(
    app: FastAPI, fields: dict[str, str], url: str = URL, **kwargs: Any
) -> httpx.Response:
    async with admin_http(app) as client:
        return await client.post(url, data=fields, files=ATTACHMENT, **kwargs)


async def settled(env: WorkflowEnvironment, reference: str) -> EnquiryStatus:
    return await settle(env.client.get_workflow_handle(enquiry_workflow_id(reference)))


def count(store: RecordsStore, table: type) -> int:
    with Session(store.engine) as session:
        return session.execute(select(func.count()).select_from(table)).scalar_one()


def outbox_files(settings: Settings) -> list[Path]:
    root = Path(settings.outbox_dir)
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def eml_text(path: Path) -> tuple[str, str]:
    """(To, plain-text body) of an outbox email."""
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    return str(message["To"]), body.get_content()


# ------------------------------------------------------------------------- help address


async def test_an_email_to_the_help_address_is_lodged_and_confirmed_once(
    app: FastAPI, env: WorkflowEnvironment, store: RecordsStore, admin_settings: Settings
) -> None:
    fields = sendgrid_post()
    response = await post(app, fields)
    assert response.status_code == 200, response.text
    reference = response.json()["reference"]
    assert PATTERN.fullmatch(reference) and reference.startswith("ENQ-")
    assert reference == new_enquiry_reference(MESSAGE_ID)  # derived from the Message-ID

    case = await settled(env, reference)
    assert case.channel is EnquiryChannel.help_email
    assert (case.enquirer.name, case.enquirer.email) == ("Ann Example", "ann@example.org")
    assert case.subject == "Rent statement"
    assert case.message.startswith("Hello,\n\nPlease could you send me a copy")
    assert "This email had 1 attachment." in case.message
    assert case.received_at == WEDNESDAY
    assert clock(case, "enquiry_reply").due_day == date(2027, 3, 4)
    assert not case.addressed_to_executive

    record = store.get_case(reference)
    assert record is not None and record.kind == "enquiry"
    letter = store.get_letter(reference, "enquiry_received")
    assert letter is not None and letter.sent
    assert reference in (letter.body_html or "")
    assert "Thursday 4 March 2027" in (letter.body_html or "")
    [eml] = outbox_files(admin_settings)
    assert eml.parent.name == reference and eml.name == "enquiry_received.eml"
    to, text = eml_text(eml)
    assert to == "ann@example.org" or to.endswith("<ann@example.org>")
    assert reference in text and "Thursday 4 March 2027" in text

    # SendGrid posts it again (a retry, or the copy for another of our addresses)
    again = await post(app, fields)
    assert again.status_code == 200, again.text
    assert again.json() == {"reference": reference}
    await settled(env, reference)
    assert count(store, Case) == 1
    assert letter_keys(store, reference) == ["enquiry_received"]
    assert count(store, Letter) == 1
    assert outbox_files(admin_settings) == [eml]


async def test_an_email_without_a_message_id_is_still_lodged_once(
    app: FastAPI, env: WorkflowEnvironment, store: RecordsStore
) -> None:
    fields = sendgrid_post(message_id=None, text="", attachments="0")
    first = await post(app, fields)
    assert first.status_code == 200, first.text
    reference = first.json()["reference"]
    case = await settled(env, reference)
    # no text part: the HTML, as text
    assert case.message.startswith("Hello,\n\nPlease could you send me a copy of my rent")
    assert "attachment" not in case.message
    second = await post(app, fields)
    assert second.json() == {"reference": reference}
    assert count(store, Case) == 1


async def test_a_reference_taken_by_another_enquiry_gives_the_next_one_from_the_email(
    app: FastAPI, env: WorkflowEnvironment, store: RecordsStore, settings: Settings
) -> None:
    taken = enquiry(WEDNESDAY, reference=new_enquiry_reference(MESSAGE_ID), subject="Other")
    await start_enquiry(env.client, taken, settings.task_queue)
    response = await post(app, sendgrid_post())
    reference = response.json()["reference"]
    assert reference == new_enquiry_reference(f"{MESSAGE_ID}#1") != taken.reference
    assert (await settled(env, reference)).subject == "Rent statement"
    # and a retry of the email finds its own enquiry, not a third one
    assert (await post(app, sendgrid_post())).json() == {"reference": reference}
    assert (await enquiry_status(env.client, taken.reference)).subject == "Other"
    await settled(env, reference)
    assert count(store, Case) == 2


async def test_an_automatic_reply_is_not_lodged(
    app: FastAPI, store: RecordsStore, admin_settings: Settings
) -> None:
    fields = sendgrid_post(extra_header="Auto-Submitted: auto-replied", subject="Out of office")
    response = await post(app, fields)
    assert response.status_code == 200
    assert response.json() == {
        "reference": None,
        "skipped": "automatic message (Auto-Submitted: auto-replied)",
    }
    assert count(store, Case) == 0 and outbox_files(admin_settings) == []


# ------------------------------------------------------------------ other addresses


async def test_an_email_to_a_team_gets_five_working_days_and_no_automatic_reply(
    app: FastAPI, env: WorkflowEnvironment, store: RecordsStore, admin_settings: Settings
) -> None:
    fields = sendgrid_post(
        to="Repairs Team <repairs@wkha.org.uk>",
        message_id="<team-1@mail.example.org>",
        subject="Leaking gutter",
    )
    response = await post(app, fields)
    assert response.status_code == 200, response.text
    reference = response.json()["reference"]
    case = await settled(env, reference)
    assert case.channel is EnquiryChannel.team_email
    assert case.addressed_to == "repairs@wkha.org.uk"
    assert not case.addressed_to_executive
    assert clock(case, "enquiry_reply").due_day == date(2027, 3, 10)  # 5 working days
    assert "enquiry_received" not in letter_keys(store, reference)
    assert store.get_case(reference) is not None
    assert outbox_files(admin_settings) == []


async def test_a_copy_to_the_help_address_makes_it_a_help_email(
    app: FastAPI, env: WorkflowEnvironment
) -> None:
    fields = sendgrid_post(
        to="repairs@wkha.org.uk",
        envelope_to="repairs@wkha.org.uk",
        cc="WKHA Help <HELP@wkha.org.uk>",
        message_id="<cc-1@mail.example.org>",
    )
    reference = (await post(app, fields)).json()["reference"]
    assert (await settled(env, reference)).channel is EnquiryChannel.help_email


async def test_an_email_to_an_executive_goes_to_the_resolution_team(
    app: FastAPI, env: WorkflowEnvironment, store: RecordsStore
) -> None:
    fields = sendgrid_post(
        to="Jane Chief <CEO@wkha.org.uk>",
        message_id="<exec-1@mail.example.org>",
        subject="Still no repair",
    )
    response = await post(app, fields)
    assert response.status_code == 200, response.text
    reference = response.json()["reference"]
    case = await settled(env, reference)
    assert case.channel is EnquiryChannel.team_email
    assert case.addressed_to_executive
    assert case.addressed_to == "Jane Chief"
    assert case.team == Settings().policy.teams.resolution.name
    assert "routed" in [t.step for t in case.timeline]
    assert "enquiry_received" not in letter_keys(store, reference)


# ------------------------------------------------------------------------ refusals


async def assert_nothing_lodged(store: RecordsStore, settings: Settings) -> None:
    assert count(store, Case) == 0
    assert count(store, Letter) == 0
    assert outbox_files(settings) == []


@pytest.mark.parametrize(
    ("fields", "status", "field"),
    [
        (sendgrid_post(**{"from": None}), 400, "from"),
        (sendgrid_post(**{"from": "Ann Example"}), 400, "from"),
        (sendgrid_post(**{"from": "Ann <not an address>"}), 400, "from"),
        (sendgrid_post(to="", envelope_to="", envelope=None), 400, "to"),
        (sendgrid_post(envelope="{not json"), 400, "envelope"),
        (sendgrid_post(attachments="two"), 400, "attachments"),
        (sendgrid_post(charsets="[]"), 400, "charsets"),
        ({"email": "From: ann@example.org\r\n\r\nHello", "to": "help@wkha.org.uk"}, 400, "email"),
    ],
)
async def test_a_malformed_post_is_refused_naming_the_field(
    app: FastAPI,
    env: WorkflowEnvironment,
    store: RecordsStore,
    admin_settings: Settings,
    fields: dict[str, str],
    status: int,
    field: str,
) -> None:
    response = await post(app, fields)
    assert response.status_code == status, response.text
    assert response.json()["detail"].startswith(f"{field}: "), response.text
    await assert_nothing_lodged(store, admin_settings)


async def test_a_post_that_is_not_a_form_is_refused(
    app: FastAPI, store: RecordsStore, admin_settings: Settings
) -> None:
    async with admin_http(app) as client:
        as_json = await client.post(URL, json=sendgrid_post())
        as_urlencoded = await client.post(URL, data=sendgrid_post())  # no files: urlencoded
        broken = await client.post(
            URL,
            content=b"--x\r\nnot really multipart",
            headers={"content-type": "multipart/form-data"},  # no boundary
        )
    assert as_json.status_code == 415
    assert "multipart/form-data" in as_json.json()["detail"]
    assert as_urlencoded.status_code == 415
    assert broken.status_code == 400 and broken.json()["detail"].startswith("body: ")
    await assert_nothing_lodged(store, admin_settings)


async def test_a_wrong_secret_or_a_disabled_endpoint_answers_404(
    app: FastAPI,
    env: WorkflowEnvironment,
    store: RecordsStore,
    admin_settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    wrong = await post(app, sendgrid_post(), url="/inbound/sendgrid/" + "s" * 48)
    assert wrong.status_code == 404 and wrong.json() == {"detail": "Not Found"}
    assert "wrong secret" in caplog.text
    assert INBOUND_SECRET not in caplog.text and "s" * 48 not in caplog.text

    disabled = create_app(
        admin_settings.model_copy(update={"inbound_parse_secret": None}), store, client=env.client
    )
    for url in (URL, "/inbound/sendgrid/anything", "/inbound/sendgrid/None"):
        response = await post(disabled, sendgrid_post(), url=url)
        assert response.status_code == 404, url
    await assert_nothing_lodged(store, admin_settings)
    assert "ann@example.org" not in caplog.text and "Rent statement" not in caplog.text


async def test_basic_auth_when_configured(
    env: WorkflowEnvironment,
    worker: Any,
    store: RecordsStore,
    admin_settings: Settings,
) -> None:
    await travel_to(env, WEDNESDAY)
    settings = admin_settings.model_copy(
        update={"inbound_parse_user": "sendgrid", "inbound_parse_password": "p" * 32}
    )
    app = create_app(settings, store, client=env.client)
    app.state.clock = lambda: WEDNESDAY.astimezone(UTC)
    for auth in (None, ("sendgrid", "wrong"), ("someone", "p" * 32)):
        refused = await post(app, sendgrid_post(), auth=auth)
        assert refused.status_code == 401, auth
        assert refused.headers["www-authenticate"].startswith("Basic ")
    await assert_nothing_lodged(store, settings)
    # the secret is checked first: the right password with the wrong secret is still a 404
    elsewhere = await post(app, sendgrid_post(), url=URL + "x", auth=("sendgrid", "p" * 32))
    assert elsewhere.status_code == 404
    ok = await post(app, sendgrid_post(), auth=("sendgrid", "p" * 32))
    assert ok.status_code == 200, ok.text
    await settled(env, ok.json()["reference"])


async def test_temporal_unreachable_answers_503_so_sendgrid_retries(
    admin_settings: Settings, store: RecordsStore
) -> None:
    app = create_app(admin_settings, store)  # no Temporal client
    response = await post(app, sendgrid_post())
    assert response.status_code == 503
    await assert_nothing_lodged(store, admin_settings)


async def test_fields_in_another_charset_are_decoded_as_sendgrid_says(
    app: FastAPI, env: WorkflowEnvironment
) -> None:
    fields: dict[str, Any] = sendgrid_post(
        message_id="<cp1252-1@mail.example.org>",
        charsets=json.dumps({"subject": "windows-1252", "text": "windows-1252", "from": "UTF-8"}),
    )
    # SendGrid posts each field in the email's own charset: bytes, not UTF-8
    fields["subject"] = "Service charge \u20ac40 – why?".encode("cp1252")
    fields["text"] = "The charge went up by \u20ac40. Café closed too.".encode("cp1252")
    fields["from"] = "=?UTF-8?Q?Zo=C3=AB_Example?= <zoe@example.org>"
    response = await post(app, fields)
    assert response.status_code == 200, response.text
    case = await settled(env, response.json()["reference"])
    assert case.subject == "Service charge \u20ac40 – why?"
    assert case.message.startswith("The charge went up by \u20ac40. Café closed too.")
    assert case.enquirer.name == "Zoë Example"


def test_the_access_log_does_not_show_the_secret() -> None:
    from admin.routes.inbound import HIDE_SECRET

    access = logging.getLogger("uvicorn.access")
    assert HIDE_SECRET in access.filters
    record = access.makeRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "POST", URL + "?x=1", "1.1", 200),
        None,
    )
    assert access.filter(record)
    line = record.getMessage()
    assert INBOUND_SECRET not in line
    assert '"POST /inbound/sendgrid/<secret> HTTP/1.1" 200' in line
