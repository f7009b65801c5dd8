"""Each kind of letter has its own title, as its heading and in its subject line, so a resident can
tell one letter from another in their inbox and on their case page (issue 12, part 4: the receipt
and the stage 1 acknowledgement both read "We have received your complaint")."""

from __future__ import annotations

import html
import re
from itertools import combinations

import pytest

from domain.letters import Delivery, LetterKind
from letters.render import RenderedLetter, render_letter, title_for
from tests.letters.conftest import REFERENCE, context_for


@pytest.fixture
def letters(make_request, settings, case) -> dict[LetterKind, RenderedLetter]:
    return {kind: render_letter(make_request(kind), settings, now=case.now) for kind in LetterKind}


def heading(letter: RenderedLetter) -> str:
    (h1,) = re.findall(r"<h1>(.*?)</h1>", letter.html, re.S)
    return html.unescape(" ".join(h1.split()))


def test_every_kind_has_a_title_different_from_every_others(letters):
    titles = {kind: title_for(kind, context_for(kind)) for kind in LetterKind}
    same = [
        (a.value, b.value)
        for a, b in combinations(LetterKind, 2)
        if titles[a].casefold() == titles[b].casefold()
    ]
    assert same == []
    # and so does every letter the resident or staff receive: its heading and its subject
    headings = [heading(letter) for letter in letters.values()]
    assert len(set(headings)) == len(LetterKind)
    subjects = [letter.subject for letter in letters.values()]
    assert len(set(subjects)) == len(LetterKind)


@pytest.mark.parametrize("kind", list(LetterKind), ids=str)
@pytest.mark.parametrize("delivery", list(Delivery), ids=str)
def test_the_heading_is_the_subject_without_the_reference(
    make_request, settings, case, kind, delivery
):
    letter = render_letter(make_request(kind, delivery), settings, now=case.now)
    title = title_for(kind, context_for(kind))
    assert heading(letter) == title
    assert letter.subject.startswith(f"{title} – ")
    assert letter.subject.endswith(REFERENCE)
    underlined = f"{title}\n{'=' * len(title)}\n"  # the plain text's heading
    assert underlined in letter.text


def test_the_receipt_and_the_acknowledgement_read_differently(letters):
    receipt = letters[LetterKind.complaint_received]
    acknowledgement = letters[LetterKind.stage1_acknowledgement]
    assert heading(receipt) == "We have received your complaint"
    assert heading(acknowledgement) == "We are looking into your complaint"
    assert receipt.subject != acknowledgement.subject
    assert "We have received your complaint" not in acknowledgement.text
    stage2 = letters[LetterKind.stage2_acknowledgement]
    assert heading(stage2) == "We are reviewing your complaint at stage 2"


def test_enquiry_titles_differ_whatever_the_team():
    """The two letters that name a team (routed to it, passed to it) differ even for one team."""
    team = "Customer resolution team"
    routed = context_for(LetterKind.enquiry_routed, team=team, addressed_to=None)
    passed = context_for(LetterKind.enquiry_passed_to_team, team=team)
    assert title_for(LetterKind.enquiry_routed, routed) != title_for(
        LetterKind.enquiry_passed_to_team, passed
    )


def test_a_title_is_one_line_and_escaped(make_request, settings, case):
    letter = render_letter(
        make_request(LetterKind.enquiry_passed_to_team, team="<b>Repairs</b>\r\nBcc: x"),
        settings,
        now=case.now,
    )
    assert "<b>Repairs" not in letter.html
    assert "\n" not in letter.subject and "\r" not in letter.subject
    assert heading(letter) == "We have passed your enquiry to our <b>Repairs</b> Bcc: x team"
