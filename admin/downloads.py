"""Reports as files to download: a CSV from a header and rows (None written as an empty cell),
or a PDF (admin/pdf.py prints it), each as an attachment with its file name."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

from fastapi.responses import Response


def _attachment(filename: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{filename}"'}


def csv_download(
    filename: str, header: Sequence[str], rows: Iterable[Sequence[object]]
) -> Response:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if value is None else value for value in row])
    return Response(
        out.getvalue(), media_type="text/csv; charset=utf-8", headers=_attachment(filename)
    )


def pdf_download(filename: str, pdf: bytes) -> Response:
    return Response(pdf, media_type="application/pdf", headers=_attachment(filename))
