"""Logs and metrics for operations. Logs: one JSON object a line (LOG_FORMAT=json, the default
in production) carrying the case reference and nothing more personal. Metrics: the Temporal SDK's
own plus ours (complaints_opened, complaint_steps, complaint_deadline_breaches, letters_sent,
letters_failed), served for Prometheus at http://METRICS_ADDRESS/metrics — which also answers
"is the worker alive"."""

from __future__ import annotations

import json
import logging
import re
import traceback
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, TypeAlias

from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from config import Settings

ExcInfo: TypeAlias = (
    tuple[type[BaseException], BaseException, TracebackType | None] | tuple[None, None, None]
)
CASE_ID = re.compile(r"\b(?:complaint|enquiry)-([A-Z]{3}-[0-9A-Z]{4}-[0-9A-Z]{4})\b")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": message,
        }
        reference = getattr(record, "reference", None) or _reference_in(record, message)
        if reference:
            entry["reference"] = reference
        if record.exc_info and record.exc_info[0] is not None:
            # the type and where it was raised; never the message (see exception_outline)
            entry["error"] = error_name(record.exc_info[0])
            if where := _our_innermost_frame(record.exc_info[2]):
                entry["where"] = where
        return json.dumps(entry, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """The text format (LOG_FORMAT=text): a full traceback, but no exception's message."""

    def format(self, record: logging.LogRecord) -> str:
        # never a traceback another formatter cached on the record (with the messages)
        cached, record.exc_text = record.exc_text, None
        try:
            return super().format(record)
        finally:
            record.exc_text = cached

    def formatException(self, ei: ExcInfo) -> str:
        return exception_outline(ei)


def error_name(kind: type[BaseException]) -> str:
    module = kind.__module__
    return kind.__qualname__ if module == "builtins" else f"{module}.{kind.__qualname__}"


def _our_innermost_frame(tb: TracebackType | None) -> str | None:
    """file:line in function of the innermost frame in our code (else the innermost frame)."""
    frames = traceback.extract_tb(tb)
    ours = [f for f in frames if "site-packages" not in f.filename] or frames
    return f"{ours[-1].filename}:{ours[-1].lineno} in {ours[-1].name}" if ours else None


def exception_outline(ei: ExcInfo) -> str:
    """A traceback without what the exceptions said: each exception's type, and where it was
    raised (file, line and function; not the source lines), causes and contexts included. An
    exception's message can quote the data it failed on: a resident's name in a validation
    error, an email address from a provider, a session id in an SQL statement's parameters. So
    no log line carries one; the type and the place find the fault."""
    kind, value, tb = ei
    if kind is None or value is None:
        return ""
    lines: list[str] = []
    _outline(traceback.TracebackException(kind, value, tb, compact=True), lines, set())
    return "".join(lines).rstrip("\n")


def _outline(te: traceback.TracebackException, lines: list[str], seen: set[int]) -> None:
    if id(te) in seen:
        return
    seen.add(id(te))
    if te.__cause__ is not None:
        _outline(te.__cause__, lines, seen)
        lines.append("\nThe above exception was the direct cause of the following exception:\n\n")
    elif te.__context__ is not None and not te.__suppress_context__:
        _outline(te.__context__, lines, seen)
        lines.append("\nDuring handling of the above exception, another exception occurred:\n\n")
    if te.stack:
        lines.append("Traceback (most recent call last):\n")
        lines.extend(f'  File "{f.filename}", line {f.lineno}, in {f.name}\n' for f in te.stack)
    kind = te.exc_type
    lines.append(f"{error_name(kind) if kind else 'Exception'} (message not logged)\n")
    for inner in te.exceptions or ():  # an ExceptionGroup's
        _outline(inner, lines, seen)


# Paths whose next segment is a resident's signed link: whoever reads the log must not be able
# to open the resident's case or survey with it.
LINK_TOKEN = re.compile(r"^(/your-case/|/survey/)[^/?]+")


class DropQueryStrings(logging.Filter):
    """uvicorn's access log line names the request's path with its query string, and a query
    can be personal (`/search?q=Ann+Example`, `/api/search?q=TN13+1AA`): log the path only, and
    a resident's link token (`/your-case/<token>`) as `[token]`."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and len(record.args) >= 3:
            args = list(record.args)
            if isinstance(args[2], str):
                args[2] = LINK_TOKEN.sub(r"\1[token]", args[2].split("?", 1)[0])
            record.args = tuple(args)
        return True


DROP_QUERY_STRINGS = DropQueryStrings()
ACCESS_LOGGER = "uvicorn.access"


def keep_queries_out_of_access_log() -> None:
    """Attach DROP_QUERY_STRINGS to uvicorn's access logger (once: the same filter object is
    not added twice)."""
    logging.getLogger(ACCESS_LOGGER).addFilter(DROP_QUERY_STRINGS)


def _reference_in(record: logging.LogRecord, message: str) -> str | None:
    for extra in ("temporal_activity", "temporal_workflow"):
        info = getattr(record, extra, None)
        if isinstance(info, dict) and (found := CASE_ID.search(str(info.get("workflow_id", "")))):
            return found.group(1)
    found = CASE_ID.search(message)
    return found.group(1) if found else None


def configure_logging(settings: Settings) -> None:
    """Every log line through one handler: JSON or text, never an exception's message, and
    (for the admin app's uvicorn) access lines without query strings."""
    handler = logging.StreamHandler()
    if settings.logs_as_json:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(TextFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)
    keep_queries_out_of_access_log()


def runtime(settings: Settings) -> Runtime | None:
    """A Temporal runtime exporting Prometheus metrics, or None (the default runtime)."""
    if not settings.metrics_address:
        return None
    return Runtime(
        telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=settings.metrics_address))
    )
