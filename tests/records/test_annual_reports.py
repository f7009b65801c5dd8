"""The annual complaints performance and service improvement report as drafted, put to the
governing body and published (records/annual_reports.py, migration 0012): the narrative and the
governing body's response saved as a draft, publishing refused without either or twice, the
figures frozen when published, the public view without names or the Ombudsman's findings.
SQLite always, PostgreSQL when TEST_DATABASE_URL is set."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from alembic import command
from sqlalchemy import inspect, text

from domain.clocks import ClockKey
from domain.records import (
    CompensationOfferRow,
    OmbudsmanRow,
    PointOutcomeRow,
    RecordRequest,
)
from records.annual_report import annual_report
from records.annual_reports import (
    MAX_TEXT,
    AnnualReportRefused,
    AnnualReports,
    figures_json,
    frozen_figures,
    is_year_label,
)
from records.learning import CompleteImprovement, LearningLog, NewImprovement, NewLesson
from records.store import RecordsStore, alembic_config
from tests.records.test_promise_report import clock
from tests.records.test_store import HEAD, snapshot
from tests.support import POLICY, create_staff, london

YEAR, LABEL = 2027, "2027-28"
MO, JO = "mo.manager", "jo.officer"
PUBLISHED_AT = london(2028, 6, 12, 15)
FINDINGS = "The landlord's delay in treating the damp was maladministration (HOS 202712345)."
DONE = "We now visit within 5 working days of any report of damp."
NARRATIVE = "Complaints about damp rose.\n\nWe changed how we inspect."
RESPONSE = "The board accepts the report and asks for a review in six months."


def a_year_of_complaints(store: RecordsStore, reference: str = "CMP-2027-AR01") -> None:
    """2027-28: one complaint about repairs, received 12 April 2027 and answered at stage 1 on 20
    April (its point upheld: a delay), £50 offered; the Ombudsman found maladministration in
    January 2028; a lesson learned from it led to an improvement done in February 2028. Needs
    the staff accounts (tests.support.create_staff)."""
    store.record(
        RecordRequest(
            snapshot=snapshot(
                reference,
                stage="closed",
                status="closed",
                closure_reason="final_response",
                category="repairs",
                tenure="social_rent",
                received_at=london(2027, 4, 12, 10),
                point_outcomes=[
                    PointOutcomeRow(stage=1, point_index=0, decision="upheld", root_cause="delay")
                ],
                compensation_offers=[
                    CompensationOfferRow(
                        stage=1, amount=Decimal("50"), offered_on=date(2027, 4, 20)
                    )
                ],
                ombudsman=OmbudsmanRow(
                    ombudsman_reference="202712345",
                    referred_on=date(2027, 9, 1),
                    determination="maladministration",
                    determined_on=date(2028, 1, 10),
                    findings=FINDINGS,
                ),
                data={
                    "clocks": [
                        clock(
                            ClockKey.s1_response,
                            date(2027, 4, 26),
                            date(2027, 4, 12),
                            met=date(2027, 4, 20),
                        )
                    ]
                },
                updated_at=datetime.now(UTC),
            )
        )
    )
    log = LearningLog(store)
    lesson = log.record_lesson(
        NewLesson(
            title="Damp reports waited too long", service_area="Repairs", references=[reference]
        ),
        by=JO,
        now=london(2027, 5, 2),
    )
    improvement = log.add_improvement(
        NewImprovement(
            lesson_id=lesson.id,
            action="Visit within 5 working days",
            owner_id=JO,
            due_on=date(2028, 2, 28),
            public_summary=DONE,
        ),
        by=JO,
        today=date(2027, 5, 2),
        now=london(2027, 5, 2),
    )
    log.complete_improvement(
        improvement.id, CompleteImprovement(note="Done"), by=JO, now=london(2028, 2, 14)
    )


@pytest.fixture
def reports(store: RecordsStore) -> AnnualReports:
    create_staff(store)
    return AnnualReports(store)


def test_a_draft_is_saved_and_changed_until_it_is_published(
    store: RecordsStore, reports: AnnualReports
) -> None:
    assert reports.get(LABEL) is None
    saved = reports.save_draft(
        LABEL, "  First thoughts.\r\n\r\nMore.  ", "", by=JO, now=london(2028, 5, 1)
    )
    assert (saved.narrative, saved.governing_body_response) == ("First thoughts.\n\nMore.", "")
    assert (saved.updated_by, saved.updated_by_name) == (JO, "Jo Officer")
    assert saved.updated_at == london(2028, 5, 1).astimezone(UTC)
    assert not saved.published and saved.figures is None and saved.report() is None

    again = reports.save_draft(LABEL, NARRATIVE, RESPONSE, by=MO, now=london(2028, 5, 2))
    assert (again.narrative, again.governing_body_response) == (NARRATIVE, RESPONSE)
    assert again.updated_by_name == "Mo Manager"
    assert reports.published() == []
    assert reports.public(LABEL) is None, "a draft is nobody's business but the managers'"


def test_publishing_needs_both_texts_and_happens_once(
    store: RecordsStore, reports: AnnualReports
) -> None:
    figures = figures_json(annual_report(store, YEAR, POLICY))
    with pytest.raises(AnnualReportRefused) as both:
        reports.publish(LABEL, figures, by=MO, now=PUBLISHED_AT)
    assert both.value.field == "narrative"
    assert both.value.message == (
        "Enter our narrative and the governing body's response before publishing"
    )
    reports.save_draft(LABEL, NARRATIVE, "   ", by=MO, now=PUBLISHED_AT)
    with pytest.raises(AnnualReportRefused) as no_response:
        reports.publish(LABEL, figures, by=MO, now=PUBLISHED_AT)
    assert no_response.value.field == "response"
    assert no_response.value.message == ("Enter the governing body's response before publishing")
    with pytest.raises(AnnualReportRefused) as emptied:  # the texts given replace the draft's
        reports.publish(LABEL, figures, by=MO, now=PUBLISHED_AT, narrative="", response=RESPONSE)
    assert emptied.value.field == "narrative"
    assert reports.get(LABEL).governing_body_response == "", "a refusal changes nothing"

    published = reports.publish(LABEL, figures, by=MO, now=PUBLISHED_AT, response=RESPONSE)
    assert published.published and published.published_by_name == "Mo Manager"
    assert published.published_at == PUBLISHED_AT.astimezone(UTC)
    assert (published.narrative, published.governing_body_response) == (NARRATIVE, RESPONSE)

    for attempt in (
        lambda: reports.save_draft(LABEL, "Changed", RESPONSE, by=MO, now=PUBLISHED_AT),
        lambda: reports.publish(LABEL, figures, by=MO, now=PUBLISHED_AT),
    ):
        with pytest.raises(AnnualReportRefused) as refused:
            attempt()
        assert refused.value.field is None
        assert refused.value.message == (
            "The 2027-28 annual report is published: it cannot be changed or published again"
        )
    assert reports.get(LABEL) == published


def test_texts_are_limited_and_years_checked(store: RecordsStore, reports: AnnualReports) -> None:
    with pytest.raises(AnnualReportRefused) as long:
        reports.save_draft(LABEL, "x" * (MAX_TEXT + 1), "", by=MO, now=PUBLISHED_AT)
    assert long.value.field == "narrative"
    assert long.value.message == "Our narrative must be 20,000 characters or fewer (it has 20,001)"
    reports.save_draft(LABEL, "x" * MAX_TEXT, "y" * MAX_TEXT, by=MO, now=PUBLISHED_AT)
    assert is_year_label("2027-28") and is_year_label("2099-00")
    assert not is_year_label("2027-29") and not is_year_label("2027") and not is_year_label("x")
    with pytest.raises(ValueError, match="not a reporting year"):
        reports.save_draft("2027-2028", "", "", by=MO, now=PUBLISHED_AT)
    figures = figures_json(annual_report(store, YEAR, POLICY))
    with pytest.raises(ValueError, match="figures for '2027-28', not 2028-29"):
        reports.publish("2028-29", figures, by=MO, now=PUBLISHED_AT, narrative="n", response="r")


def test_the_published_figures_stay_as_they_were(
    store: RecordsStore, reports: AnnualReports
) -> None:
    a_year_of_complaints(store)
    at_publishing = annual_report(store, YEAR, POLICY)
    assert at_publishing.volumes.stage1 == 1
    reports.publish(
        LABEL,
        figures_json(at_publishing),
        by=MO,
        now=PUBLISHED_AT,
        narrative=NARRATIVE,
        response=RESPONSE,
    )
    # a complaint of the same year recorded late: the draft figures would change, not these
    a_year_of_complaints(store, "CMP-2027-AR02")
    assert annual_report(store, YEAR, POLICY).volumes.stage1 == 2
    stored = reports.get(LABEL)
    assert stored is not None and stored.report() == at_publishing
    frozen = frozen_figures(stored.figures or {})
    assert next(p for p in frozen.timeliness if p.promise == "s1_response").percent_met == 100.0

    shown = reports.published()
    assert [p.year_label for p in shown] == [LABEL]
    public = reports.public(LABEL)
    assert public == shown[0]
    assert public.published_on == date(2028, 6, 12)
    assert public.report.volumes.stage1 == 1
    assert public.findings == 1 and public.report.ombudsman.findings == []
    assert public.report.learning.done == [DONE]
    dumped = public.model_dump_json()
    for private in (FINDINGS, "Mo Manager", MO, "CMP-2027-AR01", "Amina Okafor"):
        assert private not in dumped, private


def test_published_years_newest_first(store: RecordsStore, reports: AnnualReports) -> None:
    for year in (2026, 2028, 2027):
        figures = figures_json(annual_report(store, year, POLICY))
        label = figures["year"]
        reports.publish(label, figures, by=MO, now=PUBLISHED_AT, narrative="n", response="r")
    reports.save_draft("2029-30", "draft", "", by=MO, now=PUBLISHED_AT)
    assert [p.year_label for p in reports.published()] == ["2028-29", "2027-28", "2026-27"]


def test_the_migration_goes_down_and_up(store: RecordsStore, reports: AnnualReports) -> None:
    """Down to 0011 removes the table (its rows with it), up again brings it back empty; the
    other tables and their rows stay."""
    reports.save_draft(LABEL, NARRATIVE, RESPONSE, by=MO, now=PUBLISHED_AT)
    columns = {c["name"]: c for c in inspect(store.engine).get_columns("annual_reports")}
    assert list(columns) == [
        "year_label",
        "narrative",
        "governing_body_response",
        "updated_at",
        "updated_by",
        "published_at",
        "published_by",
        "figures",
    ]
    assert [n for n, c in columns.items() if c["nullable"]] == [
        "published_at",
        "published_by",
        "figures",
    ]
    for target, present in (("0011", False), (HEAD, True)):
        with store.writer.begin() as connection:
            config = alembic_config(connection)
            (command.upgrade if present else command.downgrade)(config, target)
        names = set(inspect(store.engine).get_table_names())
        assert ("annual_reports" in names) is present, target
        with store.engine.connect() as connection:
            assert connection.scalar(text("SELECT count(*) FROM staff_accounts")) == 4, target
    assert reports.get(LABEL) is None
    saved = reports.save_draft(LABEL, NARRATIVE, "", by=MO, now=PUBLISHED_AT + timedelta(days=1))
    assert saved.narrative == NARRATIVE
