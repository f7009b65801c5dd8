"""A letter the provider keeps refusing for a while: the case is marked LetterFailing (for the
Web UI and the daily sweep), keeps being retried, and goes exactly once when the provider
recovers. Through real timers on the time-skipping server and a fake SendGrid on 127.0.0.1."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest

from config import Settings
from domain.complaint import Status
from tests.fakes.sendgrid_server import FakeSendGrid
from tests.support import JO, complaint, london, settle, status, travel_to
from workflows import search_attributes as sa
from workflows.cases import lodge, perform_step


@pytest.fixture
def fake() -> Iterator[FakeSendGrid]:
    with FakeSendGrid(api_key="SG.test") as server:
        yield server


@pytest.fixture
def settings(settings: Settings, fake: FakeSendGrid) -> Settings:
    return settings.model_copy(update={"sendgrid_api_key": "SG.test", "sendgrid_host": fake.url})


async def until(predicate, seconds: float = 60):
    """Real-time polling for activities that run in real time (no timer is waited for)."""
    deadline = time.monotonic() + seconds
    while True:
        value = await predicate()
        if value:
            return value
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.1)


def sent_keys(fake: FakeSendGrid) -> list[str]:
    return [body["custom_args"]["letter_key"] for body in fake.accepted]


async def test_a_failing_letter_is_flagged_retried_and_sent_once(env, worker, settings, fake):
    fake.fail_until_recovered(503)
    received = london(2027, 6, 7, 10)
    await travel_to(env, received)
    case = complaint(received, channel="online_form", letter_retry_pause_seconds=300)
    ref = case.reference
    await start_without_settling(env, case, settings)
    handle = env.client.get_workflow_handle(f"complaint-{ref}")

    async def flagged():
        s = await status(handle)
        return s if s.letters_failing else None

    s = await until(flagged)
    assert s.letters_failing == ["complaint_received"]
    assert any(t.step == "letter_failing" for t in s.timeline)
    desc = await handle.describe()
    assert desc.typed_search_attributes.get(sa.LETTER_FAILING) is True
    # staff can still move the case on while the letter waits
    s = await step_without_settling(env, ref, "accept", by=JO.id)
    assert s.status == Status.awaiting_acknowledgement
    attempts_before = len(fake.calls)
    assert attempts_before >= 4 and not fake.accepted

    fake.recover()
    await env.sleep(timedelta(seconds=301))  # the pause before the next round of attempts
    s = await settle(handle)
    assert s.letters_failing == [] and s.pending_effects == 0
    assert sent_keys(fake) == ["complaint_received"]
    assert any(t.step == "letter_sent_late" for t in s.timeline)
    desc = await handle.describe()
    assert desc.typed_search_attributes.get(sa.LETTER_FAILING) is False


# tests.support's start() and step() settle the case first, which a failing letter never does.
async def start_without_settling(env, case, settings):
    await lodge(env.client, case, settings.task_queue)


async def step_without_settling(env, ref, name, **payload):
    return await perform_step(env.client, ref, name, payload)
