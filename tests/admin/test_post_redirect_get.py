"""Steps use POST/redirect/GET: a step whose form has problems, or that the case refuses, sends
the browser to the case page, which shows the form as typed with every problem; reloading that
page sends nothing again. The kept form is its author's only. A letter the case has queued but
the letters activity has not yet claimed shows on the timeline as "Being sent"."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

from fastapi import FastAPI
from sqlalchemy import func, select
from temporalio.testing import WorkflowEnvironment

from admin.case_kinds import COMPLAINT
from admin.routes.cases import TimelineRow, case_after, timeline_rows
from config import Settings
from domain.complaint import Status, TimelineItem
from domain.step_result import StepResult
from records.form_drafts import Draft, FormDrafts
from records.schema import FormDraft
from records.store import RecordsStore
from tests.admin.conftest import admin_http, admin_sign_in, csrf_in
from tests.admin.test_pages import JO, MO, TWO_POINTS, error_summary, lodge, settled, textarea
from tests.support import london, step


def drafts(store: RecordsStore) -> int:
    with store.reading() as session:
        return session.scalar(select(func.count()).select_from(FormDraft)) or 0


async def test_a_refused_step_redirects_to_the_case_page_with_the_form_and_its_problems(
    live_admin_app: FastAPI, env: WorkflowEnvironment, settings: Settings, store: RecordsStore
) -> None:
    app = live_admin_app
    ref = await lodge(env, settings, london(2027, 3, 1, 10))
    await step(env.client, ref, "accept", by=JO)
    await step(env.client, ref, "acknowledge", by=JO, points=TWO_POINTS, outcome_sought="Fix")
    async with admin_http(app) as http:
        await admin_sign_in(http, JO)
        page = await http.get(f"/cases/{ref}")
        form = {
            "csrf_token": csrf_in(page.text),
            "reasons": "Waiting for the contractor's report",
            "working_days": "5",
        }
        sent = await http.post(f"/cases/{ref}/steps/extend", data=form)
        assert sent.status_code == 303, "redirected, not a page at the POST address"
        location = sent.headers["location"]
        assert location.startswith(f"/cases/{ref}?draft=")
        shown = await http.get(location)
        again = await http.get(location)  # a reload: a GET, nothing sent
        for answer in (shown, again):
            assert answer.status_code == 409
            ((href, reason),) = error_summary(answer.text)
            assert href == "#extend-discussed_with_resident"
            assert "discuss an extension with the resident first" in reason
            assert textarea(answer.text, "extend-reasons") == "Waiting for the contractor's report"
        case = await settled(env, ref)
        assert case.status is Status.investigating and not any(
            t.step == "extend" for t in case.timeline
        )
        assert drafts(store) == 1

    async with admin_http(app) as other:
        await admin_sign_in(other, MO)
        theirs = await other.get(location)
        assert theirs.status_code == 200, "someone else's kept form is not shown to them"
        assert "Waiting for the contractor" not in theirs.text

    async with admin_http(app) as http:
        await admin_sign_in(http, JO)
        page = await http.get(f"/cases/{ref}")
        form = {
            "csrf_token": csrf_in(page.text),
            "reasons": "Waiting for the contractor's report",
            "working_days": "5",
            "discussed_with_resident": "yes",
        }
        done = await http.post(f"/cases/{ref}/steps/extend", data=form)
        assert done.status_code == 303 and done.headers["location"] == f"/cases/{ref}"
        await http.get(done.headers["location"])  # cleared while the browser is sent there
        assert drafts(store) == 0, "a step that went through clears its kept forms"


def test_a_queued_letter_shows_as_being_sent_until_the_ledger_has_it() -> None:
    at = london(2027, 3, 1, 10)
    items = [TimelineItem(at=at, step="acknowledge", actor=JO, summary="Acknowledged")]
    rows = timeline_rows(items, [], ["s1_acknowledgement"])
    assert rows[-1] == TimelineRow(
        at=None, what="s1_acknowledgement", pending_key="s1_acknowledgement"
    )
    assert timeline_rows(items, [], []) == rows[:1]


async def test_the_page_after_a_step_shows_what_the_update_returned_without_asking_again(
    live_admin_app: FastAPI,
    env: WorkflowEnvironment,
    settings: Settings,
) -> None:
    """The Update answers where the case stands; the page after the step shows the whole case
    from its record, once that shows the step, without querying the workflow (the next page, or
    another person's, queries). Were the record late, the step's page would query once."""
    app = live_admin_app
    ref = await lodge(env, settings, london(2027, 3, 1, 10))
    await step(env.client, ref, "accept", by=JO)
    queries: list[str] = []
    status = COMPLAINT.status

    async def counted(client: Any, reference: str) -> Any:
        queries.append(reference)
        return await status(client, reference)

    object.__setattr__(COMPLAINT, "status", counted)  # a frozen dataclass, put back below
    try:
        await _step_then_page(app, ref, queries)
    finally:
        object.__setattr__(COMPLAINT, "status", status)


async def _step_then_page(app: FastAPI, ref: str, queries: list[str]) -> None:
    async with admin_http(app) as http:
        await admin_sign_in(http, JO)
        page = await http.get(f"/cases/{ref}")
        queries.clear()
        form = {"csrf_token": csrf_in(page.text), "method": "phone", "notes": "Rang them"}
        done = await http.post(f"/cases/{ref}/steps/record_contact", data=form)
        assert done.status_code == 303
        shown = await http.get(done.headers["location"])
        assert "Rang them" in shown.text, "the step shows on the page"
        assert "Contact recorded" in shown.text, "the page says what the step did"
        # the form is read against the case as recorded, and so is the page after the step
        # once the record shows the step: usually before the page needs it (on a busy machine
        # it may not be: then one query)
        assert queries in ([], [ref])
        asked = len(queries)
        await http.get(done.headers["location"])
        assert len(queries) == asked + 1, "a later visit asks as usual"


async def test_the_case_after_a_step_comes_from_its_record_once_that_shows_the_step(
    live_admin_app: FastAPI, env: WorkflowEnvironment, settings: Settings, store: RecordsStore
) -> None:
    """`case_after`: the record when it shows the step's revision (no query); the status query
    when it does not, after a few milliseconds' wait."""
    ref = await lodge(env, settings, london(2027, 3, 1, 10))
    await step(env.client, ref, "accept", by=JO)
    row = store.get_case(ref)
    assert row is not None and row.revision == 2
    queries: list[str] = []
    live = object()

    async def query(client: Any, reference: str) -> Any:
        queries.append(reference)
        return live

    kind = replace(COMPLAINT, status=query)
    request = SimpleNamespace(app=live_admin_app)
    result = StepResult(reference=ref, kind="complaint", stage="stage1", status="x", revision=2)
    shown = await case_after(request, kind, env.client, result)
    assert shown.status is Status.awaiting_acknowledgement and queries == []
    assert [t.step for t in shown.timeline] == ["lodged", "accept"]
    later = result.model_copy(update={"revision": 3})  # a step the record does not show yet
    assert await case_after(request, kind, env.client, later) is live and queries == [ref]


def test_kept_forms_go_an_hour_after_they_were_made_whoever_made_them(store: RecordsStore) -> None:
    drafts_of = FormDrafts(store)
    at = london(2027, 3, 1, 10)
    draft = Draft(step="extend", status_code=409, values={"reasons": ["x"]}, problems=[])
    old = drafts_of.save("jo.officer", "/cases/CMP-2027-0001", draft, at)
    assert drafts_of.load(old, "jo.officer", "/cases/CMP-2027-0001", at) is not None
    drafts_of.save("mo.manager", "/cases/CMP-2027-0002", draft, at + timedelta(hours=2))
    assert drafts(store) == 1, "Jo's form, past its hour, went when Mo's was kept"
