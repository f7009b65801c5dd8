"""The Complaint Handling Code self-assessment, for managers (domain/self_assessment.py,
records/self_assessment.py).

- `/reports/self-assessment?year=2027`: every provision of the Code for the reporting year
  starting 1 April 2027 (by default the last whole one), grouped by section: whether we comply,
  the evidence and commentary (one form, `POST /reports/self-assessment`), and where the records
  can answer a provision, what they say for the year with a few sample cases ("From our
  records", for staff only: the published report carries only what staff wrote). Once the
  year's annual report is published, the answers are shown, not offered for editing.
- `/reports/self-assessment.csv?year=2027`: the same as a spreadsheet.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from admin.accounts import Account, Role
from admin.app import render
from admin.downloads import csv_download
from admin.forms import FormState, FormValues, Problem, form_values, form_with_problems, one
from admin.off_loop import off_loop
from admin.queues import now_for
from admin.routes.annual import annual_year
from admin.routes.cases import flash, take_flash
from admin.routes.reports import plain_problems
from admin.security import require_role
from domain.self_assessment import (
    MAX_TEXT,
    Answer,
    CodeProvisions,
    Comply,
    Provision,
    automatic_evidence,
)
from domain.tsm import year_bounds
from domain.tsm import year_label as label_of
from records.annual_report import annual_report
from records.annual_reports import AnnualReports
from records.self_assessment import SelfAssessmentRefused, SelfAssessments, evidence_samples

manager = require_role(Role.manager)
router = APIRouter(dependencies=[Depends(manager)])
PAGE = "/reports/self-assessment"
TEXTS = {"evidence": "the evidence", "commentary": "the commentary"}


def slug(provision: Provision) -> str:
    """A provision's id as form names and element ids write it: "6.12" -> "6_12"."""
    return provision.id.replace(".", "_")


def _provisions(request: Request) -> CodeProvisions:
    return request.app.state.settings.code_provisions


async def _page(
    request: Request,
    year: int,
    *,
    form: FormState | None = None,
    problems: list[Problem] | None = None,
    status_code: int = 200,
) -> Response:
    label = label_of(year)
    store = request.app.state.store
    policy = request.app.state.settings.policy
    provisions = _provisions(request)
    answers = await off_loop(SelfAssessments(store).answers, label)
    stored = await off_loop(AnnualReports(store).get, label)
    report = await off_loop(annual_report, store, year, policy)
    samples = await off_loop(evidence_samples, store, *year_bounds(year))
    if form is None:
        form = FormState(
            values={
                name: [value]
                for p in provisions.provisions
                if (a := answers.get(p.id)) is not None
                for name, value in (
                    (f"comply-{slug(p)}", a.comply.value if a.comply else ""),
                    (f"evidence-{slug(p)}", a.evidence),
                    (f"commentary-{slug(p)}", a.commentary),
                )
            }
        )
    answered = sum(1 for a in answers.values() if a.comply is not None)
    return render(
        request,
        "self_assessment.html",
        status_code,
        title=("Error: " if problems else "") + f"Complaint Handling Code self-assessment {label}",
        year=year,
        label=label,
        provisions=provisions,
        answers=answers,
        published=stored is not None and stored.published,
        records={
            p.id: automatic_evidence(p.evidence, report, samples) for p in provisions.provisions
        },
        slug=slug,
        form=form,
        problems=problems or [],
        answered=answered,
        not_complying=[p for p, a in answers.items() if a.comply is Comply.no],
        max_text=MAX_TEXT,
        flash=take_flash(request) if status_code == 200 else None,
    )


@router.get(PAGE, include_in_schema=False)
async def self_assessment_page(request: Request) -> Response:
    year, problems = annual_year(request, request.query_params.get("year", ""))
    return await _page(request, year, problems=problems, status_code=400 if problems else 200)


def _answers(provisions: CodeProvisions, values: FormValues) -> tuple[list[Answer], list[Problem]]:
    answers: list[Answer] = []
    problems: list[Problem] = []
    for p in provisions.provisions:
        s = slug(p)
        comply = one(values, f"comply-{s}")
        if comply not in ("", *(c.value for c in Comply)):
            problems.append(Problem(f"#comply-{s}", f"{p.id}: choose Yes or No"))
            comply = ""
        texts = {}
        for name, noun in TEXTS.items():
            text = one(values, f"{name}-{s}").replace("\r\n", "\n").strip()
            if len(text) > MAX_TEXT:
                problems.append(
                    Problem(
                        f"#{name}-{s}",
                        f"{p.id}: {noun} must be {MAX_TEXT:,} characters or fewer "
                        f"(it has {len(text):,})",
                    )
                )
                text = text[:MAX_TEXT]
            texts[name] = text
        answers.append(Answer(provision=p.id, comply=Comply(comply) if comply else None, **texts))
    return answers, problems


@router.post(PAGE, include_in_schema=False)
async def save(request: Request, account: Account = Depends(manager)) -> Response:
    values = form_values(await request.form())
    year, problems = annual_year(request, one(values, "year"))
    answers, wrong = _answers(_provisions(request), values)
    problems += wrong

    async def again(found: list[Problem], status: int) -> Response:
        return await _page(
            request,
            year,
            form=form_with_problems(values, found),
            problems=found,
            status_code=status,
        )

    if problems:
        return await again(problems, 400)
    try:
        changed = await off_loop(
            SelfAssessments(request.app.state.store).save,
            label_of(year),
            answers,
            by=account.id,
            now=now_for(request.app.state),
        )
    except SelfAssessmentRefused as refused:
        return await again([Problem("#self-assessment", str(refused))], 409)
    noun = "answer" if changed == 1 else "answers"
    flash(request, f"Self-assessment for {label_of(year)} saved: {changed} {noun} changed.")
    return RedirectResponse(f"{PAGE}?year={year}", status_code=303)


@router.get(f"{PAGE}.csv", include_in_schema=False)
async def self_assessment_csv(request: Request) -> Response:
    year, problems = annual_year(request, request.query_params.get("year", ""))
    if problems:
        return plain_problems(problems)
    label = label_of(year)
    answers = await off_loop(SelfAssessments(request.app.state.store).answers, label)
    header = (
        "year", "provision", "section", "duty", "requirement", "comply", "evidence", "commentary",
    )  # fmt: skip
    rows = (
        (label, p.id, p.section, p.duty, p.requirement, a.comply, a.evidence, a.commentary)
        for p in _provisions(request).provisions
        for a in (answers.get(p.id) or Answer(provision=p.id),)
    )
    return csv_download(f"self-assessment-{label}.csv", header, rows)
