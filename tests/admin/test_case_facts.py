"""Every fact staff need on the case page: when the issue happened and when the resident became
aware of it, with the policy's time limit worked out; what each response said beyond its
decisions (summary and apology)."""

from __future__ import annotations

import re

from fastapi import FastAPI
from temporalio.testing import WorkflowEnvironment

from config import Settings
from records.store import RecordsStore
from tests.admin.conftest import admin_http, admin_sign_in
from tests.admin.test_pages import JO, TWO_POINTS, lodge, settled, text, travel
from tests.support import CATEGORY, decided, london, step

MONDAY = london(2027, 3, 1, 10)


def fact(page: str, fact_id: str) -> str:
    found = re.search(rf'<dd id="{fact_id}">(.*?)</dd>', page, re.S)
    assert found, f"no {fact_id}"
    return text(found.group(1))


async def test_the_case_page_shows_the_dates_the_time_limit_and_what_the_response_said(
    live_admin_app: FastAPI, env: WorkflowEnvironment, settings: Settings, store: RecordsStore
) -> None:
    app = live_admin_app
    await travel(env, app, MONDAY)
    ref = await lodge(
        env, settings, MONDAY, incident_date="2025-12-01", became_aware_date="2026-02-10"
    )
    late = await lodge(env, settings, MONDAY, incident_date="2025-09-01")
    bare = await lodge(env, settings, MONDAY)
    await step(env.client, ref, "accept", by=JO, category=CATEGORY)
    await step(env.client, ref, "acknowledge", by=JO, points=TWO_POINTS, outcome_sought="Fix")
    await step(
        env.client,
        ref,
        "respond",
        by=JO,
        decisions=[decided(p) for p in TWO_POINTS],
        summary="We missed two visits.\n\nWe have booked the repair.",
        remedies={"apology": "We are sorry for the wasted days off work."},
    )
    await settled(env, ref)
    async with admin_http(app) as http:
        await admin_sign_in(http, JO)
        page = (await http.get(f"/cases/{ref}")).text
        assert fact(page, "incident-date") == "Mon 01 Dec 2025"
        assert fact(page, "became-aware-date") == "Tue 10 Feb 2026"
        assert fact(page, "time-limit") == (
            "In time if made by Wed 10 Feb 2027: made after it (the policy lets us decline it)"
        ), "12 months from the later of the two dates"
        response = re.search(r'<dl class="summary" id="response-stage1">.*?</dl>', page, re.S)
        assert response, "the stage 1 response's summary"
        shown = text(response.group(0))
        assert "Summary We missed two visits. We have booked the repair." in shown
        assert "Apology We are sorry for the wasted days off work." in shown
        assert f"by {JO}" in shown

        late_page = (await http.get(f"/cases/{late}")).text
        assert fact(late_page, "time-limit") == (
            "In time if made by Tue 01 Sep 2026: made after it (the policy lets us decline it)"
        )
        bare_page = (await http.get(f"/cases/{bare}")).text
        assert fact(bare_page, "incident-date") == "Not recorded"
        assert 'id="time-limit"' not in bare_page
