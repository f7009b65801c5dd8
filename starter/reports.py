"""`python -m starter report ...`: the reports, read from the records database (`DATABASE_URL`,
as the worker reads it), never from the workflows.

    python -m starter report promises --from 2027-04-01 --to 2028-03-31
    python -m starter report promises --from 2027-04-01 --to 2028-03-31 --json
"""

from __future__ import annotations

import argparse
import json
from datetime import date
from typing import Any

from config import Settings
from domain.promises import PromiseReport
from records.reports import promise_report
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


def _day(flag: str, text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as err:
        raise ReportInputError(f"{flag}: '{text}' is not a date; use e.g. 2027-04-01") from err


def run_report(args: argparse.Namespace, settings: Settings) -> str:
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
