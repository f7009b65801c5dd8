"""The page after a staff step (POST, 303, GET of the case page): its case is read while the
browser follows the redirect, and it says what the step did even when another process serves it.
A case page shows the latest entries of a long timeline, with a link to every entry; the page
after a step reads only those from the record."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from temporalio.testing import WorkflowEnvironment

import admin.case_reads as case_reads
from admin.case_kinds import COMPLAINT
from admin.routes.cases import TimelineRow, latest_rows
from admin.step_results import StepResults
from admin.temporal import TemporalDown
from config import Settings
from domain.records import CaseSnapshot, RecordRequest, TimelineEntry
from records.store import RecordsStore
from tests.admin.conftest import admin_http, admin_sign_in, csrf_in
from tests.admin.test_pages import JO, lodge, settled, text
from tests.support import london, records_on, step

AT = london(2027, 3, 1, 10)


def rows(n: int) -> list[TimelineRow]:
    return [TimelineRow(at=AT + timedelta(minutes=i), what=f"entry {i}") for i in range(n)]


def test_a_long_timeline_shows_its_latest_entries_and_every_letter_still_being_sent() -> None:
    pending = TimelineRow(at=None, what="s1_response", pending_key="s1_response")
    shown, hidden = latest_rows([*rows(8), pending], shown=3)
    assert [r.what for r in shown] == ["entry 5", "entry 6", "entry 7", "s1_response"]
    assert hidden == 5
    assert latest_rows(rows(3), shown=3) == (rows(3), 0), "a short one shows whole"


def test_entries_from_before_the_first_one_read_are_left_out_with_the_unread_ones() -> None:
    """The page after a step reads the latest steps only: a letter or an evidence line from
    before the first of them would show next to it, out of its place, so it is left out (and
    counted) too."""
    read = rows(5)[2:]  # entries 2 to 4; 0 and 1 not read
    evidence = TimelineRow(at=AT + timedelta(minutes=1, seconds=30), what="File added", who=JO)
    every = sorted([*read, evidence], key=lambda r: r.at or AT)
    shown, hidden = latest_rows(every, unread=2, since=read[0].at, shown=10)
    assert shown == read and hidden == 3


async def _long_case(env: WorkflowEnvironment, settings: Settings, contacts: int) -> str:
    ref = await lodge(env, settings, AT)
    await step(env.client, ref, "accept", by=JO)
    for i in range(contacts):
        await step(env.client, ref, "record_contact", by=JO, notes=f"Call {i}")
    return ref


async def contact_form(http: Any, ref: str, notes: str) -> dict[str, str]:
    """Signed in as Jo, the case page's form to record a contact, filled in."""
    await admin_sign_in(http, JO)
    page = await http.get(f"/cases/{ref}")
    return {"csrf_token": csrf_in(page.text), "method": "phone", "notes": notes}


def timeline_texts(page: str) -> list[str]:
    table = re.search(r'<table class="table" id="timeline">.*?</table>', page, re.S)
    assert table, "no timeline on the page"
    return [text(row) for row in re.findall(r"<tr>(.*?)</tr>", table.group(0), re.S)][1:]


async def test_the_page_after_a_step_shows_the_latest_entries_and_links_to_them_all(
    live_admin_app: FastAPI,
    env: WorkflowEnvironment,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(case_reads, "TIMELINE_SHOWN", 4)
    ref = await _long_case(env, settings, 5)  # lodged, accepted, five calls: 7 entries and more
    async with admin_http(live_admin_app) as http:
        form = await contact_form(http, ref, "Rang them back")
        done = await http.post(f"/cases/{ref}/steps/record_contact", data=form)
        assert done.status_code == 303
        shown = await http.get(done.headers["location"])
        assert shown.status_code == 200
        entries = timeline_texts(shown.text)
        assert len(entries) == 4 and "Rang them back" in entries[-1], "the latest, the step last"
        case = await settled(env, ref)
        total = len(timeline_texts((await http.get(f"/cases/{ref}?timeline=all")).text))
        assert total >= len(case.timeline) == 8
        earlier = text(
            re.search(r'<p class="body" id="timeline-earlier">.*?</p>', shown.text, re.S).group(0)
        )
        assert earlier == f"The latest 4 of {total} entries, oldest first. Show all {total} entries"
        assert f'href="/cases/{ref}?timeline=all#timeline-title"' in shown.text
        every = timeline_texts((await http.get(f"/cases/{ref}?timeline=all")).text)
        assert all(any(item.summary in row for row in every) for item in case.timeline)
        assert 'id="timeline-earlier"' not in (await http.get(f"/cases/{ref}?timeline=all")).text
        again = await http.get(f"/cases/{ref}")  # from the workflow's query: the same latest four
        assert timeline_texts(again.text) == entries


async def test_the_page_after_a_step_says_what_it_did_when_another_process_serves_it(
    live_admin_app: FastAPI, env: WorkflowEnvironment, settings: Settings, store: RecordsStore
) -> None:
    ref = await _long_case(env, settings, 0)
    async with admin_http(live_admin_app) as http:
        form = await contact_form(http, ref, "Rang them")
        done = await http.post(f"/cases/{ref}/steps/record_contact", data=form)
        assert done.status_code == 303
        live_admin_app.state.step_results = StepResults()  # as in a process the step never saw
        shown = await http.get(done.headers["location"])
        assert "Rang them" in shown.text and "Contact recorded" in text(shown.text)
        later = await http.get(done.headers["location"])
        assert "Contact recorded" not in text(later.text), "said once"


async def test_a_record_late_to_show_the_step_leaves_the_page_to_the_workflows_query(
    live_admin_app: FastAPI,
    env: WorkflowEnvironment,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Never a page without the step: were the record not to show it in time, the page after
    the step shows the case as the workflow's status query has it."""
    monkeypatch.setattr(case_reads, "wait_for_record", lambda *args: None)
    ref = await _long_case(env, settings, 0)
    async with admin_http(live_admin_app) as http:
        form = await contact_form(http, ref, "Rang them late")
        done = await http.post(f"/cases/{ref}/steps/record_contact", data=form)
        shown = await http.get(done.headers["location"])
        assert "Rang them late" in timeline_texts(shown.text)[-1]
        assert "Contact recorded" in text(shown.text)


async def test_a_step_taken_whose_case_cannot_be_read_back_says_it_was_taken(
    live_admin_app: FastAPI,
    env: WorkflowEnvironment,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Its record behind and the query unanswered, the page after the step is the case as last
    recorded (503), saying the step was taken and not to take it again."""
    perform = COMPLAINT.perform

    async def ahead_of_its_record(*args: Any) -> Any:
        done = await perform(*args)
        return done.model_copy(update={"revision": done.revision + 100})

    async def no_answer(*args: Any) -> Any:
        raise TemporalDown()

    monkeypatch.setattr(case_reads, "RECORD_WAITS", ())
    ref = await _long_case(env, settings, 0)
    status = COMPLAINT.status
    async with admin_http(live_admin_app) as http:
        form = await contact_form(http, ref, "Rang them")
        object.__setattr__(COMPLAINT, "perform", ahead_of_its_record)  # frozen: put back below
        object.__setattr__(COMPLAINT, "status", no_answer)
        try:
            done = await http.post(f"/cases/{ref}/steps/record_contact", data=form)
            assert done.status_code == 303
            shown = await http.get(done.headers["location"])
        finally:
            object.__setattr__(COMPLAINT, "perform", perform)
            object.__setattr__(COMPLAINT, "status", status)
    assert shown.status_code == 503
    said = text(shown.text)
    assert "Your step was taken: the complaint is now stage 1, awaiting acknowledgement" in said
    assert "Do not take the step again" in said
    case = await settled(env, ref)
    assert [t.step for t in case.timeline].count("record_contact") == 1


@pytest.fixture(params=["sqlite", "postgresql"])
def records(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RecordsStore]:
    with records_on(request.param, tmp_path, "step_page") as found:
        yield found


def test_the_latest_entries_and_the_revision_are_read_alone(records: RecordsStore) -> None:
    """What the page after a step reads of a long case: its record's revision (looked at every
    few milliseconds), then only the latest entries of its timeline, and how many came before."""
    ref = "CMP-LONG-0001"
    assert records.revision(ref) == 0, "not recorded yet"
    snapshot = CaseSnapshot(
        reference=ref,
        workflow_id=f"complaint-{ref}",
        stage="stage1",
        status="investigating",
        resident_name="Ann Example",
        channel="phone",
        received_at=AT,
        updated_at=AT,
        revision=3,
    )
    events = [
        TimelineEntry(seq=n, at=AT + timedelta(minutes=n), step="record_contact", summary=f"#{n}")
        for n in range(1, 8)
    ]
    records.record(RecordRequest(snapshot=snapshot, events=events))
    assert records.revision(ref) == 3
    latest, unread = records.latest_events(ref, 3)
    assert [i.summary for i in latest] == ["#5", "#6", "#7"] and unread == 4
    assert latest[0].at == AT + timedelta(minutes=5)
    every, unread = records.latest_events(ref, 10)
    assert [i.summary for i in every] == [f"#{n}" for n in range(1, 8)] and unread == 0
