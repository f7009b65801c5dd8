"""A resident's reasonable adjustments: each rule the needs imply (domain/adjustments.py), and
the people who carry them, old free text included."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from domain.adjustments import (
    LARGE_PRINT_PT,
    Adjustments,
    ContactThrough,
    LetterFormat,
    contact_allowed,
    contact_methods_allowed,
    contact_only_problem,
    contact_step_allowed,
    contact_step_notes,
    for_letters,
    interpreter_language,
    letter_font_size,
    needs_in_words,
    needs_of,
    staff_actions,
)
from domain.enquiry import Enquirer
from domain.people import Address, ContactMethod, Resident

ADDRESS = Address(lines=["1 Mill Lane", "Sevenoaks"], postcode="TN13 2QX")
THROUGH = ContactThrough(name="Sam Example", relationship="daughter", phone="07700 900000")


def test_large_print_sets_letters_at_16_pt_or_larger() -> None:
    assert LARGE_PRINT_PT >= 16
    assert letter_font_size(Adjustments(large_print=True)) == LARGE_PRINT_PT
    assert letter_font_size(Adjustments(easy_read=True)) is None
    assert letter_font_size(None) is None


def test_the_interpreters_language() -> None:
    assert interpreter_language(Adjustments(interpreter_language="Polish")) == "Polish"
    assert interpreter_language(Adjustments()) is None
    assert interpreter_language(None) is None


def test_contact_only_by_one_method_rules_out_the_others() -> None:
    email_only = Adjustments(contact_only_by=ContactMethod.email)
    assert contact_methods_allowed(email_only) == {ContactMethod.email}
    assert not contact_allowed(email_only, ContactMethod.phone)
    assert not contact_allowed(email_only, ContactMethod.post)
    assert contact_allowed(email_only, ContactMethod.email)
    for anyone in (None, Adjustments(large_print=True)):
        assert contact_methods_allowed(anyone) == set(ContactMethod)
        assert contact_allowed(anyone, ContactMethod.phone)


def test_contact_steps_offer_only_the_ways_allowed() -> None:
    email_only = Adjustments(contact_only_by=ContactMethod.email)
    for way in ("phone", "video", "letter", "social_media"):
        assert not contact_step_allowed(email_only, way), way
    assert contact_step_allowed(email_only, "email")
    assert contact_step_allowed(email_only, "in_person")
    phone_only = Adjustments(contact_only_by=ContactMethod.phone)
    assert contact_step_allowed(phone_only, "video") and contact_step_allowed(phone_only, "phone")
    assert not contact_step_allowed(phone_only, "email")
    for way in ("phone", "video", "email", "letter", "social_media", "in_person"):
        assert contact_step_allowed(None, way)
        assert contact_step_allowed(Adjustments(interpreter_language="Polish"), way)


def test_contact_only_needs_the_means() -> None:
    phone_only = Adjustments(contact_only_by=ContactMethod.phone)
    assert contact_only_problem(phone_only, email="a@example.org", phone=None, address=None) == (
        "contact is by phone only but no phone number was given"
    )
    assert contact_only_problem(phone_only, email=None, phone="01632 960001", address=None) is None
    assert contact_only_problem(None, email=None, phone=None, address=None) is None


def test_easy_read_and_formats_are_for_staff_to_send() -> None:
    assert staff_actions(Adjustments(easy_read=True)) == [
        "Send an easy read version of each letter"
    ]
    assert staff_actions(Adjustments(preferred_format=LetterFormat.braille)) == [
        "Send a braille copy of each letter"
    ]
    assert staff_actions(Adjustments(large_print=True)) == []  # the letters do it themselves
    assert staff_actions(None) == []


def test_another_format_is_named_in_the_note() -> None:
    with pytest.raises(ValidationError, match="say which format in the note"):
        Adjustments(preferred_format=LetterFormat.other)
    assert Adjustments(preferred_format=LetterFormat.other, note="Moon type").note == "Moon type"


def test_contact_steps_show_the_interpreter_the_method_the_times_and_who_to_go_through() -> None:
    needs = Adjustments(
        interpreter_language="Polish",
        contact_only_by=ContactMethod.email,
        contact_times="Weekdays after 10am",
        contact_through=THROUGH,
    )
    assert contact_step_notes(needs) == [
        "Interpreter needed: Polish",
        "Contact by email only",
        "Contact times: Weekdays after 10am",
        "Contact through: Sam Example (daughter), 07700 900000",
    ]
    assert contact_step_notes(None) == []


def test_each_need_in_plain_words() -> None:
    needs = Adjustments(
        large_print=True,
        easy_read=True,
        preferred_format=LetterFormat.audio,
        interpreter_language="Polish",
        contact_only_by=ContactMethod.email,
        contact_through=THROUGH,
    )
    assert needs_in_words(needs) == [
        "Large print letters (16 pt)",
        "Easy read",
        "Preferred format: Audio",
        "Interpreter: Polish",
        "Contact by email only",
        "Contact through: Sam Example (daughter), 07700 900000",
    ]


def test_someone_to_contact_through_needs_a_way_to_reach_them() -> None:
    with pytest.raises(ValidationError, match="phone number or an email address"):
        ContactThrough(name="Sam Example")


def test_letters_carry_only_what_changes_them() -> None:
    needs = Adjustments(
        large_print=True,
        interpreter_language="Polish",
        contact_through=THROUGH,
        contact_times="mornings",
        note="Hard of hearing",
    )
    assert for_letters(needs) == Adjustments(large_print=True, interpreter_language="Polish")
    assert for_letters(Adjustments(easy_read=True, note="x")) is None
    assert for_letters(None) is None


def test_old_free_text_reads_as_the_note() -> None:
    old = Resident.model_validate(
        {"name": "Ann", "email": "ann@example.org", "reasonable_adjustments": "Large print"}
    )
    assert old.adjustments is None
    assert needs_of(old) == Adjustments(note="Large print")
    assert letter_font_size(needs_of(old)) is None  # free text changes nothing by itself
    both = old.model_copy(update={"adjustments": Adjustments(large_print=True)})
    assert needs_of(both) == Adjustments(large_print=True, note="Large print")
    assert needs_of(Resident(name="Ann", email="ann@example.org")) is None
    assert (
        needs_of(Resident(name="Ann", email="ann@example.org", adjustments=Adjustments())) is None
    )


def test_contact_only_by_is_how_we_contact_them() -> None:
    resident = Resident(
        name="Ann",
        email="ann@example.org",
        address=ADDRESS,
        preferred_contact=ContactMethod.email,
        adjustments=Adjustments(contact_only_by=ContactMethod.post),
    )
    assert resident.preferred_contact is ContactMethod.post
    assert not resident.writes_by_email
    with pytest.raises(ValidationError, match="contact is by email only but no email address"):
        Resident(
            name="Ann",
            address=ADDRESS,
            preferred_contact=ContactMethod.post,
            adjustments=Adjustments(contact_only_by=ContactMethod.email),
        )
    with pytest.raises(ValidationError, match="contact is by phone only but no phone number"):
        Enquirer(
            name="Ann",
            email="ann@example.org",
            adjustments=Adjustments(contact_only_by=ContactMethod.phone),
        )


def test_a_complaint_raised_from_an_enquiry_keeps_the_needs() -> None:
    needs = Adjustments(large_print=True, interpreter_language="Polish")
    enquirer = Enquirer(name="Ann", email="ann@example.org", adjustments=needs)
    assert enquirer.as_resident().adjustments == needs
