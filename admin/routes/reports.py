"""The reports, for managers (records/reports.py: SQL aggregates over the records database, never
workflow queries).

- `/reports/promises?from=YYYY-MM-DD&to=YYYY-MM-DD`: performance against every promise, for the
  period and by month (the resident scrutiny panel's report); by default this reporting year
  (from 1 April) to today.
- `/reports/promises.csv?...`: the same figures as a CSV download, the period's rows first
  (month "all"), then each month's.
- `/reports/tsm?year=2027`: the Tenant Satisfaction Measures CH01 and CH02 for the reporting
  year starting 1 April 2027 (by default the year today falls in), with the counting rules on
  its face; `/reports/tsm.csv?year=...`.
- `/reports`: the list of them.

Public, no sign-in: `/performance`, how the landlord keeps its promises: % met for each promise
this reporting year so far and last year, the Tenant Satisfaction Measures for both, and the
latest "you said, we did". Figures only (counts and percentages): nothing about any person or
case. Rate limited per client address like the other public pages; the figures are counted at
most every PUBLIC_FIGURES_SECONDS, whoever asks.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date, timedelta

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from admin.accounts import Account, Role
from admin.app import LONDON, render
from admin.downloads import csv_download, pdf_download
from admin.forms import Problem, date_answer
from admin.off_loop import off_loop
from admin.pdf import print_report
from admin.public_pages import too_many_views
from admin.queues import now_for
from admin.security import require_role
from domain.promises import PromiseFigures, PromiseReport
from domain.tsm import TsmReport
from records.learning import LearningLog
from records.reports import promise_report, tsm_report

manager = require_role(Role.manager)
staff = APIRouter(dependencies=[Depends(manager)])
public = APIRouter()
router = APIRouter()
PUBLIC_FIGURES_SECONDS = 300  # the public page's figures are counted at most this often

CSV_COLUMNS = (
    "month",
    "promise",
    "label",
    "text",
    "due",
    "met",
    "missed",
    "percent_met",
    "extended",
    "exceptional",
    "median_working_days",
)


@dataclass(frozen=True)
class Period:
    start: date
    end: date
    problems: tuple[Problem, ...] = ()


def reporting_year_start(today: date) -> date:
    """1 April of the reporting year `today` falls in (the Regulator's year: April to March)."""
    return date(today.year if today.month >= 4 else today.year - 1, 4, 1)


def period(request: Request) -> Period:
    """The period the query string asks for (each date in day, month and year boxes, or as one
    ISO date from a link), or this reporting year to today; a date that is not one, or an end
    before the start, is a problem naming the box."""
    today = now_for(request.app.state).astimezone(LONDON).date()
    values = {name: [value] for name, value in request.query_params.items()}
    found: dict[str, date] = {}
    problems: list[Problem] = []
    for name, default, noun in (
        ("from", reporting_year_start(today), "the first day due"),
        ("to", today, "the last day due"),
    ):
        answer = date_answer(values, name, noun)
        found[name] = answer.value or default
        if answer.problem:
            problems.append(Problem(f"#report-{name}-{answer.part}", answer.problem))
    if not problems and found["to"] < found["from"]:
        problems.append(
            Problem("#report-to-day", "The last day due must be on or after the first day due")
        )
        found["to"] = found["from"]
    return Period(found["from"], found["to"], tuple(problems))


async def _report(request: Request, chosen: Period) -> PromiseReport:
    settings = request.app.state.settings
    return await off_loop(
        promise_report, request.app.state.store, chosen.start, chosen.end, settings.policy
    )


@staff.get("/reports", include_in_schema=False)
async def reports_index(request: Request) -> Response:
    return render(request, "reports.html", title="Reports")


@staff.get("/reports/promises", include_in_schema=False)
async def promises_page(request: Request, account: Account = Depends(manager)) -> Response:
    chosen = period(request)
    report = await _report(request, chosen)
    groups = _groups(report)
    return render(
        request,
        "report_promises.html",
        400 if chosen.problems else 200,
        title=("Error: " if chosen.problems else "") + "Performance against every promise",
        report=report,
        groups=groups,
        problems=list(chosen.problems),
        query=f"from={chosen.start.isoformat()}&to={chosen.end.isoformat()}",
    )


def _groups(report: PromiseReport) -> dict[str, list[PromiseFigures]]:
    groups: dict[str, list[PromiseFigures]] = {}
    for figures in report.promises:
        groups.setdefault(figures.text, []).append(figures)
    return groups


@staff.get("/reports/promises.pdf", include_in_schema=False)
async def promises_pdf(request: Request) -> Response:
    chosen = period(request)
    if chosen.problems:
        return plain_problems(chosen.problems)
    report = await _report(request, chosen)
    pdf = await off_loop(
        print_report,
        request,
        title="Performance against every promise",
        subtitle=f"Clocks due from {chosen.start:%d %B %Y} to {chosen.end:%d %B %Y}, labelled "
        f"with the numbers of {report.policy}.",
        kind="promises",
        report=report,
        groups=_groups(report),
    )
    return pdf_download(f"promises-{chosen.start.isoformat()}-to-{chosen.end.isoformat()}.pdf", pdf)


def plain_problems(problems: tuple[Problem, ...] | list[Problem]) -> Response:
    return Response(
        "\n".join(p.text for p in problems) + "\n",
        status_code=400,
        media_type="text/plain; charset=utf-8",
    )


@staff.get("/reports/promises.csv", include_in_schema=False)
async def promises_csv(request: Request) -> Response:
    chosen = period(request)
    if chosen.problems:
        return plain_problems(chosen.problems)
    report = await _report(request, chosen)
    months = (("all", report.promises), *((m.month, m.promises) for m in report.months))
    rows = (
        (month, p.promise, p.label, p.text, p.due, p.met, p.missed, p.percent_met, p.extended,
         p.exceptional, p.median_working_days)
        for month, figures in months
        for p in figures
    )  # fmt: skip
    name = f"promises-{chosen.start.isoformat()}-to-{chosen.end.isoformat()}.csv"
    return csv_download(name, CSV_COLUMNS, rows)


def asked_year(text: str, default: int) -> tuple[int, list[Problem]]:
    """The reporting year a box gives (the year it starts), or `default` when it is empty;
    anything else is a problem naming the box."""
    text = text.strip()
    if not text:
        return default, []
    if text.isdigit() and 2000 <= int(text) <= 2100:
        return int(text), []
    return default, [
        Problem("#report-year", "Enter the year the reporting year starts, like 2027 for 2027-28")
    ]


def tsm_year(request: Request) -> tuple[int, list[Problem]]:
    """The reporting year the query string asks for, or the one today is in."""
    today = now_for(request.app.state).astimezone(LONDON).date()
    return asked_year(request.query_params.get("year", ""), reporting_year_start(today).year)


async def _tsm(request: Request, year: int) -> TsmReport:
    settings = request.app.state.settings
    return await off_loop(
        tsm_report, request.app.state.store, year, settings.homes, settings.policy
    )


@staff.get("/reports/tsm", include_in_schema=False)
async def tsm_page(request: Request) -> Response:
    year, problems = tsm_year(request)
    report = await _tsm(request, year)
    return render(
        request,
        "report_tsm.html",
        400 if problems else 200,
        title=("Error: " if problems else "") + "Tenant Satisfaction Measures",
        report=report,
        year=year,
        problems=problems,
    )


@staff.get("/reports/tsm.csv", include_in_schema=False)
async def tsm_csv(request: Request) -> Response:
    year, problems = tsm_year(request)
    if problems:
        return plain_problems(problems)
    report = await _tsm(request, year)
    rows: list[tuple[object, ...]] = [
        (report.year, f"CH01({n})", stock, count, ch01.homes, figure, None)
        for stock, ch01 in report.CH01.items()
        for n, count, figure in (
            (1, ch01.stage1, ch01.stage1_per_1000),
            (2, ch01.stage2, ch01.stage2_per_1000),
        )
    ]
    rows += [
        (report.year, f"CH02({n})", stock, s.within, s.responded, s.percent, s.exceptional)
        for stock, ch02 in report.CH02.items()
        for n, s in ((1, ch02.stage1), (2, ch02.stage2))
    ]
    header = ("year", "measure", "stock", "count", "of", "figure", "exceptional")
    return csv_download(f"tsm-{report.year}.csv", header, rows)


@staff.get("/reports/tsm.pdf", include_in_schema=False)
async def tsm_pdf(request: Request) -> Response:
    year, problems = tsm_year(request)
    if problems:
        return plain_problems(problems)
    report = await _tsm(request, year)
    pdf = await off_loop(
        print_report,
        request,
        title=f"Tenant Satisfaction Measures: complaints, {report.year}",
        subtitle=f"CH01 and CH02 from {report.start:%d %B %Y} to {report.end:%d %B %Y}, for "
        "low-cost rental accommodation (LCRA) and low-cost home ownership (LCHO).",
        kind="tsm",
        report=report,
    )
    return pdf_download(f"tsm-{report.year}.pdf", pdf)


# ---------------------------------------------------------------- the public performance page


@dataclass(frozen=True)
class PublicFigures:
    this_year: tuple[PromiseReport, TsmReport]
    last_year: tuple[PromiseReport, TsmReport]
    counted_at: float


def _public_figures(request: Request, today: date) -> PublicFigures:
    """This reporting year to `today` and the whole of last year (blocking: run off the loop)."""
    cache: dict[date, PublicFigures] = request.app.state.public_figures
    found = cache.get(today)
    if found is not None and time.monotonic() - found.counted_at < PUBLIC_FIGURES_SECONDS:
        return found
    settings, store = request.app.state.settings, request.app.state.store
    start = reporting_year_start(today)
    last_start = date(start.year - 1, 4, 1)
    figures = PublicFigures(
        this_year=(
            promise_report(store, start, today, settings.policy, by_month=False),
            tsm_report(store, start.year, settings.homes, settings.policy),
        ),
        last_year=(
            promise_report(
                store, last_start, start - timedelta(days=1), settings.policy, by_month=False
            ),
            tsm_report(store, last_start.year, settings.homes, settings.policy),
        ),
        counted_at=time.monotonic(),
    )
    cache.clear()
    cache[today] = figures
    return figures


@public.get("/performance", include_in_schema=False)
async def performance(request: Request) -> Response:
    if (limited := await too_many_views(request)) is not None:
        return limited
    today = now_for(request.app.state).astimezone(LONDON).date()
    figures = await off_loop(_public_figures, request, today)
    improvements = await off_loop(LearningLog(request.app.state.store).you_said_we_did, 3)
    this_promises, this_tsm = figures.this_year
    last_promises, last_tsm = figures.last_year
    rows = [
        (mine, last)
        for mine, last in zip(this_promises.promises, last_promises.promises, strict=True)
        if mine.due or last.due
    ]
    return render(
        request,
        "performance.html",
        title="How we are keeping our promises",
        this_promises=this_promises,
        last_promises=last_promises,
        rows=rows,
        tsm=(this_tsm, last_tsm),
        improvements=improvements,
    )


router.include_router(staff)
router.include_router(public)
