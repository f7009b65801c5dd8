"""Matching a case's person to a person record (domain/persons.py): contact details compared
normalised, a postcode alone a weak match, and review dates in the future."""

from __future__ import annotations

from datetime import date

from domain.persons import (
    MatchOn,
    PersonDetails,
    email_key,
    match_strength,
    matches,
    phone_key,
    postcode_key,
    review_date_problem,
    review_letter_key,
)


def test_contact_details_are_compared_normalised() -> None:
    assert email_key("  Ann@Example.ORG ") == "ann@example.org"
    assert phone_key("+44 (0)7700 900123") == phone_key("+44 7700 900123") == "07700900123"
    assert phone_key("0044 7700 900123") == phone_key("07700-900-123") == "07700900123"
    assert phone_key("123") is None and phone_key(None) is None
    assert postcode_key(" tn13 1aa ") == "TN131AA"


def test_a_postcode_alone_is_a_weak_match() -> None:
    ann = PersonDetails(
        name="Ann",
        email="ann@example.org",
        address={"lines": ["1 High Street"], "postcode": "TN13 1AA"},
    )
    neighbour = PersonDetails(
        name="Bob", email="bob@example.org", address={"lines": ["3"], "postcode": "tn131aa"}
    )
    assert matches(neighbour, ann) == [MatchOn.postcode]
    assert match_strength([MatchOn.postcode]) == "weak"
    assert match_strength([MatchOn.phone, MatchOn.postcode]) == "strong"
    assert matches(PersonDetails(name="Nobody"), ann) == []


def test_a_review_date_is_in_the_next_two_years_and_each_date_its_own_reminder() -> None:
    today = date(2027, 3, 1)
    assert review_date_problem(today, today) == "The review date must be in the future"
    assert (
        review_date_problem(date(2029, 6, 1), today) == "The review date must be within two years"
    )
    assert review_date_problem(date(2027, 6, 1), today) is None
    assert review_letter_key(7, date(2027, 6, 1)) != review_letter_key(7, date(2027, 12, 1))
