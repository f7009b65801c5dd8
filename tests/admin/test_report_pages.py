"""The performance report's page and CSV, for managers only, from the records database (the
cases of tests/records/test_promise_report.py, whose figures are worked out there)."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime

from fastapi import FastAPI

from admin.routes.reports import reporting_year_start
from domain.clocks import ClockKey
from domain.records import RecordRequest
from records.store import RecordsStore
from tests.admin.conftest import admin_http, admin_sign_in
from tests.admin.test_pages import JO, MO, error_summary, pin_clock, text
from tests.records.test_promise_report import cases, clock, cob
from tests.records.test_store import snapshot
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
        assert '<a href="/reports">Reports</a>' in page.text

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
            "#report-from-day": "Enter the first day due as a real date, like 27 3 2027"
        }
        boxes = await http.get(
            "/reports/promises?from-day=1&from-month=3&from-year=2027&to-day=31&to-month=3&to-year="
        )
        assert dict(error_summary(boxes.text)) == {
            "#report-to-year": "The last day due must include a year"
        }
        assert 'name="from-day" type="text" inputmode="numeric" value="1"' in boxes.text
        march_boxes = await http.get(
            "/reports/promises?from-day=1&from-month=3&from-year=2027"
            "&to-day=31&to-month=3&to-year=2027"
        )
        assert 'href="/reports/promises.csv?from=2027-03-01&amp;to=2027-03-31"' in march_boxes.text
        backwards = await http.get("/reports/promises?from=2027-03-31&to=2027-03-01")
        assert dict(error_summary(backwards.text)) == {
            "#report-to-day": "The last day due must be on or after the first day due"
        }
        assert (await http.get("/reports/promises.csv?to=nonsense")).status_code == 400


async def test_reports_are_for_managers(offline_admin_app: FastAPI) -> None:
    async with admin_http(offline_admin_app) as http:
        await admin_sign_in(http, JO)
        assert (await http.get("/reports/promises")).status_code == 403
        assert (await http.get("/reports/promises.csv")).status_code == 403
        for url in ("/reports", "/reports/tsm", "/reports/tsm.csv"):
            assert (await http.get(url)).status_code == 403, url
        page = await http.get("/queues/team")
        assert 'href="/reports"' not in page.text
    async with admin_http(offline_admin_app) as http:
        answer = await http.get("/reports/promises")
        assert answer.status_code == 303 and answer.headers["location"].startswith("/login")


def test_the_reporting_year_starts_on_1_april() -> None:
    assert reporting_year_start(date(2027, 4, 1)) == date(2027, 4, 1)
    assert reporting_year_start(date(2027, 3, 31)) == date(2026, 4, 1)
    assert reporting_year_start(date(2028, 1, 15)) == date(2027, 4, 1)


async def test_a_manager_reads_the_tenant_satisfaction_measures(
    offline_admin_app: FastAPI, store: RecordsStore
) -> None:
    april = date(2027, 4, 12)
    for reference, tenure, closure, clocks in (
        ("CMP-T1", "social_rent", "final_response",
         [clock(ClockKey.s1_response, date(2027, 4, 26), april, met=date(2027, 4, 20))]),
        ("CMP-T2", "social_rent", "declined", []),
        ("CMP-T3", "shared_ownership", None,
         [clock(ClockKey.s1_response, date(2027, 4, 26), april, met=date(2027, 4, 28),
                breached_at=cob(date(2027, 4, 26)))]),
    ):  # fmt: skip
        store.record(
            RecordRequest(
                snapshot=snapshot(
                    reference,
                    stage="closed" if closure else "stage1",
                    status="closed" if closure else "investigating",
                    closure_reason=closure,
                    tenure=tenure,
                    received_at=london(2027, 4, 12, 10),
                    data={"clocks": clocks},
                    updated_at=datetime.now(UTC),
                )
            )
        )
    app = offline_admin_app
    pin_clock(app, london(2027, 6, 1, 9))
    async with admin_http(app) as http:
        await admin_sign_in(http, MO)
        index = await http.get("/reports")
        assert 'href="/reports/tsm"' in index.text and 'href="/reports/promises"' in index.text
        page = await http.get("/reports/tsm")  # the year today is in
        assert page.status_code == 200
        body = text(page.text)
        assert "reporting year 2027-28 (01 April 2027 to 31 March 2028)" in body
        ch01 = re.search(r'<tr id="ch01-LCRA">.*?</tr>', page.text, re.S)
        assert ch01 and text(ch01.group(0)) == "LCRA 6,200 1 0.16 0 0"
        lcho = re.search(r'<tr id="ch02-1-LCHO">.*?</tr>', page.text, re.S)
        assert lcho and text(lcho.group(0)) == "CH02(1) stage 1 LCHO 1 0 0.0% 0"
        lcra = re.search(r'<tr id="ch02-1-LCRA">.*?</tr>', page.text, re.S)
        assert lcra and text(lcra.group(0)) == "CH02(1) stage 1 LCRA 1 1 100.0% 0"
        assert "Declined complaints and service requests are left out" in body

        unset = await http.get("/reports/tsm?year=2031")
        assert "The homes of a stock are not set for 2031-32" in text(unset.text)
        bad = await http.get("/reports/tsm?year=twenty")
        assert bad.status_code == 400
        assert dict(error_summary(bad.text)) == {
            "#report-year": "Enter the year the reporting year starts, like 2027 for 2027-28"
        }
        download = await http.get("/reports/tsm.csv?year=2027")
        rows = list(csv.DictReader(io.StringIO(download.text)))
        assert {(r["measure"], r["stock"], r["count"], r["of"], r["figure"]) for r in rows} >= {
            ("CH01(1)", "LCRA", "1", "6200", "0.16"),
            ("CH02(1)", "LCHO", "0", "1", "0.0"),
        }


async def test_the_public_performance_page_shows_figures_and_nobody(
    offline_admin_app: FastAPI, store: RecordsStore
) -> None:
    """No sign-in; this year so far and last year; nothing about any person or case; rate
    limited per client address like the other public pages."""
    cases(store)  # March 2027: last reporting year, seen from May 2027
    store.record(
        RecordRequest(
            snapshot=snapshot(
                "CMP-MAY",
                resident_name="Bartholomew Quince",
                data={
                    "clocks": [
                        clock(
                            ClockKey.s1_contact,
                            date(2027, 5, 6),
                            date(2027, 5, 3),
                            met=date(2027, 5, 4),
                        )
                    ]
                },
                updated_at=datetime.now(UTC),
            )
        )
    )
    app = offline_admin_app
    pin_clock(app, london(2027, 5, 20, 9))
    async with admin_http(app) as resident:
        page = await resident.get("/performance")
        assert page.status_code == 200
        body = text(page.text)
        assert "this year (from 01 April 2027 to 20 May 2027)" in body
        assert "last year (01 April 2026 to 31 March 2027)" in body
        contact = re.search(r'<tr id="promise-s1_contact">.*?</tr>', page.text, re.S)
        assert contact and text(contact.group(0)) == (
            "Stage 1: contact the resident within 3 working days 100.0% 1 of 1 50.0% 1 of 2"
        )
        assert 'id="promise-s2_response"' not in page.text, "none due in either year: left out"
        assert "CH01(1) stage 1 complaints per 1,000 LCRA homes" in body
        for private in ("Amina Okafor", "Bartholomew Quince", "CMP-A", "CMP-MAY", "ENQ-C"):
            assert private not in page.text, private
        assert "Sign out" not in page.text and "/reports" not in page.text
        limit = int(app.state.settings.public_page_limit_per_address.split()[0])
        answers = [(await resident.get("/performance")).status_code for _ in range(limit)]
    assert answers[-1] == 429 and answers[: limit - 1] == [200] * (limit - 1)


async def test_each_report_prints_as_a_pdf(offline_admin_app: FastAPI, store: RecordsStore) -> None:
    cases(store)
    app = offline_admin_app
    pin_clock(app, london(2027, 4, 12, 9))
    async with admin_http(app) as http:
        await admin_sign_in(http, MO)
        page = await http.get("/reports/promises?from=2027-03-01&to=2027-03-31")
        assert 'href="/reports/promises.pdf?from=2027-03-01&amp;to=2027-03-31"' in page.text
        for url, name in (
            ("/reports/promises.pdf?from=2027-03-01&to=2027-03-31",
             "promises-2027-03-01-to-2027-03-31.pdf"),
            ("/reports/tsm.pdf?year=2026", "tsm-2026-27.pdf"),
        ):  # fmt: skip
            printed = await http.get(url)
            assert printed.status_code == 200, url
            assert printed.headers["content-type"] == "application/pdf"
            assert f'filename="{name}"' in printed.headers["content-disposition"]
            assert printed.content.startswith(b"%PDF-") and b"%%EOF" in printed.content[-1024:]
        assert (await http.get("/reports/tsm.pdf?year=x")).status_code == 400


def test_the_printed_copy_holds_the_figures(store: RecordsStore) -> None:
    """What the PDF is printed from: the same tables as the page, with the landlord's name and
    nothing to fetch."""
    from admin.pdf import render_print
    from admin.routes.reports import _groups
    from config import Settings
    from records.reports import promise_report
    from tests.support import POLICY

    cases(store)
    report = promise_report(store, date(2027, 3, 1), date(2027, 3, 31), POLICY)
    html = render_print(
        landlord=Settings().landlord,
        printed_at="12 April 2027 09:00",
        title="Performance against every promise",
        subtitle="March 2027",
        kind="promises",
        report=report,
        groups=_groups(report),
    )
    contact = re.search(r'<tr id="promise-s1_contact">.*?</tr>', html, re.S)
    assert contact and text(contact.group(0)) == (
        "Stage 1: contact the resident within 3 working days 2 1 1 50.0% 3 0"
    )
    assert "West Kent Housing Association" in html
    assert "http" not in html.replace("http-equiv", ""), "nothing to fetch"


async def test_the_quarterly_pack_for_the_member_responsible(
    offline_admin_app: FastAPI, store: RecordsStore
) -> None:
    cases(store)  # March 2027: quarter 4 of 2026-27
    app = offline_admin_app
    pin_clock(app, london(2027, 5, 20, 9))  # in 2027-28's first quarter: the last whole is Q4
    async with admin_http(app) as http:
        await admin_sign_in(http, MO)
        index = await http.get("/reports")
        assert 'href="/reports/quarterly"' in index.text
        page = await http.get("/reports/quarterly")
        assert page.status_code == 200
        body = text(page.text)
        assert "Quarterly complaints pack 2026-27 Q4" in body
        assert "January to March (01 January 2027 to 31 March 2027)" in body
        assert 'href="/reports/quarterly.pdf?year=2026&amp;quarter=4"' in page.text
        q1 = await http.get("/reports/quarterly?year=2027&quarter=1")
        assert "April to June (01 April 2027 to 30 June 2027)" in text(q1.text)
        bad = await http.get("/reports/quarterly?quarter=5")
        assert bad.status_code == 400
        assert dict(error_summary(bad.text)) == {"#report-quarter": "Choose a quarter, 1 to 4"}
        printed = await http.get("/reports/quarterly.pdf?year=2026&quarter=4")
        assert printed.status_code == 200 and printed.content.startswith(b"%PDF-")
        assert 'filename="quarterly-pack-2026-27-q4.pdf"' in printed.headers["content-disposition"]
    async with admin_http(app) as http:
        await admin_sign_in(http, JO)
        assert (await http.get("/reports/quarterly")).status_code == 403


async def test_the_annual_and_quarterly_figures_download_as_csv(
    offline_admin_app: FastAPI, store: RecordsStore
) -> None:
    cases(store)  # March 2027: quarter 4 of 2026-27
    app = offline_admin_app
    pin_clock(app, london(2027, 5, 20, 9))
    async with admin_http(app) as http:
        await admin_sign_in(http, MO)
        for url, name in (
            ("/reports/annual.csv?year=2026", "annual-report-2026-27.csv"),
            ("/reports/quarterly.csv?year=2026&quarter=4", "quarterly-pack-2026-27-q4.csv"),
        ):
            download = await http.get(url)
            assert download.status_code == 200, url
            assert f'filename="{name}"' in download.headers["content-disposition"]
            rows = list(csv.DictReader(io.StringIO(download.text)))
            timely = {
                r["measure"]: r["value"]
                for r in rows
                if r["section"] == "Timeliness: Stage 1: contact the resident within 3 working days"
            }
            assert timely == {"Due": "2", "Met": "1", "Missed": "1"}, url
        assert (await http.get("/reports/quarterly.csv?quarter=9")).status_code == 400
