"""axe-core on every page of the app, on the real stack in Chromium: every GET route that answers
HTML (the app's own route table, so a page added later is checked too, or this test says which
route it cannot fill in), signed in as a manager for staff pages and signed out for the public
and residents' pages. Any WCAG 2.2 A or AA violation fails.

Left out: JSON (/api/*, /healthz), CSV and PDF downloads, and /api/docs, whose Swagger UI comes
from a CDN that tests cannot reach."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import FastAPI

from admin.routes import register
from letters.case_link import make_token as link_token
from letters.survey import make_token as survey_token
from records.learning import LearningLog, NewLesson
from records.persons import PersonRecords
from tests.admin.test_security import every_route
from tests.browser.accessibility import violations
from tests.browser.conftest import outbox_letter, sign_in
from tests.support import (
    CATEGORY,
    SURVEY_SECRET,
    complaint,
    enquiry,
    start,
    start_enquiry,
    step,
)

NOT_PAGES = ("/api/", "/healthz")
NOT_PAGE_SUFFIXES = (".csv", ".pdf", ".zip", "/evidence/{file_id}")  # downloads
QUEUES = ("mine", "team", "due-today", "due-soon", "overdue")
PUBLIC = ("/complain", "/performance", "/you-said-we-did", "/annual-reports", "/login")
RESIDENT = ("/your-case/", "/survey/", "/complain/done/")


def page_routes() -> list[str]:
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    register(app)
    paths = {path for method, path, _ in every_route(app) if method == "GET"}
    return sorted(
        p for p in paths if not p.startswith(NOT_PAGES) and not p.endswith(NOT_PAGE_SUFFIXES)
    )


class Settings:  # what the token makers read
    survey_secret = SURVEY_SECRET
    public_base_url = ""


async def test_every_page_has_no_wcag_a_or_aa_violation(stack, new_page):
    client = stack.env.client
    case = complaint(datetime.now(UTC))
    ref = case.reference
    await start(client, case, stack.task_queue)
    await step(client, ref, "accept", by="mo.manager", category=CATEGORY)
    await step(client, ref, "acknowledge", by="mo.manager", points=case.points, outcome_sought="x")
    query = enquiry(datetime.now(UTC))
    await start_enquiry(client, query, stack.task_queue)
    await outbox_letter(stack.outbox / ref, "s1_acknowledgement")
    lesson = LearningLog(stack.store).record_lesson(
        NewLesson(title="Check the pages", service_area="Repairs", references=[ref]),
        by="mo.manager",
        now=datetime.now(UTC),
    )
    person = PersonRecords(stack.store).create_from_case(ref, "mo.manager", datetime.now(UTC))
    fill = {
        "{reference}": ref,
        "{key}": "s1_acknowledgement",
        "{account_id}": "jo.officer",
        "{lesson_id:int}": str(lesson.id),
        "{year_label}": "2026-27",
        "{slug}": "call-back",
    }
    urls: list[tuple[str, bool]] = []  # (url, signed in)
    for route in page_routes():
        if route == "/queues/{name}":
            urls += [(f"/queues/{name}", True) for name in QUEUES]
            continue
        url = route
        if route.startswith("/your-case/"):
            url = url.replace("{token}", link_token(Settings, ref, 0))
        elif route.startswith("/survey/"):
            url = url.replace("{token}", survey_token(Settings, ref, "0" * 32))
        elif route.startswith("/people/{reference}"):
            url = url.replace("{reference}", person)
        elif route.startswith("/enquiries/{reference}"):
            url = url.replace("{reference}", query.reference).replace("{key}", "enquiry_received")
        for name, value in fill.items():
            url = url.replace(name, value)
        assert "{" not in url, f"add a value for {route} to this test"
        urls.append((url, not url.startswith(PUBLIC + RESIDENT)))

    found: dict[str, list[dict]] = {}
    public, staff = await new_page(), await new_page()
    await sign_in(staff, stack, "mo.manager")
    for url, signed_in in urls:
        page = staff if signed_in else public
        response = await page.goto(stack.base_url + url)
        assert response is not None and response.status < 500, (url, response and response.status)
        if problems := await violations(page):
            found[url] = problems
    summary = {url: [v["id"] for v in problems] for url, problems in found.items()}
    assert not found, f"WCAG 2.2 A/AA violations: {summary}"


async def test_the_check_finds_a_violation_when_there_is_one(new_page):
    page = await new_page()
    await page.set_content(
        '<!DOCTYPE html><html lang="en"><head><title>t</title></head><body><main>'
        '<img src="data:,"><input type="text"></main></body></html>'
    )
    found = {v["id"] for v in await violations(page)}
    assert {"image-alt", "label"} <= found
