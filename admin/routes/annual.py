"""The annual complaints performance and service improvement report (the Housing Ombudsman's
Complaint Handling Code): it "goes to the governing body and is published with the body's
response". records/annual_report.py counts its figures; records/annual_reports.py keeps the
texts managers add and, once published, the figures as published.

For managers:
- `/reports/annual?year=2027`: the report for the reporting year starting 1 April 2027 (by
  default the last whole reporting year). While it is a draft: the figures counted now, and two
  boxes, our narrative and the governing body's response, with Save draft
  (`POST /reports/annual/draft`) and Publish (`POST /reports/annual/publish`), each a form with
  the CSRF token, answered with a redirect and a flash, or the form again with an error summary
  naming the box. Publishing needs both texts and a year that has ended; it freezes the figures.
  Once published: the figures as published, the texts, who published it and when; no forms.
- `/reports/annual.pdf?year=2027`: the draft, or the published report, printed.

Public, no sign-in, rate limited per client address like the other public pages: the published
reports only, `/annual-reports` (the list) and `/annual-reports/2027-28` (one: the narrative, the
figures, the governing body's response). Figures only: no names, and of the Housing Ombudsman's
findings their number only (records.annual_reports.PublicAnnualReport).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from functools import partial

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from admin.accounts import Account, Role
from admin.app import LONDON, render
from admin.downloads import csv_download, pdf_download
from admin.forms import FormState, FormValues, Problem, form_values, form_with_problems, one
from admin.off_loop import off_loop
from admin.pdf import print_report
from admin.public_pages import too_many_views
from admin.queues import now_for
from admin.routes.cases import flash, take_flash
from admin.routes.reports import asked_year, plain_problems, reporting_year_start
from admin.security import require_role
from domain.annual_report import AnnualReport, figure_rows
from domain.tsm import year_bounds
from domain.tsm import year_label as label_of
from records.annual_report import annual_report, quarterly_pack
from records.annual_reports import (
    MAX_TEXT,
    NARRATIVE,
    RESPONSE,
    AnnualReportRefused,
    AnnualReports,
    StoredAnnualReport,
    figures_json,
    is_year_label,
)
from records.self_assessment import SelfAssessments

manager = require_role(Role.manager)
staff = APIRouter(dependencies=[Depends(manager)])
public = APIRouter()
router = APIRouter()

TITLE = "Annual complaints performance and service improvement report"
PAGE = "/reports/annual"
# The two boxes: (form field name, element id, the label, what messages call it)
BOXES: dict[str, tuple[str, str, str, str]] = {
    NARRATIVE: (
        "narrative",
        "annual-narrative",
        "Our narrative: what the figures show and what we are doing about it",
        "our narrative",
    ),
    RESPONSE: (
        "response",
        "annual-response",
        "The governing body's response",
        "the governing body's response",
    ),
}
PUBLISHED_ID = "annual-published"  # where a refusal about the report as a whole points


def _reports(request: Request) -> AnnualReports:
    return AnnualReports(request.app.state.store)


def _today(request: Request) -> date:
    return now_for(request.app.state).astimezone(LONDON).date()


def annual_year(request: Request, text: str) -> tuple[int, list[Problem]]:
    """The reporting year asked for (the year it starts), or by default the last whole one (the
    year before the one today is in); anything else is a problem naming the box."""
    return asked_year(text, reporting_year_start(_today(request)).year - 1)


def _problem(field: str | None, text: str) -> Problem:
    return Problem(f"#{BOXES[field][1]}" if field else f"#{PUBLISHED_ID}", text)


def _form(stored: StoredAnnualReport | None) -> FormState:
    """The boxes as last saved (a fresh form shows the draft)."""
    if stored is None:
        return FormState()
    return FormState(
        values={
            BOXES[NARRATIVE][0]: [stored.narrative],
            BOXES[RESPONSE][0]: [stored.governing_body_response],
        }
    )


async def _figures(request: Request, year: int) -> AnnualReport:
    return await off_loop(
        annual_report, request.app.state.store, year, request.app.state.settings.policy
    )


async def _shown(request: Request, year: int) -> tuple[AnnualReport, StoredAnnualReport | None]:
    """The figures to show: as published once published, else counted now."""
    stored = await off_loop(_reports(request).get, label_of(year))
    frozen = stored.report() if stored is not None else None
    return (frozen if frozen is not None else await _figures(request, year)), stored


async def _page(
    request: Request,
    year: int,
    *,
    form: FormState | None = None,
    problems: list[Problem] | None = None,
    status_code: int = 200,
) -> Response:
    report, stored = await _shown(request, year)
    form = form or _form(stored)
    return render(
        request,
        "annual_report.html",
        status_code,
        title=("Error: " if problems else "") + f"{TITLE} {report.year}",
        report=report,
        stored=stored,
        year=year,
        boxes=BOXES,
        form=form,
        problems=problems or [],
        ended=year_bounds(year)[1] < _today(request),
        max_text=MAX_TEXT,
        flash=take_flash(request) if status_code == 200 else None,
    )


@staff.get(PAGE, include_in_schema=False)
async def annual_page(request: Request) -> Response:
    year, problems = annual_year(request, request.query_params.get("year", ""))
    return await _page(request, year, problems=problems, status_code=400 if problems else 200)


def _texts(values: FormValues, publishing: bool) -> tuple[dict[str, str], list[Problem]]:
    """The two boxes as posted, and what is wrong with them: too long, or empty to publish."""
    texts: dict[str, str] = {}
    problems: list[Problem] = []
    for field, (name, _, _, noun) in BOXES.items():
        texts[field] = one(values, name).replace("\r\n", "\n").strip()
        if len(texts[field]) > MAX_TEXT:
            problems.append(
                _problem(
                    field,
                    f"{noun[0].upper()}{noun[1:]} must be {MAX_TEXT:,} characters or fewer "
                    f"(it has {len(texts[field]):,})",
                )
            )
        elif publishing and not texts[field]:
            problems.append(_problem(field, f"Enter {noun} before publishing"))
    return texts, problems


async def _posted(request: Request) -> tuple[int, FormValues, list[Problem]]:
    values = form_values(await request.form())
    year, problems = annual_year(request, one(values, "year"))
    return year, values, problems


def _done(year: int) -> Response:
    return RedirectResponse(f"{PAGE}?year={year}", status_code=303)


async def _refused(
    request: Request, year: int, values: FormValues, problems: list[Problem], status_code: int
) -> Response:
    form = form_with_problems(values, problems)
    return await _page(request, year, form=form, problems=problems, status_code=status_code)


async def _stored(
    request: Request, year: int, values: FormValues, call: Callable[[], object]
) -> Response | None:
    """Run the store's `call`; a refusal is the page again naming the box (None: done)."""
    try:
        await off_loop(call)
    except AnnualReportRefused as refused:
        status = 400 if refused.field else 409
        found = [_problem(refused.field, refused.message)]
        return await _refused(request, year, values, found, status)
    return None


@staff.post(f"{PAGE}/draft", include_in_schema=False)
async def save_draft(request: Request, account: Account = Depends(manager)) -> Response:
    year, values, problems = await _posted(request)
    texts, wrong = _texts(values, publishing=False)
    if problems or wrong:
        return await _refused(request, year, values, problems + wrong, 400)
    now = now_for(request.app.state)
    saving = partial(
        _reports(request).save_draft,
        label_of(year),
        texts[NARRATIVE],
        texts[RESPONSE],
        by=account.id,
        now=now,
    )
    if (page := await _stored(request, year, values, saving)) is not None:
        return page
    flash(request, f"The draft of the {label_of(year)} report is saved.")
    return _done(year)


@staff.post(f"{PAGE}/publish", include_in_schema=False)
async def publish(request: Request, account: Account = Depends(manager)) -> Response:
    year, values, problems = await _posted(request)
    texts, wrong = _texts(values, publishing=True)
    label = label_of(year)
    end = year_bounds(year)[1]
    if not problems and end >= _today(request):
        problems.append(
            _problem(
                None,
                f"The {label} reporting year ends on {end:%d %B %Y}: publish its report after "
                "that, when its figures are whole",
            )
        )
    if problems or wrong:
        return await _refused(request, year, values, problems + wrong, 400)
    report = await _figures(request, year)
    publishing = partial(
        _reports(request).publish,
        label,
        figures_json(report),
        by=account.id,
        now=now_for(request.app.state),
        narrative=texts[NARRATIVE],
        response=texts[RESPONSE],
    )
    if (page := await _stored(request, year, values, publishing)) is not None:
        return page
    flash(request, f"The {label} report is published, with the governing body's response.")
    return _done(year)


@staff.get(f"{PAGE}.pdf", include_in_schema=False)
async def annual_pdf(request: Request) -> Response:
    year, problems = annual_year(request, request.query_params.get("year", ""))
    if problems:
        return plain_problems(problems)
    report, stored = await _shown(request, year)
    published_at = stored.published_at if stored is not None else None
    state = (
        f"Published on {published_at.astimezone(LONDON):%d %B %Y} with the governing body's "
        "response."
        if published_at is not None
        else "A draft, not published: the figures as counted when it was printed."
    )
    pdf = await off_loop(
        print_report,
        request,
        title=f"{TITLE} {report.year}",
        subtitle=f"The reporting year from {report.start:%d %B %Y} to {report.end:%d %B %Y}. "
        + state,
        kind="annual",
        report=report,
        narrative=stored.narrative if stored else "",
        response=stored.governing_body_response if stored else "",
        provisions=request.app.state.settings.code_provisions,
        answers=await off_loop(SelfAssessments(request.app.state.store).answers, report.year),
    )
    return pdf_download(f"annual-report-{report.year}{'' if published_at else '-draft'}.pdf", pdf)


# --------------------------------------------------------------------- the quarterly pack

QUARTERS = {
    1: "April to June",
    2: "July to September",
    3: "October to December",
    4: "January to March",
}


def last_whole_quarter(today: date) -> tuple[int, int]:
    """(the reporting year, its quarter) of the last quarter that has ended before `today`."""
    year = reporting_year_start(today).year
    current = (today.month - 4) % 12 // 3 + 1
    return (year, current - 1) if current > 1 else (year - 1, 4)


def quarter_asked(request: Request) -> tuple[int, int, list[Problem]]:
    """The reporting year and quarter the query string asks for, or the last whole quarter."""
    year, quarter = last_whole_quarter(_today(request))
    problems: list[Problem] = []
    year_text = request.query_params.get("year", "").strip()
    quarter_text = request.query_params.get("quarter", "").strip()
    if year_text:
        asked, problems = annual_year(request, year_text)
        year = asked if not problems else year
    if quarter_text:
        if quarter_text in ("1", "2", "3", "4"):
            quarter = int(quarter_text)
        else:
            problems.append(Problem("#report-quarter", "Choose a quarter, 1 to 4"))
    return year, quarter, problems


async def _quarter(request: Request, year: int, quarter: int) -> AnnualReport:
    return await off_loop(
        quarterly_pack,
        request.app.state.store,
        year,
        quarter,
        request.app.state.settings.policy,
    )


@staff.get("/reports/quarterly", include_in_schema=False)
async def quarterly_page(request: Request) -> Response:
    """The Member Responsible for Complaints' regular pack (Code 9.6 to 9.8): the annual report's
    figures for one quarter of the reporting year."""
    year, quarter, problems = quarter_asked(request)
    report = await _quarter(request, year, quarter)
    return render(
        request,
        "report_quarterly.html",
        400 if problems else 200,
        title=("Error: " if problems else "") + f"Quarterly complaints pack {report.year}",
        report=report,
        year=year,
        quarter=quarter,
        quarters=QUARTERS,
        problems=problems,
    )


@staff.get("/reports/quarterly.pdf", include_in_schema=False)
async def quarterly_pdf(request: Request) -> Response:
    year, quarter, problems = quarter_asked(request)
    if problems:
        return plain_problems(problems)
    report = await _quarter(request, year, quarter)
    pdf = await off_loop(
        print_report,
        request,
        title=f"Quarterly complaints pack {report.year}",
        subtitle=f"For the Member Responsible for Complaints: {QUARTERS[quarter]}, from "
        f"{report.start:%d %B %Y} to {report.end:%d %B %Y}.",
        kind="quarterly",
        report=report,
    )
    return pdf_download(f"quarterly-pack-{label_of(year)}-q{quarter}.pdf", pdf)


def figures_csv(report: AnnualReport, filename: str) -> Response:
    return csv_download(
        filename,
        ("period", "from", "to", "section", "measure", "value"),
        ((report.year, report.start, report.end, *row) for row in figure_rows(report)),
    )


@staff.get(f"{PAGE}.csv", include_in_schema=False)
async def annual_csv(request: Request) -> Response:
    year, problems = annual_year(request, request.query_params.get("year", ""))
    if problems:
        return plain_problems(problems)
    report, _ = await _shown(request, year)
    return figures_csv(report, f"annual-report-{report.year}.csv")


@staff.get("/reports/quarterly.csv", include_in_schema=False)
async def quarterly_csv(request: Request) -> Response:
    year, quarter, problems = quarter_asked(request)
    if problems:
        return plain_problems(problems)
    report = await _quarter(request, year, quarter)
    return figures_csv(report, f"quarterly-pack-{label_of(year)}-q{quarter}.csv")


# ----------------------------------------------------------------------------- public


@public.get("/annual-reports", include_in_schema=False)
async def published_reports(request: Request) -> Response:
    if (limited := await too_many_views(request)) is not None:
        return limited
    found = await off_loop(_reports(request).published)
    return render(
        request, "annual_reports_public.html", title="Our annual complaints reports", reports=found
    )


@public.get("/annual-reports/{year_label}", include_in_schema=False)
async def published_report(request: Request, year_label: str) -> Response:
    if (limited := await too_many_views(request)) is not None:
        return limited
    if not is_year_label(year_label):
        raise HTTPException(
            404, "There is no such annual complaints report: years are written like 2027-28."
        )
    found = await off_loop(_reports(request).public, year_label)
    if found is None:
        raise HTTPException(
            404, f"We have not published an annual complaints report for {year_label}."
        )
    answers = await off_loop(SelfAssessments(request.app.state.store).answers, year_label)
    return render(
        request,
        "annual_report_public.html",
        title=f"Our annual complaints report {found.year_label}",
        found=found,
        provisions=request.app.state.settings.code_provisions,
        answers=answers,
    )


router.include_router(staff)
router.include_router(public)
