"""Printing a report to PDF with WeasyPrint (a maintained HTML-to-PDF library): the report's own
print template (admin/templates/report_print.html) rendered to HTML, then laid out as A4.

Nothing is fetched while printing: the template carries its styles, and the fetcher allows only
`data:` URLs, so a report prints the same offline and names no outside address. Printing is
CPU-bound and blocking: call `to_pdf` off the event loop (admin/off_loop.py).
"""

from __future__ import annotations

from typing import Any

import weasyprint
from weasyprint.urls import URLFetcher

from admin.app import templates


def render_print(**context: Any) -> str:
    return templates.env.get_template("report_print.html").render(**context)


def to_pdf(html: str) -> bytes:
    fetcher = URLFetcher(allowed_protocols={"data"})
    return weasyprint.HTML(string=html, url_fetcher=fetcher).write_pdf()
