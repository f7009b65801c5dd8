"""The daily sweep's email: an HTML table per section and the same as plain text.

Rendered from the report alone (references, stages, statuses, deadlines, staff ids): no resident
data is ever handed to it."""

from __future__ import annotations

from datetime import datetime
from html import escape
from zoneinfo import ZoneInfo

from config import Settings
from domain.sweep import SweepCase, SweepReport, SweepSection
from letters.render import RenderedLetter

LONDON = ZoneInfo("Europe/London")
COLUMNS = ("Reference", "Stage", "Status", "Next deadline", "Owner")


def _when(moment: datetime | None) -> str:
    return f"{moment.astimezone(LONDON):%a %d %b %Y %H:%M}" if moment else "—"


def _cells(case: SweepCase) -> tuple[str, ...]:
    return (
        case.reference,
        (case.stage or "—").replace("_", " "),
        (case.status or "—").replace("_", " "),
        _when(case.next_deadline),
        case.owner or "unassigned",
    )


def case_url(settings: Settings, case: SweepCase) -> str:
    base = settings.temporal_ui_url.rstrip("/")
    return f"{base}/namespaces/{settings.temporal_namespace}/workflows/{case.workflow_id}"


def _html_section(section: SweepSection, settings: Settings) -> str:
    head = f"<h2>{escape(section.title)} ({section.total})</h2>"
    if not section.cases:
        return head + "<p>None.</p>"
    header = "".join(f'<th scope="col">{c}</th>' for c in COLUMNS)
    rows = []
    for case in section.cases:
        cells = list(map(escape, _cells(case)))
        cells[0] = f'<a href="{escape(case_url(settings, case))}">{cells[0]}</a>'
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    more = section.total - len(section.cases)
    note = f"<p>And {more} more: run the query below in the Temporal Web UI.</p>" if more else ""
    return (
        f"{head}<table><thead><tr>{header}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
        f"{note}<p><small>Query: <code>{escape(section.query)}</code></small></p>"
    )


def _text_section(section: SweepSection) -> str:
    lines = [f"{section.title} ({section.total})"]
    if not section.cases:
        lines.append("  None.")
    for case in section.cases:
        lines.append("  " + " | ".join(_cells(case)))
    more = section.total - len(section.cases)
    if more:
        lines.append(f"  And {more} more: run the query below in the Temporal Web UI.")
    lines.append(f"  Query: {section.query}")
    return "\n".join(lines)


def render_sweep_report(report: SweepReport, settings: Settings) -> RenderedLetter:
    intro = (
        f"The daily sweep of open complaints and enquiries for {report.day:%A %d %B %Y}. "
        "At risk means something is due from us by close of business on "
        f"{_when(report.at_risk_cutoff)} (cases waiting for the resident are left out)."
    )
    signature = settings.policy.teams.resolution.signature
    html = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(report.subject)}</title>"
        "<style>table{border-collapse:collapse}th,td{border:1px solid #b1b4b6;"
        "padding:4px 8px;text-align:left}</style></head><body>"
        f"<h1>{escape(report.subject)}</h1><p>{escape(intro)}</p>"
        + "".join(_html_section(s, settings) for s in report.sections)
        + f"<p>{escape(signature)}, {escape(settings.landlord.name)}</p>"
        "</body></html>"
    )
    text = "\n\n".join([report.subject, intro, *(_text_section(s) for s in report.sections)])
    return RenderedLetter(subject=report.subject, html=html, text=text + "\n")
