"""The Complaint Handling Code self-assessment (admin/routes/self_assessment.py): managers answer
each provision of the Code for a reporting year, helped by what the records say; the answers are
fixed once the year's annual report is published, and published with it (what staff wrote
only: never the records' sample cases)."""

from __future__ import annotations

import csv
import io
import re

import pytest
from fastapi import FastAPI

from config import Settings
from domain.self_assessment import ProvisionsError, parse_provisions
from records.store import RecordsStore
from tests.admin.conftest import admin_http, admin_sign_in
from tests.admin.test_pages import JO, MO, error_summary, pin_clock, post, text
from tests.records.test_annual_reports import (
    NARRATIVE,
    PUBLISHED_AT,
    RESPONSE,
    a_year_of_complaints,
)

PROVISIONS = Settings().code_provisions
PAGE = "/reports/self-assessment?year=2027"
REFERENCE = "CMP-2027-AR01"  # a_year_of_complaints' complaint


def first_with(evidence: str) -> str:
    return next(p.id for p in PROVISIONS.provisions if p.evidence == evidence)


def slug(provision_id: str) -> str:
    return provision_id.replace(".", "_")


def block(page: str, provision_id: str) -> str:
    found = re.search(
        rf'<div class="inset" id="provision-{slug(provision_id)}".*?</div>\s*'
        r"(?=<div|<h2|<button|</form>|<p)",
        page,
        re.S,
    )
    assert found, f"no provision {provision_id}"
    return text(found.group(0))


def test_the_shipped_provisions_cover_the_codes_nine_sections() -> None:
    assert [s.number for s in PROVISIONS.sections] == list(range(1, 10))
    assert all(PROVISIONS.of_section(n) for n in range(1, 10))
    assert len(PROVISIONS.provisions) >= 60
    with pytest.raises(ProvisionsError, match=r"6\.1 is not in section 5"):
        parse_provisions(
            'code = "x"\n[[sections]]\nnumber = 5\ntitle = "t"\n'
            '[[provisions]]\nid = "6.1"\nsection = 5\nduty = "must"\nrequirement = "r"\n'
        )


async def test_a_manager_answers_each_provision_helped_by_the_records(
    offline_admin_app: FastAPI, store: RecordsStore
) -> None:
    app = offline_admin_app
    a_year_of_complaints(store)
    pin_clock(app, PUBLISHED_AT)
    stage1 = first_with("stage1_timeliness")
    declined = first_with("declined_by_reason")
    async with admin_http(app) as http:
        await admin_sign_in(http, MO)
        index = await http.get("/reports")
        assert 'href="/reports/self-assessment"' in index.text
        page = await http.get(PAGE)
        assert page.status_code == 200
        body = text(page.text)
        total = len(PROVISIONS.provisions)
        assert f"0 of {total} provisions answered" in body
        for section in PROVISIONS.sections:
            assert f"Section {section.number}: {section.title}" in body
        shown = block(page.text, stage1)
        assert (
            "From our records: 2027-28: Stage 1: respond within 10 working days: 1 of 1 (100.0%)"
            in shown
        )
        assert f"Sample cases: {REFERENCE}." in shown

        wrong = await post(
            http,
            "/reports/self-assessment",
            page.text,
            {"year": "2027", f"comply-{slug(stage1)}": "maybe"},
        )
        assert wrong.status_code == 400
        assert dict(error_summary(wrong.text)) == {
            f"#comply-{slug(stage1)}": f"{stage1}: choose Yes or No"
        }
        saved = await post(
            http,
            "/reports/self-assessment",
            page.text,
            {
                "year": "2027",
                f"comply-{slug(stage1)}": "yes",
                f"evidence-{slug(stage1)}": "Every stage 1 response this year went on time.",
                f"comply-{slug(declined)}": "no",
                f"commentary-{slug(declined)}": "The policy is being rewritten by June 2028.",
            },
        )
        assert saved.status_code == 303, saved.text
        page = await http.get(saved.headers["location"])
        body = text(page.text)
        assert "Self-assessment for 2027-28 saved: 2 answers changed." in body
        assert f"2 of {total} provisions answered; we do not comply with {declined}" in body
        again = await post(
            http,
            "/reports/self-assessment",
            page.text,
            {
                "year": "2027",
                f"comply-{slug(stage1)}": "yes",
                f"evidence-{slug(stage1)}": "Every stage 1 response this year went on time.",
                f"comply-{slug(declined)}": "no",
                f"commentary-{slug(declined)}": "The policy is being rewritten by June 2028.",
            },
        )
        assert "0 answers changed" in text((await http.get(again.headers["location"])).text)

        download = await http.get("/reports/self-assessment.csv?year=2027")
        rows = {r["provision"]: r for r in csv.DictReader(io.StringIO(download.text))}
        assert len(rows) == total
        assert (rows[stage1]["comply"], rows[declined]["comply"]) == ("yes", "no")

        # published with the annual report: fixed from then on, and public with it
        annual = await http.get("/reports/annual?year=2027")
        published = await post(
            http,
            "/reports/annual/publish",
            annual.text,
            {"year": "2027", "narrative": NARRATIVE, "response": RESPONSE},
        )
        assert published.status_code == 303, published.text
        page = await http.get(PAGE)
        assert "Published with the 2027-28 annual report: it cannot be changed." in text(page.text)
        assert 'method="post" action="/reports/self-assessment"' not in page.text
        refused = await post(http, "/reports/self-assessment", annual.text, {"year": "2027"})
        assert refused.status_code == 409
        assert "it cannot be changed" in text(refused.text)

    async with admin_http(app) as resident:
        public = await resident.get("/annual-reports/2027-28")
        assert public.status_code == 200
        body = text(public.text)
        assert "Our self-assessment against the Complaint Handling Code" in body
        assert "Every stage 1 response this year went on time." in body
        assert "The policy is being rewritten by June 2028." in body
        assert REFERENCE not in public.text and "From our records" not in body


async def test_the_self_assessment_is_for_managers(offline_admin_app: FastAPI) -> None:
    async with admin_http(offline_admin_app) as http:
        await admin_sign_in(http, JO)
        assert (await http.get(PAGE)).status_code == 403
        assert (await http.get("/reports/self-assessment.csv")).status_code == 403
