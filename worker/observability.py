"""Logs and metrics for operations. Logs: one JSON object a line (LOG_FORMAT=json, the default
in production) carrying the case reference and nothing more personal. Metrics: the Temporal SDK's
own plus ours (complaints_opened, complaint_steps, complaint_deadline_breaches, letters_sent,
letters_failed), served for Prometheus at http://METRICS_ADDRESS/metrics — which also answers
"is the worker alive"."""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime
from typing import Any

from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from config import Settings

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
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info).splitlines()[-1]
        return json.dumps(entry, ensure_ascii=False)


def _reference_in(record: logging.LogRecord, message: str) -> str | None:
    for extra in ("temporal_activity", "temporal_workflow"):
        info = getattr(record, extra, None)
        if isinstance(info, dict) and (found := CASE_ID.search(str(info.get("workflow_id", "")))):
            return found.group(1)
    found = CASE_ID.search(message)
    return found.group(1) if found else None


def configure_logging(settings: Settings) -> None:
    handler = logging.StreamHandler()
    if settings.logs_as_json:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)


def runtime(settings: Settings) -> Runtime | None:
    """A Temporal runtime exporting Prometheus metrics, or None (the default runtime)."""
    if not settings.metrics_address:
        return None
    return Runtime(
        telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=settings.metrics_address))
    )
