"""At lodging the case's record goes before its receipt letter, so a case is in the queues
without waiting on a letter (issue 14: a burst of lodgings left rows behind their receipts).

The proof a user would see: with the letter provider refusing everything, the new case is in the
records (and so the queues) while its receipt is still being retried, and the receipt goes once
the provider is back."""

from __future__ import annotations

from datetime import timedelta

import pytest

from config import Settings
from records.store import RecordsStore
from tests.fakes.sendgrid_server import FakeSendGrid
from tests.support import complaint, enquiry, london, travel_to
from tests.workflows import test_letter_failures as letter_failures
from tests.workflows.test_letter_failures import sent_keys, until
from workflows.cases import lodge, lodge_enquiry

MONDAY = london(2027, 3, 1, 10)
# the fake SendGrid, and settings that send through it
fake = letter_failures.fake
settings = letter_failures.settings


@pytest.mark.parametrize("kind", ["complaint", "enquiry"])
async def test_a_case_is_recorded_while_its_receipt_cannot_go(
    env, worker, settings: Settings, store: RecordsStore, fake: FakeSendGrid, kind: str
):
    fake.fail_until_recovered(503)
    await travel_to(env, MONDAY)
    if kind == "complaint":
        case = complaint(MONDAY, channel="online_form", letter_retry_pause_seconds=300)
        await lodge(env.client, case, settings.task_queue)
        receipt = "complaint_received"
    else:
        case = enquiry(MONDAY, channel="help_email", letter_retry_pause_seconds=300)
        await lodge_enquiry(env.client, case, settings.task_queue)
        receipt = "enquiry_received"

    async def recorded():
        return store.get_case(case.reference)

    row = await until(recorded)
    assert row.stage in ("triage", "enquiry") and not fake.accepted
    await until(lambda: _async(len(fake.calls) >= 2))  # the receipt is tried, and refused
    assert not fake.accepted

    fake.recover()
    await env.sleep(timedelta(seconds=301))  # the pause before the next round of attempts
    await until(lambda: _async(sent_keys(fake)))
    assert sent_keys(fake) == [receipt]


async def _async(value):
    return value
