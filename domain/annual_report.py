"""The Complaint Handling Code's annual complaints performance and service improvement report,
as far as the data can draft it (records/annual_report.py counts it): for a reporting year,

- volumes: complaints received at stage 1, escalated to stage 2, withdrawn; by category;
- the types of complaint refused (declined, by the policy's reason) and service requests;
- outcomes: each point decided at each stage (upheld, partly upheld, not upheld), the complaints
  with at least one point upheld in whole or part, and the root causes of those;
- timeliness: the complaints policy's promises met (domain/promises.py) and CH02 for all;
- compensation offered and paid, and the actions promised, done on time, late or still open;
- learning: lessons recorded and improvements made ("you said, we did");
- satisfaction: the post-complaint survey's replies;
- the Housing Ombudsman: referrals, determinations and findings, orders and compliance.

Managers add the narrative and the governing body's response before it is published; those
are not counted here.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pydantic import Field

from domain.people import Strict
from domain.promises import PromiseFigures


class Count(Strict):
    """A count under a key (a category, a reason, a decision...) and its label."""

    key: str
    label: str
    count: int


class Volumes(Strict):
    stage1: int = 0  # received in the year (declined and service requests left out)
    stage2: int = 0  # escalated in the year
    withdrawn: int = 0  # of those received, withdrawn since
    declined: int = 0
    service_requests: int = 0
    by_category: list[Count] = Field(default_factory=list)
    by_tenure: list[Count] = Field(default_factory=list)
    refused_by_reason: list[Count] = Field(default_factory=list)


class StageOutcomes(Strict):
    stage: int
    complaints: int = 0  # answered in the year
    upheld_in_whole_or_part: int = 0  # complaints with at least one point upheld or partly
    points: list[Count] = Field(default_factory=list)  # by decision

    @property
    def upheld_percent(self) -> float | None:
        if not self.complaints:
            return None
        return round(100 * self.upheld_in_whole_or_part / self.complaints, 1)


class Remedies(Strict):
    compensation_offered: Decimal = Decimal("0")
    compensation_paid: Decimal = Decimal("0")
    complaints_with_compensation: int = 0
    actions_due: int = 0  # actions due in the year
    actions_done_on_time: int = 0
    actions_done_late: int = 0
    actions_open: int = 0  # still not done


class Learning(Strict):
    lessons: int = 0  # recorded in the year
    improvements_done: int = 0  # done in the year
    improvements_open: int = 0  # open now
    done: list[str] = Field(default_factory=list)  # public summaries of those done in the year


class Satisfaction(Strict):
    replies: int = 0
    by_rating: list[Count] = Field(default_factory=list)
    satisfied: int = 0  # very or fairly satisfied

    @property
    def satisfied_percent(self) -> float | None:
        return None if not self.replies else round(100 * self.satisfied / self.replies, 1)


class OmbudsmanFigures(Strict):
    referrals: int = 0  # referred in the year
    determinations: list[Count] = Field(default_factory=list)  # determined in the year
    findings: list[str] = Field(default_factory=list)  # each determination's findings
    orders: list[Count] = Field(default_factory=list)  # made in the year, by kind
    orders_complied_on_time: int = 0
    orders_complied_late: int = 0
    orders_open: int = 0
    evidence_requests: int = 0
    evidence_on_time: int = 0


class AnnualReport(Strict):
    year: str
    start: date
    end: date
    volumes: Volumes
    outcomes: list[StageOutcomes]
    root_causes: list[Count]
    timeliness: list[PromiseFigures]  # the complaints policy's promises
    remedies: Remedies
    learning: Learning
    satisfaction: Satisfaction
    ombudsman: OmbudsmanFigures


def figure_rows(report: AnnualReport) -> list[tuple[str, str, str]]:
    """The report's figures flattened for a spreadsheet: (section, measure, value)."""
    v, r, le, sa, o = (
        report.volumes,
        report.remedies,
        report.learning,
        report.satisfaction,
        report.ombudsman,
    )
    rows: list[tuple[str, str, object]] = [
        ("Complaints received", "Stage 1", v.stage1),
        ("Complaints received", "Stage 2 (escalated)", v.stage2),
        ("Complaints received", "Withdrawn", v.withdrawn),
        ("Complaints received", "Declined", v.declined),
        ("Complaints received", "Service requests", v.service_requests),
        *(("By category", c.label, c.count) for c in v.by_category),
        *(("By tenure", c.label, c.count) for c in v.by_tenure),
        *(("Refused, by reason", c.label, c.count) for c in v.refused_by_reason),
    ]
    for stage in report.outcomes:
        name = f"Outcomes at stage {stage.stage}"
        rows += [
            (name, "Complaints answered", stage.complaints),
            (name, "Upheld in whole or part", stage.upheld_in_whole_or_part),
            *((name, f"Points {c.label.lower()}", c.count) for c in stage.points),
        ]
    rows += [("Root causes", c.label, c.count) for c in report.root_causes]
    rows += [
        (f"Timeliness: {p.label}", measure, value)
        for p in report.timeliness
        for measure, value in (("Due", p.due), ("Met", p.met), ("Missed", p.missed))
    ]
    rows += [
        ("Putting things right", "Compensation offered (£)", r.compensation_offered),
        ("Putting things right", "Compensation paid (£)", r.compensation_paid),
        ("Putting things right", "Complaints with compensation", r.complaints_with_compensation),
        ("Putting things right", "Actions due", r.actions_due),
        ("Putting things right", "Actions done on time", r.actions_done_on_time),
        ("Putting things right", "Actions done late", r.actions_done_late),
        ("Putting things right", "Actions open", r.actions_open),
        ("Learning", "Lessons recorded", le.lessons),
        ("Learning", "Improvements made", le.improvements_done),
        ("Learning", "Improvements open", le.improvements_open),
        ("Satisfaction", "Replies", sa.replies),
        ("Satisfaction", "Satisfied", sa.satisfied),
        ("Housing Ombudsman", "Referrals", o.referrals),
        *(("Housing Ombudsman", f"Determination: {c.label}", c.count) for c in o.determinations),
        *(("Housing Ombudsman", f"Order: {c.label}", c.count) for c in o.orders),
        ("Housing Ombudsman", "Orders complied with on time", o.orders_complied_on_time),
        ("Housing Ombudsman", "Orders complied with late", o.orders_complied_late),
        ("Housing Ombudsman", "Orders open", o.orders_open),
        ("Housing Ombudsman", "Requests for evidence", o.evidence_requests),
        ("Housing Ombudsman", "Evidence sent on time", o.evidence_on_time),
    ]
    return [(section, measure, str(value)) for section, measure, value in rows]
