"""Every point a resident can write on the public form can be decided in a response: the form's
limit for a point is the response's (a 3,000-character point once could not be answered)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from admin.routes.public import LIMITS, POINT_FIELDS
from domain.complaint import Respond
from domain.letters import MAX_POINT_LENGTH


def test_the_longest_point_the_form_takes_can_be_decided() -> None:
    assert {LIMITS[f] for f in POINT_FIELDS} == {MAX_POINT_LENGTH}
    longest = "x" * MAX_POINT_LENGTH
    decision = {"point": longest, "decision": "upheld", "reasons": "r"}
    Respond.model_validate({"by": "jo.officer", "decisions": [decision], "summary": "s"})
    too_long = [{**decision, "point": longest + "x"}]
    with pytest.raises(ValidationError):
        Respond.model_validate({"by": "jo.officer", "decisions": too_long, "summary": "s"})
