"""`python -m starter lodge` takes the complainant's tenure and property reference, as the staff
form and the API do."""

from __future__ import annotations

import argparse

import pytest

import starter.__main__ as starter_cli
from domain.complaint import Tenure


def lodge_args(*extra: str) -> argparse.Namespace:
    return starter_cli.parser().parse_args(
        ["lodge", "--name", "Ann Example", "--email", "ann@example.org", "--channel", "phone",
         "--description", "Boiler repair missed", *extra]
    )  # fmt: skip


def test_lodge_takes_tenure_and_property_reference() -> None:
    complaint = starter_cli.complaint_from_args(
        lodge_args("--tenure", "shared_ownership", "--property-reference", "SO-1187")
    )
    assert complaint.tenure is Tenure.shared_ownership
    assert complaint.property_reference == "SO-1187"
    assert starter_cli.complaint_from_args(lodge_args()).tenure is None


def test_lodge_refuses_an_unknown_tenure() -> None:
    with pytest.raises(SystemExit):
        lodge_args("--tenure", "freehold")
