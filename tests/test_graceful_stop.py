"""A routine stop (SIGTERM, as every deploy sends) while SendGrid is still taking a letter: the
worker lets the letter activity finish and record the letter as sent before it exits, so the next
worker does not send it again (issue 9, break 8).

The real stack: a Temporal dev server, `python -m worker` as a separate process, and the fake
SendGrid server holding the letter's request open while the worker is told to stop."""

from __future__ import annotations

import asyncio
import os
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from domain.complaint import workflow_id
from records.store import RecordsStore
from tests.conftest import STACK_CONVERTER, STACK_PAYLOAD_KEYS, start_dev_server
from tests.fakes.sendgrid_server import MAIL_SEND_PATH, FakeSendGrid
from tests.processes import ServiceProcess
from tests.support import JO, SURVEY_SECRET, complaint, settle
from worker.__main__ import GRACEFUL_SHUTDOWN_TIMEOUT, LONGEST_ACTIVITY
from workflows.case import LETTER_TIMEOUT
from workflows.cases import lodge

GRACE = GRACEFUL_SHUTDOWN_TIMEOUT.total_seconds()


@pytest.fixture(scope="module")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await start_dev_server(STACK_CONVERTER)
    yield env
    await env.shutdown()


def test_the_graceful_timeout_outlasts_every_activity():
    assert GRACEFUL_SHUTDOWN_TIMEOUT > LETTER_TIMEOUT
    assert GRACEFUL_SHUTDOWN_TIMEOUT > LONGEST_ACTIVITY >= LETTER_TIMEOUT


def _post(url: str) -> int:
    request = urllib.request.Request(
        url + MAIL_SEND_PATH,
        data=b'{"personalizations": [{"to": [{"email": "a@example.org"}]}], '
        b'"from": {"email": "b@example.org"}, "subject": "s", '
        b'"content": [{"type": "text/plain", "value": "v"}]}',
        headers={"Authorization": "Bearer SG.test", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status


def test_the_fake_holds_a_request_until_released():
    with FakeSendGrid() as fake:
        fake.hold_next()
        answers: list[int] = []
        sender = threading.Thread(target=lambda: answers.append(_post(fake.url)))
        sender.start()
        assert fake.wait_until_held(timeout=5)
        assert fake.held == 1 and fake.requests == [] and answers == []
        fake.release()
        sender.join(5)
        assert answers == [202] and fake.held == 0 and len(fake.accepted) == 1
        assert _post(fake.url) == 202  # only the next request was held
        fake.delay_next(0.3)
        started = time.monotonic()
        assert _post(fake.url) == 202
        assert time.monotonic() - started >= 0.3


async def until(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {seconds}s: {what}")
        await asyncio.sleep(0.05)


async def test_sigterm_while_sendgrid_takes_a_letter_sends_it_once(
    dev_env: WorkflowEnvironment, tmp_path: Path
):
    client = dev_env.client
    with FakeSendGrid() as fake:
        env = {
            **os.environ,
            "TEMPORAL_ADDRESS": client.service_client.config.target_host,
            "TASK_QUEUE": f"graceful-{tmp_path.name[-12:]}",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'records.db'}",
            "OUTBOX_DIR": str(tmp_path / "outbox"),
            "PAYLOAD_KEYS": STACK_PAYLOAD_KEYS,
            "SURVEY_SECRET": SURVEY_SECRET,
            "SENDGRID_API_KEY": "SG.test",
            "SENDGRID_HOST": fake.url,
            "PYTHONUNBUFFERED": "1",
        }
        log = tmp_path / "worker.log"
        worker = ServiceProcess("worker", env, log, ready="polling task queue")
        try:
            worker.start()
            fake.hold_next()  # the first letter: received, and not answered until release()
            case = complaint(datetime.now(UTC), owner=JO.model_dump(), channel="online_form")
            await lodge(client, case, env["TASK_QUEUE"])
            assert await asyncio.to_thread(fake.wait_until_held, 1, 30), "no letter came"

            logged_before = len(log.read_text(errors="replace"))
            assert worker.proc is not None
            worker.proc.terminate()  # SIGTERM, as docker stop and make run send
            await until(
                lambda: (
                    "Beginning worker shutdown" in log.read_text(errors="replace")[logged_before:]
                ),
                15,
                "the worker began stopping",
            )
            assert fake.held == 1, "the letter must still be with SendGrid as the worker stops"
            assert worker.proc.poll() is None, "the worker must wait for the letter it started"
            fake.release()  # SendGrid accepts the letter now
            started = time.monotonic()
            code = await asyncio.to_thread(worker.wait, GRACE)
            assert code == 0, log.read_text()[-3000:]
            assert time.monotonic() - started < GRACE

            (first,) = fake.accepted
            held_key = first["headers"]["X-Letter-Key"]
            store = RecordsStore(env["DATABASE_URL"])
            row = store.get_letter(case.reference, held_key.removeprefix(f"{case.reference}/"))
            recorded_before_exit = row is not None and row.sent

            worker.start()  # the next deploy's worker carries the case on
            handle = client.get_workflow_handle(workflow_id(case.reference))
            final = await settle(handle, 60)
        finally:
            worker.stop()

        sent = Counter(r["headers"]["X-Letter-Key"] for r in fake.requests)
        assert sent[held_key] == 1, f"{held_key} went {sent[held_key]} times"
        assert recorded_before_exit, "the stopping worker marks its letter sent in the ledger"
        assert all(n == 1 for n in sent.values()), sent
        rows = store.letters(case.reference)
        assert {r.letter_key for r in rows} == set(final.letters)
        assert all(r.sent and r.attempts == 1 for r in rows), [
            (r.letter_key, r.attempts, r.sent) for r in rows
        ]
