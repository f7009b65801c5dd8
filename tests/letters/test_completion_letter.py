"""The letter that tells the resident every action their response promised is done, and the stage 2
response's wording when its offer of compensation replaces or adds to stage 1's."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest

from domain.letters import CompletedAction, Delivery, LetterKind, Remedies, RemedyAction
from domain.remedies import CompensationBasis
from letters.render import LetterDataError, RenderedLetter, render_letter

ACTIONS = [
    ("Repair the leak and replaster the kitchen ceiling", date(2027, 1, 12)),
    ("Check the loft above the kitchen for further leaks", date(2027, 1, 14)),
    ("Refund the cost of the replacement kitchen blind", date(2027, 2, 1)),
]
DONE_ON = ["Tuesday 12 January 2027", "Thursday 14 January 2027", "Monday 1 February 2027"]


def squash(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture
def render(make_request, settings, case):
    def _render(kind: LetterKind, delivery: Delivery = Delivery.email, **context) -> RenderedLetter:
        return render_letter(make_request(kind, delivery, **context), settings, now=case.now)

    return _render


@pytest.fixture
def completed():
    return [CompletedAction(action=action, done_on=day) for action, day in ACTIONS]


# ----------------------------------------------------------------------------- completion letter


@pytest.mark.parametrize("delivery", list(Delivery), ids=str)
def test_completion_letter_lists_each_action_with_the_day_it_was_done(render, completed, delivery):
    letter = render(LetterKind.actions_completed, delivery, completed_actions=completed)
    assert letter.subject.startswith("We have done what we promised")
    # the plain text: one bullet an action, the day it was done under it
    for (action, _), day in zip(ACTIONS, DONE_ON, strict=True):
        assert f"- {action}\n  Done on {day}\n" in letter.text
    # the HTML: the same, each in its own list item
    items = [
        squash(item)
        for item in re.findall(r"<li>(.*?)</li>", letter.html, re.S)
        if "Done on" in item
    ]
    assert items == [
        f"{action}<br>Done on {day}" for (action, _), day in zip(ACTIONS, DONE_ON, strict=True)
    ]
    assert "We have done what we promised" in squash(letter.html)


def test_completion_letter_says_how_to_tell_us_and_gives_the_ombudsman(render, settings, case):
    text = squash(render(LetterKind.actions_completed).text)
    assert "Everything we promised has now been done." in text
    assert "please tell us" in text
    assert f"quoting your reference {case.reference}" in text
    assert f"email {settings.landlord.email}" in text
    assert f"phone {settings.landlord.phone}" in text
    assert "Housing Ombudsman Service, PO Box 1484, Unit D, Preston, PR2 0ET" in text
    assert "Telephone: 0300 111 3000" in text
    assert "Email: info@housing-ombudsman.org.uk" in text
    assert f"Dear {case.resident_name}," in text


def test_completion_letter_escapes_what_staff_typed(render):
    attack = '<img src=x onerror="alert(1)"> & done'
    letter = render(
        LetterKind.actions_completed,
        completed_actions=[CompletedAction(action=attack, done_on=date(2027, 1, 12))],
    )
    assert "<img" not in letter.html
    assert "&lt;img src=x" in letter.html
    assert f"- {attack}\n" in letter.text


def test_completion_letter_without_actions_is_not_made(render, case):
    with pytest.raises(LetterDataError, match="completed_actions"):
        render(LetterKind.actions_completed, completed_actions=[])


# ----------------------------------------------------------------------------- stage 2 compensation


def _offer(amount: str, basis: CompensationBasis | None = None) -> Remedies:
    return Remedies(
        actions=[
            RemedyAction(action="Replaster the ceiling", owner="Repairs Team", due=date(2027, 3, 1))
        ],
        compensation=Decimal(amount),
        compensation_basis=basis,
    )


def _compensation_section(letter: RenderedLetter) -> str:
    text = squash(letter.text)
    return text[text.index("Compensation") : text.index("What you can do now")]


def test_stage2_offer_that_replaces_stage_1s_gives_the_new_total(render):
    letter = render(
        LetterKind.stage2_response,
        remedies=_offer("150", CompensationBasis.replaces),
        earlier_compensation=Decimal("100"),
    )
    section = _compensation_section(letter)
    assert section == (
        "Compensation We are offering you compensation of £150.00. This replaces the £100.00 we "
        "offered in our stage 1 response, so our offer is now £150.00 in all. "
    )
    assert "in addition" not in letter.text
    assert "£250.00" not in letter.text


def test_stage2_offer_in_addition_to_stage_1s_gives_the_sum(render):
    letter = render(
        LetterKind.stage2_response,
        remedies=_offer("150", CompensationBasis.adds),
        earlier_compensation=Decimal("100"),
    )
    section = _compensation_section(letter)
    assert section == (
        "Compensation We are offering you compensation of £150.00. This is in addition to the "
        "£100.00 we offered in our stage 1 response, so we are offering £250.00 in all. "
    )
    assert "This replaces" not in letter.text
    assert "<strong>£250.00</strong> in all" in letter.html


def test_stage2_addition_totals_pence_and_thousands(render):
    letter = render(
        LetterKind.stage2_response,
        remedies=_offer("1234.50", CompensationBasis.adds),
        earlier_compensation=Decimal("75.25"),
    )
    assert "so we are offering £1,309.75 in all." in squash(letter.text)


def test_stage2_offer_when_stage_1_offered_none_reads_as_before(render):
    letter = render(LetterKind.stage2_response, remedies=_offer("150"))
    section = _compensation_section(letter)
    assert section == "Compensation We are offering you compensation of £150.00. "


def test_stage2_without_an_offer_says_nothing_about_stage_1s(render):
    remedies = Remedies(apology="We are sorry.", compensation=None)
    letter = render(
        LetterKind.stage2_response, remedies=remedies, earlier_compensation=Decimal("100")
    )
    text = squash(letter.text)
    assert "We are sorry." in text
    assert "Compensation" not in text
    assert "£100.00" not in text
    assert "in all" not in text


def test_stage1_response_with_compensation_says_neither(render):
    letter = render(LetterKind.stage1_response)  # offers £1,234.50
    html, text = squash(letter.html), squash(letter.text)
    assert "We are offering you compensation of £1,234.50." in text
    for part in (html, text):
        assert "This replaces" not in part
        assert "in addition to" not in part
        assert "in all" not in part
        assert "stage 1 response, so" not in part
