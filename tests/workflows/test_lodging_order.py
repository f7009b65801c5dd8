"""At lodging the case's record goes before its receipt letter, so a case is in the queues
without waiting on a letter (issue 14: a burst of lodgings left rows behind their receipts)."""

from __future__ import annotations

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from config import Settings
from domain.complaint import workflow_id
from domain.enquiry import enquiry_workflow_id
from tests.support import complaint, enquiry, london, start, start_enquiry, travel_to

MONDAY = london(2027, 3, 1, 10)


async def activities_in_order(client: Client, wid: str) -> list[str]:
    history = await client.get_workflow_handle(wid).fetch_history()
    return [
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    ]


async def test_a_complaint_is_recorded_before_its_receipt_is_sent(env, worker, settings: Settings):
    await travel_to(env, MONDAY)
    case = complaint(MONDAY, channel="online_form")
    await start(env.client, case, settings.task_queue)
    done = await activities_in_order(env.client, workflow_id(case.reference))
    effects = [a for a in done if a in ("record_case", "send_letter")]
    assert effects[:2] == ["record_case", "send_letter"], done


async def test_an_enquiry_is_recorded_before_its_receipt_is_sent(env, worker, settings: Settings):
    await travel_to(env, MONDAY)
    case = enquiry(MONDAY, channel="help_email")  # confirmed by a letter at once
    await start_enquiry(env.client, case, settings.task_queue)
    done = await activities_in_order(env.client, enquiry_workflow_id(case.reference))
    effects = [a for a in done if a in ("record_case", "send_letter")]
    assert effects[:2] == ["record_case", "send_letter"], done
