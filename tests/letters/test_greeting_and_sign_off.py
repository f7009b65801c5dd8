"""One greeting and one sign-off in every letter: the letter's own "Dear …" and "Yours sincerely",
never a second pair from text staff typed as if it were an email (issue 12, part 4)."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest

from domain.letters import STAFF_LETTERS, Delivery, LetterKind, PointDecision
from letters.render import RenderedLetter, render_letter, strip_greeting_and_sign_off
from tests.letters.conftest import context_for

RESIDENT_KINDS = [k for k in LetterKind if k not in STAFF_LETTERS]
# The kinds that show text staff typed (a reply, a summary, reasons, an explanation, an apology, or
# the resident's words as staff recorded them).
SHOWS_TYPED_TEXT = {
    LetterKind.contact_restriction,
    LetterKind.enquiry_reply,
    LetterKind.enquiry_update,
    LetterKind.enquiry_service_request,
    LetterKind.enquiry_holding_reply,
    LetterKind.enquiry_passed_to_team,
    LetterKind.stage1_acknowledgement,
    LetterKind.stage2_acknowledgement,
    LetterKind.stage1_response,
    LetterKind.stage2_response,
    LetterKind.extension,
    LetterKind.exceptional_extension,
    LetterKind.refusal,
    LetterKind.service_request,
    LetterKind.withdrawal,
}

# What the resident would see as a greeting or a sign-off, wherever it came from.
GREETING = re.compile(r"\b(?:Dear|Hello|Hi|Good morning)\b")
SIGN_OFF = re.compile(
    r"\b(?:Yours sincerely|Yours faithfully|Kind regards|Best wishes|Many thanks,|Thanks,)"
)

# As an officer might type a reply: their own greeting, and their own sign-off and signature.
TYPED_GREETING = "Dear Ms Quigley-Adebayo,"
TYPED_SIGN_OFF = "Kind regards,\nSam Patel\nCustomer Services Officer\nWest Kent Housing"


def typed(text: str) -> str:
    return f"{TYPED_GREETING}\n\n{text}\n\n{TYPED_SIGN_OFF}"


def with_typed_letters(kind: LetterKind) -> tuple[dict[str, Any], list[str]]:
    """Overrides for every free-text field `kind`'s context fills, each typed with a greeting and a
    sign-off of its own; and the texts themselves, which must still be in the letter."""
    context = context_for(kind)
    overrides: dict[str, Any] = {}
    kept: list[str] = []
    for field in ("message", "reasons", "next_steps", "explanation", "outcome_sought"):
        value = getattr(context, field)
        if value:
            overrides[field] = typed(value)
            kept.append(value)
    if context.decisions:
        overrides["decisions"] = [
            PointDecision(point=d.point, decision=d.decision, reasons=typed(d.reasons))
            for d in context.decisions
        ]
        kept += [d.reasons for d in context.decisions]
    if context.remedies and context.remedies.apology:
        apology = context.remedies.apology
        overrides["remedies"] = context.remedies.model_copy(update={"apology": typed(apology)})
        kept.append(apology)
    return overrides, kept


def visible(letter: RenderedLetter) -> tuple[str, str]:
    """What the resident reads: the HTML letter's text (no tags, no <head>), and the plain text."""
    body = html.unescape(re.sub(r"<[^>]+>", " ", letter.html.split("<body>", 1)[1]))
    return " ".join(body.split()), " ".join(letter.text.split())


@pytest.fixture
def render(make_request, settings, case):
    def _render(kind: LetterKind, delivery: Delivery = Delivery.email, **context: Any):
        return render_letter(make_request(kind, delivery, **context), settings, now=case.now)

    return _render


# ----------------------------------------------------------------------------- every kind


@pytest.mark.parametrize("kind", RESIDENT_KINDS, ids=str)
@pytest.mark.parametrize("delivery", list(Delivery), ids=str)
def test_one_greeting_and_one_sign_off_even_when_staff_typed_their_own(
    render, case, kind, delivery
):
    overrides, written = with_typed_letters(kind)
    _, plain = visible(render(kind, delivery))
    kept = [t for t in written if " ".join(t.split()) in plain]  # the fields this kind shows
    assert bool(kept) == (kind in SHOWS_TYPED_TEXT)
    letter = render(kind, delivery, **overrides)
    for part in visible(letter):
        assert GREETING.findall(part) == ["Dear"], part
        assert part.count(f"Dear {case.resident_name},") == 1
        assert SIGN_OFF.findall(part) == ["Yours sincerely"], part
        assert "Sam Patel" not in part and "Customer Services Officer" not in part
        assert "Quigley-Adebayo, Dear" not in part
        for text in kept:  # what they wrote is all still there
            assert " ".join(text.split()) in part
    # the greeting opens the letter and the sign-off closes it
    _, text = visible(letter)
    greeting, sign_off = text.index("Dear"), text.index("Yours sincerely,")
    assert greeting < text.index(letter.subject.split(" – ")[0])
    for written in kept:
        assert greeting < text.index(" ".join(written.split())) < sign_off


@pytest.mark.parametrize("kind", RESIDENT_KINDS, ids=str)
def test_one_greeting_and_one_sign_off_as_the_letters_are_made(render, kind):
    for part in visible(render(kind)):
        assert GREETING.findall(part) == ["Dear"]
        assert SIGN_OFF.findall(part) == ["Yours sincerely"]


@pytest.mark.parametrize("kind", sorted(STAFF_LETTERS), ids=str)
def test_staff_notices_have_neither(render, kind):
    for part in visible(render(kind)):
        assert GREETING.findall(part) == []
        assert SIGN_OFF.findall(part) == []


def test_an_enquiry_reply_typed_as_an_email_reads_as_one_letter(render, case):
    message = (
        "Hello Eleanor,\n\nYour rent account is now up to date.\n\n"
        "We have refunded the £20 charge.\n\nMany thanks,\nSam"
    )
    letter = render(LetterKind.enquiry_reply, message=message)
    text = letter.text
    assert text.count("Eleanor") == 1  # only in "Dear Eleanor Quigley-Adebayo,"
    assert "Thank you for contacting us.\n\nYour rent account is now up to date." in text
    assert "We have refunded the £20 charge.\n\nIf you have any questions" in text
    assert "Many thanks" not in text and "\nSam\n" not in text
    assert "<p>Your rent account is now up to date.</p>" in letter.html


# ----------------------------------------------------------------------------- the function


@pytest.mark.parametrize(
    ("typed_text", "kept"),
    [
        # a greeting on its own line
        ("Dear Ms Quigley-Adebayo,\n\nYour rent is paid.", "Your rent is paid."),
        ("Dear Mr. and Mrs. Smith,\nYour rent is paid.", "Your rent is paid."),
        ("Hello, Eleanor\n\nYour rent is paid.", "Your rent is paid."),
        ("Hi Eleanor!\n\nYour rent is paid.", "Your rent is paid."),
        ("good afternoon\n\nYour rent is paid.", "Your rent is paid."),
        ("\r\n  Dear Eleanor,\r\n\r\nYour rent is paid.\r\n", "Your rent is paid."),
        # a greeting that opens the first sentence
        ("Dear Eleanor, your rent is paid.", "Your rent is paid."),
        (
            "Hi there! Thanks for your email. Your rent is paid.",
            "Thanks for your email. Your rent is paid.",
        ),
        # a sign-off, with or without a signature under it
        ("Your rent is paid.\n\nYours sincerely,\nSam Patel", "Your rent is paid."),
        ("Your rent is paid.\nKind regards", "Your rent is paid."),
        ("Your rent is paid.\n\nKind regards, Sam Patel", "Your rent is paid."),
        (
            "Your rent is paid.\n\nBest wishes\n\nSam Patel\nIncome Officer\nIncome team\n"
            "West Kent Housing\n01732 749400",
            "Your rent is paid.",
        ),
        ("Your rent is paid.\n\nThanks,\nSam", "Your rent is paid."),
        ("Your rent is paid.\n\nMany thanks\nSam", "Your rent is paid."),
        ("Your rent is paid.\nRegards.", "Your rent is paid."),
        # both
        (
            "Dear Eleanor,\n\nYour rent is paid.\n\nThe refund follows.\n\nYours sincerely,\nSam",
            "Your rent is paid.\n\nThe refund follows.",
        ),
        # nothing to take away
        ("Your rent is paid.", "Your rent is paid."),
        ("Your rent is paid. Thank you.", "Your rent is paid. Thank you."),
        ("Your rent is paid.\n\nThank you", "Your rent is paid.\n\nThank you"),
        ("Thank you for your patience.", "Thank you for your patience."),
        ("Highways will visit on Monday.", "Highways will visit on Monday."),
        ("Hello. The caretaker said this to you.", "Hello. The caretaker said this to you."),
        ("Dearne Court's lift is fixed.", "Dearne Court's lift is fixed."),
        (
            "We wish you the best.\n\nThe repair is booked.",
            "We wish you the best.\n\nThe repair is booked.",
        ),
        # a sign-off word in the middle, with a long paragraph after it, is the letter's text
        (
            "Kind regards\n\n"
            + "The surveyor found damp behind the bath panel and will return. " * 3,
            "Kind regards\n\n"
            + ("The surveyor found damp behind the bath panel and will return. " * 3).strip(),
        ),
    ],
)
def test_strip_greeting_and_sign_off(typed_text, kept):
    assert strip_greeting_and_sign_off(typed_text) == kept


def test_a_text_of_nothing_but_a_greeting_and_sign_off_leaves_nothing():
    assert strip_greeting_and_sign_off("Dear Eleanor,\n\nKind regards,\nSam") == ""
