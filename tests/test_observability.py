"""What operations see: Prometheus metrics (ours and the SDK's), JSON logs that carry the case
reference and nothing more personal, and each case's current details in the console."""

from __future__ import annotations

import json
import logging
import re
import urllib.request
from concurrent.futures import ThreadPoolExecutor

from markdown_it import MarkdownIt
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from tests.processes import free_port
from tests.support import (
    JO,
    complaint,
    enquiry,
    enquiry_step,
    london,
    settle,
    start,
    start_enquiry,
    step,
    travel_to,
)
from worker.__main__ import build_worker
from worker.observability import JsonFormatter, runtime


def test_json_logs_carry_the_reference_and_no_more():
    record = logging.LogRecord(
        "activity", logging.INFO, __file__, 1, "Letter %s sent", ("x",), None
    )
    record.temporal_activity = {"workflow_id": "complaint-CMP-ABCD-1234", "activity_type": "x"}
    entry = json.loads(JsonFormatter().format(record))
    assert entry["reference"] == "CMP-ABCD-1234"
    assert entry["message"] == "Letter x sent" and entry["level"] == "info"
    assert set(entry) == {"time", "level", "logger", "message", "reference"}


async def test_metrics_count_cases_steps_and_letters(env, settings, store):
    address = f"127.0.0.1:{free_port()}"
    rt = runtime(settings.model_copy(update={"metrics_address": address}))
    assert rt is not None
    client = await Client.connect(
        env.client.service_client.config.target_host,
        data_converter=pydantic_data_converter,
        runtime=rt,
    )
    received = london(2027, 7, 5, 10)
    await travel_to(env, received)
    with ThreadPoolExecutor(4) as executor:
        async with build_worker(client, settings, store, executor):
            case = complaint(received, channel="online_form", owner=JO.model_dump())
            handle = await start(client, case, settings.task_queue)
            await step(client, case.reference, "accept", by=JO.id)
            await settle(handle)
            enq = enquiry(received, channel="help_email")
            enquiry_handle = await start_enquiry(client, enq, settings.task_queue)
            await enquiry_step(
                client, enq.reference, "pass_to_team", by=JO.id, team="Repairs", next_steps="x"
            )
            with urllib.request.urlopen(f"http://{address}/metrics", timeout=5) as response:
                text = response.read().decode()
            details = await handle.query("__temporal_workflow_metadata")
            enquiry_details = await enquiry_handle.query("__temporal_workflow_metadata")
    assert re.search(r'complaints_opened\{[^}]*channel="online_form"[^}]*\} 1', text)
    assert re.search(r'complaint_steps\{[^}]*step="accept"[^}]*\} 1', text)
    assert re.search(r'letters_sent\{[^}]*kind="complaint_received"[^}]*\} 1', text)
    assert re.search(r'enquiries_opened\{[^}]*channel="help_email"[^}]*\} 1', text)
    assert re.search(r'enquiry_steps\{[^}]*step="pass_to_team"[^}]*\} 1', text)
    assert re.search(r'letters_sent\{[^}]*kind="enquiry_received"[^}]*\} 1', text)
    assert "temporal_workflow_completed" in text or "temporal_request" in text  # the SDK's own
    current = details.current_details
    assert "stage1" in current and "awaiting acknowledgement" in current
    assert "Ann Example" not in current and case.description not in current
    current = MarkdownIt("commonmark").render(enquiry_details.current_details)
    assert "enquiry — with team" in current and "Team: fix or update the resident" in current
    assert "Ann Example" not in current and enq.message not in current


HOSTILE_TEAM = '<img src="x" onerror="alert(1)"> [click](https://evil.example) **big** `code`'


async def test_staff_text_shows_as_text_in_the_web_ui(env, settings, store):
    """The Web UI renders current details as Markdown with HTML: a team name typed by staff
    must show as the characters typed, not as an image, a link or bold text."""
    received = london(2027, 7, 5, 10)
    await travel_to(env, received)
    with ThreadPoolExecutor(4) as executor:
        async with build_worker(env.client, settings, store, executor):
            enq = enquiry(received, channel="help_email")
            handle = await start_enquiry(env.client, enq, settings.task_queue)
            await enquiry_step(
                env.client,
                enq.reference,
                "pass_to_team",
                by=JO.id,
                team=HOSTILE_TEAM,
                next_steps="x",
            )
            current = (await handle.query("__temporal_workflow_metadata")).current_details
    html = MarkdownIt("commonmark", {"html": True}).render(current)
    assert "<img" not in html and "<a " not in html and "<code>" not in html
    assert html.count("<strong>") == 1  # the case's own status line, nothing from the team
    assert "&lt;img src=&quot;x&quot;" in html and "[click](https://evil.example)" in html
