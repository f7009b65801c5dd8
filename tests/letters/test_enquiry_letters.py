"""Enquiry letters keep the promises the customer service standards make: a reference and a reply
date, which team has it and what happens next, and a way to complain."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest

from domain.letters import LETTER_MODELS, Delivery, LetterKind, LetterRequest
from letters.render import (
    LetterDataError,
    RenderedLetter,
    render_letter,
    team_words,
)

ENQUIRY = "ENQ-AB12-CD34"
DUE = datetime(2026, 12, 2, 17, 15, tzinfo=UTC)
DUE_TEXT = "Wednesday 2 December 2026"
MESSAGE = "Your rent account is now up to date.\n\nThe missing payment of 3 November has arrived."
TEAM = "Income team"
NEXT_STEPS = "A surveyor will visit to look at the damp in your bathroom."
REASONS = "We are waiting for our bank to confirm the payments you made."

ENQUIRY_KINDS = [k for k in LetterKind if k.value.startswith("enquiry_")]

# Each kind's context as the enquiry workflow fills it: no stage, points or outcome sought.
FIELDS: dict[LetterKind, dict[str, Any]] = {
    LetterKind.enquiry_received: {"due": DUE},
    LetterKind.enquiry_routed: {
        "team": "Customer resolution team",
        "due": DUE,
        "addressed_to": "our Chief Executive",
    },
    LetterKind.enquiry_reply: {"message": MESSAGE},
    LetterKind.enquiry_holding_reply: {"due": DUE, "reasons": REASONS},
    LetterKind.enquiry_passed_to_team: {"team": TEAM, "next_steps": NEXT_STEPS, "due": DUE},
    LetterKind.enquiry_update: {"message": MESSAGE, "team": TEAM, "due": DUE},
    LetterKind.enquiry_service_request: {"message": MESSAGE, "due": DUE},
}

SUBJECTS = {
    LetterKind.enquiry_received: "We have received your email",
    LetterKind.enquiry_routed: "Your message to our Chief Executive",
    LetterKind.enquiry_reply: "Our reply to your enquiry",
    LetterKind.enquiry_holding_reply: "We need a little longer to reply",
    LetterKind.enquiry_passed_to_team: "We have passed your enquiry to our Income team",
    LetterKind.enquiry_update: "An update on your enquiry",
    LetterKind.enquiry_service_request: "We have logged your service request",
}


def enquiry_request(
    make_request, kind: LetterKind, delivery: Delivery = Delivery.email, **overrides: Any
) -> LetterRequest:
    fields = {"stage": None, "points": [], "outcome_sought": None} | FIELDS[kind] | overrides
    request = make_request(kind, delivery, **fields)
    context = request.context.model_copy(update={"reference": ENQUIRY})
    return request.model_copy(update={"reference": ENQUIRY, "context": context})


@pytest.fixture
def render(make_request, settings, case):
    def _render(
        kind: LetterKind, delivery: Delivery = Delivery.email, **overrides: Any
    ) -> RenderedLetter:
        request = enquiry_request(make_request, kind, delivery, **overrides)
        return render_letter(request, settings, now=case.now)

    return _render


def squash(text: str) -> str:
    return " ".join(text.split())


def both(letter: RenderedLetter) -> tuple[str, str]:
    """HTML without its tags, and the plain text, whitespace-insensitive."""
    return squash(re.sub(r"<[^>]+>", " ", letter.html)), squash(letter.text)


# ----------------------------------------------------------------------------- every kind


def test_the_seven_enquiry_kinds_are_covered():
    assert set(ENQUIRY_KINDS) == set(FIELDS) == set(SUBJECTS)
    assert len(ENQUIRY_KINDS) == 7
    assert set(LETTER_MODELS) == set(LetterKind)


@pytest.mark.parametrize("kind", ENQUIRY_KINDS, ids=str)
@pytest.mark.parametrize("delivery", list(Delivery), ids=str)
def test_enquiry_letter_quotes_the_reference_and_reads_as_an_enquiry(
    render, kind, delivery, settings, case
):
    letter = render(kind, delivery)
    assert letter.subject == f"{SUBJECTS[kind]} – reference {ENQUIRY}"
    for part in both(letter):
        assert f"Our reference: {ENQUIRY}" in part
        assert f"Please quote your reference {ENQUIRY}" in part
        assert f"Dear {case.resident_name}," in part
        assert "Yours sincerely," in part
        assert settings.landlord.phone in part
        assert "None" not in part
        assert "stage" not in part.lower()  # not a complaint
        assert "Ombudsman" not in part
    assert "<" not in letter.text


@pytest.mark.parametrize("kind", [k for k in ENQUIRY_KINDS if "due" in FIELDS[k]], ids=str)
def test_the_promised_date_is_given_in_long_form(render, kind):
    for part in both(render(kind)):
        assert DUE_TEXT in part
        assert "2026-12-02" not in part


@pytest.mark.parametrize(
    "kind",
    [LetterKind.enquiry_reply, LetterKind.enquiry_update, LetterKind.enquiry_service_request],
    ids=str,
)
def test_the_message_staff_wrote_is_shown_as_paragraphs(render, kind):
    letter = render(kind)
    assert "<p>Your rent account is now up to date.</p>" in letter.html
    assert "<p>The missing payment of 3 November has arrived.</p>" in letter.html
    assert (
        "Your rent account is now up to date.\n\nThe missing payment of 3 November has arrived."
        in letter.text
    )


# ----------------------------------------------------------------------------- each kind


def test_received_confirms_the_email_and_when_we_will_reply(render):
    for part in both(render(LetterKind.enquiry_received)):
        assert "We have received your email" in part
        assert f"Your reference is {ENQUIRY}" in part
        assert f"We aim to reply by the end of the working day on {DUE_TEXT}." in part
        assert "If it will take us longer than this, we will tell you" in part
        assert "estimated date" in part


def test_received_by_post_does_not_ask_for_a_reply_to_an_email(render):
    _, text = both(render(LetterKind.enquiry_received, Delivery.post))
    assert "reply to this email" not in text
    assert "call us on 01732 749400" in text


def test_routed_says_who_it_was_for_and_which_team_will_reply(render):
    for part in both(render(LetterKind.enquiry_routed)):
        assert "Thank you for your message to our Chief Executive." in part
        assert "we have passed it to our Customer resolution team" in part
        assert f"We aim to reply by {DUE_TEXT}." in part


def test_routed_without_an_addressee_still_reads_well(render):
    letter = render(LetterKind.enquiry_routed, addressed_to=None)
    assert letter.subject == (
        f"We have passed your message to our Customer resolution team – reference {ENQUIRY}"
    )
    _, text = both(letter)
    assert "Thank you for your message." in text


def test_reply_says_how_to_contact_us_and_that_they_can_complain(render, settings):
    _, text = both(render(LetterKind.enquiry_reply))
    assert f"email {settings.landlord.email}" in text
    assert f"phone {settings.landlord.phone}" in text
    assert "If you are unhappy with our service, you can make a complaint at any time." in text


def test_holding_reply_gives_the_reasons_and_the_estimated_date(render):
    for part in both(render(LetterKind.enquiry_holding_reply)):
        assert "we need a little longer" in part
        assert REASONS in part
        assert f"We expect to reply by {DUE_TEXT}." in part


def test_passed_to_team_names_the_team_next_steps_and_date(render):
    for part in both(render(LetterKind.enquiry_passed_to_team)):
        assert "we have passed your enquiry to them" in part
        assert "our Income team" in part
        assert "Income team team" not in part
        assert NEXT_STEPS in part
        assert f"Our Income team will get back to you by {DUE_TEXT}." in part
        assert "fixed the issue, or that they are still looking into it" in part


def test_passed_to_team_asks_how_they_would_like_to_be_updated(render):
    _, text = both(render(LetterKind.enquiry_passed_to_team))
    assert "How would you like us to update you?" in text
    assert "- by phone - by email - by letter" in text
    asked = f"Reply to this email, or call us on 01732 749400, quoting your reference {ENQUIRY}"
    assert asked in text
    _, posted = both(render(LetterKind.enquiry_passed_to_team, Delivery.post))
    assert "Reply to this email" not in posted
    assert "Call us on 01732 749400 or email help@wkha.org.uk" in posted


def test_passed_to_team_adds_team_to_a_bare_team_name(render):
    letter = render(LetterKind.enquiry_passed_to_team, team="Repairs")
    assert letter.subject.startswith("We have passed your enquiry to our Repairs team – ")
    _, text = both(letter)
    assert "We have passed your enquiry to our Repairs team" in text


def test_update_names_the_team_and_the_next_update(render):
    for part in both(render(LetterKind.enquiry_update)):
        assert "Our Income team is looking into your enquiry" in part
        assert f"We will update you again by {DUE_TEXT}." in part


def test_update_without_team_or_date_leaves_them_out(render):
    _, text = both(render(LetterKind.enquiry_update, team=None, due=None))
    assert "We want to let you know how your enquiry is going." in text
    assert "update you again" not in text
    assert "team is looking" not in text


def test_service_request_gives_what_we_will_do_the_target_and_complaint_route(render):
    for part in both(render(LetterKind.enquiry_service_request)):
        assert "We have logged your service request" in part
        assert f"We aim to do this by {DUE_TEXT}." in part
        assert "you can make a complaint at any time" in part


# ----------------------------------------------------------------------------- safety


@pytest.mark.parametrize(
    ("kind", "field"),
    [(kind, field) for kind in ENQUIRY_KINDS for field in LETTER_MODELS[kind].model_fields],
    ids=str,
)
def test_a_letter_missing_what_it_needs_is_not_made(render, case, kind, field):
    with pytest.raises(LetterDataError, match=field) as caught:
        render(kind, **{field: None})
    assert ENQUIRY in str(caught.value)
    assert case.resident_name not in str(caught.value)


def test_what_each_enquiry_letter_needs():
    assert set(LETTER_MODELS[LetterKind.enquiry_received].model_fields) == {"due"}
    assert set(LETTER_MODELS[LetterKind.enquiry_routed].model_fields) == {"team", "due"}
    assert set(LETTER_MODELS[LetterKind.enquiry_reply].model_fields) == {"message"}
    assert set(LETTER_MODELS[LetterKind.enquiry_holding_reply].model_fields) == {"due", "reasons"}
    assert set(LETTER_MODELS[LetterKind.enquiry_passed_to_team].model_fields) == {
        "team",
        "next_steps",
        "due",
    }
    assert set(LETTER_MODELS[LetterKind.enquiry_update].model_fields) == {"message"}
    assert set(LETTER_MODELS[LetterKind.enquiry_service_request].model_fields) == {"message", "due"}


def test_an_empty_message_is_missing(render):
    with pytest.raises(LetterDataError, match="message"):
        render(LetterKind.enquiry_reply, message="")


def test_markup_in_the_message_and_team_is_escaped(render):
    attack = '<script>alert("x")</script> & <b>bold</b>'
    letter = render(LetterKind.enquiry_update, message=attack, team="<i>Repairs</i>")
    assert "<script>" not in letter.html
    assert "<b>bold</b>" not in letter.html
    assert "<i>Repairs</i>" not in letter.html
    assert "&lt;script&gt;" in letter.html
    assert attack in letter.text


def test_team_words():
    assert team_words("Repairs") == "Repairs team"
    assert team_words("Repairs team") == "Repairs team"
    assert team_words("Customer Resolution Team") == "Customer Resolution Team"
    assert team_words("  Income\n") == "Income team"


@pytest.mark.parametrize("kind", ENQUIRY_KINDS)
def test_signed_by_customer_services_unless_routed_to_the_resolution_team(render, kind):
    sign_off = squash(render(kind).text).split("Yours sincerely,")[1]
    team = "Customer Resolution Team" if kind is LetterKind.enquiry_routed else "Customer Services"
    assert sign_off.strip().startswith(team)
