"""The reports' queries: SQL aggregates over the records database, never workflow queries.

Performance against every promise (domain/promises.py) counts `case_clocks` rows with one
`GROUP BY` (key, channel, month, outcome, working days taken) that the covering index
`ix_case_clocks_report` answers alone on SQLite; the median working days come from the counts of
each number of days (the store counts each clock's days with the landlord's calendar when it
records the case).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from domain.clocks import ClockKey
from domain.policy import Policy
from domain.promises import (
    MonthFigures,
    Outcome,
    Promise,
    PromiseFigures,
    PromiseReport,
    promises,
)
from domain.tsm import (
    STOCKS,
    Ch01,
    Ch02,
    HomeCounts,
    TsmReport,
    counting_rules,
    per_1000,
    percent,
    year_bounds,
    year_label,
)
from records.clocks import CaseClock
from records.schema import Case
from records.store import RecordsStore

SETTLED = (Outcome.met, Outcome.missed)
ALL_MONTHS = ""  # the period as a whole


def _promise_id(key: str, channel: str) -> str:
    return f"{key}:{channel}" if key == ClockKey.enquiry_reply.value else key


def _blank(promise: Promise) -> PromiseFigures:
    return PromiseFigures(promise=promise.id, label=promise.label, text=promise.text)


def median(counts: Counter[int]) -> float | None:
    """The median of values given as {value: how many}."""
    total = sum(counts.values())
    if not total:
        return None
    ordered = sorted(counts.items())

    def nth(n: int) -> int:  # the nth value (0-based) in sorted order
        seen = 0
        for value, count in ordered:
            seen += count
            if n < seen:
                return value
        raise IndexError(n)

    middle = total // 2
    if total % 2:
        return float(nth(middle))
    return (nth(middle - 1) + nth(middle)) / 2


def promise_report(
    store: RecordsStore, start: date, end: date, policy: Policy, *, by_month: bool = True
) -> PromiseReport:
    """Each promise's clocks due from `start` to `end` (inclusive), as a whole and by month."""
    in_period = and_(
        CaseClock.due_day >= start,
        CaseClock.due_day <= end,
        CaseClock.outcome.in_(SETTLED),
    )
    # one GROUP BY, in the order of the covering index ix_case_clocks_report (records/clocks.py)
    groups = (
        CaseClock.key,
        CaseClock.channel,
        CaseClock.due_month,
        CaseClock.outcome,
        CaseClock.working_days_taken,
    )
    figures = (
        select(
            *groups,
            func.count(),
            func.sum(case((CaseClock.extensions > 0, 1), else_=0)),
            func.sum(case((CaseClock.exceptional_extension, 1), else_=0)),
        )
        .where(in_period)
        .group_by(*groups)
    )
    with Session(store.engine) as session:
        counted = session.execute(figures).all()

    defined = promises(policy)
    tallies: dict[tuple[str, str], PromiseFigures] = {}

    def tally(promise_id: str, in_month: str) -> PromiseFigures:
        key = (promise_id, in_month)
        if key not in tallies:
            tallies[key] = _blank(next(p for p in defined if p.id == promise_id))
        return tallies[key]

    known = {p.id for p in defined}
    days_taken: dict[tuple[str, str], Counter[int]] = defaultdict(Counter)
    for key, channel, due_month, outcome, days, count, extended, exceptional in counted:
        promise_id = _promise_id(key, channel)
        if promise_id not in known:  # a clock no promise counts (the service request target)
            continue
        for in_month in (ALL_MONTHS, due_month) if by_month else (ALL_MONTHS,):
            t = tally(promise_id, in_month)
            t.due += count
            t.met += count if outcome == Outcome.met else 0
            t.missed += count if outcome == Outcome.missed else 0
            t.extended += extended or 0
            t.exceptional += exceptional or 0
            if days is not None:
                days_taken[(promise_id, in_month)][days] += count
    for key, counts in days_taken.items():
        if key in tallies:
            tallies[key].median_working_days = median(counts)

    def listed(in_month: str) -> list[PromiseFigures]:
        return [tallies.get((p.id, in_month)) or _blank(p) for p in defined]

    months = sorted({m for _, m in tallies if m != ALL_MONTHS})
    return PromiseReport(
        start=start,
        end=end,
        policy=f"{policy.name}, version {policy.version}",
        promises=listed(ALL_MONTHS),
        months=[MonthFigures(month=m, promises=listed(m)) for m in months],
    )


# ------------------------------------------------------------------ Tenant Satisfaction Measures

LEFT_OUT = ("declined", "service_request")  # domain.complaint.ClosureReason: not complaints


def midnight(day: date, policy: Policy) -> datetime:
    """The start of `day` in the landlord's time zone, as UTC (received_at is kept in UTC)."""
    return datetime.combine(day, time(), ZoneInfo(policy.calendar.timezone)).astimezone(UTC)


def tsm_report(store: RecordsStore, year: int, homes: HomeCounts, policy: Policy) -> TsmReport:
    """CH01 and CH02 for the reporting year starting 1 April `year` (domain/tsm.py)."""
    start, end = year_bounds(year)
    tenure_of = {tenure.value: stock for stock, tenure in STOCKS.items()}
    counted = and_(
        Case.kind == "complaint",
        Case.tenure.in_(sorted(tenure_of)),
        or_(Case.closure_reason.is_(None), Case.closure_reason.not_in(LEFT_OUT)),
    )
    received = (
        select(Case.tenure, func.count())
        .where(
            counted,
            Case.stage != "triage",
            Case.received_at >= midnight(start, policy),
            Case.received_at < midnight(end + timedelta(days=1), policy),
        )
        .group_by(Case.tenure)
    )
    escalated = (
        select(Case.tenure, func.count())
        .join(CaseClock, CaseClock.reference == Case.reference)
        .where(
            counted,
            CaseClock.key == ClockKey.s2_acknowledgement.value,
            CaseClock.started_on >= start,
            CaseClock.started_on <= end,
        )
        .group_by(Case.tenure)
    )
    responses = (
        select(
            Case.tenure,
            CaseClock.key,
            CaseClock.outcome,
            CaseClock.exceptional_extension,
            func.count(),
        )
        .join(CaseClock, CaseClock.reference == Case.reference)
        .where(
            counted,
            CaseClock.key.in_((ClockKey.s1_response.value, ClockKey.s2_response.value)),
            CaseClock.met_on >= start,
            CaseClock.met_on <= end,
        )
        .group_by(Case.tenure, CaseClock.key, CaseClock.outcome, CaseClock.exceptional_extension)
    )
    with Session(store.engine) as session:
        stage1 = dict(session.execute(received).all())
        stage2 = dict(session.execute(escalated).all())
        answered = session.execute(responses).all()

    stock_homes = homes.for_year(year)
    ch01: dict[str, Ch01] = {}
    ch02: dict[str, Ch02] = {stock: Ch02() for stock in STOCKS}
    for stock, tenure in STOCKS.items():
        count = getattr(stock_homes, stock) if stock_homes else None
        s1, s2 = stage1.get(tenure.value, 0), stage2.get(tenure.value, 0)
        ch01[stock] = Ch01(
            stage1=s1,
            stage2=s2,
            homes=count,
            stage1_per_1000=per_1000(s1, count),
            stage2_per_1000=per_1000(s2, count),
        )
    for tenure, key, outcome, exceptional, count in answered:
        figures = ch02[tenure_of[tenure]]
        stage = figures.stage1 if key == ClockKey.s1_response.value else figures.stage2
        stage.responded += count
        if exceptional:
            stage.exceptional += count
        elif outcome == Outcome.met:
            stage.within += count
    for figures in ch02.values():
        for stage in (figures.stage1, figures.stage2):
            stage.percent = percent(stage.within, stage.responded)
    return TsmReport(
        year=year_label(year),
        start=start,
        end=end,
        CH01=ch01,
        CH02=ch02,
        rules=counting_rules(policy),
    )
