"""The figures of the Complaint Handling Code's annual complaints performance and service
improvement report (domain/annual_report.py), counted with SQL aggregates over the records
database for a reporting year (1 April to 31 March)."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, case, distinct, func, select
from sqlalchemy.orm import Session

from domain.annual_report import (
    AnnualReport,
    Count,
    Learning,
    OmbudsmanFigures,
    Remedies,
    Satisfaction,
    StageOutcomes,
    Volumes,
)
from domain.clocks import ClockKey
from domain.complaint import DECLINE_REASON_TEXT, TENURE_LABELS
from domain.ombudsman import DETERMINATION_LABELS, ORDER_KIND_LABELS
from domain.policy import Policy
from domain.promises import COMPLAINTS_POLICY
from domain.satisfaction import RATING_LABELS, Rating
from domain.tsm import year_bounds, year_label
from records.clocks import CaseClock
from records.outcomes import CasePointOutcome
from records.reports import LEFT_OUT, midnight, promise_report
from records.schema import Case, CaseEvent, Improvement, Lesson, SatisfactionReply
from records.store import RecordsStore
from records.tracking import (
    CaseAction,
    CompensationOffer,
    CompensationPayment,
    OmbudsmanCase,
    OmbudsmanOrder,
    OmbudsmanRequest,
)

DECISIONS = {"upheld": "Upheld", "partly_upheld": "Partly upheld", "not_upheld": "Not upheld"}
RESPONSE = {1: ClockKey.s1_response.value, 2: ClockKey.s2_response.value}


def _counts(rows: Any, labels: dict[str, str]) -> list[Count]:
    """(key, count) rows as Counts, labelled (an unknown key is its own label), most first."""
    found = [Count(key=str(k), label=labels.get(str(k), str(k)), count=n) for k, n in rows if k]
    return sorted(found, key=lambda c: (-c.count, c.label))


def _label(text: str) -> str:
    return text[0].upper() + text[1:]


def annual_report(store: RecordsStore, year: int, policy: Policy) -> AnnualReport:
    """The figures for the reporting year starting 1 April `year`."""
    start, end = year_bounds(year)
    return period_figures(store, start, end, policy, year_label(year))


def quarter_bounds(year: int, quarter: int) -> tuple[date, date]:
    """Quarter 1 to 4 of the reporting year starting 1 April `year` (Q1: April to June)."""
    first_month = 4 + 3 * (quarter - 1)
    start = date(year + (first_month - 1) // 12, (first_month - 1) % 12 + 1, 1)
    after = date(start.year + (start.month + 2) // 12, (start.month + 2) % 12 + 1, 1)
    return start, after - timedelta(days=1)


def quarterly_pack(store: RecordsStore, year: int, quarter: int, policy: Policy) -> AnnualReport:
    """The same figures for one quarter: the Member Responsible for Complaints' regular pack
    (Code 9.6 to 9.8: volumes, categories, outcomes, performance, the Ombudsman's cases)."""
    start, end = quarter_bounds(year, quarter)
    return period_figures(store, start, end, policy, f"{year_label(year)} Q{quarter}")


def period_figures(
    store: RecordsStore, start: date, end: date, policy: Policy, label: str
) -> AnnualReport:
    since, until = midnight(start, policy), midnight(end + timedelta(days=1), policy)
    in_year = and_(Case.received_at >= since, Case.received_at < until)
    complaint = Case.kind == "complaint"
    counted = and_(
        complaint,
        Case.stage != "triage",
        Case.closure_reason.is_(None) | Case.closure_reason.not_in(LEFT_OUT),
    )
    with Session(store.engine) as s:
        volumes = _volumes(s, in_year, complaint, counted, start, end, since, until, policy)
        outcomes = [_outcomes(s, n, start, end) for n in (1, 2)]
        causes: Counter[str] = Counter()
        for stage in (1, 2):
            causes.update(
                dict(
                    s.execute(
                        select(CasePointOutcome.root_cause, func.count())
                        .join(CaseClock, _answer_of(stage))
                        .where(
                            CasePointOutcome.root_cause.is_not(None), _answered(stage, start, end)
                        )
                        .group_by(CasePointOutcome.root_cause)
                    ).all()
                )
            )
        root_causes = _counts(causes.items(), policy.root_causes or {})
        remedies = _remedies(s, start, end)
        learning = _learning(s, since, until)
        satisfaction = _satisfaction(s, since, until)
        ombudsman = _ombudsman(s, start, end)
    promises = promise_report(store, start, end, policy, by_month=False)
    return AnnualReport(
        year=label,
        start=start,
        end=end,
        volumes=volumes,
        outcomes=outcomes,
        root_causes=root_causes,
        timeliness=[p for p in promises.promises if p.text == COMPLAINTS_POLICY],
        remedies=remedies,
        learning=learning,
        satisfaction=satisfaction,
        ombudsman=ombudsman,
    )


def _volumes(
    s: Session,
    in_year: Any,
    complaint: Any,
    counted: Any,
    start: date,
    end: date,
    since: datetime,
    until: datetime,
    policy: Policy,
) -> Volumes:
    received = and_(counted, in_year)
    stage1 = s.scalar(select(func.count()).select_from(Case).where(received)) or 0
    closures = dict(
        s.execute(
            select(Case.closure_reason, func.count())
            .where(complaint, in_year, Case.closure_reason.is_not(None))
            .group_by(Case.closure_reason)
        ).all()
    )
    stage2 = (
        s.scalar(
            select(func.count())
            .select_from(CaseClock)
            .join(Case, Case.reference == CaseClock.reference)
            .where(
                counted,
                CaseClock.key == ClockKey.s2_acknowledgement.value,
                CaseClock.started_on >= start,
                CaseClock.started_on <= end,
            )
        )
        or 0
    )
    reason = CaseEvent.details["reason"].as_string()
    refused = s.execute(
        select(reason, func.count())
        .join(Case, Case.reference == CaseEvent.reference)
        .where(complaint, CaseEvent.step == "decline", CaseEvent.at >= since, CaseEvent.at < until)
        .group_by(reason)
    ).all()
    return Volumes(
        stage1=stage1,
        stage2=stage2,
        withdrawn=closures.get("withdrawn", 0),
        declined=closures.get("declined", 0),
        service_requests=closures.get("service_request", 0),
        by_category=_counts(
            s.execute(
                select(Case.category, func.count()).where(received).group_by(Case.category)
            ).all(),
            policy.categories or {},
        ),
        by_tenure=_counts(
            s.execute(
                select(Case.tenure, func.count()).where(received).group_by(Case.tenure)
            ).all(),
            {t.value: label for t, label in TENURE_LABELS.items()},
        ),
        refused_by_reason=_counts(
            refused, {r.value: _label(text) for r, text in DECLINE_REASON_TEXT.items()}
        ),
    )


def _answered(stage: int, start: date, end: date) -> Any:
    """The stage's response clock, met in the year."""
    return and_(
        CaseClock.key == RESPONSE[stage], CaseClock.met_on >= start, CaseClock.met_on <= end
    )


def _answer_of(stage: int) -> Any:
    """A point decided at `stage`, joined to its case's clocks."""
    return and_(CasePointOutcome.reference == CaseClock.reference, CasePointOutcome.stage == stage)


def _outcomes(s: Session, stage: int, start: date, end: date) -> StageOutcomes:
    answered = _answered(stage, start, end)
    joined = _answer_of(stage)
    points = s.execute(
        select(CasePointOutcome.decision, func.count())
        .join(CaseClock, joined)
        .where(answered)
        .group_by(CasePointOutcome.decision)
    ).all()
    complaints = s.scalar(select(func.count()).select_from(CaseClock).where(answered)) or 0
    upheld = (
        s.scalar(
            select(func.count(distinct(CasePointOutcome.reference)))
            .join(CaseClock, joined)
            .where(answered, CasePointOutcome.decision.in_(("upheld", "partly_upheld")))
        )
        or 0
    )
    ordered = {k: i for i, k in enumerate(DECISIONS)}
    return StageOutcomes(
        stage=stage,
        complaints=complaints,
        upheld_in_whole_or_part=upheld,
        points=sorted(_counts(points, DECISIONS), key=lambda c: ordered.get(c.key, 9)),
    )


def _remedies(s: Session, start: date, end: date) -> Remedies:
    offered = and_(CompensationOffer.offered_on >= start, CompensationOffer.offered_on <= end)
    paid = and_(
        CompensationPayment.paid_on >= start,
        CompensationPayment.paid_on <= end,
        CompensationPayment.declined.is_(False),
    )
    due = and_(CaseAction.due_on >= start, CaseAction.due_on <= end)
    actions = s.execute(
        select(
            func.count(),
            func.count(CaseAction.done_on),
            func.sum(case((CaseAction.done_on <= CaseAction.due_on, 1), else_=0)),
        ).where(due)
    ).one()
    total, done, on_time = actions[0] or 0, actions[1] or 0, int(actions[2] or 0)
    return Remedies(
        compensation_offered=_money(
            s.scalar(select(func.sum(CompensationOffer.amount)).where(offered))
        ),
        compensation_paid=_money(
            s.scalar(select(func.sum(CompensationPayment.amount)).where(paid))
        ),
        complaints_with_compensation=s.scalar(
            select(func.count(distinct(CompensationOffer.reference))).where(offered)
        )
        or 0,
        actions_due=total,
        actions_done_on_time=on_time,
        actions_done_late=done - on_time,
        actions_open=total - done,
    )


def _money(value: Any) -> Decimal:
    return Decimal("0.00") if value is None else Decimal(value).quantize(Decimal("0.01"))


def _learning(s: Session, since: datetime, until: datetime) -> Learning:
    done_in_year = and_(Improvement.done_at >= since, Improvement.done_at < until)
    return Learning(
        lessons=s.scalar(
            select(func.count())
            .select_from(Lesson)
            .where(Lesson.created_at >= since, Lesson.created_at < until)
        )
        or 0,
        improvements_done=s.scalar(
            select(func.count()).select_from(Improvement).where(done_in_year)
        )
        or 0,
        improvements_open=s.scalar(
            select(func.count()).select_from(Improvement).where(Improvement.done_at.is_(None))
        )
        or 0,
        done=list(
            s.scalars(
                select(Improvement.public_summary)
                .where(done_in_year, Improvement.public_summary.is_not(None))
                .order_by(Improvement.done_at)
            )
        ),
    )


def _satisfaction(s: Session, since: datetime, until: datetime) -> Satisfaction:
    rows = s.execute(
        select(SatisfactionReply.rating, func.count())
        .where(SatisfactionReply.answered_at >= since, SatisfactionReply.answered_at < until)
        .group_by(SatisfactionReply.rating)
    ).all()
    by_rating = dict(rows)
    return Satisfaction(
        replies=sum(by_rating.values()),
        by_rating=[
            Count(key=str(int(r)), label=label, count=by_rating.get(int(r), 0))
            for r, label in RATING_LABELS.items()
        ],
        satisfied=sum(
            by_rating.get(int(r), 0) for r in (Rating.very_satisfied, Rating.fairly_satisfied)
        ),
    )


def _ombudsman(s: Session, start: date, end: date) -> OmbudsmanFigures:
    determined = and_(OmbudsmanCase.determined_on >= start, OmbudsmanCase.determined_on <= end)
    made = and_(OmbudsmanOrder.made_on >= start, OmbudsmanOrder.made_on <= end)
    asked = and_(OmbudsmanRequest.requested_on >= start, OmbudsmanRequest.requested_on <= end)
    orders = s.execute(select(OmbudsmanOrder.due_on, OmbudsmanOrder.complied_on).where(made)).all()
    requests = s.execute(
        select(OmbudsmanRequest.due_on, OmbudsmanRequest.sent_on).where(asked)
    ).all()
    return OmbudsmanFigures(
        referrals=s.scalar(
            select(func.count())
            .select_from(OmbudsmanCase)
            .where(OmbudsmanCase.referred_on >= start, OmbudsmanCase.referred_on <= end)
        )
        or 0,
        determinations=_counts(
            s.execute(
                select(OmbudsmanCase.determination, func.count())
                .where(determined)
                .group_by(OmbudsmanCase.determination)
            ).all(),
            {d.value: label for d, label in DETERMINATION_LABELS.items()},
        ),
        findings=[f for f in s.scalars(select(OmbudsmanCase.findings).where(determined)) if f],
        orders=_counts(
            s.execute(
                select(OmbudsmanOrder.kind, func.count()).where(made).group_by(OmbudsmanOrder.kind)
            ).all(),
            {k.value: label for k, label in ORDER_KIND_LABELS.items()},
        ),
        orders_complied_on_time=sum(1 for due, done in orders if done and done <= due),
        orders_complied_late=sum(1 for due, done in orders if done and done > due),
        orders_open=sum(1 for _, done in orders if done is None),
        evidence_requests=len(requests),
        evidence_on_time=sum(1 for due, sent in requests if sent and sent <= due),
    )
