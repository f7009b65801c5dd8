"""Delivering letters: the outbox folder (email and post) and SendGrid, through a fake server."""

from __future__ import annotations

import email
import json
import logging
import os
import socket
import urllib.request
from email.policy import default as default_policy
from pathlib import Path

import pytest

from config import Settings
from domain.letters import Delivery, LetterKind, Recipient
from letters.delivery import (
    Delivered,
    DeliveryError,
    OutgoingLetter,
    PermanentDeliveryError,
    deliver,
)
from letters.render import render_letter
from tests.fakes.sendgrid_server import FakeSendGrid


@pytest.fixture
def outgoing(make_request, case):
    """`outgoing(kind, delivery, settings, key=None, **context)`: render, then resolve."""

    def _outgoing(
        kind: LetterKind = LetterKind.stage1_acknowledgement,
        delivery: Delivery = Delivery.email,
        settings: Settings | None = None,
        **kwargs,
    ) -> OutgoingLetter:
        settings = settings or Settings()
        request = make_request(kind, delivery, **kwargs)
        rendered = render_letter(request, settings, now=case.now)
        return OutgoingLetter.for_request(request, rendered, settings)

    return _outgoing


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# ----------------------------------------------------------------------------- outbox: email


def test_email_without_api_key_goes_to_the_outbox_as_an_eml(outgoing, settings, case):
    letter = outgoing(settings=settings, key="s1_acknowledgement")
    result = deliver(letter, settings, now=case.now)

    path = settings.outbox_dir / case.reference / "s1_acknowledgement.eml"
    assert result == Delivered(provider_id=None, location=str(path))
    message = email.message_from_bytes(path.read_bytes(), policy=default_policy)
    assert message["To"].addresses[0].addr_spec == case.resident_email
    assert message["To"].addresses[0].display_name == case.resident_name
    assert message["From"].addresses[0].addr_spec == settings.mail_from
    assert message["From"].addresses[0].display_name == settings.landlord.name
    assert message["Subject"] == letter.rendered.subject
    assert message["X-Letter-Key"] == f"{case.reference}/s1_acknowledgement"
    assert message["Date"] is not None and message["Message-ID"] is not None
    assert message.get_content_type() == "multipart/alternative"
    assert message.get_body(("plain",)).get_content().replace("\r\n", "\n") == letter.rendered.text
    assert message.get_body(("html",)).get_content().replace("\r\n", "\n") == letter.rendered.html
    assert not message.defects


def test_delivering_the_same_email_twice_leaves_exactly_one_file(outgoing, settings, case):
    letter = outgoing(settings=settings)
    first = deliver(letter, settings)
    second = deliver(letter, settings)
    assert first == second
    assert files_in(settings.outbox_dir / case.reference) == ["stage1_acknowledgement.eml"]


def test_letter_keys_become_safe_file_names(outgoing, settings, case):
    letter = outgoing(LetterKind.deadline_breach, settings=settings, key="breach:s1_contact:owner")
    result = deliver(letter, settings)
    assert result.location == str(
        settings.outbox_dir / case.reference / "breach_s1_contact_owner.eml"
    )
    hostile = outgoing(settings=settings, key="../../etc/passwd")
    location = Path(deliver(hostile, settings).location or "")
    assert location.parent == settings.outbox_dir / case.reference


def test_team_letters_go_to_the_team_inbox(make_request, settings, case):
    request = make_request(LetterKind.deadline_breach, key="breach:s1_response:team")
    request = request.model_copy(
        update={"recipient": Recipient(name="Customer resolution team", role="team")}
    )
    letter = OutgoingLetter.for_request(request, render_letter(request, settings), settings)
    assert letter.to_email == settings.team_inbox
    path = Path(deliver(letter, settings).location or "")
    message = email.message_from_bytes(path.read_bytes(), policy=default_policy)
    assert message["To"].addresses[0].addr_spec == settings.team_inbox
    assert case.resident_name not in path.read_text()


def test_email_letter_without_an_address_is_a_permanent_error(outgoing, settings, case):
    letter = outgoing(settings=settings).model_copy(update={"to_email": None})
    with pytest.raises(PermanentDeliveryError, match="no email address") as caught:
        deliver(letter, settings)
    assert case.reference in str(caught.value)
    assert not settings.outbox_dir.exists()


# ----------------------------------------------------------------------------- outbox: post


def test_post_letter_goes_to_the_outbox_as_printable_html(outgoing, settings, case):
    letter = outgoing(LetterKind.stage1_response, Delivery.post, settings=settings)
    result = deliver(letter, settings)
    path = settings.outbox_dir / case.reference / "stage1_response.html"
    assert result == Delivered(location=str(path))
    html = path.read_text(encoding="utf-8")
    assert html == letter.rendered.html
    assert "@page { size: A4;" in html
    assert '<address class="address-block">' in html
    assert case.resident_address.postcode in html


def test_delivering_the_same_post_letter_twice_leaves_exactly_one_file(outgoing, settings, case):
    letter = outgoing(LetterKind.case_closed, Delivery.post, settings=settings)
    deliver(letter, settings)
    deliver(letter, settings)
    assert files_in(settings.outbox_dir / case.reference) == ["case_closed.html"]


def test_post_letter_without_an_address_is_a_permanent_error(outgoing, settings):
    letter = outgoing(delivery=Delivery.post, settings=settings)
    letter = letter.model_copy(update={"to_address": None})
    with pytest.raises(PermanentDeliveryError, match="no postal address"):
        deliver(letter, settings)


def test_a_crash_while_writing_leaves_no_letter_and_no_litter(
    outgoing, settings, case, monkeypatch
):
    letter = outgoing(settings=settings)
    folder = settings.outbox_dir / case.reference

    def crash(src: str, dst: str) -> None:
        raise KeyboardInterrupt  # as if the worker died between writing and renaming

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        deliver(letter, settings)
    assert files_in(folder) == []
    monkeypatch.undo()

    deliver(letter, settings)
    assert files_in(folder) == ["stage1_acknowledgement.eml"]


def test_an_outbox_that_cannot_be_written_is_retryable(outgoing, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("in the way")
    settings = Settings(outbox_dir=blocker)
    with pytest.raises(DeliveryError, match="outbox"):
        deliver(outgoing(settings=settings), settings)


# ----------------------------------------------------------------------------- SendGrid


def test_email_with_api_key_goes_through_sendgrid(outgoing, sendgrid_settings, fake_sendgrid, case):
    letter = outgoing(settings=sendgrid_settings, key="s1_acknowledgement")
    result = deliver(letter, sendgrid_settings)

    (call,) = fake_sendgrid.calls
    assert call.path == "/v3/mail/send"
    assert call.headers["authorization"] == "Bearer SG.test-key"
    assert result == Delivered(provider_id=call.message_id, location=None)
    assert result.provider_id
    body = call.body
    assert body["personalizations"][0]["to"] == [
        {"email": case.resident_email, "name": case.resident_name}
    ]
    assert body["from"] == {
        "email": sendgrid_settings.mail_from,
        "name": "West Kent Housing Association",
    }
    assert body["subject"] == letter.rendered.subject
    assert body["content"] == [
        {"type": "text/plain", "value": letter.rendered.text},
        {"type": "text/html", "value": letter.rendered.html},
    ]
    assert body["custom_args"] == {"reference": case.reference, "letter_key": "s1_acknowledgement"}
    assert body["headers"] == {"X-Letter-Key": f"{case.reference}/s1_acknowledgement"}
    assert body["mail_settings"] == {"sandbox_mode": {"enable": False}}
    assert not sendgrid_settings.outbox_dir.exists()


def test_sandbox_mode_is_honoured(outgoing, sendgrid_settings, fake_sendgrid):
    settings = sendgrid_settings.model_copy(update={"sendgrid_sandbox": True})
    deliver(outgoing(settings=settings), settings)
    (call,) = fake_sendgrid.calls
    assert call.body["mail_settings"] == {"sandbox_mode": {"enable": True}}
    assert call.status == 200  # SendGrid answers 200, not 202, in sandbox mode


def test_post_letters_never_go_to_sendgrid(outgoing, sendgrid_settings, fake_sendgrid):
    result = deliver(
        outgoing(delivery=Delivery.post, settings=sendgrid_settings), sendgrid_settings
    )
    assert result.location and result.location.endswith(".html")
    assert fake_sendgrid.calls == []


@pytest.mark.parametrize("status", [500, 502, 503, 504, 429])
def test_server_errors_and_rate_limits_are_retryable(
    outgoing, sendgrid_settings, fake_sendgrid, case, status
):
    letter = outgoing(settings=sendgrid_settings)
    fake_sendgrid.fail_next(status)
    with pytest.raises(DeliveryError) as caught:
        deliver(letter, sendgrid_settings)
    assert caught.value.status_code == status
    assert case.reference in str(caught.value)
    # the next attempt (Temporal's retry) succeeds
    assert deliver(letter, sendgrid_settings).provider_id
    assert [c.status for c in fake_sendgrid.calls] == [status, 202]


@pytest.mark.parametrize("status", [400, 401, 403, 404, 413])
def test_client_errors_are_permanent_and_name_no_personal_data(
    outgoing, sendgrid_settings, fake_sendgrid, case, status
):
    fake_sendgrid.fail_next(
        status,
        errors=[
            {
                "message": f"Does not contain a valid address: {case.resident_email}",
                "field": "personalizations.0.to.0.email",
            }
        ],
    )
    with pytest.raises(PermanentDeliveryError) as caught:
        deliver(outgoing(settings=sendgrid_settings), sendgrid_settings)
    message = str(caught.value)
    assert caught.value.status_code == status
    assert case.reference in message and f"HTTP {status}" in message
    assert "stage1_acknowledgement" in message
    assert "personalizations.0.to.0.email" in message
    assert case.resident_email not in message
    assert case.resident_name not in message
    assert case.resident_name.split()[0] not in message


def test_a_wrong_api_key_is_permanent_and_says_what_to_check(
    outgoing, sendgrid_settings, fake_sendgrid
):
    settings = sendgrid_settings.model_copy(update={"sendgrid_api_key": "SG.wrong"})
    with pytest.raises(PermanentDeliveryError, match="SENDGRID_API_KEY"):
        deliver(outgoing(settings=settings), settings)


def test_sendgrid_unreachable_is_retryable(outgoing, tmp_path):
    with socket.socket() as sock:  # a port with nothing listening
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = Settings(
        outbox_dir=tmp_path, sendgrid_api_key="SG.x", sendgrid_host=f"http://127.0.0.1:{port}"
    )
    with pytest.raises(DeliveryError, match="Could not reach SendGrid"):
        deliver(outgoing(settings=settings), settings)


def test_nothing_personal_is_logged_even_at_debug(
    outgoing, sendgrid_settings, fake_sendgrid, case, caplog
):
    caplog.set_level(logging.DEBUG)
    deliver(outgoing(settings=sendgrid_settings), sendgrid_settings)
    fake_sendgrid.fail_next(400)
    with pytest.raises(PermanentDeliveryError):
        deliver(outgoing(settings=sendgrid_settings), sendgrid_settings)
    deliver(outgoing(delivery=Delivery.post, settings=sendgrid_settings), sendgrid_settings)
    logged = caplog.text
    assert case.reference in logged  # the reference and letter key are what we log
    for secret in (case.resident_email, case.resident_name, "SG.test-key", "Quigley"):
        assert secret not in logged


def test_outgoing_letter_repr_leaves_out_personal_data(outgoing, case):
    text = repr(outgoing())
    assert case.reference in text
    assert case.resident_email not in text and case.resident_name not in text


# ----------------------------------------------------------------------------- the fake itself


def _post(url: str, body: object, key: str | None = "SG.test-key") -> tuple[int, dict]:
    request = urllib.request.Request(
        url + "/v3/mail/send",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"}
        | ({"Authorization": f"Bearer {key}"} if key else {}),
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, dict(response.headers)
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}")


VALID = {
    "personalizations": [{"to": [{"email": "a@example.org"}]}],
    "from": {"email": "b@example.org"},
    "subject": "Hello",
    "content": [{"type": "text/plain", "value": "Hi"}],
}


def test_fake_fails_the_next_n_requests_then_recovers_by_itself(fake_sendgrid):
    fake_sendgrid.fail_next(503, times=2)
    statuses = [_post(fake_sendgrid.url, VALID)[0] for _ in range(3)]
    assert statuses == [503, 503, 202]
    assert len(fake_sendgrid.requests) == 3
    assert len(fake_sendgrid.accepted) == 1


def test_fake_fails_until_told_to_recover(fake_sendgrid):
    fake_sendgrid.fail_until_recovered(500)
    assert [_post(fake_sendgrid.url, VALID)[0] for _ in range(3)] == [500, 500, 500]
    fake_sendgrid.recover()
    status, headers = _post(fake_sendgrid.url, VALID)
    assert status == 202 and headers["X-Message-Id"].startswith("fake-")


def test_fake_checks_auth_and_the_body_like_sendgrid(fake_sendgrid):
    assert _post(fake_sendgrid.url, VALID, key=None)[0] == 401
    status, body = _post(fake_sendgrid.url, {"subject": "no one to send to"})
    assert status == 400
    fields = {e["field"] for e in body["errors"]}
    assert {"personalizations", "from.email", "content"} <= fields


def test_fake_is_thread_safe(fake_sendgrid):
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(lambda _: _post(fake_sendgrid.url, VALID)[0], range(40)))
    assert statuses == [202] * 40
    ids = [c.message_id for c in fake_sendgrid.calls]
    assert len(set(ids)) == 40


def test_fake_url_needs_a_started_server():
    fake = FakeSendGrid()
    with pytest.raises(RuntimeError):
        _ = fake.url


def test_eml_keeps_names_with_accents_and_punctuation(outgoing, settings):
    name = 'Siobhán "Shiv" Ó Dónaill, Jr.'
    letter = outgoing(settings=settings).model_copy(update={"to_name": name})
    path = Path(deliver(letter, settings).location or "")
    raw = path.read_bytes()
    assert raw.isascii()  # headers encoded as RFC 5322/2047 asks
    message = email.message_from_bytes(raw, policy=default_policy)
    assert message["To"].addresses[0].display_name == name
    assert not message.defects


# ----------------------------------------------------------------------------- one recipient

# Whatever a resident types as their name must stay one recipient: the public form takes it from
# anyone. Python's email package drops the quotes around a long display name when it folds the
# header, and SendGrid writes a recipient's name into the header as it is.
HOSTILE_NAMES = {
    "comma and address, long": "Ann Example, attacker@evil.example, " + "x" * 80,
    "quotes and backslash": 'Ann "Q" Example\\, b@evil.example',
    "non-ASCII with an address": "Zoë Ødegård, <x@evil.example> " + "é" * 60,
    "newline and a header": "Ann Example\r\nBcc: attacker@evil.example",
    "300 characters": "A" * 290 + ", e@evil.example",
    "semicolon group": "Team: a@evil.example; Ann",
    "an address only": "attacker@evil.example",
}


def _recipients(header: str) -> list[str]:
    parsed = email.message_from_string(f"To: {header}\n\n", policy=default_policy)
    return [a.addr_spec for a in parsed["To"].addresses]


@pytest.mark.parametrize("name", HOSTILE_NAMES.values(), ids=HOSTILE_NAMES.keys())
def test_an_outbox_email_has_one_recipient_whatever_the_name(outgoing, settings, case, name):
    letter = outgoing(settings=settings).model_copy(update={"to_name": name})
    raw = Path(deliver(letter, settings).location or "").read_bytes()
    message = email.message_from_bytes(raw, policy=default_policy)
    assert [a.addr_spec for a in message["To"].addresses] == [case.resident_email]
    assert message["Bcc"] is None and message["Cc"] is None
    assert not message.defects
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998


@pytest.mark.parametrize("name", HOSTILE_NAMES.values(), ids=HOSTILE_NAMES.keys())
def test_a_sendgrid_recipient_stays_one_whatever_the_name(
    outgoing, sendgrid_settings, fake_sendgrid, case, name
):
    letter = outgoing(settings=sendgrid_settings).model_copy(update={"to_name": name})
    deliver(letter, sendgrid_settings)
    ((to,),) = [p["to"] for p in fake_sendgrid.calls[0].body["personalizations"]]
    assert to["email"] == case.resident_email
    assert "\n" not in to["name"] and "\r" not in to["name"]
    # SendGrid builds the header as `name <email>`, taking the name as it is
    assert _recipients(f"{to['name']} <{to['email']}>") == [case.resident_email]


def test_a_plain_name_goes_to_sendgrid_unquoted_and_a_long_one_is_cut(
    outgoing, sendgrid_settings, fake_sendgrid
):
    for name in ("Ann O'Brien-Example", "B" * 500):
        deliver(
            outgoing(settings=sendgrid_settings).model_copy(update={"to_name": name}),
            sendgrid_settings,
        )
    names = [c.body["personalizations"][0]["to"][0]["name"] for c in fake_sendgrid.calls]
    assert names[0] == "Ann O'Brien-Example"
    assert len(names[1]) == 200 and names[1].endswith("…")
