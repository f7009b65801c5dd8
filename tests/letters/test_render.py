"""Every letter keeps the promises the complaints policy makes about what residents are told."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from jinja2 import StrictUndefined

from config import Settings
from domain.letters import STAFF_LETTERS, Delivery, LetterKind
from letters.case_link import case_url
from letters.render import (
    OMBUDSMAN,
    TEMPLATES_DIR,
    LetterDataError,
    RenderedLetter,
    environment,
    html_to_text,
    london_time,
    longdate,
    money,
    render_letter,
)

RESIDENT_KINDS = [k for k in LetterKind if k not in STAFF_LETTERS]

# The Housing Ombudsman's details exactly as the complaints policy gives them.
OMBUDSMAN_LINES = [
    "Housing Ombudsman Service, PO Box 1484, Unit D, Preston, PR2 0ET",
    "Telephone: 0300 111 3000",
    "Email: info@housing-ombudsman.org.uk",
    "www.housing-ombudsman.org.uk",
]
NEEDS_OMBUDSMAN = [
    LetterKind.stage1_acknowledgement,
    LetterKind.stage2_acknowledgement,
    LetterKind.extension,
    LetterKind.exceptional_extension,
    LetterKind.stage1_response,
    LetterKind.stage2_response,
    LetterKind.refusal,
    LetterKind.case_closed,
]


@pytest.fixture
def render(make_request, settings, case):
    def _render(kind: LetterKind, delivery: Delivery = Delivery.email, **context) -> RenderedLetter:
        return render_letter(make_request(kind, delivery, **context), settings, now=case.now)

    return _render


def squash(text: str) -> str:
    """Whitespace-insensitive view of a letter, so assertions survive line wrapping."""
    return " ".join(text.split())


def both(letter: RenderedLetter) -> tuple[str, str]:
    return squash(letter.html), squash(letter.text)


# ----------------------------------------------------------------------------- every kind


def test_every_kind_has_a_template():
    missing = [k.value for k in LetterKind if not (TEMPLATES_DIR / f"{k.value}.html").is_file()]
    assert missing == []


@pytest.mark.parametrize("kind", list(LetterKind), ids=str)
@pytest.mark.parametrize("delivery", list(Delivery), ids=str)
def test_every_kind_renders_with_header_reference_and_date(render, kind, delivery, settings, case):
    letter = render(kind, delivery)
    html, text = both(letter)
    assert case.reference in letter.subject
    assert "\n" not in letter.subject
    assert letter.html.startswith("<!DOCTYPE html>")
    assert f"<title>{letter.subject}</title>" in letter.html
    for part in (html, text):
        assert settings.landlord.name in part
        assert settings.landlord.address in part
        assert settings.landlord.phone in part
        assert settings.landlord.email in part
        assert f"Our reference: {case.reference}" in re.sub(r"<[^>]+>", "", part)
        assert "Tuesday 1 December 2026" in part  # the letter's date
    assert "<" not in letter.text.replace("<script>", "")  # plain text, not markup
    assert "None" not in text


@pytest.mark.parametrize("kind", NEEDS_OMBUDSMAN, ids=str)
def test_ombudsman_details_exactly_as_the_policy_gives_them(render, kind):
    html, text = both(render(kind))
    for line in OMBUDSMAN_LINES:
        assert line in text
    assert OMBUDSMAN.address in html
    assert 'href="mailto:info@housing-ombudsman.org.uk"' in html
    assert 'href="https://www.housing-ombudsman.org.uk"' in html


def test_ombudsman_details_are_kept_in_one_place():
    assert OMBUDSMAN.name == "Housing Ombudsman Service"
    assert f"{OMBUDSMAN.name}, {OMBUDSMAN.address}" == OMBUDSMAN_LINES[0]
    for template in TEMPLATES_DIR.glob("*.html"):
        source = template.read_text()
        for detail in ("1484", "0300 111 3000", "info@housing-ombudsman", "PR2 0ET"):
            assert detail not in source, f"{template.name} repeats the Ombudsman's {detail}"


# ----------------------------------------------------------------------------- acknowledgements


@pytest.mark.parametrize(
    ("kind", "due"),
    [
        (LetterKind.stage1_acknowledgement, "Tuesday 29 December 2026"),
        (LetterKind.stage2_acknowledgement, "Tuesday 23 February 2027"),
    ],
    ids=str,
)
def test_acknowledgement_lists_points_outcome_and_response_date(render, case, kind, due):
    html, text = both(render(kind))
    for part in (html, text):
        for point in case.points:
            assert point in part
        assert case.outcome_sought in part
        assert f"by {due}" in part
        assert "at any stage" in part
    assert "1. The repair to the kitchen ceiling leak" in text  # numbered, as a list


def test_stage1_acknowledgement_names_who_is_handling_it(render, case):
    _, text = both(render(LetterKind.stage1_acknowledgement))
    assert f"{case.owner_name}, a member of our Customer Resolution Team" in text
    assert "discuss this with you first" in text


def test_acknowledgement_without_an_owner_still_reads_well(render):
    _, text = both(render(LetterKind.stage1_acknowledgement, owner_name=None))
    assert "A named member of our Customer Resolution Team is investigating" in text


def test_stage2_acknowledgement_promises_an_independent_review(render):
    _, text = both(render(LetterKind.stage2_acknowledgement))
    assert "Tom Reid, a member of our Customer Resolution Team who has not been involved" in text
    assert "independent review" in text


# ----------------------------------------------------------------------------- extensions


def test_extension_gives_reasons_new_date_and_previous_date(render):
    _, text = both(render(LetterKind.extension))
    assert "We are waiting for a report from the roofing contractor." in text
    assert "We will now respond by Tuesday 12 January 2027." in text
    assert "which was Tuesday 29 December 2026" in text
    assert "stage 1 complaint" in text
    assert "As we discussed with you" in text


def test_exceptional_extension_says_it_was_agreed_and_gives_the_agreed_date(render):
    letter = render(LetterKind.exceptional_extension)
    _, text = both(letter)
    assert "This is an exceptional extension" in text
    assert "with your agreement" in text
    assert "As agreed with you, we will respond by Friday 5 February 2027." in text
    assert "The structural survey cannot take place until late January." in text
    assert "which was Tuesday 12 January 2027" in text


# ----------------------------------------------------------------------------- responses


@pytest.mark.parametrize("kind", [LetterKind.stage1_response, LetterKind.stage2_response], ids=str)
def test_response_gives_a_decision_with_reasons_on_each_point_and_remedies(render, case, kind):
    html, text = both(render(kind))
    for point in case.points:
        assert point in text
    assert "Our decision: Upheld." in text
    assert "Our decision: Partly upheld." in text
    assert "Our decision: Not upheld." in text
    assert "Our contractor did not order the part in time." in text
    assert "Our records show we called back on 14 October and left a voicemail." in text
    # remedies: apology, actions with owner and due date, compensation
    assert "We are sorry that the leak was not fixed when we said it would be." in text
    assert "Repair the leak and replaster the kitchen ceiling" in text
    assert "Who will do this: Repairs Team" in text
    assert "By: Friday 15 January 2027" in text
    assert "compensation of £1,234.50" in text
    assert "£1,234.50" in html


def test_stage1_response_explains_how_to_escalate(render, settings):
    _, text = both(render(LetterKind.stage1_response))
    assert "Please ask by Wednesday 27 January 2027." in text
    assert "20 working days" in text
    assert "You do not need to give reasons." in text
    assert "any way that suits you" in text
    assert settings.landlord.email in text and settings.landlord.phone in text
    assert "exceptional circumstances" in text
    assert "independent review" in text


def test_stage2_response_is_final_and_the_resident_can_go_to_the_ombudsman_now(render):
    _, text = both(render(LetterKind.stage2_response))
    assert "This is our final response." in text
    assert "our complaints process is now complete" in text
    assert "you can now ask the Housing Ombudsman Service to look at your complaint" in text
    assert "Please ask by" not in text  # no stage 3


def test_response_without_remedies_leaves_the_section_out(render):
    _, text = both(render(LetterKind.stage1_response, remedies=None))
    assert "How we will put things right" not in text


def test_zero_compensation_is_not_offered(render):
    from domain.letters import Remedies

    _, text = both(render(LetterKind.stage1_response, remedies=Remedies(compensation=Decimal("0"))))
    assert "Compensation" not in text


# ----------------------------------------------------------------------------- other letters


def test_refusal_gives_the_reason_explanation_and_ombudsman(render):
    _, text = both(render(LetterKind.refusal))
    assert (
        "We cannot accept it because it was made more than 12 months after the incident, or "
        "after you became aware of it." in text
    )
    assert "The leak you describe was repaired in March 2024." in text
    assert "ask the Housing Ombudsman Service to look at our decision" in text


def test_service_request_is_not_a_complaint_and_they_can_complain(render):
    _, text = both(render(LetterKind.service_request))
    assert "logged what you told us as a service request, not a complaint" in text
    assert "A repairs operative will call you within 2 working days to book." in text
    assert "you can make a complaint at any time" in text


def test_withdrawal_confirms_and_says_they_can_come_back(render):
    _, text = both(render(LetterKind.withdrawal))
    assert "As you asked, we have withdrawn your complaint" in text
    assert "You can come back to us" in text


def test_escalation_received_promises_contact_in_3_and_acknowledgement_in_5_days(render):
    _, text = both(render(LetterKind.escalation_received))
    assert "We will contact you within 3 working days" in text
    assert "within 5 working days of receiving your request, by Wednesday 20 January 2027" in text
    assert "not been involved in your complaint before" in text


def test_new_complaint_opened_gives_the_new_reference_and_issues(render, case):
    letter = render(LetterKind.new_complaint_opened)
    _, text = both(letter)
    assert "CMP-2027-0007" in letter.subject
    assert "The reference for your new complaint is CMP-2027-0007." in text
    assert "The caretaker was rude to me on 3 January." in text
    assert f"Our stage 2 review of your original complaint, {case.reference}" in text


def test_case_closed_explains_the_window_passed_and_late_escalation(render):
    _, text = both(render(LetterKind.case_closed))
    assert "we have closed your complaint" in text
    assert "exceptional circumstances" in text
    text_with_date = squash(
        render(
            LetterKind.case_closed, escalation_deadline=datetime(2027, 1, 27, 17, 15, tzinfo=UTC)
        ).text
    )
    assert "until Wednesday 27 January 2027" in text_with_date


def test_resident_letters_greet_and_sign_off(render, case):
    _, text = both(render(LetterKind.stage1_response))
    assert f"Dear {case.resident_name}," in text
    assert (
        f"Yours sincerely, {case.owner_name} Complaints Investigator, Customer Resolution Team "
        "West Kent Housing Association"
    ) in text


# ----------------------------------------------------------------------------- staff letters


@pytest.mark.parametrize("kind", sorted(STAFF_LETTERS), ids=str)
def test_staff_letters_carry_reference_clock_and_due_but_no_resident_data(render, case, kind):
    letter = render(kind)
    html, text = both(letter)
    review = kind is LetterKind.person_review  # a person record's item, due on a day
    for part in (html, text, letter.subject):
        assert case.reference in part
        assert ("Review of the contact restriction" if review else "Stage 1: response") in part
        assert case.resident_name not in part
        assert case.resident_name.split()[0] not in part
        assert case.resident_email not in part
        assert case.resident_address.postcode not in part
        assert case.outcome_sought not in part
        for point in case.points:
            assert point not in part
    assert ("Monday 5 April 2027" if review else "5:15pm on Tuesday 29 December 2026") in text
    assert "Dear" not in text and "Yours sincerely" not in text


def test_breach_says_the_step_is_still_needed(render):
    _, text = both(render(LetterKind.deadline_breach))
    assert "was due and has been missed" in text
    assert "The case still needs this step." in text


def test_reminder_subject_gives_the_due_date(render, case):
    letter = render(LetterKind.deadline_reminder)
    assert letter.subject == (
        f"Reminder: Stage 1: response due Tuesday 29 December 2026 – case {case.reference}"
    )


# ----------------------------------------------------------------------------- safety


def test_markup_in_a_point_is_escaped(render):
    attack = '<script>alert("x")</script> & <b>bold</b>'
    letter = render(LetterKind.stage1_acknowledgement, points=[attack])
    assert "<script>" not in letter.html
    assert "<b>bold</b>" not in letter.html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in (
        letter.html
    )
    assert attack in letter.text  # the plain-text version shows exactly what was typed


def test_markup_in_free_text_fields_is_escaped(render):
    letter = render(
        LetterKind.extension, reasons='Waiting on <img src=x onerror="alert(1)">\n\nSecond para'
    )
    assert "<img" not in letter.html
    assert "&lt;img src=x" in letter.html
    assert "<p>Second para</p>" in letter.html


def test_environment_is_strict_and_escapes():
    env = environment()
    assert env.autoescape is True
    assert env.undefined is StrictUndefined
    with pytest.raises(Exception, match="undefined"):
        env.from_string("{{ nothing_here }}").render()


@pytest.mark.parametrize(
    ("kind", "field"),
    [
        (LetterKind.stage1_acknowledgement, "due"),
        (LetterKind.stage1_acknowledgement, "outcome_sought"),
        (LetterKind.stage1_acknowledgement, "points"),
        (LetterKind.extension, "previous_due"),
        (LetterKind.exceptional_extension, "reasons"),
        (LetterKind.stage1_response, "escalation_deadline"),
        (LetterKind.stage2_response, "decisions"),
        (LetterKind.refusal, "decline_reason"),
        (LetterKind.new_complaint_opened, "linked_reference"),
        (LetterKind.deadline_breach, "clock_label"),
    ],
    ids=str,
)
def test_a_letter_missing_what_it_promises_is_not_made(render, case, kind, field):
    empty = [] if field in ("points", "decisions") else None
    with pytest.raises(LetterDataError, match=field) as caught:
        render(kind, **{field: empty})
    assert case.resident_name not in str(caught.value)
    assert case.reference in str(caught.value)


def test_a_context_for_another_case_is_refused(make_request, settings):
    request = make_request(LetterKind.withdrawal)
    other = request.model_copy(update={"reference": "CMP-2026-9999"})
    with pytest.raises(LetterDataError, match="another case"):
        render_letter(other, settings)


# ----------------------------------------------------------------------------- post and email


def test_post_letter_is_print_ready_with_the_address_block(render, case):
    letter = render(LetterKind.stage1_acknowledgement, Delivery.post)
    assert "@page { size: A4;" in letter.html
    assert "@media print" in letter.html
    block = re.search(r'<address class="address-block">(.*?)</address>', letter.html, re.S)
    assert block is not None
    lines = [squash(line) for line in block.group(1).split("<br>")]
    assert lines == [case.resident_name, *case.resident_address.lines, "TN13 2QX"]


def test_email_letter_has_no_print_styles_or_address_block(render):
    letter = render(LetterKind.stage1_acknowledgement, Delivery.email)
    assert "@page" not in letter.html
    assert "address-block" not in letter.html


def test_letter_date_defaults_to_today_in_london(make_request, settings):
    letter = render_letter(make_request(LetterKind.withdrawal), settings)
    assert longdate(datetime.now(UTC)) in letter.text


def test_landlord_details_come_from_settings_and_team_from_the_policy(make_request):
    from config import REPO_ROOT, Landlord

    settings = Settings(
        landlord=Landlord(
            name="Weald Homes",
            address="1 Station Road, Tonbridge, TN9 1AA",
            phone="01732 000000",
            email="complaints@weald.example",
        ),
        policy_file=REPO_ROOT / "policy" / "ombudsman-code.toml",  # teams: "Complaints Team"
    )
    _, text = both(render_letter(make_request(LetterKind.stage1_response), settings))
    assert "Weald Homes" in text and "complaints@weald.example" in text
    assert "member of our Complaints Team" in text
    assert "West Kent" not in text


# ----------------------------------------------------------------------------- filters


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (date(2026, 12, 29), "Tuesday 29 December 2026"),
        (datetime(2026, 12, 29, 17, 15, tzinfo=UTC), "Tuesday 29 December 2026"),
        # 23:30 UTC in British Summer Time is already the next day in London
        (datetime(2026, 6, 30, 23, 30, tzinfo=UTC), "Wednesday 1 July 2026"),
        (datetime(2026, 6, 30, 23, 30), "Wednesday 1 July 2026"),  # naive = UTC
        (datetime(2026, 3, 1, 9, 0, tzinfo=timezone(timedelta(hours=-5))), "Sunday 1 March 2026"),
        ("2026-12-29", "Tuesday 29 December 2026"),
        ("2026-12-29T17:15:00+00:00", "Tuesday 29 December 2026"),
        ("2026-07-31T23:15:00Z", "Saturday 1 August 2026"),
    ],
)
def test_longdate(value, expected):
    assert longdate(value) == expected


def test_longdate_refuses_nothing():
    with pytest.raises(TypeError):
        longdate(None)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (datetime(2026, 12, 29, 17, 15, tzinfo=UTC), "5:15pm"),
        (datetime(2026, 7, 3, 15, 45, tzinfo=UTC), "4:45pm"),  # BST
        (datetime(2026, 12, 29, 9, 0, tzinfo=UTC), "9am"),
        (datetime(2026, 12, 29, 12, 0, tzinfo=UTC), "midday"),
        (datetime(2026, 12, 29, 0, 0, tzinfo=UTC), "midnight"),
    ],
)
def test_london_time(value, expected):
    assert london_time(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("1234.5"), "£1,234.50"),
        (Decimal("0"), "£0.00"),
        (250, "£250.00"),
        ("75.125", "£75.13"),
        (1_000_000, "£1,000,000.00"),
        (Decimal("0.005"), "£0.01"),
    ],
)
def test_money(value, expected):
    assert money(value) == expected


@pytest.mark.parametrize("bad", [None, "lots", Decimal("NaN"), True])
def test_money_refuses_what_is_not_an_amount(bad):
    with pytest.raises((TypeError, ValueError)):
        money(bad)


def test_html_to_text_keeps_structure():
    html = (
        "<html><head><title>T</title><style>p{}</style></head><body>"
        "<h1>Title</h1><p>One <a href='https://x.example/a'>link</a>,"
        " <a href='mailto:a@b.example'>a@b.example</a>.</p>"
        "<ul><li>first<br>more</li><li><p>second</p></li></ul>"
        "<ol><li>a</li><li>b</li></ol><p>&pound;5 &amp; &lt;ok&gt;</p></body></html>"
    )
    assert html_to_text(html) == (
        "Title\n=====\n\nOne link (https://x.example/a), a@b.example.\n\n"
        "- first\n  more\n- second\n\n1. a\n2. b\n\n£5 & <ok>\n"
    )


@pytest.mark.parametrize("kind", [LetterKind.stage1_response, LetterKind.case_closed])
def test_a_letter_about_stage_2_points_at_the_residents_own_page(
    make_request, settings, case, kind
):
    """With the resident's link (as the worker renders every resident letter) the letter says to
    ask for stage 2 there, and carries the link; without one it promises no online form that
    would not exist."""
    request = make_request(kind, Delivery.email)
    linked = render_letter(request, settings, now=case.now, case_link=0)
    _, text = both(linked)
    assert 'open your personal link at the end of this letter and choose "Ask for stage 2"' in text
    assert case_url(settings, request.reference, 0) in text
    assert "online form on our website" not in text
    _, bare = both(render_letter(request, settings, now=case.now))
    assert "personal link" not in bare
    staff = make_request(LetterKind.deadline_breach, Delivery.email)
    assert "/your-case/" not in render_letter(staff, settings, now=case.now, case_link=0).text
