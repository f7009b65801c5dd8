"""Printing a report to PDF with WeasyPrint (a maintained HTML-to-PDF library): the report's own
print template (admin/templates/report_print.html) rendered to HTML, then laid out as A4.

Nothing is fetched while printing: the template carries its styles, and the fetcher allows only
`data:` URLs, so a report prints the same offline and names no outside address. Printing is
CPU-bound and blocking: call `print_report` off the event loop (admin/off_loop.py).
"""

from __future__ import annotations

from typing import Any

import weasyprint
from fastapi import Request
from weasyprint.urls import URLFetcher

from admin.app import LONDON, templates
from admin.queues import now_for


def render_print(**context: Any) -> str:
    return templates.env.get_template("report_print.html").render(**context)


def to_pdf(html: str) -> bytes:
    fetcher = URLFetcher(allowed_protocols={"data"})
    return weasyprint.HTML(string=html, url_fetcher=fetcher).write_pdf()


def print_report(request: Request, **context: Any) -> bytes:
    """The report printed, with the landlord's name and when it was printed (blocking)."""
    now = now_for(request.app.state).astimezone(LONDON)
    return to_pdf(
        render_print(
            landlord=request.app.state.settings.landlord,
            printed_at=f"{now:%d %B %Y %H:%M}",
            **context,
        )
    )
