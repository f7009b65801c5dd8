"""An upheld response that puts nothing right (issue 12, part 4): the respond form holds it back
once with a GOV.UK warning, and the officer may confirm that nothing needs putting right. The
rule is the domain's (domain/remedies.py `upheld_without_remedy`); the workflow does not refuse
such a response, so old histories replay as they were."""

from __future__ import annotations

from datetime import date

import pytest
from fastapi import FastAPI
from temporalio.testing import WorkflowEnvironment

from admin.complaint_forms import NO_REMEDY_WARNING
from config import Settings
from domain.complaint import Respond, Status
from domain.remedies import upheld_without_remedy
from tests.admin.conftest import admin_http, admin_sign_in
from tests.admin.test_pages import SAM, error_summary, post, settled, text
from tests.admin.test_tracking_pages import ANSWER, investigating
from tests.support import decided, london

ACTION = {"action": "Fix the boiler", "owner": "Our repairs team", "due": date(2027, 3, 22)}


@pytest.mark.parametrize(
    ("decisions", "remedies", "warned"),
    [
        (["upheld"], {}, True),
        (["not_upheld", "partly_upheld"], {"apology": "  "}, True),
        (["upheld"], {"compensation": "0"}, True),
        (["not_upheld", "not_upheld"], {}, False),
        (["upheld"], {"apology": "We are sorry"}, False),
        (["partly_upheld"], {"compensation": "25"}, False),
        (["upheld"], {"actions": [ACTION]}, False),
    ],
)
def test_what_counts_as_putting_nothing_right(
    decisions: list[str], remedies: dict, warned: bool
) -> None:
    response = Respond(
        by="jo.officer",
        decisions=[decided(f"Point {n}", d) for n, d in enumerate(decisions, start=1)],
        summary="Our response",
        remedies=remedies,
    )
    assert upheld_without_remedy(response) is warned


async def test_the_officer_is_warned_and_may_confirm(
    live_admin_app: FastAPI, env: WorkflowEnvironment, settings: Settings
) -> None:
    app = live_admin_app
    ref = await investigating(env, app, settings, london(2027, 3, 1, 10))

    async with admin_http(app) as http:
        await admin_sign_in(http, SAM)
        page = await http.get(f"/cases/{ref}")
        assert 'id="respond-no_remedy"' not in page.text, "no box until it is needed"

        held = await post(http, f"/cases/{ref}/steps/respond", page.text, ANSWER)
        assert held.status_code == 400
        assert error_summary(held.text) == [("#respond-no_remedy", NO_REMEDY_WARNING)]
        assert 'class="warning-text"' in held.text
        assert "Warning: " + NO_REMEDY_WARNING in text(held.text)
        assert "Send it without a remedy: nothing needs putting right" in text(held.text)
        assert "Two visits were missed</textarea>" in held.text, "the answers kept"
        case = await settled(env, ref)
        assert case.status is Status.investigating, "nothing sent"

        sent = await post(
            http, f"/cases/{ref}/steps/respond", held.text, {**ANSWER, "no_remedy": "yes"}
        )
        assert sent.status_code == 303, sent.text
        case = await settled(env, ref)
        assert case.status is Status.escalation_window
