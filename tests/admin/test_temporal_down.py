"""The admin app while Temporal is down: pointed at an address where nothing listens, with the
lazy client `python -m admin` uses (admin/temporal.py). Every route of the app, every method,
signed in as a manager with the CSRF token: none answers with a 500; each route that needs
Temporal answers 503 within 2 seconds with the plain message (the error page, the form
again, or a JSON body); the rest (queues, search, staff accounts, sign-in, /healthz) work. A case
the records database holds is shown as last recorded, read-only, still with 503.
"""

from __future__ import annotations

import html
import re
import time
from collections.abc import Iterator
from datetime import UTC
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from admin.app import create_app
from admin.temporal import (
    RECORDED_NOTICE,
    REMEMBER,
    TEMPORAL_DOWN,
    CaseSystem,
    TemporalDown,
    connect,
    require_temporal,
    status,
)
from config import Settings
from domain.complaint import ComplaintStatus, workflow_id
from domain.enquiry import EnquiryStatus, enquiry_workflow_id
from domain.records import CaseSnapshot, RecordRequest, TimelineEntry
from records.learning import LearningLog, NewLesson
from records.store import RecordsStore
from tests.admin.conftest import admin_http, admin_sign_in
from tests.admin.test_enquiry_pages import _new_enquiry
from tests.admin.test_pages import _new_complaint
from tests.admin.test_public_and_api import form as public_form
from tests.admin.test_security import every_route
from tests.processes import free_port
from tests.support import london

NOWHERE = "127.0.0.1:1"  # nothing listens on port 1
INBOUND_SECRET = "s" * 40
NOW = london(2027, 3, 8, 10)
COMPLAINT, ENQUIRY = "CMP-0000-0001", "ENQ-0000-0001"  # in no records database
RECORDED_COMPLAINT, RECORDED_ENQUIRY = "CMP-REC0-0001", "ENQ-REC0-0001"
# Steps of each kind, for the API's one route a step.
API_STEP = re.compile(r"^/api/(cases|enquiries)/\{reference\}/steps/\w+$")

# Every route that needs Temporal: it lodges a case, reads one from its workflow or changes it.
TEMPORAL_ROUTES: frozenset[tuple[str, str]] = frozenset(
    {
        ("POST", "/complain"),
        ("POST", "/inbound/sendgrid/{secret}"),
        ("POST", "/complaints/new"),
        ("GET", "/cases/{reference}"),
        ("POST", "/cases/{reference}/steps/{step_name}"),
        ("POST", "/enquiries/new"),
        ("GET", "/enquiries/{reference}"),
        ("POST", "/enquiries/{reference}/steps/{step_name}"),
        ("POST", "/api/complaints"),
        ("GET", "/api/cases/{reference}"),
        ("POST", "/api/enquiries"),
        ("GET", "/api/enquiries/{reference}"),
        ("POST", "/people/{reference}/restrictions"),  # its letter goes at once
        ("POST", "/data-protection/erasure"),  # a case whose workflow runs is never erased
    }
)
# Pages that, while Temporal is down, keep what was typed: a form with nothing wrong with it
# gets the 503 (with one thing wrong, the 400 says what, as it always does).
VALID_FORMS: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/complaints/new"): _new_complaint(),
    ("POST", "/enquiries/new"): _new_enquiry(),
    ("POST", "/complain"): public_form(""),
}
# The residents' form says it in words for residents, with a number to call.
RESIDENTS_DOWN = "Sorry, we could not send your complaint just now. Your answers are still here"


def needs_temporal(method: str, path: str) -> bool:
    return (method, path) in TEMPORAL_ROUTES or (method == "POST" and bool(API_STEP.match(path)))


def calls(dependant: Dependant) -> Iterator[Any]:
    for dependency in dependant.dependencies:
        yield dependency.call
        yield from calls(dependency)


def depends_on_require_temporal(route: Any) -> bool:
    return isinstance(route, APIRoute) and require_temporal in set(calls(route.dependant))


def sample(path: str) -> str:
    """The path with plausible values: a reference of the right kind, a real step, ..."""
    enquiry = path.startswith(("/enquiries", "/api/enquiries"))
    values = {
        "reference": ENQUIRY if enquiry else COMPLAINT,
        "step_name": "reply" if enquiry else "accept",
        "key": "s1_acknowledgement",
        "secret": INBOUND_SECRET,
        "name": "team",
        "account_id": "jo.officer",
        "token": "not-a-survey-token",
        "slug": "call-back",
        "file_id": "1",
        "year_label": "2026-27",
    }
    return re.sub(r"{(\w+)}", lambda m: values[m.group(1)], path)


def text(page: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def snapshot(case: ComplaintStatus | EnquiryStatus, name: str) -> RecordRequest:
    data = case.model_dump(mode="json")
    return RecordRequest(
        snapshot=CaseSnapshot(
            reference=case.reference,
            kind="enquiry" if isinstance(case, EnquiryStatus) else "complaint",
            stage="stage1" if isinstance(case, ComplaintStatus) else "enquiry",
            status="investigating" if isinstance(case, ComplaintStatus) else "open",
            resident_name=name,
            owner_id=case.owner.id if case.owner else None,
            channel="phone",
            received_at=case.received_at,
            workflow_id=case.workflow_id,
            data=data,
            updated_at=NOW,
        ),
        events=[TimelineEntry(seq=1, at=NOW, step="lodged", summary="Lodged by phone")],
    )


@pytest.fixture
def down_app(admin_settings: Settings, store: RecordsStore, admin_staff: Any) -> FastAPI:
    settings = admin_settings.model_copy(
        update={"temporal_address": NOWHERE, "inbound_parse_secret": INBOUND_SECRET}
    )
    app = create_app(settings, store, connect=connect)
    app.state.clock = lambda: NOW.astimezone(UTC)
    owner = app.state.accounts.get("jo.officer").as_staff()
    complaint = ComplaintStatus(
        reference=RECORDED_COMPLAINT,
        workflow_id=workflow_id(RECORDED_COMPLAINT),
        stage="stage1",
        status="investigating",
        owner=owner,
        resident={"name": "Rita Recorded", "email": "rita@example.org"},
        channel="phone",
        received_at=london(2027, 3, 1),
        description="The lift is broken.",
        points=["The lift is broken"],
        clocks=[],
        overdue=False,
        allowed_steps=["record_contact", "extend", "respond", "assign", "withdraw"],
        stage1_participants=["jo.officer"],
        timeline=[],
        policy={"name": "West Kent", "version": "2024-04", "hash": "0" * 64},
    )
    enquiry = EnquiryStatus(
        reference=RECORDED_ENQUIRY,
        workflow_id=enquiry_workflow_id(RECORDED_ENQUIRY),
        state="open",
        enquirer={"name": "Eddie Recorded", "email": "eddie@example.org"},
        channel="online_form",
        received_at=london(2027, 3, 8, 9),
        subject="Rent",
        message="When is rent due?",
        clocks=[],
        overdue=False,
        allowed_steps=["reply", "close", "assign"],
        timeline=[],
    )
    store.record(snapshot(complaint, "Rita Recorded"))
    store.record(snapshot(enquiry, "Eddie Recorded"))
    return app


async def send(
    http: httpx.AsyncClient, method: str, path: str, csrf: str
) -> tuple[httpx.Response, float]:
    url = sample(path)
    headers = {"X-CSRF-Token": csrf}
    kwargs: dict[str, Any] = {"headers": headers}
    if method == "POST":
        if path.startswith("/api/"):
            kwargs["json"] = {}
        else:
            kwargs["data"] = VALID_FORMS.get((method, path), {"x": ""})
    started = time.monotonic()
    response = await http.request(method, url, **kwargs)
    return response, time.monotonic() - started


def test_exactly_the_routes_that_use_temporal_depend_on_require_temporal(
    down_app: FastAPI,
) -> None:
    routes = {(method, path): route for method, path, route in every_route(down_app)}
    depending = {key for key, route in routes.items() if depends_on_require_temporal(route)}
    expected = {key for key in routes if needs_temporal(*key)}
    assert expected >= TEMPORAL_ROUTES, "a route in TEMPORAL_ROUTES no longer exists"
    assert len(expected - TEMPORAL_ROUTES) == 20 + 9, "a route a step, for each kind's steps"
    assert depending == expected


async def test_every_route_answers_within_2_seconds_and_those_needing_temporal_say_503(
    down_app: FastAPI,
) -> None:
    routes = sorted(
        ((method, path) for method, path, _ in every_route(down_app)),
        key=lambda r: r == ("POST", "/logout"),  # signing out last
    )
    assert len(routes) >= 50
    checked: list[tuple[str, str, int]] = []
    async with admin_http(down_app) as http:
        csrf = await admin_sign_in(http, "mo.manager")
        for method, path in routes:
            response, took = await send(http, method, path, csrf)
            where = f"{method} {path} -> {response.status_code}"
            assert response.status_code != 500, where
            checked.append((method, path, response.status_code))
            if not needs_temporal(method, path):
                assert response.status_code < 500, f"{where}: it needs no Temporal"
                continue
            # not waiting on Temporal (a client's default retries take about a minute): the
            # bound is that, not a speed (a PDF that needs no Temporal may take longer)
            assert took < 2.0, f"{where} took {took:.1f}s"
            assert response.status_code == 503, where
            if path.startswith(("/api/", "/inbound/")):
                assert response.json() == {"detail": TEMPORAL_DOWN}, where
                assert response.headers.get("retry-after") or path.startswith("/inbound/")
            elif path == "/complain":
                assert RESIDENTS_DOWN in text(response.text), where
                assert 'value="Ann Example"' in response.text, "the answers are kept"
            else:
                page = text(response.text)
                assert TEMPORAL_DOWN in page, where
                assert "Error:" in page or "The case system is not answering –" in page, where
    assert {(m, p) for m, p, _ in checked} == set(routes)
    assert sum(1 for *_, status in checked if status == 503) == len(TEMPORAL_ROUTES) + 29


async def test_records_only_pages_keep_working(down_app: FastAPI) -> None:
    async with admin_http(down_app) as http:
        await admin_sign_in(http, "jo.officer")
        mine = await http.get("/queues/mine")
        assert mine.status_code == 200 and RECORDED_COMPLAINT in mine.text
        found = await http.get("/search", params={"q": "rita"})
        assert found.status_code == 200 and RECORDED_COMPLAINT in found.text
        listed = await http.get("/api/enquiries", params={"queue": "team"})
        assert [c["reference"] for c in listed.json()["cases"]] == [RECORDED_ENQUIRY]
        assert (await http.get("/healthz")).json() == {
            "status": "degraded",
            "records": "ok",
            "temporal": "down",
        }
        form = await http.get("/complaints/new")
        assert form.status_code == 200


async def test_a_recorded_case_is_shown_as_last_recorded_read_only_with_503(
    down_app: FastAPI,
) -> None:
    async with admin_http(down_app) as http:
        csrf = await admin_sign_in(http, "jo.officer")
        page = await http.get(f"/cases/{RECORDED_COMPLAINT}")
        assert page.status_code == 503
        body = text(page.text)
        assert RECORDED_NOTICE in body
        assert "Rita Recorded" in body and "The lift is broken" in body
        assert "Lodged by phone" in body, "the recorded timeline"
        assert "Policy West Kent, version 2024-04" in body
        assert "Steps cannot be taken from the last record of a complaint" in body
        assert "/steps/" not in page.text, "no forms, no Take this case"

        enquiry = await http.get(f"/enquiries/{RECORDED_ENQUIRY.lower()}")
        assert enquiry.status_code == 503
        assert RECORDED_NOTICE in text(enquiry.text) and "When is rent due?" in enquiry.text

        step = await http.post(
            f"/cases/{RECORDED_COMPLAINT}/steps/record_contact",
            data={"notes": "Called", "method": "phone"},
            headers={"X-CSRF-Token": csrf},
        )
        assert step.status_code == 503
        assert RECORDED_NOTICE in text(step.text), "nothing changed, and the page says why"

        never_recorded = await http.get(f"/cases/{COMPLAINT}")
        assert never_recorded.status_code == 503
        assert TEMPORAL_DOWN in text(never_recorded.text)


async def test_a_form_with_problems_still_says_what_is_wrong(down_app: FastAPI) -> None:
    async with admin_http(down_app) as http:
        csrf = await admin_sign_in(http, "jo.officer")
        bad = await http.post(
            "/complaints/new", data={**_new_complaint(name=""), "csrf_token": csrf}
        )
        assert bad.status_code == 400
        assert "Enter the name of the person complaining" in text(bad.text)
        assert TEMPORAL_DOWN not in text(bad.text)


class Health:
    """A client's health service that counts the checks and answers as told."""

    def __init__(self) -> None:
        self.checks = 0
        self.up = True

    async def check_health(self, **_: Any) -> bool:
        self.checks += 1
        if not self.up:
            raise RuntimeError("Failed client connect: connection refused")
        return True


class FakeClient:
    def __init__(self) -> None:
        self.service_client = Health()


async def test_the_answer_of_the_health_check_is_remembered_for_a_couple_of_seconds(
    admin_settings: Settings,
) -> None:
    now = [100.0]
    client = FakeClient()
    system = CaseSystem(admin_settings, client=client, clock=lambda: now[0])  # type: ignore[arg-type]
    assert await system.client_if_up() is client
    assert await system.client_if_up() is client
    assert client.service_client.checks == 1, "a page asking twice pays for one check"
    now[0] += REMEMBER + 0.1
    client.service_client.up = False
    assert await system.client_if_up() is None
    assert client.service_client.checks == 2
    assert await system.client_if_up() is None and client.service_client.checks == 2
    now[0] += REMEMBER + 0.1
    client.service_client.up = True
    assert await system.client_if_up() is client, "back as soon as it answers again"
    system.mark_down()  # a call failed meanwhile
    assert await system.client_if_up() is None and client.service_client.checks == 3


async def test_a_call_between_health_checks_gives_up_within_2_seconds(
    admin_settings: Settings,
) -> None:
    """Temporal can go away just after a good health check: the call itself must not retry for
    the SDK's default 10 s (bench/temporal_down.py measured 9.9 s to the 503 page before)."""
    settings = admin_settings.model_copy(update={"temporal_address": f"127.0.0.1:{free_port()}"})
    client = await connect(settings)
    assert client.service_client.config.retry_config.max_elapsed_time_millis <= 2000
    with pytest.raises(TemporalDown):
        await status(client, "CMP-ABCD-2345")


async def test_a_complaint_page_lists_the_lessons_linked_to_it(down_app: FastAPI) -> None:
    log = LearningLog(down_app.state.store)
    lesson = log.record_lesson(
        NewLesson(
            title="Lift faults were not passed to the contractor",
            service_area="Repairs",
            references=[RECORDED_COMPLAINT],
        ),
        by="jo.officer",
        now=NOW,
    )
    async with admin_http(down_app) as http:
        await admin_sign_in(http, "jo.officer")
        page = await http.get(f"/cases/{RECORDED_COMPLAINT}")
        body = text(page.text)
        assert "Lessons learned" in body
        assert f'<a class="link" href="/learning/lessons/{lesson.id}">' in page.text
        assert (
            "Lift faults were not passed to the contractor (Repairs): no improvements yet" in body
        )
        enquiry = text((await http.get(f"/enquiries/{RECORDED_ENQUIRY.lower()}")).text)
        assert "Lessons learned" not in enquiry
