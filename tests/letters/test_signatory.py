"""Responses are signed by the named person who wrote them, with their team (issue 12, part 4):
the investigator at stage 1, the reviewer at stage 2, the officer who replied to an enquiry. A
letter whose signatory cannot be found is signed by the team, and is still sent."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from temporalio.testing import ActivityEnvironment

from activities.letters import LetterActivities
from domain.letters import STAFF_LETTERS, Delivery, LetterKind
from letters.render import RenderedLetter, render_letter
from records.schema import StaffAccount
from records.store import RecordsStore

LANDLORD = "West Kent Housing Association"
RESOLUTION = "Customer Resolution Team"
SERVICES = "Customer Services Team"
STAFF = {"sam.patel": "Sam Patel", "jo.officer": "Jo Officer"}
RESPONSES = [LetterKind.stage1_response, LetterKind.stage2_response, LetterKind.enquiry_reply]


def lookup(asked: list[str] | None = None) -> Callable[[str], str | None]:
    def staff_name(staff_id: str) -> str | None:
        if asked is not None:
            asked.append(staff_id)
        return STAFF.get(staff_id)

    return staff_name


@pytest.fixture
def render(make_request, settings, case):
    def _render(
        kind: LetterKind,
        delivery: Delivery = Delivery.email,
        staff_name: Callable[[str], str | None] | None = None,
        **context: Any,
    ) -> RenderedLetter:
        request = make_request(kind, delivery, **context)
        return render_letter(request, settings, now=case.now, staff_name=staff_name)

    return _render


def signature(letter: RenderedLetter) -> tuple[str, str]:
    """The lines under "Yours sincerely," as the resident reads them in the HTML letter and in its
    plain text, one line each."""
    block = re.search(r'<div class="sign-off">(.*?)</div>', letter.html, re.S)
    assert block is not None
    shown = html.unescape(re.sub(r"<br>", "\n", block.group(1)))
    shown = re.sub(r"<[^>]+>", "", shown)
    in_html = "\n".join(line.strip() for line in shown.splitlines() if line.strip())
    text = letter.text.split("Yours sincerely,\n\n", 1)[1]
    in_text = text.split("\n\n", 1)[0]  # up to the next paragraph
    assert in_html.startswith("Yours sincerely,\n")
    return in_html.removeprefix("Yours sincerely,\n"), in_text


# ----------------------------------------------------------------------------- rendering


@pytest.mark.parametrize("delivery", list(Delivery), ids=str)
def test_stage1_response_is_signed_by_the_investigator_and_their_team(render, delivery):
    letter = render(LetterKind.stage1_response, delivery, owner_name="Priya Shah")
    expected = f"Priya Shah\nComplaints Investigator, {RESOLUTION}\n{LANDLORD}"
    assert signature(letter) == (expected, expected)


@pytest.mark.parametrize("delivery", list(Delivery), ids=str)
def test_stage2_response_is_signed_by_the_reviewer_and_their_team(render, delivery):
    letter = render(LetterKind.stage2_response, delivery, owner_name="Tom Reid")
    expected = f"Tom Reid\nComplaints Reviewer, {RESOLUTION}\n{LANDLORD}"
    assert signature(letter) == (expected, expected)


@pytest.mark.parametrize("delivery", list(Delivery), ids=str)
def test_enquiry_reply_is_signed_by_the_officer_who_replied(render, delivery):
    letter = render(LetterKind.enquiry_reply, delivery, staff_name=lookup(), signed_by="sam.patel")
    expected = f"Sam Patel\n{SERVICES}\n{LANDLORD}"
    assert signature(letter) == (expected, expected)


@pytest.mark.parametrize(
    ("kind", "capacity"),
    [
        (LetterKind.stage1_response, f"Complaints Investigator, {RESOLUTION}"),
        (LetterKind.stage2_response, f"Complaints Reviewer, {RESOLUTION}"),
    ],
    ids=str,
)
def test_a_response_with_no_named_owner_is_signed_by_the_officer_who_sent_it(
    render, kind, capacity
):
    letter = render(kind, owner_name=None, staff_name=lookup(), signed_by="jo.officer")
    assert signature(letter)[1] == f"Jo Officer\n{capacity}\n{LANDLORD}"


def test_the_named_owner_signs_before_the_officer_who_sent_it(render):
    asked: list[str] = []
    letter = render(
        LetterKind.stage1_response,
        owner_name="Priya Shah",
        staff_name=lookup(asked),
        signed_by="jo.officer",
    )
    assert signature(letter)[1].startswith("Priya Shah\n")
    assert "Jo Officer" not in letter.text
    assert asked == []  # nobody looked up


@pytest.mark.parametrize("kind", RESPONSES, ids=str)
@pytest.mark.parametrize(
    ("signed_by", "staff_name"),
    [("kim.gone", lookup()), ("jo.officer", None), (None, lookup())],
    ids=["no-such-account", "no-lookup", "nobody"],
)
def test_a_signatory_that_cannot_be_found_leaves_the_team_to_sign(
    render, kind, signed_by, staff_name
):
    letter = render(kind, owner_name=None, staff_name=staff_name, signed_by=signed_by)
    team = SERVICES if kind is LetterKind.enquiry_reply else RESOLUTION
    assert signature(letter) == (f"{team}\n{LANDLORD}", f"{team}\n{LANDLORD}")
    assert "Complaints Investigator" not in letter.text
    assert "Complaints Reviewer" not in letter.text


def test_a_name_is_escaped_and_kept_on_one_line(render):
    letter = render(
        LetterKind.enquiry_reply,
        staff_name=lambda _: "<b>Sam</b>\nPatel",
        signed_by="sam.patel",
    )
    assert "<b>Sam</b>" not in letter.html
    assert "&lt;b&gt;Sam&lt;/b&gt; Patel" in letter.html
    assert signature(letter)[1] == f"<b>Sam</b> Patel\n{SERVICES}\n{LANDLORD}"


@pytest.mark.parametrize("kind", sorted(STAFF_LETTERS), ids=str)
def test_staff_notices_are_not_signed_by_a_person(render, kind):
    asked: list[str] = []
    letter = render(kind, staff_name=lookup(asked), signed_by="sam.patel", owner_name="Sam Patel")
    assert "sign-off" not in letter.html
    assert asked == []


# ----------------------------------------------------------------------------- the activity


@pytest.fixture
def store(tmp_path: Path) -> Iterator[RecordsStore]:
    store = RecordsStore(f"sqlite:///{tmp_path / 'records.db'}")
    store.migrate()
    now = datetime(2026, 12, 1, tzinfo=UTC)
    with store.writing() as session, session.begin():
        session.add(
            StaffAccount(
                id="sam.patel",
                name="Sam Patel",
                email="sam.patel@wkha.example",
                role="case_officer",
                password_hash="-",
                active=False,  # a name signs what they sent, even once they have left
                created_at=now,
                updated_at=now,
            )
        )
    yield store
    store.dispose()


@pytest.mark.parametrize(
    ("signed_by", "signed"),
    [
        ("sam.patel", f"Yours sincerely, Sam Patel {SERVICES} {LANDLORD}"),
        ("kim.gone", f"Yours sincerely, {SERVICES} {LANDLORD}"),
    ],
    ids=["account", "no-account"],
)
def test_the_letters_activity_signs_with_the_name_on_the_account(
    make_request, settings, store, signed_by, signed
):
    request = make_request(LetterKind.enquiry_reply, key="reply:1", signed_by=signed_by)
    receipt = ActivityEnvironment().run(LetterActivities(settings, store).send_letter, request)
    assert not receipt.already_sent
    row = store.get_letter(request.reference, "reply:1")
    assert row is not None and row.sent
    shown = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", row.body_html or "")).split())
    assert signed in shown
