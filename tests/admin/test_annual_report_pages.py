"""The annual complaints performance and service improvement report's pages
(admin/routes/annual.py): managers draft the narrative and the governing body's response beside
the figures, publish it once both are there and the year has ended, and print it; everyone reads
the published reports without signing in, with no names and the Ombudsman's findings counted,
never quoted."""

from __future__ import annotations

import re

from fastapi import FastAPI

from records.annual_reports import MAX_TEXT
from records.store import RecordsStore
from tests.admin.conftest import admin_http, admin_sign_in, csrf_in
from tests.admin.test_pages import JO, MO, error_summary, pin_clock, post, text, textarea
from tests.records.test_annual_reports import (
    DONE,
    FINDINGS,
    NARRATIVE,
    PUBLISHED_AT,
    RESPONSE,
    a_year_of_complaints,
)
from tests.support import london

PAGE = "/reports/annual?year=2027"
PUBLISHED_TEXT = "Published on 12 June 2028 by Mo Manager."


def row(page: str, table: str, label: str) -> str:
    found = re.search(rf'<table[^>]*id="{table}".*?</table>', page, re.S)
    assert found, f"no table {table}"
    for cells in re.findall(r"<tr>(.*?)</tr>", found.group(0), re.S):
        if text(cells).startswith(label):
            return text(cells)
    raise AssertionError(f"no row {label!r} in {table}")


async def test_a_manager_drafts_publishes_and_the_public_reads_it(
    offline_admin_app: FastAPI, store: RecordsStore
) -> None:
    app = offline_admin_app
    a_year_of_complaints(store)
    pin_clock(app, PUBLISHED_AT)
    async with admin_http(app) as resident:
        before = await resident.get("/annual-reports/2027-28")
        assert before.status_code == 404
        assert "We have not published an annual complaints report for 2027-28." in before.text
        listed = await resident.get("/annual-reports")
        assert "We have not published an annual complaints report yet." in text(listed.text)

    async with admin_http(app) as http:
        await admin_sign_in(http, MO)
        index = await http.get("/reports")
        assert 'href="/reports/annual"' in index.text

        page = await http.get("/reports/annual")  # by default the last whole reporting year
        assert page.status_code == 200
        body = text(page.text)
        assert "the reporting year 2027-28 (01 April 2027 to 31 March 2028)" in body
        assert "A draft, not published." in body
        for heading in (
            "Complaints we received",
            "Complaints we did not accept, and service requests",
            "What we decided",
            "Answering on time",
            "Putting things right",
            "Learning from complaints",
            "How satisfied residents were with how we handled their complaint",
            "The Housing Ombudsman",
        ):
            assert f'<h2 class="heading-m">{heading}</h2>' in page.text, heading
        assert row(page.text, "volumes", "Complaints received at stage 1") == (
            "Complaints received at stage 1 1"
        )
        assert row(page.text, "remedies", "Compensation offered") == "Compensation offered £50.00"
        assert FINDINGS in text(page.text), "the governing body reads the Ombudsman's findings"
        assert DONE in page.text
        assert 'for="annual-narrative">Our narrative: what the figures show and what we are' in (
            page.text
        )
        assert "The governing body&#39;s response</label>" in page.text
        assert 'href="/reports/annual.pdf?year=2027"' in page.text

        # Save draft: Post/Redirect/Get with a flash; the boxes show what was saved
        saved = await post(
            http,
            "/reports/annual/draft",
            page.text,
            {"year": "2027", "narrative": NARRATIVE, "response": ""},
        )
        assert saved.status_code == 303 and saved.headers["location"] == PAGE
        page = await http.get(PAGE)
        assert "The draft of the 2027-28 report is saved." in page.text
        assert textarea(page.text, "annual-narrative") == NARRATIVE
        assert textarea(page.text, "annual-response") == ""
        assert "last saved on 12 June 2028 at 15:00 by Mo Manager" in text(page.text)

        # Publish without the governing body's response: the box is named, the input kept
        missing = await post(
            http,
            "/reports/annual/publish",
            page.text,
            {"year": "2027", "narrative": NARRATIVE, "response": "  "},
        )
        assert missing.status_code == 400
        assert error_summary(missing.text) == [
            ("#annual-response", "Enter the governing body's response before publishing")
        ]
        assert 'id="annual-response-error"' in missing.text
        assert textarea(missing.text, "annual-narrative") == NARRATIVE
        both = await post(
            http, "/reports/annual/publish", page.text, {"year": "2027", "narrative": ""}
        )
        assert error_summary(both.text) == [
            ("#annual-narrative", "Enter our narrative before publishing"),
            ("#annual-response", "Enter the governing body's response before publishing"),
        ]
        long = await post(
            http,
            "/reports/annual/draft",
            page.text,
            {"year": "2027", "narrative": "x" * (MAX_TEXT + 1), "response": RESPONSE},
        )
        assert long.status_code == 400
        assert error_summary(long.text) == [
            (
                "#annual-narrative",
                "Our narrative must be 20,000 characters or fewer (it has 20,001)",
            )
        ]
        assert textarea(long.text, "annual-response") == RESPONSE

        # the year the app is in has not ended: its report cannot be published yet
        this_year = await http.get("/reports/annual?year=2028")
        early = await post(
            http,
            "/reports/annual/publish",
            this_year.text,
            {"year": "2028", "narrative": NARRATIVE, "response": RESPONSE},
        )
        assert early.status_code == 400
        assert error_summary(early.text) == [
            (
                "#annual-published",
                "The 2028-29 reporting year ends on 31 March 2029: publish its report after "
                "that, when its figures are whole",
            )
        ]

        published = await post(
            http,
            "/reports/annual/publish",
            page.text,
            {"year": "2027", "narrative": NARRATIVE, "response": RESPONSE},
        )
        assert published.status_code == 303 and published.headers["location"] == PAGE

        # a complaint of the year recorded after publishing changes the draft figures, not these
        a_year_of_complaints(store, "CMP-2027-AR02")
        page = await http.get(PAGE)
        body = text(page.text)
        assert "The 2027-28 report is published, with the governing body's response." in body
        assert PUBLISHED_TEXT in body
        assert 'action="/reports/annual/' not in page.text and "<textarea" not in page.text
        assert "Complaints about damp rose." in body and RESPONSE in body
        assert row(page.text, "volumes", "Complaints received at stage 1") == (
            "Complaints received at stage 1 1"
        )
        assert 'href="/annual-reports/2027-28"' in page.text

        # a published year cannot be changed: the form from before is refused, saying so
        again = await post(
            http,
            "/reports/annual/draft",
            page.text,
            {"year": "2027", "narrative": "Changed", "response": RESPONSE},
        )
        assert again.status_code == 409
        assert error_summary(again.text) == [
            (
                "#annual-published",
                "The 2027-28 annual report is published: it cannot be changed or published again",
            )
        ]

    async with admin_http(app) as resident:
        listed = await resident.get("/annual-reports")
        assert listed.status_code == 200
        assert 'href="/annual-reports/2027-28"' in listed.text
        assert "published on 12 June 2028" in text(listed.text)
        public = await resident.get("/annual-reports/2027-28")
        assert public.status_code == 200
        body = text(public.text)
        assert "Published on 12 June 2028." in body
        assert "Complaints about damp rose." in body and RESPONSE in body
        assert body.index("Complaints about damp rose.") < body.index("What we decided")
        assert body.index("What we decided") < body.index(RESPONSE)
        assert row(public.text, "volumes", "Complaints received at stage 1") == (
            "Complaints received at stage 1 1"
        )
        assert row(public.text, "ombudsman", "Determinations with findings") == (
            "Determinations with findings 1"
        )
        assert DONE in public.text, "the public 'you said, we did' summaries are shown"
        for private in (
            FINDINGS,
            "202712345",
            "Mo Manager",
            "Jo Officer",
            MO,
            JO,
            "CMP-2027-AR0",
            "Amina Okafor",
        ):
            assert private not in body and private not in public.text, private
        assert "Sign out" not in public.text and "/reports" not in public.text
        unknown = await resident.get("/annual-reports/2031-32")
        assert unknown.status_code == 404
        assert "We have not published an annual complaints report for 2031-32." in unknown.text
        nonsense = await resident.get("/annual-reports/latest")
        assert nonsense.status_code == 404
        assert "years are written like 2027-28" in nonsense.text


async def test_each_version_prints_as_a_pdf(
    offline_admin_app: FastAPI, store: RecordsStore
) -> None:
    app = offline_admin_app
    a_year_of_complaints(store)
    pin_clock(app, PUBLISHED_AT)
    async with admin_http(app) as http:
        await admin_sign_in(http, MO)
        for name in ("annual-report-2027-28-draft.pdf", "annual-report-2027-28.pdf"):
            printed = await http.get("/reports/annual.pdf?year=2027")
            assert printed.status_code == 200
            assert printed.headers["content-type"] == "application/pdf"
            assert f'filename="{name}"' in printed.headers["content-disposition"]
            assert printed.content.startswith(b"%PDF-") and b"%%EOF" in printed.content[-1024:]
            if name.endswith("-draft.pdf"):
                page = await http.get(PAGE)
                answer = await post(
                    http,
                    "/reports/annual/publish",
                    page.text,
                    {"year": "2027", "narrative": NARRATIVE, "response": RESPONSE},
                )
                assert answer.status_code == 303
        assert (await http.get("/reports/annual.pdf?year=x")).status_code == 400


def test_the_printed_copy_holds_the_texts_and_the_figures(store: RecordsStore) -> None:
    from admin.pdf import render_print
    from config import Settings
    from records.annual_report import annual_report
    from tests.support import POLICY, create_staff

    create_staff(store)
    a_year_of_complaints(store)
    html = render_print(
        landlord=Settings().landlord,
        printed_at="12 June 2028 15:00",
        title="Annual complaints performance and service improvement report 2027-28",
        subtitle="Draft",
        kind="annual",
        report=annual_report(store, 2027, POLICY),
        narrative=NARRATIVE,
        response=RESPONSE,
        provisions=Settings().code_provisions,
        answers={},
    )
    body = text(html)
    assert "Our self-assessment against the Complaint Handling Code" in body
    assert body.index("Complaints about damp rose.") < body.index("Complaints we received")
    assert body.index("Putting things right") < body.index(RESPONSE)
    assert row(html, "remedies", "Compensation offered") == "Compensation offered £50.00"
    assert "http" not in html.replace("http-equiv", ""), "nothing to fetch"


async def test_the_annual_report_is_for_managers(offline_admin_app: FastAPI) -> None:
    pin_clock(offline_admin_app, PUBLISHED_AT)
    async with admin_http(offline_admin_app) as http:
        token = await admin_sign_in(http, JO)
        for url in (PAGE, "/reports/annual.pdf?year=2027"):
            assert (await http.get(url)).status_code == 403, url
        for url in ("/reports/annual/draft", "/reports/annual/publish"):
            answer = await http.post(
                url,
                data={"csrf_token": token, "year": "2027", "narrative": "n", "response": "r"},
            )
            assert answer.status_code == 403, url
    async with admin_http(offline_admin_app) as http:
        answer = await http.get(PAGE)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/login")


async def test_a_year_that_is_not_one_is_named(offline_admin_app: FastAPI) -> None:
    pin_clock(offline_admin_app, london(2028, 3, 31, 9))  # still 2027-28: by default 2026-27
    async with admin_http(offline_admin_app) as http:
        await admin_sign_in(http, MO)
        default = await http.get("/reports/annual")
        assert "the reporting year 2026-27" in text(default.text)
        bad = await http.get("/reports/annual?year=twenty")
        assert bad.status_code == 400
        assert error_summary(bad.text) == [
            ("#report-year", "Enter the year the reporting year starts, like 2027 for 2027-28")
        ]
        assert 'id="report-year-error"' in bad.text
        posted = await http.post(
            "/reports/annual/draft",
            data={"csrf_token": csrf_in(default.text), "year": "", "narrative": "n"},
        )
        assert posted.status_code == 303, "an empty year is the default one"
        assert posted.headers["location"] == "/reports/annual?year=2026"


async def test_the_public_pages_are_rate_limited(offline_admin_app: FastAPI) -> None:
    app = offline_admin_app
    limit = int(app.state.settings.public_page_limit_per_address.split()[0])
    async with admin_http(app) as resident:
        answers = [
            (
                await resident.get("/annual-reports" if n % 2 else "/annual-reports/2027-28")
            ).status_code
            for n in range(limit + 1)
        ]
    assert answers[-1] == 429 and set(answers[:-1]) <= {200, 404}
