"""The staff pages, end to end: work queues, the case page and its step forms, logging a
complaint, search, letters and staff accounts. Through the app, the time-skipping Temporal
server, a real worker and the records database; queue paging and sorting on records alone."""

from __future__ import annotations

import html
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from temporalio.testing import WorkflowEnvironment

from admin.queues import PAGE_SIZE
from admin.temporal import TEMPORAL_DOWN
from config import Settings
from domain.complaint import Stage, Status, workflow_id
from domain.people import StaffMember
from domain.records import CaseSnapshot, RecordRequest, TimelineEntry
from records.store import RecordsStore
from tests.admin.conftest import STAFF_PASSWORD, admin_http, admin_sign_in, csrf_in
from tests.date_inputs import box_value, boxes
from tests.support import (
    CATEGORY,
    POLICY,
    complaint,
    decided,
    london,
    policy_with,
    settle,
    start,
    step,
    travel_to,
)
from workflows.complaint import ComplaintWorkflow

JO, ALI, SAM, MO = "jo.officer", "ali.advisor", "sam.reviewer", "mo.manager"
TWO_POINTS = ["Boiler repair appointment missed twice", "Nobody called back"]


# --------------------------------------------------------------------------- helpers


def pin_clock(app: FastAPI, moment: datetime) -> None:
    """The app's "now" (queues, deadlines, received-in-the-future checks)."""
    app.state.clock = lambda: moment.astimezone(UTC)


async def travel(env: WorkflowEnvironment, app: FastAPI, moment: datetime) -> None:
    await travel_to(env, moment)
    pin_clock(app, moment)


def staff(app: FastAPI, account_id: str) -> StaffMember:
    return app.state.accounts.get(account_id).as_staff()


async def lodge(env: WorkflowEnvironment, settings: Settings, received: datetime, **kw: Any) -> str:
    case = complaint(received, **kw)
    await start(env.client, case, settings.task_queue)
    return case.reference


async def settled(env: WorkflowEnvironment, ref: str) -> Any:
    return await settle(env.client.get_workflow_handle_for(ComplaintWorkflow.run, workflow_id(ref)))


async def post(
    http: httpx.AsyncClient, url: str, page_with_form: str, data: dict[str, Any]
) -> httpx.Response:
    """Post a form as the browser would, with the CSRF token from the page it is on. A step
    whose form comes back with problems redirects to the case page showing them (POST/redirect/
    GET): that page is followed, as the browser would."""
    response = await http.post(url, data={"csrf_token": csrf_in(page_with_form), **data})
    location = response.headers.get("location", "")
    if response.status_code == 303 and "?draft=" in location:
        return await http.get(location)
    return response


def text(page: str) -> str:
    """The page's text without tags, whitespace collapsed, entities decoded."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def error_summary(page: str) -> list[tuple[str, str]]:
    summary = re.search(r'<div class="error-summary".*?</div>', page, re.S)
    assert summary, "no error summary on the page"
    links = re.findall(r'<a href="([^"]+)">([^<]+)</a>', summary.group(0))
    return [(href, html.unescape(message)) for href, message in links]


def queue_rows(page: str) -> dict[str, str]:
    """{reference: RAG colour} for each row of a queue, in order."""
    rows = re.findall(r'<tr data-reference="([^"]+)">.*?tag--(\w+)', page, re.S)
    return dict(rows)


def forms_on(page: str, ref: str) -> set[str]:
    """The step forms on the page (not "Take this case", which is the assign step too)."""
    found = re.findall(
        rf'<section class="step" id="step-(\w+)".*?action="/cases/{ref}/steps/(\w+)"', page, re.S
    )
    return {section for section, action in found if section == action}


def textarea(page: str, field_id: str) -> str:
    found = re.search(rf'<textarea[^>]*id="{field_id}"[^>]*>([^<]*)</textarea>', page)
    assert found, f"no textarea {field_id}"
    return html.unescape(found.group(1))


# --------------------------------------------------------------------------- queues


async def test_queues_hold_the_right_cases_with_their_rag_status(
    live_admin_app: FastAPI, env: WorkflowEnvironment, settings: Settings, store: RecordsStore
) -> None:
    app = live_admin_app
    # Monday 8 March 2027, 09:00: A's contact (due Thu 4 Mar) is overdue; B's is due today
    # (Mon 8 Mar); C's within 2 working days (Wed 10 Mar); D's later (Fri 12 Mar); E is closed.
    a = await lodge(env, settings, london(2027, 3, 1, 10), owner=staff(app, JO))
    b = await lodge(env, settings, london(2027, 3, 3, 10))
    c = await lodge(env, settings, london(2027, 3, 5, 10))
    d = await lodge(env, settings, london(2027, 3, 9, 10))
    e = await lodge(
        env,
        settings,
        london(2027, 3, 1, 11),
        resident={
            "name": "Bea Closed",
            "email": "bea@example.org",
            "address": {"lines": ["9 Mill Lane", "Tonbridge"], "postcode": "TN9 2AB"},
        },
    )
    await step(env.client, d, "accept", by=JO)
    await step(env.client, e, "withdraw", by=JO, reason="Sorted out on the phone")
    await travel(env, app, london(2027, 3, 8, 9))
    for ref in (a, b, c, d, e):
        await settled(env, ref)

    async with admin_http(app) as http:
        await admin_sign_in(http, JO)
        home = await http.get("/")
        assert (home.status_code, home.headers["location"]) == (303, "/queues/mine")

        mine = await http.get("/queues/mine")
        assert mine.status_code == 200
        assert queue_rows(mine.text) == {a: "red"}

        team = queue_rows((await http.get("/queues/team")).text)
        assert team == {a: "red", b: "red", c: "amber", d: "green"}, "closed E is in no queue"
        assert list(team) == [a, b, c, d], "soonest deadline first"

        assert queue_rows((await http.get("/queues/overdue")).text) == {a: "red"}
        assert queue_rows((await http.get("/queues/due-today")).text) == {b: "red"}
        assert queue_rows((await http.get("/queues/due-soon")).text) == {b: "red", c: "amber"}

        page = (await http.get("/queues/team")).text
        row_a = re.search(rf'<tr data-reference="{a}">.*?</tr>', page, re.S)
        assert row_a
        assert "Triage" in text(row_a.group(0))
        assert "Stage 1: contact the resident" in text(row_a.group(0))
        assert "Thu 04 Mar 2027 17:15" in text(row_a.group(0))
        row_d = re.search(rf'<tr data-reference="{d}">.*?</tr>', page, re.S)
        assert row_d and "Contact the resident" in text(row_d.group(0)), "contact is due first"

        stage1 = queue_rows((await http.get("/queues/team?stage=stage1")).text)
        assert list(stage1) == [d]
        owned = queue_rows((await http.get(f"/queues/team?owner={JO}")).text)
        assert list(owned) == [a]
        nobody = queue_rows((await http.get("/queues/team?owner=unassigned")).text)
        assert list(nobody) == [b, c, d]
        by_status = queue_rows((await http.get("/queues/team?sort=status&dir=desc")).text)
        assert list(by_status)[:2] == [d, c], "green, then amber, then red"

        found = (await http.get("/search", params={"q": "tn9 2ab"})).text
        assert e in found and "Bea Closed" in found, "closed cases are found by postcode"
        assert a not in found

        closed = await http.get(f"/cases/{e}")
        assert closed.status_code == 200
        assert "Withdrawn by the resident: Sorted out on the phone" in text(closed.text)
        assert forms_on(closed.text, e) == set()

        # A case whose workflow is no longer kept: its last record, read-only.
        gone = store.get_case(a)
        assert gone is not None
        ghost = "CMP-GONE-0001"
        data = {**gone.data, "reference": ghost, "workflow_id": workflow_id(ghost)}
        store.record(
            RecordRequest(
                snapshot=gone.model_copy(update={"reference": ghost, "data": data}),
                events=[
                    TimelineEntry(seq=1, at=london(2027, 3, 1, 10), step="lodged", summary="Old")
                ],
            )
        )
        record = await http.get(f"/cases/{ghost}")
        assert record.status_code == 200
        assert "no longer kept, so this is its last record" in text(record.text)
        assert TWO_POINTS[0] in text(record.text) and "Old" in text(record.text)
        assert forms_on(record.text, ghost) == set()


def _snapshot(n: int, now: datetime, **changes: Any) -> CaseSnapshot:
    ref = f"CMP-{n:04d}-TEST"
    data: dict[str, Any] = {
        "reference": ref,
        "workflow_id": workflow_id(ref),
        "stage": "stage1",
        "status": "investigating",
        "resident_name": f"Resident {n}",
        "postcode": "TN13 1AA",
        "channel": "phone",
        "received_at": now - timedelta(days=40 - n),
        "next_deadline": now + timedelta(days=n),
        "next_deadline_label": "Stage 1: response",
        "updated_at": now,
    }
    data.update(changes)
    return CaseSnapshot.model_validate(data)


async def test_queues_page_and_sort_from_the_records_database(
    offline_admin_app: FastAPI, store: RecordsStore
) -> None:
    app = offline_admin_app
    now = london(2027, 3, 8, 9)
    pin_clock(app, now)
    for n in range(1, 31):  # due in 1..30 days; the first one overdue
        store.record(RecordRequest(snapshot=_snapshot(n, now, overdue=(n == 1))))
    closed = _snapshot(31, now, stage="closed", status="closed", next_deadline=None)
    store.record(RecordRequest(snapshot=closed))

    async with admin_http(app) as http:
        await admin_sign_in(http, MO)
        first = await http.get("/queues/team")
        rows = list(queue_rows(first.text))
        assert len(rows) == PAGE_SIZE
        assert rows[0] == "CMP-0001-TEST"
        assert "Showing 1 to 25 of 30 cases" in text(first.text)
        after = re.search(r'<a rel="next" href="(/queues/team\?[^"]*cursor=[^"]+)"', first.text)
        assert after, "Next page: a link with a cursor (tests/admin/test_queue_keyset.py)"

        second = list(queue_rows((await http.get(html.unescape(after.group(1)))).text))
        assert second == [f"CMP-{n:04d}-TEST" for n in range(26, 31)]
        assert list(queue_rows((await http.get("/queues/team?page=2")).text)) == second
        past_end = list(queue_rows((await http.get("/queues/team?page=9")).text))
        assert past_end == second, "an old page number past the end shows the last page"

        latest = list(queue_rows((await http.get("/queues/team?sort=due&dir=desc")).text))
        assert latest[0] == "CMP-0030-TEST"
        by_ref = list(queue_rows((await http.get("/queues/team?sort=reference&dir=desc")).text))
        assert by_ref[0] == "CMP-0030-TEST"
        received = list(queue_rows((await http.get("/queues/team?sort=received")).text))
        assert received[0] == "CMP-0001-TEST"

        rag = queue_rows((await http.get("/queues/team?sort=status")).text)
        # Mon 8 Mar 09:00: n=1 overdue (red); n=2 due Wed 10 Mar 09:00 (amber); the rest green.
        assert list(rag.values())[:3] == ["red", "amber", "green"]
        assert rag["CMP-0002-TEST"] == "amber"
        assert rag["CMP-0003-TEST"] == "green"

        soon = list(queue_rows((await http.get("/queues/due-soon")).text))
        assert soon == ["CMP-0002-TEST"], "the overdue case is in the overdue queue instead"
        assert list(queue_rows((await http.get("/queues/mine")).text)) == []

        found = (await http.get("/search", params={"q": "CMP-0031"})).text
        assert "CMP-0031-TEST" in found, "search finds closed cases"

        form = await http.get("/complaints/new")
        offline = await post(http, "/complaints/new", form.text, _new_complaint())
        assert offline.status_code == 503, "no Temporal: the form again, nothing logged"
        assert TEMPORAL_DOWN in text(offline.text)
        assert textarea(offline.text, "complaint-description") == (
            "The lift has been broken for three weeks."
        )


# ------------------------------------------------------------------------ case page


async def test_case_page_shows_the_case_and_only_the_forms_the_role_may_use(
    live_admin_app: FastAPI, env: WorkflowEnvironment, settings: Settings
) -> None:
    app = live_admin_app
    ref = await lodge(
        env,
        settings,
        london(2027, 3, 1, 10),
        resident={
            "name": "Carl Helper",
            "email": "carl@example.org",
            "address": {"lines": ["2 High Street", "Sevenoaks"], "postcode": "TN13 1AB"},
            "preferred_contact": "post",
            "complainant_type": "third_party",
            "third_party_consent": True,
            "acting_for": "Dot Resident",
            "reasonable_adjustments": "Large print letters; calls after 10am",
        },
    )
    await step(env.client, ref, "accept", by=JO)
    pin_clock(app, await env.get_current_time())

    async with admin_http(app) as http:
        await admin_sign_in(http, JO)
        page = await http.get(f"/cases/{ref}")
        assert page.status_code == 200
        body = text(page.text)
        for expected in (
            "Carl Helper",
            "A third party acting for a resident",
            "Acting for Dot Resident",
            "Third-party consent Given",
            "Preferred contact method Post",
            "Large print letters; calls after 10am",
            *TWO_POINTS,
            "Boiler fixed and an apology",
            "Stage 1: contact the resident Thu 04 Mar 2027 17:15",
            "Stage 1: formal acknowledgement Mon 08 Mar 2027 17:15",
            "Accepted as a stage 1 complaint",
            "Counts as received on Mon 01 Mar 2027",
        ):
            assert expected in body, expected
        ui = f"{settings.temporal_ui_url}/namespaces/default/workflows/complaint-{ref}"
        assert f'href="{ui}"' in page.text
        officer_forms = forms_on(page.text, ref)
        assert officer_forms == {
            "acknowledge",
            "classify",
            "record_contact",
            "decline",
            "withdraw",
        }
        assert textarea(page.text, "acknowledge-points-1") == TWO_POINTS[1]
        assert textarea(page.text, "acknowledge-points-2") == "", "a spare box to add a point"
        assert 'for="acknowledge-outcome_sought"' in page.text

    async with admin_http(app) as http:
        await admin_sign_in(http, ALI)
        page = await http.get(f"/cases/{ref}")
        assert forms_on(page.text, ref) == {"record_contact", "withdraw"}
        assert "acknowledge the complaint" in text(page.text), "told a colleague can"
        refused = await post(
            http,
            f"/cases/{ref}/steps/acknowledge",
            page.text,
            {"points": TWO_POINTS, "outcome_sought": "x"},
        )
        assert refused.status_code == 403

    async with admin_http(app) as http:
        await admin_sign_in(http, MO)
        page = await http.get(f"/cases/{ref}")
        assert "assign" in forms_on(page.text, ref), "managers may assign"


async def test_acknowledging_through_the_form_moves_the_case_on_and_sends_the_letter(
    live_admin_app: FastAPI, env: WorkflowEnvironment, settings: Settings
) -> None:
    app = live_admin_app
    ref = await lodge(env, settings, london(2027, 3, 1, 10))
    await step(env.client, ref, "accept", by=JO)
    await travel(env, app, london(2027, 3, 2, 10))  # Tuesday: response due Tue 16 Mar

    async with admin_http(app) as http:
        await admin_sign_in(http, JO)
        page = await http.get(f"/cases/{ref}")
        done = await post(
            http,
            f"/cases/{ref}/steps/acknowledge",
            page.text,
            {
                "points": [TWO_POINTS[0], "Nobody called back after two calls", "", "Rude call"],
                "outcome_sought": "Boiler fixed",
                "by": "somebody.else",  # ignored: `by` is always who is signed in
            },
        )
        assert done.status_code == 303, done.text
        assert done.headers["location"] == f"/cases/{ref}"
        case = await settled(env, ref)
        assert case.status is Status.investigating
        assert case.points == [TWO_POINTS[0], "Nobody called back after two calls", "Rude call"]
        assert case.timeline[-1].actor == JO

        shown = await http.get(f"/cases/{ref}")
        body = text(shown.text)
        assert "Acknowledged. Response due Tue 16 Mar 2027" in body
        assert "Stage 1: response Tue 16 Mar 2027 17:15" in body
        assert "Stage 1 acknowledged; response due Tue 16 Mar 2027" in body
        assert forms_on(shown.text, ref) == {
            "respond",
            "extend",
            "classify",
            "record_contact",
            "withdraw",
        }
        again = text((await http.get(f"/cases/{ref}")).text)
        assert "Acknowledged. Response due" not in again, "the notice shows once"

        link = f'href="/cases/{ref}/letters/s1_acknowledgement"'
        assert link in shown.text, "the timeline links the letter"
        letter = await http.get(f"/cases/{ref}/letters/s1_acknowledgement")
        assert letter.status_code == 200
        assert 'sandbox=""' in letter.text
        framed = re.search(r'srcdoc="([^"]*)"', letter.text)
        assert framed, "the letter is shown in a sandboxed frame"
        assert "We will send you our response by" in html.unescape(framed.group(1))
        assert "Rude call" in html.unescape(framed.group(1))
        missing = await http.get(f"/cases/{ref}/letters/no_such_letter")
        assert missing.status_code == 404


async def test_a_step_the_workflow_refuses_shows_its_reason_and_keeps_the_input(
    live_admin_app: FastAPI, env: WorkflowEnvironment, settings: Settings
) -> None:
    app = live_admin_app
    ref = await lodge(env, settings, london(2027, 3, 1, 10))
    await step(env.client, ref, "accept", by=JO)
    await travel(env, app, london(2027, 3, 2, 10))
    await step(env.client, ref, "acknowledge", by=JO, points=TWO_POINTS, outcome_sought="Fix")

    async with admin_http(app) as http:
        await admin_sign_in(http, JO)
        page = await http.get(f"/cases/{ref}")
        refused = await post(
            http,
            f"/cases/{ref}/steps/respond",
            page.text,
            {
                "point_0": TWO_POINTS[0],
                "decision_0": "upheld",
                "reasons_0": "The engineer missed both visits.",
                "point_1": TWO_POINTS[1],
                "summary": "We got this wrong.",
                "no_remedy": "yes",  # no remedy, confirmed (tests/admin/test_respond_warning.py)
            },
        )
        assert refused.status_code == 409
        assert error_summary(refused.text) == [
            (
                "#respond-decision_0",
                f"Give a decision on every point of the complaint; missing: '{TWO_POINTS[1]}'.",
            ),
            (
                "#step-respond",
                "The complaint has no category, and the response is counted under one. Record "
                "the category (the 'classify' step) first, then send the response.",
            ),
            (
                "#respond-root_cause_0",
                f"Point 1 ('{TWO_POINTS[0]}') is upheld: give its root cause, what went wrong, "
                "so the landlord can learn from it.",
            ),
        ], "every problem at once, each linked to its box"
        assert textarea(refused.text, "respond-reasons_0") == "The engineer missed both visits."
        assert textarea(refused.text, "respond-summary") == "We got this wrong."
        assert re.search(
            r'id="respond-decision_0" name="decision_0" value="upheld" checked', refused.text
        )

        no_talk = await post(
            http,
            f"/cases/{ref}/steps/extend",
            page.text,
            {"reasons": "Waiting for the contractor's report", "working_days": "5"},
        )
        assert no_talk.status_code == 409
        ((href, reason),) = error_summary(no_talk.text)
        assert href == "#extend-discussed_with_resident"
        assert "discuss an extension with the resident first" in reason
        assert textarea(no_talk.text, "extend-reasons") == "Waiting for the contractor's report"

        out_of_order = await post(http, f"/cases/{ref}/steps/accept", page.text, {})
        assert out_of_order.status_code == 409
        assert "'accept' is not possible while the case is at stage1" in text(out_of_order.text)
        case = await settled(env, ref)
        assert case.status is Status.investigating, "nothing changed"


async def test_an_extended_deadline_says_how_often_in_words(
    live_admin_app: FastAPI, env: WorkflowEnvironment, settings: Settings
) -> None:
    app = live_admin_app
    ref = await lodge(env, settings, london(2027, 3, 1, 10))
    await step(env.client, ref, "accept", by=JO)
    await travel(env, app, london(2027, 3, 2, 10))
    await step(env.client, ref, "acknowledge", by=JO, points=TWO_POINTS, outcome_sought="Fix")
    extension = {"reasons": "Waiting for a report", "discussed_with_resident": True}
    await step(env.client, ref, "extend", by=JO, working_days=2, **extension)
    async with admin_http(app) as http:
        await admin_sign_in(http, JO)
        once = text((await http.get(f"/cases/{ref}")).text)
        await step(env.client, ref, "extend", by=JO, working_days=3, **extension)
        twice = text((await http.get(f"/cases/{ref}")).text)
    assert "Extended once; first due" in once
    assert "Extended 2 times; first due" in twice and "time(s)" not in twice


async def test_bad_input_is_named_in_plain_english_before_the_workflow_is_asked(
    live_admin_app: FastAPI, env: WorkflowEnvironment, settings: Settings
) -> None:
    app = live_admin_app
    ref = await lodge(env, settings, london(2027, 3, 1, 10))
    await step(env.client, ref, "accept", by=JO)
    pin_clock(app, await env.get_current_time())

    async with admin_http(app) as http:
        await admin_sign_in(http, JO)
        page = await http.get(f"/cases/{ref}")
        bad = await post(
            http,
            f"/cases/{ref}/steps/acknowledge",
            page.text,
            {"points": ["  ", "Only this point", ""], "outcome_sought": "   "},
        )
        assert bad.status_code == 400
        assert error_summary(bad.text) == [
            ("#acknowledge-outcome_sought", "Enter the outcome the resident is looking for")
        ]
        assert 'class="form-group form-group--error' in bad.text
        assert textarea(bad.text, "acknowledge-points-1") == "Only this point", "input kept"

        no_points = await post(
            http,
            f"/cases/{ref}/steps/acknowledge",
            page.text,
            {"points": ["", ""], "outcome_sought": "Fix it"},
        )
        assert error_summary(no_points.text) == [
            ("#acknowledge-points-0", "Enter at least one point of the complaint")
        ]

        contact = await post(
            http,
            f"/cases/{ref}/steps/record_contact",
            page.text,
            {
                "method": "phone",
                "notes": "",
                **boxes("at_date", "30 2 2027"),
                "at_time": "25:00",
            },
        )
        assert contact.status_code == 400
        assert error_summary(contact.text) == [
            (
                "#record_contact-at_date-day",
                "Enter the date of the contact as a real date, like 27 3 2027",
            ),
            (
                "#record_contact-at_time",
                "Enter a real time, like 17:30, for the time of the contact",
            ),
            ("#record_contact-notes", "Enter notes of the contact"),
        ]
        case = await settled(env, ref)
        assert case.status is Status.awaiting_acknowledgement


# ---------------------------------------------------------------- log a complaint


def _new_complaint(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "channel": "phone",
        **boxes("received_date", "5 3 2027"),
        "received_time": "17:30",
        "complainant_type": "resident",
        "name": "Eve Evening",
        "acting_for": "",
        "email": "eve@example.org",
        "phone": "07700 900123",
        "address_lines": "4 Station Road\nEdenbridge",
        "postcode": "tn8 5aa",
        "preferred_contact": "email",
        "reasonable_adjustments": "Phone calls only after 6pm",
        "description": "The lift has been broken for three weeks.",
        "points": ["The lift is broken", "Nobody told us when it will be fixed", "", "", ""],
        "outcome_sought": "Lift repaired",
        **boxes("incident_date", ""),
        **boxes("became_aware_date", ""),
        "owner": "",
    }
    data.update(changes)
    return data


async def test_a_complaint_logged_on_friday_evening_counts_from_monday(
    live_admin_app: FastAPI, env: WorkflowEnvironment, settings: Settings
) -> None:
    app = live_admin_app
    await travel(env, app, london(2027, 3, 5, 17, 45))  # Friday, after 16:45

    async with admin_http(app) as http:
        await admin_sign_in(http, JO)
        form = await http.get("/complaints/new")
        assert form.status_code == 200
        for label in ("received_date-day", "received_date-month", "received_date-year"):
            assert f'for="complaint-{label}"' in form.text
        assert 'for="complaint-received_time"' in form.text
        # today's date, UK time, filled in
        for part, shown in (("day", "5"), ("month", "3"), ("year", "2027")):
            assert box_value(form.text, f"complaint-received_date-{part}") == shown

        bad = await post(
            http,
            "/complaints/new",
            form.text,
            _new_complaint(
                name="",
                email="eve@",
                complainant_type="third_party",
                **boxes("received_date", "6 3 2027"),
            ),
        )
        assert bad.status_code == 400
        problems = dict(error_summary(bad.text))
        assert problems["#complaint-received_date-day"] == (
            "The date and time it was received is in the future"
        )
        assert problems["#complaint-name"] == "Enter the name of the person complaining"
        assert problems["#complaint-email"] == (
            "Enter the email address in the right format, like name@example.com"
        )
        assert textarea(bad.text, "complaint-description") == (
            "The lift has been broken for three weeks."
        )

        consent = await post(
            http, "/complaints/new", form.text, _new_complaint(complainant_type="third_party")
        )
        assert consent.status_code == 400
        ((href, message),) = error_summary(consent.text)
        assert href == "#complaint-third_party_consent"
        assert message == (
            "A third party can complain for a resident only with their consent: tick that the "
            "resident has given consent once they have"
        ), "the box's own words, no field names"

        logged = await post(http, "/complaints/new", form.text, _new_complaint(owner=JO))
        assert logged.status_code == 303, logged.text
        ref = logged.headers["location"].removeprefix("/cases/")
        case = await settled(env, ref)
        assert case.received_on == date(2027, 3, 8)
        assert case.received_at == london(2027, 3, 5, 17, 30)
        assert case.owner and case.owner.id == JO
        assert case.resident.address and case.resident.address.postcode == "TN8 5AA"
        assert case.points == ["The lift is broken", "Nobody told us when it will be fixed"]
        assert case.stage is Stage.triage

        page = text((await http.get(f"/cases/{ref}")).text)
        assert f"Complaint {ref} logged. It counts as received on Mon 08 Mar 2027" in page
        assert "Counts as received on Mon 08 Mar 2027" in page
        assert "Stage 1: contact the resident Thu 11 Mar 2027 17:15" in page
        assert "Phone calls only after 6pm" in page

        found = await http.get("/search", params={"q": "TN85AA"})
        assert ref in found.text and "Eve Evening" in found.text
        by_name = await http.get("/search", params={"q": "eve eve"})
        assert ref in by_name.text
        assert "0 cases found" in text((await http.get("/search?q=ZZ99")).text)


# ----------------------------------------------------------------------- staff


async def test_managers_manage_staff_accounts_and_nobody_else_can(
    offline_admin_app: FastAPI,
) -> None:
    app = offline_admin_app
    async with admin_http(app) as http:
        await admin_sign_in(http, JO)
        assert (await http.get("/staff")).status_code == 403
        page = await http.get("/queues/mine")
        sneaky = await post(
            http,
            "/staff",
            page.text,
            {"id": "x.y", "name": "X", "email": "x@example.org", "role": "manager"},
        )
        assert sneaky.status_code == 403
        assert 'href="/staff"' not in page.text, "no Staff link for other roles"

    async with admin_http(app) as http:
        await admin_sign_in(http, MO)
        page = await http.get("/staff")
        assert page.status_code == 200
        assert "Jo Officer" in page.text

        bad = await post(
            http,
            "/staff",
            page.text,
            {
                "id": "Kim Officer",
                "name": "",
                "email": "kim",
                "role": "case_officer",
                "password": "short",
            },
        )
        assert bad.status_code == 400
        assert dict(error_summary(bad.text)) == {
            "#new-id": "Enter a username of lower-case letters, digits, dots or dashes",
            "#new-name": "Enter their full name",
            "#new-email": "Enter their email address in the right format, like name@example.com",
            "#new-password": "Enter a password of at least 12 characters",
        }

        new = {
            "id": "kim.officer",
            "name": "Kim Officer",
            "email": "kim@wkha.example",
            "role": "case_officer",
            "password": "a long enough password",
        }
        created = await post(http, "/staff", page.text, new)
        assert created.status_code == 303
        listed = await http.get("/staff")
        assert "Account kim.officer created for Kim Officer." in text(listed.text)
        duplicate = await post(http, "/staff", page.text, new)
        assert duplicate.status_code == 400
        assert "There is already an account 'kim.officer'. Choose another username." in text(
            duplicate.text
        )

        changed = await post(
            http, "/staff/kim.officer", page.text, {"role": "reviewer", "password": ""}
        )
        assert changed.status_code == 303
        kim = app.state.accounts.get("kim.officer")
        assert (kim.role.value, kim.active) == ("reviewer", False)

        myself = await post(http, f"/staff/{MO}", page.text, {"role": "advisor", "active": "yes"})
        assert myself.status_code == 400
        assert "You cannot remove your own manager role" in text(myself.text)

    async with admin_http(app) as http:
        token_page = await http.get("/login")
        refused = await http.post(
            "/login",
            data={
                "username": "kim.officer",
                "password": "a long enough password",
                "next": "/",
                "csrf_token": csrf_in(token_page.text),
            },
        )
        assert refused.status_code == 400, "a closed account cannot sign in"
        assert STAFF_PASSWORD  # the conftest's accounts all share it


@pytest.mark.parametrize("path", ["/queues/nowhere", "/cases/not-a-ref", "/enquiries/not-a-ref"])
async def test_unknown_pages_say_so_without_asking_temporal(
    offline_admin_app: FastAPI, path: str
) -> None:
    async with admin_http(offline_admin_app) as http:
        await admin_sign_in(http, JO)
        response = await http.get(path)
        assert response.status_code == 404


async def test_a_case_temporal_does_not_know_is_not_found(live_admin_app: FastAPI) -> None:
    async with admin_http(live_admin_app) as http:
        await admin_sign_in(http, JO)
        for path in ("/cases/CMP-AAAA-BBBB", "/enquiries/ENQ-AAAA-BBBB"):
            response = await http.get(path)
            assert response.status_code == 404, path
            assert "There is no " in text(response.text)


# ------------------------------------------------ who is offered what, and taking a case


def take_button(page: str, ref: str, kind_path: str = "cases") -> bool:
    return bool(
        re.search(
            rf'<form method="post" action="/{kind_path}/{ref}/steps/assign".*?'
            r'name="owner" value="[^"]+".*?id="take-submit"',
            page,
            re.S,
        )
    )


async def test_at_stage_2_a_stage_1_officer_is_offered_no_stage_2_forms(
    live_admin_app: FastAPI, env: WorkflowEnvironment, settings: Settings
) -> None:
    app = live_admin_app
    ref = await lodge(env, settings, london(2027, 3, 1, 10))
    await step(env.client, ref, "accept", by=JO, category=CATEGORY)
    await step(env.client, ref, "acknowledge", by=JO, points=TWO_POINTS, outcome_sought="Fix")
    decisions = [decided(p, "upheld", "We were wrong") for p in TWO_POINTS]
    await step(env.client, ref, "respond", by=JO, decisions=decisions, summary="Sorry")
    await step(env.client, ref, "escalate", by=ALI)
    case = await settled(env, ref)
    assert case.stage is Stage.stage2 and JO in case.stage1_participants
    pin_clock(app, await env.get_current_time())

    async with admin_http(app) as http:
        await admin_sign_in(http, JO)
        page = await http.get(f"/cases/{ref}")
        assert forms_on(page.text, ref) == {"withdraw"}, "no acknowledge or contact: took part"
        others = re.search(r'id="other-steps">([^<]*)<', page.text)
        assert others and "acknowledge the complaint" in others.group(1)
        assert not take_button(page.text, ref), "a stage 1 participant may not own stage 2"

    async with admin_http(app) as http:
        await admin_sign_in(http, SAM)
        page = await http.get(f"/cases/{ref}")
        assert forms_on(page.text, ref) == {
            "acknowledge",
            "classify",
            "record_contact",
            "raise_new_issues",
            "refer_to_ombudsman",
            "withdraw",
        }
        done = await post(
            http,
            f"/cases/{ref}/steps/acknowledge",
            page.text,
            {"points": TWO_POINTS, "outcome_sought": "Fix"},
        )
        assert done.status_code == 303, done.text


async def test_a_case_officer_takes_an_unowned_case(
    live_admin_app: FastAPI, env: WorkflowEnvironment, settings: Settings, store: RecordsStore
) -> None:
    app = live_admin_app
    ref = await lodge(env, settings, london(2027, 3, 1, 10))
    pin_clock(app, await env.get_current_time())

    async with admin_http(app) as http:
        await admin_sign_in(http, JO)
        page = await http.get(f"/cases/{ref}")
        assert "Take this case" in text(page.text) and take_button(page.text, ref)
        assert "assign" not in forms_on(page.text, ref), "assigning others is a manager's"
        taken = await post(http, f"/cases/{ref}/steps/assign", page.text, {"owner": JO})
        assert (taken.status_code, taken.headers["location"]) == (303, f"/cases/{ref}")
        shown = await http.get(f"/cases/{ref}")
        body = text(shown.text)
        assert "You have taken this case: it is in My cases" in body
        assert "Owner Jo Officer (jo.officer)" in body
        assert not take_button(shown.text, ref), "nobody is offered an owned case"
        case = await settled(env, ref)
        assert case.owner and case.owner.id == JO
        assert case.timeline[-1].actor == JO
        assert ref in queue_rows((await http.get("/queues/mine")).text)


async def test_an_officer_cannot_take_an_owned_case_or_assign_someone_else(
    live_admin_app: FastAPI, env: WorkflowEnvironment, settings: Settings
) -> None:
    app = live_admin_app
    owned = await lodge(env, settings, london(2027, 3, 1, 10), owner=staff(app, JO))
    unowned = await lodge(env, settings, london(2027, 3, 1, 11))
    pin_clock(app, await env.get_current_time())

    async with admin_http(app) as http:
        await admin_sign_in(http, SAM)
        page = await http.get(f"/cases/{owned}")
        assert not take_button(page.text, owned)
        refused = await post(http, f"/cases/{owned}/steps/assign", page.text, {"owner": SAM})
        assert refused.status_code == 403
        assert "This case is already Jo Officer's, so it cannot be taken" in text(refused.text)

        page = await http.get(f"/cases/{unowned}")
        assert take_button(page.text, unowned)
        for_jo = await post(http, f"/cases/{unowned}/steps/assign", page.text, {"owner": JO})
        assert for_jo.status_code == 403
        assert "You can assign a case only to yourself" in text(for_jo.text)

    assert (await settled(env, owned)).owner.id == JO
    assert (await settled(env, unowned)).owner is None

    async with admin_http(app) as http:
        await admin_sign_in(http, MO)
        page = await http.get(f"/cases/{owned}")
        moved = await post(http, f"/cases/{owned}/steps/assign", page.text, {"owner": SAM})
        assert moved.status_code == 303, "a manager assigns anyone, owned or not"
    assert (await settled(env, owned)).owner.id == SAM


async def test_an_advisor_is_not_offered_take_this_case(
    live_admin_app: FastAPI, env: WorkflowEnvironment, settings: Settings
) -> None:
    app = live_admin_app
    ref = await lodge(env, settings, london(2027, 3, 1, 10))
    pin_clock(app, await env.get_current_time())

    async with admin_http(app) as http:
        await admin_sign_in(http, ALI)
        page = await http.get(f"/cases/{ref}")
        assert page.status_code == 200
        assert "Take this case" not in text(page.text) and not take_button(page.text, ref)
        refused = await post(http, f"/cases/{ref}/steps/assign", page.text, {"owner": ALI})
        assert refused.status_code == 403
    assert (await settled(env, ref)).owner is None


async def test_the_case_page_shows_the_policy_the_case_runs_under(
    live_admin_app: FastAPI, env: WorkflowEnvironment, settings: Settings
) -> None:
    app = live_admin_app
    ref = await lodge(env, settings, london(2027, 3, 1, 10))
    older = await lodge(
        env,
        settings,
        london(2027, 3, 1, 11),
        policy=policy_with("urgency", due_soon_working_days=3),
    )
    pin_clock(app, await env.get_current_time())
    async with admin_http(app) as http:
        await admin_sign_in(http, JO)
        body = text((await http.get(f"/cases/{ref}")).text)
        assert f"Policy {POLICY.name}, version {POLICY.version}" in body
        assert f"Content hash {POLICY.stamp().hash[:12]}" in body
        other = text((await http.get(f"/cases/{older}")).text)
        assert f"Content hash {POLICY.stamp().hash[:12]}" not in other, "its own policy's hash"
