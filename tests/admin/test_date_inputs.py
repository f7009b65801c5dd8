"""The GOV.UK date input's parser (admin/forms.py `read_date`), which every staff form and the
residents' form share: what it takes, and what it says when a date is wrong."""

from __future__ import annotations

from datetime import date

import pytest

from admin.forms import FieldInfo, Problem, date_value, read_date
from tests.date_inputs import boxes

NOUN = "the date it was paid"


def parts(typed: str) -> dict[str, str]:
    return dict(zip(("day", "month", "year"), typed.split(" "), strict=True))


@pytest.mark.parametrize(
    ("typed", "problem", "part"),
    [
        ("27 3 ", "The date it was paid must include a year", "year"),
        (" 3 2027", "The date it was paid must include a day", "day"),
        ("  2027", "The date it was paid must include a day and month", "day"),
        ("30 2 2027", "Enter the date it was paid as a real date, like 27 3 2027", "day"),
        ("27 13 2027", "Enter the date it was paid as a real date, like 27 3 2027", "month"),
        ("27 3 27", "Enter the date it was paid as a real date, like 27 3 2027", "year"),
        ("x 3 2027", "Enter the date it was paid as a real date, like 27 3 2027", "day"),
    ],
)
def test_a_wrong_date_names_the_field_and_the_box(typed: str, problem: str, part: str) -> None:
    answer = read_date(parts(typed), NOUN)
    assert (answer.value, answer.problem, answer.part) == (None, problem, part)


def test_a_date_from_its_boxes_or_an_old_single_box() -> None:
    assert read_date(parts("7 03 2027"), NOUN).value == date(2027, 3, 7)
    assert (
        read_date(parts("  "), NOUN).value is None and read_date(parts("  "), NOUN).problem is None
    )
    # a page loaded before the date inputs posts one box: ISO, or as people type it
    assert read_date({}, NOUN, "2027-03-07").value == date(2027, 3, 7)
    assert read_date({}, NOUN, "7/3/2027").value == date(2027, 3, 7)
    assert read_date({}, NOUN, "2027-02-30").problem == (
        "Enter the date it was paid as a real date, like 27 3 2027"
    )


def test_a_staff_form_gets_an_iso_date_or_a_problem_linked_to_the_box() -> None:

    info = FieldInfo("record_compensation-paid_on", NOUN, "date")
    problems: list[Problem] = []
    posted = {k: [v] for k, v in boxes("paid_on", date(2027, 3, 7)).items()}
    assert date_value(posted, "paid_on", info, problems) == "2027-03-07" and problems == []
    posted = {k: [v] for k, v in boxes("paid_on", "7 3 ").items()}
    assert date_value(posted, "paid_on", info, problems) is None
    assert [(p.href, p.text) for p in problems] == [
        ("#record_compensation-paid_on-year", "The date it was paid must include a year")
    ]
