"""`python -m starter report ...`: the reports, read from the records database (`DATABASE_URL`,
as the worker reads it), never from the workflows.

    python -m starter report promises --from 2027-04-01 --to 2028-03-31
    python -m starter report promises --from 2027-04-01 --to 2028-03-31 --json
    python -m starter report tsm --year 2027 --json
    python -m starter report annual --year 2027 --json
    python -m starter report quarterly --year 2027 --quarter 1
"""

from __future__ import annotations

import argparse
import json
from datetime import date
from typing import Any

from config import Settings
from domain.annual_report import AnnualReport, Count
from domain.promises import PromiseReport
from domain.tsm import TsmReport
from records.annual_report import annual_report, quarterly_pack
from records.reports import promise_report, tsm_report
from records.store import RecordsStore


class ReportInputError(ValueError):
    """A flag the report cannot use; the message names it."""


def add_report_parser(sub: Any) -> None:
    report = sub.add_parser("report", help="print a report from the records database")
    kinds = report.add_subparsers(dest="report", required=True)
    promises = kinds.add_parser(
        "promises",
        help="performance against every promise: due, met, missed, %% met, median working days",
    )
    promises.add_argument("--from", dest="start", required=True, help="first due day, YYYY-MM-DD")
    promises.add_argument("--to", dest="end", required=True, help="last due day, YYYY-MM-DD")
    promises.add_argument("--json", action="store_true", help="print the figures as JSON")
    promises.add_argument(
        "--by-month", action="store_true", help="add each month's figures (text and JSON)"
    )
    tsm = kinds.add_parser(
        "tsm", help="the Tenant Satisfaction Measures CH01 and CH02 for a reporting year"
    )
    tsm.add_argument(
        "--year", required=True, help="the year the reporting year starts (1 April), e.g. 2027"
    )
    tsm.add_argument("--json", action="store_true", help="print the figures as JSON")
    annual = kinds.add_parser(
        "annual",
        help="the figures of the Code's annual complaints performance and service improvement "
        "report for a reporting year",
    )
    annual.add_argument(
        "--year", required=True, help="the year the reporting year starts (1 April), e.g. 2027"
    )
    annual.add_argument("--json", action="store_true", help="print the figures as JSON")
    quarterly = kinds.add_parser(
        "quarterly",
        help="the same figures for a quarter: the Member Responsible for Complaints' pack",
    )
    quarterly.add_argument(
        "--year", required=True, help="the year the reporting year starts (1 April), e.g. 2027"
    )
    quarterly.add_argument(
        "--quarter", required=True, choices=["1", "2", "3", "4"],
        help="1: April to June, 2: July to September, 3: October to December, 4: January to March",
    )  # fmt: skip
    quarterly.add_argument("--json", action="store_true", help="print the figures as JSON")


def _day(flag: str, text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as err:
        raise ReportInputError(f"{flag}: '{text}' is not a date; use e.g. 2027-04-01") from err


def run_report(args: argparse.Namespace, settings: Settings) -> str:
    if args.report in ("tsm", "annual", "quarterly"):
        return run_year_report(args, settings)
    start, end = _day("--from", args.start), _day("--to", args.end)
    if end < start:
        raise ReportInputError(f"--to: {end} is before --from ({start}); give the later day")
    store = RecordsStore.from_settings(settings)
    try:
        report = promise_report(store, start, end, settings.policy, by_month=args.by_month)
    finally:
        store.dispose()
    return promises_json(report, args.by_month) if args.json else promises_text(report)


def _figures(report_promises: Any) -> list[dict[str, Any]]:
    return [
        {
            "promise": p.promise,
            "label": p.label,
            "text": p.text,
            "due": p.due,
            "met": p.met,
            "missed": p.missed,
            "percent_met": p.percent_met,
            "extended": p.extended,
            "exceptional": p.exceptional,
            "median_working_days": p.median_working_days,
        }
        for p in report_promises
    ]


def promises_json(report: PromiseReport, by_month: bool) -> str:
    out: dict[str, Any] = {
        "from": report.start.isoformat(),
        "to": report.end.isoformat(),
        "policy": report.policy,
        "promises": _figures(report.promises),
    }
    if by_month:
        out["months"] = [
            {"month": m.month, "promises": _figures(m.promises)} for m in report.months
        ]
    return json.dumps(out, indent=2)


def promises_text(report: PromiseReport) -> str:
    lines = [
        f"Performance against every promise, due {report.start:%d %b %Y} to "
        f"{report.end:%d %b %Y} ({report.policy})",
        f"{'promise':<78} {'due':>6} {'met':>6} {'missed':>6} {'% met':>6} {'median':>6}",
    ]
    for p in report.promises:
        percent = "-" if p.percent_met is None else f"{p.percent_met:.1f}"
        taken = "-" if p.median_working_days is None else f"{p.median_working_days:g}"
        lines.append(f"{p.label:<78} {p.due:>6} {p.met:>6} {p.missed:>6} {percent:>6} {taken:>6}")
    for month in report.months:
        busy = [p for p in month.promises if p.due]
        lines.append(f"{month.month}: " + "; ".join(f"{p.promise} {p.met}/{p.due}" for p in busy))
    lines.append(
        "due: clocks due in the period that were met or missed (a clock the case stopped first "
        "counts for nothing); median: working days from the day counted from to the day met"
    )
    return "\n".join(lines)


def run_year_report(args: argparse.Namespace, settings: Settings) -> str:
    text = args.year.strip()
    if not (text.isdigit() and 2000 <= int(text) <= 2100):
        raise ReportInputError(
            f"--year: '{args.year}' is not a year; give the year the reporting year starts, "
            "e.g. 2027 for 2027-28"
        )
    store = RecordsStore.from_settings(settings)
    try:
        if args.report in ("annual", "quarterly"):
            annual = (
                annual_report(store, int(text), settings.policy)
                if args.report == "annual"
                else quarterly_pack(store, int(text), int(args.quarter), settings.policy)
            )
            return annual.model_dump_json(indent=2) if args.json else annual_text(annual)
        report = tsm_report(store, int(text), settings.homes, settings.policy)
    finally:
        store.dispose()
    return json.dumps(report.as_json(), indent=2) if args.json else tsm_text(report)


def _number(value: float | None, suffix: str = "") -> str:
    return "not set" if value is None else f"{value:g}{suffix}"


def tsm_text(report: TsmReport) -> str:
    lines = [
        f"Tenant Satisfaction Measures, {report.year} "
        f"({report.start:%d %b %Y} to {report.end:%d %b %Y})",
    ]
    for stock, ch01 in report.CH01.items():
        lines.append(
            f"CH01 {stock}: stage 1 {ch01.stage1}, stage 2 {ch01.stage2}, homes "
            f"{'not set' if ch01.homes is None else ch01.homes}: "
            f"CH01(1) {_number(ch01.stage1_per_1000)}, CH01(2) {_number(ch01.stage2_per_1000)} "
            "per 1,000 homes"
        )
    for stock, ch02 in report.CH02.items():
        for n, stage in ((1, ch02.stage1), (2, ch02.stage2)):
            percent = "none responded" if stage.percent is None else f"{stage.percent:g}%"
            lines.append(
                f"CH02({n}) {stock}: {stage.within} of {stage.responded} within the Code's "
                f"timescales: {percent}"
                + (
                    f" ({stage.exceptional} after an exceptional extension)"
                    if stage.exceptional
                    else ""
                )
            )
    lines += ["How these are counted:", *(f"- {rule}" for rule in report.rules)]
    return "\n".join(lines)


def _listed(counts: list[Count]) -> str:
    return ", ".join(f"{c.label} {c.count}" for c in counts) or "none"


def annual_text(report: AnnualReport) -> str:
    v, r, o = report.volumes, report.remedies, report.ombudsman
    lines = [
        f"Annual complaints performance and service improvement report: figures, {report.year} "
        f"({report.start:%d %b %Y} to {report.end:%d %b %Y})",
        f"Received: stage 1 {v.stage1}, stage 2 {v.stage2}; withdrawn {v.withdrawn}; declined "
        f"{v.declined}; service requests {v.service_requests}",
        f"By category: {_listed(v.by_category)}",
        f"Refused, by reason: {_listed(v.refused_by_reason)}",
    ]
    for stage in report.outcomes:
        lines.append(
            f"Stage {stage.stage}: {stage.complaints} answered, {stage.upheld_in_whole_or_part} "
            f"upheld in whole or part; points: {_listed(stage.points)}"
        )
    lines += [
        f"Root causes: {_listed(report.root_causes)}",
        "Timeliness: "
        + "; ".join(f"{p.label}: {p.met} of {p.due}" for p in report.timeliness if p.due),
        f"Compensation: offered £{r.compensation_offered:,.2f} on "
        f"{r.complaints_with_compensation} complaints, paid £{r.compensation_paid:,.2f}",
        f"Actions due: {r.actions_due} ({r.actions_done_on_time} on time, {r.actions_done_late} "
        f"late, {r.actions_open} open)",
        f"Learning: {report.learning.lessons} lessons, {report.learning.improvements_done} "
        f"improvements made, {report.learning.improvements_open} open",
        f"Satisfaction: {report.satisfaction.replies} replies, {report.satisfaction.satisfied} "
        "satisfied",
        f"Housing Ombudsman: {o.referrals} referrals; determinations: {_listed(o.determinations)}; "
        f"orders: {_listed(o.orders)} ({o.orders_complied_on_time} complied on time, "
        f"{o.orders_complied_late} late, {o.orders_open} open)",
    ]
    return "\n".join(lines)
