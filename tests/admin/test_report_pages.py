"""The performance report's page and CSV, for managers only, from the records database (the
cases of tests/records/test_promise_report.py, whose figures are worked out there)."""

from __future__ import annotations

import csv
import io
import re
from datetime import date

from fastapi import FastAPI

from admin.routes.reports import reporting_year_start
from records.store import RecordsStore
from tests.admin.conftest import admin_http, admin_sign_in
from tests.admin.test_pages import JO, MO, error_summary, pin_clock, text
from tests.records.test_promise_report import cases
from tests.support import london


def row(page: str, promise: str) -> str:
    found = re.search(rf'<tr id="promise-{promise}">.*?</tr>', page, re.S)
    assert found, f"no row for {promise}"
    return text(found.group(0))


async def test_a_manager_reads_performance_against_every_promise(
    offline_admin_app: FastAPI, store: RecordsStore
) -> None:
    app = offline_admin_app
    cases(store)
    pin_clock(app, london(2027, 4, 12, 9))
    async with admin_http(app) as http:
        await admin_sign_in(http, MO)
        page = await http.get("/queues/team")
        assert '<a href="/reports/promises">Reports</a>' in page.text

        # by default: this reporting year (from 1 April) to today, when nothing was due yet
        default = await http.get("/reports/promises")
        assert default.status_code == 200
        assert "1 April 2027 to 12 April 2027" in text(default.text)

        march = await http.get("/reports/promises?from=2027-03-01&to=2027-03-31")
        assert march.status_code == 200
        body = text(march.text)
        assert "from 01 March 2027 to 31 March 2027" in body
        assert row(march.text, "s1_contact") == (
            "Stage 1: contact the resident within 3 working days 2 1 1 50.0% 3 0"
        )
        assert (
            row(march.text, "s1_response")
            == "Stage 1: respond within 10 working days 1 1 0 100.0% 10 1"
        )
        assert row(march.text, "enquiry_reply-letter") == (
            "Letter: reply within 5 working days 1 0 1 0.0% – 0"
        )
        assert (
            row(march.text, "s2_response")
            == "Stage 2: respond within 20 working days 0 0 0 None due – 0"
        )
        for heading in ("Complaints policy", "Customer service standards", "By month"):
            assert f'<h2 class="heading-m">{heading}</h2>' in march.text
        assert 'href="/reports/promises.csv?from=2027-03-01&amp;to=2027-03-31"' in march.text

        download = await http.get("/reports/promises.csv?from=2027-03-01&to=2027-04-30")
        assert download.status_code == 200
        assert download.headers["content-type"].startswith("text/csv")
        assert (
            'filename="promises-2027-03-01-to-2027-04-30.csv"'
            in (download.headers["content-disposition"])
        )
        rows = list(csv.DictReader(io.StringIO(download.text)))
        s1_response = {(r["month"], r["promise"]): r for r in rows if r["promise"] == "s1_response"}
        assert set(s1_response) == {
            ("all", "s1_response"),
            ("2027-03", "s1_response"),
            ("2027-04", "s1_response"),
        }
        whole = s1_response[("all", "s1_response")]
        assert (whole["due"], whole["met"], whole["median_working_days"]) == ("2", "2", "8.0")

        bad = await http.get("/reports/promises?from=2027-13-01&to=2027-03-31")
        assert bad.status_code == 400
        assert dict(error_summary(bad.text)) == {
            "#report-from": "Enter the first day as a date, like 2027-04-01"
        }
        backwards = await http.get("/reports/promises?from=2027-03-31&to=2027-03-01")
        assert dict(error_summary(backwards.text)) == {
            "#report-to": "The last day must be on or after the first day"
        }
        assert (await http.get("/reports/promises.csv?to=nonsense")).status_code == 400


async def test_reports_are_for_managers(offline_admin_app: FastAPI) -> None:
    async with admin_http(offline_admin_app) as http:
        await admin_sign_in(http, JO)
        assert (await http.get("/reports/promises")).status_code == 403
        assert (await http.get("/reports/promises.csv")).status_code == 403
        page = await http.get("/queues/team")
        assert "/reports/promises" not in page.text
    async with admin_http(offline_admin_app) as http:
        answer = await http.get("/reports/promises")
        assert answer.status_code == 303 and answer.headers["location"].startswith("/login")


def test_the_reporting_year_starts_on_1_april() -> None:
    assert reporting_year_start(date(2027, 4, 1)) == date(2027, 4, 1)
    assert reporting_year_start(date(2027, 3, 31)) == date(2026, 4, 1)
    assert reporting_year_start(date(2028, 1, 15)) == date(2027, 4, 1)
